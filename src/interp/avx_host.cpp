// The host executor for AVX/AVX2 instructions (see avx_host.h for why and what).
#include "interp/avx_host.h"

#include <Zydis/Zydis.h>
#include <sys/mman.h>

#include <xbyak/xbyak.h>

#include <array>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "cpu/flags.h"
#include "cpu/vex_alignment.h"
#include "interp/avx_common.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/interpreter.h"
#include "interp/sse_common.h"

namespace vireo::avx {

namespace {

// What a thunk reads and writes. Offsets are fixed: the thunk code addresses them.
struct alignas(32) HostCtx {
  uint8_t v[16][32];   // YMM0..15 (only those the instruction names are loaded/stored)
  uint64_t g[5];       // host RAX, RCX, RDX (implicit operands), R8, R9 (explicit GPR operands)
  uint64_t mem;        // the buffer the memory operand ([rsi]) points to
  uint64_t rflags;     // RFLAGS after the instruction
  uint32_t csr;        // in: the MXCSR to run under; out: the MXCSR after (its flags)
  uint32_t saved_csr;  // the host's MXCSR, restored after the instruction
};
constexpr int kOffG = offsetof(HostCtx, g), kOffMem = offsetof(HostCtx, mem);
constexpr int kOffFlags = offsetof(HostCtx, rflags), kOffCsr = offsetof(HostCtx, csr);
constexpr int kOffSaved = offsetof(HostCtx, saved_csr);

// Slots of HostCtx::g: implicit registers keep their own (vpcmpestri reads EAX/EDX, writes
// ECX); the explicit GPR operands get R8 and R9, which no AVX instruction uses implicitly.
constexpr int kSlotExplicit = 3;
constexpr ZydisRegister kImplicit64[3] = {ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX,
                                          ZYDIS_REGISTER_RDX};
constexpr uint8_t kImplicitGuest[3] = {0, 1, 2};  // guest RAX, RCX, RDX

using Thunk = void (*)(HostCtx*);

struct Plan {
  Thunk fn = nullptr;
  uint16_t vec_used = 0, vec_written = 0;
  uint8_t slot_read = 0, slot_written = 0;  // bits of HostCtx::g
  uint8_t slot_guest[5] = {0, 1, 2, 0, 0};  // guest GPR each slot stands for
  int8_t mem_op = -1;                       // index into Insn::op
  bool mem_read = false, mem_write = false;
  uint8_t align = 1;                        // required alignment of the memory operand
  uint64_t flags_mask = 0;                  // arithmetic flags the instruction writes
  bool uses_mxcsr = false;                  // FP: runs under the guest's MXCSR
};

// Executable memory for thunks, never freed: one thunk per distinct instruction a program runs.
class Arena {
 public:
  uint8_t* reserve(size_t n) {
    if (!cur_ || cur_ + n > end_) {
      constexpr size_t kChunk = 1 << 20;
      void* p = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return nullptr;
      cur_ = static_cast<uint8_t*>(p);
      end_ = cur_ + kChunk;
    }
    return cur_;
  }
  void commit(size_t n) { cur_ += (n + 31) & ~size_t(31); }

