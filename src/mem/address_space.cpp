#include "mem/address_space.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <stdexcept>

namespace vireo {

AddressSpace::AddressSpace() {
  void* p = ::mmap(nullptr, kGuardSize + kWindowSize + kGuardSize, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("cannot reserve the 64 TiB guest address window");
  mem_.base = static_cast<uint8_t*>(p) + kGuardSize;
  mem_.limit = kWindowSize;
  mem_.guard = kGuardSize;
  mem_.space = this;
  // Generations of successive address spaces never coincide (an in-place execve replaces the
  // address space, and the maps registry republishes on a generation it has not seen).
  static std::atomic<uint64_t> epoch{0};
  generation_.store(epoch.fetch_add(1) << 40, std::memory_order_relaxed);
}

AddressSpace::~AddressSpace() { ::munmap(mem_.base - kGuardSize, kGuardSize + kWindowSize + kGuardSize); }

// The host protection behind a guest protection: execute-only guest pages stay readable on
// the host, because the engines read instructions through host loads (the guest's own reads
// of them follow the host page, as on an x86-64 without protection keys, where PROT_EXEC
// implies PROT_READ).
int AddressSpace::host_prot(int prot) { return (prot & PROT_EXEC) ? prot | PROT_READ : prot; }

void AddressSpace::reserve(uint64_t start, uint64_t len) {
  ::mmap(host(start), len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
         -1, 0);
}

void AddressSpace::split(uint64_t at) {
  auto it = regions_.upper_bound(at);
  if (it == regions_.begin()) return;
  --it;
  if (it->first == at || it->second.end <= at) return;
  Region right = it->second;
  if (!right.origin.name.empty() && right.origin.inode) right.origin.offset += at - it->first;
  it->second.end = at;
  regions_[at] = std::move(right);
}

void AddressSpace::forget(uint64_t start, uint64_t end) {
  generation_.fetch_add(1, std::memory_order_relaxed);
  split(start);
  split(end);
  for (auto it = regions_.lower_bound(start); it != regions_.end() && it->first < end;)
    it = regions_.erase(it);
}

void AddressSpace::record(uint64_t start, uint64_t end, int prot, Origin origin) {
  generation_.fetch_add(1, std::memory_order_relaxed);
  forget(start, end);
  regions_[start] = {end, prot, std::move(origin)};
}

void AddressSpace::set_origin(uint64_t start, uint64_t end, const std::string& name,
                              uint64_t offset, uint64_t dev, uint64_t inode) {
  std::lock_guard g(mu_);
  generation_.fetch_add(1, std::memory_order_relaxed);
  split(start);
  split(end);
  for (auto it = regions_.lower_bound(start); it != regions_.end() && it->first < end; ++it) {
    Origin& o = it->second.origin;
    o.name = name;
    o.dev = dev;
    o.inode = inode;
    o.offset = inode ? offset + (it->first - start) : 0;
  }
}

std::vector<AddressSpace::Mapping> AddressSpace::mappings() const {
  std::lock_guard g(mu_);
  std::vector<Mapping> out;
  for (auto& [start, r] : regions_) {
    if (!out.empty()) {
      Mapping& m = out.back();
      const Origin& o = m.origin;
      bool same = m.end == start && m.prot == r.prot && o.name == r.origin.name &&
                  o.dev == r.origin.dev && o.inode == r.origin.inode && o.shared == r.origin.shared &&
                  o.grows_down == r.origin.grows_down &&
                  (!o.inode || o.offset + (m.end - m.start) == r.origin.offset);
      if (same) {
        m.end = r.end;
        continue;
      }
    }
    out.push_back({start, r.end, r.prot, r.origin});
  }
  return out;
}

bool AddressSpace::grow_down(uint64_t addr, uint64_t limit) {
  // Linux's stack_guard_gap (mm/mmap.c): 256 pages kept free above the mapping below.
  constexpr uint64_t kStackGuardGap = 256 * kPageSize;
  std::lock_guard g(mu_);
  const uint64_t page = page_align_down(addr);
  auto above = regions_.upper_bound(addr);
  if (above == regions_.end() || !above->second.origin.grows_down) return false;
  if (above != regions_.begin()) {
    auto below = std::prev(above);
    if (below->second.end > addr) return false;  // mapped: not a growth fault
    // (Linux leaves out a PROT_NONE neighbour and another growsdown mapping)
    if (below->second.prot != PROT_NONE && !below->second.origin.grows_down &&
        page - below->second.end < kStackGuardGap)
      return false;
  }
  const uint64_t start = above->first;
  if (vma_end(start) - page > limit) return false;  // acct_stack_growth: RLIMIT_STACK
  const Region r = above->second;
  const int flags = MAP_FIXED | (r.origin.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
  if (r.origin.inode || ::mmap(host(page), start - page, host_prot(r.prot), flags, -1, 0) == MAP_FAILED)
    return false;  // (a file-backed growsdown mapping does not grow: there is no file below it)
  record(page, start, r.prot, r.origin);
  return true;
}

std::vector<uint64_t> AddressSpace::shared_aliases(uint64_t page) const {
  std::lock_guard g(mu_);
  std::vector<uint64_t> out;
  auto it = regions_.upper_bound(page);
  if (it == regions_.begin() || std::prev(it)->second.end <= page) return out;
  --it;
  const Origin& o = it->second.origin;
  if (!o.shared || !o.inode) return out;
  const uint64_t file_off = o.offset + (page - it->first);
  for (auto& [start, r] : regions_) {
    const Origin& q = r.origin;
    if (!q.shared || q.inode != o.inode || q.dev != o.dev || file_off < q.offset ||
        file_off - q.offset >= r.end - start)
      continue;
    const uint64_t alias = start + (file_off - q.offset);
    if (alias != page) out.push_back(alias);
  }
  return out;
}

bool AddressSpace::shared_file_page(uint64_t page, FilePage& out) const {
  std::lock_guard g(mu_);
  auto it = regions_.upper_bound(page);
  if (it == regions_.begin() || std::prev(it)->second.end <= page) return false;
  --it;
  const Origin& o = it->second.origin;
  if (!o.shared || !o.inode) return false;
  out = {o.dev, o.inode, o.offset + (page - it->first)};
  return true;
}

namespace {

// The mapped region the calling thread looked up last, valid while the map's generation is the
// one it was read at (generations are unique across address spaces, and every change of the
// map changes it). The interpreter asks two or three times for every instruction it decodes
// (is its page executable, and the next one's), the translator for every block: a lock and a
// tree walk each time were 2-3% of a static hello world's start-up (issue 22). Per thread, so
// no lock: a thread racing with another's mprotect may see the old protection, as it could
// have with the lock, had it taken it first.
struct LastRegion {
  uint64_t generation = ~uint64_t(0), start = 0, end = 0;
  int prot = -1;
};
thread_local LastRegion t_last_region;

}  // namespace

int AddressSpace::prot_at(uint64_t addr) const {
  const LastRegion& c = t_last_region;
  if (c.generation == generation() && addr - c.start < c.end - c.start) return c.prot;
  std::lock_guard g(mu_);
  auto it = regions_.upper_bound(addr);
  if (it == regions_.begin()) return -1;
  --it;
  if (it->second.end <= addr) return -1;
  t_last_region = {generation(), it->first, it->second.end, it->second.prot};
  return it->second.prot;
}

bool AddressSpace::is_mapped(uint64_t addr, uint64_t len, int prot) const {
  const LastRegion& c = t_last_region;
  if (len && c.generation == generation() && addr - c.start < c.end - c.start && len <= c.end - addr)
    return (c.prot & prot) == prot;
  std::lock_guard g(mu_);
  if (!contains(addr, len)) return false;
  uint64_t a = page_align_down(addr), end = page_align_up(addr + len);
  while (a < end) {
    auto it = regions_.upper_bound(a);
    if (it == regions_.begin()) return false;
    --it;
    if (it->second.end <= a || (it->second.prot & prot) != prot) return false;
    a = it->second.end;
  }
  return true;
}

bool AddressSpace::is_mapped_any(uint64_t addr, uint64_t len) const {
  std::lock_guard g(mu_);
  auto it = regions_.upper_bound(addr);
  if (it != regions_.begin() && std::prev(it)->second.end > addr) return true;
  return it != regions_.end() && it->first < addr + len;
}

uint64_t AddressSpace::run_end(uint64_t addr) const {
  std::lock_guard g(mu_);
  auto it = regions_.upper_bound(addr);
  if (it != regions_.begin() && std::prev(it)->second.end > addr) return std::prev(it)->second.end;
  return it == regions_.end() ? kWindowSize : it->first;
}

uint64_t AddressSpace::find_free(uint64_t len, uint64_t hint) const {
  auto fits = [&](uint64_t start) {
    if (start < 0x10000 || start + len > kMmapTop) return false;
    auto it = regions_.upper_bound(start);
    if (it != regions_.begin() && std::prev(it)->second.end > start) return false;
    return it == regions_.end() || it->first >= start + len;
  };
  if (hint && fits(page_align_down(hint))) return page_align_down(hint);
  // Top-down first fit below kMmapTop, as Linux's default mmap layout does.
  uint64_t top = kMmapTop;
  for (auto it = regions_.lower_bound(kMmapTop); it != regions_.begin();) {
    --it;
    uint64_t gap_start = it->second.end;
    if (gap_start < top && top - gap_start >= len) return top - len;
    top = std::min(top, it->first);
  }
  if (top >= len + 0x10000) return top - len;
  return 0;
}

int64_t AddressSpace::mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd,
                           uint64_t offset, bool name_file) {
  std::lock_guard g(mu_);
  if (len == 0 || (offset & (kPageSize - 1))) return -EINVAL;
  len = page_align_up(len);
  if (len == 0 || len > kWindowSize) return -ENOMEM;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr & (kPageSize - 1)) return -EINVAL;
    if (!contains(addr, len)) return -ENOMEM;
    if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED)) {
      auto it = regions_.lower_bound(addr);
      if (it != regions_.begin() && std::prev(it)->second.end > addr) return -EEXIST;
      if (it != regions_.end() && it->first < addr + len) return -EEXIST;
    }
  } else {
    addr = find_free(len, addr);
    if (!addr) return -ENOMEM;
  }
  // Strip placement flags the host must not see (we place it ourselves, inside the window);
  // MAP_GROWSDOWN and MAP_32BIT have no meaning for an address we choose.
  int host_flags = (flags & ~(MAP_FIXED_NOREPLACE | MAP_GROWSDOWN | MAP_32BIT)) | MAP_FIXED;
  void* p = ::mmap(host(addr), len, host_prot(prot), host_flags, fd, off_t(offset));
  if (p == MAP_FAILED) return -errno;
  Origin o;
  o.shared = (flags & MAP_TYPE) != MAP_PRIVATE;
  o.grows_down = flags & MAP_GROWSDOWN;
  struct stat st;
  if (fd >= 0 && name_file && ::fstat(fd, &st) == 0) {
    char link[4096];
    ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", fd).c_str(), link, sizeof link - 1);
    o.name = n > 0 ? std::string(link, size_t(n)) : "";
    o.offset = offset;
    o.dev = uint64_t(st.st_dev);
    o.inode = uint64_t(st.st_ino);
  } else if (o.shared) {
    o.name = "/dev/zero (deleted)";  // what Linux shows for shared anonymous memory
  }
  record(addr, addr + len, prot, std::move(o));
  return int64_t(addr);
}

