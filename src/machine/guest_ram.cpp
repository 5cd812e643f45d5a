#include "machine/guest_ram.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace vireo::machine {

namespace {
constexpr uint64_t kHugePage = 2ull << 20;
}

GuestRam::GuestRam(uint64_t size) : size_(size) {
  // MAP_NORESERVE: a 4 GiB guest that touches 10 MiB should cost 10 MiB of host memory.
  // The mapping is 2 MiB aligned and asks for transparent huge pages (as QEMU does for its RAM
  // blocks): a booting kernel touches most of its RAM (the memory map, page clearing), which
  // costs one host fault per 2 MiB instead of per 4 KiB, and the host TLB covers more of it.
  mapped_ = size + kHugePage;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error(fmt::format("cannot allocate {} MiB of guest RAM: {}", size >> 20, std::strerror(errno)));
  map_base_ = static_cast<uint8_t*>(p);
  base_ = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1));
  madvise(base_, size_, MADV_HUGEPAGE);  // advice only: a host without THP ignores it
}

GuestRam::~GuestRam() { munmap(map_base_, mapped_); }

}  // namespace vireo::machine
