// Control transfer: jmp, jcc, call, loop/loope/loopne, jrcxz/jecxz. (ret is in
// user_segments.cpp, with the far forms.)
#include <Zydis/Mnemonic.h>

#include "cpu/condition_codes.h"
#include "cpu/flags.h"
#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/user_segments.h"

namespace vireo {

namespace {

// Branch target of operand 0: relative immediates were resolved to absolute at decode time.
// A non-canonical target faults at the branch (#GP(0), SDM Vol. 2, JMP/CALL "64-Bit Mode
// Exceptions"), not at the fetch that would follow.
// A call checks its push before the target (a call through a non-canonical pointer with an
// unusable stack is the push's #PF; tests/exactness noncanonical_branch), and on some hosts
// writes the return address there too before the #GP (host_call_nc_writes_return_address).
uint64_t target(Exec& x, const Insn& in, bool pushes = false) {
  const Operand& o = in.op[0];
  const uint64_t t = o.kind == OpKind::Imm ? uint64_t(o.disp) : x.read(in, o);
  if (uint64_t(int64_t(t << 16) >> 16) != t) {
    if (pushes) {
      const uint64_t slot = x.gpr(RSP) - 8;
      if (host_call_nc_writes_return_address()) x.store<uint64_t>(slot, x.cpu->rip);
      else if ((slot & 4095) > 4088) x.probe_second_page(slot);
      else x.probe_write(slot);
    }
    x.raise_gp(0);
  }
  return t;
}

void jmp(Exec& x, const Insn& in) {
  if (in.opcode == 0xEA) x.raise_ud();  // jmp ptr16:32: invalid in 64-bit mode
  if (far_jmp_call(x, in)) return;
  x.cpu->rip = target(x, in);
}

void jcc(Exec& x, const Insn& in) {
  if (flags::cond(x.cpu->rflags, in.cc)) x.cpu->rip = uint64_t(in.op[0].disp);
}

void call(Exec& x, const Insn& in) {
  if (far_jmp_call(x, in)) return;
  uint64_t t = target(x, in, true);
  x.push64(x.cpu->rip);
  x.cpu->rip = t;
}

// loop/loope/loopne decrement rCX (at the address size) without touching flags.
template <int kind>  // 0 loop, 1 loope, 2 loopne
void loop(Exec& x, const Insn& in) {
  uint64_t c = x.gpr(RCX) - 1;
  x.set_gpr(RCX, in.addrsize, c);
  c = Exec::truncate(c, in.addrsize);
  bool zf = x.cpu->rflags & flag::ZF;
  bool take = c != 0 && (kind == 0 || (kind == 1 && zf) || (kind == 2 && !zf));
  if (take) x.cpu->rip = uint64_t(in.op[0].disp);
}

void jrcxz(Exec& x, const Insn& in) {
  if (Exec::truncate(x.gpr(RCX), in.addrsize) == 0) x.cpu->rip = uint64_t(in.op[0].disp);
}

}  // namespace

void register_control(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_JMP] = jmp;
  t[ZYDIS_MNEMONIC_CALL] = call;
  t[ZYDIS_MNEMONIC_LOOP] = loop<0>;
  t[ZYDIS_MNEMONIC_LOOPE] = loop<1>;
  t[ZYDIS_MNEMONIC_LOOPNE] = loop<2>;
  t[ZYDIS_MNEMONIC_JRCXZ] = jrcxz;
  t[ZYDIS_MNEMONIC_JECXZ] = jrcxz;
  for (auto m : kJccMnemonics) t[m] = jcc;
}

}  // namespace vireo
