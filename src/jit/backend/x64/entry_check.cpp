// The entry check of a block translated from a checked page (docs/jit.md, "Checked pages"):
// such a page stays writable, so nothing tells the translator when its bytes change; instead
// the block compares the guest bytes it was translated from with memory each time it is
// entered, and leaves with kExitStale (the dispatcher drops it) if they differ. The bytes are
// immediates in the compares: 4 at a time, the last compare overlapping the one before, so a
// 19-byte function costs five `cmp dword [r11 + k], imm32` and their `jne`s.
//
// At entry no guest value lives in a host register and the host flags are dead (the exit
// request check and the instruction count clobber them too), so r11 is free for the address.
#include <cstring>

#include "jit/backend/x64/block_emitter.h"
#include "jit/backend/x64/host_encoding.h"

namespace vireo::jit::x64_detail {

namespace {
// cmp dword [base + disp], imm (base r15 or r11: REX.B, and neither needs a SIB), encoded
// here rather than through Xbyak's Address and operand checks: a guest JIT's functions are
// small blocks translated once each, and the compares were a twentieth of their translation
// (bench codegen: 20,000 blocks of five compares).
void cmp_dword_imm(Xbyak::CodeGenerator& g, int base, int32_t disp, uint32_t imm) {
  enc::Insn x;
  const bool short_disp = disp >= -128 && disp <= 127, short_imm = int32_t(imm) == int8_t(imm);
  x.u8(0x41).u8(short_imm ? 0x83 : 0x81);
  x.u8((short_disp ? 0x40 : 0x80) | 7 << 3 | (base & 7));  // (/7: cmp; mod 01 or 10: a disp)
  if (short_disp) x.u8(uint8_t(int8_t(disp)));
  else x.u32(uint32_t(disp));
  if (short_imm) x.u8(uint8_t(imm));
  else x.u32(imm);
  x.put(g);
}
}  // namespace

void BlockEmitter::check_entry_bytes() {
  const uint8_t* base = rt_->mem->base;
  for (auto [begin, end] : *rt_->entry_check) {
    if (end <= begin) continue;
    const uint64_t len = end - begin;
    // (guest addresses below 2 GiB fit a displacement from r15, the guest base)
    const bool near = begin + len <= 0x7fffff00u;
    if (!near) {
      mov(r11, begin);
      add(r11, r15);
    }
    auto at = [&](uint64_t off) {
      return near ? Xbyak::RegExp(r15 + int32_t(begin + off)) : Xbyak::RegExp(r11 + int32_t(off));
    };
    if (len >= 4) {
      for (uint64_t off = 0; off < len; off += 4) {
        const uint64_t o = std::min(off, len - 4);
        uint32_t v;
        std::memcpy(&v, base + begin + o, 4);
        cmp_dword_imm(*this, near ? r15.getIdx() : r11.getIdx(), int32_t(near ? begin + o : o), v);
        to_stale_.push_back(jcc_to_stub(0x5));  // jne
      }
    } else {
      for (uint64_t o = 0; o < len; ++o) {
        cmp(byte[at(o)], base[begin + o]);
        to_stale_.push_back(jcc_to_stub(0x5));  // jne
      }
    }
  }
}

}  // namespace vireo::jit::x64_detail
