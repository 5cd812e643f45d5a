// A host #GP under a guest fault scope (mem/host_fault.h): recorded and unwound to the scope
// only where the scope takes it (mem/host_fault_gp.h: the JIT's, the host-quirk probes); the SHA alignment probe.
#include <gtest/gtest.h>

#include <csetjmp>
#include <cstdint>

#include "cpu/host_quirks.h"
#include "mem/host_fault_gp.h"

namespace vireo {
namespace {

// A misaligned `movaps` is #GP on every x86-64 host (SDM Vol. 2, MOVAPS: exceptions type 1).
bool misaligned_movaps_unwinds_as_gp() {
  install_host_fault_handlers();
  alignas(16) static uint8_t buf[32];
  GuestMemory window;
  window.base = buf;
  window.limit = sizeof buf;
  static thread_local GuestFaultScope scope;
  GuestFaultScope* const outer = set_gp_scope(&scope);
  bool gp = false;
  if (sigsetjmp(scope.env, 0)) {
    deactivate_fault_scope(scope);
    gp = take_host_gp();
  } else {
    activate_fault_scope(scope, window);
    asm volatile("movaps 1(%0), %%xmm0" : : "r"(buf) : "xmm0", "memory");
    deactivate_fault_scope(scope);
  }
  set_gp_scope(outer);
  return gp;
}

TEST(HostFaultGp, ScopeThatTakesGpGetsIt) { EXPECT_TRUE(misaligned_movaps_unwinds_as_gp()); }

// The probe answers the same twice (once, cached) and leaves the fault handling usable.
TEST(HostFaultGp, ShaAlignmentProbeIsStable) {
  const bool a = host_sha_checks_alignment();
  EXPECT_EQ(host_sha_checks_alignment(), a);
  EXPECT_TRUE(misaligned_movaps_unwinds_as_gp());
}

}  // namespace
}  // namespace vireo
