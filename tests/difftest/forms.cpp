// Form enumeration: compact per-family tables of mnemonics and operand pools; Zydis's encoder
// decides which combinations exist.
#include "forms.h"

#include <fmt/format.h>

#include <cctype>
#include <map>
#include <set>

#include "cpu/cpuid.h"

namespace vireo::difftest {

namespace {

// One table row: mnemonics that share an operand shape. The shape lists, per explicit operand,
// the pool of kinds to try (letters below); the encoder rejects combinations that do not exist.
struct Entry {
  Family family;
  const char* shape;
  std::vector<ZydisMnemonic> mnemonics;
  std::vector<ZydisInstructionAttributes> prefix_variants = {0};
};

// r: r8..r64   m: m8..m64   q: m128 (integer)   i: imm8/32/16/64 (that order: the first of two
// identical encodings names the form)   b: imm8   c: cl   x: xmm   M: m32/m64/m128
// d: r32/r64   f: m16/m32/m64/m80   0: st0   s: st(i)
// k/K: r32/m32 only, o/O: r64/m64 only (where Zydis's encoder takes any memory size)
std::vector<Kind> pool(char c) {
  using K = Kind;
  switch (c) {
    case 'r': return {K::R8, K::R16, K::R32, K::R64};
    case 'm': return {K::M8, K::M16, K::M32, K::M64};
    case 'q': return {K::M128};
    case 'i': return {K::I8, K::I32, K::I16, K::I64};
    case 'b': return {K::I8};
    case 'c': return {K::CL};
    case 'x': return {K::XMM};
    case 'M': return {K::M32, K::M64, K::M128};
    case 'd': return {K::R32, K::R64};
    case 'f': return {K::M16, K::M32, K::M64, K::M80};
    case '0': return {K::ST0};
    case 's': return {K::STI};
    case 'k': return {K::R32};
    case 'K': return {K::M32};
    case 'o': return {K::R64};
    case 'O': return {K::M64};
    // AVX families: v = xmm/ymm, W = m32/m64/m128/m256, y = ymm, Y = m256
    case 'v': return {K::XMM, K::YMM};
    case 'W': return {K::M32, K::M64, K::M128, K::M256};
    case 'y': return {K::YMM};
    case 'Y': return {K::M256};
  }
  return {};
}

constexpr ZydisInstructionAttributes kLock = ZYDIS_ATTRIB_HAS_LOCK;
constexpr ZydisInstructionAttributes kRep = ZYDIS_ATTRIB_HAS_REP;
constexpr ZydisInstructionAttributes kRepe = ZYDIS_ATTRIB_HAS_REPE;
constexpr ZydisInstructionAttributes kRepne = ZYDIS_ATTRIB_HAS_REPNE;

#define M(x) ZYDIS_MNEMONIC_##x
const std::vector<Entry>& table() {
  static const std::vector<Entry> t = {
      {Family::Alu, "rm,rmi", {M(ADD), M(OR), M(ADC), M(SBB), M(AND), M(SUB), M(XOR)}, {0, kLock}},
      {Family::Alu, "rm,rmi", {M(CMP), M(TEST)}},
      {Family::Alu, "rm", {M(INC), M(DEC), M(NEG), M(NOT)}, {0, kLock}},
      {Family::Alu, "", {M(CLC), M(STC), M(CMC), M(LAHF), M(SAHF)}},
      {Family::Move, "rm,rmi", {M(MOV)}},
      {Family::Move, "r,rm", {M(MOVZX), M(MOVSX), M(MOVSXD)}},
      {Family::Move, "r,m", {M(LEA)}},
      {Family::Move, "d", {M(BSWAP)}},
      {Family::Move, "", {M(CBW), M(CWDE), M(CDQE), M(CWD), M(CDQ), M(CQO)}},
      {Family::Move, "rm,r", {M(XCHG)}, {0, kLock}},
      {Family::Cond, "rm", {M(SETO), M(SETNO), M(SETB), M(SETNB), M(SETZ), M(SETNZ), M(SETBE),
                            M(SETNBE), M(SETS), M(SETNS), M(SETP), M(SETNP), M(SETL), M(SETNL),
                            M(SETLE), M(SETNLE)}},
      {Family::Cond, "r,rm", {M(CMOVO), M(CMOVNO), M(CMOVB), M(CMOVNB), M(CMOVZ), M(CMOVNZ),
                              M(CMOVBE), M(CMOVNBE), M(CMOVS), M(CMOVNS), M(CMOVP), M(CMOVNP),
                              M(CMOVL), M(CMOVNL), M(CMOVLE), M(CMOVNLE)}},
      {Family::Shift, "rm,bc", {M(ROL), M(ROR), M(RCL), M(RCR), M(SHL), M(SHR), M(SAR)}},
      {Family::Shift, "rm,r,bc", {M(SHLD), M(SHRD)}},
      {Family::MulDiv, "rm", {M(MUL), M(IMUL), M(DIV), M(IDIV)}},
      {Family::MulDiv, "r,rm", {M(IMUL)}},
      {Family::MulDiv, "r,rm,i", {M(IMUL)}},
      {Family::Bit, "rm,rb", {M(BTS), M(BTR), M(BTC)}, {0, kLock}},
      {Family::Bit, "rm,rb", {M(BT)}},
      {Family::Bit, "r,rm", {M(BSF), M(BSR)}},
      {Family::Atomic, "rm,r", {M(CMPXCHG), M(XADD)}, {0, kLock}},
      {Family::Atomic, "m", {M(CMPXCHG8B)}, {0, kLock}},
      {Family::Atomic, "q", {M(CMPXCHG16B)}, {0, kLock}},
      {Family::String, "", {M(MOVSB), M(MOVSW), M(MOVSD), M(MOVSQ), M(STOSB), M(STOSW),
                            M(STOSD), M(STOSQ), M(LODSB), M(LODSW), M(LODSD), M(LODSQ)},
       {0, kRep}},
      {Family::String, "", {M(CMPSB), M(CMPSW), M(CMPSD), M(CMPSQ), M(SCASB), M(SCASW),
                            M(SCASD), M(SCASQ)},
       {0, kRepe, kRepne}},
      {Family::SseMove, "xdM,xdM", {M(MOVAPS), M(MOVUPS), M(MOVAPD), M(MOVUPD), M(MOVDQA),
                                    M(MOVDQU), M(MOVSS), M(MOVSD), M(MOVLPS), M(MOVHPS),
                                    M(MOVLPD), M(MOVHPD), M(MOVHLPS), M(MOVLHPS), M(MOVD),
                                    M(MOVQ), M(MOVNTPS), M(MOVNTPD), M(MOVNTDQ)}},
      {Family::SseMove, "d,x", {M(MOVMSKPS), M(MOVMSKPD), M(PMOVMSKB)}},
      {Family::SseInt, "x,xM", {M(PADDB), M(PADDW), M(PADDD), M(PADDQ), M(PSUBB), M(PSUBW),
                                M(PSUBD), M(PSUBQ), M(PADDSB), M(PADDSW), M(PADDUSB),
                                M(PADDUSW), M(PSUBSB), M(PSUBSW), M(PSUBUSB), M(PSUBUSW),
                                M(PMULLW), M(PMULHW), M(PMULHUW), M(PMULUDQ), M(PMADDWD),
                                M(PAND), M(PANDN), M(POR), M(PXOR), M(PCMPEQB), M(PCMPEQW),
                                M(PCMPEQD), M(PCMPGTB), M(PCMPGTW), M(PCMPGTD), M(PMAXUB),
                                M(PMINUB), M(PMAXSW), M(PMINSW), M(PAVGB), M(PAVGW), M(PSADBW),
                                M(PACKSSWB), M(PACKSSDW), M(PACKUSWB), M(PUNPCKLBW),
                                M(PUNPCKLWD), M(PUNPCKLDQ), M(PUNPCKLQDQ), M(PUNPCKHBW),
                                M(PUNPCKHWD), M(PUNPCKHDQ), M(PUNPCKHQDQ)}},
      {Family::SseInt, "x,xM,b", {M(PSHUFD), M(PSHUFLW), M(PSHUFHW)}},
      {Family::SseInt, "x,xMb", {M(PSLLW), M(PSLLD), M(PSLLQ), M(PSRLW), M(PSRLD), M(PSRLQ),
                                 M(PSRAW), M(PSRAD)}},
      {Family::SseInt, "x,b", {M(PSLLDQ), M(PSRLDQ)}},
      {Family::SseInt, "d,x,b", {M(PEXTRW)}},
      {Family::SseInt, "x,dm,b", {M(PINSRW)}},
      {Family::SseFp, "x,xM", {M(ADDPS), M(ADDPD), M(ADDSS), M(ADDSD), M(SUBPS), M(SUBPD),
                               M(SUBSS), M(SUBSD), M(MULPS), M(MULPD), M(MULSS), M(MULSD),
                               M(DIVPS), M(DIVPD), M(DIVSS), M(DIVSD), M(MINPS), M(MINPD),
                               M(MINSS), M(MINSD), M(MAXPS), M(MAXPD), M(MAXSS), M(MAXSD),
                               M(SQRTPS), M(SQRTPD), M(SQRTSS), M(SQRTSD), M(ANDPS), M(ANDPD),
                               M(ANDNPS), M(ANDNPD), M(ORPS), M(ORPD), M(XORPS), M(XORPD),
                               M(UNPCKLPS), M(UNPCKHPS), M(UNPCKLPD), M(UNPCKHPD), M(RCPPS),
                               M(RCPSS), M(RSQRTPS), M(RSQRTSS), M(COMISS), M(COMISD),
                               M(UCOMISS), M(UCOMISD)}},
      {Family::SseFp, "x,xM,b", {M(CMPPS), M(CMPPD), M(CMPSS), M(CMPSD), M(SHUFPS), M(SHUFPD)}},
      {Family::SseCvt, "x,dxM", {M(CVTSI2SS), M(CVTSI2SD), M(CVTSS2SD), M(CVTSD2SS),
                                 M(CVTPS2PD), M(CVTPD2PS), M(CVTDQ2PS), M(CVTPS2DQ),
                                 M(CVTTPS2DQ), M(CVTDQ2PD), M(CVTPD2DQ), M(CVTTPD2DQ)}},
      {Family::SseCvt, "d,xM", {M(CVTSS2SI), M(CVTSD2SI), M(CVTTSS2SI), M(CVTTSD2SI)}},
      {Family::Sse3, "x,xM", {M(ADDSUBPS), M(ADDSUBPD), M(HADDPS), M(HADDPD), M(HSUBPS),
                              M(HSUBPD), M(MOVDDUP), M(MOVSHDUP), M(MOVSLDUP), M(LDDQU)}},
      {Family::Ssse3, "x,xM", {M(PSHUFB), M(PHADDW), M(PHADDD), M(PHADDSW), M(PHSUBW),
                               M(PHSUBD), M(PHSUBSW), M(PMADDUBSW), M(PMULHRSW), M(PSIGNB),
                               M(PSIGNW), M(PSIGND), M(PABSB), M(PABSW), M(PABSD)}},
      {Family::Ssse3, "x,xM,b", {M(PALIGNR)}},
      {Family::Sse41, "x,xM", {M(PMINSB), M(PMINSD), M(PMINUW), M(PMINUD), M(PMAXSB),
                               M(PMAXSD), M(PMAXUW), M(PMAXUD), M(PMULLD), M(PMULDQ),
                               M(PCMPEQQ), M(PTEST), M(PACKUSDW), M(PHMINPOSUW), M(PMOVSXBW),
                               M(PMOVSXBD), M(PMOVSXBQ), M(PMOVSXWD), M(PMOVSXWQ),
                               M(PMOVSXDQ), M(PMOVZXBW), M(PMOVZXBD), M(PMOVZXBQ),
                               M(PMOVZXWD), M(PMOVZXWQ), M(PMOVZXDQ), M(BLENDVPS),
                               M(BLENDVPD), M(PBLENDVB)}},
      {Family::Sse41, "x,xM,x", {M(BLENDVPS), M(BLENDVPD), M(PBLENDVB)}},
      {Family::Sse41, "x,xM,b", {M(PBLENDW), M(BLENDPS), M(BLENDPD), M(ROUNDPS), M(ROUNDPD),
                                 M(ROUNDSS), M(ROUNDSD), M(DPPS), M(DPPD), M(MPSADBW),
                                 M(INSERTPS)}},
      {Family::Sse41, "dm,x,b", {M(PEXTRB), M(PEXTRD), M(PEXTRQ), M(EXTRACTPS)}},
      {Family::Sse41, "x,dm,b", {M(PINSRB), M(PINSRD), M(PINSRQ)}},
      {Family::X87, "f", {M(FLD), M(FST), M(FSTP), M(FILD), M(FIST), M(FISTP), M(FADD),
                          M(FSUB), M(FSUBR), M(FMUL), M(FDIV), M(FDIVR), M(FCOM), M(FCOMP),
                          M(FIADD), M(FIMUL), M(FICOM)}},
      {Family::X87, "s", {M(FLD), M(FST), M(FSTP), M(FXCH), M(FCOM), M(FCOMP), M(FUCOM)}},
      {Family::X87, "0,s", {M(FADD), M(FSUB), M(FSUBR), M(FMUL), M(FDIV), M(FDIVR), M(FCOMI),
                            M(FCOMIP), M(FUCOMI), M(FUCOMIP), M(FCMOVB), M(FCMOVE),
                            M(FCMOVBE), M(FCMOVU), M(FCMOVNB), M(FCMOVNE), M(FCMOVNBE),
                            M(FCMOVNU)}},
      {Family::X87, "s,0", {M(FADD), M(FSUB), M(FMUL), M(FDIV), M(FADDP), M(FSUBP), M(FMULP),
                            M(FDIVP), M(FSUBRP), M(FDIVRP)}},
      {Family::X87, "", {M(FSQRT), M(FABS), M(FCHS), M(FRNDINT), M(FLD1), M(FLDZ), M(FLDPI),
                         M(FTST), M(FXAM), M(FSCALE), M(FPREM), M(FXTRACT), M(FINCSTP),
                         M(FDECSTP)}},
      {Family::Bmi, "r,rm", {M(LZCNT), M(TZCNT), M(POPCNT)}},
      {Family::Bmi, "d,d,dm", {M(ANDN), M(PDEP), M(PEXT), M(MULX)}},
      {Family::Bmi, "d,dm,d", {M(BEXTR), M(BZHI), M(SARX), M(SHLX), M(SHRX)}},
      {Family::Bmi, "d,dm", {M(BLSI), M(BLSMSK), M(BLSR)}},
      {Family::Bmi, "d,dm,b", {M(RORX)}},
      {Family::Adx, "k,kK", {M(ADCX), M(ADOX)}},
      {Family::Adx, "o,oO", {M(ADCX), M(ADOX)}},
#include "forms_avx.inc"
      // FMA3 (VEX.128 only: the native runner loads XMM state, not YMM). Scalar memory operands
      // are m32 (ss) and m64 (sd), which the encoder does not tell apart by itself.
      {Family::Fma, "x,x,xq",
       {M(VFMADD132PS), M(VFMADD213PS), M(VFMADD231PS), M(VFMSUB132PS), M(VFMSUB213PS),
        M(VFMSUB231PS), M(VFNMADD132PS), M(VFNMADD213PS), M(VFNMADD231PS), M(VFNMSUB132PS),
        M(VFNMSUB213PS), M(VFNMSUB231PS), M(VFMADDSUB132PS), M(VFMADDSUB213PS), M(VFMADDSUB231PS),
        M(VFMSUBADD132PS), M(VFMSUBADD213PS), M(VFMSUBADD231PS)}},
      {Family::Fma, "x,x,xq",
       {M(VFMADD132PD), M(VFMADD213PD), M(VFMADD231PD), M(VFMSUB132PD), M(VFMSUB213PD),
        M(VFMSUB231PD), M(VFNMADD132PD), M(VFNMADD213PD), M(VFNMADD231PD), M(VFNMSUB132PD),
        M(VFNMSUB213PD), M(VFNMSUB231PD), M(VFMADDSUB132PD), M(VFMADDSUB213PD), M(VFMADDSUB231PD),
        M(VFMSUBADD132PD), M(VFMSUBADD213PD), M(VFMSUBADD231PD)}},
      {Family::Fma, "x,x,xK",
       {M(VFMADD132SS), M(VFMADD213SS), M(VFMADD231SS), M(VFMSUB132SS), M(VFMSUB213SS),
        M(VFMSUB231SS), M(VFNMADD132SS), M(VFNMADD213SS), M(VFNMADD231SS), M(VFNMSUB132SS),
        M(VFNMSUB213SS), M(VFNMSUB231SS)}},
      {Family::Fma, "x,x,xO",
       {M(VFMADD132SD), M(VFMADD213SD), M(VFMADD231SD), M(VFMSUB132SD), M(VFMSUB213SD),
        M(VFMSUB231SD), M(VFNMADD132SD), M(VFNMADD213SD), M(VFNMADD231SD), M(VFNMSUB132SD),
        M(VFNMSUB213SD), M(VFNMSUB231SD)}},
      {Family::F16c, "x,xO", {M(VCVTPH2PS)}},
      {Family::F16c, "xO,x,b", {M(VCVTPS2PH)}},
      {Family::Aes, "x,xM", {M(AESENC), M(AESENCLAST), M(AESDEC), M(AESDECLAST), M(AESIMC)}},
      {Family::Aes, "x,xM,b", {M(AESKEYGENASSIST)}},
      {Family::Pclmul, "x,xM,b", {M(PCLMULQDQ)}},
      // (pcmpestri/m with REX.W read RAX/RDX: the encoder picks the plain form; the unit test
      // jit_isa_test covers REX.W)
      {Family::Sse42, "x,xM,b", {M(PCMPISTRI), M(PCMPESTRI), M(PCMPISTRM), M(PCMPESTRM)}},
      {Family::Sse42, "d,rm", {M(CRC32)}},  // (helper/isa2: the JIT runs the host's crc32)
      {Family::Sha, "x,xM", {M(SHA1NEXTE), M(SHA1MSG1), M(SHA1MSG2), M(SHA256MSG1), M(SHA256MSG2),
                             M(SHA256RNDS2)}},
      {Family::Sha, "x,xM,x", {M(SHA256RNDS2)}},  // the implicit XMM0, if the encoder wants it shown
      {Family::Sha, "x,xM,b", {M(SHA1RNDS4)}},
      {Family::AesAvx, "x,x,xM", {M(VAESENC), M(VAESENCLAST), M(VAESDEC), M(VAESDECLAST)}},
      {Family::AesAvx, "x,xM", {M(VAESIMC)}},
      {Family::AesAvx, "x,xM,b", {M(VAESKEYGENASSIST)}},
      {Family::AesAvx, "x,x,xM,b", {M(VPCLMULQDQ)}},
  };
  return t;
}
#undef M

const char* kind_name(Kind k) {
  static const char* names[] = {"r8",  "r16", "r32", "r64", "m8",  "m16", "m32", "m64", "m80",
                                "m128", "i8", "i16", "i32", "i64", "cl", "xmm", "st0", "st(i)",
                                "ymm", "m256"};
  return names[int(k)];
}

std::string lower(const char* s) {
  std::string r(s);
  for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string prefix_name(ZydisInstructionAttributes p) {
  if (p & kLock) return "lock ";
  if (p & kRep) return "rep ";
  if (p & kRepe) return "repe ";
  if (p & kRepne) return "repne ";
  return "";
}

bool is_mem(Kind k) { return (k >= Kind::M8 && k <= Kind::M128) || k == Kind::M256; }

// What distinguishes two encodings: opcode, operand width, and each operand's type and size
// (immediates by their encoded size). Two shapes with the same signature are one form.
std::string signature(const uint8_t* bytes, size_t len) {
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, &in, ops))) return "?";
  std::string s = fmt::format("{}:{}:{:x}:{}:{:x}", int(in.mnemonic), int(in.opcode_map),
                              in.opcode, in.operand_width,
                              in.attributes & (kLock | kRep | kRepe | kRepne));
  for (int i = 0; i < in.operand_count_visible; ++i) {
    s += fmt::format("|{}:{}", int(ops[i].type), ops[i].size);
    if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) s += fmt::format(":{}", in.raw.imm[0].size);
  }
  return s;
}

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h;
}

}  // namespace

