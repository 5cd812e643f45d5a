#include "linux/guest_access.h"

#include <errno.h>

#include <algorithm>
#include <cstring>

#include "linux/process.h"
#include "mem/host_fault.h"

namespace vireo {

namespace {
// A plain copy under a guest fault scope (mem/host_fault.h, guarded_copy): a guest page that is unmapped,
// PROT_NONE, read-only (for a write) or past a mapped file's end faults, and the scope's
// handler ends the copy, as the engines' own guest accesses end. It was a process_vm_readv or
// process_vm_writev on our own pid, each after a getpid: ~4 us a copy on this host, some 60
// per process of a shell script (its signal frames, execve's arguments, stat buffers), issue
// 22. The window holds nothing but guest memory (address_space.h), so a fault there is the
// guest's and nothing of Vireo's is reached. As with process_vm_writev, a write that faults
// part-way leaves the bytes before the faulting page written.
bool transfer(Process& p, void* local, uint64_t guest, size_t len, bool to_guest) {
  return guarded_copy(p.as().memory(), local, guest, len, to_guest);
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

bool GuestPageReader::load(uint64_t page) {
  if (page == page_) return true;
  if (!transfer(p_, buf_, page, sizeof buf_, false)) return false;
  page_ = page;
  return true;
}

bool GuestPageReader::read(uint64_t addr, void* dst, size_t len) {
  if (len == 0) return true;
  if (!p_.as().contains(addr, len)) return false;
  p_.prepare_guest_read(addr, len);
  for (char* out = static_cast<char*>(dst); len;) {
    const uint64_t in_page = addr & (sizeof buf_ - 1);
    const size_t n = std::min<size_t>(len, sizeof buf_ - in_page);
    if (!load(addr - in_page)) return false;
    std::memcpy(out, buf_ + in_page, n);
    out += n;
    addr += n;
    len -= n;
  }
  return true;
}

bool GuestPageReader::read_string(uint64_t addr, std::string& out, size_t max) {
  out.clear();
  while (out.size() < max) {
    // The pieces read_guest_string reads (up to 256 bytes, not past the page's end).
    size_t n = std::min<size_t>(256, 4096 - (addr & 4095));
    if (!p_.as().contains(addr, n)) return false;
    p_.prepare_guest_read(addr, n);
    if (!load(addr & ~uint64_t(4095))) return false;
    const char* chunk = buf_ + (addr & 4095);
    const void* nul = std::memchr(chunk, '\0', n);
    const size_t len = nul ? size_t(static_cast<const char*>(nul) - chunk) : n;
    out.append(chunk, len);  // (as read_guest_string: `max` is checked per piece)
    if (nul) return true;
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
