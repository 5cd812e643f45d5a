// Multiply/divide family: results, CF/OF and #DE compared with the host executing the same
// instruction natively (a native #DE is caught as SIGFPE), at 8/16/32/64 bits.
#include <gtest/gtest.h>

#include <csetjmp>
#include <csignal>
#include <random>
#include <vector>

#include "interp_harness.h"

namespace vireo::test {
namespace {

struct NativeResult {
  uint64_t rax, rdx, flags;
  bool de;  // the host raised #DE (SIGFPE)
};
using NativeFn = NativeResult (*)(uint64_t rax, uint64_t rdx, uint64_t b);

sigjmp_buf g_fpe_env;
void on_sigfpe(int) { siglongjmp(g_fpe_env, 1); }

// Catches SIGFPE for the lifetime of the object.
struct FpeGuard {
  struct sigaction old {};
  FpeGuard() {
    struct sigaction sa {};
    sa.sa_handler = on_sigfpe;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGFPE, &sa, &old);
  }
  ~FpeGuard() { sigaction(SIGFPE, &old, nullptr); }
};

// "<insn> <b>" with RAX/RDX implicit; returns RAX, RDX, RFLAGS, or de=true on SIGFPE.
#define NATIVE_ACC(insn, mod)                                                    \
  [](uint64_t a, uint64_t d, uint64_t b) {                                       \
    if (sigsetjmp(g_fpe_env, 1)) return NativeResult{0, 0, 0, true};             \
    uint64_t fl;                                                                 \
    asm volatile(insn " %" mod "[b]\n\tpushfq\n\tpopq %[f]"                      \
                 : "+a"(a), "+d"(d), [f] "=&r"(fl)                               \
                 : [b] "r"(b)                                                    \
                 : "cc");                                                        \
    return NativeResult{a, d, fl, false};                                        \
  }
#define NATIVE_ACC4(m) {NATIVE_ACC(m "b", "b"), NATIVE_ACC(m "w", "w"), NATIVE_ACC(m "l", "k"), \
                        NATIVE_ACC(m "q", "q")}
// "imul <b>, <a>" (two-operand form, a in RAX).
#define NATIVE_IMUL2(mod, sfx)                                                   \
  [](uint64_t a, uint64_t d, uint64_t b) {                                       \
    uint64_t fl;                                                                 \
    asm volatile("imul" sfx " %" mod "[b], %" mod "[a]\n\tpushfq\n\tpopq %[f]"   \
                 : [a] "+r"(a), [f] "=&r"(fl)                                    \
                 : [b] "r"(b)                                                    \
                 : "cc");                                                        \
    return NativeResult{a, d, fl, false};                                        \
  }

const unsigned kSizes[4] = {1, 2, 4, 8};

struct Case {
  const char* name;
  uint8_t ext;  // F6/F7 /ext; 0xFF = imul r, r/m (0F AF)
  NativeFn native[4];
  uint64_t flags_defined;
};

std::vector<uint8_t> encode(const Case& c, unsigned size) {
  std::vector<uint8_t> b;
  if (size == 2) b.push_back(0x66);
  if (size == 8) b.push_back(0x48);
  if (c.ext == 0xFF) {
    b.insert(b.end(), {0x0F, 0xAF, 0xC3});  // imul rax, rbx
  } else {
    b.push_back(size == 1 ? 0xF6 : 0xF7);
    b.push_back(uint8_t(0xC3 | (c.ext << 3)));  // <op> rbx / bl
  }
  return b;
}

// Operands chosen to hit the interesting boundaries of every width.
std::vector<uint64_t> interesting(std::mt19937_64& rng) {
  std::vector<uint64_t> v = {0,      1,          2,          3,         0x7F,
                             0x80,   0xFF,       0x7FFF,     0x8000,    0xFFFF,
                             0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
                             0x8000000000000000, ~0ull, ~1ull};
  for (int i = 0; i < 14; ++i) v.push_back(rng());
  for (int i = 0; i < 6; ++i) v.push_back(rng() & 0xFFFF);
  return v;
}

