// The system instructions a kernel runs on its hot paths that cannot be plain IR — IRETQ,
// SYSRET, INVLPG and rep movs/stos — run by helpers of the system-mode engine, called from
// translated code instead of stepping the interpreter (its fetch, decode-cache check and
// dispatch) from the block.
//
// Each helper does the common form itself and gives every other form to the interpreter
// before changing anything (SystemJitEngine::fallback_helper, counted as a fallback): what
// would raise an exception (a fault on the IRET frame or a descriptor, a segment check that
// fails, a non-canonical SYSRET target, a page a rep string instruction cannot reach),
// what the interpreter does with side effects in memory (setting a descriptor's accessed bit),
// and the rarer modes (IRET to compatibility mode or through the LDT, DF = 1). So the
// exceptions, their order and error codes are the interpreter's (interrupts.cpp iret,
// fast_calls.cpp sysret, control_regs.cpp invlpg, string_bulk.cpp), and what a helper does
// itself mirrors the same functions, calling their pieces where they are apart
// (iret_flags_mask, sysret_load, set_code_segment, null_inaccessible_segments).
//
// Counting: an Interpret or RepString op counts itself (the block's entry counted only the
// instructions after it, FallbackInsn::counted_after): a helper that completes its
// instruction adds one, and one that leaves the block gives back what did not run.
#include <Zydis/Mnemonic.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "interp/system/system_mode.h"
#include "jit/frontend/system.h"
#include "jit/system/system_jit_engine.h"