 private:
  uint8_t* cur_ = nullptr;
  uint8_t* end_ = nullptr;
};

struct Thunks : Xbyak::CodeGenerator {
  Thunks(size_t room, uint8_t* at, const Plan& p, const uint8_t* insn, size_t len)
      : Xbyak::CodeGenerator(room, at) {
    using namespace Xbyak::util;
    for (int r = 0; r < 16; ++r)
      if (p.vec_used >> r & 1) vmovdqu(Xbyak::Ymm(r), ptr[rdi + r * 32]);
    // Only FP instructions need the guest's MXCSR: loading it costs more than most
    // integer instructions, which leave HostCtx::csr (no flags) as it was.
    if (p.uses_mxcsr) {
      stmxcsr(ptr[rdi + kOffSaved]);
      ldmxcsr(ptr[rdi + kOffCsr]);
    }
    const Xbyak::Reg64 slots[5] = {rax, rcx, rdx, r8, r9};
    for (int s = 0; s < 5; ++s) mov(slots[s], ptr[rdi + kOffG + 8 * s]);
    mov(rsi, ptr[rdi + kOffMem]);
    for (size_t i = 0; i < len; ++i) db(insn[i]);
    pushfq();
    pop(r10);
    mov(ptr[rdi + kOffFlags], r10);
    if (p.uses_mxcsr) {
      stmxcsr(ptr[rdi + kOffCsr]);
      ldmxcsr(ptr[rdi + kOffSaved]);
    }
    for (int s = 0; s < 5; ++s) mov(ptr[rdi + kOffG + 8 * s], slots[s]);
    for (int r = 0; r < 16; ++r)
      if (p.vec_used >> r & 1) vmovdqu(ptr[rdi + r * 32], Xbyak::Ymm(r));
    vzeroupper();
    ret();
  }
};

bool is_gpr(ZydisRegister r) {
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8: case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32: case ZYDIS_REGCLASS_GPR64: return true;
    default: return false;
  }
}
bool is_vec(ZydisRegister r) {
  auto c = ZydisRegisterGetClass(r);
  return c == ZYDIS_REGCLASS_XMM || c == ZYDIS_REGCLASS_YMM;
}

// Builds the plan and thunk for one instruction; false if it cannot run on the host this way
// (not an AVX/AVX2 instruction, or one with operands this scheme does not map).
bool build(const uint8_t* bytes, size_t len, bool mode64, Plan& p, Arena& arena) {
  ZydisDecoder dec;
  if (mode64)
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  else
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, &zi, zo))) return false;
  if (zi.meta.isa_set != ZYDIS_ISA_SET_AVX && zi.meta.isa_set != ZYDIS_ISA_SET_AVX2) return false;

  ZydisEncoderRequest req;
  if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
          &zi, zo, zi.operand_count_visible, &req)))
    return false;
  req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
  req.prefixes &= ~ZydisInstructionAttributes(ZYDIS_ATTRIB_HAS_SEGMENT);

  int explicit_slots = 0;
  for (int i = 0; i < zi.operand_count; ++i) {
    const ZydisDecodedOperand& z = zo[i];
    const bool rd = z.actions & ZYDIS_OPERAND_ACTION_MASK_READ;
    const bool wr = z.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
    const bool visible = i < zi.operand_count_visible;
    if (z.type == ZYDIS_OPERAND_TYPE_REGISTER) {
      ZydisRegister r = z.reg.value;
      if (is_vec(r)) {
        int id = ZydisRegisterGetId(r);
        p.vec_used |= uint16_t(1u << id);
        if (wr) p.vec_written |= uint16_t(1u << id);
      } else if (is_gpr(r)) {
        int slot = -1;
        if (visible) {
          if (explicit_slots == 2) return false;
          slot = kSlotExplicit + explicit_slots++;
          p.slot_guest[slot] = uint8_t(ZydisRegisterGetId(r));
          if (ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_GPR8) return false;  // none in AVX
          req.operands[i].reg.value =
              ZydisRegisterEncode(ZydisRegisterGetClass(r), uint8_t(8 + slot - kSlotExplicit));
        } else {
          ZydisRegister r64 = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
          for (int s = 0; s < 3; ++s)
            if (kImplicit64[s] == r64) slot = s;
          if (slot < 0) return false;  // e.g. vmaskmovdqu's RDI: handled elsewhere
        }
        if (rd) p.slot_read |= uint8_t(1u << slot);
        if (wr) p.slot_written |= uint8_t(1u << slot);
      } else if (visible) {
        return false;
      }  // hidden flags/MXCSR registers: RFLAGS and MXCSR are handled for every instruction
    } else if (z.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      if (!visible || p.mem_op >= 0 || z.mem.type != ZYDIS_MEMOP_TYPE_MEM) return false;
      if (is_vec(z.mem.index)) return false;  // VSIB: gathers
      p.mem_op = int8_t(i);
      p.mem_read = rd;
      p.mem_write = wr;
      p.align = vex_alignment(zi.mnemonic, z.size / 8);
      ZydisEncoderOperand& e = req.operands[i];
      e.mem.base = ZYDIS_REGISTER_RSI;
      e.mem.index = ZYDIS_REGISTER_NONE;
      e.mem.scale = 0;
      e.mem.displacement = 0;
    }
  }
  // Every AVX instruction that writes flags (vptest, vtestps/pd, v(u)comis*, vpcmp*str*)
  // writes all six arithmetic ones; Zydis lists only the ZF/CF of vtestps/pd.
  if (zi.cpu_flags && (zi.cpu_flags->modified | zi.cpu_flags->set_0 | zi.cpu_flags->set_1 |
                       zi.cpu_flags->undefined) & flag::ARITH)
    p.flags_mask = flag::ARITH;

  // Which instructions depend on MXCSR or set its flags: not the integer ones (vp*), nor moves,
  // broadcasts and bitwise logic (Zydis lists no MXCSR operand for any AVX instruction, so
  // this goes by name and category; everything else, to be safe, runs under the guest MXCSR).
  const char* name = ZydisMnemonicGetString(zi.mnemonic);
  const auto cat = zi.meta.category;
  p.uses_mxcsr = !(name[0] == 'v' && name[1] == 'p') && cat != ZYDIS_CATEGORY_DATAXFER &&
                 cat != ZYDIS_CATEGORY_BROADCAST && cat != ZYDIS_CATEGORY_LOGICAL &&
                 cat != ZYDIS_CATEGORY_LOGICAL_FP;

  uint8_t enc[ZYDIS_MAX_INSTRUCTION_LENGTH];
  ZyanUSize enc_len = sizeof enc;
  if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, enc, &enc_len))) return false;

  constexpr size_t kRoom = 2048;
  uint8_t* at = arena.reserve(kRoom);
  if (!at) return false;
  Thunks t(kRoom, at, p, enc, enc_len);
  arena.commit(t.getSize());
  p.fn = reinterpret_cast<Thunk>(at);
  return true;
}

