#include "jit/cache/shared_code.h"

#include <sys/mman.h>

#include <algorithm>
#include <iterator>
#include <mutex>

#include "jit/cache/page_range.h"
#include "mem/address_space.h"

namespace vireo::jit {

namespace {
constexpr size_t kMaxQueued = 64;  // more ranges than this: drop everything instead
}

SharedCode::Member* SharedCode::join(volatile uint32_t* exit_request) {
  std::lock_guard g(mu_);
  members_.push_back(std::make_unique<Member>());
  members_.back()->exit_request = exit_request;
  return members_.back().get();
}

void SharedCode::leave(Member* m) {
  std::lock_guard g(mu_);
  release(m);
  std::erase_if(members_, [&](auto& p) { return p.get() == m; });
}

void SharedCode::rebind(Member* m, volatile uint32_t* exit_request) {
  std::lock_guard g(mu_);
  m->exit_request = exit_request;
}

bool SharedCode::protect(Member* m, uint64_t page) {
  if (!mem_.space) return false;  // (system mode: no host protection)
  std::lock_guard g(mu_);
  if (!checked_.empty() && checked_.count(page)) return true;
  auto it = pages_.find(page);
  if (it == pages_.end()) {
    // Only pages the guest may write need protecting: the page itself, or another view of it.
    int prot = mem_.space->prot_at(page);
    if (prot < 0) return false;
    std::vector<uint64_t> writable_aliases;
    if (AddressSpace::FilePage fp; mem_.space->shared_file_page(page, fp)) {
      file_code_.insert(page);
      for (uint64_t a : mem_.space->shared_aliases(page))
        if (int ap = mem_.space->prot_at(a); ap >= 0 && (ap & PROT_WRITE)) writable_aliases.push_back(a);
    }
    if (!(prot & PROT_WRITE) && writable_aliases.empty()) return false;
    if ((prot & PROT_WRITE) && ::mprotect(mem_.base + page, 4096, watch_.mask(page, prot) & ~PROT_WRITE) != 0) return false;
    for (uint64_t a : writable_aliases) {
      if (::mprotect(mem_.base + a, 4096, watch_.mask(a, mem_.space->prot_at(a)) & ~PROT_WRITE) != 0) continue;
      aliases_[page].push_back(a);
      alias_code_[a].push_back(page);
    }
    it = pages_.emplace(page, std::vector<Member*>{}).first;
  }
  if (std::find(it->second.begin(), it->second.end(), m) == it->second.end()) it->second.push_back(m);
  return false;
}

bool SharedCode::note_write_near_code(Member* m, uint64_t page) {
  if (!mem_.space) return false;
  std::lock_guard g(mu_);
  if (checked_.count(page)) return true;
  if (++near_writes_[page] < kCheckAfterFaults) return false;
  near_writes_.erase(page);
  checked_.insert(page);
  // Code that another thread translated from it since the fault was translated unchecked
  // (the page was not checked yet): every translator drops it, and the page (and its
  // aliases) get the guest's protection back.
  if (auto it = pages_.find(page); it != pages_.end()) {
    for (Member* other : it->second)
      if (other != m) tell(other, page, 4096);
    drop_page(page);
  }
  return true;
}

bool SharedCode::checked(uint64_t page) const {
  std::lock_guard g(mu_);
  return checked_.count(page) != 0;
}

void SharedCode::restore_if_free(uint64_t page) {
  if (pages_.count(page) || alias_code_.count(page)) return;
  apply_protection(page);
}

void SharedCode::drop_page(uint64_t page) {
  pages_.erase(page);
  if (auto it = aliases_.find(page); it != aliases_.end()) {
    std::vector<uint64_t> aliases = std::move(it->second);
    aliases_.erase(it);
    for (uint64_t a : aliases) {
      auto c = alias_code_.find(a);
      if (c != alias_code_.end()) {
        std::erase(c->second, page);
        if (c->second.empty()) alias_code_.erase(c);
      }
      restore_if_free(a);
    }
  }
  restore_if_free(page);
}

void SharedCode::tell(Member* m, uint64_t addr, uint64_t len) {
  // A range that meets the one queued last extends it: a run of mmaps or munmaps side by side
  // (either way up) stays one range instead of overflowing the queue into a full flush.
  if (!m->queue.empty() && !m->drop_all) {
    auto& [qa, ql] = m->queue.back();
    const uint64_t end = addr + len, qend = qa + ql;
    if (end >= addr && qend >= qa && addr <= qend && qa <= end) {
      qa = std::min(qa, addr);
      ql = std::max(qend, end) - qa;
      m->pending.store(true, std::memory_order_release);
      if (m->exit_request) *m->exit_request = 1;
      return;
    }
  }
  if (m->queue.size() >= kMaxQueued) m->drop_all = true;
  else m->queue.emplace_back(addr, len);
  m->pending.store(true, std::memory_order_release);
  if (m->exit_request) *m->exit_request = 1;
}

bool SharedCode::code_written(Member* m, uint64_t page, std::vector<uint64_t>& code_pages) {
  std::lock_guard g(mu_);
  return drop_written(m, page, code_pages);
}

bool SharedCode::range_written(Member* m, uint64_t addr, uint64_t len, std::vector<uint64_t>& code_pages) {
  if (len == 0) return false;
  std::lock_guard g(mu_);
  bool hit = false;
  for (uint64_t page : protected_pages_in(addr, len)) hit |= drop_written(m, page, code_pages);
  return hit;
}

bool SharedCode::drop_written(Member* m, uint64_t page, std::vector<uint64_t>& code_pages) {
  bool hit = false;
  auto drop = [&](uint64_t code) {
    auto it = pages_.find(code);
    if (it == pages_.end()) return;
    for (Member* other : it->second)
      if (other != m) tell(other, code, 4096);
    code_pages.push_back(code);
    drop_page(code);
    hit = true;
  };
  drop(page);
  if (auto a = alias_code_.find(page); a != alias_code_.end()) {
    std::vector<uint64_t> codes = a->second;  // (drop_page edits the list)
    for (uint64_t code : codes) drop(code);
  }
  return hit;
}

std::vector<uint64_t> SharedCode::protected_pages_in(uint64_t addr, uint64_t len) const {
  if (len == 0) return {};
  const uint64_t first = addr & ~uint64_t(4095);
  const uint64_t end = addr + len - 1 < addr ? ~uint64_t(0) : addr + len - 1;
  const uint64_t last = end & ~uint64_t(4095);
  std::vector<uint64_t> pages = keys_in_range(pages_, first, last, 4096);
  std::vector<uint64_t> aliases = keys_in_range(alias_code_, first, last, 4096);
  std::vector<uint64_t> both;
  std::set_union(pages.begin(), pages.end(), aliases.begin(), aliases.end(), std::back_inserter(both));
  return both;
}

void SharedCode::invalidate_range(Member* m, uint64_t addr, uint64_t len, std::vector<uint64_t>& code_pages) {
  std::lock_guard g(mu_);
  for (auto& other : members_)
    if (other.get() != m) tell(other.get(), addr, len);
  for (uint64_t page : protected_pages_in(addr, len)) {
    // Code elsewhere that this range aliased: every translator drops it (the view changes).
    if (auto a = alias_code_.find(page); a != alias_code_.end()) {
      std::vector<uint64_t> codes = a->second;
      for (uint64_t code : codes) {
        for (auto& other : members_)
          if (other.get() != m) tell(other.get(), code, 4096);
        code_pages.push_back(code);
        drop_page(code);
      }
    }
    if (pages_.count(page)) drop_page(page);
  }
  // The guest's mmap/mprotect set the host protection to its own: watched pages get theirs back.
  for (uint64_t page : watch_.pages_in(addr, len)) apply_protection(page);
}

void SharedCode::file_viewed(uint64_t addr, uint64_t len, std::vector<uint64_t>& code_pages) {
  if (!mem_.space) return;
  std::lock_guard g(mu_);
  AddressSpace::FilePage view;
  if (file_code_.empty() || !mem_.space->shared_file_page(addr, view)) return;
  for (auto it = file_code_.begin(); it != file_code_.end();) {
    AddressSpace::FilePage fp;
    const bool shows_file = mem_.space->shared_file_page(*it, fp);
    if (shows_file && (fp.dev != view.dev || fp.inode != view.inode || *it - addr < len)) {
      ++it;  // (another file's code, or the new view's own: invalidated as any MAP_FIXED range)
      continue;
    }
    if (shows_file) code_pages.push_back(*it);  // (noted again when translated again)
    it = file_code_.erase(it);
  }
}

void SharedCode::release_all(Member* m) {
  std::lock_guard g(mu_);
  release(m);
}

void SharedCode::release(Member* m) {
  for (auto it = pages_.begin(); it != pages_.end();) {
    std::erase(it->second, m);
    if (it->second.empty()) {
      const uint64_t page = it->first;
      it = pages_.erase(it);
      drop_page(page);  // (its aliases too)
    } else {
      ++it;
    }
  }
}

bool SharedCode::take(Member* m, std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  std::lock_guard g(mu_);
  m->pending.store(false, std::memory_order_relaxed);
  bool all = m->drop_all;
  ranges.swap(m->queue);
  m->queue.clear();
  m->drop_all = false;
  return all;
}

int SharedCode::host_prot(uint64_t page) const {
  int prot = mem_.space ? mem_.space->prot_at(page) : -1;
  if (prot < 0) return -1;
  // The host view of the guest's protection first (execute-only is readable on the host, as
  // AddressSpace maps it), so a page given back keeps the host mapping whole.
  prot = watch_.mask(page, AddressSpace::host_prot(prot));
  if (pages_.count(page) || alias_code_.count(page)) prot &= ~PROT_WRITE;
  return prot;
}

void SharedCode::apply_protection(uint64_t page) {
  if (int prot = host_prot(page); prot >= 0) ::mprotect(mem_.base + page, 4096, prot);
}

bool SharedCode::set_watchpoints(const std::vector<Watchpoint>& w) {
  if (!mem_.space) return w.empty();
  std::lock_guard g(mu_);
  std::vector<uint64_t> changed;
  watch_.set(w, changed);
  for (uint64_t page : changed) apply_protection(page);
  watching_.store(!watch_.empty(), std::memory_order_relaxed);
  return true;
}

bool SharedCode::watch_fault(uint64_t page, bool is_write) {
  std::lock_guard g(mu_);
  if (!watch_.watched(page) || !mem_.space) return false;
  int prot = mem_.space->prot_at(page);
  if (prot < 0) return false;
  return is_write ? (prot & PROT_WRITE) != 0 : (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) != 0;
}

std::vector<uint64_t> SharedCode::watch_lift(uint64_t addr, uint64_t len) {
  std::lock_guard g(mu_);
  std::vector<uint64_t> pages = watch_.pages_in(addr, len);
  for (uint64_t page : pages) {
    watch_.lift(page);
    apply_protection(page);
  }
  return pages;
}

void SharedCode::watch_mapped(uint64_t addr, uint64_t len) {
  std::lock_guard g(mu_);
  for (uint64_t page : watch_.pages_in(addr, len)) apply_protection(page);
}

void SharedCode::watch_lower(const std::vector<uint64_t>& pages) {
  if (pages.empty()) return;
  std::lock_guard g(mu_);
  for (uint64_t page : pages) {
    watch_.lower(page);
    apply_protection(page);
  }
}

}  // namespace vireo::jit
