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

namespace vireo::jit::x64_detail {

void BlockEmitter::check_entry_bytes() {
  const uint8_t* base = rt_.mem->base;
  for (auto [begin, end] : *rt_.entry_check) {
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
        cmp(dword[at(o)], v);
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
