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

// The flags a fault in the middle of a rep/repe/repne cmps or scas leaves: some hosts (the
// earlier AMD EPYC CI hosts) leave those of the last completed comparison, others (an Intel
// Xeon, family 6 model 207: every form, 1 to 4096 comparisons before the fault) the flags the
// instruction started with: they write RFLAGS only when the instruction ends. The SDM says
// neither. Probed on the first call by a host `repne scasb` whose second byte faults (a fault
// and a few mappings, only in processes that run a rep cmps/scas).
bool host_rep_compare_fault_keeps_flags();

// How much memory `movsxd r16, m32` (66 63 /r, no REX.W) reads: Intel's SDM lists the form as
// MOVSXD r16, r/m16 and an Intel Xeon (family 6, model 207) reads two bytes; the earlier AMD
// hosts read four (a fault on the upper two). The result is the low 16 bits either way.
// Probed once by a host `movsxd cx, [p]` whose upper two bytes are on a PROT_NONE page.
bool host_movsxd16_reads_two_bytes();

// A far return whose CS has RPL != CPL (a return to another privilege level): the AMD hosts
// read the SS:RSP slots above the released bytes before they check CS (a page fault there
// comes first); an Intel Xeon (family 6, model 207) checks CS first: #GP(selector). Probed
// once, only by processes that run such a far return, in a forked child (the #GP is SIGSEGV
// with SI_KERNEL, which the guest fault scopes do not catch) doing `lretq` to CS 0x10 with
// the SS:RSP slots on a PROT_NONE page.
bool host_far_ret_checks_cs_first();

}  // namespace vireo
