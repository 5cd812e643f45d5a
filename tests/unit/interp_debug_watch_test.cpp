// The interpreter's watchpoint checks (interp/debug_checks.cpp) for stack instructions: a push,
// pop, call or ret hits a watchpoint on its own stack slot, and not one on a value another
// guest thread changes while it runs (simulated by a read_memory that sees the value change).
#include <gtest/gtest.h>

#include <cstring>

#include "cpu/debug_target.h"
#include "interp_harness.h"

namespace vireo::test {
namespace {

struct Watched {
  InterpHarness h;
  DebugControls d;
  int reads = 0;
  explicit Watched(uint64_t addr, bool changes_under_us) {
    d.watchpoints.push_back({addr, 8, WatchKind::Write});
    d.read_memory = [this, changes_under_us](uint64_t a, void* out, uint64_t len) {
      std::memcpy(out, h.as().host(a), len);
      // The second read is after the instruction: another thread wrote the value meanwhile.
      if (changes_under_us && reads++ == 1) static_cast<uint8_t*>(out)[0] ^= 0xFF;
      return true;
    };
    h.interp().set_debug(&d, nullptr);
  }
};

TEST(InterpDebugWatch, StackInstructionsHitTheirOwnSlot) {
  // push rax writes [rsp - 8, rsp); pop rcx reads [rsp, rsp + 8)
  {
    Watched w(InterpHarness::kData + 0x8000 - 8, false);
    EXPECT_EQ(w.h.run({0x50}), StopReason::Debug);
    EXPECT_EQ(w.d.event, DebugControls::Event::Watch);
  }
  {
    Watched w(InterpHarness::kData + 0x8000, false);
    EXPECT_EQ(w.h.run({0x59}), StopReason::Debug);
    EXPECT_EQ(w.d.event, DebugControls::Event::Watch);
  }
  {  // a push below another slot does not touch it
    Watched w(InterpHarness::kData + 0x8000, false);
    EXPECT_EQ(w.h.run({0x50}), StopReason::None);
  }
}

TEST(InterpDebugWatch, AnotherThreadsWriteIsNotAPushsHit) {
  // A watched global far from the stack changes while a push and a pop run: not theirs.
  Watched w(InterpHarness::kData + 0x100, true);
  EXPECT_EQ(w.h.run({0x50}), StopReason::None);
  EXPECT_EQ(w.d.event, DebugControls::Event::None);
}

}  // namespace
}  // namespace vireo::test
