// `vireo boot --engine jit --check interp`: lockstep self-check of the system-mode jit.
//
// Each block runs under the jit (unchained, so that every block comes back here), with every
// page it writes saved first: the JIT TLB is emptied before the block, so its first write to
// each page goes through the fill helper, and the interpreter's writes through
// Mmu::note_write (CodeWatch::watch_all). The pages are then put back as they were, the
// CpuState too, and the interpreter runs as many instructions as the block retired
// (CpuState::insn_count). Registers, RIP, RFLAGS, XMM and every page either of them wrote
// must then be equal; the first difference stops the machine with one line naming the
// block's guest pc. The run goes on from the interpreter's (equal) state.
//
// A block that runs interpreter fallbacks is run under the jit only, not compared: a fallback
// is the interpreter's own code already, and running it twice would repeat its device
// accesses (port I/O; MMIO never runs inside a block, it leaves it for the interpreter) or
// take an interrupt twice (IRETQ, SYSRET opening the window). Blocks whose only helpers are
// rep movs/stos and INVLPG (system_helpers.cpp, or the interpreter's part of them) touch
// neither and are compared (checkable_fallback).
#include <fmt/format.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstring>

#include "interp/system/system_mode.h"
#include "jit/system/system_jit_engine.h"

namespace vireo::jit {

namespace {

const char* const kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// The first difference between the jit's state and the interpreter's, or "".
std::string first_difference(const CpuState& j, const CpuState& i) {
  if (j.rip != i.rip) return fmt::format("rip: jit {:#x}, interp {:#x}", j.rip, i.rip);
  for (unsigned r = 0; r < 16; ++r)
    if (j.gpr[r] != i.gpr[r]) return fmt::format("{}: jit {:#x}, interp {:#x}", kGprNames[r], j.gpr[r], i.gpr[r]);
  // RF is the interpreter's business (delivery); the rest of RFLAGS must agree.
  constexpr uint64_t kMask = ~uint64_t(1u << 16);
  if ((j.rflags & kMask) != (i.rflags & kMask))
    return fmt::format("rflags: jit {:#x}, interp {:#x}", j.rflags, i.rflags);
  for (unsigned x = 0; x < 16; ++x)
    if (std::memcmp(&j.xmm[x], &i.xmm[x], sizeof j.xmm[x]) != 0) return fmt::format("xmm{} differs", x);
  if (j.mxcsr != i.mxcsr) return fmt::format("mxcsr: jit {:#x}, interp {:#x}", j.mxcsr, i.mxcsr);
  // (SWAPGS is translated: the bases it exchanges, and FS's beside them)
  for (unsigned s : {unsigned(SEG_FS), unsigned(SEG_GS)})
    if (j.seg[s].base != i.seg[s].base)
      return fmt::format("{}.base: jit {:#x}, interp {:#x}", s == SEG_FS ? "fs" : "gs", j.seg[s].base, i.seg[s].base);
  if (j.kernel_gs_base != i.kernel_gs_base)
    return fmt::format("kernel_gs_base: jit {:#x}, interp {:#x}", j.kernel_gs_base, i.kernel_gs_base);
  return "";
}

// Blocks SIGALRM (machine/host_timer.cpp: the only source of exit requests in system mode)
// for its lifetime; one that arrived meanwhile is delivered when it ends.
struct AlarmsHeld {
  bool on;
  sigset_t old;
  explicit AlarmsHeld(bool hold) : on(hold) {
    if (!on) return;
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm, &old);
  }
  ~AlarmsHeld() {
    if (on) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
};

}  // namespace

StopReason SystemJitEngine::run_checked_block(CpuState& cpu, TranslatedBlock* b, const Key& key, uint32_t& code,
                                              void*& link) {
  if (!std::all_of(b->fallbacks.begin(), b->fallbacks.end(), [](const auto& f) { return checkable_fallback(*f); })) {
    ++stats_.unchecked_blocks;
    code = enter(cpu, b, link);
    return StopReason::None;
  }
  // A rep string instruction yields at an exit request between its pages (the interpreter's
  // and the helper's alike): the host timer's (SIGALRM) is held back while the block and its
  // replay run, or one side could stop part-way and the other not.
  AlarmsHeld alarms(std::any_of(b->fallbacks.begin(), b->fallbacks.end(),
                                [](const auto& f) { return f->insn.prefixes & (pfx::REP | pfx::REPNE); }));
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> before;  // page -> contents before
  check_pages_ = &before;
  watch_all = true;
  mmu_.tlb.jit_flush();
  const CpuState s0 = cpu;
  const uint64_t events = delivered_events();
  code = enter(cpu, b, link);
  const CpuState sj = cpu;
  if (delivered_events() != events) {
    // An exception raised by a fallback (a rep string instruction's #PF, INVLPG's #GP at CPL
    // 3) was delivered inside the block: the replay, counting instructions, would stop before
    // the faulting one. The block stays the jit's, not compared.
    watch_all = false;
    check_pages_ = nullptr;
    ++stats_.unchecked_blocks;
    return StopReason::None;
  }
  // The jit's results, then memory as it was.
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> by_jit;
  for (auto& [page, old] : before) {
    auto mine = std::make_unique<uint8_t[]>(4096);
    std::memcpy(mine.get(), ram_ + (page << 12), 4096);
    by_jit.emplace(page, std::move(mine));
    std::memcpy(ram_ + (page << 12), old.get(), 4096);
  }
  cpu = s0;
  uint64_t left = sj.insn_count - s0.insn_count;
  std::string diff;
  const int pending = cpu.exit_request;
  while (left) {
    // (an exit request raised meanwhile is served after the comparison)
    cpu.exit_request = 0;
    const uint64_t at = cpu.insn_count;
    StopReason r = interp_.run_system_steps(cpu, left, false);
    left -= std::min(left, cpu.insn_count - at);
    if (r == StopReason::InstructionLimit || r == StopReason::ExitRequest) continue;
    diff = fmt::format("the interpreter stopped ({}) with {} instructions left", int(r), left);
    break;
  }
  if (pending || sj.exit_request) cpu.exit_request = 1;
  watch_all = false;
  check_pages_ = nullptr;
  if (diff.empty()) diff = first_difference(sj, cpu);
  if (diff.empty()) {
    for (auto& [page, old] : before) {
      auto it = by_jit.find(page);
      const uint8_t* mine = it != by_jit.end() ? it->second.get() : old.get();
      const uint8_t* theirs = ram_ + (page << 12);
      if (std::memcmp(mine, theirs, 4096) == 0) continue;
      unsigned off = 0;
      while (mine[off] == theirs[off]) ++off;
      diff = fmt::format("memory at physical {:#x}: jit {:#04x}, interp {:#04x}", (page << 12) + off, mine[off],
                         theirs[off]);
      break;
    }
  }
  if (!diff.empty())
    throw machine::MachineStop(fmt::format(
        "--check interp: the block at {:#x} (physical {:#x}, CPL {}) differs after {} instructions: {}", key.virt_pc,
        key.phys_pc, key.mode & 3, sj.insn_count - s0.insn_count, diff));
  ++stats_.checked_blocks;
  return StopReason::None;
}

}  // namespace vireo::jit
