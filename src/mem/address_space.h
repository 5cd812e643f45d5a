// AddressSpace: a user-mode guest's virtual memory, backed by real host mappings.
//
// Layout (documented in docs/usage.md): the guest window is 64 TiB (guest addresses
// 0 .. 0x3fff'ffff'ffff), reserved PROT_NONE at start-up at a host address chosen by the host
// kernel (`guest_base`). Guest mappings are host mmaps placed with MAP_FIXED inside the window,
// so host permissions enforce guest permissions and a guest access is base + address.
// The stack sits at the top of the window; mmap(NULL) allocates top-down below it, as Linux
// does; ET_DYN programs load at kPieBase.
//
// Guest threads share one AddressSpace: every method that reads or changes the region map
// holds mu_ (recursive: brk maps through mmap), a ForkSafeMutex so that a guest fork never
// leaves it locked in the child.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mem/guest_memory.h"
#include "support/fork_safe_mutex.h"

namespace vireo {

class AddressSpace {
 public:
  static constexpr uint64_t kWindowSize = uint64_t(1) << 46;
  static constexpr uint64_t kGuardSize = 1 << 20;  // PROT_NONE on each side of the window (GuestMemory::guard)
  static constexpr uint64_t kPageSize = 4096;
  static constexpr uint64_t kStackTop = kWindowSize - 0x1000'0000;  // leave a guard area
  static constexpr uint64_t kStackSize = 8 << 20;                   // RLIMIT_STACK default
  static constexpr uint64_t kMmapTop = kStackTop - (uint64_t(1) << 32);
  static constexpr uint64_t kPieBase = 0x5555'5555'4000 & (kWindowSize - 1);

  AddressSpace();
  ~AddressSpace();
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  const GuestMemory& memory() const { return mem_; }
  uint8_t* host(uint64_t addr) const { return mem_.base + addr; }
  bool contains(uint64_t addr, uint64_t len) const { return mem_.contains(addr, len); }

