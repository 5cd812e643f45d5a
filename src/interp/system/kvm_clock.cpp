#include "interp/system/kvm_clock.h"

#include <x86intrin.h>

#include <cmath>
#include <cstring>
#include <ctime>

#include "cpu/cpuid.h"
#include "interp/system/system_mode.h"

namespace vireo {

namespace {

// struct pvclock_vcpu_time_info and struct pvclock_wall_clock (packed, little-endian).
struct VcpuTimeInfo {
  uint32_t version, pad0;
  uint64_t tsc_timestamp, system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags, pad[2];
};
static_assert(sizeof(VcpuTimeInfo) == 32);
struct WallClock {
  uint32_t version, sec, nsec;
};
static_assert(sizeof(WallClock) == 12);
constexpr uint8_t kTscStableBit = 1;  // PVCLOCK_TSC_STABLE_BIT
constexpr uint64_t kEnable = 1;       // bit 0 of MSR_KVM_SYSTEM_TIME_NEW

// pvclock_scale_delta: ns = ((delta << shift, or >> -shift) * mul) >> 32 with mul < 2^32.
// So mul = 1e9 * 2^32 / (hz * 2^shift); the most precise choice is the smallest shift with
// hz * 2^shift > 1e9 (mul in [2^31, 2^32)). Linux's pvclock_tsc_khz inverts it exactly.
// (hz * 2^s is computed by hand: std::ldexp was vireo's only libm symbol, and loading libm
// cost every process start a dozen syscalls and its relocations, issue 22.)
void time_scale(uint64_t tsc_hz, uint32_t& mul, int8_t& shift) {
  auto scaled = [&](int e) { return e >= 0 ? double(tsc_hz) * double(uint64_t(1) << e) : double(tsc_hz) / double(uint64_t(1) << -e); };
  int s = 0;
  while (s < 31 && scaled(s) <= 1e9) ++s;
  while (s > -31 && scaled(s - 1) > 1e9) --s;
  using u128 = unsigned __int128;
  const u128 m = s >= 0 ? (u128(1000000000) << 32) / (u128(tsc_hz) << s) : (u128(1000000000) << (32 - s)) / tsc_hz;
  mul = m > 0xFFFFFFFFu ? 0xFFFFFFFFu : uint32_t(m);
  shift = int8_t(s);
}

// The guest-physical bytes [pa, pa + len) when they are RAM (the structures must be, as
// msr.rst says; anything else is ignored, as KVM ignores an unmappable address).
uint8_t* guest_bytes(Exec& x, uint64_t pa, uint64_t len) {
  uint8_t* p = x.sys->mmu.ram_ptr(pa, len);
  if (p) x.sys->mmu.note_write(pa, len);  // (a page of translated code loses it first)
  return p;
}

void fill_time_info(Exec& x) {
  KvmClockState& k = x.sys->kvm_clock;
  if (!(k.system_time_msr & kEnable)) return;
  uint8_t* p = guest_bytes(x, k.system_time_msr & ~uint64_t(kEnable), sizeof(VcpuTimeInfo));
  if (!p) return;
  if (!k.tsc_hz) k.tsc_hz = machine::tsc_hz_since(k.start);
  const machine::TscSample now = machine::sample_tsc();
  VcpuTimeInfo t{};
  k.version += 2;  // (written whole inside one instruction: the guest never sees it odd)
  t.version = k.version;
  t.tsc_timestamp = now.tsc + x.cpu->tsc_offset;
  t.system_time = now.ns - k.start.ns;
  time_scale(k.tsc_hz, t.tsc_to_system_mul, t.tsc_shift);
  t.flags = kTscStableBit;
  std::memcpy(p, &t, sizeof t);
}

void fill_wall_clock(Exec& x, uint64_t pa) {
  uint8_t* p = guest_bytes(x, pa, sizeof(WallClock));
  if (!p) return;
  // The wall-clock time at system time 0: now (UTC, as the CMOS clock gives it) less the
  // system time elapsed.
  timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  const uint64_t since_start = machine::sample_tsc().ns - x.sys->kvm_clock.start.ns;
  const uint64_t wall = uint64_t(rt.tv_sec) * 1000000000u + uint64_t(rt.tv_nsec) - since_start;
  WallClock w{};
  std::memcpy(&w, p, sizeof w);
  w.version = (w.version | 1) + 1;
  w.sec = uint32_t(wall / 1000000000u);
  w.nsec = uint32_t(wall % 1000000000u);
  std::memcpy(p, &w, sizeof w);
}

}  // namespace

bool kvm_clock_rdmsr(Exec& x, uint32_t msr, uint64_t& value) {
  if (!kvm_clock_advertised()) return false;
  if (msr == kvm_para::MSR_SYSTEM_TIME_NEW) value = x.sys->kvm_clock.system_time_msr;
  else if (msr == kvm_para::MSR_WALL_CLOCK_NEW) value = x.sys->kvm_clock.wall_clock_msr;
  else return false;
  return true;
}

bool kvm_clock_wrmsr(Exec& x, uint32_t msr, uint64_t value) {
  if (!kvm_clock_advertised()) return false;
  if (msr == kvm_para::MSR_SYSTEM_TIME_NEW) {
    x.sys->kvm_clock.system_time_msr = value;
    fill_time_info(x);
  } else if (msr == kvm_para::MSR_WALL_CLOCK_NEW) {
    x.sys->kvm_clock.wall_clock_msr = value;
    fill_wall_clock(x, value);
  } else {
    return false;
  }
  return true;
}

void kvm_clock_tsc_written(Exec& x) { fill_time_info(x); }

}  // namespace vireo
