// SseStrIdx/SseStrIdxM (opcodes.inc): SSE4.2's pcmpistri and pcmpestri, the guest's own
// instruction on the host. They read and write fixed registers: pcmpestri its lengths in
// RAX and RDX, both the index in RCX, so the host registers those hold (values of the block,
// perhaps other guest registers) are kept in the red zone below rsp meanwhile. The red zone
// is safe here: the kernel builds signal frames below it, and nothing between the saves and
// the restores calls or leaves the block (user mode: a memory operand's window check comes
// before the saves of the GPRs; system mode keeps the memory form an interpreter fallback).
//
// A memory operand is loaded first, into a host XMM register the instruction does not name
// (saved and restored around it): that load is the one access that may fault, and it runs
// while every host register still holds what the block's sync record says.
#include <Zydis/Mnemonic.h>

#include "jit/backend/x64/block_emitter.h"

namespace vireo::jit::x64_detail {

namespace {
// Red-zone slots (rsp-relative): pushfq uses rsp-8 meanwhile.
constexpr int kSaveRcx = -16, kSaveRax = -24, kSaveRdx = -32, kLenA = -40, kLenD = -48, kSaveXmm = -64;
}  // namespace

void BlockEmitter::sse_string(const ir::Inst& in, const Reg64& d) {
  const SseBits f = unpack(in.args[0].v);
  const bool explicit_lengths = f.mnemonic == ZYDIS_MNEMONIC_PCMPESTRI;
  const bool rex_w = explicit_lengths && f.gpr_size == 8;  // (lengths from RAX/RDX, not EAX/EDX)
  const Xbyak::Xmm a = xmm_in((in.args[0].v >> 48) & 15);
  int b;
  if (in.op == Opcode::SseStrIdxM) {
    b = a.getIdx() == 15 ? 14 : 15;
    movdqu(xword[rsp + kSaveXmm], Xbyak::Xmm(b));
    const Xbyak::Address m = guest_mem(in, 1, f, false);
    movdqu(Xbyak::Xmm(b), m);  // (the access: its sync record is at this instruction)
  } else {
    b = xmm_in(in.args[1].v).getIdx();
  }
  mov(qword[rsp + kSaveRcx], rcx);
  if (explicit_lengths) {
    // Through memory: the length values may be in rax/rdx themselves, either way round.
    mov(qword[rsp + kSaveRax], rax);
    mov(qword[rsp + kSaveRdx], rdx);
    mov(qword[rsp + kLenA], val(in.args[2].v));
    mov(qword[rsp + kLenD], val(in.args[3].v));
    mov(rax, qword[rsp + kLenA]);
    mov(rdx, qword[rsp + kLenD]);
  }
  // 66 [REX] 0F 3A 61/63 /r ib, both operands registers.
  const uint8_t rex = uint8_t((rex_w ? 8 : 0) | (a.getIdx() >> 3) << 2 | (b >> 3));
  db(0x66);
  if (rex) db(0x40 | rex);
  db(0x0F);
  db(0x3A);
  db(explicit_lengths ? 0x61 : 0x63);
  db(0xC0 | (a.getIdx() & 7) << 3 | (b & 7));
  db(f.imm8);
  pushfq();
  pop(r11);
  shl(r11, 32);
  mov(ecx, ecx);
  or_(r11, rcx);
  mov(rcx, qword[rsp + kSaveRcx]);
  if (explicit_lengths) {
    mov(rax, qword[rsp + kSaveRax]);
    mov(rdx, qword[rsp + kSaveRdx]);
  }
  if (in.op == Opcode::SseStrIdxM) movdqu(Xbyak::Xmm(b), xword[rsp + kSaveXmm]);
  mov(d, r11);
}

}  // namespace vireo::jit::x64_detail
