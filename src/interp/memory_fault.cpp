#include "interp/memory_fault.h"

#include <Zydis/Zydis.h>

#include <algorithm>

#include "cpu/decoder.h"
#include "mem/host_fault.h"

namespace vireo {

namespace {

// Built before main (see jit/frontend/translation_decodes.cpp's for why not at first use).
const Decoder g_decoder(CpuMode::Long64);

// The instruction at `rip`, read with faults tolerated (it ran, so it is normally readable).
bool decode_at(const GuestMemory& mem, uint64_t rip, Insn& in, ZydisDecodedInstruction& zi,
               ZydisDecodedOperand* zo) {
  uint8_t bytes[15];
  // Up to 15 bytes, stopping where a byte-by-byte read would fault: at the page that faults.
  const size_t avail = mem.contains(rip, 1) ? std::min<uint64_t>(15, mem.limit - rip) : 0;
  const size_t first = std::min<size_t>(avail, 4096 - (rip & 4095));
  size_t n = 0;
  if (guarded_copy(mem, bytes, rip, first, false))
    n = first < avail && guarded_copy(mem, bytes + first, rip + first, avail - first, false) ? avail : first;
  return n && g_decoder.decode(bytes, n, rip, in) && g_decoder.decode_full(bytes, n, zi, zo);
}

uint64_t operand_address(const CpuState& cpu, const Insn& in, const Operand& o) {
  uint64_t a = uint64_t(o.disp);
  if (o.base != kNoReg) a += cpu.gpr[o.base];
  if (o.index != kNoReg) a += cpu.gpr[o.index] * o.scale;
  if (in.addrsize == 4) a = uint32_t(a);
  if (o.seg == SEG_FS || o.seg == SEG_GS) a += cpu.seg[o.seg].base;
  return a;
}

bool uses_stack(uint16_t m) {
  switch (m) {
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_POP: case ZYDIS_MNEMONIC_CALL:
    case ZYDIS_MNEMONIC_RET: case ZYDIS_MNEMONIC_ENTER: case ZYDIS_MNEMONIC_LEAVE:
    case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFQ: case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFQ: case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
      return true;
    default: return false;
  }
}

}  // namespace

FaultInfo memory_fault(const CpuState& cpu, const GuestMemory& mem, uint64_t addr, uint32_t hw) {
  const bool fetch = hw & pf::I;
  Insn in;
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  const bool decoded = !fetch && decode_at(mem, cpu.rip, in, zi, zo);
  // The explicit memory operand the address falls in, if any.
  int op = -1;
  if (decoded)
    for (int i = 0; i < in.nops; ++i) {
      const Operand& o = in.op[i];
      if (o.kind != OpKind::Mem || o.size == 0) continue;
      const uint64_t a = operand_address(cpu, in, o);
      if (addr - a < o.size) {
        op = i;
        break;
      }
    }
  // bt/bts/btr/btc with a register bit offset reach far from their operand's address.
  if (decoded && op < 0 && in.nops == 2 && in.op[0].kind == OpKind::Mem &&
      (in.mnemonic == ZYDIS_MNEMONIC_BT || in.mnemonic == ZYDIS_MNEMONIC_BTS ||
       in.mnemonic == ZYDIS_MNEMONIC_BTR || in.mnemonic == ZYDIS_MNEMONIC_BTC))
    op = 0;
  if (!is_canonical(addr)) {
    // SDM Vol. 3, 6.15 (#GP, #SS): canonical violations in 64-bit mode. Linux reports both
    // without an address.
    bool stack = false;
    if (op >= 0) {
      const Operand& o = in.op[op];
      stack = (o.base == RSP || o.base == RBP) && o.seg != SEG_FS && o.seg != SEG_GS;
    } else if (decoded) {
      stack = uses_stack(in.mnemonic);
    }
    return {uint8_t(stack ? VEC_SS : VEC_GP), true, 0, 0, false};
  }
  uint32_t ec = (hw & (pf::P | pf::W | pf::I)) | pf::U;
  // The upper half belongs to the kernel, whose pages are present but supervisor-only: a user
  // access there is a protection fault (Linux still says SEGV_MAPERR: no VMA).
  if (addr >= 0xFFFF'8000'0000'0000) ec |= pf::P;
  if (!(ec & pf::W) && op >= 0 && (zo[op].actions & (ZYDIS_OPERAND_ACTION_WRITE | ZYDIS_OPERAND_ACTION_CONDWRITE)))
    ec |= pf::W;  // read-modify-write: the read is made with write intent
  return {VEC_PF, true, ec, addr, bool(ec & pf::W)};
}

}  // namespace vireo