bool is_avx_family(Family f) {
  return f == Family::Avx || f == Family::Avx2 || f == Family::Fma || f == Family::F16c ||
         f == Family::AesAvx;
}

const char* family_name(Family f) {
  static const char* names[] = {"alu",     "shift",   "muldiv", "bit",    "cond",  "move",
                                "atomic",  "string",  "sse-move", "sse-int", "sse-fp",
                                "sse-cvt", "sse3",    "ssse3",  "sse4.1", "x87",
                                "bmi",     "adx",     "avx",    "avx2",   "fma",   "f16c",
                                "aes",     "pclmul",  "sha",    "aes-avx", "sse4.2"};
  return names[int(f)];
}

bool family_advertised(Family f) {
  CpuidResult r = cpuid(1, 0);
  CpuidResult r7 = cpuid(7, 0);
  switch (f) {
    case Family::Bmi:
      return (r7.ebx & cpuid_bits::BMI1) && (r7.ebx & cpuid_bits::BMI2) && (r.ecx & cpuid_bits::POPCNT) &&
             (cpuid(0x80000001, 0).ecx & cpuid_bits::ABM_LZCNT);
    case Family::Adx: return r7.ebx & cpuid_bits::ADX;
    case Family::Avx: return r.ecx & cpuid_bits::AVX;
    case Family::Avx2: return (r.ecx & cpuid_bits::AVX) && (r7.ebx & cpuid_bits::AVX2_BIT);
    // The VEX families also need the AVX state, as software checks before using them.
    case Family::Fma: return (r.ecx & cpuid_bits::FMA) && (supported_xcr0() & xstate::AVX);
    case Family::F16c: return (r.ecx & cpuid_bits::F16C) && (supported_xcr0() & xstate::AVX);
    case Family::Aes: return r.ecx & cpuid_bits::AES;
    case Family::Pclmul: return r.ecx & cpuid_bits::PCLMULQDQ;
    case Family::Sha: return r7.ebx & cpuid_bits::SHA;
    case Family::AesAvx:
      return (r.ecx & cpuid_bits::AES) && (r.ecx & cpuid_bits::PCLMULQDQ) && (supported_xcr0() & xstate::AVX);
    case Family::Sse3: return r.ecx & cpuid_bits::SSE3;
    case Family::Ssse3: return r.ecx & cpuid_bits::SSSE3;
    case Family::Sse41: return r.ecx & cpuid_bits::SSE41;
    case Family::Sse42: return r.ecx & cpuid_bits::SSE42;
    default: return true;
  }
}

