// NativeRunner: executes cases on the host CPU, the oracle.
//
// Cases run in a forked child (one fork per batch, not per case): the child loads a case's
// state with difftest_native_enter (native_entry.S), runs the code, and the ud2 at its end or
// the instruction's own fault raises a signal whose handler (on an alternate stack, since the
// guest RSP is arbitrary) copies the register state out of the signal frame and siglongjmps
// back to the case loop. Results travel back through a shared mapping; a child that dies
// anyway is restarted after the case that killed it.
#pragma once

#include <cstddef>
#include <utility>

#include "state.h"

namespace vireo::difftest {

class NativeRunner {
 public:
  // Maps the code page, scratch page and control block at their fixed host addresses. Must run
  // before anything else (e.g. an AddressSpace) could take those addresses.
  NativeRunner();
  ~NativeRunner();

  static constexpr size_t kMaxBatch = 256;

  // Runs cases[0..n) natively; n <= kMaxBatch.
  void run(const Case* cases, size_t n, CaseResult* results);
  // A host range the native child unmaps before it runs cases: the engine's guest window is
  // a large PROT_NONE reservation that the fork would otherwise carry into the oracle, where
  // a wild access inside it gets SEGV_ACCERR instead of the SEGV_MAPERR of an empty address.
  void unmap_in_child(void* addr, size_t len) { drop_ = {addr, len}; }
  // A limit on each case's user CPU time (0: none), for code that may loop (random code):
  // a case over it ends with EndKind::Other, detail SIGVTALRM, if it exceeds it three times
  // in a row (one overrun can be the host's accounting, not the code: native_runner.cpp).
  void set_cpu_limit_ms(unsigned ms) { cpu_limit_ms_ = ms; }

 private:
  struct Shared;
  Shared* shared_ = nullptr;
  std::pair<void*, size_t> drop_{nullptr, 0};
  unsigned cpu_limit_ms_ = 0;
};

}  // namespace vireo::difftest
