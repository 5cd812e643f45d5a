// instantiate(): one concrete, encodable instance of a form, with the state adjustments that
// make its operands meaningful (forms.h).
#include <cstring>

#include "forms.h"

namespace vireo::difftest {

namespace {

constexpr auto kMode = ZYDIS_MACHINE_MODE_LONG_64;

bool chance(Rng& rng, unsigned percent) { return rng() % 100 < percent; }
// [lo, hi]; an empty range (a one-byte operand "straddling" a page end) yields hi.
int64_t range(Rng& rng, int64_t lo, int64_t hi) {
  return hi < lo ? hi : lo + int64_t(rng() % uint64_t(hi - lo + 1));
}

unsigned gpr_of(ZydisRegister r) {
  return unsigned(ZydisRegisterGetLargestEnclosing(kMode, r) - ZYDIS_REGISTER_RAX);
}
bool is_high8(ZydisRegister r) { return r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH; }

uint64_t read_reg(const CaseState& st, ZydisRegister r) {
  uint64_t v = st.gpr[gpr_of(r)];
  if (is_high8(r)) return (v >> 8) & 0xFF;
  unsigned w = ZydisRegisterGetWidth(kMode, r);
  return w >= 64 ? v : v & ((uint64_t(1) << w) - 1);
}
// Sets the low bits of a register in the starting state, keeping the rest random.
void write_reg(CaseState& st, ZydisRegister r, uint64_t v) {
  uint64_t& g = st.gpr[gpr_of(r)];
  if (is_high8(r)) { g = (g & ~uint64_t(0xFF00)) | ((v & 0xFF) << 8); return; }
  unsigned w = ZydisRegisterGetWidth(kMode, r);
  uint64_t mask = w >= 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1;
  g = (g & ~mask) | (v & mask);
}

unsigned mem_size(Kind k) {
  switch (k) {
    case Kind::M8: return 1;
    case Kind::M16: return 2;
    case Kind::M32: return 4;
    case Kind::M64: return 8;
    case Kind::M80: return 10;
    case Kind::M128: return 16;
    case Kind::M256: return 32;
    default: return 0;
  }
}
bool is_mem(Kind k) { return mem_size(k) != 0; }

// A register of a kind; `avoid` (a GPR index, or -1) is never chosen, for sequences' base.
ZydisRegister pick_reg(Kind k, Rng& rng, int avoid) {
  for (;;) {
    unsigned i = unsigned(rng() % 16);
    ZydisRegister r = ZYDIS_REGISTER_NONE;
    switch (k) {
      case Kind::R8: {
        unsigned j = unsigned(rng() % 20);  // AL..BL, AH..BH, SPL..DIL, R8B..R15B
        r = ZydisRegister(ZYDIS_REGISTER_AL + j);
        break;
      }
      case Kind::R16: r = ZydisRegister(ZYDIS_REGISTER_AX + i); break;
      case Kind::R32: r = ZydisRegister(ZYDIS_REGISTER_EAX + i); break;
      case Kind::R64: r = ZydisRegister(ZYDIS_REGISTER_RAX + i); break;
      case Kind::XMM: return ZydisRegister(ZYDIS_REGISTER_XMM0 + i);
      case Kind::YMM: return ZydisRegister(ZYDIS_REGISTER_YMM0 + i);
      case Kind::STI: return ZydisRegister(ZYDIS_REGISTER_ST0 + i % 8);
      case Kind::ST0: return ZYDIS_REGISTER_ST0;
      case Kind::CL: return ZYDIS_REGISTER_CL;
      default: return ZYDIS_REGISTER_NONE;
    }
    if (avoid >= 0 && int(gpr_of(r)) == avoid) continue;
    return r;
  }
}

// Shift and rotate counts: the interesting ones are around the operand widths.
uint64_t shift_count(Rng& rng) {
  static const uint8_t edges[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255};
  return chance(rng, 70) ? edges[rng() % sizeof edges] : rng() & 0xFF;
}

bool is_shift(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
    case ZYDIS_MNEMONIC_PSLLW: case ZYDIS_MNEMONIC_PSLLD: case ZYDIS_MNEMONIC_PSLLQ:
    case ZYDIS_MNEMONIC_PSRLW: case ZYDIS_MNEMONIC_PSRLD: case ZYDIS_MNEMONIC_PSRLQ:
    case ZYDIS_MNEMONIC_PSRAW: case ZYDIS_MNEMONIC_PSRAD: case ZYDIS_MNEMONIC_PSLLDQ:
    case ZYDIS_MNEMONIC_PSRLDQ:
    case ZYDIS_MNEMONIC_VPSLLW: case ZYDIS_MNEMONIC_VPSLLD: case ZYDIS_MNEMONIC_VPSLLQ:
    case ZYDIS_MNEMONIC_VPSRLW: case ZYDIS_MNEMONIC_VPSRLD: case ZYDIS_MNEMONIC_VPSRLQ:
    case ZYDIS_MNEMONIC_VPSRAW: case ZYDIS_MNEMONIC_VPSRAD: case ZYDIS_MNEMONIC_VPSLLDQ:
    case ZYDIS_MNEMONIC_VPSRLDQ:
      return true;
    default: return false;
  }
}

bool is_sse_compare(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_CMPPS || m == ZYDIS_MNEMONIC_CMPPD || m == ZYDIS_MNEMONIC_CMPSS ||
         m == ZYDIS_MNEMONIC_CMPSD;
}

bool is_avx_compare(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_VCMPPS || m == ZYDIS_MNEMONIC_VCMPPD || m == ZYDIS_MNEMONIC_VCMPSS ||
         m == ZYDIS_MNEMONIC_VCMPSD;
}

int64_t imm_value(Kind k, const Form& f, Rng& rng) {
  static const int8_t e8[] = {0, 1, -1, 2, 0x7F, -0x80, 0x55, -0x56};
  switch (k) {
    case Kind::I8:
      if (is_shift(f.mnemonic)) return int8_t(shift_count(rng));
      if (is_sse_compare(f.mnemonic) && chance(rng, 90)) return int64_t(rng() % 8);
      if (is_avx_compare(f.mnemonic) && chance(rng, 90)) return int64_t(rng() % 32);
      return chance(rng, 40) ? e8[rng() % sizeof e8] : int8_t(rng());
    case Kind::I16:
      for (;;) {
        int64_t v = chance(rng, 40) ? std::initializer_list<int64_t>{0x7FFF, -0x8000, 0x80, 0xFF, -0x81,
                                                                     0x100}.begin()[rng() % 6]
                                    : int16_t(rng());
        if (v < -128 || v > 127) return v;
      }
    case Kind::I32:
      for (;;) {
        int64_t v = chance(rng, 40) ? std::initializer_list<int64_t>{0x7FFFFFFF, -0x7FFFFFFF - 1,
                                                                     0x80, 0xFF, 0xFFFF, 0x8000,
                                                                     -0x81, 0x10000}.begin()[rng() % 8]
                                    : int32_t(rng());
        if (v < -128 || v > 127) return v;
      }
    case Kind::I64:
      for (;;) {
        int64_t v = chance(rng, 40) ? std::initializer_list<int64_t>{INT64_MAX, INT64_MIN,
                                                                     0x80000000, 0xFFFFFFFF,
                                                                     -0x80000001LL}.begin()[rng() % 5]
                                    : int64_t(rng());
        if (v < INT32_MIN || v > INT32_MAX) return v;
      }
    default: return 0;
  }
}

bool is_x87_int(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_FILD || m == ZYDIS_MNEMONIC_FIST || m == ZYDIS_MNEMONIC_FISTP ||
         m == ZYDIS_MNEMONIC_FIADD || m == ZYDIS_MNEMONIC_FIMUL || m == ZYDIS_MNEMONIC_FICOM;
}

// An edge-biased value for a memory operand, typed by what the instruction reads.
void edge_memory(const Form& f, unsigned size, Rng& rng, uint8_t* p) {
  bool fp = (f.family == Family::X87 && !is_x87_int(f.mnemonic) && size >= 4) ||
            ((f.family == Family::SseFp || f.family == Family::SseCvt || f.family == Family::Sse3 ||
              f.family == Family::Sse41 || f.family == Family::Fma ||
              f.family == Family::Avx) && chance(rng, 70));
  if (fp && size == 10) { random_fp_bytes(rng, 10, p); return; }
  for (unsigned off = 0; off < size; off += 8) {
    unsigned n = size - off < 8 ? size - off : 8;
    if (fp && n >= 4) {
      unsigned w = (n == 8 && (f.family == Family::X87 || chance(rng, 50))) ? 8 : 4;
      for (unsigned o = 0; o < n; o += w) random_fp_bytes(rng, w, p + off + o);
    } else {
      uint64_t v = random_gpr(rng);
      std::memcpy(p + off, &v, n);
    }
  }
}

struct MemChoice {
  int64_t target = 0;  // offset in the scratch page (may straddle its ends on purpose)
  unsigned size = 0;
};

}  // namespace

