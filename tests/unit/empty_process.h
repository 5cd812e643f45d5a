// A guest process with no program loaded, run by the interpreter: what tests of the Linux layer
// (system call handlers, guest memory access) map their own pages into.
#pragma once

#include <memory>

#include "interp/interpreter.h"
#include "linux/process.h"

namespace vireo {

inline std::unique_ptr<Process> empty_interp_process() {
  RunOptions o;
  o.program = "/usr/local/bin/guest-prog";
  o.make_engine = [](const GuestMemory& m) { return std::make_unique<Interpreter>(m); };
  auto p = std::make_unique<Process>(o);
  p->load_empty();
  return p;
}

}  // namespace vireo
