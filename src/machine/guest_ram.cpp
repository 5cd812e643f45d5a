#include "machine/guest_ram.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace vireo::machine {

GuestRam::GuestRam(uint64_t size) : size_(size) {
  // MAP_NORESERVE: a 4 GiB guest that touches 10 MiB should cost 10 MiB of host memory.
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error(fmt::format("cannot allocate {} MiB of guest RAM: {}", size >> 20, std::strerror(errno)));
  base_ = static_cast<uint8_t*>(p);
}

GuestRam::~GuestRam() { munmap(base_, size_); }

}  // namespace vireo::machine
