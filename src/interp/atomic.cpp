// Atomic read-modify-write instructions: cmpxchg, cmpxchg8b, cmpxchg16b, xadd.
//
// These handlers compute as plain load/compute/store; with LOCK (and xchg with memory), the
// engines run them through interp/locked.cpp, which makes the whole access one host atomic
// with respect to other guest threads (the ALU and bit families rely on the same wrapper).
//
// A memory destination is always written, even when the comparison fails (SDM Vol. 2,
// CMPXCHG: "the destination operand is written back if the comparison fails"), so a
// read-only destination faults like on hardware.
#include <Zydis/Mnemonic.h>

#include "cpu/flags.h"
#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

// LOCK is only legal with a memory destination (SDM Vol. 2, LOCK): #UD otherwise.
void check_lock(Exec& x, const Insn& in) {
  if ((in.prefixes & pfx::LOCK) && in.op[0].kind != OpKind::Mem) x.raise_ud();
}

// cmpxchg r/m, r: flags as `cmp accumulator, dest`. With a register destination the failing
// case writes only the accumulator, as the host CPU (AMD) does: the destination register
// keeps its upper half.
void cmpxchg(Exec& x, const Insn& in) {
  check_lock(x, in);
  const Operand& d = in.op[0];
  by_size(d.size, [&]<class T>() {
    T acc = T(x.gpr(RAX));
    T src = T(x.read(in, in.op[1]));
    uint64_t la = 0;
    T old;
    if (d.kind == OpKind::Mem) {
      la = x.linear(in, d);
      old = x.load<T>(la);
    } else {
      old = T(x.read(in, d));
    }
    uint64_t f = flags::sub<T>(acc, old, T(acc - old));
    if (acc == old) {
      if (d.kind == OpKind::Mem) x.store<T>(la, src);
      else x.write(in, d, src);
    } else {
      if (d.kind == OpKind::Mem) x.store<T>(la, old);  // the locked write-back
      x.set_gpr(RAX, sizeof(T), old);
    }
    flags::set_arith(*x.cpu, f);
  });
}

// cmpxchg8b m64 / cmpxchg16b m128: compare EDX:EAX (RDX:RAX) with memory; on a match store
// ECX:EBX (RCX:RBX) and set ZF, else load memory into EDX:EAX and clear ZF. Other flags are
// unaffected. cmpxchg16b requires a 16-byte aligned operand (#GP(0) otherwise).
void cmpxchg8b_16b(Exec& x, const Insn& in) {
  const Operand& d = in.op[0];
  if (d.kind != OpKind::Mem) x.raise_ud();
  uint64_t la = x.linear(in, d);
  if (d.size == 16) {
    if (la & 15) x.raise_gp(0);
    uint64_t lo = x.load<uint64_t>(la), hi = x.load<uint64_t>(la + 8);
    bool eq = lo == x.gpr(RAX) && hi == x.gpr(RDX);
    uint64_t nlo = eq ? x.gpr(RBX) : lo, nhi = eq ? x.gpr(RCX) : hi;
    // An aligned 16-byte operand lies within one page, so the two stores cannot fault apart.
    x.store<uint64_t>(la + 8, nhi);
    x.store<uint64_t>(la, nlo);
    if (!eq) {
      x.set_gpr(RAX, 8, lo);
      x.set_gpr(RDX, 8, hi);
    }
    flags::set_arith(*x.cpu, eq ? flag::ZF : 0, flag::ZF);
    return;
  }
  uint64_t m = x.load<uint64_t>(la);
  uint64_t cmp = (x.gpr(RDX) << 32) | uint32_t(x.gpr(RAX));
  bool eq = m == cmp;
  x.store<uint64_t>(la, eq ? ((x.gpr(RCX) << 32) | uint32_t(x.gpr(RBX))) : m);
  if (!eq) {
    x.set_gpr(RAX, 4, uint32_t(m));
    x.set_gpr(RDX, 4, m >> 32);
  }
  flags::set_arith(*x.cpu, eq ? flag::ZF : 0, flag::ZF);
}

// xadd r/m, r: dest = dest + src, src = old dest; flags as add. The source register is written
// first so that `xadd rax, rax` ends with the sum.
void xadd(Exec& x, const Insn& in) {
  check_lock(x, in);
  const Operand& d = in.op[0];
  by_size(d.size, [&]<class T>() {
    T a = T(x.read(in, d));
    T b = T(x.read(in, in.op[1]));
    T r = T(a + b);
    if (d.kind == OpKind::Mem) x.write(in, d, r);  // memory first: it may fault
    x.write(in, in.op[1], a);
    if (d.kind != OpKind::Mem) x.write(in, d, r);
    flags::set_arith(*x.cpu, flags::add<T>(a, b, r));
  });
}

}  // namespace

void register_atomic(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_CMPXCHG] = cmpxchg;
  t[ZYDIS_MNEMONIC_CMPXCHG8B] = cmpxchg8b_16b;
  t[ZYDIS_MNEMONIC_CMPXCHG16B] = cmpxchg8b_16b;
  t[ZYDIS_MNEMONIC_XADD] = xadd;
}

}  // namespace vireo
