#include "jit/frontend/avx_forms.h"

#include <cstring>

#include "cpu/flags.h"
#include "cpu/vex_alignment.h"

namespace vireo::jit {

namespace {

bool is_vec(ZydisRegister r) {
  auto c = ZydisRegisterGetClass(r);
  return c == ZYDIS_REGCLASS_XMM || c == ZYDIS_REGCLASS_YMM;
}

// Left to the interpreter: masked moves (a masked-off lane never faults, SDM Vol. 2, VMASKMOV),
// vmaskmovdqu (implicit RDI), the MXCSR moves (they end the block), vzeroupper/vzeroall (their
// own IR op).
bool excluded(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_VMASKMOVPS: case ZYDIS_MNEMONIC_VMASKMOVPD: case ZYDIS_MNEMONIC_VPMASKMOVD:
    case ZYDIS_MNEMONIC_VPMASKMOVQ: case ZYDIS_MNEMONIC_VMASKMOVDQU: case ZYDIS_MNEMONIC_VLDMXCSR:
    case ZYDIS_MNEMONIC_VSTMXCSR: case ZYDIS_MNEMONIC_VZEROUPPER: case ZYDIS_MNEMONIC_VZEROALL:
      return true;
    default: return false;
  }
}

}  // namespace

namespace {
// Built before main, as translation_decodes.cpp's decoder is (a function-local static's guard
// would be left held in a child forked while another guest thread was initialising it).
const ZydisDecoder g_vex_decoder = [] {
  ZydisDecoder d;
  ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  return d;
}();
}  // namespace

bool analyze_vex(const uint8_t* bytes, unsigned len, VexForm& f) {
  f = VexForm{};
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&g_vex_decoder, bytes, len, &f.zi, f.zo))) return false;
  const ZydisDecodedInstruction& zi = f.zi;
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_VEX || excluded(zi.mnemonic)) return false;
  switch (zi.meta.isa_set) {
    case ZYDIS_ISA_SET_AVX: case ZYDIS_ISA_SET_AVX2: case ZYDIS_ISA_SET_FMA: case ZYDIS_ISA_SET_F16C: break;
    // (the VEX forms of AES-NI, VEX.128 and VEX.256 VAES, VEX.256 VPCLMULQDQ: isa_enabled
    // requires the host to have them too)
    case ZYDIS_ISA_SET_AVXAES: case ZYDIS_ISA_SET_VAES: case ZYDIS_ISA_SET_VPCLMULQDQ: break;
    default: return false;
  }
  for (int i = 0; i < zi.operand_count; ++i) {
    const ZydisDecodedOperand& z = f.zo[i];
    const bool rd = z.actions & ZYDIS_OPERAND_ACTION_MASK_READ;
    const bool wr = z.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
    const bool visible = i < zi.operand_count_visible;
    if (z.type == ZYDIS_OPERAND_TYPE_REGISTER) {
      const ZydisRegister r = z.reg.value;
      const ZydisRegisterClass c = ZydisRegisterGetClass(r);
      if (!visible) {
        // Hidden RFLAGS (vptest & co.) and MXCSR (the FP ops) are handled for every op.
        if (c == ZYDIS_REGCLASS_FLAGS || r == ZYDIS_REGISTER_MXCSR) continue;
        return false;
      }
      if (is_vec(r)) {
        const uint16_t bit = uint16_t(1u << ZydisRegisterGetId(r));
        if (rd) {
          f.vec_read |= bit;
          if (c == ZYDIS_REGCLASS_YMM) f.vec_read_wide |= bit;
        }
        if (wr) {
          if (f.dst >= 0) return false;
          f.dst = ZydisRegisterGetId(r);
          f.dst_wide = c == ZYDIS_REGCLASS_YMM;
        }
      } else if (c == ZYDIS_REGCLASS_GPR32 || c == ZYDIS_REGCLASS_GPR64) {
        if (f.gpr >= 0 || (rd && wr)) return false;
        f.gpr = i;
        f.gpr_write = wr;
      } else {
        return false;
      }
    } else if (z.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      if (!visible || f.mem >= 0 || z.mem.type != ZYDIS_MEMOP_TYPE_MEM) return false;
      if (is_vec(z.mem.index)) return false;  // VSIB: gathers
      f.mem = i;
      f.mem_read = rd;
      f.mem_write = wr;
      f.align = vex_alignment(zi.mnemonic, z.size / 8);
    } else if (z.type != ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      return false;
    }
  }
  if (f.mem >= 0 && f.gpr >= 0 && !f.gpr_write) return false;  // (none in these sets)
  if (f.mem >= 0 && f.mem_write && (f.gpr >= 0 || f.dst >= 0)) return false;
  // Every VEX instruction here that writes flags (vptest, vtestps/pd, v(u)comis*) writes all
  // six arithmetic ones; Zydis lists only the ZF/CF of vtestps/pd.
  if (zi.cpu_flags &&
      (zi.cpu_flags->modified | zi.cpu_flags->set_0 | zi.cpu_flags->set_1 | zi.cpu_flags->undefined) & flag::ARITH)
    f.writes_flags = true;
  if (f.writes_flags && (f.gpr >= 0 || f.dst >= 0 || f.mem_write)) return false;
  return true;
}

VexBytes pack_vex(const uint8_t* bytes, unsigned len) {
  uint8_t b[16] = {};
  std::memcpy(b, bytes, len < 15 ? len : 15);
  b[15] = uint8_t(len);
  VexBytes v;
  std::memcpy(&v.lo, b, 8);
  std::memcpy(&v.hi, b + 8, 8);
  return v;
}

unsigned unpack_vex(uint64_t lo, uint64_t hi, uint8_t (&out)[16]) {
  std::memcpy(out, &lo, 8);
  std::memcpy(out + 8, &hi, 8);
  return out[15];
}

}  // namespace vireo::jit