size_t instantiate(const Form& f, Mode mode, Rng& rng, uint64_t rip, CaseState& st,
                   uint8_t* scratch, uint8_t* out) {
  const int avoid = mode == Mode::Sequence ? kSeqBase : -1;
  const bool bit_mem_reg = (f.mnemonic == ZYDIS_MNEMONIC_BT || f.mnemonic == ZYDIS_MNEMONIC_BTS ||
                            f.mnemonic == ZYDIS_MNEMONIC_BTR || f.mnemonic == ZYDIS_MNEMONIC_BTC) &&
                           f.kinds.size() == 2 && is_mem(f.kinds[0]) && f.kinds[1] != Kind::I8;
  for (int attempt = 0; attempt < 32; ++attempt) {
    ZydisEncoderRequest req;
    std::memset(&req, 0, sizeof req);
    req.machine_mode = kMode;
    req.mnemonic = f.mnemonic;
    req.prefixes = f.prefixes;
    req.operand_count = uint8_t(f.kinds.size());
    if (is_avx_family(f.family)) req.allowed_encodings = ZYDIS_ENCODABLE_ENCODING_VEX;
    bool absolute = false;
    MemChoice mem;
    struct RegSet { unsigned gpr; uint64_t value; };
    RegSet addr_regs[2];
    int naddr = 0;
    uint32_t addr32_hi = 0;  // junk above a 32-bit base: the 67 prefix must ignore it
    ZydisRegister chosen[4] = {};
    for (size_t i = 0; i < f.kinds.size(); ++i) {
      Kind k = f.kinds[i];
      ZydisEncoderOperand& op = req.operands[i];
      if (is_mem(k)) {
        op.type = ZYDIS_OPERAND_TYPE_MEMORY;
        op.mem.size = uint16_t(mem_size(k));
        unsigned sz = mem_size(k);
        mem.size = sz;
        unsigned align = ((k == Kind::M128 || k == Kind::M256) && chance(rng, 85)) ? sz
                         : chance(rng, 70) ? sz : 1;
        if (align == 10) align = 2;
        if (mode == Mode::Sequence) {
          // Near the fixed base, so that instructions overlap each other's bytes.
          int64_t t = 0x800 + range(rng, -48, 48);
          mem.target = t & ~int64_t(align - 1);
          if (chance(rng, 30)) {
            op.mem.base = ZYDIS_REGISTER_RIP;
            op.mem.displacement = int64_t(kScratchAddr) + mem.target;
            absolute = true;
          } else {
            op.mem.base = ZydisRegister(ZYDIS_REGISTER_RAX + kSeqBase);
            op.mem.displacement = mem.target - 0x800;
          }
          continue;
        }
        int64_t t;
        if (bit_mem_reg) t = range(rng, 256, 3800);
        else if (chance(rng, 97)) t = range(rng, 0, int64_t(kScratchSize - sz));
        else t = chance(rng, 50) ? range(rng, int64_t(kScratchSize - sz) + 1, kScratchSize - 1)
                                 : range(rng, -int64_t(sz) + 1, -1);
        if (t >= 0 && t + sz <= kScratchSize) t &= ~int64_t(align - 1);
        mem.target = t;
        uint64_t addr = kScratchAddr + uint64_t(t);
        unsigned how = unsigned(rng() % 20);
        ZydisRegister base = pick_reg(Kind::R64, rng, -1);
        if (how <= 7) {
          op.mem.base = base;
        } else if (how <= 10) {
          op.mem.base = base;
          op.mem.displacement = int8_t(rng());
        } else if (how <= 12) {
          op.mem.base = base;
          op.mem.displacement = int32_t(rng());
        } else if (how <= 15) {
          ZydisRegister index;
          do index = pick_reg(Kind::R64, rng, -1);
          while (index == ZYDIS_REGISTER_RSP || index == base);
          op.mem.base = base;
          op.mem.index = index;
          op.mem.scale = uint8_t(1u << (rng() % 4));
          op.mem.displacement = int8_t(rng());
          int64_t iv = range(rng, -300, 300);
          addr_regs[naddr++] = {gpr_of(index), uint64_t(iv)};
          addr -= uint64_t(iv) * op.mem.scale;
        } else if (how <= 17) {
          op.mem.base = ZYDIS_REGISTER_RIP;
          op.mem.displacement = int64_t(addr);
          absolute = true;
          continue;
        } else if (how == 18) {
          op.mem.displacement = int64_t(addr);  // [disp32]: the pages sit below 2 GiB
          continue;
        } else {
          op.mem.base = ZydisRegister(ZYDIS_REGISTER_EAX + gpr_of(base));
          op.mem.displacement = int8_t(rng());
          addr32_hi = uint32_t(rng());
        }
        uint64_t bv = addr - uint64_t(op.mem.displacement);
        if (addr32_hi) bv = (uint64_t(addr32_hi) << 32) | uint32_t(bv);
        addr_regs[naddr++] = {gpr_of(op.mem.base), bv};
      } else if (k >= Kind::I8 && k <= Kind::I64) {
        op.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
        op.imm.s = imm_value(k, f, rng);
      } else {
        op.type = ZYDIS_OPERAND_TYPE_REGISTER;
        op.reg.value = pick_reg(k, rng, avoid);
        chosen[i] = op.reg.value;
      }
    }
    ZyanUSize len = 15;
    ZyanStatus s = absolute ? ZydisEncoderEncodeInstructionAbsolute(&req, out, &len, rip)
                            : ZydisEncoderEncodeInstruction(&req, out, &len);
    if (!ZYAN_SUCCESS(s)) continue;

    // The instance exists; now make its inputs interesting.
    for (size_t i = 0; i < f.kinds.size(); ++i)
      if (f.kinds[i] == Kind::CL && mode == Mode::Single)
        write_reg(st, ZYDIS_REGISTER_CL, shift_count(rng));
    bool mem_inside = mem.size && mem.target >= 0 && mem.target + mem.size <= kScratchSize;
    if (mem_inside && chance(rng, 50)) edge_memory(f, mem.size, rng, scratch + mem.target);

    if (mode == Mode::Single) {
      switch (f.mnemonic) {
        case ZYDIS_MNEMONIC_DIV:
        case ZYDIS_MNEMONIC_IDIV:
          // Mostly a dividend whose quotient fits, else most cases just raise #DE.
          if (chance(rng, 60)) {
            Kind k = f.kinds[0];
            unsigned w = k == Kind::R8 || k == Kind::M8 ? 8 : k == Kind::R16 || k == Kind::M16 ? 16
                         : k == Kind::R32 || k == Kind::M32 ? 32 : 64;
            bool neg = f.mnemonic == ZYDIS_MNEMONIC_IDIV && ((st.gpr[RAX] >> (w - 1)) & 1);
            uint64_t hi = neg ? ~uint64_t(0) : 0;
            if (w == 8) write_reg(st, ZYDIS_REGISTER_AH, hi);
            else if (w == 16) write_reg(st, ZYDIS_REGISTER_DX, hi);
            else if (w == 32) write_reg(st, ZYDIS_REGISTER_EDX, hi);
            else st.gpr[RDX] = hi;
          }
          break;
        case ZYDIS_MNEMONIC_CMPXCHG:
          // Half the time the comparison succeeds, so both outcomes are exercised.
          if (chance(rng, 50)) {
            unsigned w = ZydisRegisterGetWidth(kMode, chosen[1]);
            uint64_t cur = 0;
            if (mem.size) { if (mem_inside) std::memcpy(&cur, scratch + mem.target, mem.size); }
            else cur = read_reg(st, chosen[0]);
            ZydisRegister acc = w == 8 ? ZYDIS_REGISTER_AL : w == 16 ? ZYDIS_REGISTER_AX
                                : w == 32 ? ZYDIS_REGISTER_EAX : ZYDIS_REGISTER_RAX;
            write_reg(st, acc, cur);
          }
          break;
        case ZYDIS_MNEMONIC_CMPXCHG8B:
        case ZYDIS_MNEMONIC_CMPXCHG16B:
          if (mem_inside && chance(rng, 50)) {
            unsigned half = mem.size / 2;
            uint64_t lo = 0, hi = 0;
            std::memcpy(&lo, scratch + mem.target, half);
            std::memcpy(&hi, scratch + mem.target + half, half);
            if (half == 4) { write_reg(st, ZYDIS_REGISTER_EAX, lo); write_reg(st, ZYDIS_REGISTER_EDX, hi); }
            else { st.gpr[RAX] = lo; st.gpr[RDX] = hi; }
          }
          break;
        case ZYDIS_MNEMONIC_VLDMXCSR:
          // Mostly a valid MXCSR with the exceptions masked (as random_state makes them), now
          // and then any low 16 bits, or a reserved bit (#GP). Not bit 17: this AMD host
          // accepts it (MM, misaligned SSE mode), which Vireo does not model.
          if (mem_inside) {
            uint32_t v = 0x1F80 | (uint32_t(rng() % 4) << 13) | uint32_t(rng() & 0x3F) |
                         (chance(rng, 20) ? 0x8040u : 0u);
            if (chance(rng, 10)) v = uint32_t(rng() & 0xFFFF);
            if (chance(rng, 5)) v |= 1u << 18;
            std::memcpy(scratch + mem.target, &v, 4);
          }
          break;
        case ZYDIS_MNEMONIC_SARX:
        case ZYDIS_MNEMONIC_SHLX:
        case ZYDIS_MNEMONIC_SHRX:
        case ZYDIS_MNEMONIC_BZHI:
          // The count (index) register: mostly around the operand widths.
          if (chosen[2] && chance(rng, 70))
            write_reg(st, chosen[2], shift_count(rng) | (read_reg(st, chosen[2]) & ~uint64_t(0xFF)));
          break;
        case ZYDIS_MNEMONIC_BEXTR:
          // start | length << 8, both near the widths.
          if (chosen[2] && chance(rng, 70))
            write_reg(st, chosen[2], shift_count(rng) | (shift_count(rng) << 8) | (read_reg(st, chosen[2]) & ~uint64_t(0xFFFF)));
          break;
        default:
          break;
      }
      if (bit_mem_reg) write_reg(st, chosen[1], uint64_t(range(rng, -1500, 1500)));
      if (f.family == Family::String) {
        // Both pointers into the scratch page; small counts, sometimes one that runs off it.
        st.gpr[RSI] = kScratchAddr + uint64_t(range(rng, 0, kScratchSize - 1));
        st.gpr[RDI] = kScratchAddr + uint64_t(range(rng, 0, kScratchSize - 1));
        if (chance(rng, 60)) { st.gpr[RSI] &= ~uint64_t(7); st.gpr[RDI] &= ~uint64_t(7); }
        if (f.prefixes) {
          static const uint64_t counts[] = {0, 1, 2, 3, 4, 5, 8, 16};
          st.gpr[RCX] = chance(rng, 50) ? counts[rng() % 8]
                        : chance(rng, 90) ? uint64_t(range(rng, 0, 64)) : uint64_t(range(rng, 200, 5000));
        }
        if (chance(rng, 30)) std::memmove(scratch + (st.gpr[RDI] - kScratchAddr),
                                         scratch + (st.gpr[RSI] - kScratchAddr),
                                         std::min<uint64_t>(kScratchSize - (std::max(st.gpr[RSI], st.gpr[RDI]) - kScratchAddr), 24));
        st.rflags = (st.rflags & ~flag::DF) | (chance(rng, 40) ? flag::DF : 0);
      }
    }
    for (int i = 0; i < naddr; ++i) st.gpr[addr_regs[i].gpr] = addr_regs[i].value;
    return len;
  }
  return 0;
}

}  // namespace vireo::difftest
