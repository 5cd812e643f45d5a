#include "linux/guest_access.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "linux/process.h"

namespace vireo {

namespace {
bool transfer(Process& p, void* local, uint64_t guest, size_t len, bool to_guest) {
  if (len == 0) return true;
  if (!p.as().contains(guest, len)) return false;
  iovec l{local, len}, r{p.as().host(guest), len};
  ssize_t n = to_guest ? process_vm_writev(getpid(), &l, 1, &r, 1, 0)
                       : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
  return n == ssize_t(len);
}
}  // namespace

bool copy_from_guest(Process& p, void* dst, uint64_t src, size_t len) {
  if (p.as().contains(src, len)) p.prepare_guest_read(src, len);
  return transfer(p, dst, src, len, false);
}

bool copy_to_guest(Process& p, uint64_t dst, const void* src, size_t len) {
  if (p.as().contains(dst, len)) p.prepare_guest_write(dst, len);
  return transfer(p, const_cast<void*>(src), dst, len, true);
}

bool read_guest_string(Process& p, uint64_t addr, std::string& out, size_t max) {
  out.clear();
  char chunk[256];
  while (out.size() < max) {
    // Read up to the end of the page so a string ending just before an unmapped page works.
    size_t n = std::min<size_t>(sizeof chunk, 4096 - (addr & 4095));
    if (!copy_from_guest(p, chunk, addr, n)) return false;
    for (size_t i = 0; i < n; ++i) {
      if (chunk[i] == '\0') return true;
      out += chunk[i];
    }
    addr += n;
  }
  return false;
}

int read_guest_path(Process& p, uint64_t addr, std::string& out) {
  out.clear();
  char chunk[256];
  while (out.size() < 4096) {
    size_t n = std::min<size_t>(sizeof chunk, 4096 - (addr & 4095));
    if (!copy_from_guest(p, chunk, addr, n)) return -EFAULT;
    for (size_t i = 0; i < n; ++i) {
      if (chunk[i] == '\0') return 0;
      out += chunk[i];
    }
    addr += n;
  }
  return -ENAMETOOLONG;
}

void* host_arg(Process& p, uint64_t addr, size_t len) {
  if (void* h = guest_ptr(p, addr, len)) return h;
  return reinterpret_cast<void*>(uintptr_t(0xffff'ff00'0000'0000));
}

void* host_opt(Process& p, uint64_t addr, size_t len) {
  return addr ? host_arg(p, addr, len) : nullptr;
}

// Buffers handed to the host kernel may be written by it (read(), stat(), ...): pages the
// engine write-protected for self-modifying-code detection must be writable first.
void* guest_ptr(Process& p, uint64_t addr, size_t len) {
  if (!p.as().contains(addr, len)) return nullptr;
  p.prepare_guest_write(addr, len);
  return p.as().host(addr);
}

}  // namespace vireo
