#include "jit/cache/code_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace vireo::jit {

CodeCache::CodeCache(size_t size) : size_(size) {
  // One mapping for the trampoline page and the code: blocks reach the trampolines with rel32
  // jumps, and separate mappings may land anywhere (with threads, each engine has its own).
  void* p = mmap(nullptr, kTrampolineBytes + size, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("cannot allocate the translation cache");
  trampolines_ = static_cast<uint8_t*>(p);
  base_ = cursor_ = trampolines_ + kTrampolineBytes;
  aux_ = mmap(nullptr, aux_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (aux_ == MAP_FAILED) {
    munmap(trampolines_, kTrampolineBytes + size_);
    throw std::runtime_error("cannot allocate the translation cache");
  }
  jump_cache_ = static_cast<JumpCacheEntry*>(aux_);
  filter_ = reinterpret_cast<uint64_t*>(jump_cache_ + kJumpCacheSize);
  jump_cache_[0].guest_pc = empty_jump_tag(0);  // (every other slot's empty tag is 0)
}

CodeCache::~CodeCache() {
  munmap(trampolines_, kTrampolineBytes + size_);
  munmap(aux_, aux_bytes());
}

void CodeCache::reset_aux() {
  // (zero pages again; a failure leaves the pages as they were, so clear them by hand)
  if (madvise(aux_, aux_bytes(), MADV_DONTNEED) != 0) std::memset(aux_, 0, aux_bytes());
  jump_cache_[0].guest_pc = empty_jump_tag(0);
}

void CodeCache::insert(std::unique_ptr<TranslatedBlock> b) {
  for (uint64_t page : b->guest_pages()) pages_[page].push_back(b.get());
  by_host_[uintptr_t(b->code)] = b.get();
  uint64_t pc = b->guest_pc;
  const size_t bit = filter_bit(pc);
  filter_[bit / 64] |= uint64_t(1) << (bit % 64);
  blocks_[pc] = std::move(b);
}

void CodeCache::patch_jmp(uint8_t* at, const uint8_t* to) {
  int32_t rel = int32_t(to - (at + 5));
  at[0] = 0xE9;
  std::memcpy(at + 1, &rel, 4);
}

void CodeCache::link(ExitSlot* slot, TranslatedBlock* to) {
  patch_jmp(slot->jmp, to->code);
  slot->linked = to;
  to->incoming.push_back(slot);
}

void CodeCache::remove(TranslatedBlock* b) {
  // Unlink every chain that leads into b, and forget b's own outgoing links.
  for (ExitSlot* s : b->incoming) {
    patch_jmp(s->jmp, s->unlinked);
    s->linked = nullptr;
  }
  for (auto& s : b->exits)
    if (s->linked) std::erase(s->linked->incoming, s.get());
  for (uint64_t page : b->guest_pages()) {
    auto it = pages_.find(page);
    if (it == pages_.end()) continue;
    std::erase(it->second, b);
    if (it->second.empty()) pages_.erase(it);
  }
  for (size_t i = 0; i < kJumpCacheSize; ++i)
    if (jump_cache_[i].host == b->code) jump_cache_[i] = {empty_jump_tag(i), nullptr};
  by_host_.erase(uintptr_t(b->code));
  blocks_.erase(b->guest_pc);  // destroys b
}

size_t CodeCache::invalidate(uint64_t addr, uint64_t len) {
  std::vector<TranslatedBlock*> victims;
  for (uint64_t page = addr >> 12; page <= (addr + len - 1) >> 12; ++page) {
    auto it = pages_.find(page);
    if (it == pages_.end()) continue;
    for (TranslatedBlock* b : it->second)
      if (b->reads_code(addr, len) &&
          std::find(victims.begin(), victims.end(), b) == victims.end())
        victims.push_back(b);
  }
  for (TranslatedBlock* b : victims) remove(b);
  return victims.size();
}

void CodeCache::flush() {
  blocks_.clear();
  by_host_.clear();
  pages_.clear();
  reset_aux();
  cursor_ = base_;
}

TranslatedBlock* CodeCache::block_at_host(uint64_t pc) const {
  auto it = by_host_.upper_bound(uintptr_t(pc));
  if (it == by_host_.begin()) return nullptr;
  TranslatedBlock* b = std::prev(it)->second;
  return pc < uint64_t(b->code) + b->code_size ? b : nullptr;
}

}  // namespace vireo::jit
