// x87 control instructions (SDM Vol. 1, 8.3.10-8.3.11): FNINIT, FNCLEX, FLDCW, FNSTCW,
// FNSTSW, FNSTENV, FLDENV, FNSAVE, FRSTOR, FWAIT. They are not "non-control" instructions, so
// they leave FIP/FDP/FOP alone; the N-forms do not wait for pending exceptions.
#include <Zydis/Mnemonic.h>

#include <cstring>

#include "interp/exec.h"
#include "interp/interpreter.h"
#include "interp/x87_native.h"

namespace vireo::x87 {

namespace {

constexpr unsigned kEnvSize = 28;   // 32-bit protected-mode environment (SDM Vol. 1, Fig. 8-9)
constexpr unsigned kSaveSize = 108;  // environment + ST(0)..ST(7) as 10-byte values

const Operand& mem_op(Exec& x, const Insn& in) {
  if (in.nops == 0 || in.op[0].kind != OpKind::Mem) x.raise_ud();
  return in.op[0];
}

// The 16-bit environment forms (66 prefix, 14/94 bytes) are not used by 64-bit code we know
// of; they are reported as unimplemented rather than stored in the wrong layout.
void require_size(Exec& x, const Insn& in, unsigned want) {
  if (mem_op(x, in).size != want) {
    x.interp->report_unimplemented(in);
    x.raise_ud();
  }
}

void reset(X87State& s) {
  // FNINIT (SDM Vol. 2, FINIT): FCW 037FH, FSW 0, all tags empty, pointers and FOP cleared.
  s.fcw = 0x37F;
  s.fsw = 0;
  s.top = 0;
  s.tag_empty = 0xFF;
  s.fop = 0;
  s.fip = s.fdp = 0;
}

void fninit(Exec& x, const Insn&) { reset(x.cpu->x87); }

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
// the host writes it; FIP/FOP/FDP with the guest's CS/DS selectors.
void store_env(Exec& x, uint8_t* p) {
  const X87State& s = x.cpu->x87;
  auto put32 = [&](unsigned off, uint32_t v) { std::memcpy(p + off, &v, 4); };
  put32(0, 0xFFFF0000u | s.fcw);
  put32(4, 0xFFFF0000u | status_word(s));
  put32(8, 0xFFFF0000u | full_tag_word(s));
  put32(12, uint32_t(s.fip));
  put32(16, x.cpu->seg[SEG_CS].selector | (uint32_t(s.fop & 0x7FF) << 16));
  put32(20, uint32_t(s.fdp));
  put32(24, 0xFFFF0000u | x.cpu->seg[SEG_DS].selector);
}

void load_env(X87State& s, const uint8_t* p) {
  uint16_t cw, sw, tw, fop;
  uint32_t fip, fdp;
  std::memcpy(&cw, p + 0, 2);
  std::memcpy(&sw, p + 4, 2);
  std::memcpy(&tw, p + 8, 2);
  std::memcpy(&fip, p + 12, 4);
  std::memcpy(&fop, p + 18, 2);
  std::memcpy(&fdp, p + 20, 4);
  s.fcw = uint16_t((cw & 0x1F3F) | 0x40);
  // Only "empty" (11) is taken from the tag word; the other tags follow the register contents
  // (SDM Vol. 1, 8.1.7: the FPU recomputes them).
  s.tag_empty = 0;
  for (unsigned i = 0; i < 8; ++i)
    if (((tw >> (2 * i)) & 3) == 3) s.tag_empty |= uint8_t(1u << i);
  s.fip = fip;
  s.fdp = fdp;
  s.fop = fop & 0x7FF;
  set_status_word(s, sw);
}

void fnstenv(Exec& x, const Insn& in) {
  require_size(x, in, kEnvSize);
  uint8_t env[kEnvSize];
  store_env(x, env);
  std::memcpy(x.host_ptr(x.linear(in, in.op[0]), kEnvSize, true), env, kEnvSize);
  // FNSTENV then masks all floating-point exceptions (SDM Vol. 2, FSTENV).
  x.cpu->x87.fcw |= EXC_MASK;
}

void fldenv(Exec& x, const Insn& in) {
  check_pending(x);
  require_size(x, in, kEnvSize);
  uint8_t env[kEnvSize];
  std::memcpy(env, x.host_ptr(x.linear(in, in.op[0]), kEnvSize, false), kEnvSize);
  load_env(x.cpu->x87, env);
}

void fnsave(Exec& x, const Insn& in) {
  require_size(x, in, kSaveSize);
  uint8_t img[kSaveSize];
  store_env(x, img);
  const X87State& s = x.cpu->x87;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(img + kEnvSize + 10 * i, &s.st[(s.top + i) & 7], 10);
  std::memcpy(x.host_ptr(x.linear(in, in.op[0]), kSaveSize, true), img, kSaveSize);
  reset(x.cpu->x87);  // FNSAVE ends with FNINIT (SDM Vol. 2, FSAVE)
}

void frstor(Exec& x, const Insn& in) {
  check_pending(x);
  require_size(x, in, kSaveSize);
  uint8_t img[kSaveSize];
  std::memcpy(img, x.host_ptr(x.linear(in, in.op[0]), kSaveSize, false), kSaveSize);
  X87State& s = x.cpu->x87;
  load_env(s, img);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(&s.st[(s.top + i) & 7], img + kEnvSize + 10 * i, 10);
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
