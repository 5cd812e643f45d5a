// String instructions: movs, stos, lods, cmps, scas (byte/word/dword/qword) with rep, repe and
// repne, and xlat (a DS:[rBX+AL] table lookup that shares the source-segment rule).
//
// Rules (SDM Vol. 2, MOVS/STOS/LODS/CMPS/SCAS and REP/REPE/REPNE; Vol. 1, 3.3.7):
//  * the source is seg:rSI with seg = DS unless overridden (only FS/GS carry a base in 64-bit
//    mode); the destination is always ES:rDI (ES base 0 in 64-bit mode);
//  * rSI/rDI/rCX are used at the address size: with a 67h prefix ESI/EDI/ECX, whose updates
//    are 32-bit writes (the host clears the upper halves the same way);
//  * DF = 0 increments the index registers, DF = 1 decrements them;
//  * with a rep prefix and rCX = 0 nothing happens; otherwise each iteration is complete
//    (memory, rSI/rDI, rCX) before the next starts, so a fault mid-way leaves the registers
//    describing the iterations done and rip at the instruction, which restarts it (as on
//    hardware). F2 on movs/stos/lods acts like F3.
// rep movs/stos with DF = 0 are the memcpy/memset of many programs: they run page by page with
// memmove/memset after probing both pages, so faults stay exact.
#include <Zydis/Mnemonic.h>

#include <algorithm>
#include <cstring>

#include "cpu/flags.h"
#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/sse_dispatch_shared.h"

namespace vireo {

namespace {

constexpr uint64_t kPage = 4096;

// Per-instruction view of the string registers at the address size.
struct Str {
  Exec& x;
  const Insn& in;
  unsigned asz;      // 8, 4 or (16-bit code in system mode) 2 bytes
  uint64_t src_base;
  uint64_t dst_base;  // ES: 0 in 64-bit mode

  Str(Exec& x_, const Insn& in_)
      : x(x_), in(in_), asz(in_.addrsize),
        src_base(x_.seg_base(string_source_segment(in_))), dst_base(x_.seg_base(SEG_ES)) {}