int64_t AddressSpace::map_shared_view(uint64_t addr, void* view, uint64_t len, int prot) {
  std::lock_guard g(mu_);
  len = page_align_up(len);
  if ((addr & (kPageSize - 1)) || len == 0 || !contains(addr, len)) return -EINVAL;
  // (the view keeps its own protection: the new one is `prot`'s before the guest sees it)
  // A failure leaves [addr, addr + len) unmapped (mremap unmaps the target before it checks
  // the source: mm/mremap.c, mremap_to), a reserved hole of the window again.
  void* p = ::mremap(view, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, host(addr));
  if (p == MAP_FAILED || ::mprotect(p, len, host_prot(prot)) != 0) {
    const int e = errno;
    reserve(addr, len);
    forget(addr, addr + len);
    return -e;
  }
  Origin o;
  o.shared = true;
  record(addr, addr + len, prot, std::move(o));
  return int64_t(addr);
}

int64_t AddressSpace::munmap(uint64_t addr, uint64_t len) {
  std::lock_guard g(mu_);
  if ((addr & (kPageSize - 1)) || len == 0) return -EINVAL;
  len = page_align_up(len);
  if (!contains(addr, len)) return -EINVAL;
  reserve(addr, len);
  forget(addr, addr + len);
  return 0;
}

