// SSE4.2 packed string compares: pcmpestri, pcmpestrm, pcmpistri, pcmpistrm
// (SDM Vol. 2, 4.1 "Imm8 control byte operation for PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM").
//
// The immediate selects the element format (bytes/words, signed/unsigned), the aggregation
// (equal any, ranges, equal each, equal ordered), the polarity, and the output form (index in
// ECX or mask in XMM0). String lengths come from EAX/EDX (explicit forms) or the first zero
// element (implicit forms). Unlike other legacy SSE instructions these do not require an
// aligned memory operand.
#include <Zydis/Mnemonic.h>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_common.h"

namespace vireo {

namespace {

using namespace sse;

struct Elements {
  int64_t v[16];
  unsigned n;  // 16 bytes or 8 words
};

Elements elements(const Xmm& x, unsigned imm) {
  Elements e;
  bool words = imm & 1, is_signed = imm & 2;
  e.n = words ? 8 : 16;
  for (unsigned k = 0; k < e.n; ++k)
    e.v[k] = words ? (is_signed ? int64_t(x.i16[k]) : int64_t(x.u16[k]))
                   : (is_signed ? int64_t(x.i8[k]) : int64_t(x.u8[k]));
  return e;
}

unsigned implicit_length(const Elements& e) {
  unsigned k = 0;
  while (k < e.n && e.v[k] != 0) ++k;
  return k;
}

// |reg| saturated to n, the register being EAX/EDX or, with REX.W, RAX/RDX.
unsigned explicit_length(uint64_t r, bool wide, unsigned n) {
  int64_t v = wide ? int64_t(r) : int64_t(int32_t(uint32_t(r)));
  uint64_t a = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  return a > n ? n : unsigned(a);
}

// IntRes2 of the operation: bit i says something about element i of the second operand.
uint32_t compare(const Elements& a, unsigned la, const Elements& b, unsigned lb, unsigned imm) {
  const unsigned n = a.n;
  const unsigned agg = (imm >> 2) & 3;
  // BoolRes with the validity overrides for element j of a and element i of b.
  auto boolres = [&](unsigned j, unsigned i) -> bool {
    bool va = j < la, vb = i < lb;
    switch (agg) {
      case 0:  // equal any
        return va && vb && a.v[j] == b.v[i];
      case 1:  // ranges: even j is a lower bound, odd j an upper bound
        return va && vb && ((j & 1) ? b.v[i] <= a.v[j] : b.v[i] >= a.v[j]);
      case 2:  // equal each
        if (!va && !vb) return true;
        return va && vb && a.v[j] == b.v[i];
      default:  // equal ordered
        if (!va) return true;
        return vb && a.v[j] == b.v[i];
    }
  };
  uint32_t r1 = 0;
  for (unsigned i = 0; i < n; ++i) {
    bool bit = false;
    switch (agg) {
      case 0:
        for (unsigned j = 0; j < n && !bit; ++j) bit = boolres(j, i);
        break;
      case 1:
        for (unsigned j = 0; j + 1 < n && !bit; j += 2) bit = boolres(j, i) && boolres(j + 1, i);
        break;
      case 2: bit = boolres(i, i); break;
      default:
        bit = true;
        for (unsigned k = 0; k < n - i && bit; ++k) bit = boolres(k, i + k);
        break;
    }
    if (bit) r1 |= 1u << i;
  }
  const uint32_t all = (1u << n) - 1;
  switch ((imm >> 4) & 3) {
    case 1: return ~r1 & all;
    case 3: return (r1 ^ ((1u << lb) - 1)) & all;  // negate only the valid elements
    default: return r1;
  }
}

template <bool Explicit, bool Mask>
void pcmpstr(Exec& x, const Insn& in) {
  Xmm s2 = read_src(x, in, in.op[1], Align::None);
  const Xmm& s1 = xreg(x, in.op[0]);
  unsigned imm = unsigned(in.op[2].disp) & 0xFF;
  Elements a = elements(s1, imm), b = elements(s2, imm);
  const unsigned n = a.n;
  bool wide = in.prefixes & pfx::REX_W;
  unsigned la = Explicit ? explicit_length(x.gpr(RAX), wide, n) : implicit_length(a);
  unsigned lb = Explicit ? explicit_length(x.gpr(RDX), wide, n) : implicit_length(b);
  uint32_t r = compare(a, la, b, lb, imm);

  if (Mask) {
    Xmm m{};
    if (imm & 0x40) {  // expand each bit to a whole element
      for (unsigned k = 0; k < n; ++k)
        if (r & (1u << k)) {
          if (n == 16) m.u8[k] = 0xFF;
          else m.u16[k] = 0xFFFF;
        }
    } else {
      m.u32[0] = r;
    }
    x.cpu->xmm[0] = m;
  } else {
    unsigned idx = n;
    if (r) idx = (imm & 0x40) ? 31 - unsigned(__builtin_clz(r)) : unsigned(__builtin_ctz(r));
    x.set_gpr(RCX, 4, idx);
  }
  uint64_t f = 0;
  if (r) f |= flag::CF;
  if (lb < n) f |= flag::ZF;
  if (la < n) f |= flag::SF;
  if (r & 1) f |= flag::OF;
  x.cpu->rflags = (x.cpu->rflags & ~flag::ARITH) | f;
}

}  // namespace

void register_sse_string(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_PCMPESTRI] = &pcmpstr<true, false>;
  t[ZYDIS_MNEMONIC_PCMPESTRM] = &pcmpstr<true, true>;
  t[ZYDIS_MNEMONIC_PCMPISTRI] = &pcmpstr<false, false>;
  t[ZYDIS_MNEMONIC_PCMPISTRM] = &pcmpstr<false, true>;
}

}  // namespace vireo
