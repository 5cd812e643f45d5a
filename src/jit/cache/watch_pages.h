// WatchPages: gdb's watchpoints as host page protection (user mode; issue 18). The jit runs
// translated code at full speed while watchpoints are set: the guest pages holding a watched
// range are protected on the host (a write watch leaves them read-only, a read or access watch
// makes them PROT_NONE), so only the accesses to those pages fault. The engine resolves such a
// fault by running the one accessing instruction in the interpreter, whose per-instruction
// watchpoint check reports the hit (interp/debug_checks.cpp), with the page's protection
// lifted for that instruction (JitEngine::step_watched, jit/watch_step.cpp).
//
// One guest's threads share one set (its SharedCode owns it, under SharedCode's lock): the
// host protection of a page is one thing, made of the guest's own protection, the SMC
// write-protection of code pages and this. SharedCode::apply_protection is where the three
// meet.
//
// A read watch on a page the guest executes makes it PROT_NONE too. Code already translated
// from it runs as before (it does not read the page: its data accesses fault as any do). New
// code there cannot be fetched: the translator's fetch stops at the page (its probe), and the
// interpreter's fetch faults, so each instruction there runs alone in the interpreter with the
// page lifted (step_watched), while translated code runs everywhere else. (Before, such a set
// ran the whole guest in the interpreter.)
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpu/debug_target.h"

namespace vireo::jit {

class WatchPages {
 public:
  // Replaces the watched set; `changed` gets the pages whose protection must be redone.
  void set(const std::vector<Watchpoint>& w, std::vector<uint64_t>& changed);
  // What the watch leaves of the guest's protection `prot` for `page` (PROT_* bits).
  int mask(uint64_t page, int prot) const;
  bool watched(uint64_t page) const { return need_.count(page) != 0; }
  bool empty() const { return need_.empty(); }
  // A page lifted (by count) has the guest's protection while one instruction, or the kernel
  // side of a system call, accesses it.
  void lift(uint64_t page) { ++lifted_[page]; }
  void lower(uint64_t page);
  // Every page [addr, addr + len) touches that is watched.
  std::vector<uint64_t> pages_in(uint64_t addr, uint64_t len) const;

 private:
  static constexpr uint8_t kWrite = 1, kRead = 2;
  std::unordered_map<uint64_t, uint8_t> need_;      // page -> kWrite | kRead
  std::unordered_map<uint64_t, unsigned> lifted_;   // page -> how many lift it
};

}  // namespace vireo::jit