  uint64_t reg(unsigned r) const { return Exec::truncate(x.gpr(r), asz); }
  void set(unsigned r, uint64_t v) { x.set_gpr(r, asz, v); }
  uint64_t src() const { return src_base + reg(RSI); }
  uint64_t dst() const { return dst_base + reg(RDI); }
  bool rep() const { return in.prefixes & (pfx::REP | pfx::REPNE); }
  int64_t step(unsigned size) const {
    return (x.cpu->rflags & flag::DF) ? -int64_t(size) : int64_t(size);
  }
  // With EFLAGS.TF a rep string instruction traps after each iteration (SDM Vol. 3,
  // 17.3.1.4): one element at a time, then rip stays on the instruction if more remain.
  const bool tf = x.cpu->rflags & flag::TF;
  bool stepped = false;
  // A long rep yields to a pending exit request between iterations, and under TF after its
  // first: rip goes back to the instruction, which continues from the updated registers when
  // run again.
  bool should_yield() {
    if (tf) {
      if (stepped) {
        x.cpu->rip = x.insn_rip;
        return true;
      }
      stepped = true;
    }
    if (!x.cpu->exit_request) return false;
    x.cpu->rip = x.insn_rip;
    return true;
  }
};

// How many whole elements of `size` fit from `la` to the end of its page.
uint64_t in_page(uint64_t la, unsigned size) { return (kPage - (la & (kPage - 1))) / size; }

template <class T>
void movs(Exec& x, const Insn& in) {
  Str s(x, in);
  constexpr unsigned N = sizeof(T);
  int64_t step = s.step(N);
  if (!s.rep()) {
    T v = x.load<T>(s.src());
    x.store<T>(s.dst(), v);
    s.set(RSI, s.reg(RSI) + step);
    s.set(RDI, s.reg(RDI) + step);
    return;
  }
  bool fast = step > 0 && s.asz == 8 && x.mem.limit && !s.tf;  // system mode: one by one
  while (uint64_t count = s.reg(RCX)) {
    if (s.should_yield()) return;
    uint64_t src = s.src(), dst = s.dst();
    uint64_t n = fast ? std::min({count, in_page(src, N), in_page(dst, N)}) : 0;
    // Sequential semantics when the destination starts inside the source chunk: copy no more
    // than the distance at once, so that every byte read was final before it is read.
    if (n > 1 && dst > src && dst - src < n * N) n = std::max<uint64_t>(1, (dst - src) / N);
    if (n > 1) {
      // (one byte of each page first, so a fault happens before anything of the chunk is
      // done and the registers describe exactly the iterations completed)
      x.probe_read(src);
      x.probe_write(dst);
      std::memmove(x.mem.base + dst, x.mem.base + src, n * N);
    } else {
      n = 1;
      x.store<T>(dst, x.load<T>(src));
    }
    s.set(RSI, s.reg(RSI) + step * int64_t(n));
    s.set(RDI, s.reg(RDI) + step * int64_t(n));
    s.set(RCX, count - n);
  }
}

template <class T>
void stos(Exec& x, const Insn& in) {
  Str s(x, in);
  constexpr unsigned N = sizeof(T);
  int64_t step = s.step(N);
  T v = T(x.gpr(RAX));
  if (!s.rep()) {
    x.store<T>(s.dst(), v);
    s.set(RDI, s.reg(RDI) + step);
    return;
  }
  bool fast = step > 0 && s.asz == 8 && x.mem.limit && !s.tf;  // system mode: one by one
  while (uint64_t count = s.reg(RCX)) {
    if (s.should_yield()) return;
    uint64_t dst = s.dst();
    uint64_t n = fast ? std::min(count, in_page(dst, N)) : 0;
    if (n > 1) {
      x.probe_write(dst);  // (as for movs)
      uint8_t* p = x.mem.base + dst;
      if constexpr (N == 1) {
        std::memset(p, v, n);
      } else {
        for (uint64_t i = 0; i < n; ++i) std::memcpy(p + i * N, &v, N);
      }
    } else {
      n = 1;
      x.store<T>(dst, v);
    }
    s.set(RDI, s.reg(RDI) + step * int64_t(n));
    s.set(RCX, count - n);
  }
}

// lods: only the last element matters for the result, but every element is read (and may
// fault) in order, as on hardware.
template <class T>
void lods(Exec& x, const Insn& in) {
  Str s(x, in);
  constexpr unsigned N = sizeof(T);
  int64_t step = s.step(N);
  if (!s.rep()) {
    T v = x.load<T>(s.src());
    x.set_gpr(RAX, N, v);
    s.set(RSI, s.reg(RSI) + step);
    return;
  }
  while (uint64_t count = s.reg(RCX)) {
    if (s.should_yield()) return;
    T v = x.load<T>(s.src());
    x.set_gpr(RAX, N, v);
    s.set(RSI, s.reg(RSI) + step);
    s.set(RCX, count - 1);
  }
}

// cmps compares [src] - [dst]; scas compares accumulator - [dst]. With repe the loop ends when
// ZF = 0, with repne when ZF = 1 (checked after rCX is decremented).
template <class T, bool is_cmps>
void compare(Exec& x, const Insn& in) {
  Str s(x, in);
  constexpr unsigned N = sizeof(T);
  int64_t step = s.step(N);
  // Which operand is read first decides which fault is reported when both would fault. The
  // manuals do not say; hardware reads ES:rDI first, except for repe cmpsb on an Intel host,
  // which reads the source first (measured: random-code difftest, tests/exactness error_codes;
  // cpu/host_quirks.h).
  const bool source_first = is_cmps && N == 1 && (in.prefixes & pfx::REP) &&
                            host_repe_cmpsb_reads_source_first();
  auto one = [&] {
    T a = source_first ? x.load<T>(s.src()) : T(0);
    T b = x.load<T>(s.dst());
    if (!source_first) a = is_cmps ? x.load<T>(s.src()) : T(x.gpr(RAX));
    flags::set_arith(*x.cpu, flags::sub<T>(a, b, T(a - b)));
    if (is_cmps) s.set(RSI, s.reg(RSI) + step);
    s.set(RDI, s.reg(RDI) + step);
  };
  if (!(in.prefixes & (pfx::REP | pfx::REPNE))) {
    one();
    return;
  }
  bool while_equal = in.prefixes & pfx::REP;
  // A fault part way leaves the flags the instruction started with on some hosts, those of
  // the last comparison on others (cpu/host_quirks.h): for the first, each comparison's flags
  // are held back and written when the instruction ends (or yields, to restart).
  const bool keep_flags = host_rep_compare_fault_keeps_flags();
  const uint64_t at_start = x.cpu->rflags;
  uint64_t last = at_start;
  while (uint64_t count = s.reg(RCX)) {
    if (s.should_yield()) break;
    one();
    s.set(RCX, count - 1);
    last = x.cpu->rflags;
    if (keep_flags) x.cpu->rflags = at_start;
    if (bool(last & flag::ZF) != while_equal) break;
  }
  x.cpu->rflags = last;
}

// movsd/cmpsd: string forms have no visible operands; the SSE forms (F2 0F 10/11, F2 0F C2)
// go to the SSE family (sse_dispatch_shared.h).
template <Handler string_form, Handler sse_form>
void string_or_sse(Exec& x, const Insn& in) {
  if (in.nops == 0) return string_form(x, in);
  sse_form(x, in);
}

// xlat: AL = [seg:rBX + AL] (SDM Vol. 2, XLAT), with the same segment rule as a string source.
void xlat(Exec& x, const Insn& in) {
  Str s(x, in);
  uint64_t la = s.src_base + Exec::truncate(s.reg(RBX) + (x.gpr(RAX) & 0xFF), s.asz);
  x.set_gpr(RAX, 1, x.load<uint8_t>(la));
}

}  // namespace

void register_string(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_MOVSB] = movs<uint8_t>;
  t[ZYDIS_MNEMONIC_MOVSW] = movs<uint16_t>;
  t[ZYDIS_MNEMONIC_MOVSD] = string_or_sse<movs<uint32_t>, sse_movsd>;
  t[ZYDIS_MNEMONIC_MOVSQ] = movs<uint64_t>;
  t[ZYDIS_MNEMONIC_STOSB] = stos<uint8_t>;
  t[ZYDIS_MNEMONIC_STOSW] = stos<uint16_t>;
  t[ZYDIS_MNEMONIC_STOSD] = stos<uint32_t>;
  t[ZYDIS_MNEMONIC_STOSQ] = stos<uint64_t>;
  t[ZYDIS_MNEMONIC_LODSB] = lods<uint8_t>;
  t[ZYDIS_MNEMONIC_LODSW] = lods<uint16_t>;
  t[ZYDIS_MNEMONIC_LODSD] = lods<uint32_t>;
  t[ZYDIS_MNEMONIC_LODSQ] = lods<uint64_t>;
  t[ZYDIS_MNEMONIC_CMPSB] = compare<uint8_t, true>;
  t[ZYDIS_MNEMONIC_CMPSW] = compare<uint16_t, true>;
  t[ZYDIS_MNEMONIC_CMPSD] = string_or_sse<compare<uint32_t, true>, sse_cmpsd>;
  t[ZYDIS_MNEMONIC_CMPSQ] = compare<uint64_t, true>;
  t[ZYDIS_MNEMONIC_SCASB] = compare<uint8_t, false>;
  t[ZYDIS_MNEMONIC_SCASW] = compare<uint16_t, false>;
  t[ZYDIS_MNEMONIC_SCASD] = compare<uint32_t, false>;
  t[ZYDIS_MNEMONIC_SCASQ] = compare<uint64_t, false>;
  t[ZYDIS_MNEMONIC_XLAT] = xlat;
}

uint8_t string_source_segment(const Insn& in) {
  uint8_t seg = SEG_DS;
  for (unsigned i = 0; i < in.len; ++i) {
    switch (in.bytes[i]) {
      case 0x26: seg = SEG_ES; break;
      case 0x2E: seg = SEG_CS; break;
      case 0x36: seg = SEG_SS; break;
      case 0x3E: seg = SEG_DS; break;
      case 0x64: seg = SEG_FS; break;
      case 0x65: seg = SEG_GS; break;
      case 0xF0: case 0xF2: case 0xF3: case 0x66: case 0x67: break;
      default: return seg;  // REX or the opcode: prefixes are over
    }
  }
  return seg;
}

}  // namespace vireo
