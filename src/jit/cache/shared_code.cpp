#include "jit/cache/shared_code.h"

#include <sys/mman.h>

#include <algorithm>
#include <mutex>

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

void SharedCode::protect(Member* m, uint64_t page) {
  if (!mem_.space) return;  // (system mode: no host protection)
  std::lock_guard g(mu_);
  auto it = pages_.find(page);
  if (it == pages_.end()) {
    // Only pages the guest may write need protecting.
    int prot = mem_.space->prot_at(page);
    if (prot < 0 || !(prot & PROT_WRITE)) return;
    if (::mprotect(mem_.base + page, 4096, prot & ~PROT_WRITE) != 0) return;
    it = pages_.emplace(page, std::vector<Member*>{}).first;
  }
  if (std::find(it->second.begin(), it->second.end(), m) == it->second.end()) it->second.push_back(m);
}

void SharedCode::unprotect(uint64_t page) {
  int prot = mem_.space ? mem_.space->prot_at(page) : -1;
  if (prot >= 0) ::mprotect(mem_.base + page, 4096, prot);
}

void SharedCode::tell(Member* m, uint64_t addr, uint64_t len) {
  if (m->queue.size() >= kMaxQueued) m->drop_all = true;
  else m->queue.emplace_back(addr, len);
  m->pending.store(true, std::memory_order_release);
  if (m->exit_request) *m->exit_request = 1;
}

bool SharedCode::code_written(Member* m, uint64_t page) {
  std::lock_guard g(mu_);
  auto it = pages_.find(page);
  if (it == pages_.end()) return false;
  for (Member* other : it->second)
    if (other != m) tell(other, page, 4096);
  pages_.erase(it);
  unprotect(page);
  return true;
}

void SharedCode::invalidate_range(Member* m, uint64_t addr, uint64_t len) {
  std::lock_guard g(mu_);
  for (auto& other : members_)
    if (other.get() != m) tell(other.get(), addr, len);
  for (uint64_t page = addr & ~uint64_t(4095); page < addr + len; page += 4096)
    if (pages_.erase(page)) unprotect(page);
}

void SharedCode::release_all(Member* m) {
  std::lock_guard g(mu_);
  release(m);
}

void SharedCode::release(Member* m) {
  for (auto it = pages_.begin(); it != pages_.end();) {
    std::erase(it->second, m);
    if (it->second.empty()) {
      unprotect(it->first);
      it = pages_.erase(it);
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

}  // namespace vireo::jit
