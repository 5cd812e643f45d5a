// SharedCode: what the translators of one guest's threads share (design.md, "Threads").
//
// Each guest thread has its own translation cache (docs/jit.md says why), so translating,
// chaining and running need no locks. Two duties cross threads, and they live here:
//  - Self-modifying code: a guest page holding translated code is write-protected on the host
//    while any thread has code from it; the write fault may come in any thread.
//  - Invalidation: code that one thread makes stale (a write to a protected page, munmap,
//    mprotect) must not run again in any thread. The thread that notices drops its own
//    translations at once and queues the range for every other translator, raising its exit
//    request: that thread leaves translated code at its next block entry (a safe point, as in
//    QEMU's exclusive sections) and drops the range before it enters another block.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "jit/cache/watch_pages.h"
#include "mem/guest_memory.h"
#include "support/fork_safe_mutex.h"

namespace vireo::jit {

class SharedCode {
 public:
  // One translator (one guest thread's JitEngine).
  struct Member {
    std::atomic<bool> pending{false};  // something is queued (read without the lock)
    volatile uint32_t* exit_request = nullptr;
    // Guarded by the SharedCode's lock:
    std::vector<std::pair<uint64_t, uint64_t>> queue;  // ranges to drop, [addr, addr + len)
    bool drop_all = false;                             // too many ranges: drop everything
  };

  explicit SharedCode(const GuestMemory& mem) : mem_(mem) {}

  Member* join(volatile uint32_t* exit_request);
  void leave(Member* m);
  // `m`'s engine runs for another thread now (JitEngine::park): its exit request is that one.
  void rebind(Member* m, volatile uint32_t* exit_request);

  // `m` is about to hold code from guest page `page`: write-protect it on the host if the
  // guest may write it, and so every writable page that shows the same file page through
  // another MAP_SHARED view (its aliases: a JIT's W^X dual mapping writes through one view
  // and runs the other). Returns true, and protects nothing, for a checked page (below): the
  // caller's blocks from it must verify their guest bytes at entry.
  bool protect(Member* m, uint64_t page);
  // A write fault on `page` (a code page) that hit no block's own bytes: new code written next
  // to code that runs, as a guest JIT emits it. After kCheckAfterFaults such faults the page
  // becomes *checked*, for good and for every thread: it stays writable, and blocks translated
  // from it compare their guest bytes with memory at entry instead (docs/jit.md, "Checked
  // pages"). Every translator drops the code it has there now (it was translated unchecked).
  // Returns whether the page is checked now.
  static constexpr uint32_t kCheckAfterFaults = 4;
  bool note_write_near_code(Member* m, uint64_t page);
  bool checked(uint64_t page) const;
  // A write to `page` by m's thread (a host write fault, or the kernel side writing guest
  // memory): if the page is protected, as code or as the alias of code pages, every other
  // translator with code there is told to drop it, and the pages become writable. Returns
  // whether it was protected; `code_pages` gets the pages whose code the caller drops too.
  bool code_written(Member* m, uint64_t page, std::vector<uint64_t>& code_pages);
  // The same for every page of [addr, addr + len) (the kernel side about to write a buffer):
  // costs what the protected pages in it cost, however long the range.
  bool range_written(Member* m, uint64_t addr, uint64_t len, std::vector<uint64_t>& code_pages);
  // munmap/mprotect of [addr, addr + len) by m's thread: every other translator drops its
  // code there; the pages' protection is the guest's again. `code_pages` gets the code pages
  // elsewhere that aliased the range (the caller drops its code there too).
  void invalidate_range(Member* m, uint64_t addr, uint64_t len, std::vector<uint64_t>& code_pages);
  // [addr, addr + len) is a new MAP_SHARED view of a file: the code pages translated (by any
  // translator) from the file's other views were protected without this view, so they go to
  // `code_pages` for the caller to invalidate everywhere. Costs the code pages ever translated
  // from shared file views (few), not the file's views (Go's TestMemmoveOverflow: 49,152).
  void file_viewed(uint64_t addr, uint64_t len, std::vector<uint64_t>& code_pages);
  // `m` dropped all its code (a full cache flush): its pages need no protection for it.
  void release_all(Member* m);
  // What other threads queued for `m`: the ranges to drop, or all (returns true).
  bool take(Member* m, std::vector<std::pair<uint64_t, uint64_t>>& ranges);

  // gdb's watchpoints as host page protection (jit/cache/watch_pages.h). Returns false, and
  // watches nothing by protection, when the set cannot be (no address space): the caller then
  // checks them in the interpreter.
  bool set_watchpoints(const std::vector<Watchpoint>& w);
  bool watching() const { return watching_.load(std::memory_order_relaxed); }
  // A fault at `page` that only the watch protection caused (the guest's own allows it).
  bool watch_fault(uint64_t page, bool is_write);
  // The watched pages of [addr, addr + len), lifted (the guest's protection) until lowered.
  std::vector<uint64_t> watch_lift(uint64_t addr, uint64_t len);
  void watch_lower(const std::vector<uint64_t>& pages);
  // [addr, addr + len) was just mapped: its watched pages get the watch's protection.
  void watch_mapped(uint64_t addr, uint64_t len);

 private:
  void drop_page(uint64_t page);        // (lock held) no code at `page` any more
  bool drop_written(Member* m, uint64_t page, std::vector<uint64_t>& code_pages);  // (lock held)
  // (lock held) The pages of [addr, addr + len) that are protected as code or as an alias of
  // code, ascending.
  std::vector<uint64_t> protected_pages_in(uint64_t addr, uint64_t len) const;
  void restore_if_free(uint64_t page);  // (lock held) the guest's protection, unless still needed
  void release(Member* m);        // (lock held)
  void tell(Member* m, uint64_t addr, uint64_t len);  // (lock held)
  // (lock held) The host protection `page` must have: the guest's, without write for code
  // (or the alias of code) and as the watch leaves it. Returns it, or -1 if unmapped.
  int host_prot(uint64_t page) const;
  void apply_protection(uint64_t page);  // (lock held)

  GuestMemory mem_;
  mutable ForkSafeMutex mu_;
  std::vector<std::unique_ptr<Member>> members_;
  // Protected guest pages -> the translators with code there.
  std::unordered_map<uint64_t, std::vector<Member*>> pages_;
  // Code page -> the writable aliases protected for it, and alias page -> its code pages.
  std::unordered_map<uint64_t, std::vector<uint64_t>> aliases_, alias_code_;
  // Pages that showed a MAP_SHARED view of a file when code was translated from them (kept
  // until a new view of the file, or until they show something else).
  std::set<uint64_t> file_code_;
  WatchPages watch_;
  std::atomic<bool> watching_{false};
  // Checked pages (never protected again), and the faults counted towards checking a page.
  std::unordered_set<uint64_t> checked_;
  std::unordered_map<uint64_t, uint32_t> near_writes_;
};

}  // namespace vireo::jit
