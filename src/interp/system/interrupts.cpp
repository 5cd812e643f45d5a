// Interrupt and exception delivery, the one place for it (SDM Vol. 3, chapter 6):
//   * real mode: the IVT at IDTR.base, FLAGS/CS/IP pushed;
//   * protected mode: 8-byte interrupt/trap gates (16- and 32-bit), a stack switch from the
//     TSS (SS0:ESP0..) when the privilege rises;
//   * long mode: 16-byte gates, RSP0..2 or an IST stack from the 64-bit TSS, SS:RSP always
//     pushed, the stack aligned to 16;
// with error codes, the DPL check of software interrupts, nested faults turned into #DF and a
// fault while delivering #DF into a triple fault (a clean machine stop with a register dump).
// Also int n / int3 / into / int1 and iret in every mode.
#include <Zydis/Mnemonic.h>
#include <fmt/format.h>

#include "interp/system/system_mode.h"

namespace vireo {

using namespace seg_attr;

namespace {

enum class Class { Benign, Contributory, PageFault, DoubleFault };

Class classify(int v) {
  switch (v) {
    case VEC_DE: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP: return Class::Contributory;
    case VEC_PF: return Class::PageFault;
    case VEC_DF: return Class::DoubleFault;
    default: return Class::Benign;
  }
}

// The EXT bit of error codes for faults raised while delivering an event: set unless the event
// is a software interrupt (INT n, INT3, INTO) (SDM Vol. 3, 6.13).
unsigned error_code_ext(Event kind) { return kind == Event::Software ? 0 : 1; }

bool pushes_error_code(uint8_t v) {
  return v == VEC_DF || v == VEC_TS || v == VEC_NP || v == VEC_SS || v == VEC_GP || v == VEC_PF ||
         v == VEC_AC;
}

// The target code segment of a gate (SDM Vol. 3, 6.12.1.1), checked; returns the new CPL.
unsigned gate_code_segment(Exec& x, uint16_t sel, unsigned ext, uint64_t& raw) {
  const uint16_t ec = sel & 0xFFFC;
  if (ec == 0) x.raise_gp(ext);
  if (!read_descriptor(x, sel, raw)) x.raise_gp(ec | ext);
  const uint16_t a = descriptor_to_segment(sel, raw).attrib;
  const unsigned cur = cpl(*x.cpu), dpl = seg_attr::dpl(a);
  if (!(a & S) || !(a & CODE) || dpl > cur) x.raise_gp(ec | ext);
  if (long_mode_active(*x.cpu) && (!(a & L) || (a & DB))) x.raise_gp(ec | ext);
  if (!(a & P)) x.raise(VEC_NP, ec | ext, true);
  return (a & CONFORMING) ? cur : dpl;
}

uint64_t tss_read(Exec& x, uint32_t off, unsigned size, unsigned ext) {
  const Segment& tr = x.cpu->tr;
  if (off + size - 1 > tr.limit) x.raise(VEC_TS, (tr.selector & 0xFFFC) | ext, true);
  return read_sys(x, tr.base + off, size);
}

void deliver_long(Exec& x, uint8_t vec, Event kind, bool has_error, uint32_t error, uint64_t ret) {
  CpuState& c = *x.cpu;
  const unsigned ext = error_code_ext(kind);
  const uint32_t idt_ec = uint32_t(vec) * 8 + 2 + ext;
  if (uint32_t(vec) * 16 + 15 > c.idtr.limit) x.raise_gp(idt_ec);
  uint64_t lo = read_sys(x, c.idtr.base + vec * 16, 8);
  uint64_t hi = read_sys(x, c.idtr.base + vec * 16 + 8, 8);
  unsigned type = (lo >> 40) & 0xF, dpl = (lo >> 45) & 3;
  if (type != 0xE && type != 0xF) x.raise_gp(idt_ec);
  if (kind == Event::Software && dpl < cpl(c)) x.raise_gp(idt_ec);
  if (!((lo >> 47) & 1)) x.raise(VEC_NP, idt_ec, true);
  const uint16_t sel = uint16_t(lo >> 16);
  const uint64_t target = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF0000) | (hi << 32);
  const unsigned ist = (lo >> 32) & 7;
  uint64_t raw;
  const unsigned new_cpl = gate_code_segment(x, sel, ext, raw);
  const unsigned cur = cpl(c);

