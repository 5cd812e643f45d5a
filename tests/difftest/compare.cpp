#include "compare.h"

#include <Zydis/Zydis.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "cpu/decoder.h"

namespace vireo::difftest {

const char* end_name(EndKind k) {
  switch (k) {
    case EndKind::Completed: return "completed";
    case EndKind::Sigill: return "SIGILL";
    case EndKind::Sigfpe: return "SIGFPE";
    case EndKind::Sigsegv: return "SIGSEGV";
    case EndKind::Sigbus: return "SIGBUS";
    case EndKind::Sigtrap: return "SIGTRAP";
    default: return "other";
  }
}

namespace {

// Zydis's FPU flag bits -> FSW bit positions (C0, C1, C2, C3).
uint16_t fsw_bits(ZydisAccessedFlagsMask m) {
  uint16_t r = 0;
  if (m & ZYDIS_FPUFLAG_C0) r |= 1u << 8;
  if (m & ZYDIS_FPUFLAG_C1) r |= 1u << 9;
  if (m & ZYDIS_FPUFLAG_C2) r |= 1u << 10;
  if (m & ZYDIS_FPUFLAG_C3) r |= 1u << 14;
  return r;
}

std::string flags_str(uint64_t f) {
  std::string s;
  static const struct { uint64_t bit; char c; } names[] = {
      {flag::OF, 'O'}, {flag::DF, 'D'}, {flag::SF, 'S'}, {flag::ZF, 'Z'},
      {flag::AF, 'A'}, {flag::PF, 'P'}, {flag::CF, 'C'}};
  for (auto& n : names) s += (f & n.bit) ? n.c : '-';
  return s;
}

std::string hex10(const uint8_t* p) {
  uint16_t se;
  uint64_t m;
  std::memcpy(&m, p, 8);
  std::memcpy(&se, p + 8, 2);
  return fmt::format("{:04x}:{:016x} ({:.6Lg})", se, m, *reinterpret_cast<const long double*>(p));
}

}  // namespace

FlagInfo flag_info(const uint8_t* bytes, size_t len) {
  FlagInfo fi;
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, &in, ops))) return fi;
  if (in.cpu_flags) {
    fi.tested = in.cpu_flags->tested;
    fi.undefined = in.cpu_flags->undefined;
    fi.defined = (in.cpu_flags->modified | in.cpu_flags->set_0 | in.cpu_flags->set_1) &
                 ~in.cpu_flags->undefined;
  }
  if (in.fpu_flags) fi.fsw_undefined = fsw_bits(in.fpu_flags->undefined);
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
      fi.keeps_old_when_count_zero = true;
      break;
    default: break;
  }
  return fi;
}

bool result_undefined(const uint8_t* code, size_t len, const uint64_t* rcx) {
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, len, &in, ops))) return false;
  if ((in.mnemonic == ZYDIS_MNEMONIC_SHLD || in.mnemonic == ZYDIS_MNEMONIC_SHRD) &&
      in.operand_width == 16) {
    // SDM Vol. 2, SHLD: "If the count is greater than the operand size, the result is
    // undefined" (the count is masked to 5 bits first).
    if (ops[2].type != ZYDIS_OPERAND_TYPE_IMMEDIATE && !rcx) return true;
    uint64_t count = ops[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? ops[2].imm.value.u : *rcx;
    return (count & 31) > 16;
  }
  return false;
}

void normalize(const Case& c, CaseResult& r) {
  if (r.end == EndKind::Sigill && r.detail == -1 && r.state.rip == kCodeAddr + c.code_len)
    r.end = EndKind::Completed;
}