TEST(InterpMulDiv, AllFormsMatchNative) {
  const Case cases[] = {
      {"mul", 4, NATIVE_ACC4("mul"), flag::CF | flag::OF},
      {"imul1", 5, NATIVE_ACC4("imul"), flag::CF | flag::OF},
      {"div", 6, NATIVE_ACC4("div"), 0},
      {"idiv", 7, NATIVE_ACC4("idiv"), 0},
      {"imul2", 0xFF,
       {nullptr, NATIVE_IMUL2("w", "w"), NATIVE_IMUL2("k", "l"), NATIVE_IMUL2("q", "q")},
       flag::CF | flag::OF},
  };
  std::mt19937_64 rng(3);
  std::vector<uint64_t> vals = interesting(rng);
  FpeGuard guard;
  InterpHarness h;
  int faults = 0;
  for (const Case& c : cases) {
    for (int si = 0; si < 4; ++si) {
      if (!c.native[si]) continue;
      std::vector<uint8_t> code = encode(c, kSizes[si]);
      for (uint64_t a : vals) {
        for (uint64_t b : vals) {
          // For the divides, a small RDX makes most quotients fit; also try a random one.
          for (uint64_t d : {uint64_t(0), uint64_t(~0ull), uint64_t(rng() & 0xF), uint64_t(rng())}) {
            NativeResult n = c.native[si](a, d, b);
            h.cpu.gpr[RAX] = a;
            h.cpu.gpr[RDX] = d;
            h.cpu.gpr[RBX] = b;
            h.cpu.rflags = flag::FIXED1;
            StopReason r = h.run(code);
            auto where = [&] {
              return ::testing::Message() << c.name << kSizes[si] * 8 << std::hex << " a=" << a
                                          << " d=" << d << " b=" << b;
            };
            if (n.de) {
              ++faults;
              ASSERT_EQ(r, StopReason::Fault) << where();
              EXPECT_EQ(h.cpu.fault.vector, VEC_DE) << where();
              EXPECT_EQ(h.cpu.rip, InterpHarness::kCode) << where();
              EXPECT_EQ(h.cpu.gpr[RAX], a) << where();  // nothing written
              EXPECT_EQ(h.cpu.gpr[RDX], d) << where();
              continue;
            }
            ASSERT_EQ(r, StopReason::None) << where();
            EXPECT_EQ(h.cpu.gpr[RAX], n.rax) << where();
            EXPECT_EQ(h.cpu.gpr[RDX], n.rdx) << where();
            EXPECT_EQ(h.cpu.rflags & c.flags_defined, n.flags & c.flags_defined) << where();
          }
        }
      }
    }
  }
  EXPECT_GT(faults, 100);  // the fault path was really exercised
}

TEST(InterpMulDiv, ThreeOperandImul) {
  InterpHarness h;
  struct {
    std::vector<uint8_t> code;
    uint64_t b, want;
    bool overflow;
  } cases[] = {
      {{0x48, 0x6B, 0xC3, 0xF9}, 5, uint64_t(-35), false},                // imul rax, rbx, -7
      {{0x48, 0x69, 0xC3, 0x00, 0x00, 0x00, 0x80}, 2, uint64_t(-0x100000000ll), false},
      {{0x6B, 0xC3, 0x02}, 0x40000000, 0x80000000, true},                 // imul eax, ebx, 2
      {{0x66, 0x6B, 0xC3, 0xFF}, 0x8000, 0x8000, true},                   // -32768 * -1
      {{0x48, 0x6B, 0xC3, 0x10}, 0x0800000000000000, 0x8000000000000000, true},
  };
  for (auto& c : cases) {
    h.cpu.gpr[RAX] = 0xDEAD0000DEAD0000;
    h.cpu.gpr[RBX] = c.b;
    h.cpu.rflags = flag::FIXED1;
    ASSERT_EQ(h.run(c.code), StopReason::None);
    uint64_t want = c.want;
    if (c.code[0] == 0x66) want = (0xDEAD0000DEAD0000 & ~0xFFFFull) | (c.want & 0xFFFF);
    else if (c.code[0] != 0x48) want = uint32_t(c.want);
    EXPECT_EQ(h.cpu.gpr[RAX], want);
    EXPECT_EQ(bool(h.cpu.rflags & flag::CF), c.overflow);
    EXPECT_EQ(bool(h.cpu.rflags & flag::OF), c.overflow);
  }
  // Native cross-check of one three-operand form with random operands.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 500; ++i) {
    uint64_t b = rng() >> (rng() % 64), a, fl;
    asm volatile("imulq $-1000, %[b], %[a]\n\tpushfq\n\tpopq %[f]"
                 : [a] "=&r"(a), [f] "=&r"(fl)
                 : [b] "r"(b)
                 : "cc");
    h.cpu.gpr[RBX] = b;
    ASSERT_EQ(h.run({0x48, 0x69, 0xC3, 0x18, 0xFC, 0xFF, 0xFF}), StopReason::None);
    EXPECT_EQ(h.cpu.gpr[RAX], a);
    EXPECT_EQ(h.cpu.rflags & (flag::CF | flag::OF), fl & (flag::CF | flag::OF));
  }
}

