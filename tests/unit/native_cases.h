// One instruction run natively (inline asm) and on an engine from the same RAX/RBX/RCX/RDX and
// RFLAGS, over edge-biased values: the result register(s) and the flags the SDM defines must
// match. Shared by the bit, BMI2 and ADX tests; the engine is the interpreter or the JIT.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/cpu_state.h"
#include "interp/interpreter.h"
#include "jit/jit_engine.h"
#include "mem/address_space.h"

namespace vireo::test {

struct NativeResult {
  uint64_t value, flags, rdx;
};
using NativeFn = NativeResult (*)(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t flags_in);

// Runs "insn operands" natively with RAX=a, RBX=b, RCX=c, RDX=d and the given RFLAGS; the
// result is RAX (and RDX, for the two-destination mulx).
#define NATIVE(text)                                                                   \
  [](uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t fin) {                   \
    uint64_t fl;                                                                       \
    asm volatile("subq $128, %%rsp\n\tpushq %[fi]\n\tpopfq\n\t" text                   \
                 "\n\tpushfq\n\tpopq %[f]\n\taddq $128, %%rsp"                         \
                 : "+a"(a), "+d"(d), [f] "=&r"(fl)                                     \
                 : "b"(b), "c"(c), [fi] "r"(fin)                                       \
                 : "cc");                                                              \
    return NativeResult{a, fl, d};                                                     \
  }

struct Case {
  const char* name;
  std::vector<uint8_t> code;  // the same instruction for the engine
  NativeFn native;
  uint64_t defined;           // flags the SDM defines
};

enum class Engine { Interp, Jit };

// Runs every case on `engine` and natively over the same inputs.
inline void run_cases(const std::vector<Case>& cases, Engine engine = Engine::Interp) {
  constexpr uint64_t kCodeAt = 0x10000, kStack = 0x20000;
  std::mt19937_64 rng(5);
  std::vector<uint64_t> vals = {0, 1, 2, 0x80, 0x8000, 0x80000000, 0x8000000000000000, ~0ull,
                                0xFFFF, 0xFFFFFFFF, 0x10000, 0x100000000, 0x7F, 63, 64, 65,
                                0x3F00, 0x1008, 0x2010, 0x4020, 31, 32, 33, 0xFFFFFFFE};
  for (int i = 0; i < 30; ++i) vals.push_back(rng());
  for (int i = 0; i < 20; ++i) vals.push_back(rng() & rng() & rng() & rng());
  for (int i = 0; i < 10; ++i) vals.push_back((rng() & 0x7F7F) | (uint64_t(i) << 24));  // bextr ctrls
  AddressSpace as;
  as.mmap(kCodeAt, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  as.mmap(kStack, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  Interpreter interp(as.memory());
  std::unique_ptr<jit::JitEngine> jit;
  if (engine == Engine::Jit) jit = std::make_unique<jit::JitEngine>(as.memory(), jit::JitOptions{});
  for (const Case& c : cases) {
    // The instruction, then syscall: the engine stops there (a new code page each case, so
    // the JIT translates it afresh).
    if (jit) {  // a new instruction in a page the JIT write-protected for its code
      jit->prepare_guest_write(kCodeAt, 0x1000);
      jit->invalidate(kCodeAt, 0x1000);
    }
    interp.invalidate(kCodeAt, 0x1000);
    std::memcpy(as.host(kCodeAt), c.code.data(), c.code.size());
    as.host(kCodeAt)[c.code.size()] = 0x0F;
    as.host(kCodeAt)[c.code.size() + 1] = 0x05;
    for (uint64_t a : {uint64_t(0x0123456789ABCDEF), uint64_t(~0ull), uint64_t(0)}) {
      for (uint64_t b : vals) {
        for (uint64_t cc : {vals[rng() % vals.size()], uint64_t(rng() & 0xFFFF)}) {
          uint64_t d = vals[rng() % vals.size()];
          uint64_t fin = flag::FIXED1 | (rng() & flag::ARITH);
          NativeResult n = c.native(a, b, cc, d, fin);
          CpuState cpu{};
          reset_user_state(cpu);
          cpu.gpr[RSP] = kStack + 0x8000;
          cpu.gpr[RAX] = a;
          cpu.gpr[RBX] = b;
          cpu.gpr[RCX] = cc;
          cpu.gpr[RDX] = d;
          cpu.rflags = fin;
          cpu.rip = kCodeAt;
          StopReason r = jit ? jit->run(cpu) : interp.run(cpu);
          ASSERT_EQ(r, StopReason::Syscall) << c.name;
          EXPECT_EQ(cpu.gpr[RAX], n.value) << c.name << std::hex << " a=" << a << " b=" << b
                                           << " c=" << cc << " d=" << d;
          EXPECT_EQ(cpu.gpr[RDX], n.rdx) << c.name << std::hex << " a=" << a << " b=" << b
                                         << " c=" << cc << " d=" << d;
          EXPECT_EQ(cpu.rflags & c.defined, n.flags & c.defined)
              << c.name << std::hex << " a=" << a << " b=" << b << " c=" << cc << " d=" << d;
        }
      }
    }
  }
}

}  // namespace vireo::test

namespace vireo::test {

// Runs `code` once on `engine` from `cpu` (rip and rsp are set here) until it stops (end the
// code with syscall); 256 bytes of data at 0x20000 hold i*7 for memory operands.
// `data` (optional) replaces the start of the data area before the run and receives it after.
inline StopReason run_code(Engine engine, const std::vector<uint8_t>& code, CpuState& cpu,
                           std::vector<uint8_t>* data = nullptr) {
  constexpr uint64_t kCodeAt = 0x10000, kDataAt = 0x20000;
  AddressSpace as;
  as.mmap(kCodeAt, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  as.mmap(kDataAt, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  std::memcpy(as.host(kCodeAt), code.data(), code.size());
  for (int i = 0; i < 256; ++i) as.host(kDataAt)[i] = uint8_t(i * 7);
  if (data) std::memcpy(as.host(kDataAt), data->data(), std::min<size_t>(data->size(), 0x8000));
  cpu.rip = kCodeAt;
  cpu.gpr[RSP] = kDataAt + 0x8000;
  StopReason r = engine == Engine::Jit ? jit::JitEngine(as.memory(), jit::JitOptions{}).run(cpu)
                                       : Interpreter(as.memory()).run(cpu);
  if (data) std::memcpy(data->data(), as.host(kDataAt), std::min<size_t>(data->size(), 0x8000));
  return r;
}

}  // namespace vireo::test
