// FSGSBASE: rdfsbase, rdgsbase, wrfsbase, wrgsbase (SDM Vol. 2; Linux enables CR4.FSGSBASE for
// user space since 5.9, Documentation/arch/x86/x86_64/fsgs.rst).
//
// In user mode they are always available, as under Linux; in system mode only with
// CR4.FSGSBASE set, else #UD. A 64-bit write of a non-canonical base is #GP(0); the 32-bit
// forms read the low half and write a zero-extended value.
#include <Zydis/Mnemonic.h>

#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

constexpr uint64_t kCr4FsGsBase = 1u << 16;

void check_enabled(Exec& x) {
  if (x.sys && !(x.cpu->cr4 & kCr4FsGsBase)) x.raise_ud();
}

template <SegIndex seg>
void rdbase(Exec& x, const Insn& in) {
  check_enabled(x);
  x.write(in, in.op[0], x.cpu->seg[seg].base);
}

template <SegIndex seg>
void wrbase(Exec& x, const Insn& in) {
  check_enabled(x);
  uint64_t v = x.read(in, in.op[0]);
  if (uint64_t(int64_t(v << 16) >> 16) != v) x.raise_gp(0);  // 48-bit canonical form
  x.cpu->seg[seg].base = v;
}

}  // namespace

void register_fsgsbase(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_RDFSBASE] = rdbase<SEG_FS>;
  t[ZYDIS_MNEMONIC_RDGSBASE] = rdbase<SEG_GS>;
  t[ZYDIS_MNEMONIC_WRFSBASE] = wrbase<SEG_FS>;
  t[ZYDIS_MNEMONIC_WRGSBASE] = wrbase<SEG_GS>;
}

}  // namespace vireo
