// System and miscellaneous: syscall, cpuid, rdtsc(p), nop/pause/endbr, fences, prefetch,
// flag instructions (clc/stc/cmc/cld/std), int3, ud2, hlt and other privileged ones (#GP in
// user mode).
#include <Zydis/Mnemonic.h>
#include <x86intrin.h>

#include "cpu/cpuid.h"
#include "cpu/no_effect_mnemonics.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

void nop(Exec&, const Insn&) {}

void syscall(Exec& x, const Insn&) {
  // SYSCALL saves RIP in RCX and RFLAGS in R11 (SDM Vol. 2, SYSCALL); the kernel returns with
  // them restored, so user mode observes RCX = next rip and R11 = rflags after the call.
  x.cpu->gpr[RCX] = x.cpu->rip;
  x.cpu->gpr[R11] = x.cpu->rflags & ~flag::RF;
  x.stop = StopReason::Syscall;
}

void cpuid(Exec& x, const Insn&) {
  CpuidResult r = vireo::cpuid(uint32_t(x.gpr(RAX)), uint32_t(x.gpr(RCX)));
  x.set_gpr(RAX, 4, r.eax);
  x.set_gpr(RBX, 4, r.ebx);
  x.set_gpr(RCX, 4, r.ecx);
  x.set_gpr(RDX, 4, r.edx);
}

void rdtsc(Exec& x, const Insn&) {
  uint64_t t = __rdtsc() + x.cpu->tsc_offset;
  x.set_gpr(RAX, 4, t);
  x.set_gpr(RDX, 4, t >> 32);
}

void rdtscp(Exec& x, const Insn& in) {
  rdtsc(x, in);
  x.set_gpr(RCX, 4, 0);  // IA32_TSC_AUX: processor 0
}

void int3(Exec& x, const Insn&) {
  // #BP is a trap: the reported rip is after the int3.
  x.insn_rip = x.cpu->rip;
  x.raise(VEC_BP);
}

// int1 (F1, "icebp") raises #DB as a trap, like a debug exception with no DR6 cause bit:
// Linux reports it as SIGTRAP/TRAP_BRKPT. (FaultInfo::address carries DR6 for #DB.)
void int1(Exec& x, const Insn&) {
  x.insn_rip = x.cpu->rip;
  x.raise(VEC_DB, 0, false, 0);
}

// int n at CPL 3 goes through the IDT gate n. Linux makes only #BP (3), #OF (4) and the 32-bit
// system call (0x80) reachable from user mode (DPL 3 gates); any other n is #GP with the IDT
// entry as error code: n*8 + 2 (SDM Vol. 3, 6.13, the IDT flag). Traps report the next rip.
void int_n(Exec& x, const Insn& in) {
  const uint8_t n = uint8_t(in.op[0].disp);
  if (n == VEC_BP || n == VEC_OF) {
    x.insn_rip = x.cpu->rip;
    x.raise(n);
  }
  x.raise_gp(uint32_t(n) * 8 + 2);
}

void ud(Exec& x, const Insn&) { x.raise_ud(); }

void privileged(Exec& x, const Insn&) { x.raise_gp(0); }

// XSETBV is privileged: #GP(0) at CPL 3 where CR4.OSXSAVE is set (user mode). System mode
// has no XSETBV yet and does not advertise XSAVE: #UD there, as CR4.OSXSAVE = 0 gives.
void xsetbv(Exec& x, const Insn&) {
  if (x.sys) x.raise_ud();
  x.raise_gp(0);
}

template <uint64_t clear, uint64_t set, bool complement = false>
void flag_op(Exec& x, const Insn&) {
  if (complement) x.cpu->rflags ^= flag::CF;
  else x.cpu->rflags = (x.cpu->rflags & ~clear) | set;
}

}  // namespace

