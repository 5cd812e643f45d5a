// SGDT, SIDT, SLDT, STR and SMSW in user mode, as a Linux process sees them. On a CPU with
// UMIP (User-Mode Instruction Prevention) they #GP at CPL 3 and Linux emulates them
// (arch/x86/kernel/umip.c) with fixed values that leak no kernel address; without UMIP the
// hardware would store the real tables' addresses. Vireo gives every process the emulated
// results, measured on this UMIP host (tests/exactness umip):
//   SGDT/SIDT: limit 0, base 0xfffffffffffe0000 (GDT) / 0xffffffffffff0000 (IDT), 10 bytes
//              whatever the operand size;
//   SLDT: 0; STR: 0x40 (GDT_ENTRY_TSS); SMSW: CR0 = PE|MP|ET|NE|WP|AM|PG = 0x80050033;
//   a register destination gets the operand size's bytes only: Linux copies opnd_bytes into
//   pt_regs, so a 32-bit destination keeps its upper half (hardware would zero it);
//   a memory destination gets 2 bytes (10 for SGDT/SIDT), and a write that fails is
//   reported as a user write page fault at the operand's first byte.
#include <sys/mman.h>

#include <csetjmp>
#include <cstring>

#include <Zydis/Mnemonic.h>

#include "interp/dispatch.h"
#include "interp/exec.h"
#include "mem/address_space.h"

namespace vireo {

namespace {

constexpr uint64_t kDummyGdtBase = 0xfffffffffffe0000ull;
constexpr uint64_t kDummyIdtBase = 0xffffffffffff0000ull;
constexpr uint64_t kTssSelector = 0x40;
constexpr uint64_t kCr0 = 0x80050033;

// Linux's copy_to_user: either every byte is written or the signal names the first byte.
void emulated_store(Exec& x, uint64_t la, const void* data, unsigned n) {
  // Linux's insn_get_addr_ref() returns -1L for "no address": an operand at exactly
  // 0xffffffffffffffff is not emulated, and the UMIP #GP reaches the program (measured).
  if (la == ~uint64_t(0)) x.raise_gp(0);
  const bool ok = x.mem.contains(la, n) &&
                  (!x.mem.space || x.mem.space->is_mapped(la, n, PROT_WRITE));
  if (!ok) {
    x.cpu->fault = {VEC_PF, true, 6 /* user | write */, la, true, true};
    siglongjmp(x.scope->env, 2);
  }
  std::memcpy(x.host_ptr(la, n, true), data, n);
}

void write_register(Exec& x, const Operand& o, uint64_t v) {
  uint64_t& r = x.cpu->gpr[o.reg];
  const uint64_t mask = o.size == 8 ? ~0ull : (1ull << (8 * o.size)) - 1;
  r = (r & ~mask) | (v & mask);
}

template <uint64_t value>
void store_value(Exec& x, const Insn& in) {
  if (in.prefixes & pfx::LOCK) x.raise_ud();
  const Operand& o = in.op[0];
  if (o.kind == OpKind::Reg) return write_register(x, o, value);
  const uint16_t v = uint16_t(value);
  emulated_store(x, x.linear(in, o), &v, 2);
}

template <uint64_t base>
void store_table(Exec& x, const Insn& in) {
  if (in.prefixes & pfx::LOCK) x.raise_ud();
  uint8_t buf[10] = {};  // limit 0, then the 8-byte base
  const uint64_t b = base;
  std::memcpy(buf + 2, &b, 8);
  emulated_store(x, x.linear(in, in.op[0]), buf, sizeof buf);
}

}  // namespace

void register_user_umip(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_SGDT] = store_table<kDummyGdtBase>;
  t[ZYDIS_MNEMONIC_SIDT] = store_table<kDummyIdtBase>;
  t[ZYDIS_MNEMONIC_SLDT] = store_value<0>;
  t[ZYDIS_MNEMONIC_STR] = store_value<kTssSelector>;
  t[ZYDIS_MNEMONIC_SMSW] = store_value<kCr0>;
}

}  // namespace vireo
