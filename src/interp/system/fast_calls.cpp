// Fast system calls (SDM Vol. 2): SYSCALL/SYSRET (STAR, LSTAR/CSTAR, SFMASK; EFER.SCE),
// SYSENTER/SYSEXIT (the SYSENTER_CS/ESP/EIP MSRs), and SWAPGS (KernelGSBase). They load
// flat segments without reading the GDT, as the hardware does.
#include <Zydis/Mnemonic.h>

#include "interp/system/system_mode.h"

namespace vireo {

using namespace softmmu::ctl;

bool sysret_load(CpuState& c, bool to64) {
  const uint16_t base = uint16_t(c.star >> 48);
  c.seg[SEG_CS] = flat_code(uint16_t((to64 ? base + 16 : base) | 3), to64, 3);
  c.seg[SEG_SS] = flat_data(uint16_t((base + 8) | 3), 3);
  c.rip = to64 ? c.gpr[RCX] : uint32_t(c.gpr[RCX]);
  const bool was_enabled = c.rflags & flag::IF;
  c.rflags = (c.gpr[R11] & 0x3C7FD7) | flag::FIXED1;  // (RF and VM cleared)
  return !was_enabled && (c.rflags & flag::IF);
}

namespace {

void syscall(Exec& x, const Insn&) {
  CpuState& c = *x.cpu;
  if (!long_mode_active(c) || !(c.efer & EFER_SCE)) x.raise_ud();
  uint16_t sel = uint16_t(c.star >> 32) & 0xFFFC;
  c.gpr[RCX] = c.rip;
  c.gpr[R11] = c.rflags & ~flag::RF;
  c.rip = in_64bit_mode(c) ? c.lstar : uint32_t(c.cstar);
  c.seg[SEG_CS] = flat_code(sel, true, 0);
  c.seg[SEG_SS] = flat_data(uint16_t(sel + 8), 0);
  c.rflags = (c.rflags & ~c.sfmask & ~flag::RF) | flag::FIXED1;
}

void sysret(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  if (!long_mode_active(c) || !(c.efer & EFER_SCE)) x.raise_ud();
  if (cpl(c) != 0) x.raise_gp(0);
  const bool to64 = in.opsize == 8;
  if (to64 && !is_canonical(c.gpr[RCX])) x.raise_gp(0);
  if (sysret_load(c, to64)) x.sys->irq_check = 1;
}

void sysenter(Exec& x, const Insn&) {
  CpuState& c = *x.cpu;
  if (!(c.cr0 & CR0_PE)) x.raise_gp(0);
  uint16_t sel = uint16_t(c.sysenter_cs) & 0xFFFC;
  if (sel == 0) x.raise_gp(0);
  bool lma = long_mode_active(c);
  c.rflags &= ~(flag::VM | flag::IF | flag::RF);
  c.seg[SEG_CS] = flat_code(sel, lma, 0);
  c.seg[SEG_SS] = flat_data(uint16_t(sel + 8), 0);
  c.gpr[RSP] = lma ? c.sysenter_esp : uint32_t(c.sysenter_esp);
  c.rip = lma ? c.sysenter_eip : uint32_t(c.sysenter_eip);
}

void sysexit(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  uint16_t sel = uint16_t(c.sysenter_cs);
  if (!(c.cr0 & CR0_PE) || cpl(c) != 0 || (sel & 0xFFFC) == 0) x.raise_gp(0);
  bool to64 = in.opsize == 8;
  c.seg[SEG_CS] = flat_code(uint16_t((sel + (to64 ? 32 : 16)) | 3), to64, 3);
  c.seg[SEG_SS] = flat_data(uint16_t((sel + (to64 ? 40 : 24)) | 3), 3);
  c.gpr[RSP] = to64 ? c.gpr[RCX] : uint32_t(c.gpr[RCX]);
  c.rip = to64 ? c.gpr[RDX] : uint32_t(c.gpr[RDX]);
}

void swapgs(Exec& x, const Insn&) {
  CpuState& c = *x.cpu;
  if (!in_64bit_mode(c)) x.raise_ud();
  if (cpl(c) != 0) x.raise_gp(0);
  std::swap(c.seg[SEG_GS].base, c.kernel_gs_base);
}

}  // namespace

void register_system_fastcall(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_SYSCALL] = syscall;
  t[ZYDIS_MNEMONIC_SYSRET] = sysret;
  t[ZYDIS_MNEMONIC_SYSENTER] = sysenter;
  t[ZYDIS_MNEMONIC_SYSEXIT] = sysexit;
  t[ZYDIS_MNEMONIC_SWAPGS] = swapgs;
}

}  // namespace vireo
