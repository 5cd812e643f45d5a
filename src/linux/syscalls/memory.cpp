// Memory system calls: brk, mmap, munmap, mprotect, mremap, madvise, msync, mincore, mlock.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

int64_t sys_brk(Process& p, const SyscallArgs& a) {
  const uint64_t old_end = p.as().brk_end();
  const uint64_t r = p.as().brk(a.a[0]);
  if (p.as().brk_end() > old_end) p.engine().mapped(old_end, p.as().brk_end() - old_end);
  return int64_t(r);
}

int64_t sys_mmap(Process& p, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  int fd = (flags & MAP_ANONYMOUS) ? -1 : int(a.a[4]);
  int64_t r = p.as().mmap(a.a[0], a.a[1], int(a.a[2]), flags, fd, a.a[5]);
  // A fixed mapping may replace code the engines have decoded or translated.
  if (r >= 0 && (flags & MAP_FIXED)) p.engine().invalidate(uint64_t(r), a.a[1]);
  else if (r >= 0) p.engine().mapped(uint64_t(r), a.a[1]);
  // A new shared view of a file: code translated from its other views was protected without
  // this one, so it is dropped (translated again, it protects every view).
  if (r >= 0 && (flags & MAP_TYPE) != MAP_PRIVATE && fd >= 0) p.engine().shared_file_mapped(uint64_t(r), a.a[1]);
  return r;
}

// The part of [addr, addr+len) inside the guest window: what an engine may hold code from. A
// huge length (mprotect(p, 2^50) fails, yet may have changed the start) must not make the
// engine walk 2^38 pages.
uint64_t window_len(uint64_t addr, uint64_t len) {
  return addr >= AddressSpace::kWindowSize ? 0 : std::min(len, AddressSpace::kWindowSize - addr);
}

int64_t sys_munmap(Process& p, const SyscallArgs& a) {
  int64_t r = p.as().munmap(a.a[0], a.a[1]);
  if (r == 0) p.engine().invalidate(a.a[0], a.a[1]);
  return r;
}

// Linux's order of checks (mm/mprotect.c, do_mprotect_pkey): both grow flags, then alignment,
// a zero length (success), a range that wraps (ENOMEM), unknown protection bits (EINVAL), and only
// then the mappings, changed one after the other from the start until a hole (ENOMEM, the part
// before it changed). Nothing of the guest is mapped past the window, so a range that leaves it
// changes what it covers inside and answers ENOMEM, as Linux at the first hole.
int64_t sys_mprotect(Process& p, const SyscallArgs& a) {
  constexpr uint64_t kPage = AddressSpace::kPageSize;
  constexpr int kGrows = PROT_GROWSDOWN | PROT_GROWSUP;
  const uint64_t addr = a.a[0], len = a.a[1];
  const int prot = int(a.a[2]);
  if ((prot & kGrows) == kGrows) return -EINVAL;
  if (addr & (kPage - 1)) return -EINVAL;
  if (len == 0) return 0;
  const uint64_t aligned = (len + kPage - 1) & ~(kPage - 1);
  if (addr + aligned <= addr) return -ENOMEM;
  constexpr int kProtSem = 0x8;  // (asm-generic/mman-common.h; glibc does not define PROT_SEM)
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | kProtSem | kGrows)) return -EINVAL;
  const uint64_t inside = window_len(addr, aligned);
  // What the walk can change: the mappings from addr up to the first hole.
  uint64_t reach = addr;
  while (reach < addr + inside && p.as().is_mapped(reach, 1)) reach = p.as().run_end(reach);
  const uint64_t changed = std::min(reach, addr + inside) - addr;
  if (changed == 0) return -ENOMEM;  // (nothing at addr: Linux's first lookup fails alike)
  int64_t r = p.as().mprotect(addr, changed, prot);
  if (r == 0 || r == -ENOMEM) p.engine().invalidate(addr, changed);
  if (r == 0 && changed < aligned) return -ENOMEM;  // the hole (or the window's end) stops it
  return r;
}

int64_t sys_mremap(Process& p, const SyscallArgs& a) {
  // Code translated from the old range goes first: it is moved, emptied (MREMAP_DONTUNMAP) or
  // cut off, and the jit's write-protection of its pages would split the host mappings that
  // AddressSpace::mremap asks the host kernel about.
  p.engine().invalidate(a.a[0], window_len(a.a[0], a.a[1]));
  int64_t r = p.as().mremap(a.a[0], a.a[1], a.a[2], int(a.a[3]), a.a[4]);
  // Whatever the new range held before is gone too (a MREMAP_FIXED target is cleared even
  // when a later step fails).
  if (r >= 0) p.engine().invalidate(uint64_t(r), a.a[2]);
  else if (int(a.a[3]) & MREMAP_FIXED) p.engine().invalidate(a.a[4], window_len(a.a[4], a.a[2]));
  return r;
}

