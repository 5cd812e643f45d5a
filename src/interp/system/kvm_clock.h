// kvmclock: the paravirtual clock KVM offers its guests, served by the system interpreter
// (Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW and MSR_KVM_WALL_CLOCK_NEW;
// the structures are arch/x86/include/asm/pvclock-abi.h's). The guest names a page of its RAM
// by MSR and Vireo fills it with the scale from TSC cycles to nanoseconds, so Linux takes the
// TSC frequency from it (kvm_get_tsc_khz) instead of calibrating against the PIT, and uses
// it as its clocksource: a clock read is RDTSC and arithmetic, no port I/O.
//
// The guest's TSC is the host's (plus the IA32_TSC offset), and system time is the host's
// CLOCK_MONOTONIC since the machine started, the clock the PIT counts from too; the scale is
// the host TSC rate measured over the time the guest took to reach the MSR (20 ms at least).
// Both run at constant rates, so one update at each MSR write stays exact: the structure
// carries PVCLOCK_TSC_STABLE_BIT, as KVM's does on a host with a stable TSC.
#pragma once

#include <cstdint>

#include "machine/host_tsc.h"

namespace vireo {

struct Exec;

struct KvmClockState {
  machine::TscSample start = machine::sample_tsc();  // the machine's time zero
  uint64_t system_time_msr = 0, wall_clock_msr = 0;  // as written (GPA | enable bit)
  uint32_t version = 0;                              // of the vcpu time info, kept even
  uint64_t tsc_hz = 0;                               // measured at the first enable
};

// RDMSR/WRMSR of the kvmclock MSRs: false when `msr` is not one of them or the interface is
// hidden (`--cpu MODEL,-kvmclock`); the caller then raises #GP as for any unknown MSR.
bool kvm_clock_rdmsr(Exec& x, uint32_t msr, uint64_t& value);
bool kvm_clock_wrmsr(Exec& x, uint32_t msr, uint64_t value);
// The guest's TSC moved (a write to IA32_TSC): the time info is filled again.
void kvm_clock_tsc_written(Exec& x);

}  // namespace vireo
