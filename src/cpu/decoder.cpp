#include "cpu/decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "cpu/condition_codes.h"
#include "cpu/cpu_state.h"
#include "cpu/decode_template.h"
#include "cpu/host_quirks.h"

namespace vireo {

namespace {

// Zydis register -> (class, index).
bool map_register_slow(ZydisRegister r, RegClass& cls, uint8_t& idx) {
  switch (r) {
    case ZYDIS_REGISTER_AH: cls = RegClass::GprHigh; idx = 0; return true;
    case ZYDIS_REGISTER_CH: cls = RegClass::GprHigh; idx = 1; return true;
    case ZYDIS_REGISTER_DH: cls = RegClass::GprHigh; idx = 2; return true;
    case ZYDIS_REGISTER_BH: cls = RegClass::GprHigh; idx = 3; return true;
    default: break;
  }
  ZydisRegisterClass zc = ZydisRegisterGetClass(r);
  int8_t id = ZydisRegisterGetId(r);
  switch (zc) {
    case ZYDIS_REGCLASS_GPR8:
      // Zydis ids for GPR8 are AL,CL,DL,BL,AH,CH,DH,BH,SPL,BPL,SIL,DIL,R8B..: the legacy
      // high bytes occupy 4..7, so SPL.. are shifted by four.
      cls = RegClass::Gpr;
      idx = id >= 8 ? uint8_t(id - 4) : uint8_t(id);
      return true;
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64: cls = RegClass::Gpr; idx = uint8_t(id); return true;
    case ZYDIS_REGCLASS_XMM: cls = RegClass::Xmm; idx = uint8_t(id); return true;
    // YMMn is XMMn widened: the operand's size (32) tells them apart (interp/avx_common.h).
    case ZYDIS_REGCLASS_YMM: cls = RegClass::Xmm; idx = uint8_t(id); return true;
    case ZYDIS_REGCLASS_MMX: cls = RegClass::Mmx; idx = uint8_t(id); return true;
    case ZYDIS_REGCLASS_X87: cls = RegClass::St; idx = uint8_t(id); return true;
    case ZYDIS_REGCLASS_SEGMENT: cls = RegClass::Seg; idx = uint8_t(id); return true;
    case ZYDIS_REGCLASS_CONTROL: cls = RegClass::Cr; idx = uint8_t(id); return true;
    case ZYDIS_REGCLASS_DEBUG: cls = RegClass::Dr; idx = uint8_t(id); return true;
    default: cls = RegClass::Other; idx = uint8_t(r & 0xFF); return true;
  }
}

// The same as a table, built once per process: Zydis's class and id lookups are two calls
// into the shared library per register operand, and a cold start decodes one to three
// register operands per instruction (issue 22).
struct RegisterMap {
  RegClass cls[ZYDIS_REGISTER_MAX_VALUE + 1];
  uint8_t idx[ZYDIS_REGISTER_MAX_VALUE + 1];
  RegisterMap() {
    for (int r = 0; r <= ZYDIS_REGISTER_MAX_VALUE; ++r) map_register_slow(ZydisRegister(r), cls[r], idx[r]);
  }
};
const RegisterMap& register_map() {
  static const RegisterMap m;
  return m;
}

inline void map_register(const RegisterMap& m, ZydisRegister r, RegClass& cls, uint8_t& idx) {
  cls = m.cls[r];
  idx = m.idx[r];
}

// The condition code of each mnemonic (condition_code_of is a search of three tables).
constexpr auto kConditionCodes = [] {
  std::array<uint8_t, ZYDIS_MNEMONIC_MAX_VALUE + 1> t{};
  for (size_t m = 0; m < t.size(); ++m) t[m] = condition_code_of(ZydisMnemonic(m));
  return t;
}();

uint8_t gpr_index(const RegisterMap& m, ZydisRegister r) {
  return r != ZYDIS_REGISTER_NONE && m.cls[r] == RegClass::Gpr ? m.idx[r] : kNoReg;
}

uint8_t seg_index(ZydisRegister r) {
  switch (r) {
    case ZYDIS_REGISTER_ES: return SEG_ES;
    case ZYDIS_REGISTER_CS: return SEG_CS;
    case ZYDIS_REGISTER_SS: return SEG_SS;
    case ZYDIS_REGISTER_DS: return SEG_DS;
    case ZYDIS_REGISTER_FS: return SEG_FS;
    case ZYDIS_REGISTER_GS: return SEG_GS;
    default: return kNoReg;
  }
}

}  // namespace

Decoder::Decoder(CpuMode mode) {
  switch (mode) {
    case CpuMode::Long64:
      ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
      break;
    case CpuMode::Protected32:
      ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
      break;
    case CpuMode::Real16:
      ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16);
      break;
  }
  // Our CPUID has no MPX: 0F 1A and 0F 1B are then the hint NOPs they were before MPX (SDM
  // Vol. 2, NOP; they take a ModRM operand but access nothing), which Zydis decodes as NOP
  // with its MPX mode off. That mode is used for those two opcodes only, so that nothing else
  // depends on it.
  // Nor has it CLDEMOTE, whose encoding (0F 1C /0) is a hint NOP on CPUs without it: a
  // program built for one runs unchanged on the other (SDM Vol. 2, CLDEMOTE).
  ZydisDecoderEnableMode(&decoder_, ZYDIS_DECODER_MODE_CLDEMOTE, ZYAN_FALSE);
  no_mpx_ = decoder_;
  ZydisDecoderEnableMode(&no_mpx_, ZYDIS_DECODER_MODE_MPX, ZYAN_FALSE);
}

