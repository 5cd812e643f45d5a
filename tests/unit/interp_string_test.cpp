// String family: movs/stos/lods/cmps/scas at every size, with and without rep/repe/repne, both
// directions, compared with the host running the same instruction natively on a buffer with
// the same layout; faults mid-way compared with the host's own fault state (SIGSEGV context).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <csetjmp>
#include <csignal>
#include <random>
#include <vector>

#include "interp_harness.h"

namespace vireo::test {
namespace {

struct StrRegs {
  uint64_t rsi, rdi, rcx, rax, flags;
};
using NativeFn = void (*)(StrRegs&);

// Runs "<text>" natively with RSI/RDI/RCX/RAX and RFLAGS (DF included); DF is cleared after.
#define NATIVE(text)                                                                         \
  [](StrRegs& r) {                                                                           \
    asm volatile("subq $128, %%rsp\n\tpushq %[f]\n\tpopfq\n\t" text                          \
                 "\n\tpushfq\n\tpopq %[f]\n\tcld\n\taddq $128, %%rsp"                        \
                 : "+S"(r.rsi), "+D"(r.rdi), "+c"(r.rcx), "+a"(r.rax), [f] "+r"(r.flags)     \
                 :                                                                           \
                 : "cc", "memory");                                                          \
  }

struct Case {
  const char* name;
  std::vector<uint8_t> code;
  NativeFn native;
  unsigned size;
  int kind;  // 0 movs, 1 stos, 2 lods, 3 cmps, 4 scas
};

#define SIZES(mn, k, op, text)                                                       \
  Case{mn "b", {op}, NATIVE(text "b"), 1, k},                                       \
      Case{mn "w", {0x66, op + 1}, NATIVE(text "w"), 2, k},                          \
      Case{mn "d", {op + 1}, NATIVE(text "l"), 4, k},                               \
      Case{mn "q", {0x48, op + 1}, NATIVE(text "q"), 8, k}

std::vector<Case> with_prefix(const std::vector<Case>& base, uint8_t prefix) {
  std::vector<Case> out;
  for (Case c : base) {
    c.code.insert(c.code.begin(), prefix);
    out.push_back(c);
  }
  return out;
}

constexpr uint64_t kBuf = 0x4000;  // bytes of the compared window

TEST(InterpString, AllFormsMatchNative) {
  const std::vector<Case> plain = {SIZES("movs", 0, 0xA4, "movs"), SIZES("stos", 1, 0xAA, "stos"),
                                   SIZES("lods", 2, 0xAC, "lods"), SIZES("cmps", 3, 0xA6, "cmps"),
                                   SIZES("scas", 4, 0xAE, "scas")};
  const std::vector<Case> rep = {
      SIZES("rep movs", 0, 0xA4, "rep movs"), SIZES("rep stos", 1, 0xAA, "rep stos"),
      SIZES("rep lods", 2, 0xAC, "rep lods"), SIZES("repe cmps", 3, 0xA6, "repe cmps"),
      SIZES("repe scas", 4, 0xAE, "repe scas")};
  const std::vector<Case> repne = {SIZES("repne cmps", 3, 0xA6, "repne cmps"),
                                   SIZES("repne scas", 4, 0xAE, "repne scas")};
  std::vector<Case> all = plain;
  for (auto& c : with_prefix(rep, 0xF3)) all.push_back(c);
  for (auto& c : with_prefix(repne, 0xF2)) all.push_back(c);

  // Page-aligned host buffer mirroring the guest data window.
  auto* host = static_cast<uint8_t*>(mmap(nullptr, kBuf, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(host, MAP_FAILED);
  std::mt19937_64 rng(21);
  InterpHarness h;
  for (const Case& c : all) {
    for (int i = 0; i < 60; ++i) {
      bool df = i & 1;
      // Mostly-equal data so that repe/repne run for a while before they stop.
      uint8_t fill = uint8_t(rng());
      uint32_t st = uint32_t(rng()) | 1;  // xorshift: cheap bytes for the 16 KiB window
      auto next = [&] { st ^= st << 13; st ^= st >> 17; st ^= st << 5; return st; };
      for (uint64_t k = 0; k < kBuf; ++k) {
        uint32_t r = next();
        host[k] = (i % 4 == 0) ? uint8_t(r % 3) : (r % 64 == 0) ? uint8_t(r >> 8) : fill;
      }
      std::memcpy(h.data(), host, kBuf);
      uint64_t count = (i % 10 == 0) ? 0 : rng() % 700;
      uint64_t span = count * c.size + 16;
      uint64_t lo = df ? span : 0, hi = df ? kBuf - 32 : kBuf - span - 32;
      uint64_t so = lo + rng() % (hi - lo), dof = lo + rng() % (hi - lo);
      if (i % 6 == 2) dof = so + (rng() % 24);  // overlapping copies, forward hazard
      uint64_t rax = (i % 3 == 0) ? fill * 0x0101010101010101ull : rng();
      StrRegs n{uint64_t(host) + so, uint64_t(host) + dof, count, rax,
                flag::FIXED1 | (df ? flag::DF : 0) | (rng() & kArithFlags)};
      uint64_t fin = n.flags;
      c.native(n);
      h.cpu.gpr[RSI] = InterpHarness::kData + so;
      h.cpu.gpr[RDI] = InterpHarness::kData + dof;
      h.cpu.gpr[RCX] = count;
      h.cpu.gpr[RAX] = rax;
      h.cpu.rflags = fin;
      ASSERT_EQ(h.run(c.code), StopReason::None) << c.name;
      auto where = [&] {
        return ::testing::Message() << c.name << " i=" << i << " df=" << df << " so=" << so
                                    << " do=" << dof << " count=" << count;
      };
      EXPECT_EQ(h.cpu.gpr[RSI] - InterpHarness::kData, n.rsi - uint64_t(host)) << where();
      EXPECT_EQ(h.cpu.gpr[RDI] - InterpHarness::kData, n.rdi - uint64_t(host)) << where();
      EXPECT_EQ(h.cpu.gpr[RCX], n.rcx) << where();
      EXPECT_EQ(h.cpu.gpr[RAX], n.rax) << where();
      EXPECT_EQ(h.cpu.rflags & (kArithFlags | flag::DF), n.flags & (kArithFlags | flag::DF)) << where();
      EXPECT_EQ(std::memcmp(h.data(), host, kBuf), 0) << where();
    }
  }
  munmap(host, kBuf);
}

TEST(InterpString, LargeRepMovsAndStosAcrossPages) {
  InterpHarness h;
  std::mt19937_64 rng(23);
  uint8_t* d = h.data();
  for (int k = 0; k < 0x8000; ++k) d[k] = uint8_t(rng());
  std::vector<uint8_t> expect(d, d + 0x10000);
  // rep movsq: 3000 qwords from +0x123 to +0x8007 (both unaligned, many pages).
  std::memmove(expect.data() + 0x8007, expect.data() + 0x123, 3000 * 8);
  h.cpu.gpr[RSI] = InterpHarness::kData + 0x123;
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x8007;
  h.cpu.gpr[RCX] = 3000;
  ASSERT_EQ(h.run({0xF3, 0x48, 0xA5}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RCX], 0u);
  EXPECT_EQ(h.cpu.gpr[RSI], InterpHarness::kData + 0x123 + 24000);
  EXPECT_EQ(std::memcmp(d, expect.data(), 0x10000), 0);
  // rep stosd of 5000 dwords.
  for (int k = 0; k < 5000; ++k) std::memcpy(expect.data() + 0x1001 + 4 * k, "\x78\x56\x34\x12", 4);
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x1001;
  h.cpu.gpr[RCX] = 5000;
  h.cpu.gpr[RAX] = 0xAAAAAAAA12345678;
  ASSERT_EQ(h.run({0xF3, 0xAB}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RDI], InterpHarness::kData + 0x1001 + 20000);
  EXPECT_EQ(std::memcmp(d, expect.data(), 0x10000), 0);
}

// ---- faults mid-way: the host's own state at its fault is the oracle ----

sigjmp_buf g_segv_env;
StrRegs g_fault_regs;
void on_sigsegv(int, siginfo_t*, void* ctx) {
  auto* uc = static_cast<ucontext_t*>(ctx);
  g_fault_regs = {uint64_t(uc->uc_mcontext.gregs[REG_RSI]),
                  uint64_t(uc->uc_mcontext.gregs[REG_RDI]),
                  uint64_t(uc->uc_mcontext.gregs[REG_RCX]), 0, 0};
  siglongjmp(g_segv_env, 1);
}

TEST(InterpString, FaultMidwayLeavesCompletedIterations) {
  // Host: one RW page followed by an inaccessible one; guest: the last data page (the page
  // after kData + 0x10000 is unmapped).
  auto* host = static_cast<uint8_t*>(mmap(nullptr, 0x2000, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(host, MAP_FAILED);
  ASSERT_EQ(mprotect(host + 0x1000, 0x1000, PROT_NONE), 0);
  const uint64_t gpage = InterpHarness::kData + 0xF000;
  InterpHarness h;
  struct sigaction sa {}, old {};
  sa.sa_sigaction = on_sigsegv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);

  struct FCase {
    const char* name;
    std::vector<uint8_t> code;
    void (*native)(StrRegs&);
    uint64_t so, dof, count;
    unsigned size;
  } cases[] = {
      // Destination runs off the page (rep movsb, 1000 bytes, 0x40 room).
      {"rep movsb dst", {0xF3, 0xA4}, NATIVE("rep movsb"), 0x100, 0xFC0, 1000, 1},
      // Source runs off the page.
      {"rep movsq src", {0xF3, 0x48, 0xA5}, NATIVE("rep movsq"), 0xF00, 0x10, 100, 8},
      // An element straddling the page end.
      {"rep movsd straddle", {0xF3, 0xA5}, NATIVE("rep movsl"), 0x10, 0xFE2, 100, 4},
      {"rep stosq", {0xF3, 0x48, 0xAB}, NATIVE("rep stosq"), 0, 0xE00, 1000, 8},
      {"repe cmpsb", {0xF3, 0xA6}, NATIVE("repe cmpsb"), 0x800, 0xF00, 1000, 1},
      {"repne scasw", {0xF2, 0x66, 0xAF}, NATIVE("repne scasw"), 0, 0xF01, 1000, 2},
  };
  for (const FCase& c : cases) {
    std::memset(host, 0x5A, 0x1000);
    std::memset(h.data() + 0xF000, 0x5A, 0x1000);
    StrRegs n{uint64_t(host) + c.so, uint64_t(host) + c.dof, c.count, 0x1111, flag::FIXED1};
    sigaction(SIGSEGV, &sa, &old);
    bool faulted = false;
    if (sigsetjmp(g_segv_env, 1) == 0) {
      c.native(n);
    } else {
      faulted = true;
      n = g_fault_regs;
    }
    sigaction(SIGSEGV, &old, nullptr);
    ASSERT_TRUE(faulted) << c.name;
    h.cpu.gpr[RSI] = gpage + c.so;
    h.cpu.gpr[RDI] = gpage + c.dof;
    h.cpu.gpr[RCX] = c.count;
    h.cpu.gpr[RAX] = 0x1111;
    h.cpu.rflags = flag::FIXED1;
    ASSERT_EQ(h.run(c.code), StopReason::Fault) << c.name;
    EXPECT_EQ(h.cpu.fault.vector, VEC_PF) << c.name;
    EXPECT_EQ(h.cpu.rip, InterpHarness::kCode) << c.name;
    EXPECT_EQ(h.cpu.gpr[RSI] - gpage, n.rsi - uint64_t(host)) << c.name;
    EXPECT_EQ(h.cpu.gpr[RDI] - gpage, n.rdi - uint64_t(host)) << c.name;
    EXPECT_EQ(h.cpu.gpr[RCX], n.rcx) << c.name;
    EXPECT_EQ(std::memcmp(h.data() + 0xF000, host, 0x1000), 0) << c.name;
    // Every iteration before the fault is done: RCX counts exactly the ones left.
    uint64_t moved = (h.cpu.gpr[RDI] - gpage - c.dof) / c.size;
    EXPECT_EQ(h.cpu.gpr[RCX], c.count - moved) << c.name;
  }
  munmap(host, 0x2000);
}

TEST(InterpString, SegmentOverrideAndAddressSize) {
  InterpHarness h;
  for (int k = 0; k < 64; ++k) h.data()[0x1000 + k] = uint8_t(k + 1);
  // fs: rep movsb — the source is FS.base + RSI; the destination ignores FS.
  h.cpu.seg[SEG_FS].base = InterpHarness::kData + 0x1000;
  h.cpu.gpr[RSI] = 0x10;
  h.cpu.gpr[RDI] = InterpHarness::kData + 0x2000;
  h.cpu.gpr[RCX] = 8;
  ASSERT_EQ(h.run({0x64, 0xF3, 0xA4}), StopReason::None);
  EXPECT_EQ(h.data()[0x2000], 0x11);
  EXPECT_EQ(h.data()[0x2007], 0x18);
  EXPECT_EQ(h.cpu.gpr[RSI], 0x18u);
  // addr32 rep stosb: EDI/ECX only; the updates clear the upper halves (as the host does).
  h.cpu.gpr[RDI] = 0xABCD000000000000 | (InterpHarness::kData + 0x3000);
  h.cpu.gpr[RCX] = 0x1234000000000004;
  h.cpu.gpr[RAX] = 0x77;
  ASSERT_EQ(h.run({0x67, 0xF3, 0xAA}), StopReason::None);
  EXPECT_EQ(h.data()[0x3003], 0x77);
  EXPECT_EQ(h.data()[0x3004], 0);
  EXPECT_EQ(h.cpu.gpr[RDI], InterpHarness::kData + 0x3004);
  EXPECT_EQ(h.cpu.gpr[RCX], 0u);
  // xlat: AL = [RBX + AL].
  h.cpu.gpr[RBX] = InterpHarness::kData + 0x1000;
  h.cpu.gpr[RAX] = 0xFFFF0005;
  ASSERT_EQ(h.run({0xD7}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0xFFFF0006u);
}

TEST(InterpString, MovsdAndCmpsdSseFormsAreForwarded) {
  InterpHarness h;
  h.cpu.xmm[1].u64[0] = 0x400921FB54442D18;  // pi
  h.cpu.xmm[0].u64[0] = 0;
  h.cpu.xmm[0].u64[1] = 0x1234;
  ASSERT_EQ(h.run({0xF2, 0x0F, 0x10, 0xC1}), StopReason::None);  // movsd xmm0, xmm1
  EXPECT_EQ(h.cpu.xmm[0].u64[0], 0x400921FB54442D18u);
  EXPECT_EQ(h.cpu.xmm[0].u64[1], 0x1234u);
}

}  // namespace
}  // namespace vireo::test
