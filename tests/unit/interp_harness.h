// A small harness for interpreter unit tests: run instruction bytes from a given CpuState on
// the interpreter, and compare with the same bytes run natively (inline asm in the test).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

#include "cpu/cpu_state.h"
#include "interp/interpreter.h"
#include "mem/address_space.h"

namespace vireo::test {

class InterpHarness {
 public:
  static constexpr uint64_t kCode = 0x10000;   // code page (guest address)
  static constexpr uint64_t kData = 0x20000;   // 64 KiB of read/write scratch data

  InterpHarness() : interp_(as_.memory()) {
    as_.mmap(kCode, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    as_.mmap(kData, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0);
    reset_user_state(cpu);
    cpu.gpr[RSP] = kData + 0x8000;
  }

  // Runs `code` (instruction bytes) to its end. Returns the stop reason: None when the code ran
  // through, else Fault/Syscall/... with cpu.rip at the instruction that stopped.
  StopReason run(std::initializer_list<uint8_t> code) {
    return run(std::vector<uint8_t>(code));
  }
  StopReason run(const std::vector<uint8_t>& code) {
    std::memcpy(as_.host(kCode), code.data(), code.size());
    as_.host(kCode)[code.size()] = 0xF4;  // hlt: never reached, the limit stops first
    cpu.rip = kCode;
    uint64_t end = kCode + code.size();
    while (cpu.rip != end) {
      interp_.set_instruction_limit(1);
      StopReason r = interp_.run(cpu);
      if (r != StopReason::InstructionLimit) return r;
    }
    return StopReason::None;
  }

  uint8_t* data() { return as_.host(kData); }
  Interpreter& interp() { return interp_; }
  AddressSpace& as() { return as_; }

  CpuState cpu{};

 private:
  AddressSpace as_;
  Interpreter interp_;
};

// RFLAGS captured natively after an instruction sequence in inline asm: use as
//   uint64_t out, fl;  asm("...; pushfq; popq %1" : ...);
inline constexpr uint64_t kArithFlags = flag::ARITH;

}  // namespace vireo::test
