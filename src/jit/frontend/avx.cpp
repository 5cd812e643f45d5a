// Frontend, VEX (AVX, AVX2, FMA3, F16C, and the VEX forms of AES-NI, VAES and VPCLMULQDQ;
// mirrors src/interp/avx_*.cpp, fma.cpp, f16c.cpp, aes.cpp, pclmul.cpp).
// As the SSE family (sse.cpp), a guest VEX instruction is re-emitted as the same host
// instruction; being one generic shape, it is described to the backend by its own bytes
// (avx_forms.h), not by a table of forms. Forms analyze_vex() refuses go to the interpreter.
#include <Zydis/Zydis.h>
#include <sys/platform/x86.h>

#include <bitset>

#include "cpu/cpu_state.h"
#include "cpu/cpuid.h"
#include "jit/frontend/avx_forms.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

// The mnemonics this family registered (avx_translatable gates them).
std::bitset<ZYDIS_MNEMONIC_MAX_VALUE + 1>& registered() {
  static std::bitset<ZYDIS_MNEMONIC_MAX_VALUE + 1> b;
  return b;
}

// The guest CPU model has the instruction's extension (the interpreter raises #UD otherwise).
// The crypto forms must also be the host's: the model `max` may advertise what the host lacks
// (the interpreter computes them in C++). OpenSSL's AES-GCM runs vaesenc (VEX.128, or VEX.256
// where the CPU has VAES) 5 million times in `openssl speed -seconds 1 aes-128-gcm`.
bool isa_enabled(ZydisISASet isa) {
  const CpuFeatures& c = advertised_features();
  if (!(c.leaf1_ecx & cpuid_bits::AVX)) return false;
  // (read once: CPUID traps in a VM)
  static const bool host_aes = CPU_FEATURE_ACTIVE(AES), host_vaes = CPU_FEATURE_ACTIVE(VAES),
                    host_vpclmul = CPU_FEATURE_ACTIVE(VPCLMULQDQ);
  switch (isa) {
    case ZYDIS_ISA_SET_AVX2: return c.leaf7_ebx & cpuid_bits::AVX2_BIT;
    case ZYDIS_ISA_SET_FMA: return c.leaf1_ecx & cpuid_bits::FMA;
    case ZYDIS_ISA_SET_F16C: return c.leaf1_ecx & cpuid_bits::F16C;
    case ZYDIS_ISA_SET_AVXAES: return host_aes && (c.leaf1_ecx & cpuid_bits::AES);
    case ZYDIS_ISA_SET_VAES: return host_vaes && host_aes && (c.leaf7_ecx & cpuid_bits::VAES);
    case ZYDIS_ISA_SET_VPCLMULQDQ: return host_vpclmul && (c.leaf7_ecx & cpuid_bits::VPCLMULQDQ);
    default: return true;
  }
}

bool vex(Translator& t, const Insn& in) {
  VexForm f;
  if (!analyze_vex(in.bytes, in.len, f) || !isa_enabled(f.zi.meta.isa_set)) return false;
  // (Insn keeps the visible operands in Zydis's order)
  if (f.mem >= 0 && (f.mem >= in.nops || in.op[f.mem].kind != OpKind::Mem)) return false;
  if (f.gpr >= 0 && (f.gpr >= in.nops || in.op[f.gpr].kind != OpKind::Reg || in.op[f.gpr].rclass != RegClass::Gpr))
    return false;
  const VexBytes b = pack_vex(in.bytes, in.len);
  const Arg lo = Arg::imm(b.lo), hi = Arg::imm(b.hi), fb = Arg::imm(t.add_fallback());
  const Value addr = f.mem >= 0 ? t.address(in.op[f.mem]) : Value{};
  if (f.gpr >= 0 && f.gpr_write) {
    const Operand& g = in.op[f.gpr];
    Value v = addr.valid() ? t.ir.emit(Opcode::VexToGprM, {lo, hi, fb, Arg::val(addr)})
                           : t.ir.emit(Opcode::VexToGpr, {lo, hi, fb});
    t.write(g, g.size, v);
  } else if (f.gpr >= 0) {
    const Operand& g = in.op[f.gpr];
    t.ir.emit(Opcode::VexFromGpr, {lo, hi, fb, Arg::val(t.read(g, g.size))});
  } else if (f.writes_flags) {
    Value fl = addr.valid() ? t.ir.emit(Opcode::VexFlagsM, {lo, hi, fb, Arg::val(addr)})
                            : t.ir.emit(Opcode::VexFlags, {lo, hi, fb});
    t.ir.set_flags(flag::ARITH, fl);
  } else if (addr.valid()) {
    t.ir.emit(Opcode::VexRM, {lo, hi, fb, Arg::val(addr)});
  } else {
    t.ir.emit(Opcode::VexRR, {lo, hi, fb});
  }
  return true;
}

// vzeroupper / vzeroall (SDM Vol. 2): the upper halves (and for vzeroall the low ones) of all
// sixteen registers become zero.
bool zero_upper(Translator& t, const Insn& in) {
  if (!isa_enabled(ZYDIS_ISA_SET_AVX)) return false;
  t.ir.emit(Opcode::VexZeroUpper, {Arg::imm(in.mnemonic == ZYDIS_MNEMONIC_VZEROALL ? 1 : 0), Arg::imm(t.add_fallback())});
  return true;
}

}  // namespace

void register_frontend_avx(FrontendTable& t) {
  // Every V* mnemonic no other family took (the BMI/ADX ones are not V*); analyze_vex decides
  // per instruction, by its ISA set and operands.
  for (int m = 0; m <= ZYDIS_MNEMONIC_MAX_VALUE; ++m) {
    const char* name = ZydisMnemonicGetString(ZydisMnemonic(m));
    if (!name || name[0] != 'v' || t[m]) continue;
    t[m] = m == ZYDIS_MNEMONIC_VZEROUPPER || m == ZYDIS_MNEMONIC_VZEROALL ? zero_upper : vex;
    registered().set(size_t(m));
  }
}

bool avx_translatable(const Insn& in, const BlockLimits& limits) {
  // System mode: the guest kernel sets XCR0 and CR4.OSXSAVE, which the interpreter checks at
  // each instruction; user mode fixes them from the CPU model (isa_enabled).
  return !limits.system_mode || !registered().test(in.mnemonic);
}

}  // namespace vireo::jit
