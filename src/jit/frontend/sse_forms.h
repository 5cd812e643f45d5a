// The SSE forms the JIT translates, and how an SSE IR op's `form` immediate is packed.
// Shared by the frontend (which forms to translate) and the backend (how to emit them).
#pragma once

#include <cstdint>
#include <span>

namespace vireo::jit {

enum class SseKind : uint8_t {
  Binary,        // xmm, xmm/m [, imm8]
  ShiftImm,      // xmm, imm8 (or the binary xmm, xmm/m form)
  Move,          // loads, stores and xmm<->gpr moves
  FromInt,       // xmm, r/m32/64 (cvtsi2sd/ss)
  ToInt,         // r32/64, xmm/m (cvt(t)sd2si, movmskpd, pmovmskb)
  CompareFlags,  // comisd/ucomisd/comiss/ucomiss
  Extract,       // r/m, xmm, imm8 (pextrb/w/d/q, extractps)
  Insert,        // xmm, r/m, imm8 (pinsrb/w/d/q)
  StringIndex,   // pcmpistri/pcmpestri xmm, xmm/m128, imm8: ECX and the flags
};

struct SseForm {
  uint16_t mnemonic;  // ZydisMnemonic
  SseKind kind;
};

std::span<const SseForm> sse_forms();

// Legacy-SSE 16-byte memory operands must be aligned, except for the explicitly unaligned
// moves (SDM Vol. 1, 10.4.1.1 / 11.6.7).
bool sse_needs_alignment(uint16_t mnemonic, unsigned mem_size);

// Whether the host runs `mnemonic` itself. The interpreter computes AES-NI, PCLMULQDQ and
// SHA-NI in C++ (interp/crypto_common.h) and SSE4.2's string compares too, so the guest has
// them on any host; the JIT re-emits them only where the host has them, and leaves them to
// the interpreter elsewhere.
bool sse_host_runs(uint16_t mnemonic);

// SHA256RNDS2 and BLENDVPS/BLENDVPD/PBLENDVB read XMM0 besides their two operands.
bool sse_reads_xmm0(uint16_t mnemonic);

struct SseBits {
  uint16_t mnemonic = 0;
  uint8_t imm8 = 0;
  uint8_t mem_size = 0;   // bytes of the memory operand (0: none)
  bool align = false;     // memory operand must be 16-byte aligned
  uint8_t gpr_size = 0;   // bytes of the GPR operand (movd/movq, cvt*2si, cvtsi2*)
};

inline uint64_t pack(const SseBits& b) {
  return uint64_t(b.mnemonic) | uint64_t(b.imm8) << 16 | uint64_t(b.mem_size) << 24 |
         uint64_t(b.align) << 32 | uint64_t(b.gpr_size) << 40;
}
inline SseBits unpack(uint64_t v) {
  return {uint16_t(v), uint8_t(v >> 16), uint8_t(v >> 24), bool((v >> 32) & 1), uint8_t(v >> 40)};
}

}  // namespace vireo::jit
