#include "jit/frontend/sse_forms.h"

#include <Zydis/Mnemonic.h>

#include <array>

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
    B(SHUFPS), B(SHUFPD), B(CMPSS), B(CMPPS), B(CMPPD),
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
    // moves
    M(MOVAPS), M(MOVUPS), M(MOVAPD), M(MOVUPD), M(MOVDQA), M(MOVDQU), M(MOVSS), M(MOVSD),
    M(MOVQ), M(MOVD), M(MOVLPD), M(MOVHPD), M(MOVLPS), M(MOVHPS),
    M(MOVNTDQ), M(MOVNTPS), M(MOVNTPD),
    // with general registers
    SseForm{ZYDIS_MNEMONIC_CVTSI2SD, FromInt}, SseForm{ZYDIS_MNEMONIC_CVTSI2SS, FromInt},
    SseForm{ZYDIS_MNEMONIC_CVTTSD2SI, ToInt}, SseForm{ZYDIS_MNEMONIC_CVTSD2SI, ToInt},
    SseForm{ZYDIS_MNEMONIC_CVTTSS2SI, ToInt}, SseForm{ZYDIS_MNEMONIC_CVTSS2SI, ToInt},
    SseForm{ZYDIS_MNEMONIC_MOVMSKPD, ToInt}, SseForm{ZYDIS_MNEMONIC_MOVMSKPS, ToInt},
    SseForm{ZYDIS_MNEMONIC_PMOVMSKB, ToInt},
    SseForm{ZYDIS_MNEMONIC_COMISD, CompareFlags}, SseForm{ZYDIS_MNEMONIC_UCOMISD, CompareFlags},
    SseForm{ZYDIS_MNEMONIC_COMISS, CompareFlags}, SseForm{ZYDIS_MNEMONIC_UCOMISS, CompareFlags},
};
#undef B
#undef S
#undef M
}  // namespace

std::span<const SseForm> sse_forms() { return kForms; }

bool sse_needs_alignment(uint16_t m, unsigned mem_size) {
  if (mem_size != 16) return false;
  return m != ZYDIS_MNEMONIC_MOVUPS && m != ZYDIS_MNEMONIC_MOVUPD && m != ZYDIS_MNEMONIC_MOVDQU &&
         m != ZYDIS_MNEMONIC_LDDQU;
}

}  // namespace vireo::jit
