// Port I/O and the interrupt flag: IN/OUT/INS/OUTS go straight to the machine's port bus (as
// the kvm engine serves its I/O exits), allowed when CPL <= IOPL or by the TSS I/O permission
// bitmap (SDM Vol. 1, 19.5); CLI/STI need CPL <= IOPL; STI opens the interrupt window one
// instruction late; HLT stops the engine until the platform sees an interrupt.
#include <Zydis/Mnemonic.h>

#include "interp/system/system_mode.h"

namespace vireo {

namespace {

// The I/O permission bitmap of a 32- or 64-bit TSS: its offset is the word at 102; every bit
// of the accessed ports must be clear, and must lie within the TSS limit.
void check_io(Exec& x, uint16_t port, unsigned size) {
  const CpuState& c = *x.cpu;
  if (!(c.cr0 & softmmu::ctl::CR0_PE) || cpl(c) <= iopl(c)) return;
  const Segment& tr = c.tr;
  unsigned type = tr.attrib & seg_attr::TYPE;
  if ((type != 0x9 && type != 0xB) || tr.limit < 103) x.raise_gp(0);
  uint32_t base = uint32_t(read_sys(x, tr.base + 102, 2));
  uint32_t off = base + port / 8;
  if (off + 1 > tr.limit) x.raise_gp(0);
  uint32_t bits = uint32_t(read_sys(x, tr.base + off, 2));
  if ((bits >> (port & 7)) & ((1u << size) - 1)) x.raise_gp(0);
}

// After port I/O the machine may want attention: an interrupt line raised by the device, or
// the debug-exit port written. An output may also have changed when the board next needs the
// CPU (a PIT programmed, an IRQ unmasked): the engine returns to the platform loop, which
// re-arms its host timer, as after a kvm I/O exit.
void after_io(Exec& x, bool output) {
  if (output || x.sys->bus.stop_requested()) x.stop = StopReason::ExitRequest;
  else x.sys->irq_check = 1;
}

uint16_t port_operand(Exec& x, const Operand& o) {
  return o.kind == OpKind::Imm ? uint16_t(o.disp) : uint16_t(x.gpr(RDX));
}

void in(Exec& x, const Insn& in) {
  unsigned size = in.op[0].size;
  uint16_t port = port_operand(x, in.op[1]);
  check_io(x, port, size);
  uint32_t v = x.sys->bus.port_in(port, uint8_t(size));
  x.set_gpr(RAX, size, v);
  after_io(x, false);
}

void out(Exec& x, const Insn& in) {
  unsigned size = in.op[1].size;
  uint16_t port = port_operand(x, in.op[0]);
  check_io(x, port, size);
  x.sys->bus.port_out(port, uint8_t(size), uint32_t(Exec::truncate(x.gpr(RAX), size)));
  after_io(x, true);
}

// INS/OUTS, one element per iteration; REP repeats with rCX at the address size, and yields to
// an exit request between elements (rip stays on the instruction).
template <unsigned N, bool is_in>
void string_io(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  const unsigned asz = in.addrsize;
  const uint16_t port = uint16_t(c.gpr[RDX]);
  check_io(x, port, N);
  const bool rep = in.prefixes & (pfx::REP | pfx::REPNE);
  const int64_t step = (c.rflags & flag::DF) ? -int64_t(N) : int64_t(N);
  const unsigned idx = is_in ? unsigned(RDI) : unsigned(RSI);
  const uint64_t base = x.seg_base(is_in ? uint8_t(SEG_ES) : string_source_segment(in));
  for (;;) {
    if (rep && Exec::truncate(c.gpr[RCX], asz) == 0) break;
    uint64_t la = base + Exec::truncate(c.gpr[idx], asz);
    if (is_in) {
      uint32_t v = x.sys->bus.port_in(port, N);
      x.store_sized(la, N, v);
    } else {
      x.sys->bus.port_out(port, N, uint32_t(x.load_sized(la, N)));
    }
    x.set_gpr(idx, asz, c.gpr[idx] + step);
    if (!rep) break;
    x.set_gpr(RCX, asz, c.gpr[RCX] - 1);
    if (Exec::truncate(c.gpr[RCX], asz) != 0 && (c.exit_request || x.sys->bus.stop_requested())) {
      c.rip = x.insn_rip;
      break;
    }
  }
  after_io(x, !is_in);
}

void cli(Exec& x, const Insn&) {
  if ((x.cpu->cr0 & softmmu::ctl::CR0_PE) && cpl(*x.cpu) > iopl(*x.cpu)) x.raise_gp(0);
  x.cpu->rflags &= ~flag::IF;
}

void sti(Exec& x, const Insn&) {
  CpuState& c = *x.cpu;
  if ((c.cr0 & softmmu::ctl::CR0_PE) && cpl(c) > iopl(c)) x.raise_gp(0);
  if (c.rflags & flag::IF) return;
  c.rflags |= flag::IF;
  // Interrupts stay blocked until the instruction after STI is done (SDM Vol. 2, STI).
  x.sys->shadow_end = c.insn_count + 2;
  x.sys->irq_check = 2;
}

void hlt(Exec& x, const Insn&) {
  if (cpl(*x.cpu) != 0) x.raise_gp(0);
  x.stop = StopReason::Hlt;
}

}  // namespace

void register_system_io(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_IN] = in;
  t[ZYDIS_MNEMONIC_OUT] = out;
  t[ZYDIS_MNEMONIC_INSB] = string_io<1, true>;
  t[ZYDIS_MNEMONIC_INSW] = string_io<2, true>;
  t[ZYDIS_MNEMONIC_INSD] = string_io<4, true>;
  t[ZYDIS_MNEMONIC_OUTSB] = string_io<1, false>;
  t[ZYDIS_MNEMONIC_OUTSW] = string_io<2, false>;
  t[ZYDIS_MNEMONIC_OUTSD] = string_io<4, false>;
  t[ZYDIS_MNEMONIC_CLI] = cli;
  t[ZYDIS_MNEMONIC_STI] = sti;
  t[ZYDIS_MNEMONIC_HLT] = hlt;
}

}  // namespace vireo
