#include "jit/cache/slab.h"

#include <mutex>
#include <new>

namespace vireo::jit {

SlabPool::SlabPool(size_t size) : size_((size + 15) & ~size_t(15)) {}

SlabPool::~SlabPool() {
  for (char* c : chunks_) ::operator delete(c);
}

void* SlabPool::allocate() {
  std::lock_guard lock(mu_);
  return allocate_locked();
}

void SlabPool::allocate(size_t n, void** out) {
  std::lock_guard lock(mu_);
  for (size_t k = 0; k < n; ++k) out[k] = allocate_locked();
}

void* SlabPool::allocate_locked() {
  ++live_;
  if (free_) {
    Free* f = free_;
    free_ = f->next;
    return f;
  }
  if (bump_ + size_ > bump_end_ || !bump_) {
    // (a chunk is touched only as objects are carved from it: malloc hands 64 KiB out of its
    // heap, whose pages fault in on first use)
    chunks_.reserve(chunks_.size() + 1);
    char* c = static_cast<char*>(::operator new(kChunkBytes));
    chunks_.push_back(c);
    bump_ = c;
    bump_end_ = c + kChunkBytes;
  }
  void* p = bump_;
  bump_ += size_;
  return p;
}

void SlabPool::deallocate(void* p) {
  if (!p) return;
  std::lock_guard lock(mu_);
  --live_;
  Free* f = static_cast<Free*>(p);
  f->next = free_;
  free_ = f;
}

}  // namespace vireo::jit