void register_system(DispatchTable& t) {
  for (auto m : kNoEffectMnemonics) t[m] = nop;
  t[ZYDIS_MNEMONIC_SYSCALL] = syscall;
  t[ZYDIS_MNEMONIC_CPUID] = cpuid;
  t[ZYDIS_MNEMONIC_RDTSC] = rdtsc;
  t[ZYDIS_MNEMONIC_RDTSCP] = rdtscp;
  t[ZYDIS_MNEMONIC_INT3] = int3;
  t[ZYDIS_MNEMONIC_INT1] = int1;
  t[ZYDIS_MNEMONIC_UD0] = ud;
  t[ZYDIS_MNEMONIC_UD1] = ud;
  t[ZYDIS_MNEMONIC_UD2] = ud;
  // GETSEC raises #UD while CR4.SMXE is 0 (SDM Vol. 2, GETSEC[...], "Protected Mode
  // Exceptions"), which Linux leaves clear (only tboot sets it): SIGILL, as natively.
  t[ZYDIS_MNEMONIC_GETSEC] = ud;
  // VIA PadLock (0F A6, 0F A7): undefined opcodes on the Intel and AMD CPUs Vireo models
  // (empty in the SDM's opcode map): #UD, SIGILL as natively.
  for (auto m : {ZYDIS_MNEMONIC_XSTORE, ZYDIS_MNEMONIC_XCRYPT_CBC, ZYDIS_MNEMONIC_XCRYPT_CFB,
                 ZYDIS_MNEMONIC_XCRYPT_CTR, ZYDIS_MNEMONIC_XCRYPT_ECB, ZYDIS_MNEMONIC_XCRYPT_OFB,
                 ZYDIS_MNEMONIC_XSHA1, ZYDIS_MNEMONIC_XSHA256, ZYDIS_MNEMONIC_MONTMUL})
    t[m] = ud;
  for (auto m : {ZYDIS_MNEMONIC_HLT, ZYDIS_MNEMONIC_CLI, ZYDIS_MNEMONIC_STI,
                 ZYDIS_MNEMONIC_IN, ZYDIS_MNEMONIC_OUT, ZYDIS_MNEMONIC_INSB,
                 ZYDIS_MNEMONIC_INSW, ZYDIS_MNEMONIC_INSD, ZYDIS_MNEMONIC_OUTSB,
                 ZYDIS_MNEMONIC_OUTSW, ZYDIS_MNEMONIC_OUTSD, ZYDIS_MNEMONIC_LGDT,
                 ZYDIS_MNEMONIC_LIDT, ZYDIS_MNEMONIC_LLDT, ZYDIS_MNEMONIC_LTR,
                 ZYDIS_MNEMONIC_INVLPG, ZYDIS_MNEMONIC_WBINVD, ZYDIS_MNEMONIC_INVD,
                 ZYDIS_MNEMONIC_RDMSR, ZYDIS_MNEMONIC_WRMSR, ZYDIS_MNEMONIC_SWAPGS,
                 ZYDIS_MNEMONIC_SYSRET, ZYDIS_MNEMONIC_IRETQ, ZYDIS_MNEMONIC_IRETD,
                 ZYDIS_MNEMONIC_IRET, ZYDIS_MNEMONIC_INTO, ZYDIS_MNEMONIC_SYSEXIT,
                 ZYDIS_MNEMONIC_CLTS, ZYDIS_MNEMONIC_LMSW})
    t[m] = privileged;
  t[ZYDIS_MNEMONIC_INT] = int_n;
  t[ZYDIS_MNEMONIC_XSETBV] = xsetbv;
  t[ZYDIS_MNEMONIC_CLC] = flag_op<flag::CF, 0>;
  t[ZYDIS_MNEMONIC_STC] = flag_op<0, flag::CF>;
  t[ZYDIS_MNEMONIC_CMC] = flag_op<0, 0, true>;
  t[ZYDIS_MNEMONIC_CLD] = flag_op<flag::DF, 0>;
  t[ZYDIS_MNEMONIC_STD] = flag_op<0, flag::DF>;
}

}  // namespace vireo
