#include "engine_runner.h"

#include <sys/mman.h>

#include <cstring>

#include "interp/interpreter.h"
#include "jit/jit_engine.h"

namespace vireo::difftest {

namespace {

std::unique_ptr<Engine> make_engine(const std::string& name, const GuestMemory& mem) {
  if (name == "interp") return std::make_unique<Interpreter>(mem);
  if (name == "jit") return std::make_unique<jit::JitEngine>(mem, jit::JitOptions{});
  return nullptr;
}

// The signal Linux delivers for each exception vector (arch/x86/kernel/traps.c), which is what
// the native child observes.
EndKind kind_of_vector(uint8_t v) {
  switch (v) {
    case VEC_UD: return EndKind::Sigill;
    case VEC_DE: case VEC_MF: case VEC_XM: return EndKind::Sigfpe;
    case VEC_GP: case VEC_PF: return EndKind::Sigsegv;
    case VEC_SS: case VEC_AC: return EndKind::Sigbus;
    case VEC_BP: case VEC_DB: return EndKind::Sigtrap;
    default: return EndKind::Other;
  }
}

}  // namespace

bool EngineRunner::known(const std::string& name) { return name == "interp" || name == "jit"; }

EngineRunner::EngineRunner(const std::string& engine) {
  as_.mmap(kCodeAddr, kCodeSize, PROT_READ | PROT_WRITE | PROT_EXEC,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  as_.mmap(kScratchAddr, kScratchSize, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  engine_ = make_engine(engine, as_.memory());
}

EngineRunner::~EngineRunner() = default;

void EngineRunner::run(const Case& c, CaseResult& r) {
  uint8_t* code = as_.host(kCodeAddr);
  // Drop the previous case's translations before writing the new code: the jit write-protects
  // pages holding translated code (self-modifying-code detection), so the platform must say
  // so before it writes them, as the Linux layer does for syscalls.
  engine_->invalidate(kCodeAddr, kCodeSize);
  std::memcpy(code, c.code, c.code_len);
  code[c.code_len] = 0x0F;  // ud2: the same terminator as natively
  code[c.code_len + 1] = 0x0B;
  std::memcpy(as_.host(kScratchAddr), c.scratch, kScratchSize);

  CpuState cpu;
  reset_user_state(cpu);
  to_cpu(c.in, cpu);
  // A cap for the interpreter, which has one: a straight-line case retires at most ninsns
  // instructions before the terminator, so a runaway engine stops instead of hanging.
  if (auto* in = dynamic_cast<Interpreter*>(engine_.get()))
    in->set_instruction_limit(c.ninsns + 2);
  StopReason why = engine_->run(cpu);

  from_cpu(cpu, r.state);
  r.fault_addr = 0;
  r.detail = int(why);
  if (why == StopReason::Fault) {
    r.end = kind_of_vector(cpu.fault.vector);
    r.detail = 100 + cpu.fault.vector;
    r.fault_addr = cpu.fault.address;
    if (cpu.fault.vector == VEC_UD && cpu.rip == kCodeAddr + c.code_len) r.detail = -1;
  } else {
    r.end = EndKind::Other;
  }
  std::memcpy(r.scratch, as_.host(kScratchAddr), kScratchSize);
}

}  // namespace vireo::difftest
