#include "jit/frontend/sse_forms.h"

#include <Zydis/Mnemonic.h>

#include <sys/platform/x86.h>

#include <array>

#include "cpu/host_quirks.h"

namespace vireo::jit {

namespace {
using enum SseKind;
#define B(m) SseForm{ZYDIS_MNEMONIC_##m, Binary}
#define S(m) SseForm{ZYDIS_MNEMONIC_##m, ShiftImm}
#define M(m) SseForm{ZYDIS_MNEMONIC_##m, Move}
constexpr SseForm kForms[] = {
    // floating point
    B(ADDSS), B(ADDSD), B(ADDPS), B(ADDPD), B(SUBSS), B(SUBSD), B(SUBPS), B(SUBPD),
    B(MULSS), B(MULSD), B(MULPS), B(MULPD), B(DIVSS), B(DIVSD), B(DIVPS), B(DIVPD),
    B(MINSS), B(MINSD), B(MINPS), B(MINPD), B(MAXSS), B(MAXSD), B(MAXPS), B(MAXPD),
    B(SQRTSS), B(SQRTSD), B(SQRTPS), B(SQRTPD), B(ANDPS), B(ANDPD), B(ANDNPS), B(ANDNPD),
    B(ORPS), B(ORPD), B(XORPS), B(XORPD), B(UNPCKLPS), B(UNPCKLPD), B(UNPCKHPS), B(UNPCKHPD),
    B(SHUFPS), B(SHUFPD), B(CMPSS), B(CMPSD), B(CMPPS), B(CMPPD),
    B(CVTSS2SD), B(CVTSD2SS), B(CVTPS2PD), B(CVTPD2PS), B(CVTDQ2PD), B(CVTDQ2PS),
    B(CVTPS2DQ), B(CVTTPS2DQ), B(CVTPD2DQ), B(CVTTPD2DQ),
    // integer
    B(PADDB), B(PADDW), B(PADDD), B(PADDQ), B(PSUBB), B(PSUBW), B(PSUBD), B(PSUBQ),
    B(PADDSB), B(PADDSW), B(PADDUSB), B(PADDUSW), B(PSUBSB), B(PSUBSW), B(PSUBUSB), B(PSUBUSW),
    B(PAND), B(PANDN), B(POR), B(PXOR), B(PCMPEQB), B(PCMPEQW), B(PCMPEQD),
    B(PCMPGTB), B(PCMPGTW), B(PCMPGTD), B(PMULLW), B(PMULHW), B(PMULHUW), B(PMULUDQ),
    B(PMADDWD), B(PSADBW), B(PAVGB), B(PAVGW), B(PMINUB), B(PMAXUB), B(PMINSW), B(PMAXSW),
    B(PUNPCKLBW), B(PUNPCKLWD), B(PUNPCKLDQ), B(PUNPCKLQDQ), B(PUNPCKHBW), B(PUNPCKHWD),
    B(PUNPCKHDQ), B(PUNPCKHQDQ), B(PACKSSWB), B(PACKSSDW), B(PACKUSWB),
    B(PSHUFD), B(PSHUFLW), B(PSHUFHW),
    S(PSLLW), S(PSLLD), S(PSLLQ), S(PSRLW), S(PSRLD), S(PSRLQ), S(PSRAW), S(PSRAD),
    S(PSLLDQ), S(PSRLDQ),
    // SSE3, SSSE3, SSE4.1
    B(ADDSUBPD), B(ADDSUBPS), B(HADDPD), B(HADDPS), B(HSUBPD), B(HSUBPS),
    B(MOVDDUP), B(MOVSHDUP), B(MOVSLDUP),
    B(PABSB), B(PABSW), B(PABSD), B(PSIGNB), B(PSIGNW), B(PSIGND), B(PSHUFB), B(PALIGNR),
    B(PHADDW), B(PHADDD), B(PHADDSW), B(PHSUBW), B(PHSUBD), B(PHSUBSW), B(PMADDUBSW),
    B(PMULHRSW), B(PMULLD), B(PMULDQ), B(PCMPEQQ), B(PACKUSDW), B(PHMINPOSUW),
    B(PMINSB), B(PMINSD), B(PMINUW), B(PMINUD), B(PMAXSB), B(PMAXSD), B(PMAXUW), B(PMAXUD),
    B(PMOVSXBW), B(PMOVSXBD), B(PMOVSXBQ), B(PMOVSXWD), B(PMOVSXWQ), B(PMOVSXDQ),
    B(PMOVZXBW), B(PMOVZXBD), B(PMOVZXBQ), B(PMOVZXWD), B(PMOVZXWQ), B(PMOVZXDQ),
    B(BLENDPS), B(BLENDPD), B(PBLENDW), B(DPPS), B(DPPD), B(MPSADBW), B(INSERTPS),
    B(ROUNDPS), B(ROUNDPD), B(ROUNDSS), B(ROUNDSD), B(RCPPS), B(RCPSS), B(RSQRTPS), B(RSQRTSS),
    B(BLENDVPS), B(BLENDVPD), B(PBLENDVB),  // (the mask in XMM0: sse_reads_xmm0)
    // moves
    M(MOVAPS), M(MOVUPS), M(MOVAPD), M(MOVUPD), M(MOVDQA), M(MOVDQU), M(MOVSS), M(MOVSD),
    M(MOVQ), M(MOVD), M(MOVLPD), M(MOVHPD), M(MOVLPS), M(MOVHPS),
    M(MOVNTDQ), M(MOVNTPS), M(MOVNTPD), B(MOVHLPS), B(MOVLHPS),
    // AES-NI, PCLMULQDQ, SHA-NI (where the host has them: sse_host_runs)
    B(AESENC), B(AESENCLAST), B(AESDEC), B(AESDECLAST), B(AESIMC), B(AESKEYGENASSIST),
    B(PCLMULQDQ), B(SHA1RNDS4), B(SHA1NEXTE), B(SHA1MSG1), B(SHA1MSG2), B(SHA256RNDS2),
    B(SHA256MSG1), B(SHA256MSG2),
    // SSE4.1 element extracts and inserts
    SseForm{ZYDIS_MNEMONIC_PEXTRB, Extract}, SseForm{ZYDIS_MNEMONIC_PEXTRW, Extract},
    SseForm{ZYDIS_MNEMONIC_PEXTRD, Extract}, SseForm{ZYDIS_MNEMONIC_PEXTRQ, Extract},
    SseForm{ZYDIS_MNEMONIC_EXTRACTPS, Extract},
    SseForm{ZYDIS_MNEMONIC_PINSRB, Insert}, SseForm{ZYDIS_MNEMONIC_PINSRW, Insert},
    SseForm{ZYDIS_MNEMONIC_PINSRD, Insert}, SseForm{ZYDIS_MNEMONIC_PINSRQ, Insert},
    // SSE4.2 string compares that return an index (the mask forms write XMM0: interpreted)
    SseForm{ZYDIS_MNEMONIC_PCMPISTRI, StringIndex}, SseForm{ZYDIS_MNEMONIC_PCMPESTRI, StringIndex},
    // with general registers
    SseForm{ZYDIS_MNEMONIC_CVTSI2SD, FromInt}, SseForm{ZYDIS_MNEMONIC_CVTSI2SS, FromInt},
    SseForm{ZYDIS_MNEMONIC_CVTTSD2SI, ToInt}, SseForm{ZYDIS_MNEMONIC_CVTSD2SI, ToInt},
    SseForm{ZYDIS_MNEMONIC_CVTTSS2SI, ToInt}, SseForm{ZYDIS_MNEMONIC_CVTSS2SI, ToInt},
    SseForm{ZYDIS_MNEMONIC_MOVMSKPD, ToInt}, SseForm{ZYDIS_MNEMONIC_MOVMSKPS, ToInt},
    SseForm{ZYDIS_MNEMONIC_PMOVMSKB, ToInt},
    SseForm{ZYDIS_MNEMONIC_COMISD, CompareFlags}, SseForm{ZYDIS_MNEMONIC_UCOMISD, CompareFlags},
    SseForm{ZYDIS_MNEMONIC_COMISS, CompareFlags}, SseForm{ZYDIS_MNEMONIC_UCOMISS, CompareFlags},
    SseForm{ZYDIS_MNEMONIC_PTEST, CompareFlags},
};
#undef B
#undef S
#undef M
}  // namespace

std::span<const SseForm> sse_forms() { return kForms; }

bool sse_needs_alignment(uint16_t m, unsigned mem_size) {
  if (mem_size != 16) return false;
  switch (m) {
    case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVUPD: case ZYDIS_MNEMONIC_MOVDQU: case ZYDIS_MNEMONIC_LDDQU:
    // The string compares take any m128 (SDM Vol. 2, PCMPESTRI: exceptions type 4, "no
    // alignment check").
    case ZYDIS_MNEMONIC_PCMPISTRI: case ZYDIS_MNEMONIC_PCMPESTRI:
      return false;
    // SHA-NI: the SDM's type 4 (aligned) where the host checks it, as Intel's do; some AMD
    // hosts take a misaligned operand (cpu/host_quirks.h, interp/sha.cpp). Checked before the
    // host instruction runs: its own #GP would not reach the guest with the guest's state.
    case ZYDIS_MNEMONIC_SHA1RNDS4: case ZYDIS_MNEMONIC_SHA1NEXTE: case ZYDIS_MNEMONIC_SHA1MSG1:
    case ZYDIS_MNEMONIC_SHA1MSG2: case ZYDIS_MNEMONIC_SHA256RNDS2: case ZYDIS_MNEMONIC_SHA256MSG1:
    case ZYDIS_MNEMONIC_SHA256MSG2:
      return host_sha_checks_alignment();
    default: return true;
  }
}

bool sse_host_runs(uint16_t m) {
  // (glibc's loader read these CPUID bits at start-up: no CPUID here, which traps in a VM)
  static const bool aes = CPU_FEATURE_ACTIVE(AES), clmul = CPU_FEATURE_ACTIVE(PCLMULQDQ),
                    sha = CPU_FEATURE_ACTIVE(SHA), sse42 = CPU_FEATURE_ACTIVE(SSE4_2);
  switch (m) {
    case ZYDIS_MNEMONIC_AESENC: case ZYDIS_MNEMONIC_AESENCLAST: case ZYDIS_MNEMONIC_AESDEC:
    case ZYDIS_MNEMONIC_AESDECLAST: case ZYDIS_MNEMONIC_AESIMC: case ZYDIS_MNEMONIC_AESKEYGENASSIST:
      return aes;
    case ZYDIS_MNEMONIC_PCLMULQDQ: return clmul;
    case ZYDIS_MNEMONIC_SHA1RNDS4: case ZYDIS_MNEMONIC_SHA1NEXTE: case ZYDIS_MNEMONIC_SHA1MSG1:
    case ZYDIS_MNEMONIC_SHA1MSG2: case ZYDIS_MNEMONIC_SHA256RNDS2: case ZYDIS_MNEMONIC_SHA256MSG1:
    case ZYDIS_MNEMONIC_SHA256MSG2:
      return sha;
    case ZYDIS_MNEMONIC_PCMPISTRI: case ZYDIS_MNEMONIC_PCMPESTRI: return sse42;
    default: return true;  // (SSE to SSE4.1: the JIT's baseline)
  }
}

bool sse_reads_xmm0(uint16_t m) {
  return m == ZYDIS_MNEMONIC_SHA256RNDS2 || m == ZYDIS_MNEMONIC_BLENDVPS || m == ZYDIS_MNEMONIC_BLENDVPD ||
         m == ZYDIS_MNEMONIC_PBLENDVB;
}

}  // namespace vireo::jit
