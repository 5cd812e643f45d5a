// CPUID: the features Vireo advertises, which must be exactly the features it implements
// (programs such as glibc pick code paths from these bits).
#pragma once

#include <cstdint>
#include <string>

namespace vireo {

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};

// Leaf-1 ECX/EDX and leaf-0x80000001 ECX/EDX bits (SDM Vol. 2, CPUID, Tables 3-10, 3-11).
namespace cpuid_bits {
// leaf 1 EDX
inline constexpr uint32_t FPU = 1u << 0, TSC = 1u << 4, CX8 = 1u << 8, CMOV = 1u << 15,
                          MMX = 1u << 23,
                          FXSR = 1u << 24, SSE = 1u << 25, SSE2 = 1u << 26;
// leaf 1 ECX
inline constexpr uint32_t SSE3 = 1u << 0, SSSE3 = 1u << 9, CX16 = 1u << 13,
                          SSE41 = 1u << 19, SSE42 = 1u << 20, MOVBE = 1u << 22,
                          POPCNT = 1u << 23;
inline constexpr uint32_t XSAVE = 1u << 26, OSXSAVE = 1u << 27, AVX = 1u << 28, RDRAND = 1u << 30;
// leaf 7 (subleaf 0) EBX
inline constexpr uint32_t BMI1 = 1u << 3;
inline constexpr uint32_t FSGSBASE = 1u << 0, BMI2 = 1u << 8, RDSEED = 1u << 18, ADX = 1u << 19;
inline constexpr uint32_t AVX2_BIT = 1u << 5;  // AVX2 (helper/avx)
// Not features but x87 behaviour (SDM Vol. 1, 8.1.8): FDP/FDS/FOP only on an unmasked exception;
// FCS/FDS stored as 0. Reported as the host does (cpu/host_quirks.h, host_x87_pointer_rules).
inline constexpr uint32_t FDP_EXCPTN_ONLY = 1u << 6, FCS_FDS_DEPRECATED = 1u << 13;
// leaf 7 (subleaf 0) ECX
inline constexpr uint32_t RDPID = 1u << 22;
// FMA3, F16C and the crypto extensions (issue 17): leaf 1 ECX; leaf 7 EBX; leaf 7 ECX
inline constexpr uint32_t PCLMULQDQ = 1u << 1, FMA = 1u << 12, AES = 1u << 25, F16C = 1u << 29;
inline constexpr uint32_t SHA = 1u << 29;
inline constexpr uint32_t VAES = 1u << 9, VPCLMULQDQ = 1u << 10;
// leaf 0x80000001 ECX / EDX
inline constexpr uint32_t LAHF_LM = 1u << 0, ABM_LZCNT = 1u << 5;
inline constexpr uint32_t SYSCALL = 1u << 11, NX = 1u << 20, LM = 1u << 29;
// System-mode features (leaf 1 EDX; leaf 0x80000001 EDX), implemented by the interpreter's
// system mode (interp/system/) and its softmmu.
inline constexpr uint32_t PSE = 1u << 3, MSR = 1u << 5, PAE = 1u << 6, SEP = 1u << 11,
                          PGE = 1u << 13, PAT = 1u << 16, PSE36 = 1u << 17, CLFSH = 1u << 19;
inline constexpr uint32_t PDPE1GB = 1u << 26, RDTSCP = 1u << 27;
}  // namespace cpuid_bits

// XSAVE state components (XCR0 bits, SDM Vol. 1, 13.1) and leaf 0xD subleaf 1 EAX bits.
namespace xstate {
inline constexpr uint64_t X87 = 1, SSE = 2, AVX = 4;
inline constexpr uint32_t XSAVEOPT = 1u << 0, XSAVEC = 1u << 1, XGETBV1 = 1u << 2;
inline constexpr unsigned kLegacyBytes = 512, kHeaderBytes = 64, kAvxOffset = 576, kAvxBytes = 256;
}  // namespace xstate
inline constexpr uint64_t kCr4FsGsBase = 1u << 16, kCr4OsXsave = 1u << 18;

// The advertised feature words. Kept in one place (cpuid.cpp) so that a family landing in the
// interpreter turns its bit on here in the same change.
struct CpuFeatures {
  uint32_t leaf1_ecx, leaf1_edx;
  uint32_t leaf7_ebx;
  uint32_t ext1_ecx, ext1_edx;
  uint32_t leaf7_ecx;  // appended: leaf 7 subleaf 0 ECX
};
const CpuFeatures& advertised_features();

// The CPU model the guest sees (vireo run --cpu, like QEMU's -cpu): "max" (the default: every
// feature Vireo implements) or a lower x86-64 psABI micro-architecture level, "x86-64" or
// "x86-64-v2", which advertises exactly that level's features. Call before any guest runs.
// False (with a one-line reason in `error`) for an unknown or unavailable model.
bool select_cpu_model(const std::string& name, std::string& error);
// The XSAVE components Vireo implements and a user-mode XCR0 enables (0 without XSAVE).
uint64_t supported_xcr0();

// What the host CPU runs that Vireo executes natively: FMA3, F16C, AVX2 with the YMM state
// enabled. Probed once, on first use, with three CPUID instructions (a CPUID traps to the
// hypervisor in a VM, some 15 µs each on a nested one; issue 22). Vireo does not use
// __builtin_cpu_supports: linking it runs libgcc's CPU probe, a dozen CPUIDs, at every start.
struct HostCpu {
  bool fma, f16c, avx2;
};
const HostCpu& host_cpu();
// Bytes of a standard-format XSAVE area holding the components in `mask` (legacy region and
// header included), and of a compacted one (SDM Vol. 1, 13.4.3).
unsigned xsave_standard_size(uint64_t mask);
unsigned xsave_compacted_size(uint64_t mask);

// User mode sees what a Linux process may use; system mode adds the paging, MSR and
// fast-system-call features a kernel looks for.
enum class CpuidView { User, System };
CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, CpuidView view = CpuidView::User);

// System mode's paravirtual clock (kvmclock, cpuid.cpp and interp/system/kvm_clock.cpp):
// advertised by default; `vireo boot --cpu MODEL,-kvmclock` hides it (Linux then calibrates
// its TSC against the PIT). Call before any guest runs.
void set_kvm_clock(bool on);
bool kvm_clock_advertised();
namespace kvm_para {
inline constexpr uint32_t kSignatureLeaf = 0x40000000, kFeaturesLeaf = 0x40000001;
// 0x40000001 EAX (Documentation/virt/kvm/x86/cpuid.rst)
inline constexpr uint32_t NOP_IO_DELAY = 1u << 1, CLOCKSOURCE2 = 1u << 3, CLOCKSOURCE_STABLE_BIT = 1u << 24;
// The MSRs of KVM_FEATURE_CLOCKSOURCE2 (Documentation/virt/kvm/x86/msr.rst)
inline constexpr uint32_t MSR_WALL_CLOCK_NEW = 0x4b564d00, MSR_SYSTEM_TIME_NEW = 0x4b564d01;
}  // namespace kvm_para

}  // namespace vireo