std::vector<std::string> compare(const Case& c, const CaseResult& n, const CaseResult& e,
                                 const Masks& m) {
  std::vector<std::string> d;
  auto ends = [](const CaseResult& r) {
    std::string s = end_name(r.end);
    if (r.end != EndKind::Completed && r.end != EndKind::Other) s += fmt::format(" (addr 0x{:x})", r.fault_addr);
    if (r.end == EndKind::Other) s += fmt::format(" (detail {})", r.detail);
    return s;
  };
  if (n.end != e.end) d.push_back(fmt::format("end      native {:<28} engine {}", ends(n), ends(e)));
  if (n.state.rip != e.state.rip)
    d.push_back(fmt::format("rip      native 0x{:<16x}           engine 0x{:x}", n.state.rip, e.state.rip));
  if (m.result_undefined) return d;
  static const char* names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (int i = 0; i < 16; ++i)
    if (n.state.gpr[i] != e.state.gpr[i])
      d.push_back(fmt::format("{:<8} native 0x{:016x}  engine 0x{:016x}", names[i], n.state.gpr[i],
                              e.state.gpr[i]));
  uint64_t nf = n.state.rflags & m.flags, ef = e.state.rflags & m.flags;
  if (nf != ef)
    d.push_back(fmt::format("rflags   native {}  engine {}  (compared {}, differ {})",
                            flags_str(nf), flags_str(ef), flags_str(m.flags), flags_str(nf ^ ef)));
  for (int i = 0; i < 16; ++i)
    if (std::memcmp(&n.state.xmm[i], &e.state.xmm[i], 16) != 0)
      d.push_back(fmt::format("xmm{:<5} native {:016x}_{:016x}  engine {:016x}_{:016x}", i,
                              n.state.xmm[i].u64[1], n.state.xmm[i].u64[0],
                              e.state.xmm[i].u64[1], e.state.xmm[i].u64[0]));
  for (int i = 0; i < 16; ++i)
    if (std::memcmp(&n.state.ymm_hi[i], &e.state.ymm_hi[i], 16) != 0)
      d.push_back(fmt::format("ymm{:<2}hi native {:016x}_{:016x}  engine {:016x}_{:016x}", i,
                              n.state.ymm_hi[i].u64[1], n.state.ymm_hi[i].u64[0],
                              e.state.ymm_hi[i].u64[1], e.state.ymm_hi[i].u64[0]));
  if (n.state.mxcsr != e.state.mxcsr)
    d.push_back(fmt::format("mxcsr    native 0x{:08x}  engine 0x{:08x}", n.state.mxcsr, e.state.mxcsr));
  if (n.state.fcw != e.state.fcw)
    d.push_back(fmt::format("fcw      native 0x{:04x}  engine 0x{:04x}", n.state.fcw, e.state.fcw));
  if ((n.state.fsw & m.fsw) != (e.state.fsw & m.fsw))
    d.push_back(fmt::format("fsw      native 0x{:04x}  engine 0x{:04x}  (compared bits 0x{:04x})",
                            n.state.fsw, e.state.fsw, m.fsw));
  if (n.state.ftw_valid != e.state.ftw_valid)
    d.push_back(fmt::format("ftw      native 0x{:02x}  engine 0x{:02x} (abridged, 1 = valid)",
                            n.state.ftw_valid, e.state.ftw_valid));
  // Values only of registers both sides hold (stack position i is physical (top + i) & 7).
  for (int i = 0; i < 8; ++i) {
    unsigned phys = (n.state.top() + i) & 7;
    bool nv = (n.state.ftw_valid >> phys) & 1, ev = (e.state.ftw_valid >> phys) & 1;
    if (nv && ev && n.state.top() == e.state.top() && std::memcmp(n.state.st[i], e.state.st[i], 10))
      d.push_back(fmt::format("st({})    native {}  engine {}", i, hex10(n.state.st[i]),
                              hex10(e.state.st[i])));
  }
  int shown = 0;
  for (size_t i = 0; i < kScratchSize; ++i) {
    if (n.scratch[i] == e.scratch[i]) continue;
    size_t lo = i & ~size_t(7);
    if (++shown <= 4) {
      uint64_t a, b;
      std::memcpy(&a, n.scratch + lo, 8);
      std::memcpy(&b, e.scratch + lo, 8);
      d.push_back(fmt::format("mem      [0x{:x}] native {:016x}  engine {:016x}  (input {:016x})",
                              kScratchAddr + lo, a, b, *reinterpret_cast<const uint64_t*>(c.scratch + lo)));
    }
    i = lo + 7;
  }
  if (shown > 4) d.push_back(fmt::format("mem      ... {} more differing 8-byte words", shown - 4));
  return d;
}

