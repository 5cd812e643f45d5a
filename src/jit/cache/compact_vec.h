// CompactVec<T>: the few std::vector operations a TranslatedBlock's lists need, in 8 bytes (a
// pointer to one heap block holding the size, the capacity and the elements; null while empty)
// instead of 24. A block has five such lists, most of them empty once it is emitted (its fault
// metadata, code ranges and exits are then packed: block_metadata.cpp), and gcc's cc1 keeps
// ~50,000 blocks live (issue 22, "Peak RSS"): their std::vector headers were 6 MB.
// Elements live on the heap and move when it grows (as std::vector's do); nothing may hold a
// pointer into one across a push (ExitSlots are separate objects for that reason).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace vireo::jit {

template <class T>
class CompactVec {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

 public:
  CompactVec() = default;
  ~CompactVec() { reset(); }
  CompactVec(const CompactVec&) = delete;
  CompactVec& operator=(const CompactVec&) = delete;
  CompactVec(CompactVec&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  CompactVec& operator=(CompactVec&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = o.h_;
      o.h_ = nullptr;
    }
    return *this;
  }

  size_t size() const { return h_ ? h_->n : 0; }
  size_t capacity() const { return h_ ? h_->cap : 0; }
  bool empty() const { return size() == 0; }
  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& front() { return data()[0]; }
  const T& front() const { return data()[0]; }
  T& back() { return data()[size() - 1]; }
  const T& back() const { return data()[size() - 1]; }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size() == capacity()) grow();
    T* at = ::new (static_cast<void*>(data() + h_->n)) T(std::forward<Args>(args)...);
    ++h_->n;
    return *at;
  }
  // Room for `cap` elements in one allocation (the emitter's lists, sized from the block up
  // front instead of grown 1, 2, 4, ...: each growth was a malloc, a move and a free).
  void reserve(size_t cap) {
    if (cap > capacity()) grow(uint32_t(cap));
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  // Destroys the elements, keeps the storage (the emitter refills it after a retry).
  void clear() {
    if (!h_) return;
    std::destroy(begin(), end());
    h_->n = 0;
  }
  // Destroys the elements and frees the storage.
  void reset() {
    clear();
    ::operator delete(h_);
    h_ = nullptr;
  }
  // Removes every element equal to v (std::erase), keeping the order of the rest.
  template <class U>
  size_t erase_value(const U& v) {
    T* out = begin();
    for (T* in = begin(); in != end(); ++in)
      if (!(*in == v)) {
        if (out != in) *out = std::move(*in);
        ++out;
      }
    const size_t removed = size_t(end() - out);
    std::destroy(out, end());
    if (h_) h_->n -= uint32_t(removed);
    return removed;
  }

 private:
  struct Header {
    uint32_t n, cap;
  };
  // The elements start after the header, aligned for T.
  static constexpr size_t kData = (sizeof(Header) + alignof(T) - 1) / alignof(T) * alignof(T);
  T* data() const { return h_ ? reinterpret_cast<T*>(reinterpret_cast<char*>(h_) + kData) : nullptr; }
  void grow(uint32_t at_least = 0) {
    // 1, 2, 4, ...: most lists of a block hold one to three entries.
    const uint32_t cap = std::max(h_ ? h_->cap * 2 : 1, at_least);
    Header* h = static_cast<Header*>(::operator new(kData + size_t(cap) * sizeof(T)));
    h->n = uint32_t(size());
    h->cap = cap;
    T* to = reinterpret_cast<T*>(reinterpret_cast<char*>(h) + kData);
    std::uninitialized_move(begin(), end(), to);
    std::destroy(begin(), end());
    ::operator delete(h_);
    h_ = h;
  }
  Header* h_ = nullptr;
};

}  // namespace vireo::jit