TEST(InterpMulDiv, DivideErrors) {
  InterpHarness h;
  // div rbx with rbx = 0.
  h.cpu.gpr[RAX] = 5;
  h.cpu.gpr[RDX] = 0;
  h.cpu.gpr[RBX] = 0;
  ASSERT_EQ(h.run({0x48, 0xF7, 0xF3}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_DE);
  EXPECT_EQ(h.cpu.rip, InterpHarness::kCode);
  // idiv: INT64_MIN / -1 overflows the quotient.
  h.cpu.gpr[RAX] = 0x8000000000000000;
  h.cpu.gpr[RDX] = ~0ull;
  h.cpu.gpr[RBX] = ~0ull;
  ASSERT_EQ(h.run({0x48, 0xF7, 0xFB}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_DE);
  // idiv r/m8: -128 / -1.
  h.cpu.gpr[RAX] = 0xFF80;
  h.cpu.gpr[RBX] = 0xFF;
  ASSERT_EQ(h.run({0xF6, 0xFB}), StopReason::Fault);
  EXPECT_EQ(h.cpu.fault.vector, VEC_DE);
  // A memory divisor that faults is #PF, not #DE.
  h.cpu.gpr[RBX] = 0x1000;
  ASSERT_EQ(h.run({0x48, 0xF7, 0x33}), StopReason::Fault);  // div qword [rbx]
  EXPECT_EQ(h.cpu.fault.vector, VEC_PF);
}

TEST(InterpMulDiv, MemoryOperandsAndHighBytes) {
  InterpHarness h;
  uint64_t v = 7;
  std::memcpy(h.data(), &v, 8);
  h.cpu.gpr[RBX] = InterpHarness::kData;
  h.cpu.gpr[RAX] = 100;
  h.cpu.gpr[RDX] = 0;
  ASSERT_EQ(h.run({0x48, 0xF7, 0x33}), StopReason::None);  // div qword [rbx]
  EXPECT_EQ(h.cpu.gpr[RAX], 14u);
  EXPECT_EQ(h.cpu.gpr[RDX], 2u);
  // mul ah: AX = AL * AH.
  h.cpu.gpr[RAX] = 0xFFFFFFFFFFFF1020;
  ASSERT_EQ(h.run({0xF6, 0xE4}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX], 0xFFFFFFFFFFFF0200u);
  EXPECT_TRUE(h.cpu.rflags & flag::CF);
  // div cl with the remainder in AH.
  h.cpu.gpr[RAX] = 0x0107;  // 263
  h.cpu.gpr[RCX] = 10;
  ASSERT_EQ(h.run({0xF6, 0xF1}), StopReason::None);
  EXPECT_EQ(h.cpu.gpr[RAX] & 0xFFFF, 0x031Au);  // q = 26, r = 3
}

}  // namespace
}  // namespace vireo::test
