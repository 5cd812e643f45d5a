// Segmentation in protected and long mode (SDM Vol. 3, chapter 3 and 5): descriptor reads from
// the GDT/LDT, segment-register loads with their checks (#GP/#NP/#SS with the selector as error
// code), far jmp/call/ret to code segments, and MOV to/from segment, control and debug registers.
#include <Zydis/Mnemonic.h>
#include <fmt/format.h>

#include <algorithm>

#include "interp/system/system_mode.h"

namespace vireo {

using namespace seg_attr;

bool read_descriptor(Exec& x, uint16_t sel, uint64_t& raw) {
  const CpuState& c = *x.cpu;
  uint64_t base;
  uint32_t limit;
  if (sel & 4) {
    if ((c.ldtr.selector & 0xFFFC) == 0 || !(c.ldtr.attrib & P)) return false;  // no LDT
    base = c.ldtr.base;
    limit = c.ldtr.limit;
  } else {
    base = c.gdtr.base;
    limit = c.gdtr.limit;
  }
  uint32_t off = sel & ~7u;
  if (off + 7 > limit) return false;
  raw = read_sys(x, base + off, 8);
  return true;
}

Segment descriptor_to_segment(uint16_t sel, uint64_t raw) {
  uint32_t limit = uint32_t((raw & 0xFFFF) | ((raw >> 32) & 0xF0000));
  uint16_t attrib = uint16_t(((raw >> 40) & 0xFF) | (((raw >> 52) & 0xF) << 8));
  if (attrib & G) limit = (limit << 12) | 0xFFF;
  uint64_t base = ((raw >> 16) & 0xFFFFFF) | (((raw >> 56) & 0xFF) << 24);
  return {sel, attrib, limit, base};
}

namespace {

// Loading a segment sets the descriptor's accessed bit in memory (SDM Vol. 3, 3.4.5.1).
void set_accessed(Exec& x, uint16_t sel, uint64_t raw) {
  if (raw & (1ull << 40)) return;
  uint64_t base = (sel & 4) ? x.cpu->ldtr.base : x.cpu->gdtr.base;
  write_sys(x, base + (sel & ~7u) + 5, 1, ((raw >> 40) & 0xFF) | 1);
}

}  // namespace

Segment checked_segment(Exec& x, unsigned seg, uint16_t sel, unsigned cur) {
  const CpuState& c = *x.cpu;
  const unsigned rpl = sel & 3;
  const uint16_t ec = sel & 0xFFFC;
  if (ec == 0) {
    // A null selector: allowed except into SS, where 64-bit mode allows it below ring 3 with
    // RPL = CPL (SDM Vol. 2, MOV). The register becomes unusable.
    if (seg == SEG_SS && !(in_64bit_mode(c) && cur != 3 && rpl == cur)) x.raise_gp(0);
    return {sel, uint16_t(seg == SEG_SS ? cur << 5 : 0), 0, 0};
  }
  uint64_t raw;
  if (!read_descriptor(x, sel, raw)) x.raise_gp(ec);
  Segment d = descriptor_to_segment(sel, raw);
  const uint16_t a = d.attrib;
  const unsigned dpl = seg_attr::dpl(a);
  if (!(a & S)) x.raise_gp(ec);
  if (seg == SEG_SS) {
    if (rpl != cur || dpl != cur || (a & CODE) || !(a & WRITABLE)) x.raise_gp(ec);
    if (!(a & P)) x.raise(VEC_SS, ec, true);
  } else {
    if ((a & CODE) && !(a & READABLE)) x.raise_gp(ec);
    if ((!(a & CODE) || !(a & CONFORMING)) && (rpl > dpl || cur > dpl)) x.raise_gp(ec);
    if (!(a & P)) x.raise(VEC_NP, ec, true);
  }
  set_accessed(x, sel, raw);
  d.attrib |= ACCESSED;
  return d;
}

uint64_t checked_return_code_segment(Exec& x, uint16_t sel) {
  const unsigned cur = cpl(*x.cpu), rpl = sel & 3;
  const uint16_t ec = sel & 0xFFFC;
  if (ec == 0) x.raise_gp(0);
  uint64_t raw;
  if (!read_descriptor(x, sel, raw)) x.raise_gp(ec);
  const uint16_t a = descriptor_to_segment(sel, raw).attrib;
  if (rpl < cur || !(a & S) || !(a & CODE)) x.raise_gp(ec);
  if ((a & CONFORMING) ? seg_attr::dpl(a) > rpl : seg_attr::dpl(a) != rpl) x.raise_gp(ec);
  if (!(a & P)) x.raise(VEC_NP, ec, true);
  return raw;
}

void load_segment(Exec& x, unsigned seg, uint16_t sel) {
  CpuState& c = *x.cpu;
  if (real_mode(c)) return load_real_segment(c, seg, sel);
  c.seg[seg] = checked_segment(x, seg, sel, cpl(c));
}

void set_code_segment(CpuState& c, uint16_t sel, uint64_t raw, unsigned new_cpl) {
  Segment d = descriptor_to_segment(uint16_t((sel & 0xFFFC) | new_cpl), raw);
  d.attrib |= ACCESSED;
  c.seg[SEG_CS] = d;
}

uint64_t check_far_target(Exec& x, uint16_t sel) {
  const CpuState& c = *x.cpu;
  const uint16_t ec = sel & 0xFFFC;
  if (ec == 0) x.raise_gp(0);
  uint64_t raw;
  if (!read_descriptor(x, sel, raw)) x.raise_gp(ec);
  const uint16_t a = descriptor_to_segment(sel, raw).attrib;
  const unsigned cur = cpl(c), dpl = seg_attr::dpl(a);
  if (!(a & S)) {
    // Call gates, task gates and TSS descriptors: task switches and gates are not modelled.
    if (x.sys->reported_insns.insert(0xFFFF).second)
      fmt::print(stderr, "vireo: far transfer through a gate or TSS (selector {:#x}) is not supported by interp: raises #GP\n", sel);
    x.raise_gp(ec);
  }
  if (!(a & CODE)) x.raise_gp(ec);
  if (a & CONFORMING) {
    if (dpl > cur) x.raise_gp(ec);
  } else if ((sel & 3) > cur || dpl != cur) {
    x.raise_gp(ec);
  }
  if (!(a & P)) x.raise(VEC_NP, ec, true);
  if (long_mode_active(c) && (a & L) && (a & DB)) x.raise_gp(ec);
  return raw;
}

void null_inaccessible_segments(CpuState& c) {
  const unsigned cur = cpl(c);
  for (unsigned s : {SEG_ES, SEG_DS, SEG_FS, SEG_GS}) {
    Segment& g = c.seg[s];
    // As QEMU does: a null FS/GS keeps its base (64-bit code may use it).
    if ((s == SEG_FS || s == SEG_GS) && (g.selector & 0xFFFC) == 0) continue;
    bool conforming_code = (g.attrib & CODE) && (g.attrib & CONFORMING);
    if (!conforming_code && seg_attr::dpl(g.attrib) < cur) g = {0, 0, g.limit, g.base};
  }
}

Segment flat_code(uint16_t sel, bool long64, unsigned dpl) {
  return {sel, uint16_t(0xB | S | P | (dpl << 5) | G | (long64 ? L : DB)), 0xFFFFFFFF, 0};
}

Segment flat_data(uint16_t sel, unsigned dpl) {
  return {sel, uint16_t(0x3 | S | P | (dpl << 5) | G | DB), 0xFFFFFFFF, 0};
}

namespace {

Handler user_mov;

// Offset truncated to the operand size of a transfer (16/32-bit targets wrap).
uint64_t trunc_target(uint64_t v, unsigned size) { return size >= 8 ? v : Exec::truncate(v, size); }

// A far pointer operand: ptr16:16/32 immediate, or m16:16/32/64 in memory (offset first).
void far_pointer(Exec& x, const Insn& in, uint16_t& sel, uint64_t& off) {
  const Operand& o = in.op[0];
  if (o.kind == OpKind::Imm) {
    off = uint64_t(o.disp) & 0xFFFFFFFF;
    sel = uint16_t(uint64_t(o.disp) >> 32);
    return;
  }
  uint64_t la = x.linear(in, o);
  off = x.load_sized(la, in.opsize);
  sel = x.load<uint16_t>(la + in.opsize);
}

bool is_far_indirect(const Insn& in) {
  return in.opcode == 0xFF && in.op[0].kind == OpKind::Mem && in.op[0].size == in.opsize + 2;
}

uint64_t near_target(Exec& x, const Insn& in) {
  const Operand& o = in.op[0];
  uint64_t t = o.kind == OpKind::Imm ? uint64_t(o.disp) : x.read(in, o);
  return trunc_target(t, in_64bit_mode(*x.cpu) ? 8 : in.opsize);
}

void jmp(Exec& x, const Insn& in) {
  if (in.opcode == 0xEA || is_far_indirect(in)) {
    uint16_t sel;
    uint64_t off;
    far_pointer(x, in, sel, off);
    if (real_mode(*x.cpu)) {
      load_real_segment(*x.cpu, SEG_CS, sel);
    } else {
      uint64_t raw = check_far_target(x, sel);
      set_code_segment(*x.cpu, sel, raw, cpl(*x.cpu));
    }
    x.cpu->rip = off;
    return;
  }
  x.cpu->rip = near_target(x, in);
}

void call(Exec& x, const Insn& in) {
  if (in.opcode == 0x9A || is_far_indirect(in)) {
    uint16_t sel;
    uint64_t off;
    far_pointer(x, in, sel, off);
    const bool real = real_mode(*x.cpu);
    uint64_t raw = real ? 0 : check_far_target(x, sel);
    StackFrame f(x);
    f.push(x.cpu->seg[SEG_CS].selector, in.opsize);
    f.push(x.cpu->rip, in.opsize);
    f.commit();
    if (real) load_real_segment(*x.cpu, SEG_CS, sel);
    else set_code_segment(*x.cpu, sel, raw, cpl(*x.cpu));
    x.cpu->rip = off;
    return;
  }
  uint64_t t = near_target(x, in);
  StackFrame f(x);
  f.push(x.cpu->rip, in_64bit_mode(*x.cpu) ? 8 : in.opsize);
  f.commit();
  x.cpu->rip = t;
}

void ret(Exec& x, const Insn& in) {
  const uint64_t extra = in.nops ? uint64_t(in.op[0].disp) & 0xFFFF : 0;
  const unsigned size = in_64bit_mode(*x.cpu) && in.opcode != 0xCA && in.opcode != 0xCB ? 8 : in.opsize;
  StackFrame f(x);
  uint64_t rip = f.pop(size);
  if (in.opcode != 0xCA && in.opcode != 0xCB) {
    f.sp += extra;
    f.commit();
    x.cpu->rip = rip;
    return;
  }
  // Far return (SDM Vol. 2, RET): to the same privilege, or to an outer one with SS:rSP.
  CpuState& c = *x.cpu;
  uint16_t sel = uint16_t(f.pop(size));
  if (real_mode(c)) {
    f.sp += extra;
    f.commit();
    load_real_segment(c, SEG_CS, sel);
    c.rip = rip;
    return;
  }
  const unsigned cur = cpl(c), rpl = sel & 3;
  const uint64_t raw = checked_return_code_segment(x, sel);
  f.sp += extra;
  if (rpl == cur) {
    f.commit();
    set_code_segment(c, sel, raw, rpl);
    c.rip = rip;
    return;
  }
  uint64_t new_sp = f.pop(size);
  uint16_t new_ss = uint16_t(f.pop(size));
  Segment ss = checked_segment(x, SEG_SS, new_ss, rpl);
  set_code_segment(c, sel, raw, rpl);
  c.seg[SEG_SS] = ss;
  c.rip = rip;
  x.set_gpr(RSP, stack_width(c), new_sp + extra);
  null_inaccessible_segments(c);
}

void mov(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (d.kind == OpKind::Reg && d.rclass == RegClass::Seg) {
    if (d.reg == SEG_CS) x.raise_ud();
    load_segment(x, d.reg, uint16_t(x.read(in, s)));
    // MOV SS blocks interrupts until the next instruction is done (SDM Vol. 3, 6.8.3).
    if (d.reg == SEG_SS) ss_loaded(x);
    return;
  }
  if ((d.kind == OpKind::Reg && (d.rclass == RegClass::Cr || d.rclass == RegClass::Dr)) ||
      (s.kind == OpKind::Reg && (s.rclass == RegClass::Cr || s.rclass == RegClass::Dr)))
    return mov_control(x, in);
  user_mov(x, in);
}

// LAR/LSL/VERR/VERW look at a descriptor without loading it and report through ZF (SDM Vol. 2):
// a null or out-of-table selector, a descriptor type the instruction does not accept, or one
// the CPL/RPL may not see (DPL < max(CPL, RPL), except conforming code) clears ZF.
bool visible_descriptor(Exec& x, uint16_t sel, uint64_t& raw) {
  if ((sel & 0xFFFC) == 0 || !read_descriptor(x, sel, raw)) return false;
  const uint16_t a = descriptor_to_segment(sel, raw).attrib;
  bool conforming_code = (a & S) && (a & CODE) && (a & CONFORMING);
  return conforming_code || seg_attr::dpl(a) >= std::max(cpl(*x.cpu), unsigned(sel & 3));
}

void set_zf(Exec& x, bool on) { x.cpu->rflags = on ? x.cpu->rflags | flag::ZF : x.cpu->rflags & ~flag::ZF; }

template <bool is_lar>
void lar_lsl(Exec& x, const Insn& in) {
  uint16_t sel = uint16_t(x.read(in, in.op[1]));
  uint64_t raw;
  bool ok = visible_descriptor(x, sel, raw);
  if (ok) {
    const uint16_t a = descriptor_to_segment(sel, raw).attrib;
    if (!(a & S)) {
      unsigned type = a & TYPE;
      // Legacy: 16/32-bit TSS (available/busy), LDT, and for LAR call/task gates too. Long
      // mode: LDT, 64-bit TSS, and for LAR the 64-bit call gate.
      unsigned ok_types = long_mode_active(*x.cpu) ? (1u << 2) | (1u << 9) | (1u << 0xB) | (is_lar ? 1u << 0xC : 0)
                                                   : 0x0A0E | (is_lar ? 0x1030 : 0);
      ok = (ok_types >> type) & 1;
    }
  }
  set_zf(x, ok);
  if (!ok) return;
  uint64_t v = is_lar ? (raw >> 32) & 0x00F0FF00 : descriptor_to_segment(sel, raw).limit;
  x.set_gpr(in.op[0].reg, in.op[0].size, v);
}

template <bool is_write>
void verify(Exec& x, const Insn& in) {
  uint16_t sel = uint16_t(x.read(in, in.op[0]));
  uint64_t raw;
  bool ok = visible_descriptor(x, sel, raw);
  if (ok) {
    const uint16_t a = descriptor_to_segment(sel, raw).attrib;
    ok = (a & S) && (is_write ? !(a & CODE) && (a & WRITABLE) : !(a & CODE) || (a & READABLE));
  }
  set_zf(x, ok);
}

}  // namespace

void register_system_segments(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_LAR] = lar_lsl<true>;
  t[ZYDIS_MNEMONIC_LSL] = lar_lsl<false>;
  t[ZYDIS_MNEMONIC_VERR] = verify<false>;
  t[ZYDIS_MNEMONIC_VERW] = verify<true>;
  user_mov = t[ZYDIS_MNEMONIC_MOV];
  t[ZYDIS_MNEMONIC_MOV] = mov;
  t[ZYDIS_MNEMONIC_JMP] = jmp;
  t[ZYDIS_MNEMONIC_CALL] = call;
  t[ZYDIS_MNEMONIC_RET] = ret;
}

}  // namespace vireo