  uint64_t sp = c.gpr[RSP];
  if (ist) sp = tss_read(x, 36 + 8 * (ist - 1), 8, ext);
  else if (new_cpl < cur) sp = tss_read(x, 4 + 8 * new_cpl, 8, ext);
  sp &= ~uint64_t(15);
  uint64_t frame[6] = {c.seg[SEG_SS].selector, c.gpr[RSP], c.rflags, c.seg[SEG_CS].selector, ret, error};
  unsigned n = has_error ? 6 : 5;
  // Pushed with the new privilege (supervisor unless the handler runs in ring 3).
  for (unsigned i = 0; i < n; ++i) write_linear(x, sp - 8 * (i + 1), &frame[i], 8, new_cpl == 3);
  sp -= 8 * n;

  if (new_cpl < cur) c.seg[SEG_SS] = {uint16_t(new_cpl), uint16_t(new_cpl << 5), 0, 0};  // null SS
  set_code_segment(c, sel, raw, new_cpl);
  c.gpr[RSP] = sp;
  c.rip = target;
  c.rflags &= ~(flag::TF | flag::NT | flag::RF | flag::VM);
  if (type == 0xE) c.rflags &= ~flag::IF;
}

void deliver_protected(Exec& x, uint8_t vec, Event kind, bool has_error, uint32_t error, uint64_t ret) {
  CpuState& c = *x.cpu;
  const unsigned ext = error_code_ext(kind);
  const uint32_t idt_ec = uint32_t(vec) * 8 + 2 + ext;
  if (uint32_t(vec) * 8 + 7 > c.idtr.limit) x.raise_gp(idt_ec);
  uint64_t g = read_sys(x, c.idtr.base + vec * 8, 8);
  unsigned type = (g >> 40) & 0xF, dpl = (g >> 45) & 3;
  if (type == 0x5) {
    if (x.sys->reported_insns.insert(0xFFFE).second)
      fmt::print(stderr, "vireo: task gate in IDT entry {:#x}: task switches are not supported by interp: raises #GP\n", vec);
    x.raise_gp(idt_ec);
  }
  if (type != 0x6 && type != 0x7 && type != 0xE && type != 0xF) x.raise_gp(idt_ec);
  if (kind == Event::Software && dpl < cpl(c)) x.raise_gp(idt_ec);
  if (!((g >> 47) & 1)) x.raise(VEC_NP, idt_ec, true);
  const bool gate32 = type & 8;
  const unsigned size = gate32 ? 4 : 2;
  const uint16_t sel = uint16_t(g >> 16);
  const uint64_t target = (g & 0xFFFF) | (gate32 ? (g >> 32) & 0xFFFF0000 : 0);
  uint64_t raw;
  const unsigned new_cpl = gate_code_segment(x, sel, ext, raw);
  const unsigned cur = cpl(c);

  Segment new_ss = c.seg[SEG_SS];
  uint64_t sp = c.gpr[RSP];
  bool switch_stack = new_cpl < cur;
  if (switch_stack) {
    // 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n (SDM Vol. 3, 7.2.1).
    sp = tss_read(x, 4 + 8 * new_cpl, 4, ext);
    uint16_t ss_sel = uint16_t(tss_read(x, 8 + 8 * new_cpl, 2, ext));
    uint64_t ss_raw;
    if ((ss_sel & 0xFFFC) == 0 || !read_descriptor(x, ss_sel, ss_raw)) x.raise(VEC_TS, (ss_sel & 0xFFFC) | ext, true);
    new_ss = descriptor_to_segment(ss_sel, ss_raw);
    if ((ss_sel & 3) != new_cpl || seg_attr::dpl(new_ss.attrib) != new_cpl || !(new_ss.attrib & S) ||
        (new_ss.attrib & CODE) || !(new_ss.attrib & WRITABLE))
      x.raise(VEC_TS, (ss_sel & 0xFFFC) | ext, true);
    if (!(new_ss.attrib & P)) x.raise(VEC_SS, (ss_sel & 0xFFFC) | ext, true);
  }
  const unsigned width = (new_ss.attrib & DB) ? 4 : 2;
  uint64_t frame[6];
  unsigned n = 0;
  if (switch_stack) {
    frame[n++] = c.seg[SEG_SS].selector;
    frame[n++] = c.gpr[RSP];
  }
  frame[n++] = c.rflags;
  frame[n++] = c.seg[SEG_CS].selector;
  frame[n++] = ret;
  if (has_error) frame[n++] = error;
  for (unsigned i = 0; i < n; ++i) {
    sp -= size;
    uint64_t la = new_ss.base + Exec::truncate(sp, width);
    write_linear(x, uint32_t(la), &frame[i], size, new_cpl == 3);
  }
  if (switch_stack) c.seg[SEG_SS] = new_ss;
  x.set_gpr(RSP, width, sp);
  set_code_segment(c, sel, raw, new_cpl);
  c.rip = target;
  c.rflags &= ~(flag::TF | flag::NT | flag::RF | flag::VM);
  if (!(type & 1)) c.rflags &= ~flag::IF;
}

void deliver_real(Exec& x, uint8_t vec, uint64_t ret) {
  CpuState& c = *x.cpu;
  if (uint32_t(vec) * 4 + 3 > c.idtr.limit) x.raise_gp(0);
  uint32_t ivt = uint32_t(read_sys(x, c.idtr.base + vec * 4, 4));
  StackFrame f(x);
  f.push(c.rflags, 2);
  f.push(c.seg[SEG_CS].selector, 2);
  f.push(ret, 2);
  f.commit();
  c.seg[SEG_CS].selector = uint16_t(ivt >> 16);
  c.seg[SEG_CS].base = uint64_t(ivt >> 16) << 4;
  c.rip = ivt & 0xFFFF;
  c.rflags &= ~(flag::IF | flag::TF | flag::AC);
}

const char* event_name(Event k) {
  return k == Event::External ? "external" : k == Event::Software ? "software" : "exception";
}

}  // namespace

