// CompactVec<T>: the few std::vector operations a TranslatedBlock's lists need, in 16 bytes
// (pointer, 32-bit size and capacity) instead of 24. A block has five such lists and gcc's cc1
// keeps ~50,000 blocks live (issue 22, "Peak RSS"): the headers alone were 6 MB.
// Elements live on the heap and move when it grows (as std::vector's do); nothing may hold a
// pointer into one across a push (ExitSlots are separate objects for that reason).
#pragma once

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
  CompactVec(CompactVec&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) { o.p_ = nullptr, o.n_ = o.cap_ = 0; }
  CompactVec& operator=(CompactVec&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_, n_ = o.n_, cap_ = o.cap_;
      o.p_ = nullptr, o.n_ = o.cap_ = 0;
    }
    return *this;
  }

  size_t size() const { return n_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return n_ == 0; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  T& front() { return p_[0]; }
  const T& front() const { return p_[0]; }
  T& back() { return p_[n_ - 1]; }
  const T& back() const { return p_[n_ - 1]; }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (n_ == cap_) grow();
    T* at = ::new (static_cast<void*>(p_ + n_)) T(std::forward<Args>(args)...);
    ++n_;
    return *at;
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  // Destroys the elements, keeps the storage (the emitter refills it after a retry).
  void clear() {
    std::destroy(p_, p_ + n_);
    n_ = 0;
  }
  // Destroys the elements and frees the storage.
  void reset() {
    clear();
    ::operator delete(p_);
    p_ = nullptr;
    cap_ = 0;
  }
  // Removes every element equal to v (std::erase), keeping the order of the rest.
  template <class U>
  size_t erase_value(const U& v) {
    T* out = p_;
    for (T* in = p_; in != p_ + n_; ++in)
      if (!(*in == v)) {
        if (out != in) *out = std::move(*in);
        ++out;
      }
    const size_t removed = size_t(p_ + n_ - out);
    std::destroy(out, p_ + n_);
    n_ -= uint32_t(removed);
    return removed;
  }

 private:
  void grow() {
    // 1, 2, 4, ...: most lists of a block hold one to three entries.
    const uint32_t cap = cap_ ? cap_ * 2 : 1;
    T* p = static_cast<T*>(::operator new(size_t(cap) * sizeof(T)));
    std::uninitialized_move(p_, p_ + n_, p);
    std::destroy(p_, p_ + n_);
    ::operator delete(p_);
    p_ = p;
    cap_ = cap;
  }
  T* p_ = nullptr;
  uint32_t n_ = 0, cap_ = 0;
};

}  // namespace vireo::jit
