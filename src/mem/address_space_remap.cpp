// AddressSpace::mremap: Linux's mremap (mm/mremap.c, as of Linux 6.17/6.18) on the guest's
// address space.
//
// Which ranges mremap treats as one mapping depends on the kernel's VMAs, and those depend on
// more than the guest can see: two neighbouring anonymous mappings with the same protection
// are one VMA or two depending on whether their pages were touched before they met (anon_vma),
// on where they were moved from (vm_pgoff), on VM_ACCOUNT left by an earlier writable
// protection. Guest mappings are host mappings at guest_base + address, made by the same
// calls in the same order and touched by the same accesses, so the host kernel already holds
// exactly those VMAs: the call is made on the host, and its answer is the guest's. What the
// host cannot know is done here:
//  - the checks on the guest's own numbers (TASK_SIZE, alignment, overlap: check_mremap_params),
//    and where the guest has nothing mapped (vma_lookup, EFAULT);
//  - the window's PROT_NONE reservation fills the guest's holes on the host: it is lifted over
//    the free pages an in-place growth would take, for the call, and put back afterwards
//    wherever the guest has nothing mapped; a move of several mappings goes run by run of
//    mapped pages, so that the holes between them are not moved along;
//  - a move to an address the kernel would choose goes to one this address space chooses
//    (find_free), given to the host as MREMAP_FIXED;
//  - execute-only guest pages are readable on the host (host_prot), so an execute-only
//    mapping and a readable+executable neighbour are one host VMA but two for Linux: the
//    guest's own view of the mapping (vma_end) must hold the range as well.
// The caller drops the code translated from the source range first: the jit's
// write-protection of code pages splits host VMAs that the guest sees as one.
#include <errno.h>
#include <sys/mman.h>

#include "mem/address_space.h"

namespace vireo {

namespace {
// x86-64's TASK_SIZE with 4-level paging: the end of the user address space Linux checks
// mremap's new length and address against.
constexpr uint64_t kTaskSize = 0x7fff'ffff'f000;
}  // namespace

std::vector<std::pair<uint64_t, uint64_t>> AddressSpace::free_runs(uint64_t start, uint64_t end) const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (uint64_t a = start; a < end;) {
    uint64_t b = std::min(end, run_end(a));
    if (!is_mapped_any(a, 1)) out.emplace_back(a, b);
    a = b;
  }
  return out;
}

void AddressSpace::unreserve_free(uint64_t start, uint64_t end) {
  for (auto [a, b] : free_runs(start, end)) ::munmap(host(a), b - a);
}

void AddressSpace::reserve_free(uint64_t start, uint64_t end) {
  for (auto [a, b] : free_runs(start, end)) reserve(a, b - a);
}

