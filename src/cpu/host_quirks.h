// Behaviour the manuals leave undefined and CPUs implement differently: not only the vendors,
// AMD's own generations disagree (two AMD EPYC hosts of this project: one with Intel's rules
// below, one with the other rules). Native execution is Vireo's oracle (difftest,
// tests/exactness), so the engines do what this host does, measured on the host itself; the
// kvm engine gets it from the hardware.
#pragma once

namespace vireo {

// bsf/bsr, whatever the source: some hosts write ZF only and keep CF, OF, SF, AF and PF; others
// (Intel's, some AMD's) clear CF, OF, SF and AF and set PF from the result's low byte. Probed
// once by running the host's own bsf.
bool host_bit_scan_keeps_flags();

// Which memory operand `repe cmpsb` reads first, which decides the fault reported when both
// would fault: some hosts read the source (DS:rSI) first for this one form and ES:rDI first
// for every other cmps/scas, others read ES:rDI first for all of them. Probed on the first
// call by a host `repe cmpsb` between two inaccessible pages (a fault and a few mappings, so
// only processes that run a `repe cmpsb` pay it).
bool host_repe_cmpsb_reads_source_first();

// Whether a misaligned m128 operand of a legacy SHA-NI instruction raises #GP. The SDM lists
// them as "Exceptions Type 4" (alignment checked); Intel's CPUs do, some AMD Zen hosts were
// measured not to. Probed on the first call by one host `sha1msg1` of a misaligned operand
// (a #GP caught by a fault scope); a host without SHA-NI follows the SDM (true).
bool host_sha_checks_alignment();

// The mask register of a gather (vgatherdps .. vpgatherqq) when an element faults: the SDM only
// says that the elements before it are complete and their mask elements zero. Some hosts
// (Intel's) set every pending element's mask to all ones and every masked-off one to zero;
// others (AMD Zen) keep the elements from the faulting one on as they were. Probed on the first
// call by a host `vpgatherdd` faulting on its third element (a fault and a mapping).
bool host_gather_fault_normalizes_mask();

// `vcvtps2ph m64/m128, xmm/ymm, imm8` whose store faults (#PF): some hosts (Intel's) have
// already recorded the conversion's exception flags in MXCSR, others (AMD Zen, as measured
// there) fault first and record nothing. No bytes are written either way. Probed on the first
// call by a host vcvtps2ph of an inexact value into a PROT_NONE page (a fault and a mapping).
bool host_f16c_store_fault_keeps_mxcsr_flags();

}  // namespace vireo
