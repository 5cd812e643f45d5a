#include "kvm/kvm_engine.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "kvm/kvm_error.h"
#include "machine/host_clock.h"

namespace vireo::kvm {

namespace {

const char* internal_suberror_name(uint32_t s) {
  switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception raised while delivering another";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected hardware exit reason";
  }
  return "unknown suberror";
}

}  // namespace

// PVM (a KVM back end that runs guests without VT-x/AMD-V) announces itself as a module.
bool pvm_back_end_loaded() { return access("/sys/module/kvm_pvm", F_OK) == 0; }

KvmEngine::KvmEngine(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size) : bus_(bus), vm_(), vcpu_(vm_, 0) {
  vm_.add_ram(0, ram_size, ram);
}

StopReason KvmEngine::run(CpuState& cpu) {
  if (!debug_) return run_vcpu(cpu);
  // Under a debugger the CpuState is the truth between runs (gdb reads and writes it).
  loaded_ = false;
  StopReason r = run_vcpu(cpu);
  vcpu_.get_state(cpu);
  return r;
}

StopReason KvmEngine::run_vcpu(CpuState& cpu) {
  if (!loaded_) {
    vcpu_.set_state(cpu);
    loaded_ = true;
  }
  kvm_run* r = vcpu_.run_area();
  for (;;) {
    if (bus_.stop_requested() || cpu.exit_request) return StopReason::ExitRequest;
    bool injected = false;
    if (bus_.interrupt_pending()) {
      if (r->ready_for_interrupt_injection) {
        vcpu_.inject_interrupt(bus_.acknowledge_interrupt());
        ++stats_.injected;
        injected = true;
        r->request_interrupt_window = 0;
      } else {
        r->request_interrupt_window = 1;  // exit as soon as the guest can take it
      }
    } else {
      r->request_interrupt_window = 0;
    }

    uint64_t t0 = machine::monotonic_ns();
    int rc = ioctl(vcpu_.fd(), KVM_RUN, 0);
    stats_.guest_ns += machine::monotonic_ns() - t0;
    if (rc < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        ++stats_.signal_exits;
        return StopReason::ExitRequest;
      }
      throw KvmError(fmt::format("KVM_RUN failed: {}", std::strerror(errno)));
    }
    stats_.count(r->exit_reason);
    switch (r->exit_reason) {
      case KVM_EXIT_IO:
        handle_io();
        break;
      case KVM_EXIT_MMIO:
        handle_mmio();
        break;
      case KVM_EXIT_IRQ_WINDOW_OPEN:
        break;  // the loop head injects
      case KVM_EXIT_INTR:
        return StopReason::ExitRequest;
      case KVM_EXIT_DEBUG:
        return debug_exit(cpu);
      case KVM_EXIT_HLT:
        vcpu_.get_regs(cpu);
        return StopReason::Hlt;
      case KVM_EXIT_SHUTDOWN:
        fail_shutdown();
      case KVM_EXIT_FAIL_ENTRY:
        throw KvmError(fmt::format("the host refused to enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason "
                                   "{:#x} on cpu {}): the vCPU state is invalid for VM entry; registers:\n{}",
                                   r->fail_entry.hardware_entry_failure_reason, r->fail_entry.cpu,
                                   vcpu_.register_dump()));
      case KVM_EXIT_INTERNAL_ERROR:
        fail_internal_error(injected);
      case KVM_EXIT_SYSTEM_EVENT:
        throw KvmError(fmt::format("guest requested a system event (type {}: shutdown/reset/crash)", r->system_event.type));
      default:
        throw KvmError(fmt::format("unhandled vmexit {} ({}); registers:\n{}", r->exit_reason,
                                   exit_reason_name(r->exit_reason), vcpu_.register_dump()));
    }
  }
}

void KvmEngine::handle_io() {
  kvm_run* r = vcpu_.run_area();
  auto& io = r->io;
  uint8_t* data = reinterpret_cast<uint8_t*>(r) + io.data_offset;
  // `count` > 1 for a string instruction (REP INS/OUTS): KVM batches the elements.
  for (uint32_t i = 0; i < io.count; ++i, data += io.size) {
    if (io.direction == KVM_EXIT_IO_IN) {
      ++stats_.port_in[io.port];
      uint32_t v = bus_.port_in(io.port, io.size);
      std::memcpy(data, &v, io.size);
    } else {
      ++stats_.port_out[io.port];
      uint32_t v = 0;
      std::memcpy(&v, data, io.size);
      bus_.port_out(io.port, io.size, v);
    }
  }
}

void KvmEngine::handle_mmio() {
  auto& m = vcpu_.run_area()->mmio;
  ++stats_.mmio;
  uint8_t size = uint8_t(m.len > 8 ? 8 : m.len);
  if (m.is_write) {
    uint64_t v = 0;
    std::memcpy(&v, m.data, size);
    bus_.mmio_write(m.phys_addr, size, v);
  } else {
    uint64_t v = bus_.mmio_read(m.phys_addr, size);
    std::memcpy(m.data, &v, size);
  }
}

void KvmEngine::fail_shutdown() {
  // A SYSCALL that reached LSTAR still in ring 3 is not something a CPU can do: the back end
  // (PVM, which runs the guest kernel itself in ring 3) did not perform the privilege switch,
  // and the guest then faulted fetching supervisor code. Name that instead of blaming the guest.
  if (pvm_back_end_loaded()) {
    CpuState c{};
    vcpu_.get_state(c);
    uint64_t lstar = 0;
    try {
      lstar = vcpu_.get_msr(0xC0000082);
    } catch (const KvmError&) {
    }
    if ((c.seg[SEG_CS].selector & 3) == 3 && lstar && c.rip == lstar)
      throw KvmError("host KVM cannot deliver events to this guest (PVM back end?): a SYSCALL from ring 3 reached "
                     "the kernel entry point without entering ring 0, and the guest then triple-faulted; registers:\n" +
                     vcpu_.register_dump());
  }
  throw KvmError("guest triple-faulted (KVM_EXIT_SHUTDOWN: an exception while delivering a double fault, "
                 "or a reset request); registers:\n" + vcpu_.register_dump());
}

void KvmEngine::fail_internal_error(bool injected) {
  auto& ie = vcpu_.run_area()->internal;
  std::string data;
  for (uint32_t i = 0; i < ie.ndata && i < 16; ++i) data += fmt::format(" {:#x}", ie.data[i]);
  bool event_failure = ie.suberror == KVM_INTERNAL_ERROR_EMULATION || ie.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV;
  if (event_failure && (injected || pvm_back_end_loaded())) {
    // PVM enters guests without hardware virtualization and cannot emulate INT3, IRET or the
    // delivery of an interrupt or exception to a guest that is not PVM-aware.
    throw KvmError(fmt::format("host KVM cannot deliver events to this guest (PVM back end?): KVM_EXIT_INTERNAL_ERROR, "
                               "{}{}; registers:\n{}",
                               internal_suberror_name(ie.suberror), injected ? " while injecting an interrupt" : "",
                               vcpu_.register_dump()));
  }
  throw KvmError(fmt::format("KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror {}: {}; data{}); registers:\n{}",
                             ie.suberror, internal_suberror_name(ie.suberror), data.empty() ? " none" : data,
                             vcpu_.register_dump()));
}

}  // namespace vireo::kvm
