// x87 control instructions (SDM Vol. 1, 8.3.10-8.3.11): FNINIT, FNCLEX, FLDCW, FNSTCW,
// FNSTSW, FNSTENV, FLDENV, FNSAVE, FRSTOR, FWAIT. They are not "non-control" instructions, so
// they leave FIP/FDP/FOP alone; the N-forms do not wait for pending exceptions.
#include <Zydis/Mnemonic.h>

#include <cstring>

#include "cpu/host_quirks.h"
#include "interp/exec.h"
#include "interp/interpreter.h"
#include "interp/x87_native.h"

namespace vireo::x87 {

namespace {

constexpr unsigned kEnvSize = 28;   // 32-bit protected-mode environment (SDM Vol. 1, Fig. 8-9)
constexpr unsigned kEnv16Size = 14;  // 16-bit protected-mode environment (Fig. 8-11)
constexpr unsigned kRegsSize = 80;   // ST(0)..ST(7) as 10-byte values, after the environment

const Operand& mem_op(Exec& x, const Insn& in) {
  if (in.nops == 0 || in.op[0].kind != OpKind::Mem) x.raise_ud();
  return in.op[0];
}

// The environment's size is 28 bytes (14 with 66h); fnsave/frstor add the eight registers.
unsigned env_size(Exec& x, const Insn& in) {
  mem_op(x, in);
  return in.opsize == 2 ? kEnv16Size : kEnvSize;
}

void fninit(Exec& x, const Insn&) { x.cpu->x87.reset(); }

void fnclex(Exec& x, const Insn&) {
  x.cpu->x87.fsw &= uint16_t(~(STICKY | ES | B));
}

void fwait(Exec& x, const Insn&) { check_pending(x); }

void fldcw(Exec& x, const Insn& in) {
  check_pending(x);
  uint16_t cw = uint16_t(x.read(in, in.op[0]));
  X87State& s = x.cpu->x87;
  // Bits 6 and 13..15 are reserved: bit 6 reads back as 1 and bits 13..15 as 0 whatever was
  // loaded (measured on the host: FLDCW FFFFH then FNSTCW gives 1F7FH, 0000H gives 0040H).
  s.fcw = uint16_t((cw & 0x1F3F) | 0x40);
  update_es(s);
}

void fnstcw(Exec& x, const Insn& in) { x.write(in, in.op[0], x.cpu->x87.fcw); }

void fnstsw(Exec& x, const Insn& in) {
  // FNSTSW m16, or FNSTSW AX (DF E0), whose AX operand the decoder may keep implicit.
  if (in.nops && in.op[0].kind == OpKind::Mem) x.write(in, in.op[0], status_word(x.cpu->x87));
  else x.set_gpr(RAX, 2, status_word(x.cpu->x87));
}

// The 28-byte environment: each 16-bit field padded to 32 bits with ones in the upper half, as
// the host writes it; FIP/FOP/FDP with their selectors. The 14-byte (66h) one has the 16-bit
// fields only: FCW, FSW, FTW, FIP[15:0], FCS, FDP[15:0], FDS — no FOP.
void store_env(Exec& x, uint8_t* p, unsigned size) {
  const X87State& s = x.cpu->x87;
  if (size == kEnv16Size) {
    const uint16_t f[7] = {s.fcw, status_word(s), full_tag_word(s), uint16_t(s.fip), s.fcs,
                           uint16_t(s.fdp), s.fds};
    std::memcpy(p, f, sizeof f);
    return;
  }
  auto put32 = [&](unsigned off, uint32_t v) { std::memcpy(p + off, &v, 4); };
  put32(0, 0xFFFF0000u | s.fcw);
  put32(4, 0xFFFF0000u | status_word(s));
  put32(8, 0xFFFF0000u | full_tag_word(s));
  put32(12, uint32_t(s.fip));
  put32(16, s.fcs | (uint32_t(s.fop & 0x7FF) << 16));
  put32(20, uint32_t(s.fdp));
  put32(24, 0xFFFF0000u | s.fds);
}

void load_env(X87State& s, const uint8_t* p, unsigned size) {
  uint16_t cw, sw, tw, fop = 0, fcs, fds;
  uint32_t fip, fdp;
  if (size == kEnv16Size) {
    uint16_t f[7];
    std::memcpy(f, p, sizeof f);
    cw = f[0], sw = f[1], tw = f[2], fip = f[3], fcs = f[4], fdp = f[5], fds = f[6];
  } else {
    std::memcpy(&cw, p + 0, 2);
    std::memcpy(&sw, p + 4, 2);
    std::memcpy(&tw, p + 8, 2);
    std::memcpy(&fip, p + 12, 4);
    std::memcpy(&fcs, p + 16, 2);
    std::memcpy(&fop, p + 18, 2);
    std::memcpy(&fdp, p + 20, 4);
    std::memcpy(&fds, p + 24, 2);
  }
  s.fcw = uint16_t((cw & 0x1F3F) | 0x40);
  // Only "empty" (11) is taken from the tag word; the other tags follow the register contents
  // (SDM Vol. 1, 8.1.7: the FPU recomputes them).
  s.tag_empty = 0;
  for (unsigned i = 0; i < 8; ++i)
    if (((tw >> (2 * i)) & 3) == 3) s.tag_empty |= uint8_t(1u << i);
  s.fip = fip;
  s.fdp = fdp;
  // Where the CPU deprecates FCS/FDS they read as 0 whatever was loaded (host_x87_pointer_rules).
  const bool zero = host_x87_pointer_rules().selectors_zero;
  s.fcs = zero ? 0 : fcs;
  s.fds = zero ? 0 : fds;
  s.fop = fop & 0x7FF;
  set_status_word(s, sw);
}

void fnstenv(Exec& x, const Insn& in) {
  const unsigned n = env_size(x, in);
  uint8_t env[kEnvSize];
  store_env(x, env, n);
  std::memcpy(x.image_ptr(x.linear(in, in.op[0]), n, true), env, n);
  // FNSTENV then masks all floating-point exceptions (SDM Vol. 2, FSTENV).
  x.cpu->x87.fcw |= EXC_MASK;
}

void fldenv(Exec& x, const Insn& in) {
  check_pending(x);
  const unsigned n = env_size(x, in);
  uint8_t env[kEnvSize];
  std::memcpy(env, x.image_ptr(x.linear(in, in.op[0]), n, false), n);
  load_env(x.cpu->x87, env, n);
}

void fnsave(Exec& x, const Insn& in) {
  const unsigned n = env_size(x, in);
  uint8_t img[kEnvSize + kRegsSize];
  store_env(x, img, n);
  const X87State& s = x.cpu->x87;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(img + n + 10 * i, &s.st[(s.top + i) & 7], 10);
  std::memcpy(x.image_ptr(x.linear(in, in.op[0]), n + kRegsSize, true), img, n + kRegsSize);
  x.cpu->x87.reset();  // FNSAVE ends with FNINIT (SDM Vol. 2, FSAVE)
}

void frstor(Exec& x, const Insn& in) {
  check_pending(x);
  const unsigned n = env_size(x, in);
  uint8_t img[kEnvSize + kRegsSize];
  std::memcpy(img, x.image_ptr(x.linear(in, in.op[0]), n + kRegsSize, false), n + kRegsSize);
  X87State& s = x.cpu->x87;
  load_env(s, img, n);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(&s.st[(s.top + i) & 7], img + n + 10 * i, 10);
}

}  // namespace

void register_control(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_FNINIT] = fninit;
  t[ZYDIS_MNEMONIC_FNCLEX] = fnclex;
  t[ZYDIS_MNEMONIC_FWAIT] = fwait;
  t[ZYDIS_MNEMONIC_FLDCW] = fldcw;
  t[ZYDIS_MNEMONIC_FNSTCW] = fnstcw;
  t[ZYDIS_MNEMONIC_FNSTSW] = fnstsw;
  t[ZYDIS_MNEMONIC_FNSTENV] = fnstenv;
  t[ZYDIS_MNEMONIC_FLDENV] = fldenv;
  t[ZYDIS_MNEMONIC_FNSAVE] = fnsave;
  t[ZYDIS_MNEMONIC_FRSTOR] = frstor;
}

}  // namespace vireo::x87