void log_event(Exec& x, uint8_t vector, Event kind, bool has_error, uint32_t error) {
  SystemMode& s = *x.sys;
  auto& counts = kind == Event::External ? s.stats.interrupts
                 : kind == Event::Software ? s.stats.software : s.stats.exceptions;
  ++counts[vector];
  if (!s.int_log) return;
  const CpuState& c = *x.cpu;
  fmt::print(s.int_log, "vireo: int vector={:#04x} {} err={} rip={:#x} cs={:#06x} cpl={} rsp={:#x} cr2={:#x} rflags={:#x}\n",
             vector, event_name(kind), has_error ? fmt::format("{:#06x}", error) : "-", x.insn_rip,
             c.seg[SEG_CS].selector, cpl(c), c.gpr[RSP], c.cr2, c.rflags);
}

void deliver_event(Exec& x, uint8_t vector, Event kind, bool has_error, uint32_t error, uint64_t ret) {
  SystemMode& s = *x.sys;
  CpuState& c = *x.cpu;
  int previous = s.delivering;
  s.delivering = vector;
  if (!(c.cr0 & softmmu::ctl::CR0_PE)) deliver_real(x, vector, ret);
  else if (long_mode_active(c)) deliver_long(x, vector, kind, has_error, error, ret);
  else deliver_protected(x, vector, kind, has_error, error, ret);
  s.delivering = previous;
}

