#include "kvm/kvm_vcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "kvm/kvm_cpuid_abi.h"
#include "kvm/kvm_error.h"

namespace vireo::kvm {

namespace {

void check(int rc, const char* what) {
  if (rc < 0) throw KvmError(fmt::format("{} failed: {}", what, std::strerror(errno)));
}

// CpuState::Segment::attrib packs descriptor bits 40..47 and 52..55 (type, S, DPL, P, AVL, L,
// D/B, G); kvm_segment spells them out.
kvm_segment to_kvm(const Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.attrib & 0xF;
  k.s = (s.attrib >> 4) & 1;
  k.dpl = (s.attrib >> 5) & 3;
  k.present = (s.attrib >> 7) & 1;
  k.avl = (s.attrib >> 8) & 1;
  k.l = (s.attrib >> 9) & 1;
  k.db = (s.attrib >> 10) & 1;
  k.g = (s.attrib >> 11) & 1;
  k.unusable = !k.present;
  return k;
}

Segment from_kvm(const kvm_segment& k) {
  uint16_t a = uint16_t(k.type | (k.s << 4) | (k.dpl << 5) | (k.present << 7) | (k.avl << 8) | (k.l << 9) |
                        (k.db << 10) | (k.g << 11));
  return Segment{k.selector, a, k.limit, k.base};
}

}  // namespace

KvmVcpu::KvmVcpu(KvmVm& vm, int index) {
  fd_ = ioctl(vm.vm_fd(), KVM_CREATE_VCPU, index);
  check(fd_, "KVM_CREATE_VCPU");
  run_size_ = size_t(vm.vcpu_mmap_size());
  void* p = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) throw KvmError(fmt::format("mmap of the vCPU run area failed: {}", std::strerror(errno)));
  run_ = static_cast<kvm_run*>(p);

  const auto& ids = vm.supported_cpuid();
  std::vector<uint8_t> buf = cpuid2_buffer(uint32_t(ids.size()), ids.data());
  check(ioctl(fd_, kIoctlSetCpuid2, buf.data()), "KVM_SET_CPUID2");
}

KvmVcpu::~KvmVcpu() {
  if (run_) munmap(run_, run_size_);
  if (fd_ >= 0) close(fd_);
}

void KvmVcpu::set_state(const CpuState& cpu) {
  kvm_sregs s{};
  check(ioctl(fd_, KVM_GET_SREGS, &s), "KVM_GET_SREGS");
  kvm_segment* segs[SEG_COUNT] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs};
  for (int i = 0; i < SEG_COUNT; ++i) *segs[i] = to_kvm(cpu.seg[i]);
  s.ldt = to_kvm(cpu.ldtr);
  s.tr = to_kvm(cpu.tr);
  s.tr.unusable = 0;  // TR must be usable for VM entry even when it describes nothing yet
  s.tr.present = 1;
  s.gdt = {cpu.gdtr.base, cpu.gdtr.limit, {}};
  s.idt = {cpu.idtr.base, cpu.idtr.limit, {}};
  s.cr0 = cpu.cr0;
  s.cr2 = cpu.cr2;
  s.cr3 = cpu.cr3;
  s.cr4 = cpu.cr4;
  s.cr8 = cpu.cr8;
  s.efer = cpu.efer;
  if (cpu.apic_base) s.apic_base = cpu.apic_base;
  check(ioctl(fd_, KVM_SET_SREGS, &s), "KVM_SET_SREGS");

  kvm_regs r{};
  __u64* g[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
                     &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
  for (int i = 0; i < 16; ++i) *g[i] = cpu.gpr[i];
  r.rip = cpu.rip;
  r.rflags = cpu.rflags | flag::FIXED1;
  check(ioctl(fd_, KVM_SET_REGS, &r), "KVM_SET_REGS");

  kvm_fpu f{};
  f.fcw = cpu.x87.fcw ? cpu.x87.fcw : 0x37F;
  f.mxcsr = cpu.mxcsr ? cpu.mxcsr : 0x1F80;
  check(ioctl(fd_, KVM_SET_FPU, &f), "KVM_SET_FPU");
}

void KvmVcpu::get_regs(CpuState& cpu) const {
  kvm_regs r{};
  check(ioctl(fd_, KVM_GET_REGS, &r), "KVM_GET_REGS");
  const uint64_t g[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                          r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
  for (int i = 0; i < 16; ++i) cpu.gpr[i] = g[i];
  cpu.rip = r.rip;
  cpu.rflags = r.rflags;
}

void KvmVcpu::get_state(CpuState& cpu) const {
  get_regs(cpu);
  kvm_sregs s{};
  check(ioctl(fd_, KVM_GET_SREGS, &s), "KVM_GET_SREGS");
  const kvm_segment* segs[SEG_COUNT] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs};
  for (int i = 0; i < SEG_COUNT; ++i) cpu.seg[i] = from_kvm(*segs[i]);
  cpu.ldtr = from_kvm(s.ldt);
  cpu.tr = from_kvm(s.tr);
  cpu.gdtr = {s.gdt.base, s.gdt.limit};
  cpu.idtr = {s.idt.base, s.idt.limit};
  cpu.cr0 = s.cr0;
  cpu.cr2 = s.cr2;
  cpu.cr3 = s.cr3;
  cpu.cr4 = s.cr4;
  cpu.cr8 = s.cr8;
  cpu.efer = s.efer;
  cpu.apic_base = s.apic_base;
}

void KvmVcpu::inject_interrupt(int vector) {
  kvm_interrupt irq{uint32_t(vector)};
  check(ioctl(fd_, KVM_INTERRUPT, &irq), "KVM_INTERRUPT");
}

uint64_t KvmVcpu::get_msr(uint32_t index) const {
  // kvm_msrs has the same C++ flexible-array problem as kvm_cpuid2 (kvm_cpuid_abi.h):
  // header { u32 nmsrs; u32 pad; } then kvm_msr_entry[].
  struct {
    uint32_t nmsrs, pad;
    kvm_msr_entry entry;
  } req{1, 0, {}};
  req.entry.index = index;
  constexpr unsigned long kIoctlGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
  if (ioctl(fd_, kIoctlGetMsrs, &req) != 1) throw KvmError(fmt::format("KVM_GET_MSRS {:#x} failed", index));
  return req.entry.data;
}

std::string KvmVcpu::register_dump() const {
  CpuState c{};
  try {
    get_state(c);
  } catch (const KvmError& e) {
    return std::string("  (registers unavailable: ") + e.what() + ")";
  }
  return format_registers(c);
}

}  // namespace vireo::kvm
