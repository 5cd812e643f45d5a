// Segment selectors in 64-bit user mode: mov/pop to a segment register, far return (lret,
// lretq, ret far imm16) and iret at CPL 3.
//
// User mode has no guest GDT: the process runs under Linux's, which is the same for every
// x86-64 process (arch/x86/include/asm/segment.h, GDT_ENTRY_*), so the descriptors a selector
// can name are a fixed table here. Everything else (the kernel's TSS and LDT entries, the
// empty TLS slots, the unused slot 7, an LDT selector with no LDT, an index past the GDT's 16
// entries) is not a usable segment and the load raises #GP with the selector's index as its
// error code (SDM Vol. 3, 6.13: bits 15:3 index, bit 2 TI; EXT and IDT are 0).
#include "interp/user_segments.h"

#include <Zydis/Mnemonic.h>
#include <fmt/format.h>

#include "interp/dispatch.h"
#include "interp/interpreter.h"

namespace vireo {

namespace {

enum class Desc : uint8_t {
  None,      // not a segment a load at CPL 3 can use
  Kernel,    // present, DPL 0: the privilege check fails
  Data,      // __USER_DS (0x2b): writable data, DPL 3
  DataRO,    // the CPUNODE entry (0x7b): read-only data, DPL 3 (read by lsl, rdpid's fallback)
  Code64,    // __USER_CS (0x33): 64-bit readable code, DPL 3
  Code32,    // __USER32_CS (0x23): compatibility-mode readable code, DPL 3
};

Desc descriptor(uint16_t sel) {
  if (sel & 4) return Desc::None;  // TI = 1: no LDT
  switch (sel >> 3) {
    case 1: case 2: case 3: return Desc::Kernel;  // KERNEL32_CS, KERNEL_CS, KERNEL_DS
    case 4: return Desc::Code32;
    case 5: return Desc::Data;
    case 6: return Desc::Code64;
    case 15: return Desc::DataRO;
    default: return Desc::None;
  }
}

uint32_t selector_error(uint16_t sel) { return sel & 0xFFFC; }

// A code segment a far return or iret to CPL 3 may name (SDM Vol. 2, RET, "RETURN-TO-SAME-
// PRIVILEGE-LEVEL"): null is #GP(0); RPL below CPL, a data segment or a DPL other than RPL is
// #GP(selector). Returns whether it is the 64-bit one.
bool check_return_cs(Exec& x, uint16_t cs) {
  if ((cs & 0xFFFC) == 0) x.raise_gp(0);
  Desc d = descriptor(cs);
  if ((cs & 3) != 3 || (d != Desc::Code64 && d != Desc::Code32)) x.raise_gp(selector_error(cs));
  return d == Desc::Code64;
}

[[noreturn]] void unsupported_compat(Exec& x, const Insn& in) {
  // Returning to CS 0x23 switches to 32-bit compatibility mode, which user mode does not run.
  x.interp->report_unimplemented(in);
  x.raise_ud();
}

uint64_t canonical_rip(Exec& x, uint64_t rip) {
  if (uint64_t(int64_t(rip << 16) >> 16) != rip) x.raise_gp(0);
  return rip;
}

// Far return: pops RIP and CS at the operand size (32 unless REX.W or 66h), then releases
// imm16 more bytes.
void far_ret(Exec& x, const Insn& in) {
  const unsigned size = in.opsize;
  const uint64_t sp = x.gpr(RSP);
  const uint64_t rip = x.load_sized(sp, size);
  const uint16_t cs = uint16_t(x.load_sized(sp + size, size));
  const uint64_t release = in.nops ? uint64_t(in.op[0].disp) & 0xFFFF : 0;
  if (cs & 4) x.raise_gp(selector_error(cs));  // an LDT selector without an LDT: checked first
  // This host reads the stack one slot above the new top before it checks CS (measured with
  // the random-code mode: a #PF at rsp + 3 * size + imm16 comes before the #GP of a bad
  // selector).
  if (release) x.probe_read(sp + 3 * size + release);
  if (!check_return_cs(x, cs)) unsupported_compat(x, in);
  x.cpu->rip = canonical_rip(x, rip);
  x.cpu->gpr[RSP] = sp + 2 * size + release;
  x.cpu->seg[SEG_CS].selector = cs;
}

// Near return; 66h pops a 16-bit IP (this host then runs at the zero-extended address).
void near_ret(Exec& x, const Insn& in) {
  const unsigned size = in.opsize == 2 ? 2 : 8;
  uint64_t t = canonical_rip(x, x.load_sized(x.gpr(RSP), size));
  uint64_t extra = in.nops ? uint64_t(in.op[0].disp) & 0xFFFF : 0;
  x.cpu->gpr[RSP] += size + extra;
  x.cpu->rip = t;
}

void ret(Exec& x, const Insn& in) {
  if (in.opcode == 0xCA || in.opcode == 0xCB) return far_ret(x, in);
  near_ret(x, in);
}

// iret at CPL 3 in 64-bit mode always pops RIP, CS, RFLAGS, RSP and SS (SDM Vol. 2, IRET,
// "IA-32e-MODE"); returning to the same privilege level checks SS like a stack load.
void iret(Exec& x, const Insn& in) {
  if (x.cpu->rflags & flag::NT) x.raise_gp(0);  // task return: not in IA-32e mode
  const unsigned size = in.opsize;
  const uint64_t sp = x.gpr(RSP);
  const uint64_t rip = x.load_sized(sp, size);
  const uint16_t cs = uint16_t(x.load_sized(sp + size, size));
  const uint64_t fl = x.load_sized(sp + 2 * size, size);
  const uint64_t new_sp = x.load_sized(sp + 3 * size, size);
  const uint16_t ss = uint16_t(x.load_sized(sp + 4 * size, size));
  const bool long_cs = check_return_cs(x, cs);
  if ((ss & 0xFFFC) == 0) x.raise_gp(0);  // a null SS only below CPL 3
  if ((ss & 3) != (cs & 3) || descriptor(ss) != Desc::Data) x.raise_gp(selector_error(ss));
  if (!long_cs) unsupported_compat(x, in);
  x.cpu->rip = canonical_rip(x, rip);
  // CPL 3 > IOPL 0: IF, IOPL, VM, VIF and VIP keep their values; a 16-bit iret loads only
  // the low word.
  uint64_t user = flag::ARITH | flag::TF | flag::DF | flag::OF | flag::NT;
  if (size > 2) user |= flag::RF | flag::AC | flag::ID;
  x.cpu->rflags = (x.cpu->rflags & ~user) | (fl & user) | flag::FIXED1;
  x.cpu->gpr[RSP] = new_sp;
  x.cpu->seg[SEG_CS].selector = cs;
  x.cpu->seg[SEG_SS].selector = ss;
}

}  // namespace

void load_user_segment(Exec& x, uint8_t seg, uint16_t sel) {
  if (seg == SEG_CS) x.raise_ud();
  const Desc d = descriptor(sel);
  if (seg == SEG_SS) {
    // SS: a writable data segment with RPL = DPL = CPL; null is #GP(0) at CPL 3.
    if ((sel & 0xFFFC) == 0) x.raise_gp(0);
    if ((sel & 3) != 3 || d != Desc::Data) x.raise_gp(selector_error(sel));
  } else if ((sel & 0xFFFC) != 0) {
    // DS/ES/FS/GS: data or readable code, DPL >= CPL (3); a null selector is always allowed.
    if (d == Desc::None || d == Desc::Kernel) x.raise_gp(selector_error(sel));
    // Every user descriptor has base 0: a non-null load of FS or GS sets the base to 0. A
    // null one leaves it (AMD; Intel clears it: Linux's X86_BUG_NULL_SEG).
    x.cpu->seg[seg].base = seg == SEG_FS || seg == SEG_GS ? 0 : x.cpu->seg[seg].base;
  }
  x.cpu->seg[seg].selector = sel;
}

namespace {

// jmp far / call far through memory (m16:16, m16:32, m16:64): the selector must name a code
// segment the program may enter (SDM Vol. 2, JMP "Far jumps in protected mode"): null is
// #GP(0); RPL above CPL, a data or kernel segment is #GP(selector).
template <bool is_call>
void far_transfer(Exec& x, const Insn& in) {
  const Operand& o = in.op[0];
  const unsigned size = o.size - 2;  // the offset's size; the selector follows it
  const uint64_t la = x.linear(in, o);
  const uint64_t rip = x.load_sized(la, size);
  const uint16_t cs = x.load<uint16_t>(la + size);
  if ((cs & 0xFFFC) == 0) x.raise_gp(0);
  const Desc d = descriptor(cs);
  if (d != Desc::Code64 && d != Desc::Code32) x.raise_gp(selector_error(cs));
  if (d == Desc::Code32) unsupported_compat(x, in);
  const uint64_t target = canonical_rip(x, size == 8 ? rip : Exec::truncate(rip, size));
  if (is_call) {
    const uint64_t sp = x.gpr(RSP);
    x.store_sized(sp - size, size, x.cpu->seg[SEG_CS].selector);
    x.store_sized(sp - 2 * size, size, x.cpu->rip);
    x.cpu->gpr[RSP] = sp - 2 * size;
  }
  x.cpu->rip = target;
  x.cpu->seg[SEG_CS].selector = uint16_t((cs & ~3) | 3);  // RPL := CPL
}

}  // namespace

// Far forms of jmp/call (FF /5, FF /3); the near ones are control.cpp's.
bool far_jmp_call(Exec& x, const Insn& in) {
  // (m16:16, m16:32 and m16:64 are 4, 6 and 10 bytes; near forms take 8, or 2 with 66h)
  const unsigned n = in.op[0].size;
  if (in.opcode != 0xFF || in.op[0].kind != OpKind::Mem || (n != 4 && n != 6 && n != 10)) return false;
  if (in.mnemonic == ZYDIS_MNEMONIC_JMP) far_transfer<false>(x, in);
  else far_transfer<true>(x, in);
  return true;
}

void register_user_segments(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_RET] = ret;
  t[ZYDIS_MNEMONIC_IRET] = iret;
  t[ZYDIS_MNEMONIC_IRETD] = iret;
  t[ZYDIS_MNEMONIC_IRETQ] = iret;
}

}  // namespace vireo