namespace {

// Whether the opcode after the legacy and REX prefixes is 0F 1A or 0F 1B.
bool is_mpx_hint(const uint8_t* bytes, size_t avail) {
  size_t i = 0;
  auto legacy = [](uint8_t b) {
    return b == 0x66 || b == 0x67 || b == 0xF2 || b == 0xF3 || b == 0xF0 || b == 0x2E ||
           b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 || b == 0x65;
  };
  // A REX followed by more legacy prefixes is ignored, but still a prefix (41 F3 0F 1B).
  while (i < avail && i < 15 && (legacy(bytes[i]) || (bytes[i] & 0xF0) == 0x40)) ++i;
  return i + 1 < avail && bytes[i] == 0x0F && (bytes[i + 1] == 0x1A || bytes[i + 1] == 0x1B);
}

}  // namespace

bool Decoder::decode_full(const uint8_t* bytes, size_t avail, ZydisDecodedInstruction& insn,
                          ZydisDecodedOperand* operands) const {
  const ZydisDecoder* d = is_mpx_hint(bytes, avail) ? &no_mpx_ : &decoder_;
  return ZYAN_SUCCESS(ZydisDecoderDecodeFull(d, bytes, avail, &insn, operands));
}

namespace {

// pfx::MAY_BRANCH: Zydis's categories of control transfer (every instruction Zydis says writes
// RIP is in one: jmp, call, ret, jcc, loop, jrcxz, syscall, sysenter, sysret, int, int1, int3,
// iret, xbegin; tests/unit/cpu_may_branch_test.cpp holds them to it), and a string instruction
// with a rep prefix (its handler sets rip back to itself to yield, interp/string.cpp). The
// rest complete at the next instruction or end the run (a fault, a stop they ask for).
bool may_branch(ZydisInstructionCategory category, uint8_t prefixes) {
  switch (category) {
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_INTERRUPT: return true;
    case ZYDIS_CATEGORY_STRINGOP:
    case ZYDIS_CATEGORY_IOSTRINGOP: return prefixes & (pfx::REP | pfx::REPNE);
    default: return false;
  }
}

// Insn::bytes: the instruction's `len` bytes (`avail` readable at `bytes`), zeros after them,
// as two 8-byte stores over bytes 0-7 and 7-14 (a copy of `len` bytes into a zeroed buffer
// and the buffer's copy were a tenth of the decoder's own instructions, issue 22).
void set_bytes(Insn& out, const uint8_t* bytes, unsigned len, size_t avail) {
  static_assert(sizeof out.bytes == 15);
  uint64_t w0 = 0, w7 = 0;
  if (len >= 8) {
    std::memcpy(&w0, bytes, 8);
    std::memcpy(&w7, bytes + len - 8, 8);  // bytes len-8 .. len-1: 7 .. len-1 are its top ones
    w7 >>= 8 * (15 - len);
  } else if (avail >= 8) {
    std::memcpy(&w0, bytes, 8);
    w0 &= (uint64_t(1) << (8 * len)) - 1;
  } else {
    for (unsigned i = 0; i < len; ++i) w0 |= uint64_t(bytes[i]) << (8 * i);
  }
  std::memcpy(out.bytes, &w0, 8);
  std::memcpy(out.bytes + 7, &w7, 8);
}

}  // namespace

