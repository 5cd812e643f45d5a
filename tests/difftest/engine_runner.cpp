#include "engine_runner.h"

#include <signal.h>
#include <sys/time.h>

#include <sys/mman.h>

#include <cstring>

#include "interp/interpreter.h"
#include "interp/x87_native.h"
#include "linux/signals.h"
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

namespace {

CpuState* volatile g_watched = nullptr;

void on_watchdog(int) {
  if (CpuState* c = g_watched) c->exit_request = 1;
}

}  // namespace

void EngineRunner::start_watchdog(CpuState& cpu) {
  static bool installed = false;
  if (!installed) {
    struct sigaction sa {};
    sa.sa_handler = on_watchdog;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGVTALRM, &sa, nullptr);
    installed = true;
  }
  g_watched = &cpu;
  itimerval t{};
  t.it_value.tv_usec = 200000;
  setitimer(ITIMER_VIRTUAL, &t, nullptr);
}

void EngineRunner::stop_watchdog() {
  itimerval t{};
  setitimer(ITIMER_VIRTUAL, &t, nullptr);
  g_watched = nullptr;
}

// What Linux puts in the siginfo and the signal frame for a fault (arch/x86/kernel/traps.c,
// fault.c): the model the random-code mode compares with the host. Vireo's own is
// fault_siginfo() in src/linux/signal_frame.cpp, tested end to end by tests/exactness.
void EngineRunner::linux_signal_details(const CpuState& cpu, CaseResult& r) {
  const FaultInfo& f = cpu.fault;
  r.trapno = f.vector;
  r.err = f.error_code;
  r.fault_addr = 0;
  constexpr int kSiKernel = 0x80;
  switch (f.vector) {
    case VEC_PF:
      r.si_code = !f.emulated && as_.is_mapped(f.address, 1) ? 2 /*SEGV_ACCERR*/ : 1 /*SEGV_MAPERR*/;
      r.fault_addr = f.address;
      break;
    case VEC_UD: r.si_code = 2 /*ILL_ILLOPN*/; r.fault_addr = cpu.rip; break;
    case VEC_DE: r.si_code = 1 /*FPE_INTDIV*/; r.fault_addr = cpu.rip; break;
    case VEC_DB:
      r.si_code = (f.address & 0x4000) ? 2 /*TRAP_TRACE*/ : 1 /*TRAP_BRKPT*/;
      r.fault_addr = cpu.rip;
      break;
    case VEC_AC: r.si_code = 1 /*BUS_ADRALN*/; break;
    case VEC_MF:
      r.si_code = fp_code(x87::status_word(cpu.x87) & ~cpu.x87.fcw & 0x3F);
      r.fault_addr = cpu.rip;
      break;
    case VEC_XM:
      r.si_code = fp_code(cpu.mxcsr & ~(cpu.mxcsr >> 7) & 0x3F);
      r.fault_addr = cpu.rip;
      break;
    default: r.si_code = kSiKernel; break;  // #GP, #SS, #BP, #OF: force_sig, no address
  }
}

bool EngineRunner::known(const std::string& name) { return name == "interp" || name == "jit"; }

EngineRunner::EngineRunner(const std::string& engine) {
  as_.mmap(kCodeAddr, kCodeSize, PROT_READ | PROT_WRITE | PROT_EXEC,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  as_.mmap(kScratchAddr, kScratchSize, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  // The native side's control block is mapped there too (random code can reach it): the same
  // range, read-write, so that an access to it does not fault on one side only. (Its content
  // differs: random code that loads from it could still differ; no long run has shown one.)
  as_.mmap(kCtrlAddr, kCtrlSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
           -1, 0);
  engine_ = make_engine(engine, as_.memory());
}

EngineRunner::~EngineRunner() = default;

std::pair<void*, size_t> EngineRunner::window() const {
  const GuestMemory& m = as_.memory();
  return {m.base - m.guard, m.limit + 2 * m.guard};
}

void EngineRunner::run(const Case& c, CaseResult& r) {
  uint8_t* code = as_.host(kCodeAddr);
  // Drop the previous case's translations before writing the new code: the jit write-protects
  // pages holding translated code (self-modifying-code detection), so the platform must say
  // so before it writes them, as the Linux layer does for syscalls. The scratch page too: a
  // case may have run code there, or decoded into it from the end of the code page.
  engine_->invalidate(kCodeAddr, kCodeSize);
  engine_->invalidate(kScratchAddr, kScratchSize);
  std::memcpy(code, c.code, kMaxCode);  // (as natively: all of it)
  // The rest of the page is zero in both runners for every case: a case that stored into it
  // must not leave bytes that a later case's string loads or code would see on one side only.
  std::memset(code + kMaxCode, 0, kCodeSize - kMaxCode);
  code[c.code_len] = 0x0F;  // ud2: the same terminator as natively
  code[c.code_len + 1] = 0x0B;
  std::memcpy(as_.host(kScratchAddr), c.scratch, kScratchSize);

  CpuState cpu;
  reset_user_state(cpu);
  to_cpu(c.in, cpu);
  // A cap for the interpreter, which has one: a straight-line case retires at most ninsns
  // instructions before the terminator, so a runaway engine stops instead of hanging.
  // Random code can loop: the interpreter gets a bigger cap, the jit a watchdog that asks
  // it to stop (exit_request, seen at block entry).
  if (auto* in = dynamic_cast<Interpreter*>(engine_.get()))
    in->set_instruction_limit(random_code_ ? 200000 : c.ninsns + 2);
  if (random_code_) start_watchdog(cpu);
  StopReason why = engine_->run(cpu);
  if (random_code_) stop_watchdog();

  from_cpu(cpu, r.state);
  r.fault_addr = 0;
  r.detail = int(why);
  r.si_code = 0;
  r.trapno = r.err = 0;
  if (why == StopReason::Fault) {
    r.end = kind_of_vector(cpu.fault.vector);
    r.detail = 100 + cpu.fault.vector;
    linux_signal_details(cpu, r);
    // The case ended at its terminator only if the ud2 is still there (code may store over it).
    const uint8_t* end = as_.host(kCodeAddr + c.code_len);
    if (cpu.fault.vector == VEC_UD && cpu.rip == kCodeAddr + c.code_len && end[0] == 0x0F &&
        end[1] == 0x0B)
      r.detail = -1;
  } else {
    r.end = EndKind::Other;
  }
  std::memcpy(r.scratch, as_.host(kScratchAddr), kScratchSize);
}

}  // namespace vireo::difftest