void deliver_exception(Exec& x, SystemMode& s) {
  CpuState& c = *x.cpu;
  FaultInfo f = c.fault;
  c.rip = x.insn_rip;  // faults restart the instruction; traps (int3, into) set insn_rip past it
  if (f.vector == VEC_PF) c.cr2 = f.address;
  bool has_error = pushes_error_code(f.vector);
  uint32_t error = has_error ? f.error_code : 0;
  log_event(x, f.vector, Event::Exception, has_error, error);
  if (s.delivering >= 0) {
    // A fault while delivering another event (SDM Vol. 3, 6.15, Table 6-5).
    Class first = classify(s.delivering), second = classify(f.vector);
    s.delivering = -1;
    if (first == Class::DoubleFault && second != Class::Benign)
      throw machine::MachineStop("guest triple-faulted (an exception while delivering a double fault); registers:\n" +
                                 format_registers(c));
    if ((first == Class::Contributory && second == Class::Contributory) ||
        (first == Class::PageFault && second != Class::Benign)) {
      log_event(x, VEC_DF, Event::Exception, true, 0);
      deliver_event(x, VEC_DF, Event::Exception, true, 0, c.rip);
      return;
    }
  }
  deliver_event(x, f.vector, Event::Exception, has_error, error, c.rip);
}

void poll_interrupts(Exec& x, SystemMode& s) {
  CpuState& c = *x.cpu;
  if (!(c.rflags & flag::IF) || c.insn_count < s.shadow_end) return;
  if (!s.bus.interrupt_pending()) return;
  int vector = s.bus.acknowledge_interrupt();
  x.insn_rip = c.rip;
  log_event(x, uint8_t(vector), Event::External, false, 0);
  deliver_event(x, uint8_t(vector), Event::External, false, 0, c.rip);
}

void single_step_trap(Exec& x, SystemMode& s, const Insn& in) {
  CpuState& c = *x.cpu;
  if (c.insn_count < s.step_shadow_end) return;
  // Software interrupts clear TF on their way to the handler and are not followed by a trap.
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_INT: case ZYDIS_MNEMONIC_INT3: case ZYDIS_MNEMONIC_INTO: case ZYDIS_MNEMONIC_INT1:
      return;
  }
  s.dr[6] |= SystemMode::kDr6SingleStep;
  x.insn_rip = c.rip;
  log_event(x, VEC_DB, Event::Exception, false, 0);
  deliver_event(x, VEC_DB, Event::Exception, false, 0, c.rip);
}

namespace {

void soft_int(Exec& x, uint8_t vector) {
  log_event(x, vector, Event::Software, false, 0);
  deliver_event(x, vector, Event::Software, false, 0, x.cpu->rip);
}

void int_n(Exec& x, const Insn& in) { soft_int(x, uint8_t(in.op[0].disp)); }
void int3(Exec& x, const Insn&) { soft_int(x, VEC_BP); }
void into(Exec& x, const Insn&) {
  if (in_64bit_mode(*x.cpu)) x.raise_ud();
  if (x.cpu->rflags & flag::OF) soft_int(x, VEC_OF);
}
// INT1 (ICEBP) raises #DB as an exception-like event: no DPL check (SDM Vol. 3, 6.12.1.1).
void int1(Exec& x, const Insn&) {
  log_event(x, VEC_DB, Event::Exception, false, 0);
  deliver_event(x, VEC_DB, Event::Exception, false, 0, x.cpu->rip);
}

// BOUND: #BR when the index is outside [lower, upper] (not in 64-bit mode).
void bound(Exec& x, const Insn& in) {
  if (in_64bit_mode(*x.cpu)) x.raise_ud();
  unsigned size = in.opsize;
  uint64_t la = x.linear(in, in.op[1]);
  int64_t lower = Exec::sign_extend(x.load_sized(la, size), size);
  int64_t upper = Exec::sign_extend(x.load_sized(la + size, size), size);
  int64_t v = Exec::sign_extend(x.read(in, in.op[0]), size);
  if (v < lower || v > upper) x.raise(VEC_BR);
}

}  // namespace

uint64_t iret_flags_mask(const CpuState& c, unsigned opsize) {
  uint64_t mask = flag::ARITH | flag::TF | flag::DF | flag::NT | flag::RF | flag::AC | flag::ID | flag::VIF | flag::VIP;
  if (cpl(c) == 0) mask |= flag::IOPL;
  if (cpl(c) <= iopl(c)) mask |= flag::IF;
  return opsize == 2 ? mask & 0xFFFF : mask;
}