int64_t AddressSpace::mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
                             uint64_t new_addr) {
  std::lock_guard g(mu_);
  // check_mremap_params().
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return -EINVAL;
  if (old_addr & (kPageSize - 1)) return -EINVAL;
  old_len = page_align_up(old_len);
  new_len = page_align_up(new_len);
  if (new_len == 0) return -EINVAL;
  if (new_len > kTaskSize || new_addr > kTaskSize - new_len) return -EINVAL;
  // MREMAP_FIXED and MREMAP_DONTUNMAP name (or hint) the new address: the mapping moves.
  const bool to = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
  if (to) {
    if (new_addr & (kPageSize - 1)) return -EINVAL;
    if (!(flags & MREMAP_MAYMOVE)) return -EINVAL;
    if ((flags & MREMAP_DONTUNMAP) && old_len != new_len) return -EINVAL;
    if (old_addr + old_len > new_addr && new_addr + new_len > old_addr) return -EINVAL;
  }
  // vma_lookup(): nothing mapped at old_addr is EFAULT, whatever the call.
  auto at = regions_.upper_bound(old_addr);
  if (at == regions_.begin() || std::prev(at)->second.end <= old_addr) return -EFAULT;
  --at;
  // The source must stay inside the window: past it the host holds Vireo's own memory. (Linux
  // would see the guest's holes there: EFAULT wherever the range must be one mapping.)
  if (!contains(old_addr, old_len)) return -EFAULT;
  // A move of the same size may span several mappings (and holes between them, which stay as
  // they are at the target); anything else works on the one mapping at old_addr.
  const bool move_only = to && old_len == new_len;
  const bool maps_new = to || new_len > old_len;
  const int prot = at->second.prot;
  Origin origin = at->second.origin;
  if (origin.inode) origin.offset += old_addr - at->first;
  if (!move_only && maps_new) {  // remap_is_valid()
    if (old_len == 0 && !origin.shared) return -EINVAL;  // no duplicating a private mapping
    const uint64_t span = std::min(old_len, new_len);     // a shrink may cross the end
    if (span > vma_end(old_addr) - old_addr) return -EFAULT;
  }
  // MREMAP_DONTUNMAP alone moves one mapping only (several are EFAULT, as in Linux 6.17's
  // remap_move); execute-only pages next to readable ones are one host mapping but not one
  // guest mapping.
  if ((flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_FIXED) && old_len > vma_end(old_addr) - old_addr)
    return -EFAULT;
  if (to && !contains(new_addr, new_len)) return -ENOMEM;  // (beyond the window: nothing fits)

  // What the source range holds, for the bookkeeping of a move.
  struct Piece {
    uint64_t start, end;
    int prot;
    Origin origin;
  };
  std::vector<Piece> pieces;
  for (auto it = at; it != regions_.end() && it->first < old_addr + old_len; ++it) {
    Piece p{std::max(it->first, old_addr), std::min(it->second.end, old_addr + old_len), it->second.prot,
            it->second.origin};
    if (p.origin.inode) p.origin.offset += p.start - it->first;
    pieces.push_back(std::move(p));
  }

  // Let the host see the guest's holes, make the call, and put the reservation back wherever
  // the guest has nothing mapped once the bookkeeping is done.
  // (The source range needs no such lifting: where it must be one mapping the guest's holes
  // are EFAULT before the call, a shrink drops the tail whatever it holds, and a move of
  // several mappings is made run by run of mapped pages, below.)
  const bool grow_here = !to && new_len > old_len && contains(old_addr, new_len);
  if (grow_here) unreserve_free(old_addr + old_len, old_addr + new_len);
  uint64_t dest = old_addr;
  bool moved = false;
  void* r = MAP_FAILED;
  size_t moved_pieces = 0;                       // runs moved before a failing one
  uint64_t failed_target = 0, failed_len = 0;    // what a failing MREMAP_FIXED call may have cleared
  if (to) {
    dest = (flags & MREMAP_FIXED) ? new_addr : find_free(new_len, new_addr);
    if (dest && (flags & MREMAP_FIXED) && move_only) {
      // Linux moves mapping by mapping (remap_move), each one's target cleared just before
      // it; the holes between them hold the window's reservation on the host, which is not
      // to move: each run of mapped pages is one host call.
      moved = true;
      r = host(dest);
      for (size_t i = 0, j; i < pieces.size(); i = j) {
        for (j = i + 1; j < pieces.size() && pieces[j].start == pieces[j - 1].end;) ++j;
        const uint64_t s = pieces[i].start, len = pieces[j - 1].end - s;
        if (::mremap(host(s), len, len, flags, host(dest + (s - old_addr))) == MAP_FAILED) {
          r = MAP_FAILED;
          failed_target = dest + (s - old_addr);
          failed_len = len;
          break;
        }
        moved_pieces = j;
      }
    } else if (dest && (flags & MREMAP_FIXED)) {
      moved = true;
      failed_target = dest;
      failed_len = new_len;
      r = ::mremap(host(old_addr), old_len, new_len, flags, host(dest));
    } else if (dest) {
      // MREMAP_DONTUNMAP alone: the host is asked the same way (it tells one mapping from
      // several), with the address chosen here as its hint, free for the call.
      moved = true;
      unreserve_free(dest, dest + new_len);
      r = ::mremap(host(old_addr), old_len, new_len, flags, host(dest));
      if (r != MAP_FAILED && r != host(dest))  // (the host placed it elsewhere after all)
        r = ::mremap(r, new_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, host(dest));
    } else {
      errno = ENOMEM;
    }
  } else {
    // Resize in place (which also answers EFAULT for a range that is not one mapping), and
    // move only if growing in place is what failed.
    r = grow_here || new_len <= old_len ? ::mremap(host(old_addr), old_len, new_len, 0) : MAP_FAILED;
    if (!grow_here && new_len > old_len) errno = ENOMEM;
    if (r == MAP_FAILED && errno == ENOMEM && new_len > old_len && (flags & MREMAP_MAYMOVE)) {
      if (grow_here) reserve_free(old_addr + old_len, old_addr + new_len);
      dest = find_free(new_len, 0);
      if (dest) {
        moved = true;
        failed_target = dest;
        failed_len = new_len;
        r = ::mremap(host(old_addr), old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, host(dest));
      } else {
        errno = ENOMEM;
      }
    }
  }
  const uint64_t touched_end = old_addr + std::max(old_len, grow_here ? new_len : old_len);
  // The moves made (all of them, or the runs before a failing one).
  auto record_moves = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const Piece& p = pieces[i];
      record(dest + (p.start - old_addr), dest + (p.end - old_addr), p.prot, p.origin);
      if (!(flags & MREMAP_DONTUNMAP)) forget(p.start, p.end);
    }
  };
  if (r == MAP_FAILED) {
    const int err = errno;
    record_moves(moved_pieces);
    // mremap_to() clears the target before steps that can still fail: if the host did, so
    // did the guest.
    if (failed_len && ::msync(host(failed_target), failed_len, MS_ASYNC) != 0 && errno == ENOMEM) {
      forget(failed_target, failed_target + failed_len);
      reserve_free(failed_target, failed_target + failed_len);
    }
    reserve_free(old_addr, touched_end);
    if (moved) reserve_free(dest, dest + new_len);
    return -err;
  }

  if (!moved) {
    // In place: a shrink drops the tail, a growth extends the mapping that ends the range.
    if (new_len < old_len) forget(old_addr + new_len, old_addr + old_len);
    if (new_len > old_len) {
      const Piece last = pieces.empty() ? Piece{old_addr, old_addr, prot, origin} : pieces.back();
      Origin o = last.origin;
      if (o.inode) o.offset += old_addr + old_len - last.start;
      record(old_addr + old_len, old_addr + new_len, last.prot, o);
    }
  } else if (move_only) {
    // Each mapping in the range moves to the same offset from dest (the target's holes are
    // left alone); MREMAP_DONTUNMAP leaves the source mapped and empty.
    record_moves(pieces.size());
  } else {
    // One mapping, resized on the way: the target was cleared, a shrink dropped the tail.
    forget(old_addr, old_addr + old_len);
    record(dest, dest + new_len, prot, origin);
  }
  reserve_free(old_addr, touched_end);
  if (moved) reserve_free(dest, dest + new_len);
  return int64_t(dest);
}

}  // namespace vireo
