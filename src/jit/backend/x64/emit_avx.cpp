// VEX ops (opcodes.inc: VexRR ... VexZeroUpper): the guest instruction, re-encoded by Zydis
// with host operands, on host YMM registers.
//
// Guest YMM n is host ymm n. Its low half is the SSE family's cached xmm n (xmm_in/xmm_out:
// loaded lazily, written back at exits and in the sync records); its upper half
// (CpuState::ymm_hi) is never cached: a VEX op loads the upper halves it reads with vinserti128
// and stores its destination's with vextracti128 (a VEX.128 op has zeroed the host's upper
// half, which is then the zero the guest's must become). So the sync records, fault paths and
// helpers need nothing new: CpuState's upper halves are always current.
//
// Host upper halves dirty from a 256-bit op slow legacy SSE instructions on some hosts (the
// SSE/AVX transition, Intel's optimization manual, 15.3): a run of VEX ops separated only by
// general-register work keeps them (and skips reloading an upper half it already holds); the
// run ends with vzeroupper before anything else (SSE ops, helpers, exits).
//
// A loop in place whose whole body is such a run (glibc's AVX2 memmove, strlen, memchr loops)
// is one run across its back edge (vex_loop_): the upper halves of every register the loop
// names are loaded before its head and then cached like the low halves, dirty from the start
// (ymm_hi_dirty_), stored only where the loop is left (exit_to, the exit request, the
// out-of-line paths through their sync records) and followed by vzeroupper there. A host fault
// or range fault inside the loop takes them from the host: SyncRecord::ymm_hi_dirty, read from
// the signal context's XSAVE area (mem/host_fault.cpp) or the range-fault frame.
#include "jit/backend/x64/emit_avx.h"

#include "jit/backend/x64/block_emitter.h"
#include "cpu/cpuid.h"
#include "jit/frontend/avx_forms.h"

