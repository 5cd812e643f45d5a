// Safe access to guest memory from the syscall layer.
//
// A guest can hand the kernel any pointer; copying through it must give -EFAULT, never a Vireo
// crash. These helpers check the address against the guest window and copy under a guest
// fault scope (mem/host_fault.h): a fault on the way makes them fail instead of crashing.
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

// Reads many small pieces of the same guest pages with one copy per page: execve's argv and
// envp (a pointer, then a string: some 80 per execve of a shell's environment, each once a
// process_vm_readv of ~4 us, issue 22). Answers as copy_from_guest and read_guest_string do,
// and tells the engine of the same ranges they would (prepare_guest_read: gdb's watchpoints see
// the kernel's reads); the guest must not change the pages meanwhile (execve's arguments).
class GuestPageReader {
 public:
  explicit GuestPageReader(Process& p) : p_(p) {}
  bool read(uint64_t addr, void* dst, size_t len);
  bool read_string(uint64_t addr, std::string& out, size_t max);

 private:
  bool load(uint64_t page);  // the page at `page` into buf_, unless it is there already
  Process& p_;
  uint64_t page_ = 1;  // (no page: page addresses are 4 KiB-aligned)
  char buf_[4096];
};

template <class T>
bool read_guest(Process& p, uint64_t addr, T& v) {
  return copy_from_guest(p, &v, addr, sizeof(T));
}
template <class T>
bool write_guest(Process& p, uint64_t addr, const T& v) {
  return copy_to_guest(p, addr, &v, sizeof(T));
}

}  // namespace vireo