// Key: the instruction bytes and the mode they were decoded in.
struct Key {
  std::array<uint8_t, 16> b{};
  bool operator==(const Key&) const = default;
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t a, c;
    std::memcpy(&a, k.b.data(), 8);
    std::memcpy(&c, k.b.data() + 8, 8);
    return size_t((a * 0x9E3779B97F4A7C15ull) ^ (c + (a >> 29)) * 0xC2B2AE3D27D4EB4Full);
  }
};

std::mutex g_mu;
std::unordered_map<Key, const Plan*, KeyHash> g_plans;  // plans are never freed
Arena g_arena;

const Plan* plan_for(Exec& x, const Insn& in) {
  Key k;
  std::memcpy(k.b.data(), in.bytes, in.len);
  k.b[15] = x.legacy_segments ? 1 : 0;
  thread_local std::unordered_map<Key, const Plan*, KeyHash> local;
  if (auto it = local.find(k); it != local.end()) return it->second;
  const Plan* plan = nullptr;
  {
    std::lock_guard lock(g_mu);
    if (auto it = g_plans.find(k); it != g_plans.end()) {
      plan = it->second;
    } else {
      auto* p = new Plan;
      if (build(in.bytes, in.len, !x.legacy_segments, *p, g_arena)) {
        plan = p;
      } else {
        delete p;
      }
      g_plans.emplace(k, plan);
    }
  }
  local.emplace(k, plan);
  return plan;
}

}  // namespace

void run_on_host(Exec& x, const Insn& in) {
  check_enabled(x);
  const Plan* p = plan_for(x, in);
  if (!p) {
    x.interp->report_unimplemented(in);
    x.raise_ud();
  }
  CpuState& c = *x.cpu;
  alignas(32) uint8_t buf[32] = {};
  uint64_t la = 0;
  unsigned msize = 0;
  if (p->mem_op >= 0) {
    const Operand& o = in.op[p->mem_op];
    msize = o.size;
    la = x.linear(in, o);
    if (la & (p->align - 1)) x.raise_gp(0);
    if (p->mem_read) copy_sized(buf, x.host_ptr(la, msize, false), msize);
  }
  HostCtx h;
  for (int r = 0; r < 16; ++r)
    if (p->vec_used >> r & 1) {
      std::memcpy(h.v[r], &c.xmm[r], 16);
      std::memcpy(h.v[r] + 16, &c.ymm_hi[r], 16);
    }
  for (int s = 0; s < 5; ++s) h.g[s] = c.gpr[p->slot_guest[s]];
  h.mem = reinterpret_cast<uint64_t>(buf);
  h.csr = sse::host_csr_for(x);
  p->fn(&h);
  sse::commit_fp_flags(x, h.csr);  // #XM: nothing written
  if (p->mem_write) copy_sized(x.host_ptr(la, msize, true), buf, msize);
  for (int r = 0; r < 16; ++r)
    if (p->vec_written >> r & 1) {
      std::memcpy(&c.xmm[r], h.v[r], 16);
      std::memcpy(&c.ymm_hi[r], h.v[r] + 16, 16);
    }
  for (int s = 0; s < 5; ++s)
    if (p->slot_written >> s & 1) c.gpr[p->slot_guest[s]] = h.g[s];
  if (p->flags_mask) flags::set_arith(c, h.rflags, p->flags_mask);
}

}  // namespace vireo::avx

