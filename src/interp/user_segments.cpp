// Segment selectors in 64-bit user mode: mov/pop to a segment register, far return (lret,
// lretq, ret far imm16), iret at CPL 3, and the descriptor queries lar, lsl, verr and verw.
//
// User mode has no guest GDT: the process runs under Linux's, which is the same for every
// x86-64 process (arch/x86/include/asm/segment.h, GDT_ENTRY_*), so the descriptors a selector
// can name are a fixed table here. Everything else (the kernel's TSS and LDT entries, the
// empty TLS slots, the unused slot 7, an LDT selector with no LDT, an index past the GDT's 16
// entries) is not a usable segment and the load raises #GP with the selector's index as its
// error code (SDM Vol. 3, 6.13: bits 15:3 index, bit 2 TI; EXT and IDT are 0).
#include "interp/user_segments.h"

#include <sched.h>

#include <Zydis/Mnemonic.h>
#include <fmt/format.h>

#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/interpreter.h"
#include "interp/memory_fault.h"

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
  // The CS slot is read before the RIP slot (a fault with both unmapped is at sp + size).
  const uint16_t cs = uint16_t(x.load_sized(sp + size, size));
  const uint64_t rip = x.load_sized(sp, size);
  const uint64_t release = in.nops ? uint64_t(in.op[0].disp) & 0xFFFF : 0;
  // A CS whose RPL is not the CPL asks for a return to another privilege level, which pops
  // SS:RSP from above the released bytes: the AMD hosts read those two slots, SS's first, before
  // it checks CS at all (measured natively for every selector kind, GDT or LDT, null or not,
  // RPL 0-2, both operand sizes, with or without imm16; tests/exactness far_ret_*). With RPL
  // = CPL = 3 the CS checks come first and nothing more is read. Other hosts check CS first
  // whatever its RPL (cpu/host_quirks.h): #GP(selector), as RPL < CPL.
  if ((cs & 3) != 3 && !host_far_ret_checks_cs_first()) {
    const uint64_t top = sp + 2 * size + release;
    // (under EFLAGS.AC these reads are alignment-checked too: #AC before the page fault)
    const bool ac = (x.cpu->rflags & flag::AC) && !x.sys;
    for (uint64_t slot : {top + size, top}) {
      if (ac && (slot & (size - 1)) && is_canonical(slot)) x.raise(VEC_AC, 0, true);
      x.probe_read(slot);
    }
  }
  if (!check_return_cs(x, cs)) {
    if (rip > 0xFFFFFFFF) x.raise_gp(0);  // past a 32-bit code segment's limit
    unsupported_compat(x, in);
  }
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
  // The AMD hosts read the five slots in this order (a fault names the first unmapped one):
  // RFLAGS, then CS before RIP and SS before RSP; all five before any check. Then CS is
  // checked, then RIP's canonical form, then SS (measured natively, tests/exactness iret_*).
  // Others (cpu/host_quirks.h) check CS before they read SS and RSP, and SS before RIP.
  const bool cs_first = host_iret_checks_cs_first();
  const uint64_t fl = x.load_sized(sp + 2 * size, size);
  const uint16_t cs = uint16_t(x.load_sized(sp + size, size));
  const uint64_t rip = x.load_sized(sp, size);
  bool long_cs = cs_first && check_return_cs(x, cs);
  const uint16_t ss = uint16_t(x.load_sized(sp + 4 * size, size));
  const uint64_t new_sp = x.load_sized(sp + 3 * size, size);
  if (!cs_first) long_cs = check_return_cs(x, cs);
  auto check_rip = [&] {
    // The new RIP must be canonical for a 64-bit CS, within the 4 GiB limit for a 32-bit one.
    if (long_cs) canonical_rip(x, rip);
    else if (rip > 0xFFFFFFFF) x.raise_gp(0);
  };
  if (!cs_first) check_rip();
  if ((ss & 0xFFFC) == 0) x.raise_gp(0);  // a null SS only below CPL 3
  if ((ss & 3) != (cs & 3) || descriptor(ss) != Desc::Data) x.raise_gp(selector_error(ss));
  if (cs_first) check_rip();
  if (!long_cs) unsupported_compat(x, in);
  x.cpu->rip = rip;
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

// lar/lsl/verr/verw (SDM Vol. 2): ZF = 1 when the selector names a descriptor that CPL 3
// may see with the selector's RPL (every user descriptor has DPL 3, so only the kernel's and
// absent ones fail), else ZF = 0 and the destination is unchanged. Access rights and limits
// as this host's Linux GDT reads (measured, tests/exactness descriptor_queries): flat 4 GiB
// segments, and the CPUNODE entry whose byte-granular limit is (node << 12) | cpu, the value
// rdpid gives.
struct DescInfo {
  uint32_t rights;  // lar's result (bits 23:8 of the descriptor's high dword)
  bool readable, writable;
};
bool user_descriptor(uint16_t sel, DescInfo& d) {
  switch (descriptor(sel)) {
    case Desc::Code32: d = {0xcffb00, true, false}; return true;
    case Desc::Code64: d = {0xaffb00, true, false}; return true;
    case Desc::Data: d = {0xcff300, true, true}; return true;
    case Desc::DataRO: d = {0x40f500, true, false}; return true;
    default: return false;
  }
}

uint64_t cpunode_limit() {
  unsigned cpu = 0, node = 0;
  getcpu(&cpu, &node);
  return (uint64_t(node) << 12) | cpu;
}

void set_zf(Exec& x, bool on) {
  x.cpu->rflags = on ? x.cpu->rflags | flag::ZF : x.cpu->rflags & ~flag::ZF;
}

template <bool is_lar>
void lar_lsl(Exec& x, const Insn& in) {
  const uint16_t sel = uint16_t(x.read(in, in.op[1]));
  DescInfo d;
  const bool ok = user_descriptor(sel, d);
  set_zf(x, ok);
  if (!ok) return;
  uint64_t v = is_lar ? d.rights : descriptor(sel) == Desc::DataRO ? cpunode_limit() : 0xffffffff;
  x.set_gpr(in.op[0].reg, in.op[0].size, v);
}

template <bool write>
void verify(Exec& x, const Insn& in) {
  const uint16_t sel = uint16_t(x.read(in, in.op[0]));
  DescInfo d;
  set_zf(x, user_descriptor(sel, d) && (write ? d.writable : d.readable));
}

void register_user_segments(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_LAR] = lar_lsl<true>;
  t[ZYDIS_MNEMONIC_LSL] = lar_lsl<false>;
  t[ZYDIS_MNEMONIC_VERR] = verify<false>;
  t[ZYDIS_MNEMONIC_VERW] = verify<true>;
  t[ZYDIS_MNEMONIC_RET] = ret;
  t[ZYDIS_MNEMONIC_IRET] = iret;
  t[ZYDIS_MNEMONIC_IRETD] = iret;
  t[ZYDIS_MNEMONIC_IRETQ] = iret;
}

}  // namespace vireo
