#include "jit/backend/x64/emit_sse.h"

#include <Zydis/Mnemonic.h>

namespace vireo::jit {

bool emit_sse_op(Xbyak::CodeGenerator& g, uint16_t m, const Xbyak::Xmm& d, const Xbyak::Operand& s,
                 uint8_t imm8, bool imm_form) {
#define OP(name, call) \
  case ZYDIS_MNEMONIC_##name: g.call(d, s); return true;
#define OPI(name, call) \
  case ZYDIS_MNEMONIC_##name: g.call(d, s, imm8); return true;
#define SHIFT(name, call)            \
  case ZYDIS_MNEMONIC_##name:        \
    if (imm_form) g.call(d, imm8);   \
    else g.call(d, s);               \
    return true;
  switch (m) {
    OP(ADDSS, addss) OP(ADDSD, addsd) OP(ADDPS, addps) OP(ADDPD, addpd)
    OP(SUBSS, subss) OP(SUBSD, subsd) OP(SUBPS, subps) OP(SUBPD, subpd)
    OP(MULSS, mulss) OP(MULSD, mulsd) OP(MULPS, mulps) OP(MULPD, mulpd)
    OP(DIVSS, divss) OP(DIVSD, divsd) OP(DIVPS, divps) OP(DIVPD, divpd)
    OP(MINSS, minss) OP(MINSD, minsd) OP(MINPS, minps) OP(MINPD, minpd)
    OP(MAXSS, maxss) OP(MAXSD, maxsd) OP(MAXPS, maxps) OP(MAXPD, maxpd)
    OP(SQRTSS, sqrtss) OP(SQRTSD, sqrtsd) OP(SQRTPS, sqrtps) OP(SQRTPD, sqrtpd)
    OP(ANDPS, andps) OP(ANDPD, andpd) OP(ANDNPS, andnps) OP(ANDNPD, andnpd)
    OP(ORPS, orps) OP(ORPD, orpd) OP(XORPS, xorps) OP(XORPD, xorpd)
    OP(UNPCKLPS, unpcklps) OP(UNPCKLPD, unpcklpd) OP(UNPCKHPS, unpckhps) OP(UNPCKHPD, unpckhpd)
    OPI(SHUFPS, shufps) OPI(SHUFPD, shufpd) OPI(CMPSS, cmpss) OPI(CMPSD, cmpsd) OPI(CMPPS, cmpps) OPI(CMPPD, cmppd)
    OP(CVTSS2SD, cvtss2sd) OP(CVTSD2SS, cvtsd2ss) OP(CVTPS2PD, cvtps2pd) OP(CVTPD2PS, cvtpd2ps)
    OP(CVTDQ2PD, cvtdq2pd) OP(CVTDQ2PS, cvtdq2ps) OP(CVTPS2DQ, cvtps2dq) OP(CVTTPS2DQ, cvttps2dq)
    OP(CVTPD2DQ, cvtpd2dq) OP(CVTTPD2DQ, cvttpd2dq)
    OP(PADDB, paddb) OP(PADDW, paddw) OP(PADDD, paddd) OP(PADDQ, paddq)
    OP(PSUBB, psubb) OP(PSUBW, psubw) OP(PSUBD, psubd) OP(PSUBQ, psubq)
    OP(PADDSB, paddsb) OP(PADDSW, paddsw) OP(PADDUSB, paddusb) OP(PADDUSW, paddusw)
    OP(PSUBSB, psubsb) OP(PSUBSW, psubsw) OP(PSUBUSB, psubusb) OP(PSUBUSW, psubusw)
    OP(PAND, pand) OP(PANDN, pandn) OP(POR, por) OP(PXOR, pxor)
    OP(PCMPEQB, pcmpeqb) OP(PCMPEQW, pcmpeqw) OP(PCMPEQD, pcmpeqd)
    OP(PCMPGTB, pcmpgtb) OP(PCMPGTW, pcmpgtw) OP(PCMPGTD, pcmpgtd)
    OP(PMULLW, pmullw) OP(PMULHW, pmulhw) OP(PMULHUW, pmulhuw) OP(PMULUDQ, pmuludq)
    OP(PMADDWD, pmaddwd) OP(PSADBW, psadbw) OP(PAVGB, pavgb) OP(PAVGW, pavgw)
    OP(PMINUB, pminub) OP(PMAXUB, pmaxub) OP(PMINSW, pminsw) OP(PMAXSW, pmaxsw)
    OP(PUNPCKLBW, punpcklbw) OP(PUNPCKLWD, punpcklwd) OP(PUNPCKLDQ, punpckldq)
    OP(PUNPCKLQDQ, punpcklqdq) OP(PUNPCKHBW, punpckhbw) OP(PUNPCKHWD, punpckhwd)
    OP(PUNPCKHDQ, punpckhdq) OP(PUNPCKHQDQ, punpckhqdq)
    OP(PACKSSWB, packsswb) OP(PACKSSDW, packssdw) OP(PACKUSWB, packuswb)
    OPI(PSHUFD, pshufd) OPI(PSHUFLW, pshuflw) OPI(PSHUFHW, pshufhw)
    SHIFT(PSLLW, psllw) SHIFT(PSLLD, pslld) SHIFT(PSLLQ, psllq) SHIFT(PSRLW, psrlw)
    SHIFT(PSRLD, psrld) SHIFT(PSRLQ, psrlq) SHIFT(PSRAW, psraw) SHIFT(PSRAD, psrad)
    case ZYDIS_MNEMONIC_PSLLDQ: g.pslldq(d, imm8); return true;
    case ZYDIS_MNEMONIC_PSRLDQ: g.psrldq(d, imm8); return true;
    // SSE3, SSSE3, SSE4.1
    OP(ADDSUBPD, addsubpd) OP(ADDSUBPS, addsubps) OP(HADDPD, haddpd) OP(HADDPS, haddps)
    OP(HSUBPD, hsubpd) OP(HSUBPS, hsubps) OP(MOVDDUP, movddup) OP(MOVSHDUP, movshdup)
    OP(MOVSLDUP, movsldup)
    OP(PABSB, pabsb) OP(PABSW, pabsw) OP(PABSD, pabsd) OP(PSIGNB, psignb) OP(PSIGNW, psignw)
    OP(PSIGND, psignd) OP(PSHUFB, pshufb) OPI(PALIGNR, palignr)
    OP(PHADDW, phaddw) OP(PHADDD, phaddd) OP(PHADDSW, phaddsw) OP(PHSUBW, phsubw)
    OP(PHSUBD, phsubd) OP(PHSUBSW, phsubsw) OP(PMADDUBSW, pmaddubsw) OP(PMULHRSW, pmulhrsw)
    OP(PMULLD, pmulld) OP(PMULDQ, pmuldq) OP(PCMPEQQ, pcmpeqq) OP(PACKUSDW, packusdw)
    OP(PHMINPOSUW, phminposuw)
    OP(PMINSB, pminsb) OP(PMINSD, pminsd) OP(PMINUW, pminuw) OP(PMINUD, pminud)
    OP(PMAXSB, pmaxsb) OP(PMAXSD, pmaxsd) OP(PMAXUW, pmaxuw) OP(PMAXUD, pmaxud)
    OP(PMOVSXBW, pmovsxbw) OP(PMOVSXBD, pmovsxbd) OP(PMOVSXBQ, pmovsxbq)
    OP(PMOVSXWD, pmovsxwd) OP(PMOVSXWQ, pmovsxwq) OP(PMOVSXDQ, pmovsxdq)
    OP(PMOVZXBW, pmovzxbw) OP(PMOVZXBD, pmovzxbd) OP(PMOVZXBQ, pmovzxbq)
    OP(PMOVZXWD, pmovzxwd) OP(PMOVZXWQ, pmovzxwq) OP(PMOVZXDQ, pmovzxdq)
    OPI(BLENDPS, blendps) OPI(BLENDPD, blendpd) OPI(PBLENDW, pblendw) OPI(DPPS, dpps)
    OPI(DPPD, dppd) OPI(MPSADBW, mpsadbw) OPI(INSERTPS, insertps)
    OPI(ROUNDPS, roundps) OPI(ROUNDPD, roundpd) OPI(ROUNDSS, roundss) OPI(ROUNDSD, roundsd)
    OP(RCPPS, rcpps) OP(RCPSS, rcpss) OP(RSQRTPS, rsqrtps) OP(RSQRTSS, rsqrtss)
    OP(BLENDVPS, blendvps) OP(BLENDVPD, blendvpd) OP(PBLENDVB, pblendvb)  // (mask: host xmm0)
    OP(PTEST, ptest)
    // AES-NI, PCLMULQDQ, SHA-NI (frontend: only where the host has them)
    OP(AESENC, aesenc) OP(AESENCLAST, aesenclast) OP(AESDEC, aesdec) OP(AESDECLAST, aesdeclast)
    OP(AESIMC, aesimc) OPI(AESKEYGENASSIST, aeskeygenassist) OPI(PCLMULQDQ, pclmulqdq)
    OPI(SHA1RNDS4, sha1rnds4) OP(SHA1NEXTE, sha1nexte) OP(SHA1MSG1, sha1msg1) OP(SHA1MSG2, sha1msg2)
    OP(SHA256RNDS2, sha256rnds2) OP(SHA256MSG1, sha256msg1) OP(SHA256MSG2, sha256msg2)
    // pinsr* from memory (the GPR forms are emit_sse_from_gpr's)
    case ZYDIS_MNEMONIC_PINSRB: case ZYDIS_MNEMONIC_PINSRW: case ZYDIS_MNEMONIC_PINSRD: case ZYDIS_MNEMONIC_PINSRQ:
      if (!s.isMEM()) return false;
      if (m == ZYDIS_MNEMONIC_PINSRB) g.pinsrb(d, s, imm8);
      else if (m == ZYDIS_MNEMONIC_PINSRW) g.pinsrw(d, s, imm8);
      else if (m == ZYDIS_MNEMONIC_PINSRD) g.pinsrd(d, s, imm8);
      else g.pinsrq(d, s, imm8);
      return true;
    case ZYDIS_MNEMONIC_MOVHLPS:  // register forms only (the memory forms are movlps/movhps)
      if (s.isMEM()) return false;
      g.movhlps(d, static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVLHPS:
      if (s.isMEM()) return false;
      g.movlhps(d, static_cast<const Xbyak::Xmm&>(s));
      return true;
    // loads and register moves
    OP(MOVAPS, movaps) OP(MOVUPS, movups) OP(MOVAPD, movapd) OP(MOVUPD, movupd)
    OP(MOVDQA, movdqa) OP(MOVDQU, movdqu)
    case ZYDIS_MNEMONIC_MOVSS:
      if (s.isMEM()) g.movss(d, static_cast<const Xbyak::Address&>(s));
      else g.movss(d, static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVSD:
      if (s.isMEM()) g.movsd(d, static_cast<const Xbyak::Address&>(s));
      else g.movsd(d, static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVQ: g.movq(d, s); return true;
    case ZYDIS_MNEMONIC_MOVLPD:
      if (!s.isMEM()) return false;
      g.movlpd(d, static_cast<const Xbyak::Address&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVHPD:
      if (!s.isMEM()) return false;
      g.movhpd(d, static_cast<const Xbyak::Address&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVLPS:
      if (!s.isMEM()) return false;
      g.movlps(d, static_cast<const Xbyak::Address&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVHPS:
      if (!s.isMEM()) return false;
      g.movhps(d, static_cast<const Xbyak::Address&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVD:
      if (!s.isMEM()) return false;
      g.movd(d, static_cast<const Xbyak::Address&>(s));
      return true;
    case ZYDIS_MNEMONIC_COMISD: g.comisd(d, s); return true;
    case ZYDIS_MNEMONIC_UCOMISD: g.ucomisd(d, s); return true;
    case ZYDIS_MNEMONIC_COMISS: g.comiss(d, s); return true;
    case ZYDIS_MNEMONIC_UCOMISS: g.ucomiss(d, s); return true;
    default: return false;
  }
#undef OP
#undef OPI
#undef SHIFT
}

bool sse_writes_whole_destination(uint16_t m, bool from_memory) {
  switch (m) {
    case ZYDIS_MNEMONIC_MOVAPS: case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVAPD:
    case ZYDIS_MNEMONIC_MOVUPD: case ZYDIS_MNEMONIC_MOVDQA: case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_MOVQ: case ZYDIS_MNEMONIC_MOVD:  // movq/movd zero the upper bits
      return true;
    // From memory, movss/movsd zero the rest of the register; between registers they merge.
    case ZYDIS_MNEMONIC_MOVSS: case ZYDIS_MNEMONIC_MOVSD: return from_memory;
    default: return false;
  }
}

bool emit_sse_store(Xbyak::CodeGenerator& g, uint16_t m, const Xbyak::Address& mem, const Xbyak::Xmm& x,
                    uint8_t imm8) {
  switch (m) {
    case ZYDIS_MNEMONIC_PEXTRB: g.pextrb(mem, x, imm8); return true;
    case ZYDIS_MNEMONIC_PEXTRW: g.pextrw(mem, x, imm8); return true;
    case ZYDIS_MNEMONIC_PEXTRD: g.pextrd(mem, x, imm8); return true;
    case ZYDIS_MNEMONIC_PEXTRQ: g.pextrq(mem, x, imm8); return true;
    case ZYDIS_MNEMONIC_EXTRACTPS: g.extractps(mem, x, imm8); return true;
    case ZYDIS_MNEMONIC_MOVAPS: g.movaps(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVUPS: g.movups(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVAPD: g.movapd(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVUPD: g.movupd(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVDQA: g.movdqa(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVDQU: g.movdqu(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVSS: g.movss(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVSD: g.movsd(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVQ: g.movq(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVD: g.movd(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVLPD: g.movlpd(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVHPD: g.movhpd(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVLPS: g.movlps(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVHPS: g.movhps(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVNTDQ: g.movntdq(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVNTPS: g.movntps(mem, x); return true;
    case ZYDIS_MNEMONIC_MOVNTPD: g.movntpd(mem, x); return true;
    default: return false;
  }
}

bool emit_sse_from_gpr(Xbyak::CodeGenerator& g, uint16_t m, const Xbyak::Xmm& d, const Xbyak::Reg64& r,
                       unsigned gpr_size, uint8_t imm8) {
  switch (m) {
    case ZYDIS_MNEMONIC_PINSRB: g.pinsrb(d, r.cvt32(), imm8); return true;
    case ZYDIS_MNEMONIC_PINSRW: g.pinsrw(d, r.cvt32(), imm8); return true;
    case ZYDIS_MNEMONIC_PINSRD: g.pinsrd(d, r.cvt32(), imm8); return true;
    case ZYDIS_MNEMONIC_PINSRQ: g.pinsrq(d, r, imm8); return true;
    case ZYDIS_MNEMONIC_CVTSI2SD:
      if (gpr_size == 8) g.cvtsi2sd(d, r);
      else g.cvtsi2sd(d, r.cvt32());
      return true;
    case ZYDIS_MNEMONIC_CVTSI2SS:
      if (gpr_size == 8) g.cvtsi2ss(d, r);
      else g.cvtsi2ss(d, r.cvt32());
      return true;
    case ZYDIS_MNEMONIC_MOVQ: g.movq(d, r); return true;
    case ZYDIS_MNEMONIC_MOVD:
      if (gpr_size == 8) g.movq(d, r);
      else g.movd(d, r.cvt32());
      return true;
    default: return false;
  }
}

bool emit_sse_to_gpr(Xbyak::CodeGenerator& g, uint16_t m, const Xbyak::Reg64& d, unsigned gpr_size,
                     const Xbyak::Operand& s, uint8_t imm8) {
  const Xbyak::Reg& r = gpr_size == 8 ? static_cast<const Xbyak::Reg&>(d) : d.cvt32();
  switch (m) {
    // Element extracts: a 32-bit host write, zero-extended as every r32/r64 form's result is.
    case ZYDIS_MNEMONIC_PEXTRB: case ZYDIS_MNEMONIC_PEXTRW: case ZYDIS_MNEMONIC_PEXTRD:
    case ZYDIS_MNEMONIC_PEXTRQ: case ZYDIS_MNEMONIC_EXTRACTPS: {
      if (s.isMEM()) return false;
      const Xbyak::Xmm& x = static_cast<const Xbyak::Xmm&>(s);
      if (m == ZYDIS_MNEMONIC_PEXTRB) g.pextrb(d.cvt32(), x, imm8);
      else if (m == ZYDIS_MNEMONIC_PEXTRW) g.pextrw(d.cvt32(), x, imm8);
      else if (m == ZYDIS_MNEMONIC_PEXTRD) g.pextrd(d.cvt32(), x, imm8);
      else if (m == ZYDIS_MNEMONIC_PEXTRQ) g.pextrq(d, x, imm8);
      else g.extractps(d.cvt32(), x, imm8);
      return true;
    }
    case ZYDIS_MNEMONIC_CVTTSD2SI: g.cvttsd2si(r, s); return true;
    case ZYDIS_MNEMONIC_CVTSD2SI: g.cvtsd2si(r, s); return true;
    case ZYDIS_MNEMONIC_CVTTSS2SI: g.cvttss2si(r, s); return true;
    case ZYDIS_MNEMONIC_CVTSS2SI: g.cvtss2si(r, s); return true;
    case ZYDIS_MNEMONIC_MOVMSKPD:
      if (s.isMEM()) return false;
      g.movmskpd(d.cvt32(), static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVMSKPS:
      if (s.isMEM()) return false;
      g.movmskps(d.cvt32(), static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_PMOVMSKB:
      if (s.isMEM()) return false;
      g.pmovmskb(d.cvt32(), static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVQ:
      if (s.isMEM()) return false;
      g.movq(d, static_cast<const Xbyak::Xmm&>(s));
      return true;
    case ZYDIS_MNEMONIC_MOVD:
      if (s.isMEM()) return false;
      if (gpr_size == 8) g.movq(d, static_cast<const Xbyak::Xmm&>(s));
      else g.movd(d.cvt32(), static_cast<const Xbyak::Xmm&>(s));
      return true;
    default: return false;
  }
}

}  // namespace vireo::jit
