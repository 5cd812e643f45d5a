// Decoder::decode (cpu/decoder.cpp) against a plain reference: Zydis's full decode of every
// operand and the conversion as it was written before the decoder was made cheaper (issue 22,
// 2026-12-07: operands decoded only when visible, the layout checked in place, Insn::bytes
// stored as two words). Every byte of the Insn must be the reference's, on every instruction
// of real programs' text and on random bytes at every readable length, into records filled
// with different garbage (a field left unwritten shows).
#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "cpu/condition_codes.h"
#include "cpu/cpu_state.h"
#include "cpu/decode_template.h"
#include "cpu/decoder.h"
#include "cpu/host_quirks.h"
#include "elf_text.h"

namespace vireo::test {
namespace {

// Zydis's register classes and ids, asked per register (the decoder keeps a table).
void reference_register(ZydisRegister r, RegClass& cls, uint8_t& idx) {
  switch (r) {
    case ZYDIS_REGISTER_AH: cls = RegClass::GprHigh; idx = 0; return;
    case ZYDIS_REGISTER_CH: cls = RegClass::GprHigh; idx = 1; return;
    case ZYDIS_REGISTER_DH: cls = RegClass::GprHigh; idx = 2; return;
    case ZYDIS_REGISTER_BH: cls = RegClass::GprHigh; idx = 3; return;
    default: break;
  }
  const int8_t id = ZydisRegisterGetId(r);
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8: cls = RegClass::Gpr; idx = id >= 8 ? uint8_t(id - 4) : uint8_t(id); return;
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64: cls = RegClass::Gpr; idx = uint8_t(id); return;
    case ZYDIS_REGCLASS_XMM:
    case ZYDIS_REGCLASS_YMM: cls = RegClass::Xmm; idx = uint8_t(id); return;
    case ZYDIS_REGCLASS_MMX: cls = RegClass::Mmx; idx = uint8_t(id); return;
    case ZYDIS_REGCLASS_X87: cls = RegClass::St; idx = uint8_t(id); return;
    case ZYDIS_REGCLASS_SEGMENT: cls = RegClass::Seg; idx = uint8_t(id); return;
    case ZYDIS_REGCLASS_CONTROL: cls = RegClass::Cr; idx = uint8_t(id); return;
    case ZYDIS_REGCLASS_DEBUG: cls = RegClass::Dr; idx = uint8_t(id); return;
    default: cls = RegClass::Other; idx = uint8_t(r & 0xFF); return;
  }
}

uint8_t reference_gpr(ZydisRegister r) {
  if (r == ZYDIS_REGISTER_NONE) return kNoReg;
  RegClass c;
  uint8_t i;
  reference_register(r, c, i);
  return c == RegClass::Gpr ? i : kNoReg;
}

uint8_t reference_seg(ZydisRegister r) {
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

bool reference_may_branch(ZydisInstructionCategory c, uint8_t prefixes) {
  switch (c) {
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

// The decode as the decoder made it before 2026-12-07, from Zydis's full decode.
bool reference_decode(const Decoder& dec, const uint8_t* bytes, size_t avail, uint64_t rip, Insn& out) {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  if (!dec.decode_full(bytes, avail, zi, zo)) return false;
  if (zi.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX || zi.encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX) return false;
  if (zi.opcode_map == ZYDIS_OPCODE_MAP_0F && zi.opcode == 0x0D && zi.raw.modrm.mod == 3 && !host_prefetch_reg_is_nop())
    return false;
  if (zi.mnemonic == ZYDIS_MNEMONIC_PAUSE && zi.raw.rex.B && host_pause_rex_b_is_xchg()) {
    uint8_t copy[15];
    const size_t n = std::min<size_t>(zi.length, sizeof copy);
    std::memcpy(copy, bytes, n);
    for (size_t i = 0; i < n && copy[i] != 0x90; ++i)
      if (copy[i] == 0xF3) copy[i] = 0x3E;
    if (!dec.decode_full(copy, n, zi, zo)) return false;
  }
  out.fn = nullptr;
  out.mnemonic = uint16_t(zi.mnemonic);
  out.len = zi.length;
  out.opsize = uint8_t(zi.operand_width / 8);
  out.addrsize = uint8_t(zi.address_width / 8);
  out.opcode = zi.opcode;
  out.map = uint8_t(zi.opcode_map);
  out.cc = condition_code_of(zi.mnemonic);
  std::memset(out.bytes, 0, sizeof out.bytes);
  std::memcpy(out.bytes, bytes, std::min<size_t>(zi.length, sizeof out.bytes));
  uint8_t prefixes = 0;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) prefixes |= pfx::LOCK;
  if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) prefixes |= pfx::REP;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE) prefixes |= pfx::REPNE;
  if (zi.attributes & ZYDIS_ATTRIB_HAS_REX && zi.raw.rex.W) prefixes |= pfx::REX_W;
  if (reference_may_branch(zi.meta.category, prefixes)) prefixes |= pfx::MAY_BRANCH;
  out.prefixes = prefixes;
  uint8_t rip_ops = 0, n = 0, op_src = 0;
  unsigned imms = 0;
  bool shaped = zi.opcode_map != ZYDIS_OPCODE_MAP_0F0F;
  for (Operand& o : out.op) o = Operand{};
  for (uint8_t i = 0; i < zi.operand_count_visible && n < 4; ++i) {
    const ZydisDecodedOperand& z = zo[i];
    Operand& o = out.op[n++];
    o.size = uint8_t((z.size + 7) / 8);
    o.base = o.index = o.seg = kNoReg;
    switch (z.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER:
        o.kind = OpKind::Reg;
        reference_register(z.reg.value, o.rclass, o.reg);
        if (z.encoding == ZYDIS_OPERAND_ENCODING_IS4) shaped = false;
        break;
      case ZYDIS_OPERAND_TYPE_MEMORY: {
        o.kind = OpKind::Mem;
        o.seg = reference_seg(z.mem.segment);
        o.scale = z.mem.scale ? z.mem.scale : 1;
        o.disp = z.mem.disp.has_displacement ? z.mem.disp.value : 0;
        if (z.mem.disp.has_displacement) op_src |= uint8_t(kSrcDisp << (2 * (n - 1)));
        if (z.mem.base == ZYDIS_REGISTER_RIP || z.mem.base == ZYDIS_REGISTER_EIP) {
          uint64_t a = rip + zi.length + uint64_t(o.disp);
          if (z.mem.base == ZYDIS_REGISTER_EIP) a &= 0xFFFFFFFFu;
          o.disp = int64_t(a);
          rip_ops |= z.mem.base == ZYDIS_REGISTER_EIP ? kRipOpsFixed : uint8_t(1u << (n - 1));
        } else {
          o.base = reference_gpr(z.mem.base);
        }
        o.index = reference_gpr(z.mem.index);
        if (z.mem.type == ZYDIS_MEMOP_TYPE_AGEN) o.size = 0;
        break;
      }
      case ZYDIS_OPERAND_TYPE_POINTER:
        o.kind = OpKind::Imm;
        o.disp = int64_t(z.ptr.offset) | (int64_t(z.ptr.segment) << 32);
        shaped = false;
        break;
      case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        o.kind = OpKind::Imm;
        if (z.encoding != ZYDIS_OPERAND_ENCODING_NONE) {
          if (imms < 2) op_src |= uint8_t((kSrcImm0 + imms) << (2 * (n - 1)));
          else shaped = false;
          ++imms;
        }
        if (z.imm.is_relative) {
          o.disp = int64_t(rip + zi.length + z.imm.value.u);
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
  // The layout, checked by a copy through apply_template from a zero-padded buffer.
  out.shape_len = 0;
  out.disp_len = uint8_t(zi.raw.disp.size / 8);
  out.imm_len[0] = uint8_t(zi.raw.imm[0].size / 8);
  out.imm_len[1] = uint8_t(zi.raw.imm[1].size / 8);
  out.imm_signed = uint8_t((zi.raw.imm[0].is_signed ? 1 : 0) | (zi.raw.imm[1].is_signed ? 2 : 0));
  out.op_src = op_src;
  const unsigned tail = out.disp_len + out.imm_len[0] + out.imm_len[1];
  if (!shaped || (rip_ops & kRipOpsFixed) || tail >= zi.length) return true;
  const unsigned shape = zi.length - tail;
  if ((out.disp_len && zi.raw.disp.offset != shape) ||
      (out.imm_len[0] && zi.raw.imm[0].offset != shape + out.disp_len) ||
      (out.imm_len[1] && (!out.imm_len[0] || zi.raw.imm[1].offset != shape + out.disp_len + out.imm_len[0])))
    return true;
  for (unsigned i = 0; i < 4; ++i)
    if ((rip_ops & (1u << i)) && ((op_src >> (2 * i)) & 3) == kSrcKept) return true;
  Insn check = out;
  check.shape_len = uint8_t(shape);
  uint8_t raw[16] = {};
  std::memcpy(raw, bytes, zi.length);
  apply_template(check, raw, rip);
  for (unsigned i = 0; i < 4; ++i)
    if (check.op[i].disp != out.op[i].disp) return true;
  out.shape_len = uint8_t(shape);
  return true;
}

struct Comparer {
  Decoder dec;
  size_t compared = 0, decoded = 0, differences = 0;
  std::string first;

  // Decodes `avail` bytes at `bytes` (exactly `avail` readable: copied to the end of a
  // buffer) at `rip` both ways. Returns the length decoded, 0 if neither decodes.
  unsigned compare(const uint8_t* bytes, size_t avail, uint64_t rip) {
    std::vector<uint8_t> exact(bytes, bytes + avail);
    Insn got, want;
    std::memset(&got, 0x5A, sizeof got);
    std::memset(&want, 0xA5, sizeof want);
    const bool ok_got = dec.decode(exact.data(), avail, rip, got);
    const bool ok_want = reference_decode(dec, exact.data(), avail, rip, want);
    ++compared;
    if (ok_got != ok_want || (ok_got && std::memcmp(&got, &want, sizeof got) != 0)) {
      if (differences++ == 0) first = hex_bytes(bytes, avail) + " at " + std::to_string(rip);
    }
    decoded += ok_want;
    return ok_want ? want.len : 0;
  }
};

TEST(CpuDecoderReference, EveryInstructionOfRealProgramsDecodesAsTheReferenceDoes) {
  Comparer c;
  size_t programs = 0;
  for (const char* path : {"/usr/bin/python3", "/usr/lib/x86_64-linux-gnu/libc.so.6"}) {
    auto sections = elf_text_sections(path);
    if (sections.empty()) continue;
    ++programs;
    for (auto& [addr, bytes] : sections)
      for (size_t off = 0; off + 16 <= bytes.size();) {  // (a linear sweep)
        const unsigned len = c.compare(bytes.data() + off, 15, addr + off);
        off += len ? len : 1;
      }
  }
  if (programs == 0) GTEST_SKIP() << "no program text to read";
  EXPECT_EQ(c.differences, 0u) << c.first;
  std::printf("%zu compared, %zu decoded\n", c.compared, c.decoded);
  EXPECT_GT(c.decoded, 500000u);
}

// Random bytes, from each prefix and escape a decoder walks differently, at every readable
// length from 1 to 15 (the short ones end a page: Insn::bytes is then filled byte by byte).
TEST(CpuDecoderReference, RandomBytesAtEveryReadableLengthDecodeAsTheReferenceDoes) {
  Comparer c;
  std::mt19937_64 rng(22);
  const std::vector<std::vector<uint8_t>> starts = {
      {},     {0x0F}, {0x0F, 0x38}, {0x0F, 0x3A}, {0x66}, {0xF2, 0x0F}, {0xF3, 0x0F}, {0x66, 0x0F},
      {0x48}, {0x4C}, {0xC4},       {0xC5},       {0x8F}, {0xF0},       {0x64},       {0x67},
      {0x0F, 0x0F}, {0xF3, 0x49, 0x90}, {0x0F, 0x1A}, {0x0F, 0x1B}, {0x0F, 0x0D}, {0x62}};
  for (int round = 0; round < 40000; ++round) {
    uint8_t buf[15];
    for (uint8_t& b : buf) b = uint8_t(rng());
    const auto& s = starts[size_t(round) % starts.size()];
    std::copy(s.begin(), s.end(), buf);
    const uint64_t rip = rng() & 0x7FFF'FFFF'FFFFull;
    for (size_t avail = 1; avail <= 15; ++avail) c.compare(buf, avail, rip);
  }
  EXPECT_EQ(c.differences, 0u) << c.first;
  std::printf("%zu compared, %zu decoded\n", c.compared, c.decoded);
  EXPECT_GT(c.decoded, 100000u);
}

}  // namespace
}  // namespace vireo::test
