#include "linux/vdso/vdso_mapping.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "linux/vdso/vdso_data.h"

namespace vireo {

extern const uint8_t kVdsoImage[];
extern const size_t kVdsoImageSize;

namespace {

// Vireo's writable view of the data page (one guest per Vireo process; after fork the page is
// shared with the child, which is harmless: both describe the same host clocks).
vireo_vdso_data* g_data = nullptr;
// The first sample: the TSC rate is measured from it to the latest re-base, so it gets more
// exact the longer the guest runs.
uint64_t g_first_tsc = 0;
int64_t g_first_mono_ns = 0;

// Only re-bases and calibration wait this long after the first sample: shorter windows make
// the measured rate too coarse (the TSC read and the clock read are some 20 ns apart).
constexpr int64_t kMinCalibrationNs = 20'000'000;

int64_t ns_of(const timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

struct Sample {
  uint64_t tsc;
  timespec mono, real;
};
Sample sample(uint64_t tsc_offset) {
  Sample s;
  uint64_t t0 = __rdtsc();
  clock_gettime(CLOCK_MONOTONIC, &s.mono);
  clock_gettime(CLOCK_REALTIME, &s.real);
  uint64_t t1 = __rdtsc();
  s.tsc = t0 + (t1 - t0) / 2 + tsc_offset;
  return s;
}

// A new image after an in-place execve: the data page Vireo already has (a process's own, or
// after a fork shared with the parent, as it is until the exec: it describes the same host
// clocks) is the new image's too, calibration included. A second view of it in the new window
// instead of a new memfd, its size set, mapped twice and closed, and the old view unmapped:
// those were 6 system calls of every exec, ~15-30 us (issue 22, "Start-up, twelfth pass").
// 0 if the host refuses (a new page is made then).
uint64_t map_vdso_again(AddressSpace& as, uint64_t image) {
  const int64_t at =
      as.mmap(0, VIREO_VVAR_SIZE + image, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (at < 0) throw std::runtime_error("cannot map the vDSO");
  const uint64_t vvar = uint64_t(at), vdso = vvar + VIREO_VVAR_SIZE;
  if (as.map_shared_view(vvar, g_data, VIREO_VVAR_SIZE, PROT_READ) < 0) {
    as.munmap(vvar, VIREO_VVAR_SIZE + image);
    return 0;
  }
  std::memcpy(as.host(vdso), kVdsoImage, kVdsoImageSize);
  as.mprotect(vdso, image, PROT_READ | PROT_EXEC);
  as.set_origin(vvar, vdso, "[vvar]");
  as.set_origin(vdso, vdso + image, "[vdso]");
  return vdso;
}

}  // namespace

uint64_t map_vdso(AddressSpace& as) {
  const uint64_t image = page_align_up(kVdsoImageSize);
  if (g_data)
    if (uint64_t vdso = map_vdso_again(as, image)) return vdso;
  int fd = ::memfd_create("vireo-vvar", MFD_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, VIREO_VVAR_SIZE) != 0) throw std::runtime_error("cannot create the vDSO data page");
  void* rw = ::mmap(nullptr, VIREO_VVAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  // The image's pages and the data page's place in one mapping, the data page then mapped over
  // its first page (each mmap here costs some 5-10 us: issue 22). Both are named below, so
  // the data page's file is not looked up (AddressSpace::mmap's fstat + /proc readlink).
  int64_t at = as.mmap(0, VIREO_VVAR_SIZE + image, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rw == MAP_FAILED || at < 0) throw std::runtime_error("cannot map the vDSO");
  uint64_t vvar = uint64_t(at), vdso = vvar + VIREO_VVAR_SIZE;
  if (as.mmap(vvar, VIREO_VVAR_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0, false) < 0)
    throw std::runtime_error("cannot map the vDSO");
  ::close(fd);
  std::memcpy(as.host(vdso), kVdsoImage, kVdsoImageSize);
  as.mprotect(vdso, image, PROT_READ | PROT_EXEC);
  as.set_origin(vvar, vdso, "[vvar]");
  as.set_origin(vdso, vdso + image, "[vdso]");

  // (a new image after an in-place execve: the old image's view goes with its address space)
  if (g_data) ::munmap(g_data, VIREO_VVAR_SIZE);
  g_data = static_cast<vireo_vdso_data*>(rw);
  Sample s = sample(0);
  g_first_tsc = s.tsc;
  g_first_mono_ns = ns_of(s.mono);
  g_data->valid = 0;
  return vdso;
}

void vdso_refresh(uint64_t tsc_offset) {
  if (!g_data) return;
  Sample s = sample(tsc_offset);
  int64_t elapsed = ns_of(s.mono) - g_first_mono_ns;
  if (elapsed < kMinCalibrationNs || s.tsc <= g_first_tsc) return;
  uint64_t mult = uint64_t((static_cast<unsigned __int128>(elapsed) << 32) / (s.tsc - g_first_tsc));
  if (!mult) return;
  vireo_vdso_data& d = *g_data;
  // CLOCK_MONOTONIC never goes back: readers extrapolated from the old base with the old rate,
  // which may run a little ahead of the host's clock; the new base starts no earlier than
  // what they could have read (the re-base corrects the rate, not the past).
  int64_t mono_ns = ns_of(s.mono);
  if (d.valid && s.tsc > d.tsc_base && s.tsc - d.tsc_base <= d.max_delta) {
    const uint64_t ahead = uint64_t((static_cast<unsigned __int128>(s.tsc - d.tsc_base) * d.mult) >> 32);
    const int64_t read_before = d.mono_sec * 1'000'000'000 + d.mono_nsec + int64_t(ahead);
    mono_ns = std::max(mono_ns, read_before);
  }
  d.seq = d.seq + 1;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  d.tsc_base = s.tsc;
  d.mult = mult;
  d.max_delta = uint64_t((uint64_t(1'000'000'000) << 32) / mult);  // about one second
  d.mono_sec = mono_ns / 1'000'000'000;
  d.mono_nsec = mono_ns % 1'000'000'000;
  d.real_sec = s.real.tv_sec;
  d.real_nsec = s.real.tv_nsec;
  d.valid = 1;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  d.seq = d.seq + 1;
}

}  // namespace vireo
