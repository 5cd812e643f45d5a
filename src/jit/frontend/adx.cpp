// Frontend, ADX (mirrors src/interp/adx.cpp): adcx and adox, the add-with-carry of two
// interleaved carry chains (Go's math/big and GMP multiply with mulx, adcx and adox).
// adcx carries through CF and adox through OF; each writes that one flag and leaves the
// other five as they were (SDM Vol. 2, ADCX, ADOX: no flag is undefined).
//
// Both are the IR's adc (Adc and FlagsAdc, run as one host adc) with the carry-in moved into
// bit 0 and the carry-out moved back to the flag they own: for adox, OF (bit 11) is shifted
// down into CF's place and the carry-out up into OF's, so no new IR op is needed and the
// flag liveness passes see an ordinary partial SetFlags.
#include <Zydis/Mnemonic.h>

#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

constexpr unsigned kOfBit = 11;  // RFLAGS.OF
static_assert(flag::OF == 1u << kOfBit && flag::CF == 1u);

// The flags value each one sets covers both CF and OF: the carry it computed in its own flag,
// the other flag copied from the flags before it. So in an interleaved chain (adcx, adox,
// adcx, ...) each finds the flags it reads in the last SetFlags, a host register, instead of
// merging partial flags through CpuState (GetFlags) at every step.
template <uint64_t carry_flag>
bool add_through(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (in.nops < 2 || d.kind != OpKind::Reg || d.rclass != RegClass::Gpr || (d.size != 4 && d.size != 8)) return false;
  if (!Translator::is_integer_operand(s)) return false;
  constexpr uint64_t other_flag = carry_flag == flag::CF ? flag::OF : flag::CF;
  const unsigned size = d.size;
  Value b = t.read(s, size);
  Value a = t.read(d, size);
  Value fl = t.ir.flags_for(flag::CF | flag::OF);
  // (Adc takes its carry from bit 0 of a flags value)
  Value carry_in = carry_flag == flag::CF ? fl : t.ir.op(Opcode::Shr, fl, t.constant(kOfBit));
  Value r = t.ir.emit(Opcode::Adc, {Arg::val(a), Arg::val(b), Arg::val(carry_in), Arg::imm(size)});
  Value f = t.ir.emit(Opcode::FlagsAdc, {Arg::val(a), Arg::val(b), Arg::val(carry_in), Arg::imm(size)});
  t.write(d, size, r);
  Value carry_out = carry_flag == flag::CF ? f : t.ir.op(Opcode::Shl, f, t.constant(kOfBit));
  Value both = t.ir.op(Opcode::Or, t.ir.op(Opcode::And, carry_out, t.constant(carry_flag)),
                       t.ir.op(Opcode::And, fl, t.constant(other_flag)));
  t.ir.set_flags(flag::CF | flag::OF, both);
  return true;
}

}  // namespace

void register_frontend_adx(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_ADCX] = add_through<flag::CF>;
  t[ZYDIS_MNEMONIC_ADOX] = add_through<flag::OF>;
}

}  // namespace vireo::jit