bool Decoder::decode(const uint8_t* bytes, size_t avail, uint64_t rip, Insn& out) const {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  // Only the operands kept below (the visible ones, at most four) are decoded: the hidden
  // ones (rflags, rsp, string registers) were a third of Zydis's time in a cold start (issue 22).
  // 0F 1A / 0F 1B (hint NOPs without MPX) are looked for only when the usual decoder names
  // that opcode or fails: scanning every instruction's prefixes for them was 0.6% of an exec'd
  // /bin/true's time under the interp engine (issue 22).
  const ZydisDecoder* d = &decoder_;
  ZydisDecoderContext ctx;
  bool ok = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(d, &ctx, bytes, avail, &zi));
  if ((!ok || (zi.opcode_map == ZYDIS_OPCODE_MAP_0F && (zi.opcode == 0x1A || zi.opcode == 0x1B))) &&
      is_mpx_hint(bytes, avail)) {
    d = &no_mpx_;
    ok = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(d, &ctx, bytes, avail, &zi));
  }
  if (!ok) return false;
  const ZyanU8 kept_ops = std::min<ZyanU8>(zi.operand_count_visible, 4);
  if (kept_ops && !ZYAN_SUCCESS(ZydisDecoderDecodeOperands(d, &ctx, &zi, zo, kept_ops))) return false;
  // No AVX-512 (nor Xeon Phi's MVEX) is advertised: an EVEX instruction is #UD, as on a CPU
  // without it (62h is BOUND, invalid in 64-bit mode). The AVX handlers assume XMM/YMM0-15.
  if (zi.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX || zi.encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX)
    return false;
  // 0F 0D is the prefetch group: with a register operand it is the NOP Zydis names on some
  // hosts (Intel's reserved-NOP hint space) and #UD on others (AMD): as the host does.
  if (zi.opcode_map == ZYDIS_OPCODE_MAP_0F && zi.opcode == 0x0D && zi.raw.modrm.mod == 3 &&
      !host_prefetch_reg_is_nop())
    return false;
  // F3 with REX.B before 90 is xchg r8, rax on some hosts (REX.B names r8; F3 means nothing
  // to xchg), pause on others (host_pause_rex_b_is_xchg): for xchg, decode it again with the
  // F3s turned into DS prefixes, which mean nothing either.
  if (zi.mnemonic == ZYDIS_MNEMONIC_PAUSE && zi.raw.rex.B && host_pause_rex_b_is_xchg()) {
    uint8_t copy[15];
    const size_t n = std::min<size_t>(zi.length, sizeof copy);
    std::memcpy(copy, bytes, n);
    for (size_t i = 0; i < n && copy[i] != 0x90; ++i)
      if (copy[i] == 0xF3) copy[i] = 0x3E;
    if (!decode_full(copy, n, zi, zo)) return false;
  }

  // Every field is written (an entry may be reused), but not with memset: on a 104-byte
  // record through a reference GCC emits `rep stosq`, whose start-up was a sixth of this
  // function's own time in a cold start.
  out.fn = nullptr;
  out.mnemonic = uint16_t(zi.mnemonic);
  out.len = zi.length;
  out.opsize = uint8_t(zi.operand_width / 8);
  out.addrsize = uint8_t(zi.address_width / 8);
  out.nops = 0;
  out.opcode = zi.opcode;
  out.map = uint8_t(zi.opcode_map);
  out.cc = kConditionCodes[zi.mnemonic];
  set_bytes(out, bytes, zi.length, avail);
  uint8_t prefixes = 0;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) prefixes |= pfx::LOCK;
  if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) prefixes |= pfx::REP;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE) prefixes |= pfx::REPNE;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_REX && (zi.raw.rex.W)) prefixes |= pfx::REX_W;
  if (may_branch(zi.meta.category, prefixes)) prefixes |= pfx::MAY_BRANCH;
  out.prefixes = prefixes;
  uint8_t rip_ops = 0;
  for (Operand& o : out.op) o = Operand{};

  // Keep the operands the assembly text shows: explicit ones and implicit-but-visible ones
  // such as the accumulator of `cmp eax, imm32`, the `1` of `shl rax, 1` or the `cl` of
  // `shl rax, cl`. Hidden operands (mul's rdx:rax, string registers) stay implicit.
  const RegisterMap& regs = register_map();
  uint8_t n = 0;
  uint8_t op_src = 0;    // (Insn::op_src)
  unsigned imms = 0;     // immediates met so far among the operands
  bool shaped = zi.opcode_map != ZYDIS_OPCODE_MAP_0F0F;  // (3DNow!: the opcode follows the operands)
  for (uint8_t i = 0; i < zi.operand_count_visible && n < 4; ++i) {
    const ZydisDecodedOperand& z = zo[i];
    Operand& o = out.op[n++];
    o.size = uint8_t((z.size + 7) / 8);
    o.base = o.index = o.seg = kNoReg;
    switch (z.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER:
        o.kind = OpKind::Reg;
        map_register(regs, z.reg.value, o.rclass, o.reg);
        if (z.encoding == ZYDIS_OPERAND_ENCODING_IS4) shaped = false;  // (a register in imm8[7:4])
        break;
      case ZYDIS_OPERAND_TYPE_MEMORY: {
        o.kind = OpKind::Mem;
        o.seg = seg_index(z.mem.segment);
        o.scale = z.mem.scale ? z.mem.scale : 1;
        o.disp = z.mem.disp.has_displacement ? z.mem.disp.value : 0;
        if (z.mem.disp.has_displacement) op_src |= uint8_t(kSrcDisp << (2 * (n - 1)));
        if (z.mem.base == ZYDIS_REGISTER_RIP || z.mem.base == ZYDIS_REGISTER_EIP) {
          // RIP-relative: the address is fixed for this instruction at this rip.
          uint64_t a = rip + zi.length + uint64_t(o.disp);
          if (z.mem.base == ZYDIS_REGISTER_EIP) a &= 0xFFFFFFFFu;
          o.disp = int64_t(a);
          rip_ops |= z.mem.base == ZYDIS_REGISTER_EIP ? kRipOpsFixed : uint8_t(1u << (n - 1));
        } else {
          o.base = gpr_index(regs, z.mem.base);
        }
        o.index = gpr_index(regs, z.mem.index);
        if (z.mem.type == ZYDIS_MEMOP_TYPE_AGEN) o.size = 0;  // lea: no access
        break;
      }
      case ZYDIS_OPERAND_TYPE_POINTER:
        o.kind = OpKind::Imm;
        o.disp = int64_t(z.ptr.offset) | (int64_t(z.ptr.segment) << 32);
        shaped = false;
        break;
      case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        o.kind = OpKind::Imm;
        // Encoded in the instruction (not the `1` of `shl rax, 1`): the next immediate.
        if (z.encoding != ZYDIS_OPERAND_ENCODING_NONE) {
          if (imms < 2) op_src |= uint8_t((kSrcImm0 + imms) << (2 * (n - 1)));
          else shaped = false;
          ++imms;
        }
        if (z.imm.is_relative) {
          o.disp = int64_t(rip + zi.length + z.imm.value.u);  // branch target
          rip_ops |= uint8_t(1u << (n - 1));
        } else {
          o.disp = z.imm.is_signed ? z.imm.value.s : int64_t(z.imm.value.u);
        }
        break;
      default: o.kind = OpKind::None; break;
    }
  }
  out.nops = n;
  out.rip_ops = rip_ops;
  set_layout(zi, shaped, op_src, bytes, rip, out);
  return true;
}

