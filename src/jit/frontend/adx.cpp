// Frontend, ADX (mirrors src/interp/adx.cpp): adcx and adox, the add-with-carry of two
// interleaved carry chains (Go's math/big and GMP multiply with mulx, adcx and adox).
// adcx carries through CF and adox through OF; each writes that one flag and leaves the
// other five as they were (SDM Vol. 2, ADCX, ADOX: no flag is undefined).
//
// Both are the AddThrough op (the sum) and FlagsAddThrough (the flags value with the carry
// bit replaced: CF for adcx, OF for adox), which the backend runs as one host adc with the
// carry moved in and out through that bit (emit_add_through).
#include <Zydis/Mnemonic.h>

#include "cpu/cpu_state.h"
#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

// The flags value each one sets covers both CF and OF: its own carry, and the other flag as
// it was. So in an interleaved chain (adcx, adox, adcx, ...) each finds the flags it reads in
// the last SetFlags, a host register, instead of merging partial flags through CpuState
// (GetFlags) at every step.
template <unsigned carry_bit>
bool add_through(Translator& t, const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (in.nops < 2 || d.kind != OpKind::Reg || d.rclass != RegClass::Gpr || (d.size != 4 && d.size != 8)) return false;
  if (!Translator::is_integer_operand(s)) return false;
  const unsigned size = d.size;
  Value b = t.read(s, size);
  Value a = t.read(d, size);
  Value fl = t.ir.flags_for(flag::CF | flag::OF);
  const Arg desc = Arg::imm(size | carry_bit << 8);
  Value r = t.ir.emit(Opcode::AddThrough, {desc, Arg::val(a), Arg::val(b), Arg::val(fl)});
  Value f = t.ir.emit(Opcode::FlagsAddThrough, {desc, Arg::val(a), Arg::val(b), Arg::val(fl)});
  t.write(d, size, r);
  t.ir.set_flags(flag::CF | flag::OF, f);
  return true;
}

static_assert(flag::CF == 1u << 0 && flag::OF == 1u << 11);

}  // namespace

void register_frontend_adx(FrontendTable& t) {
  t[ZYDIS_MNEMONIC_ADCX] = add_through<0>;
  t[ZYDIS_MNEMONIC_ADOX] = add_through<11>;
}

}  // namespace vireo::jit
