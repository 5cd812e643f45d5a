// SlabPool: fixed-size objects carved from 64 KiB chunks, with a free list. A translated
// block's record and its exit slots are small objects made in the tens of thousands (gcc's
// cc1: ~50,000 blocks, ~110,000 exit slots live); malloc spent 16 bytes of header and rounding
// on each, ~2.5 MB there (issue 22, "Peak RSS"). Freed objects are reused, never returned to
// the system: a cache refills to its old size after a flush.
//
// Shared by every guest thread's engine (blocks are allocated from class operator new), so it
// takes a lock: uncontended, ~20 ns against a translation's ~100 µs.
#pragma once

#include <cstddef>
#include <vector>

#include "support/fork_safe_mutex.h"

namespace vireo::jit {

class SlabPool {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;
  // Objects of `size` bytes (rounded up to 16: every object is aligned as malloc's are).
  explicit SlabPool(size_t size);
  ~SlabPool();
  SlabPool(const SlabPool&) = delete;
  SlabPool& operator=(const SlabPool&) = delete;

  void* allocate();
  // n objects under one lock (a jump table's exit slots: ~240 for python's bytecode switch).
  void allocate(size_t n, void** out);
  void deallocate(void* p);

  size_t object_size() const { return size_; }
  size_t live() const { return live_; }  // objects handed out and not yet freed
  size_t chunks() const { return chunks_.size(); }

 private:
  void* allocate_locked();
  struct Free {
    Free* next;
  };
  size_t size_;
  Free* free_ = nullptr;
  char* bump_ = nullptr;  // the newest chunk's unused tail
  char* bump_end_ = nullptr;
  size_t live_ = 0;
  std::vector<char*> chunks_;
  ForkSafeMutex mu_;
};

}  // namespace vireo::jit
