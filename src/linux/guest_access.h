// Safe access to guest memory from the syscall layer.
//
// A guest can hand the kernel any pointer; copying through it must give -EFAULT, never a Vireo
// crash. These helpers check the address against the guest window and copy with
// process_vm_readv/writev on our own pid, which fails with EFAULT instead of faulting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vireo {

class Process;

bool copy_from_guest(Process& p, void* dst, uint64_t src, size_t len);
bool copy_to_guest(Process& p, uint64_t dst, const void* src, size_t len);
// Reads a NUL-terminated string of at most `max` bytes; false on a bad pointer or no NUL.
bool read_guest_string(Process& p, uint64_t addr, std::string& out, size_t max = 4096);
// Host pointer for passing a guest buffer straight to a host syscall (the host kernel reports
// EFAULT itself for unmapped pages). nullptr if [addr, addr+len) leaves the guest window.
void* guest_ptr(Process& p, uint64_t addr, size_t len);

// Host pointer for handing a guest buffer to a host syscall that must see EFAULT (not crash,
// not touch Vireo's memory) for a bad guest pointer: a pointer outside the guest window becomes
// a kernel-half address, which every host syscall rejects with EFAULT.
void* host_arg(Process& p, uint64_t addr, size_t len);
// As host_arg, but guest NULL stays NULL (for optional arguments: "times = NULL" means now).
void* host_opt(Process& p, uint64_t addr, size_t len);

// Reads a guest path: 0, -EFAULT or -ENAMETOOLONG (no NUL within PATH_MAX bytes).
int read_guest_path(Process& p, uint64_t addr, std::string& out);

template <class T>
bool read_guest(Process& p, uint64_t addr, T& v) {
  return copy_from_guest(p, &v, addr, sizeof(T));
}
template <class T>
bool write_guest(Process& p, uint64_t addr, const T& v) {
  return copy_to_guest(p, addr, &v, sizeof(T));
}

}  // namespace vireo
