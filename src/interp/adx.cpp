// ADX: adcx and adox, add-with-carry through one flag only (SDM Vol. 2, ADCX, ADOX).
//
// adcx carries through CF and adox through OF, each leaving every other flag as it was, so
// that two carry chains can interleave (multi-precision multiplication with mulx).
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

template <uint64_t carry_flag>
void add_through(Exec& x, const Insn& in) {
  by_size(in.op[0].size, [&]<class T>() {
    T b = T(x.read(in, in.op[1]));
    T a = T(x.read(in, in.op[0]));
    const T c = (x.cpu->rflags & carry_flag) ? 1 : 0;
    T r = T(a + b + c);
    bool out = r < a || (c && r == a);  // the sum wrapped
    x.write(in, in.op[0], r);
    flags::set_arith(*x.cpu, out ? carry_flag : 0, carry_flag);
  });
}

}  // namespace

void register_adx(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_ADCX] = add_through<flag::CF>;
  t[ZYDIS_MNEMONIC_ADOX] = add_through<flag::OF>;
}

}  // namespace vireo
