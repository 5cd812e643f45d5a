// Direct encodings of the host instructions the backend emits most often, byte for byte as
// Xbyak encodes them (tests/unit/jit_host_encoding_test.cpp compares every form with Xbyak's
// over all registers and displacement and immediate classes). Xbyak builds an Operand, an
// Address and a RegExp for each, checks them and computes the REX prefix generically: a
// visible share of translation (docs/performance-history.md, "Translation cost, fifth pass": these
// forms through Xbyak cost 11% more translation time, `--translate-after 0` python3 -c pass,
// 14 pairs). These build the instruction's bytes locally and append them at once (Insn::put):
// one check of the code buffer's limit per instruction instead of one call of CodeArray::db
// per byte. Only these fixed forms; everything else, and anything new, goes through Xbyak.
//
// Forms: `op size [rbx + disp], imm` (rbx = CpuState*: its lazy-flags fields, guest
// registers, the exit request), `mov r64, r64` / `mov r32, r32`, `mov r64, imm`,
// `mov r32, imm32`, `cmp r64, [rip + target]`, `lea r64, [rip + target]`, `push r64`,
// `jmp target` (rel32), and the guest loads and stores through [r15 + index + disp] (r15 =
// the guest window's base).
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>
#include <cstring>

namespace vireo::jit::enc {

// One instruction's bytes (at most 15), appended to the code buffer at once.
class Insn {
 public:
  Insn& u8(uint8_t x) {
    b_[n_++] = x;
    return *this;
  }
  Insn& u16(uint16_t x) { return raw(&x, 2); }
  Insn& u32(uint32_t x) { return raw(&x, 4); }
  Insn& u64(uint64_t x) { return raw(&x, 8); }
  // Appends them through CodeArray's public size; past the end of a fixed buffer, byte by byte
  // through db instead, which throws ERR_CODE_IS_TOO_BIG as Xbyak's own encodings do (the
  // backend catches that one: the translation cache is full, flushed, and the block emitted
  // again); an auto-grow buffer grows through db as well.
  void put(Xbyak::CodeGenerator& g) const {
    const size_t at = g.getSize();
    if (!g.isAutoGrow()) {
      try {
        g.setSize(at + n_);
        std::memcpy(const_cast<uint8_t*>(g.getCode()) + at, b_, n_);
        return;
      } catch (const Xbyak::Error&) {
      }
    }
    for (unsigned k = 0; k < n_; ++k) g.db(b_[k]);
  }

