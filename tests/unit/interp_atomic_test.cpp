// Atomic family: cmpxchg, cmpxchg8b/16b, xadd compared with the host executing the same
// instruction natively; LOCK forms, alignment #GP and fault precision.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "interp_harness.h"

namespace vireo::test {
namespace {

struct Regs {
  uint64_t rax, rbx, rcx, flags;
};

// Runs "<text>" natively with RAX/RBX/RCX and the given RFLAGS (register operands only).
#define NATIVE(text)                                                                   \
  [](Regs r) {                                                                         \
    uint64_t fin = r.flags;                                                            \
    asm volatile("subq $128, %%rsp\n\tpushq %[fi]\n\tpopfq\n\t" text                   \
                 "\n\tpushfq\n\tpopq %[fi]\n\taddq $128, %%rsp"                        \
                 : "+a"(r.rax), "+b"(r.rbx), "+c"(r.rcx), [fi] "+r"(fin)               \
                 :                                                                     \
                 : "cc");                                                              \
    r.flags = fin;                                                                     \
    return r;                                                                          \
  }

struct Case {
  const char* name;
  std::vector<uint8_t> code;
  Regs (*native)(Regs);
};

TEST(InterpAtomic, RegisterFormsMatchNative) {
  const Case cases[] = {
      {"cmpxchg8", {0x0F, 0xB0, 0xCB}, NATIVE("cmpxchgb %%cl, %%bl")},
      {"cmpxchg16", {0x66, 0x0F, 0xB1, 0xCB}, NATIVE("cmpxchgw %%cx, %%bx")},
      {"cmpxchg32", {0x0F, 0xB1, 0xCB}, NATIVE("cmpxchgl %%ecx, %%ebx")},
      {"cmpxchg64", {0x48, 0x0F, 0xB1, 0xCB}, NATIVE("cmpxchgq %%rcx, %%rbx")},
      {"xadd8", {0x0F, 0xC0, 0xCB}, NATIVE("xaddb %%cl, %%bl")},
      {"xadd16", {0x66, 0x0F, 0xC1, 0xCB}, NATIVE("xaddw %%cx, %%bx")},
      {"xadd32", {0x0F, 0xC1, 0xCB}, NATIVE("xaddl %%ecx, %%ebx")},
      {"xadd64", {0x48, 0x0F, 0xC1, 0xCB}, NATIVE("xaddq %%rcx, %%rbx")},
      {"xadd64same", {0x48, 0x0F, 0xC1, 0xC0}, NATIVE("xaddq %%rax, %%rax")},
  };
  std::mt19937_64 rng(13);
  const uint64_t edges[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFFFFFF, 0x80000000,
                            0x8000000000000000, ~0ull};
  InterpHarness h;
  for (const Case& c : cases) {
    for (int i = 0; i < 400; ++i) {
      Regs in{i < 11 ? edges[i] : rng(), rng(), rng(),
              flag::FIXED1 | (rng() & kArithFlags)};
      if (i % 3 == 0) in.rbx = (in.rbx & ~0xFFFFFFFFull) | (in.rax & 0xFFFFFFFF);  // equal low
      if (i % 6 == 0) in.rbx = in.rax;                                              // equal
      Regs n = c.native(in);
      h.cpu.gpr[RAX] = in.rax;
      h.cpu.gpr[RBX] = in.rbx;
      h.cpu.gpr[RCX] = in.rcx;
      h.cpu.rflags = in.flags;
      ASSERT_EQ(h.run(c.code), StopReason::None) << c.name;
      auto where = [&] {
        return ::testing::Message() << c.name << std::hex << " rax=" << in.rax
                                    << " rbx=" << in.rbx << " rcx=" << in.rcx;
      };
      EXPECT_EQ(h.cpu.gpr[RAX], n.rax) << where();
      EXPECT_EQ(h.cpu.gpr[RBX], n.rbx) << where();
      EXPECT_EQ(h.cpu.gpr[RCX], n.rcx) << where();
      EXPECT_EQ(h.cpu.rflags & kArithFlags, n.flags & kArithFlags) << where();
    }
  }
}

TEST(InterpAtomic, LockedMemoryFormsMatchNative) {
  std::mt19937_64 rng(17);
  InterpHarness h;
  for (int i = 0; i < 300; ++i) {
    uint64_t mem = rng(), rax = (i & 1) ? mem : rng(), rcx = rng();
    uint64_t hmem = mem, hrax = rax, hrcx = rcx, fl;
    // lock cmpxchg [rdx], rcx
    asm volatile("lock cmpxchgq %[c], %[m]\n\tpushfq\n\tpopq %[f]"
                 : [m] "+m"(hmem), "+a"(hrax), [f] "=r"(fl)
                 : [c] "r"(hrcx)
                 : "cc");
    std::memcpy(h.data(), &mem, 8);
    h.cpu.gpr[RAX] = rax;
    h.cpu.gpr[RCX] = rcx;
    h.cpu.gpr[RDX] = InterpHarness::kData;
    ASSERT_EQ(h.run({0xF0, 0x48, 0x0F, 0xB1, 0x0A}), StopReason::None);
    uint64_t got;
    std::memcpy(&got, h.data(), 8);
    EXPECT_EQ(got, hmem);
    EXPECT_EQ(h.cpu.gpr[RAX], hrax);
    EXPECT_EQ(h.cpu.rflags & kArithFlags, fl & kArithFlags);

    // lock xadd dword [rdx], ecx
    uint32_t m32 = uint32_t(rng()), h32 = m32;
    uint64_t c64 = rng(), hc64 = c64;
    asm volatile("lock xaddl %k[c], %[m]\n\tpushfq\n\tpopq %[f]"
                 : [m] "+m"(h32), [c] "+r"(hc64), [f] "=r"(fl)
                 :
                 : "cc");
    std::memcpy(h.data(), &m32, 4);
    h.cpu.gpr[RCX] = c64;
    ASSERT_EQ(h.run({0xF0, 0x0F, 0xC1, 0x0A}), StopReason::None);
    uint32_t got32;
    std::memcpy(&got32, h.data(), 4);
    EXPECT_EQ(got32, h32);
    EXPECT_EQ(h.cpu.gpr[RCX], hc64);
    EXPECT_EQ(h.cpu.rflags & kArithFlags, fl & kArithFlags);
  }
}

TEST(InterpAtomic, Cmpxchg8bAnd16bMatchNative) {
  std::mt19937_64 rng(19);
  InterpHarness h;
  for (int i = 0; i < 200; ++i) {
    alignas(16) uint64_t m[2] = {rng(), rng()}, hm[2] = {m[0], m[1]};
    uint64_t rax = (i & 1) ? m[0] : rng(), rdx = (i & 1) ? m[1] : rng();
    uint64_t rbx = rng(), rcx = rng();
    if (i % 4 == 1) rdx ^= 1;  // low half equal, high half not
    bool sixteen = i >= 100;
    uint64_t hrax = rax, hrdx = rdx, fl;
    if (sixteen) {
      asm volatile("lock cmpxchg16b %[m]\n\tpushfq\n\tpopq %[f]"
                   : [m] "+m"(hm), "+a"(hrax), "+d"(hrdx), [f] "=r"(fl)
                   : "b"(rbx), "c"(rcx)
                   : "cc");
    } else {
      // cmpxchg8b compares EDX:EAX, i.e. the low halves of rdx and rax.
      uint32_t lo = uint32_t(m[0]);
      if (i & 1) { rax = lo; rdx = m[0] >> 32; hrax = rax; hrdx = rdx; }
      asm volatile("lock cmpxchg8b %[m]\n\tpushfq\n\tpopq %[f]"
                   : [m] "+m"(hm[0]), "+a"(hrax), "+d"(hrdx), [f] "=r"(fl)
                   : "b"(rbx), "c"(rcx)
                   : "cc");
    }
    std::memcpy(h.data() + 0x100, m, 16);
    h.cpu.gpr[RAX] = rax;
    h.cpu.gpr[RDX] = rdx;
    h.cpu.gpr[RBX] = rbx;
    h.cpu.gpr[RCX] = rcx;
    h.cpu.gpr[RDI] = InterpHarness::kData + 0x100;
    h.cpu.rflags = flag::FIXED1 | (rng() & kArithFlags);
    uint64_t other = h.cpu.rflags & (kArithFlags & ~flag::ZF);
    std::vector<uint8_t> code = {0xF0, 0x0F, 0xC7, 0x0F};
    if (sixteen) code = {0xF0, 0x48, 0x0F, 0xC7, 0x0F};
    ASSERT_EQ(h.run(code), StopReason::None);
    uint64_t got[2];
    std::memcpy(got, h.data() + 0x100, 16);
    EXPECT_EQ(got[0], hm[0]) << i;
    EXPECT_EQ(got[1], hm[1]) << i;
    EXPECT_EQ(h.cpu.gpr[RAX], hrax) << i;
    EXPECT_EQ(h.cpu.gpr[RDX], hrdx) << i;
    EXPECT_EQ(h.cpu.rflags & flag::ZF, fl & flag::ZF) << i;
    EXPECT_EQ(h.cpu.rflags & (kArithFlags & ~flag::ZF), other) << i;  // unaffected
  }
}

TEST(InterpAtomic, Cmpxchg16bMisalignedIsGp) {
  InterpHarness h;
  h.cpu.gpr[RDI] = InterpHarness::kData + 8;
  h.cpu.gpr[RAX] = 1;
  ASSERT_EQ(h.run({0x48, 0x0F, 0xC7, 0x0F}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_GP);
  EXPECT_EQ(h.cpu.fault.error_code, 0u);
  EXPECT_EQ(h.cpu.rip, InterpHarness::kCode);
  EXPECT_EQ(h.cpu.gpr[RAX], 1u);
}

TEST(InterpAtomic, FailingCompareStillWritesMemory) {
  InterpHarness h;
  // The data page made read-only: a failing cmpxchg still faults as a write.
  ASSERT_EQ(mprotect(h.data(), 0x1000, PROT_READ), 0);
  h.cpu.gpr[RDX] = InterpHarness::kData;
  h.cpu.gpr[RAX] = 12345;  // memory holds 0: compare fails
  ASSERT_EQ(h.run({0xF0, 0x48, 0x0F, 0xB1, 0x0A}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_PF);
  EXPECT_TRUE(h.cpu.fault.is_write);
  EXPECT_EQ(h.cpu.gpr[RAX], 12345u);  // no register written
  ASSERT_EQ(mprotect(h.data(), 0x1000, PROT_READ | PROT_WRITE), 0);
}

TEST(InterpAtomic, LockedAluMemoryForms) {
  InterpHarness h;
  uint64_t v = 40;
  std::memcpy(h.data(), &v, 8);
  h.cpu.gpr[RDX] = InterpHarness::kData;
  h.cpu.gpr[RCX] = 2;
  ASSERT_EQ(h.run({0xF0, 0x48, 0x01, 0x0A}), StopReason::None);  // lock add [rdx], rcx
  ASSERT_EQ(h.run({0xF0, 0x48, 0xFF, 0x02}), StopReason::None);  // lock inc qword [rdx]
  std::memcpy(&v, h.data(), 8);
  EXPECT_EQ(v, 43u);
}

}  // namespace
}  // namespace vireo::test
