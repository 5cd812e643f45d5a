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

// The undefined flags of shifts, rotates, mul/imul, div/idiv and lzcnt/tzcnt, where Intel's parts and
// the project's AMD EPYC hosts differ (measured on both; SDM Vol. 2 SAL/SAR/SHL/SHR,
// RCL/RCR/ROL/ROR, SHLD/SHRD, MUL/IMUL, DIV/IDIV, LZCNT/TZCNT leave them undefined). Each is one host
// instruction run once from known flags.
struct HostFlagRules {
  // OF of a shift/rotate/shld/shrd by more than 1: the count-1 formula applied to the first
  // one-bit step, i.e. to the original operand (Intel), else to the last step (AMD).
  bool shift_of_from_first_step;
  // rol/ror of a register by an immediate whose masked count is above 1: OF kept (Intel; by
  // CL or in memory it follows the rule above), else written as by CL.
  bool rotate_imm_keeps_of;
  // AF after a shift/shld/shrd by a non-zero count: set (AMD) or cleared (Intel).
  bool shift_sets_af;
  // rcl/rcr of a byte/word by a non-zero multiple of 9/17 (value and CF unchanged): OF kept
  // (Intel) or written as for one more rotate step (AMD).
  bool rotate_carry_wrap_keeps_of;
  // mul/imul (every form): SF from the low half's sign, PF from its low byte, ZF and AF
  // cleared (Intel), else SF, ZF, AF and PF kept (AMD).
  bool mul_sets_sf_pf;
  // div/idiv: all six flags kept (Intel), else CF and OF kept, SF, ZF, PF cleared, AF set.
  bool div_keeps_flags;
  // lzcnt/tzcnt: OF cleared with SF, AF and PF (Intel), else OF kept.
  bool lzcnt_clears_of;
};
const HostFlagRules& host_flag_rules();

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

// The fault maskmovdqu reports: the SDM leaves faults on masked-off bytes to the
// implementation. Every host measured checks all 16 bytes for writing whatever the mask; the
// AMD hosts report the first byte that cannot be written, an Intel Xeon (family 6, model 207)
// checks the high 8 bytes before the low 8 and reports the first unwritable byte of the half
// that faults (rDI + 8 when all 16 bytes are on one unmapped page). Probed once by a host
// maskmovdqu with an all-zero mask at the start of a PROT_NONE page (a fault scope).
bool host_maskmovdqu_checks_high_half_first();

// iretq at CPL 3 (SDM Vol. 2, IRET, "IA-32e-MODE"; the manual gives no order for the stack
// reads and checks): the AMD hosts read all five slots (RFLAGS, CS, RIP, SS, RSP), then check
// CS, RIP's canonical form, then SS. An Intel Xeon (family 6, model 207) reads RFLAGS, CS
// and RIP, checks CS, then reads SS and RSP and checks SS before RIP's canonical form (both
// measured natively; tests/exactness far_return iretq_*). Probed once, only by processes that
// run an iret, in a forked child doing `iretq` with a null CS and the SS:RSP slots on a
// PROT_NONE page (#GP first, or the page fault); the SS-before-RIP order goes with it.
bool host_iret_checks_cs_first();

// Whether the explicitly unaligned 16-byte SSE moves (movups, movupd, movdqu, lddqu) of a
// misaligned operand raise #AC at CPL 3 with EFLAGS.AC set. The SDM (Vol. 3, 6.15, Table 6-24)
// leaves alignment checking of 128-bit SSE accesses to the implementation; the earlier AMD
// hosts raised #AC, an Intel Xeon (family 6, model 207) does not (the move ends normally).
// Probed once, only by processes that run with EFLAGS.AC, in a forked child (the #AC is a
// SIGBUS, which no guest fault scope catches) doing a host `movdqu` from an odd address.
bool host_unaligned_sse_moves_skip_ac();

// 0F 0D (the prefetch group: PREFETCH, PREFETCHW, PREFETCHWT1 in its memory forms) with a
// register operand: the AMD hosts raise #UD (AMD APM Vol. 3, PREFETCHW: "the register form
// is invalid"); an Intel Xeon (family 6, model 207) runs it as a NOP (SDM Vol. 2, NOP and the
// opcode map: 0F 0D /r and 0F 18-1F /r are the reserved-NOP hint space). Probed once, only by
// processes that decode such an instruction, in a forked child running `0f 0d c3`.
bool host_prefetch_reg_is_nop();

// A near call to a non-canonical target (SDM Vol. 2, CALL: "IF tempRIP is not canonical
// THEN #GP(0)", with no order against the push): every host checks the push first (its #PF
// wins); an Intel Xeon (family 6, model 207) also writes the return address below rsp before
// the #GP (rsp unchanged), the AMD hosts write nothing (tests/exactness noncanonical_branch).
// Probed once, only by processes whose call faults so, in a forked child doing `call *%rax`
// to 0x8000000000001000 and reading the slot from its SIGSEGV handler.
bool host_call_nc_writes_return_address();

// `f3 REX.B 90`: the AMD hosts run it as xchg r8, rax (REX.B names r8; F3 means nothing to
// xchg); an Intel Xeon (family 6, model 207) runs it as pause, leaving both registers (SDM
// Vol. 2, PAUSE is F3 90, XCHG r64, rAX is REX.W/REX.B 90: the combination is not listed).
// Probed once by running it (no fault either way).
bool host_pause_rex_b_is_xchg();

// The x87 last-instruction/data pointers (SDM Vol. 1, 8.1.8 and 8.1.9.1; CPUID.(EAX=7,ECX=0):
// EBX bit 6 FDP_EXCPTN_ONLY, bit 13 "deprecates FPU CS and FPU DS"). The AMD hosts record FOP,
// FCS, FDP and FDS on every non-control x87 instruction; this Intel Xeon (family 6, model 207)
// stores FCS and FDS as 0 (even after fldenv loaded other values) and leaves FOP, FDP and FDS
// alone unless the instruction raises an unmasked exception; FIP is recorded on both. Measured
// once by a host `fninit; fld1; fstps m32; fnstenv` (no fault): what it stores is the rule.
struct HostX87PointerRules {
  bool selectors_zero = false;          // FCS and FDS always read as 0
  bool data_on_exception_only = false;  // FDP/FDS updated only on an unmasked exception
  bool fop_on_exception_only = false;   // FOP likewise
};
const HostX87PointerRules& host_x87_pointer_rules();

}  // namespace vireo