namespace {

// IRET (SDM Vol. 2, IRET): same privilege or outer privilege; in 64-bit mode SS:RSP are always
// popped. Flags: IOPL changes only at CPL 0, IF only at CPL <= IOPL.
void iret(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  SystemMode& s = *x.sys;
  const unsigned size = in.opsize;
  const bool was_enabled = c.rflags & flag::IF;
  StackFrame f(x);
  uint64_t rip = f.pop(size);
  uint16_t sel = uint16_t(f.pop(size));
  uint64_t fl = f.pop(size);
  if (!(c.cr0 & softmmu::ctl::CR0_PE)) {
    f.commit();
    c.seg[SEG_CS].selector = sel;
    c.seg[SEG_CS].base = uint64_t(sel) << 4;
    c.rip = rip;
    uint64_t mask = size == 2 ? 0xFFFF : 0x257FD5;
    c.rflags = (c.rflags & ~mask) | (fl & mask) | flag::FIXED1;
    if (!was_enabled && (c.rflags & flag::IF)) s.irq_check = 1;
    return;
  }
  if (c.rflags & flag::NT) system_unimplemented(x, in, "a task return (NT set)");
  if (!long_mode_active(c) && (fl & flag::VM) && cpl(c) == 0) system_unimplemented(x, in, "a return to virtual-8086 mode");
  const unsigned cur = cpl(c), rpl = sel & 3;
  const uint64_t raw = checked_return_code_segment(x, sel);
  const uint16_t a = descriptor_to_segment(sel, raw).attrib;
  if (long_mode_active(c) && (a & L) && (a & DB)) x.raise_gp(sel & 0xFFFC);

  const bool pop_stack = in_64bit_mode(c) || rpl > cur;
  uint64_t new_sp = 0;
  uint16_t new_ss = 0;
  if (pop_stack) {
    new_sp = f.pop(size);
    new_ss = uint16_t(f.pop(size));
  }
  const uint64_t mask = iret_flags_mask(c, size);

  // A return to 64-bit code with a non-canonical RIP is refused with #GP(0) before anything
  // is loaded (SDM Vol. 2, IRET: "IF tempRIP is non-canonical THEN #GP(0)"), not left to
  // fault at the next fetch in the new context. (The CS limit check of a return to 32-bit
  // code is not made here.)
  const bool to64 = long_mode_active(c) && (a & L);
  if (!pop_stack) {
    if (to64 && !is_canonical(rip)) x.raise_gp(0);
    f.commit();
    set_code_segment(c, sel, raw, rpl);
  } else {
    // SS is checked against the new CPL before anything changes (SDM Vol. 2, IRET); in 64-bit
    // mode a null SS is allowed when returning below ring 3.
    Segment ss = (new_ss & 0xFFFC) == 0 && to64 && rpl != 3
                     ? Segment{new_ss, uint16_t(rpl << 5), 0, 0}
                     : checked_segment(x, SEG_SS, new_ss, rpl);
    if (to64 && !is_canonical(rip)) x.raise_gp(0);
    set_code_segment(c, sel, raw, rpl);
    c.seg[SEG_SS] = ss;
    if (to64) c.gpr[RSP] = new_sp;
    else x.set_gpr(RSP, stack_width(c), new_sp);
  }
  c.rip = (c.seg[SEG_CS].attrib & L) && long_mode_active(c) ? rip : Exec::truncate(rip, size == 2 ? 2 : 4);
  c.rflags = (c.rflags & ~mask) | (fl & mask) | flag::FIXED1;
  if (rpl > cur) null_inaccessible_segments(c);
  if (!was_enabled && (c.rflags & flag::IF)) s.irq_check = 1;
}

}  // namespace

void register_system_interrupts(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_INT] = int_n;
  t[ZYDIS_MNEMONIC_INT3] = int3;
  t[ZYDIS_MNEMONIC_INTO] = into;
  t[ZYDIS_MNEMONIC_INT1] = int1;
  t[ZYDIS_MNEMONIC_BOUND] = bound;
  t[ZYDIS_MNEMONIC_IRET] = iret;
  t[ZYDIS_MNEMONIC_IRETD] = iret;
  t[ZYDIS_MNEMONIC_IRETQ] = iret;
}

}  // namespace vireo
