// Locked read-modify-write instructions, atomic with respect to other guest threads.
//
// Every family handler (alu, bit, atomic, move's xchg) computes a locked instruction as a load,
// some arithmetic and a store. With guest threads that is not enough: another thread's store
// between them would be lost, or, worse, overwritten with a stale value (a failing `lock
// cmpxchg` writes its operand back: a concurrent plain `mov [lock], 0` releasing a spinlock
// would be undone). So the handler runs against a private copy of its memory operand, taken
// with a locked access, and the result is committed with one host compare-and-swap of the
// whole operand; if another thread changed it in between, the registers and flags the
// handler wrote are put back and the instruction runs again. The handler convention (every
// access that can fault happens before any register is written, exec.h) keeps this exact:
// a fault leaves the CPU as it was, and nothing was committed.
//
// The host's locked instructions work on misaligned operands too (a split lock is slow but
// atomic), so an operand that straddles a cache line or a page is as indivisible as natively.
#include "interp/locked.h"

#include <Zydis/Mnemonic.h>

#include <cstring>

#include "interp/dispatch.h"
#include "interp/exec.h"

namespace vireo {

namespace {

// A locked no-op read of `size` bytes at `p`: a write cycle as on the hardware (a locked
// access to a read-only page faults as a write there too).
void locked_read(uint8_t* p, unsigned size, uint8_t* out) {
  switch (size) {
    case 1: { uint8_t v = __atomic_fetch_or(p, uint8_t(0), __ATOMIC_SEQ_CST); std::memcpy(out, &v, 1); break; }
    case 2: { uint16_t v = __atomic_fetch_or(reinterpret_cast<uint16_t*>(p), uint16_t(0), __ATOMIC_SEQ_CST); std::memcpy(out, &v, 2); break; }
    case 4: { uint32_t v = __atomic_fetch_or(reinterpret_cast<uint32_t*>(p), uint32_t(0), __ATOMIC_SEQ_CST); std::memcpy(out, &v, 4); break; }
    case 8: { uint64_t v = __atomic_fetch_or(reinterpret_cast<uint64_t*>(p), uint64_t(0), __ATOMIC_SEQ_CST); std::memcpy(out, &v, 8); break; }
    default: {  // 16: cmpxchg16b with 0 expected and 0 desired returns the value (aligned: checked by the handler's #GP first)
      uint64_t lo = 0, hi = 0;
      asm volatile("lock cmpxchg16b %2" : "+a"(lo), "+d"(hi), "+m"(*reinterpret_cast<unsigned __int128*>(p)) : "b"(0ull), "c"(0ull) : "cc", "memory");
      std::memcpy(out, &lo, 8);
      std::memcpy(out + 8, &hi, 8);
    }
  }
}

// Stores `desired` at `p` if it still holds `expected`, atomically.
bool compare_and_swap(uint8_t* p, unsigned size, const uint8_t* expected, const uint8_t* desired) {
  auto cas = [&]<class T>() {
    T e, d;
    std::memcpy(&e, expected, sizeof e);
    std::memcpy(&d, desired, sizeof d);
    return __atomic_compare_exchange_n(reinterpret_cast<T*>(p), &e, d, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  };
  switch (size) {
    case 1: return cas.operator()<uint8_t>();
    case 2: return cas.operator()<uint16_t>();
    case 4: return cas.operator()<uint32_t>();
    case 8: return cas.operator()<uint64_t>();
    default: {
      uint64_t elo, ehi, dlo, dhi;
      std::memcpy(&elo, expected, 8);
      std::memcpy(&ehi, expected + 8, 8);
      std::memcpy(&dlo, desired, 8);
      std::memcpy(&dhi, desired + 8, 8);
      bool ok;
      asm volatile("lock cmpxchg16b %1" : "=@ccz"(ok), "+m"(*reinterpret_cast<unsigned __int128*>(p)), "+a"(elo), "+d"(ehi)
                   : "b"(dlo), "c"(dhi) : "memory");
      return ok;
    }
  }
}

const Operand* memory_operand(const Insn& in) {
  for (unsigned i = 0; i < in.nops && i < 4; ++i)
    if (in.op[i].kind == OpKind::Mem) return &in.op[i];
  return nullptr;
}

void locked(Exec& x, const Insn& in) {
  const Operand* m = memory_operand(in);
  Handler fn = dispatch_table()[in.mnemonic];
  if (!m || x.sys) return fn(x, in);  // (no memory operand: the handler raises #UD)
  LockedAccess acc;
  acc.mem = x.mem;
  acc.size = m->size;
  Exec ax = x;
  ax.mem.limit = 0;  // every access takes Exec's slow path, which serves it from `acc`
  ax.locked = &acc;
  uint64_t gpr[16], rflags;
  for (;;) {
    std::memcpy(gpr, x.cpu->gpr, sizeof gpr);
    rflags = x.cpu->rflags;
    acc.active = false;
    fn(ax, in);
    if (!acc.active || compare_and_swap(acc.mem.base + acc.la, acc.size, acc.before, acc.after)) break;
    std::memcpy(x.cpu->gpr, gpr, sizeof gpr);  // another thread got in between: again
    x.cpu->rflags = rflags;
  }
  x.stop = ax.stop;
}

}  // namespace

uint8_t* LockedAccess::at(Exec& x, uint64_t la, unsigned n, bool write) {
  if (!active) {
    // The first access fixes the operand: the handler's own address computation (bt* with a
    // register bit offset addresses a word away from the operand) decides where it is.
    if (!mem.contains(la, size)) x.raise_pf(la, true);
    locked_read(mem.base + la, size, before);
    std::memcpy(after, before, size);
    active = true;
    this->la = la;
  }
  if (la < this->la || la + n > this->la + size) {
    // Not the locked operand (no locked instruction does this): a plain access.
    if (!mem.contains(la, n)) x.raise_pf(la, write);
    return mem.base + la;
  }
  return after + (la - this->la);
}

bool is_locked_rmw(const Insn& in) {
  // (The prefix and mnemonic first: the operand walk is for the few that can be.)
  return ((in.prefixes & pfx::LOCK) || in.mnemonic == ZYDIS_MNEMONIC_XCHG) && memory_operand(in);
}

Handler handler_for(const Insn& in) {
  return is_locked_rmw(in) ? &locked : dispatch_table()[in.mnemonic];
}

}  // namespace vireo