  // Linux-style mmap inside the window. Returns the guest address or -errno.
  // `fd` >= 0 maps a host file. MAP_FIXED is honoured; otherwise `addr` is a hint.
  // `name_file`: record the file's name for /proc/self/maps (an fstat and a readlink of
  // /proc/self/fd); the ELF loader names its segments itself (set_origin) and skips them.
  int64_t mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset,
               bool name_file = true);
  // Places at `addr` (MAP_FIXED, inside the window) a second view of `len` bytes of Vireo's own
  // MAP_SHARED mapping at `view`: the same pages (mremap with an old size of 0), `prot` for the
  // guest, shown as shared memory. -errno if the host refuses (`view` not a shared mapping):
  // the range is unmapped then. (The vDSO's data page of a new image after an in-place
  // execve: no memfd made and mapped again.)
  int64_t map_shared_view(uint64_t addr, void* view, uint64_t len, int prot);
  int64_t munmap(uint64_t addr, uint64_t len);
  int64_t mprotect(uint64_t addr, uint64_t len, int prot);
  int64_t mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
                 uint64_t new_addr);
  int64_t madvise(uint64_t addr, uint64_t len, int advice);

  // Program break (brk). set_brk_start is called by the ELF loader.
  void set_brk_start(uint64_t start);
  uint64_t brk(uint64_t new_brk);

  // A fault at unmapped `addr` below a MAP_GROWSDOWN mapping: grows that mapping down to the
  // page of `addr` as Linux does (mm/mmap.c, expand_downwards: not within the stack guard gap
  // of the mapping below, and not past `limit` bytes in all) and returns true; false if there
  // is nothing to grow. The faulting access is then run again.
  bool grow_down(uint64_t addr, uint64_t limit);

  // Other guest pages that show the same page of the same file as `page` through MAP_SHARED
  // mappings (a second view of a memfd or file): writes through one are seen through all.
  std::vector<uint64_t> shared_aliases(uint64_t page) const;
  // The file page that `page` shows through a MAP_SHARED mapping of a file (dev, inode and
  // the page's offset in it); false for any other page (private, anonymous, unmapped).
  struct FilePage {
    uint64_t dev = 0, inode = 0, offset = 0;
  };
  bool shared_file_page(uint64_t page, FilePage& out) const;

  // The guest's protection (PROT_*) of the page holding `addr`, or -1 if it is unmapped.
  int prot_at(uint64_t addr) const;

  // True if every page of [addr, addr+len) is mapped with at least `prot`.
  bool is_mapped(uint64_t addr, uint64_t len, int prot = 0) const;

  // True if any page of [addr, addr+len) is mapped.
  bool is_mapped_any(uint64_t addr, uint64_t len) const;

  // For walking [addr, ...) run by run: if the page at `addr` is mapped, the end of the mapping
  // that holds it; otherwise the start of the next mapping above it (kWindowSize if none).
  uint64_t run_end(uint64_t addr) const;

  // One line per mapping, /proc/self/maps style (for -d and tests).
  std::string describe() const;

  // What a mapping is, for /proc/self/maps: the file it shows (with the offset of its first
  // page, device and inode) or a name such as "[stack]"; empty for anonymous memory.
  struct Origin {
    std::string name;
    uint64_t offset = 0, dev = 0, inode = 0;
    bool shared = false;  // MAP_SHARED ('s' in maps)
    bool grows_down = false;  // MAP_GROWSDOWN (VM_GROWSDOWN)
  };
  struct Mapping {
    uint64_t start, end;
    int prot;
    Origin origin;
  };
  // Names [start, end) (which must be mapped); a mapping split later keeps the offsets right.
  void set_origin(uint64_t start, uint64_t end, const std::string& name, uint64_t offset = 0,
                  uint64_t dev = 0, uint64_t inode = 0);
  // Every mapping in address order, neighbours with the same protection and origin merged, as
  // the kernel merges VMAs.
  std::vector<Mapping> mappings() const;
  // The program break's current range (for "[heap]").
  uint64_t brk_start() const { return brk_start_; }
  uint64_t brk_end() const { return brk_mapped_end_; }
  // Changes whenever the map (mappings, their names, the program break) changes: lets a reader
  // of mappings() tell cheaply, without the lock, that it has nothing new to read.
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
  // The host protection of a guest protection: execute-only is readable on the host (the jit
  // and the interpreter read the code).
  static int host_prot(int prot);

 private:
  struct Region {
    uint64_t end;
    int prot;
    Origin origin;
  };
  // The end of the VMA holding `addr` as Linux would have it (neighbouring regions with the
  // same protection and backing merged); `addr` itself if it is unmapped.
  uint64_t vma_end(uint64_t addr) const;
  uint64_t find_free(uint64_t len, uint64_t hint) const;
  // Splits the region holding `at` (if any) so that a region starts at `at`.
  void split(uint64_t at);
  void record(uint64_t start, uint64_t end, int prot, Origin origin);
  void record(uint64_t start, uint64_t end, int prot) { record(start, end, prot, Origin()); }
  void forget(uint64_t start, uint64_t end);
  void reserve(uint64_t start, uint64_t len);  // back to PROT_NONE reservation
  // mremap's helpers (address_space_remap.cpp).
  std::vector<std::pair<uint64_t, uint64_t>> free_runs(uint64_t start, uint64_t end) const;
  void unreserve_free(uint64_t start, uint64_t end);
  void reserve_free(uint64_t start, uint64_t end);

  GuestMemory mem_;
  mutable ForkSafeMutex mu_;
  std::map<uint64_t, Region> regions_;  // start -> region, non-overlapping
  uint64_t brk_start_ = 0, brk_cur_ = 0, brk_mapped_end_ = 0;
  std::atomic<uint64_t> generation_{0};
};

inline uint64_t page_align_up(uint64_t v) { return (v + 4095) & ~uint64_t(4095); }
inline uint64_t page_align_down(uint64_t v) { return v & ~uint64_t(4095); }

}  // namespace vireo