int64_t AddressSpace::mprotect(uint64_t addr, uint64_t len, int prot) {
  std::lock_guard g(mu_);
  if (addr & (kPageSize - 1)) return -EINVAL;
  len = page_align_up(len);
  if (!contains(addr, len)) return -ENOMEM;
  // Like Linux (mm/mprotect.c), mappings are changed one after the other from the start of the
  // range; a hole stops the walk with ENOMEM, leaving the part before it changed.
  const uint64_t end = addr + len;
  for (uint64_t a = addr; a < end;) {
    if (!is_mapped(a, 1)) return -ENOMEM;
    uint64_t b = std::min(end, run_end(a));
    if (::mprotect(host(a), b - a, host_prot(prot)) != 0) return -errno;
    // New protection on the pieces, which keep what they map.
    split(a);
    split(b);
    for (auto it = regions_.lower_bound(a); it != regions_.end() && it->first < b; ++it)
      it->second.prot = prot;
    generation_.fetch_add(1, std::memory_order_relaxed);
    a = b;
  }
  return 0;
}

uint64_t AddressSpace::vma_end(uint64_t addr) const {
  auto it = regions_.upper_bound(addr);
  if (it == regions_.begin() || std::prev(it)->second.end <= addr) return addr;
  --it;
  uint64_t end = it->second.end;
  // Neighbours Linux would have merged into one VMA (same protection, same backing, offsets
  // continuing) count as one here too.
  for (auto next = std::next(it); next != regions_.end() && next->first == end; it = next++) {
    const Origin& a = it->second.origin;
    const Origin& b = next->second.origin;
    if (next->second.prot != it->second.prot || a.name != b.name || a.inode != b.inode ||
        a.shared != b.shared || a.grows_down != b.grows_down ||
        (a.inode && a.offset + (end - it->first) != b.offset))
      break;
    end = next->second.end;
  }
  return end;
}

