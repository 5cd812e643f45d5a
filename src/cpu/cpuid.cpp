#include "cpu/cpuid.h"

#include <cstring>

namespace vireo {

using namespace cpuid_bits;

const CpuFeatures& advertised_features() {
  static const CpuFeatures f{
      /*leaf1_ecx=*/CX16 | MOVBE | POPCNT | SSE3 | SSSE3 | SSE41 | SSE42,
      /*leaf1_edx=*/FPU | TSC | CX8 | CMOV | FXSR | SSE | SSE2,
      /*leaf7_ebx=*/BMI1,
      /*ext1_ecx=*/LAHF_LM | ABM_LZCNT,
      /*ext1_edx=*/SYSCALL | NX | LM,
  };
  return f;
}

namespace {
// A vendor string that is neither Intel nor AMD: programs then take their generic paths
// instead of reading vendor-specific cache and topology leaves we do not model.
constexpr char kVendor[] = "VireoVirtCPU";
constexpr char kBrand[48] = "Vireo x86-64 virtual CPU";

uint32_t word(const char* s) {
  uint32_t w;
  std::memcpy(&w, s, 4);
  return w;
}
}  // namespace

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf, CpuidView view) {
  const CpuFeatures& f = advertised_features();
  const bool sys = view == CpuidView::System;
  switch (leaf) {
    case 0: return {7, word(kVendor), word(kVendor + 8), word(kVendor + 4)};
    case 1:
      // Family 6, model 0x55-ish signature; CLFLUSH line size 8*8 = 64 bytes; one logical CPU.
      return {0x000506A0, 0x00000800, f.leaf1_ecx,
              f.leaf1_edx | (sys ? PSE | MSR | PAE | SEP | PGE | PAT | PSE36 | CLFSH : 0)};
    case 7:
      if (subleaf == 0) return {0, f.leaf7_ebx, 0, 0};
      return {0, 0, 0, 0};
    case 0x80000000: return {0x80000008, 0, 0, 0};
    case 0x80000001: return {0, 0, f.ext1_ecx, f.ext1_edx | (sys ? PDPE1GB | RDTSCP : 0)};
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const char* p = kBrand + (leaf - 0x80000002) * 16;
      return {word(p), word(p + 4), word(p + 8), word(p + 12)};
    }
    case 0x80000008: return {0x00003030, 0, 0, 0};  // 48-bit physical and virtual addresses
    default: return {0, 0, 0, 0};  // leaves past the maximum read as zero here
  }
}

}  // namespace vireo
