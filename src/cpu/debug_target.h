// The debug interface every engine implements (design.md, "gdb stub"): breakpoints,
// watchpoints and single-step, set by a platform's debugger on the engine of each CPU.
//
// The engine only reads these controls and, when one of them fires, returns
// StopReason::Debug with `event` filled in; reading and writing registers (CpuState) and
// memory is the platform's (it knows the guest's address space). No engine ever writes an int3
// into guest memory: a breakpoint is a check before the instruction runs, so the guest reads
// its own code unchanged.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

namespace vireo {

// gdb's Z2/Z3/Z4 kinds (hardware write, read and access watchpoints).
enum class WatchKind : uint8_t { Write = 2, Read = 3, Access = 4 };

struct Watchpoint {
  uint64_t addr = 0, len = 0;
  WatchKind kind = WatchKind::Write;
  bool overlaps(uint64_t a, uint64_t n) const { return a < addr + len && addr < a + n; }
};

struct DebugControls {
  std::vector<uint64_t> breakpoints;  // sorted, no duplicates (guest virtual PCs)
  std::vector<Watchpoint> watchpoints;
  bool single_step = false;
  // Reads guest memory for the watchpoints' before/after compare (the platform's view:
  // virtual addresses through the guest's own page tables in system mode); false if unreadable.
  std::function<bool(uint64_t addr, void* out, uint64_t len)> read_memory;

  // Filled in by the engine when it returns StopReason::Debug.
  enum class Event : uint8_t { None, Breakpoint, Step, Watch } event = Event::None;
  Watchpoint hit{};  // Event::Watch: which watchpoint (its kind says how it was hit)

  bool is_breakpoint(uint64_t pc) const {
    return !breakpoints.empty() && std::binary_search(breakpoints.begin(), breakpoints.end(), pc);
  }
};

}  // namespace vireo