void print_report(const char* title, const Case& c, const std::vector<std::string>& diffs,
                  bool show_xmm, bool show_x87, const std::string& replay) {
  fmt::print("MISMATCH {}\n", title);
  fmt::print("  bytes:   {}\n", hex_bytes(c.code, c.code_len));
  for (uint32_t i = 0; i < c.ninsns; ++i) {
    uint32_t off = c.insn_off[i];
    fmt::print("  {:<8} {:<40} {}\n", i == 0 ? "asm:" : "",
               disassemble(c.code + off, c.insn_off[i + 1] - off, kCodeAddr + off),
               c.ninsns > 1 ? hex_bytes(c.code + off, c.insn_off[i + 1] - off) : "");
  }
  const CaseState& s = c.in;
  static const char* names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  fmt::print("  input:   rip=0x{:x} rflags={} ({}) mxcsr=0x{:x}\n", s.rip, s.rflags & kFlagsCompared,
             flags_str(s.rflags), s.mxcsr);
  for (int i = 0; i < 16; i += 4)
    fmt::print("           {:>3}={:016x} {:>3}={:016x} {:>3}={:016x} {:>3}={:016x}\n", names[i],
               s.gpr[i], names[i + 1], s.gpr[i + 1], names[i + 2], s.gpr[i + 2], names[i + 3],
               s.gpr[i + 3]);
  if (show_xmm)
    for (int i = 0; i < 16; i += 2)
      fmt::print("           xmm{:<2}={:016x}_{:016x} xmm{:<2}={:016x}_{:016x}\n", i,
                 s.xmm[i].u64[1], s.xmm[i].u64[0], i + 1, s.xmm[i + 1].u64[1], s.xmm[i + 1].u64[0]);
  if (show_xmm)
    for (int i = 0; i < 16; ++i)
      if (s.ymm_hi[i].u64[0] | s.ymm_hi[i].u64[1])
        fmt::print("           ymm{:<2}hi={:016x}_{:016x}\n", i, s.ymm_hi[i].u64[1], s.ymm_hi[i].u64[0]);
  if (show_x87) {
    fmt::print("           fcw={:04x} fsw={:04x} (top {}) ftw={:02x}\n", s.fcw, s.fsw, s.top(), s.ftw_valid);
    for (int i = 0; i < 8; ++i)
      if ((s.ftw_valid >> ((s.top() + i) & 7)) & 1) fmt::print("           st({})={}\n", i, hex10(s.st[i]));
  }
  // The input bytes of each memory operand, so the reproducer needs nothing else.
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisRegisterContext ctx{};
  for (int i = 0; i < 16; ++i) {
    ctx.values[ZYDIS_REGISTER_RAX + i] = s.gpr[i];
    ctx.values[ZYDIS_REGISTER_EAX + i] = uint32_t(s.gpr[i]);
  }
  for (uint32_t k = 0; k < c.ninsns; ++k) {
    uint32_t off = c.insn_off[k];
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, c.code + off, c.insn_off[k + 1] - off, &in, ops)))
      continue;
    for (int i = 0; i < in.operand_count_visible; ++i) {
      ZyanU64 addr;
      if (ops[i].type != ZYDIS_OPERAND_TYPE_MEMORY || ops[i].mem.type != ZYDIS_MEMOP_TYPE_MEM ||
          !ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(&in, &ops[i], kCodeAddr + off, &ctx, &addr)))
        continue;
      if (c.ninsns > 1) {  // later instructions' registers are not the input's
        if (ops[i].mem.base != ZYDIS_REGISTER_RIP && ops[i].mem.base != ZYDIS_REGISTER_R15) continue;
      }
      unsigned n = std::max(1u, unsigned(ops[i].size / 8));
      std::string bytes;
      for (unsigned b = 0; b < n; ++b) {
        uint64_t a = addr + b;
        bytes += a >= kScratchAddr && a < kScratchAddr + kScratchSize
                     ? fmt::format("{:02x} ", c.scratch[a - kScratchAddr]) : "-- ";
      }
      fmt::print("  memory:  [0x{:x}] {}(insn {})\n", addr, bytes, k);
    }
  }
  fmt::print("  differs:\n");
  for (auto& l : diffs) fmt::print("    {}\n", l);
  fmt::print("  replay:  {}\n", replay);
}

}  // namespace vireo::difftest