namespace vireo::jit {

bool is_vex_op(ir::Opcode op) {
  switch (op) {
    case ir::Opcode::VexRR: case ir::Opcode::VexRM: case ir::Opcode::VexFromGpr: case ir::Opcode::VexToGpr:
    case ir::Opcode::VexToGprM: case ir::Opcode::VexFlags: case ir::Opcode::VexFlagsM: case ir::Opcode::VexZeroUpper:
      return true;
    default: return false;
  }
}

uint16_t vex_xmm_regs(const ir::Inst& in) {
  if (!is_vex_op(in.op)) return 0;
  if (in.op == ir::Opcode::VexZeroUpper) return in.args[0].v ? 0xFFFF : 0;  // vzeroall writes all
  uint8_t bytes[16];
  unsigned len = unpack_vex(in.args[0].v, in.args[1].v, bytes);
  VexForm f;
  if (!analyze_vex(bytes, len, f)) return 0;
  return uint16_t(f.vec_read | (f.dst >= 0 ? 1u << f.dst : 0u));
}

namespace x64_detail {

namespace {

constexpr int kOffYmmHi = offsetof(CpuState, ymm_hi);
constexpr int kOffXcr0 = offsetof(CpuState, xcr0), kOffCr4 = offsetof(CpuState, cr4);
static_assert(kCr4OsXsave == 1u << 18, "CR4.OSXSAVE is bit 2 of CR4's third byte");

Xbyak::Address upper_half(unsigned r) { return Xbyak::util::xword[Xbyak::util::rbx + kOffYmmHi + 16 * int(r)]; }

// Ops between two VEX ops that leave the host vector registers alone and stay in the block:
// the run of VEX ops goes on across them.
bool keeps_vector_state(Opcode op) {
  switch (op) {
    case Opcode::GetXmm: case Opcode::SetXmm: case Opcode::Load128: case Opcode::Store128:
    case Opcode::SseRR: case Opcode::SseRM: case Opcode::SseStore: case Opcode::SseRG:
    case Opcode::SseToGpr: case Opcode::SseToGprM: case Opcode::SseFlagsRR: case Opcode::SseFlagsRM:
    case Opcode::Interpret: case Opcode::RepString: case Opcode::Div: case Opcode::ExitIf:
    case Opcode::TailStart:
      return false;
    default: return true;
  }
}

[[noreturn]] void not_emitted() { throw std::runtime_error("jit backend: VEX form not emitted"); }

}  // namespace

bool BlockEmitter::plan_vex_loop() const {
  // (user mode: no softmmu helper call returns into the body; AVX known enabled: no #UD check;
  // no tail, whose way back to the head would need the same state)
  if (!self_loop_ || rt_->tlb_table || !rt_->vex_enabled || b_->tail.present()) return false;
  bool any = false;
  for (uint32_t i = 0; i < b_->main_end(); ++i) {
    const ir::Inst& in = b_->insts[i];
    if (in.dead || folded_[i] || hoisted_[i]) continue;
    if (in.op == Opcode::VexZeroUpper) return false;  // (stores all sixteen: a run of its own)
    if (is_vex_op(in.op)) any = true;
    else if (!keeps_vector_state(in.op)) return false;
  }
  return any;
}

void BlockEmitter::enter_vex_loop_head() {
  ymm_upper_valid_ = ymm_hi_dirty_ = xmm_loaded_;
  vex_upper_dirty_ = true;
  vex_run_next_ = kNone;
}

void BlockEmitter::load_vex_loop_upper_halves() {
  for (unsigned r = 0; r < 16; ++r)
    if (xmm_loaded_ & (1u << r)) vinserti128(Xbyak::Ymm(int(r)), Xbyak::Ymm(int(r)), upper_half(r), 1);
  enter_vex_loop_head();
}

void BlockEmitter::leave_vex_loop() { store_upper_halves(ymm_hi_dirty_); }

void BlockEmitter::store_upper_halves(uint16_t dirty) {
  for (unsigned r = 0; r < 16; ++r)
    if (dirty & (1u << r)) vextracti128(upper_half(r), Xbyak::Ymm(int(r)), 1);
  vzeroupper();
}

void BlockEmitter::vex(uint32_t i, const ir::Inst& in, const Reg64& d) {
  if (vex_run_next_ != i && !vex_loop_) {
    ymm_upper_valid_ = 0;  // (the host's upper halves are not ours)
    // AVX instructions are #UD unless XCR0 enables the SSE and AVX state and CR4.OSXSAVE is
    // set (SDM Vol. 1, 14.3): checked where a run of VEX ops starts (nothing inside a run
    // changes them); otherwise the interpreter runs the instruction and raises the #UD.
    // (User mode never changes them: Runtime::vex_enabled. A loop in place of glibc's AVX2
    // memmove or strlen checked them at every iteration.)
    if (!rt_->vex_enabled) {
      const uint64_t fallback = in.args[in.op == Opcode::VexZeroUpper ? 1 : 2].v;
      Xbyak::Label& ud = interpreter_exit(in, fallback);
      test(byte[rbx + kOffXcr0], uint8_t(xstate::AVX));
      jz(ud, T_NEAR);
      test(byte[rbx + kOffCr4 + 2], uint8_t(kCr4OsXsave >> 16));
      jz(ud, T_NEAR);
    }
  }
  if (in.op == Opcode::VexZeroUpper) {
    // Every host upper half zero, then stored as the guest's.
    if (in.args[0].v) {
      for (unsigned r = 0; r < 16; ++r) xmm_out(r);  // (zeroed by vzeroall below)
      vzeroall();
    } else {
      vzeroupper();
    }
    for (unsigned r = 0; r < 16; ++r) vextracti128(upper_half(r), Xbyak::Ymm(int(r)), 1);
    ymm_upper_valid_ = 0xFFFF;
    vex_upper_dirty_ = false;
    end_vex_run(i);
    return;
  }
  uint8_t bytes[16];
  const unsigned len = unpack_vex(in.args[0].v, in.args[1].v, bytes);
  VexForm f;
  if (!analyze_vex(bytes, len, f)) not_emitted();
  ZydisEncoderRequest req;
  if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(&f.zi, f.zo, f.zi.operand_count_visible, &req)))
    not_emitted();
  req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
  req.prefixes &= ~ZydisInstructionAttributes(ZYDIS_ATTRIB_HAS_SEGMENT);