namespace vireo {

namespace {
void host_handler(Exec& x, const Insn& in) { avx::run_on_host(x, in); }
}  // namespace

// Every mnemonic of the AVX and AVX2 ISA sets (as Zydis classifies them) that no dedicated
// handler took: the dedicated ones (avx_int/move/fp/shuffle.cpp) are faster, this is the rest.
// The list was generated by decoding every VEX opcode/map/pp/L/W combination; the unit test
// Avx.EveryMnemonicHasAHandler checks it the same way. Gathers and masked moves: avx_mask.cpp.
void register_avx_host(DispatchTable& t) {
  const Handler none = t[ZYDIS_MNEMONIC_INVALID];
#define M(m) ZYDIS_MNEMONIC_##m,
  static constexpr ZydisMnemonic kAll[] = {
  M(VADDPD) M(VADDPS) M(VADDSD) M(VADDSS) M(VADDSUBPD) M(VADDSUBPS) M(VANDNPD) M(VANDNPS)
  M(VANDPD) M(VANDPS) M(VBLENDPD) M(VBLENDPS) M(VBLENDVPD) M(VBLENDVPS) M(VBROADCASTF128)
  M(VBROADCASTI128) M(VBROADCASTSD) M(VBROADCASTSS) M(VCMPPD) M(VCMPPS) M(VCMPSD) M(VCMPSS)
  M(VCOMISD) M(VCOMISS) M(VCVTDQ2PD) M(VCVTDQ2PS) M(VCVTPD2DQ) M(VCVTPD2PS) M(VCVTPS2DQ)
  M(VCVTPS2PD) M(VCVTSD2SI) M(VCVTSD2SS) M(VCVTSI2SD) M(VCVTSI2SS) M(VCVTSS2SD) M(VCVTSS2SI)
  M(VCVTTPD2DQ) M(VCVTTPS2DQ) M(VCVTTSD2SI) M(VCVTTSS2SI) M(VDIVPD) M(VDIVPS) M(VDIVSD) M(VDIVSS)
  M(VDPPD) M(VDPPS) M(VEXTRACTF128) M(VEXTRACTI128) M(VEXTRACTPS) M(VHADDPD) M(VHADDPS)
  M(VHSUBPD) M(VHSUBPS) M(VINSERTF128) M(VINSERTI128) M(VINSERTPS) M(VLDDQU) M(VMAXPD) M(VMAXPS)
  M(VMAXSD) M(VMAXSS) M(VMINPD) M(VMINPS) M(VMINSD) M(VMINSS) M(VMOVAPD) M(VMOVAPS) M(VMOVD)
  M(VMOVDDUP) M(VMOVDQA) M(VMOVDQU) M(VMOVHLPS) M(VMOVHPD) M(VMOVHPS) M(VMOVLHPS) M(VMOVLPD)
  M(VMOVLPS) M(VMOVMSKPD) M(VMOVMSKPS) M(VMOVNTDQ) M(VMOVNTDQA) M(VMOVNTPD) M(VMOVNTPS) M(VMOVQ)
  M(VMOVSD) M(VMOVSHDUP) M(VMOVSLDUP) M(VMOVSS) M(VMOVUPD) M(VMOVUPS) M(VMPSADBW) M(VMULPD)
  M(VMULPS) M(VMULSD) M(VMULSS) M(VORPD) M(VORPS) M(VPABSB) M(VPABSD) M(VPABSW) M(VPACKSSDW)
  M(VPACKSSWB) M(VPACKUSDW) M(VPACKUSWB) M(VPADDB) M(VPADDD) M(VPADDQ) M(VPADDSB) M(VPADDSW)
  M(VPADDUSB) M(VPADDUSW) M(VPADDW) M(VPALIGNR) M(VPAND) M(VPANDN) M(VPAVGB) M(VPAVGW)
  M(VPBLENDD) M(VPBLENDVB) M(VPBLENDW) M(VPBROADCASTB) M(VPBROADCASTD) M(VPBROADCASTQ)
  M(VPBROADCASTW) M(VPCMPEQB) M(VPCMPEQD) M(VPCMPEQQ) M(VPCMPEQW) M(VPCMPESTRI) M(VPCMPESTRM)
  M(VPCMPGTB) M(VPCMPGTD) M(VPCMPGTQ) M(VPCMPGTW) M(VPCMPISTRI) M(VPCMPISTRM) M(VPERM2F128)
  M(VPERM2I128) M(VPERMD) M(VPERMILPD) M(VPERMILPS) M(VPERMPD) M(VPERMPS) M(VPERMQ) M(VPEXTRB)
  M(VPEXTRD) M(VPEXTRQ) M(VPEXTRW) M(VPHADDD) M(VPHADDSW) M(VPHADDW) M(VPHMINPOSUW) M(VPHSUBD)
  M(VPHSUBSW) M(VPHSUBW) M(VPINSRB) M(VPINSRD) M(VPINSRQ) M(VPINSRW) M(VPMADDUBSW) M(VPMADDWD)
  M(VPMAXSB) M(VPMAXSD) M(VPMAXSW) M(VPMAXUB) M(VPMAXUD) M(VPMAXUW) M(VPMINSB) M(VPMINSD)
  M(VPMINSW) M(VPMINUB) M(VPMINUD) M(VPMINUW) M(VPMOVMSKB) M(VPMOVSXBD) M(VPMOVSXBQ) M(VPMOVSXBW)
  M(VPMOVSXDQ) M(VPMOVSXWD) M(VPMOVSXWQ) M(VPMOVZXBD) M(VPMOVZXBQ) M(VPMOVZXBW) M(VPMOVZXDQ)
  M(VPMOVZXWD) M(VPMOVZXWQ) M(VPMULDQ) M(VPMULHRSW) M(VPMULHUW) M(VPMULHW) M(VPMULLD) M(VPMULLW)
  M(VPMULUDQ) M(VPOR) M(VPSADBW) M(VPSHUFB) M(VPSHUFD) M(VPSHUFHW) M(VPSHUFLW) M(VPSIGNB)
  M(VPSIGND) M(VPSIGNW) M(VPSLLD) M(VPSLLDQ) M(VPSLLQ) M(VPSLLVD) M(VPSLLVQ) M(VPSLLW) M(VPSRAD)
  M(VPSRAVD) M(VPSRAW) M(VPSRLD) M(VPSRLDQ) M(VPSRLQ) M(VPSRLVD) M(VPSRLVQ) M(VPSRLW) M(VPSUBB)
  M(VPSUBD) M(VPSUBQ) M(VPSUBSB) M(VPSUBSW) M(VPSUBUSB) M(VPSUBUSW) M(VPSUBW) M(VPTEST)
  M(VPUNPCKHBW) M(VPUNPCKHDQ) M(VPUNPCKHQDQ) M(VPUNPCKHWD) M(VPUNPCKLBW) M(VPUNPCKLDQ)
  M(VPUNPCKLQDQ) M(VPUNPCKLWD) M(VPXOR) M(VRCPPS) M(VRCPSS) M(VROUNDPD) M(VROUNDPS) M(VROUNDSD)
  M(VROUNDSS) M(VRSQRTPS) M(VRSQRTSS) M(VSHUFPD) M(VSHUFPS) M(VSQRTPD) M(VSQRTPS) M(VSQRTSD)
  M(VSQRTSS) M(VSUBPD) M(VSUBPS) M(VSUBSD) M(VSUBSS) M(VTESTPD) M(VTESTPS) M(VUCOMISD)
  M(VUCOMISS) M(VUNPCKHPD) M(VUNPCKHPS) M(VUNPCKLPD) M(VUNPCKLPS) M(VXORPD) M(VXORPS)
  };
#undef M
  for (ZydisMnemonic m : kAll)
    if (t[m] == none) t[m] = &host_handler;
}

}  // namespace vireo
