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
// A read watch on a page the guest may execute is not made PROT_NONE: the translator and the
// interpreter fetch code with plain host loads. Such a set is refused (set() returns false)
// and the engine runs the guest in the interpreter while it is set, as before.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpu/debug_target.h"

namespace vireo::jit {

class WatchPages {
 public:
  // Replaces the watched set; `changed` gets the pages whose protection must be redone.
  // `executable(page)`: whether the guest may execute it (read watches there are refused:
  // returns false, and nothing is watched by protection).
  template <class Exec>
  bool set(const std::vector<Watchpoint>& w, Exec executable, std::vector<uint64_t>& changed);
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

template <class Exec>
bool WatchPages::set(const std::vector<Watchpoint>& w, Exec executable, std::vector<uint64_t>& changed) {
  std::unordered_map<uint64_t, uint8_t> need;
  bool ok = true;
  for (const Watchpoint& p : w) {
    if (p.len == 0) continue;
    const uint8_t how = p.kind == WatchKind::Write ? kWrite : kRead | kWrite;
    for (uint64_t page = p.addr & ~uint64_t(4095); page <= ((p.addr + p.len - 1) & ~uint64_t(4095)); page += 4096) {
      if ((how & kRead) && executable(page)) ok = false;
      need[page] |= how;
      if (page + 4096 == 0) break;
    }
  }
  if (!ok) need.clear();
  for (auto& [page, how] : need_)
    if (auto it = need.find(page); it == need.end() || it->second != how) changed.push_back(page);
  for (auto& [page, how] : need)
    if (!need_.count(page)) changed.push_back(page);
  need_ = std::move(need);
  return ok;
}

}  // namespace vireo::jit