  // Sources: low halves from the xmm cache, upper halves from CpuState unless already here.
  for (unsigned r = 0; r < 16; ++r) {
    const uint16_t bit = uint16_t(1u << r);
    if (!(f.vec_read & bit)) continue;
    if (!(xmm_loaded_ & bit) && vex_upper_dirty_) {
      // The low half VEX-encoded: a legacy `movdqa` while a host upper half is dirty waits
      // for it and merges (the SSE/AVX penalty above; glibc's memchr entry, `vpbroadcastb
      // ymm0` then `vpxor xmm1, xmm1, xmm1`, 5% of sqlite's samples sat on it). vmovdqa
      // zeroes the host upper half, which then holds nothing of the guest's.
      vmovdqa(Xbyak::Xmm(int(r)), guest_xmm(r));
      xmm_loaded_ |= bit;
      ymm_upper_valid_ &= uint16_t(~bit);
    } else {
      xmm_in(r);
    }
    if ((f.vec_read_wide & bit) && !(ymm_upper_valid_ & bit)) {
      vinserti128(Xbyak::Ymm(int(r)), Xbyak::Ymm(int(r)), upper_half(r), 1);
      ymm_upper_valid_ |= bit;
      vex_upper_dirty_ = true;
    }
  }
  if (f.gpr >= 0) {
    const Reg64 h = f.gpr_write ? d : val(in.args[3].v);
    const ZydisRegister g = f.zo[f.gpr].reg.value;
    req.operands[f.gpr].reg.value = ZydisRegisterEncode(ZydisRegisterGetClass(g), uint8_t(h.getIdx()));
  }
  Reg64 addr = r11;
  if (f.mem >= 0) {
    addr = val(in.args[3].v);
    ZydisEncoderOperand& e = req.operands[f.mem];
    e.mem.base = ZYDIS_REGISTER_R15;
    e.mem.index = ZydisRegisterEncode(ZYDIS_REGCLASS_GPR64, uint8_t(addr.getIdx()));
    e.mem.scale = 1;
    e.mem.displacement = 0;
  }
  uint8_t enc[ZYDIS_MAX_INSTRUCTION_LENGTH];
  ZyanUSize enc_len = sizeof enc;
  if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, enc, &enc_len))) not_emitted();

  if (f.mem >= 0) {
    // vmovdqa & co.: a misaligned operand is #GP(0) (SDM Vol. 1, 14.9), before the access.
    // (in a peeled loop's second copy not when the address steps by a multiple of it)
    const uint32_t a = uint32_t(in.args[3].v);
    if (f.align > 1 && !induction_aligned(a, f.align) && !(f.align == 16 && alignment_already_checked(a))) {
      test(addr.cvt8(), f.align - 1);
      gp_check_stub(addr, in, f.mem_write, jcc_to_stub(0x5));  // jnz
    }
    guest_access(in, 3, f.mem_write);  // (its sync record is at the instruction right after)
  }
  for (ZyanUSize k = 0; k < enc_len; ++k) db(enc[k]);
  if (f.dst >= 0) {
    const uint16_t bit = uint16_t(1u << f.dst);
    xmm_out(unsigned(f.dst));
    if (vex_loop_) ymm_hi_dirty_ |= bit;  // (stored where the loop is left)
    else vextracti128(upper_half(unsigned(f.dst)), Xbyak::Ymm(f.dst), 1);
    ymm_upper_valid_ |= bit;
    if (f.dst_wide) vex_upper_dirty_ = true;
  }
  if (f.writes_flags) capture_flags(d);
  end_vex_run(i);
}

// Whether the run of VEX ops goes on after op i: the next VEX op with only general-register
// work before it. If not, the host's upper halves are cleared here.
void BlockEmitter::end_vex_run(uint32_t i) {
  if (vex_loop_) return;  // (the run goes on across the back edge)
  vex_run_next_ = kNone;
  for (uint32_t j = i + 1; j < b_->insts.size(); ++j) {
    const ir::Inst& n = b_->insts[j];
    if (n.dead) continue;
    if (is_vex_op(n.op)) {
      vex_run_next_ = j;
      return;
    }
    if (!keeps_vector_state(n.op)) break;
  }
  if (vex_upper_dirty_) vzeroupper();
  vex_upper_dirty_ = false;
  ymm_upper_valid_ = 0;
}

}  // namespace x64_detail
}  // namespace vireo::jit