// The advice values Linux 6.1 knows (madvise_behavior_valid); any other is EINVAL, checked
// before the range.
bool advice_known(int advice) {
  return (advice >= MADV_NORMAL && advice <= MADV_WILLNEED) || advice == MADV_DONTNEED ||
         (advice >= MADV_FREE && advice <= 24 /* MADV_DONTNEED_LOCKED */) ||
         advice == MADV_HWPOISON || advice == 101 /* MADV_SOFT_OFFLINE */;
}

int64_t sys_madvise(Process& p, const SyscallArgs& a) {
  if (!advice_known(int(a.a[2]))) return -EINVAL;
  int64_t r = p.as().madvise(a.a[0], a.a[1], int(a.a[2]));
  // MADV_DONTNEED empties private pages: code translated from them is stale.
  if (int(a.a[2]) == MADV_DONTNEED || int(a.a[2]) == MADV_FREE)
    p.engine().invalidate(a.a[0], window_len(a.a[0], a.a[1]));
  return r;
}

// The calls below act on a range of guest pages and pass straight through to the host: guest
// mappings are host mappings. A range leaving the guest window cannot be mapped, so the answer
// is the kernel's for unmapped memory, -ENOMEM (the host itself checks alignment and holes).
// Unmapped guest pages are still host pages of the window's PROT_NONE reservation, so the host
// would accept them: the guest's own map decides (-ENOMEM for a hole, as Linux answers).
long host_range(Process& p, uint64_t addr, uint64_t len) {
  if (len && !p.as().is_mapped(page_align_down(addr), len + (addr & 4095))) return 0;
  void* h = guest_ptr(p, addr, len ? len : 1);
  return h ? long(reinterpret_cast<uintptr_t>(h)) : 0;
}

int64_t sys_msync(Process& p, const SyscallArgs& a) {
  long h = host_range(p, a.a[0], a.a[1]);
  if (!h) return -ENOMEM;
  return host_result(::syscall(SYS_msync, h, long(a.a[1]), long(a.a[2])));
}

int64_t sys_mincore(Process& p, const SyscallArgs& a) {
  long h = host_range(p, a.a[0], a.a[1]);
  if (!h) return -ENOMEM;
  uint64_t pages = (a.a[1] + 4095) / 4096;
  return host_result(::syscall(SYS_mincore, h, long(a.a[1]), host_arg(p, a.a[2], pages ? pages : 1)));
}

template <long NR>
int64_t sys_lock_range(Process& p, const SyscallArgs& a) {
  long h = host_range(p, a.a[0], a.a[1]);
  if (!h) return -ENOMEM;
  return host_result(::syscall(NR, h, long(a.a[1])));
}

int64_t sys_mlockall(Process&, const SyscallArgs& a) { return host_result(::syscall(SYS_mlockall, long(a.a[0]))); }
int64_t sys_munlockall(Process&, const SyscallArgs&) { return host_result(::syscall(SYS_munlockall)); }

}  // namespace

void register_memory_syscalls(SyscallTable& t) {
  t[SYS_brk] = {"brk", sys_brk, {Arg::Ptr}, Arg::Hex};
  t[SYS_mmap] = {"mmap", sys_mmap, {Arg::Ptr, Arg::Uint, Arg::Hex, Arg::Hex, Arg::Fd, Arg::Hex}, Arg::Hex};
  t[SYS_munmap] = {"munmap", sys_munmap, {Arg::Ptr, Arg::Uint}};
  t[SYS_mprotect] = {"mprotect", sys_mprotect, {Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_mremap] = {"mremap", sys_mremap, {Arg::Ptr, Arg::Uint, Arg::Uint, Arg::Hex, Arg::Ptr}, Arg::Hex};
  t[SYS_madvise] = {"madvise", sys_madvise, {Arg::Ptr, Arg::Uint, Arg::Int}};
  t[SYS_msync] = {"msync", sys_msync, {Arg::Ptr, Arg::Uint, Arg::Hex}};
  t[SYS_mincore] = {"mincore", sys_mincore, {Arg::Ptr, Arg::Uint, Arg::Ptr}};
  t[SYS_mlock] = {"mlock", sys_lock_range<SYS_mlock>, {Arg::Ptr, Arg::Uint}};
  t[SYS_munlock] = {"munlock", sys_lock_range<SYS_munlock>, {Arg::Ptr, Arg::Uint}};
  t[SYS_mlockall] = {"mlockall", sys_mlockall, {Arg::Hex}};
  t[SYS_munlockall] = {"munlockall", sys_munlockall, {}};
}

}  // namespace vireo
