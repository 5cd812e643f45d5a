// Memory calls beyond mmap and friends: mlock2, memory protection keys, and
// process_vm_readv/writev on our own process.
//
// Guest mappings are host mappings at guest_base + addr, so a guest range is a host range once
// it is checked to lie inside the guest window (outside, nothing can be mapped: ENOMEM, the
// kernel's answer for unmapped memory).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_call.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_mlock2(Process& p, const SyscallArgs& a) {
  if (!p.as().contains(a.a[0], a.a[1] ? a.a[1] : 1)) return -ENOMEM;
  return host_call(SYS_mlock2, hp(p.as().host(a.a[0])), a.a[1], a.a[2]);
}

// Protection keys: the CPU Vireo presents has no PKU (CPUID.7.ECX.PKU = 0), and Linux then
// answers pkey_alloc with ENOSPC (no key can be allocated) and pkey_free with EINVAL;
// pkey_mprotect with key -1 is plain mprotect (pkeys(7)).
int64_t sys_pkey_alloc(Process&, const SyscallArgs& a) {
  if (a.a[0] != 0 || a.a[1] > 3) return -EINVAL;  // flags must be 0; access rights 2 bits
  return -ENOSPC;
}
int64_t sys_pkey_free(Process&, const SyscallArgs&) { return -EINVAL; }
int64_t sys_pkey_mprotect(Process& p, const SyscallArgs& a) {
  if (int(a.a[3]) != -1) return -EINVAL;
  return p.as().mprotect(a.a[0], a.a[1], int(a.a[2]));
}

// process_vm_readv/writev: on our own process both sides are guest addresses, turned into host
// iovecs. Another process's guest addresses mean nothing in its host address space unless it
// was started with the same guest_base, so those calls answer EPERM, as for a process we may
// not ptrace-attach to.
int64_t guest_iovecs(Process& p, uint64_t addr, uint64_t n, std::vector<iovec>& out) {
  if (n > 1024) return -EINVAL;
  out.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t pair[2];
    if (!copy_from_guest(p, pair, addr + i * 16, 16)) return -EFAULT;
    out[i] = {host_arg(p, pair[0], pair[1]), pair[1]};
  }
  return 0;
}
template <long NR>
int64_t sys_process_vm(Process& p, const SyscallArgs& a) {
  if (pid_t(a.a[0]) != ::getpid()) return -EPERM;
  std::vector<iovec> local, remote;
  if (int64_t r = guest_iovecs(p, a.a[1], a.a[2], local)) return r;
  if (int64_t r = guest_iovecs(p, a.a[3], a.a[4], remote)) return r;
  return host_call(NR, a.a[0], hp(local.data()), local.size(), hp(remote.data()), remote.size(), a.a[5]);
}

}  // namespace

void register_memory_extra_syscalls(SyscallTable& t) {
  t[SYS_mlock2] = {"mlock2", sys_mlock2, {Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_pkey_alloc] = {"pkey_alloc", sys_pkey_alloc, {Arg::Hex, Arg::Hex}};
  t[SYS_pkey_free] = {"pkey_free", sys_pkey_free, {Arg::Int}};
  t[SYS_pkey_mprotect] = {"pkey_mprotect", sys_pkey_mprotect, {Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Int}};
  t[SYS_process_vm_readv] = {"process_vm_readv", sys_process_vm<SYS_process_vm_readv>, {Arg::Int, Arg::Ptr, Arg::Uint, Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_process_vm_writev] = {"process_vm_writev", sys_process_vm<SYS_process_vm_writev>, {Arg::Int, Arg::Ptr, Arg::Uint, Arg::Ptr, Arg::Uint, Arg::Hex}};
}

}  // namespace vireo