int64_t AddressSpace::madvise(uint64_t addr, uint64_t len, int advice) {
  std::lock_guard g(mu_);
  if (addr & (kPageSize - 1)) return -EINVAL;
  if (!contains(addr, page_align_up(len))) return -ENOMEM;
  if (advice != MADV_DONTNEED && advice != MADV_FREE) return 0;  // hints only
  // Like Linux (mm/madvise.c), the advice applies to every mapped part of the range; holes
  // make the call fail with ENOMEM afterwards, not before.
  const uint64_t end = addr + page_align_up(len);
  bool hole = false;
  for (uint64_t a = addr; a < end;) {
    uint64_t b = std::min(end, run_end(a));
    if (is_mapped(a, 1)) {
      if (::madvise(host(a), b - a, advice) != 0) return -errno;
    } else {
      hole = true;
    }
    a = b;
  }
  return hole ? -ENOMEM : 0;
}

void AddressSpace::set_brk_start(uint64_t start) {
  std::lock_guard g(mu_);
  generation_.fetch_add(1, std::memory_order_relaxed);
  brk_start_ = brk_cur_ = start;
  brk_mapped_end_ = page_align_up(start);
}

uint64_t AddressSpace::brk(uint64_t new_brk) {
  std::lock_guard g(mu_);
  if (new_brk < brk_start_) return brk_cur_;
  uint64_t want_end = page_align_up(new_brk);
  // brk(-1) and its like: the aligned end wraps to 0 and would read as a shrink that unmaps
  // everything below the heap. Linux fails it (no memory for such a heap): the break stays.
  if (want_end < new_brk) return brk_cur_;
  if (want_end > brk_mapped_end_) {
    uint64_t len = want_end - brk_mapped_end_;
    // Linux refuses to grow the heap into an existing mapping.
    auto it = regions_.lower_bound(brk_mapped_end_);
    if (it != regions_.end() && it->first < want_end) return brk_cur_;
    if (mmap(brk_mapped_end_, len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) < 0)
      return brk_cur_;
  } else if (want_end < brk_mapped_end_) {
    munmap(want_end, brk_mapped_end_ - want_end);
  }
  brk_mapped_end_ = want_end;
  brk_cur_ = new_brk;
  return brk_cur_;
}

std::string AddressSpace::describe() const {
  std::lock_guard g(mu_);
  std::string s;
  for (auto& [start, r] : regions_)
    s += fmt::format("{:012x}-{:012x} {}{}{}\n", start, r.end, (r.prot & PROT_READ) ? 'r' : '-',
                     (r.prot & PROT_WRITE) ? 'w' : '-', (r.prot & PROT_EXEC) ? 'x' : '-');
  return s;
}

}  // namespace vireo