std::vector<Form> enumerate_forms(bool all_families) {
  std::vector<Form> forms;
  std::set<std::string> names;
  std::map<ZydisMnemonic, std::set<std::string>> sigs;
  for (const Entry& e : table()) {
    if (!all_families && !family_advertised(e.family)) continue;
    // Split the shape into per-operand pools.
    std::vector<std::vector<Kind>> pools;
    std::string shape = e.shape;
    if (!shape.empty()) {
      size_t start = 0;
      for (;;) {
        size_t comma = shape.find(',', start);
        std::string part = shape.substr(start, comma == std::string::npos ? comma : comma - start);
        std::vector<Kind> p;
        for (char c : part)
          for (Kind k : pool(c)) p.push_back(k);
        pools.push_back(p);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    for (ZydisMnemonic m : e.mnemonics) {
      for (ZydisInstructionAttributes pfx : e.prefix_variants) {
        // Cartesian product of the pools, as an odometer.
        std::vector<size_t> idx(pools.size(), 0);
        for (bool more = true; more;) {
          Form f;
          f.family = e.family;
          f.mnemonic = m;
          f.prefixes = pfx;
          for (size_t i = 0; i < pools.size(); ++i) f.kinds.push_back(pools[i][idx[i]]);
          more = false;
          for (size_t i = 0; i < idx.size(); ++i) {
            if (++idx[i] < pools[i].size()) { more = true; break; }
            idx[i] = 0;
          }
          // LOCK only means something on a memory destination.
          if ((pfx & kLock) && (f.kinds.empty() || !is_mem(f.kinds[0]))) continue;
          f.name = prefix_name(pfx) + lower(ZydisMnemonicGetString(m));
          for (size_t i = 0; i < f.kinds.size(); ++i)
            f.name += std::string(i ? ", " : " ") + kind_name(f.kinds[i]);
          f.in_sequences = f.family != Family::String && f.family != Family::X87 &&
                           m != ZYDIS_MNEMONIC_VLDMXCSR;  // would unmask exceptions mid-sequence
          f.sequences_on_request = f.family >= Family::Bmi;
          if (names.count(f.name)) continue;
          // Does the shape exist? Ask the encoder through a representative instance.
          Rng rng(name_hash(f.name));
          CaseState st{};
          static uint8_t scratch[kScratchSize];
          uint8_t buf[16];
          size_t len = instantiate(f, Mode::Single, rng, kCodeAddr, st, scratch, buf);
          if (len == 0) continue;
          if (!sigs[m].insert(signature(buf, len)).second) continue;
          names.insert(f.name);
          forms.push_back(std::move(f));
        }
      }
    }
  }
  return forms;
}

}  // namespace vireo::difftest