// Insn's layout fields (cpu/decode_template.h): the shape is what precedes the displacement
// and the immediates, which must run to the instruction's end. The layout is kept only if
// reading the values back from these very bytes gives the decode just made, so that an
// operand whose value is not plainly its bytes (were there one) is never patched wrongly.
void Decoder::set_layout(const ZydisDecodedInstruction& zi, bool shaped, uint8_t op_src,
                         const uint8_t* bytes, uint64_t rip, Insn& out) {
  out.shape_len = 0;
  out.disp_len = uint8_t(zi.raw.disp.size / 8);
  out.imm_len[0] = uint8_t(zi.raw.imm[0].size / 8);
  out.imm_len[1] = uint8_t(zi.raw.imm[1].size / 8);
  out.imm_signed = uint8_t((zi.raw.imm[0].is_signed ? 1 : 0) | (zi.raw.imm[1].is_signed ? 2 : 0));
  out.op_src = op_src;
  const unsigned tail = out.disp_len + out.imm_len[0] + out.imm_len[1];
  if (!shaped || (out.rip_ops & kRipOpsFixed) || tail >= zi.length) return;
  const unsigned shape = zi.length - tail;
  if ((out.disp_len && zi.raw.disp.offset != shape) ||
      (out.imm_len[0] && zi.raw.imm[0].offset != shape + out.disp_len) ||
      (out.imm_len[1] && (!out.imm_len[0] || zi.raw.imm[1].offset != shape + out.disp_len + out.imm_len[0])))
    return;
  // Every address-relative operand has bytes of its own to move.
  for (unsigned r = out.rip_ops; r; r &= r - 1)
    if (((op_src >> (2 * std::countr_zero(r))) & 3) == kSrcKept) return;
  // (Checked in place: a copy of the Insn run through apply_template was a third of the
  // decoder's own instructions, issue 22.)
  if (layout_reads_back(out, shape, bytes, rip)) out.shape_len = uint8_t(shape);
}

std::string disassemble(const uint8_t* bytes, size_t avail, uint64_t rip, CpuMode mode) {
  Decoder d(mode);
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  if (!d.decode_full(bytes, avail, zi, zo)) return "(bad)";
  ZydisFormatter f;
  ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_INTEL);
  char buf[256];
  if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, &zi, zo, zi.operand_count_visible, buf,
                                                    sizeof buf, rip, nullptr)))
    return "(bad)";
  return buf;
}

std::string hex_bytes(const uint8_t* bytes, size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) s += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
  return s;
}

}  // namespace vireo
