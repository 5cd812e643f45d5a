#include "cpu/cpuid.h"

#include <fmt/format.h>

#include <cpuid.h>
#include <sys/platform/x86.h>

#include <cstring>

#include "cpu/host_quirks.h"

namespace vireo {

using namespace cpuid_bits;

namespace {
// Everything Vireo implements.
constexpr CpuFeatures kMaxFeatures{
      /*leaf1_ecx=*/CX16 | MOVBE | POPCNT | SSE3 | SSSE3 | SSE41 | SSE42 | RDRAND | XSAVE | OSXSAVE
                    | AVX  // AVX/AVX2 (helper/avx): the YMM state (XCR0 bit 2) follows this bit
      ,
      /*leaf1_edx=*/FPU | TSC | CX8 | CMOV | MMX | FXSR | SSE | SSE2,
      /*leaf7_ebx=*/BMI1 | BMI2 | ADX | FSGSBASE | RDSEED
                    | AVX2_BIT  // AVX/AVX2 (helper/avx)
      ,
      /*ext1_ecx=*/LAHF_LM | ABM_LZCNT,
      /*ext1_edx=*/SYSCALL | NX | MMX | LM,  // AMD repeats MMX here (bit 23)
      /*leaf7_ecx=*/RDPID,
};
// x86-64 psABI levels (the x86-64 psABI, "Micro-architecture levels"; glibc's
// sysdeps/x86/get-isa-level.h). The baseline: CMOV, CX8, FPU, FXSR, MMX, SSE, SSE2, SYSCALL.
constexpr CpuFeatures kBaseline{0, FPU | TSC | CX8 | CMOV | MMX | FXSR | SSE | SSE2, 0, 0,
                                SYSCALL | NX | MMX | LM, 0};
// v2 adds CMPXCHG16B, LAHF/SAHF, POPCNT, SSE3, SSSE3, SSE4.1, SSE4.2.
constexpr CpuFeatures kV2{CX16 | POPCNT | SSE3 | SSSE3 | SSE41 | SSE42, kBaseline.leaf1_edx, 0, LAHF_LM,
                          kBaseline.ext1_edx, 0};
// FMA3, F16C, AES-NI, PCLMULQDQ, VAES, VPCLMULQDQ and SHA-NI (issue 17). FMA3 and F16C run as
// the host's own instructions (interp/fma.cpp, f16c.cpp), so they are advertised only where
// the host has them; the others are computed in C++ (aes.cpp, pclmul.cpp, sha.cpp). `level3`:
// only what the x86-64-v3 psABI level has of them (FMA, F16C).
CpuFeatures with_fp_crypto(CpuFeatures f, bool level3) {
  if (host_cpu().fma && host_cpu().f16c) f.leaf1_ecx |= FMA | F16C;
  if (level3) return f;
  f.leaf1_ecx |= AES | PCLMULQDQ;
  f.leaf7_ebx |= SHA;
  f.leaf7_ecx |= VAES | VPCLMULQDQ;
  return f;
}

// AVX/AVX2 run on the host (interp/avx_host.h): a host without them (or whose OS did not
// enable the YMM state) gets a guest CPU without them, and without the VEX-only extensions
// (FMA, F16C, VAES, VPCLMULQDQ), not a crash.
CpuFeatures without_missing_host_avx(CpuFeatures f) {
  if (!host_cpu().avx2) {
    f.leaf1_ecx &= ~(AVX | FMA | F16C);
    f.leaf7_ebx &= ~AVX2_BIT;
    f.leaf7_ecx &= ~(VAES | VPCLMULQDQ);
  }
  return f;
}
CpuFeatures max_features() { return without_missing_host_avx(with_fp_crypto(kMaxFeatures, false)); }
// The default model is max, every feature Vireo implements. (It left the VEX extensions out
// while the jit ran each VEX instruction through its interpreter fallback: glibc, seeing AVX2,
// took its AVX2 string functions and bench string_mem under the jit went from 0.24 s to 12 s.
// The jit translates them now, jit/frontend/avx.cpp, and the AVX2 paths are the faster ones:
// docs/performance.md, "AVX2 paths: before and after".)
CpuFeatures default_features() { return max_features(); }
CpuFeatures g_features = default_features();

// x86-64-v3 adds AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, OSXSAVE (XSAVE): offered where
// the host runs all of them.
constexpr CpuFeatures kV3{kV2.leaf1_ecx | AVX | FMA | F16C | MOVBE | XSAVE | OSXSAVE,
                          kV2.leaf1_edx, AVX2_BIT | BMI1 | BMI2, kV2.ext1_ecx | ABM_LZCNT,
                          kV2.ext1_edx, 0};
bool v3_available() {
  const CpuFeatures m = max_features();
  return (m.leaf1_ecx & kV3.leaf1_ecx) == kV3.leaf1_ecx &&
         (m.leaf7_ebx & kV3.leaf7_ebx) == kV3.leaf7_ebx;
}
}  // namespace

const CpuFeatures& advertised_features() { return g_features; }

const HostCpu& host_cpu() {
  // The CPUID bits glibc's loader read at start-up (<sys/platform/x86.h>: the raw leaves,
  // which tunables do not change): a CPUID traps to the hypervisor in a VM (13-21 us each on
  // the development machine), and every Vireo process, each guest exec, asked three (issue 22).
  static const HostCpu cpu = [] {
    HostCpu h{};
    const bool osxsave_avx = CPU_FEATURE_PRESENT(OSXSAVE) && CPU_FEATURE_PRESENT(AVX);
    bool ymm = false;
    if (osxsave_avx) {
      unsigned lo, hi;
      asm("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      ymm = (lo & 6) == 6;
    }
    // FMA and F16C are VEX instructions: usable only with the YMM state enabled, as
    // libgcc's probe also requires.
    h.fma = ymm && CPU_FEATURE_PRESENT(FMA);
    h.f16c = ymm && CPU_FEATURE_PRESENT(F16C);
    h.avx2 = ymm && CPU_FEATURE_PRESENT(AVX2);
    return h;
  }();
  return cpu;
}

bool select_cpu_model(const std::string& name, std::string& error) {
  if (name == "default") g_features = default_features();
  else if (name == "max") g_features = max_features();
  else if (name == "x86-64") g_features = kBaseline;
  else if (name == "x86-64-v2") g_features = kV2;
  else if (name == "x86-64-v3" && v3_available()) g_features = kV3;
  else if (name == "x86-64-v3")
    error = "--cpu x86-64-v3 needs a host with AVX2, FMA and F16C (available: default, max, "
            "x86-64-v2, x86-64)";
  else if (name == "x86-64-v4")
    error = fmt::format("--cpu x86-64-v4 needs AVX-512, which Vireo does not implement "
                        "(available: default, max, {}x86-64-v2, x86-64)", v3_available() ? "x86-64-v3, " : "");
  else error = fmt::format("unknown --cpu model '{}' (available: default, max, {}x86-64-v2, x86-64)",
                        name,
                           v3_available() ? "x86-64-v3, " : "");
  return error.empty();
}

namespace {
// AMD's vendor string, as QEMU's default user-mode CPU reports: glibc reads cache sizes only
// for Intel, AMD and Zhaoxin, and with none it takes 0 for its non-temporal threshold, so
// every large memcpy/memset bypassed the cache (memcpy-heavy code ran several times slower,
// under any engine). The cache leaves below are AMD's (0x80000005/6), with sizes typical of
// a current core; nothing else in the model depends on the vendor.
constexpr char kVendor[] = "AuthenticAMD";
// CPUID 0x80000005 ECX/EDX: L1d/L1i size in KiB << 24 | associativity << 16 | lines per tag
// << 8 | line size. 0x80000006 ECX: L2 KiB << 16 | associativity code << 12 | lines per tag
// << 8 | line size; EDX: L3 in 512 KiB units << 18 | ... (AMD64 APM Vol. 3, E.4.4 and E.4.5).
constexpr uint32_t kL1Cache = (32u << 24) | (8u << 16) | (1u << 8) | 64;  // 32 KiB, 8-way
constexpr uint32_t kL2Cache = (512u << 16) | (6u << 12) | (1u << 8) | 64;  // 512 KiB, 8-way
constexpr uint32_t kL3Cache = (16u << 18) | (8u << 12) | (1u << 8) | 64;   // 8 MiB, 16-way
constexpr char kBrand[48] = "Vireo x86-64 virtual CPU";

uint32_t word(const char* s) {
  uint32_t w;
  std::memcpy(&w, s, 4);
  return w;
}
}  // namespace

uint64_t supported_xcr0() {
  const CpuFeatures& f = advertised_features();
  if (!(f.leaf1_ecx & XSAVE)) return 0;
  return xstate::X87 | xstate::SSE | ((f.leaf1_ecx & AVX) ? xstate::AVX : 0);
}

unsigned xsave_standard_size(uint64_t mask) {
  return (mask & xstate::AVX) ? xstate::kAvxOffset + xstate::kAvxBytes
                              : xstate::kLegacyBytes + xstate::kHeaderBytes;
}

unsigned xsave_compacted_size(uint64_t mask) {
  // AVX is the first extended component, so compacted and standard offsets coincide.
  return xsave_standard_size(mask);
}

namespace {
// CPUID leaf 0xD (SDM Vol. 2, CPUID, "Processor Extended State Enumeration"), as Linux's
// fpu__init_system_xstate and glibc's update_active (cpu_features.c) read it.
CpuidResult xstate_leaf(uint32_t subleaf) {
  const uint64_t xcr0 = supported_xcr0();
  if (!xcr0) return {0, 0, 0, 0};
  switch (subleaf) {
    case 0:  // supported XCR0 bits; size for the enabled ones (user mode: all); maximum size
      return {uint32_t(xcr0), xsave_standard_size(xcr0), xsave_standard_size(xcr0), uint32_t(xcr0 >> 32)};
    case 1:  // XSAVEOPT, XSAVEC, XGETBV with ECX=1; no XSAVES (no supervisor components)
      return {xstate::XSAVEOPT | xstate::XSAVEC | xstate::XGETBV1, xsave_compacted_size(xcr0), 0, 0};
    case 2:  // AVX: 256 bytes at offset 576 of the standard format
      if (xcr0 & xstate::AVX) return {xstate::kAvxBytes, xstate::kAvxOffset, 0, 0};
      return {0, 0, 0, 0};
    default: return {0, 0, 0, 0};
  }
}
}  // namespace

// (the leaves without system mode's paravirtual interface: cpuid() below adds it)
static CpuidResult base_cpuid(uint32_t leaf, uint32_t subleaf, CpuidView view) {
  const CpuFeatures& f = advertised_features();
  const bool sys = view == CpuidView::System;
  switch (leaf) {
    case 0: return {0xD, word(kVendor), word(kVendor + 8), word(kVendor + 4)};
    case 1:
      // Family 6, model 0x55-ish signature; CLFLUSH line size 8*8 = 64 bytes; one logical CPU.
      // XSAVE is user mode's only (system mode has no XSETBV nor CR4.OSXSAVE yet).
      return {0x000506A0, 0x00000800, sys ? f.leaf1_ecx & ~(XSAVE | OSXSAVE | AVX) : f.leaf1_ecx,
              f.leaf1_edx | (sys ? PSE | MSR | PAE | SEP | PGE | PAT | PSE36 | CLFSH : 0)};
    case 7:
      // FSGSBASE is user mode's only: system mode's CR4 has no FSGSBASE bit yet, and a kernel
      // that saw the feature would set it.
      // The x87 pointer bits tell the guest what both engines do, which is what the host does.
      if (subleaf == 0) {
        const HostX87PointerRules& x87 = host_x87_pointer_rules();
        const uint32_t x87_bits = (x87.data_on_exception_only ? FDP_EXCPTN_ONLY : 0) |
                                  (x87.selectors_zero ? FCS_FDS_DEPRECATED : 0);
        return {0, (sys ? f.leaf7_ebx & ~FSGSBASE : f.leaf7_ebx) | x87_bits, f.leaf7_ecx, 0};
      }
      return {0, 0, 0, 0};
    case 0xD: return sys ? CpuidResult{0, 0, 0, 0} : xstate_leaf(subleaf);
    case 0x80000000: return {0x80000008, 0, 0, 0};
    case 0x80000001: return {0, 0, f.ext1_ecx, f.ext1_edx | (sys ? PDPE1GB | RDTSCP : 0)};
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const char* p = kBrand + (leaf - 0x80000002) * 16;
      return {word(p), word(p + 4), word(p + 8), word(p + 12)};
    }
    case 0x80000005: return {0, 0, kL1Cache, kL1Cache};
    case 0x80000006: return {0, 0, kL2Cache, kL3Cache};
    case 0x80000008: return {0x00003030, 0, 0, 0};  // 48-bit physical and virtual addresses
    default: return {0, 0, 0, 0};  // leaves past the maximum read as zero here
  }
}

// ---- system mode: the paravirtual clock (kvmclock) ----
// A KVM guest interface that Linux trusts for the TSC frequency (arch/x86/kernel/kvmclock.c:
// kvm_get_tsc_khz, then no PIT calibration): CPUID.1:ECX.HYPERVISOR, KVM's signature at
// 0x40000000 and feature bits at 0x40000001 (Documentation/virt/kvm/x86/cpuid.rst), and the
// two MSRs served by interp/system/kvm_clock.cpp (msr.rst). Only features whose MSRs exist
// are advertised; NOP_IO_DELAY has none (it says port 0x80 delays are not needed, which holds
// on this board).
namespace {
bool g_kvm_clock = true;
constexpr uint32_t kHypervisorBit = 1u << 31;  // CPUID.1:ECX
}  // namespace

void set_kvm_clock(bool on) { g_kvm_clock = on; }
bool kvm_clock_advertised() { return g_kvm_clock; }

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, CpuidView view) {
  CpuidResult r = base_cpuid(leaf, subleaf, view);
  if (view != CpuidView::System || !g_kvm_clock) return r;
  if (leaf == 1) r.ecx |= kHypervisorBit;
  if (leaf == kvm_para::kSignatureLeaf) {
    static constexpr char kSignature[12] = {'K', 'V', 'M', 'K', 'V', 'M', 'K', 'V', 'M', 0, 0, 0};
    return {kvm_para::kFeaturesLeaf, word(kSignature), word(kSignature + 4), word(kSignature + 8)};
  }
  if (leaf == kvm_para::kFeaturesLeaf)
    return {kvm_para::CLOCKSOURCE2 | kvm_para::NOP_IO_DELAY | kvm_para::CLOCKSOURCE_STABLE_BIT, 0, 0, 0};
  return r;
}

}  // namespace vireo
