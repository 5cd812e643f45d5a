// The system-mode implementation of the backend's memory-access interface (guest_access):
// an inline lookup in the softmmu's JIT TLB (softmmu::JitTlbEntry, QEMU's CPUTLBEntry idea),
// chosen when the engine is created (Runtime::tlb_table). The access instruction that follows
// is the same as in user mode, [r15 + address]: there r15 is guest_base, here the addend of
// the page the lookup found. Blocks are translated for one privilege, so the table (CPL 3 or
// supervisor) is a constant of the block.
//
//   retry: mov r15, addr ; shr r15, 7 ; and r15d, 0xFE0      slot offset ((addr >> 12) & 255) * 32
//          mov r11, table ; add r15, r11
//          lea r11, [addr + size - 1] ; and r11, -4096        page of the access's last byte
//          cmp r11, [r15 + read_tag or write_tag]             (an access crossing a page misses)
//          jne slow
//          mov r15, [r15 + addend]
//          <access [r15 + addr]>
//
// The slow path (out of line) calls the cache's TLB-fill thunk (emit_tlb_fill_thunk: it saves
// the caller-saved and XMM registers around the fill helper), which walks the page tables
// (setting A/D bits) and fills the slot; when the retry will hit, it jumps back to `retry`. Otherwise (a page fault, a non-canonical address, MMIO,
// an access crossing a page, a write to a page holding translated code) the guest state of the
// instruction is written back and the block is left with kExitInterpret: the dispatcher runs
// that one instruction in the interpreter, which raises the fault through the IDT, reaches
// the device, writes both pages, or drops the code first. Nothing of the instruction has been
// done at that point (an instruction's guest state is committed after its accesses, as the
// sync records already require), so running it whole is exact.
#include <algorithm>

#include "jit/backend/x64/memory_softmmu.h"

#include "jit/backend/x64/block_emitter.h"
#include "mem/softmmu/tlb.h"

namespace vireo::jit::x64_detail {

namespace {

unsigned access_size(const ir::Inst& in) {
  switch (in.op) {
    case Opcode::Load8: case Opcode::Store8: return 1;
    case Opcode::Load16: case Opcode::Store16: return 2;
    case Opcode::Load32: case Opcode::Store32: return 4;
    case Opcode::Load64: case Opcode::Store64: return 8;
    case Opcode::AtomicXadd: case Opcode::AtomicXchg: case Opcode::AtomicCmpXchg:
      return unsigned(in.args[in.nargs - 1].v);
    default: return 16;  // SSE operands: at most 16 bytes (a narrower one near a page end
                         // takes the slow path, which is exact)
  }
}

}  // namespace

// (also the thunk's, below)
constexpr int kCallerSaved[] = {Xbyak::Operand::RAX, Xbyak::Operand::RCX, Xbyak::Operand::RDX,
                                Xbyak::Operand::RSI, Xbyak::Operand::RDI, Xbyak::Operand::R8,
                                Xbyak::Operand::R9,  Xbyak::Operand::R10};
static_assert(std::size(kCallerSaved) % 2 == 0, "the host stack stays 16-byte aligned");

uint32_t BlockEmitter::insns_counted_from(uint32_t i) const {
  const bool in_tail = i >= b_->main_end();
  const std::vector<uint64_t>* pcs = in_tail ? rt_->tail_insn_pcs : rt_->insn_pcs;
  if (!pcs) return 0;
  auto at = std::find(pcs->begin(), pcs->end(), b_->insts[i].guest_pc);
  if (at == pcs->end()) return 0;
  const auto n = uint32_t(pcs->end() - at);
  // (fallbacks count themselves)
  const uint32_t fallbacks = self_counting(i, in_tail ? uint32_t(b_->insts.size()) : b_->main_end());
  return n > fallbacks ? n - fallbacks : 0;
}

void BlockEmitter::softmmu_access(const ir::Inst& in, int k, bool write) {
  const Reg64 addr = val(in.args[k].v);
  const unsigned size = access_size(in);
  const auto i = uint32_t(&in - b_->insts.data());
  Xbyak::Label& retry = softmmu_retry_labels_.emplace_back();
  Xbyak::Label& slow = softmmu_slow_labels_.emplace_back();
  L(retry);
  mov(r15, addr);
  shr(r15, 7);
  and_(r15d, (softmmu::Tlb::kEntries - 1) << 5);
  mov(r11, uint64_t(reinterpret_cast<uintptr_t>(rt_->tlb_table)));
  add(r15, r11);
  lea(r11, ptr[addr + int(size - 1)]);
  and_(r11, -4096);
  cmp(r11, qword[r15 + int(write ? offsetof(softmmu::JitTlbEntry, write_tag) : offsetof(softmmu::JitTlbEntry, read_tag))]);
  jne(slow, T_NEAR);
  if (rt_->count_insns && rt_->tlb_hits) {
    mov(r11, uint64_t(reinterpret_cast<uintptr_t>(rt_->tlb_hits)));
    inc(qword[r11]);
  }
  mov(r15, qword[r15 + int(offsetof(softmmu::JitTlbEntry, addend))]);
  SyncRecord rec = snapshot();
  softmmu_slow_.push_back({addr.getIdx(), size | uint32_t(write) << 8 | uint32_t(rt_->tlb_user) << 9, in.guest_pc, rec,
                           insns_counted_from(i)});
  out_->sync.push_back(std::move(rec));
}

void BlockEmitter::softmmu_slow_paths() {
  auto slow = softmmu_slow_labels_.begin(), retry = softmmu_retry_labels_.begin();
  for (size_t k = 0; k < softmmu_slow_.size(); ++k, ++slow, ++retry) {
    const SoftmmuSlow& s = softmmu_slow_[k];
    L(*slow);
    mov(r11, Reg64(s.addr_reg));
    mov(r15d, s.how);
    call(rt_->tlb_fill_thunk);
    test(r11d, r11d);
    jnz(*retry, T_NEAR);
    write_back(s.state);
    set_rip(s.pc);
    if (rt_->count_insns && s.skipped) sub(qword[rbx + kOffInsnCount], int32_t(s.skipped));
    exit_with(kExitInterpret);
  }
}

}  // namespace vireo::jit::x64_detail

namespace vireo::jit::x64 {

size_t emit_tlb_fill_thunk(uint8_t* at, size_t room, void* helper) {
  struct Thunk : Xbyak::CodeGenerator {
    Thunk(uint8_t* at, size_t room, void* helper) : Xbyak::CodeGenerator(room, at) {
      using namespace Xbyak::util;
      // Entered by a call from a block (rsp 16-byte aligned there): the return address and
      // eight pushes leave it 8 off, the XMM area (264 bytes) aligns it for the helper.
      for (int r : x64_detail::kCallerSaved) push(Xbyak::Reg64(r));
      sub(rsp, 264);
      for (int x = 0; x < 16; ++x) movdqu(ptr[rsp + 16 * x], Xbyak::Xmm(x));
      mov(rdi, rbx);
      mov(rsi, r11);
      mov(edx, r15d);
      mov(rax, uint64_t(reinterpret_cast<uintptr_t>(helper)));
      call(rax);
      mov(r11d, eax);
      for (int x = 0; x < 16; ++x) movdqu(Xbyak::Xmm(x), ptr[rsp + 16 * x]);
      add(rsp, 264);
      for (auto it = std::rbegin(x64_detail::kCallerSaved); it != std::rend(x64_detail::kCallerSaved); ++it)
        pop(Xbyak::Reg64(*it));
      ret();
    }
  };
  Thunk t(at, room, helper);
  return t.getSize();
}

}  // namespace vireo::jit::x64