namespace vireo::jit {

namespace {

using namespace seg_attr;


// Whole elements of `size` from `la` to the end of its page (string_bulk.cpp room).
uint64_t room(uint64_t la, unsigned size) { return (4096 - (la & 4095)) / size; }

template <class T>
void fill_as(uint8_t* p, uint64_t v, uint64_t n) {
  const T t = T(v);
  if (t == T(0x0101010101010101ull * uint8_t(v))) return void(std::memset(p, uint8_t(v), n * sizeof(T)));
  for (uint64_t i = 0; i < n; ++i) std::memcpy(p + i * sizeof(T), &t, sizeof(T));
}

// n elements of `size` bytes of v (rep stos).
void fill(uint8_t* p, uint64_t v, uint64_t n, unsigned size) {
  switch (size) {
    case 1: std::memset(p, uint8_t(v), n); break;
    case 2: fill_as<uint16_t>(p, v, n); break;
    case 4: fill_as<uint32_t>(p, v, n); break;
    default: fill_as<uint64_t>(p, v, n); break;
  }
}

// The element size of a string mnemonic the rep helper runs, and whether it is movs.
bool string_form(uint16_t m, unsigned& size, bool& movs) {
  switch (m) {
    case ZYDIS_MNEMONIC_STOSB: size = 1, movs = false; return true;
    case ZYDIS_MNEMONIC_STOSW: size = 2, movs = false; return true;
    case ZYDIS_MNEMONIC_STOSD: size = 4, movs = false; return true;
    case ZYDIS_MNEMONIC_STOSQ: size = 8, movs = false; return true;
    case ZYDIS_MNEMONIC_MOVSB: size = 1, movs = true; return true;
    case ZYDIS_MNEMONIC_MOVSW: size = 2, movs = true; return true;
    case ZYDIS_MNEMONIC_MOVSD: size = 4, movs = true; return true;
    case ZYDIS_MNEMONIC_MOVSQ: size = 8, movs = true; return true;
    default: return false;
  }
}

// --check interp replays a block under the interpreter with exit requests held back (and the
// host timer's signal blocked: system_check.cpp); the jit's run of a checked block holds them
// back too, or a rep instruction would yield on one side only.
struct HeldExitRequest {
  CpuState& c;
  uint32_t held = 0;
  HeldExitRequest(CpuState& cpu, bool on) : c(cpu) {
    if (on) {
      held = c.exit_request;
      c.exit_request = 0;
    }
  }
  ~HeldExitRequest() {
    if (held) c.exit_request = 1;
  }
};

}  // namespace

bool SystemJitEngine::checkable_fallback(const FallbackInsn& f) {
  unsigned size;
  bool movs;
  // (no device access, no interrupt window: a replay under the interpreter repeats nothing)
  return string_form(f.insn.mnemonic, size, movs) || f.insn.mnemonic == ZYDIS_MNEMONIC_INVLPG;
}

uint32_t SystemJitEngine::helper_done(CpuState& c, uint16_t mnemonic, uint32_t counted_after, bool go_on) {
  ++c.insn_count;
  if (!go_on && opts_.count_insns) c.insn_count -= counted_after;
  ++stats_.helpers_by_mnemonic[mnemonic];
  return go_on ? kExitDispatch : kExitRequest;
}

// An exit request before the instruction: it does not run (the interpreter's loop looks at
// the request before each instruction); the block is left at it.
uint32_t SystemJitEngine::helper_not_started(CpuState& c, const FallbackInsn* f) {
  c.rip = f->pc;
  if (opts_.count_insns) c.insn_count -= f->counted_after;
  return kExitStop + uint32_t(StopReason::ExitRequest);
}

// Host bytes of [la, la + len) on one page (string_bulk.cpp chunk), or null.
uint8_t* SystemJitEngine::helper_chunk(uint64_t la, uint64_t len, bool write, bool user) {
  if (!is_canonical(la)) return nullptr;
  uint64_t pa;
  uint32_t err;
  if (!mmu_.translate(la, write ? softmmu::Access::Write : softmmu::Access::Read, user, pa, err)) return nullptr;
  uint8_t* p = mmu_.ram_ptr(pa, len);
  if (p && write) mmu_.note_write(pa, len);  // (translated code on the page is dropped first)
  return p;
}

// A qword read that the interpreter would make without an exception, or false.
bool SystemJitEngine::helper_read_qword(uint64_t la, bool user, uint64_t& v) {
  if ((la & 4095) > 4096 - 8) return false;
  const uint8_t* p = helper_chunk(la, 8, false, user);
  if (!p) return false;
  std::memcpy(&v, p, 8);
  return true;
}

// A GDT descriptor as read_descriptor reads it (segments.cpp), or false: beyond the limit, an
// LDT selector, or a read that would fault.
bool SystemJitEngine::helper_gdt_descriptor(const CpuState& c, uint16_t sel, uint64_t& raw) {
  if (sel & 4) return false;
  const uint32_t off = sel & ~7u;
  if (off + 7 > c.gdtr.limit) return false;
  return helper_read_qword(c.gdtr.base + off, false, raw);
}

// IRETQ in 64-bit mode (interrupts.cpp iret, SDM Vol. 2 IRET "IA-32e mode return"): the
// frame (RIP, CS, RFLAGS, RSP, SS) popped at the CPL's privilege, the CS descriptor checked as
// checked_return_code_segment does, SS as checked_segment does for the new CPL (a null SS
// below ring 3), CS and SS loaded, RFLAGS by the CPL and IOPL rules, and on a return to an
// outer ring the data segments it may not use nulled. Only a return to 64-bit code through
// the GDT, with the SS descriptor's accessed bit set already, is done here; the block always
// ends (the dispatcher looks the new CS:RIP up, in the new mode). RFLAGS.IF going from 0 to 1
// opens the interrupt window at once, as the interpreter's loop does after IRET: the
// after-block word (kAfterPoll) makes the dispatcher take a pending interrupt there.
bool SystemJitEngine::iretq_helper(CpuState& c, FallbackInsn* f, uint32_t& code) {
  if (f->insn.opsize != 8 || (c.rflags & flag::NT) || !in_64bit_mode(c)) return false;
  const unsigned cur = cpl(c);
  const bool user = cur == 3;
  const uint64_t sp = c.gpr[RSP];
  // In the interpreter's order: three pops, the CS descriptor, two pops, the SS descriptor.
  uint64_t rip, cs, fl, new_sp, ss_sel;
  if (!helper_read_qword(sp, user, rip) || !helper_read_qword(sp + 8, user, cs) ||
      !helper_read_qword(sp + 16, user, fl))
    return false;
  const uint16_t sel = uint16_t(cs);
  const unsigned rpl = sel & 3;
  uint64_t raw;
  if ((sel & 0xFFFC) == 0 || !helper_gdt_descriptor(c, sel, raw)) return false;
  const uint16_t a = descriptor_to_segment(sel, raw).attrib;
  if (rpl < cur || !(a & S) || !(a & CODE)) return false;
  if ((a & CONFORMING) ? dpl(a) > rpl : dpl(a) != rpl) return false;
  if (!(a & P) || !(a & L) || (a & DB)) return false;  // (to compatibility mode: the interpreter)
  if (!helper_read_qword(sp + 24, user, new_sp) || !helper_read_qword(sp + 32, user, ss_sel)) return false;
  const uint16_t new_ss = uint16_t(ss_sel);
  Segment ss;
  if ((new_ss & 0xFFFC) == 0 && rpl != 3) {
    ss = Segment{new_ss, uint16_t(rpl << 5), 0, 0};
  } else {
    uint64_t raw_ss;
    if ((new_ss & 0xFFFC) == 0 || !helper_gdt_descriptor(c, new_ss, raw_ss)) return false;
    ss = descriptor_to_segment(new_ss, raw_ss);
    const uint16_t sa = ss.attrib;
    if (!(sa & S) || (new_ss & 3) != rpl || dpl(sa) != rpl || (sa & CODE) || !(sa & WRITABLE) || !(sa & P))
      return false;
    if (!(sa & ACCESSED)) return false;  // (the interpreter sets it in the GDT)
  }
  if (!is_canonical(rip)) return false;  // (#GP(0): the interpreter's)

  const bool was_enabled = c.rflags & flag::IF;
  const uint64_t mask = iret_flags_mask(c, 8);
  set_code_segment(c, sel, raw, rpl);
  c.seg[SEG_SS] = ss;
  c.gpr[RSP] = new_sp;
  c.rip = rip;
  c.rflags = (c.rflags & ~mask) | (fl & mask) | flag::FIXED1;
  if (rpl > cur) null_inaccessible_segments(c);
  if (!was_enabled && (c.rflags & flag::IF)) after_block_ |= kAfterPoll;
  code = helper_done(c, f->insn.mnemonic, f->counted_after, false);
  return true;
}

// SYSRET (fast_calls.cpp sysret, SDM Vol. 2): from CPL 0 with EFER.SCE, to ring 3 with flat CS
// and SS from STAR[63:48] (+16 and +8 for a 64-bit return, CS = STAR[63:48] for a 32-bit one),
// RIP = RCX, RFLAGS = R11 (RF and VM cleared). A non-canonical RCX raises #GP(0) in ring 0:
// the interpreter's. The block ends; IF going from 0 to 1 opens the window (kAfterPoll).
bool SystemJitEngine::sysret_helper(CpuState& c, FallbackInsn* f, uint32_t& code) {
  using namespace softmmu::ctl;
  if (!(c.efer & EFER_LMA) || !(c.efer & EFER_SCE) || cpl(c) != 0) return false;
  const bool to64 = f->insn.opsize == 8;
  if (to64 && !is_canonical(c.gpr[RCX])) return false;  // (#GP(0): the interpreter's)
  if (sysret_load(c, to64)) after_block_ |= kAfterPoll;
  code = helper_done(c, f->insn.mnemonic, f->counted_after, false);
  return true;
}

// INVLPG m at CPL 0 (control_regs.cpp invlpg): the page of the operand's linear address (64-bit
// code: only FS and GS add a base) dropped from the TLB and the JIT TLB. The block goes on
// unless the page may hold its own code (flush_spares_code); the jump caches forget what may
// lead to the page.
bool SystemJitEngine::invlpg_helper(CpuState& c, FallbackInsn* f, uint32_t& code) {
  const Insn& in = f->insn;
  if (cpl(c) != 0 || in.op[0].kind != OpKind::Mem || !in_64bit_mode(c)) return false;
  Exec x;
  x.cpu = &c;
  const uint64_t la = x.linear(in, in.op[0]);
  const uint64_t full_flushes = mmu_.tlb.stats.flushes;
  mmu_.invlpg(la);
  c.rip = f->pc + in.len;
  bool go_on = false;
  if (mmu_.tlb.stats.flushes == full_flushes && flush_spares_code(mmu_.tlb.flush_log, f->pc)) {
    jump_caches_follow_tlb(mmu_.tlb.take_flushes());
    go_on = true;
  }
  code = helper_done(c, f->insn.mnemonic, f->counted_after, go_on);
  return true;
}

// An Interpret op's instruction, when a helper of its own runs it (false: the interpreter).
bool SystemJitEngine::run_helper(CpuState& c, FallbackInsn* f, uint32_t& code) {
  if (debug_) return false;  // (gdb: the interpreter's breakpoints and watchpoints)
  const uint16_t m = f->insn.mnemonic;
  if (m != ZYDIS_MNEMONIC_IRETQ && m != ZYDIS_MNEMONIC_SYSRET && m != ZYDIS_MNEMONIC_INVLPG) return false;
  // IRETQ and SYSRET may open an interrupt window, which a --check replay would take a second
  // time (as POPFQ's): they stay the interpreter's there, in blocks that are not compared.
  if (opts_.check && m != ZYDIS_MNEMONIC_INVLPG) return false;
  settle_lazy_flags(c);
  if (c.exit_request) {
    code = helper_not_started(c, f);
    return true;
  }
  switch (m) {
    case ZYDIS_MNEMONIC_IRETQ: return iretq_helper(c, f, code);
    case ZYDIS_MNEMONIC_SYSRET: return sysret_helper(c, f, code);
    default: return invlpg_helper(c, f, code);
  }
}

// rep movs/stos (a RepString op; string_bulk.cpp, SDM Vol. 2 REP): with DF = 0 and 64-bit
// addresses, each run that stays on one page of source and destination is one memmove or
// fill once both pages are translated, so rCX/rSI/rDI count exactly the iterations done. An
// element the bulk path cannot do (a page that faults, MMIO, one that straddles pages, or the
// last element alone) and everything after it is the interpreter's, which goes on from those
// registers as its own loop would, and raises the fault there. An exit request between runs
// makes the instruction yield as the interpreter's does: counted, RIP left on it, restarted
// with the registers it reached.
uint32_t SystemJitEngine::rep_string(CpuState& c, FallbackInsn* f) {
  SystemJitEngine& e = *this;
  CpuState* cpu = &c;
  const Insn& in = f->insn;
  unsigned size;
  bool movs;
  if (!string_form(in.mnemonic, size, movs) || e.debug_ || in.addrsize != 8 ||
      !(in.prefixes & (pfx::REP | pfx::REPNE)))
    return fallback_helper(cpu, f);
  settle_lazy_flags(c);
  if (c.rflags & flag::DF) return fallback_helper(cpu, f);
  HeldExitRequest hold(c, e.opts_.check);
  if (c.exit_request) return e.helper_not_started(c, f);
  e.code_changed_ = false;
  // (a write that drops code may drop this block and f with it: what is needed of f is copied)
  const uint64_t pc = f->pc, next = f->pc + in.len;
  const uint16_t mnemonic = in.mnemonic;
  const uint32_t counted_after = f->counted_after;
  const bool user = cpl(c) == 3;
  const uint8_t sseg = movs ? string_source_segment(in) : uint8_t(SEG_DS);
  const uint64_t src_base = sseg == SEG_FS || sseg == SEG_GS ? c.seg[sseg].base : 0;
  const uint64_t v = c.gpr[RAX];
  bool started = false;
  try {
    while (const uint64_t count = c.gpr[RCX]) {
      if (started && c.exit_request && !e.opts_.check) {  // (a long rep yields, and goes on when run again)
        c.rip = pc;
        return e.helper_done(c, mnemonic, counted_after, false);
      }
      const uint64_t dst = c.gpr[RDI];
      uint64_t n = std::min(count, room(dst, size));
      const uint8_t* from = nullptr;
      uint8_t* to = nullptr;
      if (movs) {
        const uint64_t src = src_base + c.gpr[RSI];
        n = std::min(n, room(src, size));
        // (the destination inside the chunk's source, linearly: no more than the distance at
        // once, as string_bulk.cpp does)
        if (n > 1 && dst > src && dst - src < n * size) n = std::max<uint64_t>(1, (dst - src) / size);
        from = n > 1 ? e.helper_chunk(src, n * size, false, user) : nullptr;
        to = from ? e.helper_chunk(dst, n * size, true, user) : nullptr;
      } else {
        to = n > 1 ? e.helper_chunk(dst, n * size, true, user) : nullptr;
      }
      if (!to) break;
      if (movs) std::memmove(to, from, n * size);
      else fill(to, v, n, size);
      if (movs) c.gpr[RSI] += n * size;
      c.gpr[RDI] += n * size;
      c.gpr[RCX] = count - n;
      started = true;
    }
  } catch (...) {
    // (a page walk that stops the machine: the interpreter meets it again, from here)
  }
  if (c.gpr[RCX] == 0) {
    c.rip = next;
    return e.helper_done(c, mnemonic, counted_after, !e.code_changed_);  // (code written: the block may be gone)
  }
  if (e.code_changed_) {
    // The block (and f) may be gone: it is left at the instruction, not counted yet, which
    // runs again from the registers reached (the interpreter's part from the dispatcher).
    c.rip = pc;
    if (e.opts_.count_insns) c.insn_count -= counted_after;
    return kExitRequest;
  }
  // The rest, element by element, in the interpreter.
  return fallback_helper(cpu, f);
}

void SystemJitEngine::print_helpers(std::FILE* out) const {
  uint64_t total = 0;
  std::vector<std::pair<uint64_t, size_t>> top;
  for (size_t m = 0; m < std::size(stats_.helpers_by_mnemonic); ++m)
    if (uint64_t n = stats_.helpers_by_mnemonic[m]) {
      total += n;
      top.emplace_back(n, m);
    }
  std::sort(top.rbegin(), top.rend());
  std::string list;
  for (auto& [n, m] : top)
    list += fmt::format("{}{} {}", list.empty() ? "" : ", ", ZydisMnemonicGetString(ZydisMnemonic(m)), n);
  fmt::print(out, "  system helpers:       {}{}\n", total, list.empty() ? "" : " (" + list + ")");
}

}  // namespace vireo::jit
