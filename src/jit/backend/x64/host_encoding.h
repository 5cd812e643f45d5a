// Direct encodings of the host instructions the backend emits most often, byte for byte as
// Xbyak encodes them (tests/unit/jit_host_encoding_test.cpp compares every form with Xbyak's
// over all registers and displacement and immediate classes). Xbyak builds an Operand, an
// Address and a RegExp for each, checks them and computes the REX prefix generically: a
// visible share of translation (docs/performance.md, "Translation cost, fifth pass"). These
// write the bytes through CodeArray::db/dd, so the code buffer's limit is still checked.
//
// Forms: `op size [rbx + disp], imm` (rbx = CpuState*: its lazy-flags fields, guest
// registers, the exit request), `mov r64, r64` / `mov r32, r32`, `mov r64, imm`,
// `mov r32, imm32`, `cmp r64, [rip + target]`, `jmp target` (rel32), and the guest loads and
// stores through [r15 + index + disp] (r15 = the guest window's base).
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>

namespace vireo::jit::enc {

// ModRM (and displacement) of [rbx + disp] with `reg` in the reg field: mod 00 without a
// displacement (rbx needs no SIB and no forced disp8), 01 with a disp8, 10 with a disp32.
inline void rbx_operand(Xbyak::CodeGenerator& g, int reg, int32_t disp) {
  const bool short_disp = disp >= -128 && disp <= 127;
  g.db((disp == 0 ? 0x00 : short_disp ? 0x40 : 0x80) | (reg & 7) << 3 | 3);
  if (disp == 0) return;
  if (short_disp) g.db(uint8_t(int8_t(disp)));
  else g.dd(uint32_t(disp));
}

// The operand-size prefix or REX.W of a `size`-byte operation on [rbx + disp] (no register
// of r8-r15 in it).
inline void size_prefix(Xbyak::CodeGenerator& g, unsigned size) {
  if (size == 2) g.db(0x66);
  else if (size == 8) g.db(0x48);
}

// mov size [rbx + disp], imm (size 1, 2, 4 or 8 bytes; a qword's imm32 is sign-extended).
inline void mov_cpu_imm(Xbyak::CodeGenerator& g, unsigned size, int32_t disp, uint32_t imm) {
  size_prefix(g, size);
  g.db(size == 1 ? 0xC6 : 0xC7);
  rbx_operand(g, 0, disp);
  if (size == 1) g.db(uint8_t(imm));
  else if (size == 2) g.dw(uint16_t(imm));
  else g.dd(imm);
}

// The group-1 operation `ext` (0 add, 1 or, 4 and, 5 sub, 7 cmp) of size [rbx + disp] with an
// immediate, as Xbyak chooses: 80 /ext ib for a byte, 83 /ext ib for an immediate in
// [-128, 127], else 81 /ext with an imm16 or imm32.
inline void alu_cpu_imm(Xbyak::CodeGenerator& g, int ext, unsigned size, int32_t disp, int32_t imm) {
  size_prefix(g, size);
  const bool imm8 = size == 1 || (imm >= -128 && imm <= 127);
  g.db(size == 1 ? 0x80 : imm8 ? 0x83 : 0x81);
  rbx_operand(g, ext, disp);
  if (imm8) g.db(uint8_t(imm));
  else if (size == 2) g.dw(uint16_t(imm));
  else g.dd(uint32_t(imm));
}
inline void cmp_cpu_imm(Xbyak::CodeGenerator& g, unsigned size, int32_t disp, int32_t imm) {
  alu_cpu_imm(g, 7, size, disp, imm);
}

// mov d, s at 64 bits (REX.W 89 /r: s in the reg field) or 32 (89 /r, REX only for r8-r15).
inline void mov_rr(Xbyak::CodeGenerator& g, int d, int s, bool w64 = true) {
  const int rex = (w64 ? 8 : 0) | (s >= 8 ? 4 : 0) | (d >= 8 ? 1 : 0);
  if (rex) g.db(0x40 | rex);
  g.db(0x89);
  g.db(0xC0 | (s & 7) << 3 | (d & 7));
}

// mov r32, imm32 (B8+r id): also the 64-bit register's zero-extending load.
inline void mov_r32_imm(Xbyak::CodeGenerator& g, int r, uint32_t imm) {
  if (r >= 8) g.db(0x41);
  g.db(0xB8 | (r & 7));
  g.dd(imm);
}

// mov r64, imm as Xbyak chooses: B8+r id when the value fits 32 bits unsigned, REX.W C7 /0 id
// when it fits signed, else REX.W B8+r iq.
inline void mov_r64_imm(Xbyak::CodeGenerator& g, int r, uint64_t imm) {
  if ((imm >> 32) == 0) return mov_r32_imm(g, r, uint32_t(imm));
  g.db(0x48 | (r >= 8 ? 1 : 0));
  if (int64_t(imm) == int64_t(int32_t(imm))) {
    g.db(0xC7);
    g.db(0xC0 | (r & 7));
    g.dd(uint32_t(imm));
    return;
  }
  g.db(0xB8 | (r & 7));
  g.dq(imm);
}

// cmp r64, [rip + target] (REX.W 3B /r, mod 00 rm 101: disp32 from the instruction's end).
inline void cmp_rip(Xbyak::CodeGenerator& g, int r, const void* target) {
  const int64_t disp = reinterpret_cast<const uint8_t*>(target) - (g.getCurr() + 7);
  if (disp != int64_t(int32_t(disp))) throw Xbyak::Error(Xbyak::ERR_OFFSET_IS_TOO_BIG);
  g.db(0x48 | (r >= 8 ? 4 : 0));
  g.db(0x3B);
  g.db(0x05 | (r & 7) << 3);
  g.dd(uint32_t(disp));
}

// jmp target (E9 rel32), as Xbyak's jmp(addr, T_NEAR).
inline void jmp_abs(Xbyak::CodeGenerator& g, const void* target) {
  const int64_t disp = reinterpret_cast<const uint8_t*>(target) - g.getCurr();
  if (disp != int64_t(int32_t(disp))) throw Xbyak::Error(Xbyak::ERR_OFFSET_IS_TOO_BIG);
  g.db(0xE9);
  g.dd(uint32_t(disp - 5));
}

// ---- guest memory accesses: [r15 + index + disp] (index not rsp) ----
// The ModRM, SIB and displacement of [r15 + index + disp] with `reg` in the reg field: base
// r15 (no forced displacement: its low bits are not rbp's), scale 1.
inline void guest_operand(Xbyak::CodeGenerator& g, int reg, int index, int32_t disp) {
  const bool short_disp = disp >= -128 && disp <= 127;
  g.db((disp == 0 ? 0x00 : short_disp ? 0x40 : 0x80) | (reg & 7) << 3 | 4);
  g.db((index & 7) << 3 | 7);
  if (disp == 0) return;
  if (short_disp) g.db(uint8_t(int8_t(disp)));
  else g.dd(uint32_t(disp));
}
// The REX of such an access (always present: B for r15): W, R for `reg`, X for the index.
inline void guest_rex(Xbyak::CodeGenerator& g, bool w, int reg, int index) {
  g.db(0x41 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0));
}
// d = the zero-extended 1, 2 or 4 bytes, or the 8 bytes, at [r15 + index + disp] (movzx r32 /
// mov r32 / mov r64).
inline void load_guest(Xbyak::CodeGenerator& g, unsigned size, int d, int index, int32_t disp) {
  guest_rex(g, size == 8, d, index);
  if (size == 1) g.db(0x0F), g.db(0xB6);
  else if (size == 2) g.db(0x0F), g.db(0xB7);
  else g.db(0x8B);
  guest_operand(g, d, index, disp);
}
// The low `size` bytes of register s to [r15 + index + disp] (the REX makes 4-7 spl..dil).
inline void store_guest(Xbyak::CodeGenerator& g, unsigned size, int s, int index, int32_t disp) {
  if (size == 2) g.db(0x66);
  guest_rex(g, size == 8, s, index);
  g.db(size == 1 ? 0x88 : 0x89);
  guest_operand(g, s, index, disp);
}
// mov size [r15 + index + disp], imm (a qword's imm32 sign-extended).
inline void store_guest_imm(Xbyak::CodeGenerator& g, unsigned size, uint32_t imm, int index, int32_t disp) {
  if (size == 2) g.db(0x66);
  guest_rex(g, size == 8, 0, index);
  g.db(size == 1 ? 0xC6 : 0xC7);
  guest_operand(g, 0, index, disp);
  if (size == 1) g.db(uint8_t(imm));
  else if (size == 2) g.dw(uint16_t(imm));
  else g.dd(imm);
}

}  // namespace vireo::jit::enc
