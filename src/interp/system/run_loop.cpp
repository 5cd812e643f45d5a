// The system-mode run loop of the interpreter, its construction and its --stats.
//
// Kept apart from Interpreter::run so that the user-mode loop is not touched: this loop fetches
// through the softmmu, delivers exceptions through the guest IDT instead of returning
// StopReason::Fault, and looks for external interrupts only at the cheap moments (entry to
// run(), after STI/POPF/IRET set IF, after port I/O), never on every instruction.
#include <fmt/format.h>

#include <ctime>

#include "interp/interpreter.h"
#include "interp/system/system_mode.h"

namespace vireo {

namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

DispatchTable build_system_table() {
  DispatchTable t = dispatch_table();
  register_system_control(t);
  register_system_io(t);
  register_system_stack(t);
  register_system_segments(t);
  register_system_interrupts(t);
  register_system_fastcall(t);
  register_system_strings(t);
  return t;
}

const char* vector_name(unsigned v) {
  static const char* names[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "",
                                "#TS", "#NP", "#SS", "#GP", "#PF", "",    "#MF", "#AC", "#MC", "#XM"};
  return v < std::size(names) ? names[v] : "";
}

}  // namespace

SystemMode::SystemMode(machine::SystemBus& b, uint8_t* ram, uint64_t ram_size)
    : bus(b), mmu(ram, ram_size, b), table(build_system_table()) {}

Interpreter::Interpreter(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size, std::FILE* int_log)
    : sys_(std::make_unique<SystemMode>(bus, ram, ram_size)) {
  x_.mem = {ram, 0, 0, nullptr};  // limit 0: every access goes to the softmmu
  x_.scope = &scope_;
  x_.interp = this;
  x_.sys = sys_.get();
  sys_->int_log = int_log;
  sys_->start_ns = now_ns();
}

StopReason Interpreter::run_system(CpuState& cpu) { return run_system_steps(cpu, kUnlimitedSteps, true); }

StopReason Interpreter::run_system_steps(CpuState& cpu, uint64_t n, bool poll) {
  SystemMode& s = *sys_;
  x_.cpu = &cpu;
  x_.stop = StopReason::None;
  s.mmu.bind(cpu);
  steps_left_ = n;
  // Exec::raise comes back here (siglongjmp, no signal mask to restore): the exception is
  // delivered and the loop goes on. A fault while delivering comes back here too, which is how
  // #DF and the triple fault are found (deliver_exception). Everything the loop needs lives in
  // members, so nothing is clobbered. (Counted steps, for the JIT: an instruction that faults
  // is one step, ending in its handler.)
  if (sigsetjmp(scope_.env, 0)) {
    s.bounces_used = 0;  // the faulting instruction's bulk operands are not written back
    deliver_exception(x_, s);
    if (steps_left_ != kUnlimitedSteps && (steps_left_ == 0 || --steps_left_ == 0))
      return StopReason::InstructionLimit;
  } else if (poll) {
    poll_interrupts(x_, s);
  }
  if (steps_left_ == 0) return StopReason::InstructionLimit;

  for (;;) {
    if (cpu.exit_request) [[unlikely]]
      return StopReason::ExitRequest;
    x_.insn_rip = cpu.rip;
    if (debug_ && debug_breakpoint(cpu)) [[unlikely]]
      return StopReason::Debug;
    const Insn* in = fetch_system(x_, s);
    const bool trap_flag = cpu.rflags & flag::TF;
    if (debug_) [[unlikely]]
      debug_before(*in);
    cpu.rip += in->len;
    in->fn(x_, *in);
    if (s.bounces_used) [[unlikely]]
      commit_bounces(x_, s);
    ++cpu.insn_count;
    if (debug_ && x_.stop == StopReason::None && debug_after()) [[unlikely]]
      return StopReason::Debug;
    if (trap_flag) [[unlikely]]
      single_step_trap(x_, s, *in);
    if (x_.stop != StopReason::None) [[unlikely]] {
      StopReason r = x_.stop;
      x_.stop = StopReason::None;
      return r;
    }
    if (s.irq_check && --s.irq_check == 0) [[unlikely]]
      poll_interrupts(x_, s);
    if (--steps_left_ == 0) [[unlikely]]
      return StopReason::InstructionLimit;
  }
}

void Interpreter::print_system_stats(std::FILE* out, double seconds) const {
  const SystemMode& s = *sys_;
  uint64_t n = x_.cpu ? x_.cpu->insn_count : 0;
  fmt::print(out, "  instructions:         {}\n", n);
  fmt::print(out, "  MIPS:                 {:.1f}\n", seconds > 0 ? double(n) / seconds / 1e6 : 0.0);
  fmt::print(out, "  decode cache misses:  {}\n", s.decode_misses);
  const softmmu::TlbStats& t = s.mmu.tlb.stats;
  fmt::print(out, "  TLB hits:             {}\n", t.hits);
  fmt::print(out, "  TLB misses:           {}\n", t.misses);
  fmt::print(out, "  TLB flushes:          {} (full or non-global), {} invlpg\n", t.flushes, t.page_flushes);
  auto by_vector = [&](const char* what, const std::array<uint64_t, 256>& a) {
    for (unsigned v = 0; v < 256; ++v)
      if (a[v]) fmt::print(out, "  {:<21} vector {:#04x} {:<4} {}\n", what, v, vector_name(v), a[v]);
  };
  by_vector("exception", s.stats.exceptions);
  by_vector("software interrupt", s.stats.software);
  by_vector("external interrupt", s.stats.interrupts);
  for (auto& [m, count] : unimplemented_)
    fmt::print(out, "  unimplemented:        {} x{}\n", ZydisMnemonicGetString(ZydisMnemonic(m)), count);
}

[[noreturn]] void system_unimplemented(Exec& x, const Insn& in, const char* what) {
  if (x.sys->reported_insns.insert(in.mnemonic).second)
    fmt::print(stderr, "vireo: unimplemented in system mode: {} ({}) at rip={:#x}: raises #UD\n",
               ZydisMnemonicGetString(ZydisMnemonic(in.mnemonic)), what, x.insn_rip);
  x.raise_ud();
}

}  // namespace vireo