 private:
  Insn& raw(const void* p, unsigned k) {
    std::memcpy(b_ + n_, p, k);  // (little-endian, as the host is)
    n_ += k;
    return *this;
  }
  uint8_t b_[16];
  unsigned n_ = 0;
};

// ModRM (and displacement) of [rbx + disp] with `reg` in the reg field: mod 00 without a
// displacement (rbx needs no SIB and no forced disp8), 01 with a disp8, 10 with a disp32.
inline void rbx_operand(Insn& x, int reg, int32_t disp) {
  const bool short_disp = disp >= -128 && disp <= 127;
  x.u8((disp == 0 ? 0x00 : short_disp ? 0x40 : 0x80) | (reg & 7) << 3 | 3);
  if (disp == 0) return;
  if (short_disp) x.u8(uint8_t(int8_t(disp)));
  else x.u32(uint32_t(disp));
}

// The operand-size prefix or REX.W of a `size`-byte operation on [rbx + disp] (no register
// of r8-r15 in it).
inline void size_prefix(Insn& x, unsigned size) {
  if (size == 2) x.u8(0x66);
  else if (size == 8) x.u8(0x48);
}

// mov r, [rbx + disp] (load) or mov [rbx + disp], r at 64 bits: a CpuState field.
inline void mov_cpu(Xbyak::CodeGenerator& g, bool load, int32_t disp, int r) {
  Insn x;
  x.u8(0x48 | (r >= 8 ? 4 : 0)).u8(load ? 0x8B : 0x89);
  rbx_operand(x, r, disp);
  x.put(g);
}

// mov size [rbx + disp], imm (size 1, 2, 4 or 8 bytes; a qword's imm32 is sign-extended).
inline void mov_cpu_imm(Xbyak::CodeGenerator& g, unsigned size, int32_t disp, uint32_t imm) {
  Insn x;
  size_prefix(x, size);
  x.u8(size == 1 ? 0xC6 : 0xC7);
  rbx_operand(x, 0, disp);
  if (size == 1) x.u8(uint8_t(imm));
  else if (size == 2) x.u16(uint16_t(imm));
  else x.u32(imm);
  x.put(g);
}

// The group-1 operation `ext` (0 add, 1 or, 4 and, 5 sub, 7 cmp) of size [rbx + disp] with an
// immediate, as Xbyak chooses: 80 /ext ib for a byte, 83 /ext ib for an immediate in
// [-128, 127], else 81 /ext with an imm16 or imm32.
inline void alu_cpu_imm(Xbyak::CodeGenerator& g, int ext, unsigned size, int32_t disp, int32_t imm) {
  Insn x;
  size_prefix(x, size);
  const bool imm8 = size == 1 || (imm >= -128 && imm <= 127);
  x.u8(size == 1 ? 0x80 : imm8 ? 0x83 : 0x81);
  rbx_operand(x, ext, disp);
  if (imm8) x.u8(uint8_t(imm));
  else if (size == 2) x.u16(uint16_t(imm));
  else x.u32(uint32_t(imm));
  x.put(g);
}
inline void cmp_cpu_imm(Xbyak::CodeGenerator& g, unsigned size, int32_t disp, int32_t imm) {
  alu_cpu_imm(g, 7, size, disp, imm);
}

// mov d, s at 64 bits (REX.W 89 /r: s in the reg field) or 32 (89 /r, REX only for r8-r15).
inline void mov_rr(Xbyak::CodeGenerator& g, int d, int s, bool w64 = true) {
  Insn x;
  const int rex = (w64 ? 8 : 0) | (s >= 8 ? 4 : 0) | (d >= 8 ? 1 : 0);
  if (rex) x.u8(0x40 | rex);
  x.u8(0x89).u8(0xC0 | (s & 7) << 3 | (d & 7));
  x.put(g);
}

// mov r32, imm32 (B8+r id): also the 64-bit register's zero-extending load.
inline void mov_r32_imm(Xbyak::CodeGenerator& g, int r, uint32_t imm) {
  Insn x;
  if (r >= 8) x.u8(0x41);
  x.u8(0xB8 | (r & 7)).u32(imm);
  x.put(g);
}

// mov r64, imm as Xbyak chooses: B8+r id when the value fits 32 bits unsigned, REX.W C7 /0 id
// when it fits signed, else REX.W B8+r iq.
inline void mov_r64_imm(Xbyak::CodeGenerator& g, int r, uint64_t imm) {
  if ((imm >> 32) == 0) return mov_r32_imm(g, r, uint32_t(imm));
  Insn x;
  x.u8(0x48 | (r >= 8 ? 1 : 0));
  if (int64_t(imm) == int64_t(int32_t(imm))) x.u8(0xC7).u8(0xC0 | (r & 7)).u32(uint32_t(imm));
  else x.u8(0xB8 | (r & 7)).u64(imm);
  x.put(g);
}

// cmp a, b at 64 bits (REX.W 39 /r: b in the reg field, as Xbyak encodes it): a range
// check's compare with the limit register.
inline void cmp_rr(Xbyak::CodeGenerator& g, int a, int b) {
  Insn x;
  x.u8(0x48 | (b >= 8 ? 4 : 0) | (a >= 8 ? 1 : 0)).u8(0x39).u8(0xC0 | (b & 7) << 3 | (a & 7));
  x.put(g);
}

// lea r64, [rip + target] (REX.W 8D /r, mod 00 rm 101: disp32 from the instruction's end):
// a range-check stub's address of its access.
inline void lea_rip(Xbyak::CodeGenerator& g, int r, const void* target) {
  const int64_t disp = reinterpret_cast<const uint8_t*>(target) - (g.getCurr() + 7);
  if (disp != int64_t(int32_t(disp))) throw Xbyak::Error(Xbyak::ERR_OFFSET_IS_TOO_BIG);
  Insn x;
  x.u8(0x48 | (r >= 8 ? 4 : 0)).u8(0x8D).u8(0x05 | (r & 7) << 3).u32(uint32_t(disp));
  x.put(g);
}

// push r64 (50+r, REX.B for r8-r15).
inline void push_r64(Xbyak::CodeGenerator& g, int r) {
  Insn x;
  if (r >= 8) x.u8(0x41);
  x.u8(0x50 | (r & 7));
  x.put(g);
}

// jmp target (E9 rel32), as Xbyak's jmp(addr, T_NEAR).
inline void jmp_abs(Xbyak::CodeGenerator& g, const void* target) {
  const int64_t disp = reinterpret_cast<const uint8_t*>(target) - g.getCurr();
  if (disp != int64_t(int32_t(disp))) throw Xbyak::Error(Xbyak::ERR_OFFSET_IS_TOO_BIG);
  Insn x;
  x.u8(0xE9).u32(uint32_t(disp - 5));
  x.put(g);
}

// jcc rel32 (0F 80+cc) to target.
inline void jcc_abs(Xbyak::CodeGenerator& g, int cc, const void* target) {
  const int64_t disp = reinterpret_cast<const uint8_t*>(target) - g.getCurr();
  if (disp != int64_t(int32_t(disp))) throw Xbyak::Error(Xbyak::ERR_OFFSET_IS_TOO_BIG);
  Insn x;
  x.u8(0x0F).u8(uint8_t(0x80 | cc)).u32(uint32_t(disp - 6));
  x.put(g);
}

// jcc rel32 (0F 80+cc) or, with cc < 0, jmp rel32 (E9), its displacement 0 (patched later).
inline void jump_rel32_unset(Xbyak::CodeGenerator& g, int cc) {
  Insn x;
  if (cc >= 0) x.u8(0x0F).u8(uint8_t(0x80 | cc));
  else x.u8(0xE9);
  x.u32(0);
  x.put(g);
}

// ---- guest memory accesses: [r15 + index*scale + disp] (index not rsp; -1: none) ----
// The ModRM, SIB and displacement of [r15 + index*scale + disp] with `reg` in the reg field:
// base r15 (no forced displacement: its low bits are not rbp's); without an index, r15 in
// the ModRM and no SIB (its low bits are not rsp's either).
inline void guest_operand(Insn& x, int reg, int index, int32_t disp, int scale = 1) {
  const bool short_disp = disp >= -128 && disp <= 127;
  const int ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
  x.u8((disp == 0 ? 0x00 : short_disp ? 0x40 : 0x80) | (reg & 7) << 3 | (index < 0 ? 7 : 4));
  if (index >= 0) x.u8(ss << 6 | (index & 7) << 3 | 7);
  if (disp == 0) return;
  if (short_disp) x.u8(uint8_t(int8_t(disp)));
  else x.u32(uint32_t(disp));
}
// The REX of such an access (always present: B for r15): W, R for `reg`, X for the index.
inline void guest_rex(Insn& x, bool w, int reg, int index) {
  x.u8(0x41 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0));  // (index -1: no X)
}
// d = the zero-extended 1, 2 or 4 bytes, or the 8 bytes, at [r15 + index + disp] (movzx r32 /
// mov r32 / mov r64).
inline void load_guest(Xbyak::CodeGenerator& g, unsigned size, int d, int index, int32_t disp, int scale = 1) {
  Insn x;
  guest_rex(x, size == 8, d, index);
  if (size == 1) x.u8(0x0F).u8(0xB6);
  else if (size == 2) x.u8(0x0F).u8(0xB7);
  else x.u8(0x8B);
  guest_operand(x, d, index, disp, scale);
  x.put(g);
}
// The low `size` bytes of register s to [r15 + index + disp] (the REX makes 4-7 spl..dil).
inline void store_guest(Xbyak::CodeGenerator& g, unsigned size, int s, int index, int32_t disp, int scale = 1) {
  Insn x;
  if (size == 2) x.u8(0x66);
  guest_rex(x, size == 8, s, index);
  x.u8(size == 1 ? 0x88 : 0x89);
  guest_operand(x, s, index, disp, scale);
  x.put(g);
}
// mov size [r15 + index + disp], imm (a qword's imm32 sign-extended).
inline void store_guest_imm(Xbyak::CodeGenerator& g, unsigned size, uint32_t imm, int index, int32_t disp,
                            int scale = 1) {
  Insn x;
  if (size == 2) x.u8(0x66);
  guest_rex(x, size == 8, 0, index);
  x.u8(size == 1 ? 0xC6 : 0xC7);
  guest_operand(x, 0, index, disp, scale);
  if (size == 1) x.u8(uint8_t(imm));
  else if (size == 2) x.u16(uint16_t(imm));
  else x.u32(imm);
  x.put(g);
}

}  // namespace vireo::jit::enc
