// Instructions whose result only the host can give: rdrand and rdseed (the host's random
// number generator), rdpid (the processor id Linux keeps in IA32_TSC_AUX).
//
// The guest gets what the host instruction returns, carry flag included: a hardware generator
// that is momentarily out of entropy reports CF = 0 with a zero destination, and guests are
// written to retry (SDM Vol. 1, 7.3.17). A host without the instruction serves getrandom(2)
// and getcpu(2) instead.
#include <Zydis/Mnemonic.h>
#include <cpuid.h>
#include <sched.h>
#include <sys/random.h>

#include "cpu/flags.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/system/system_mode.h"

namespace vireo {

namespace {

bool host_leaf7(unsigned reg, uint32_t bit) {
  unsigned r[4];
  if (!__get_cpuid_count(7, 0, &r[0], &r[1], &r[2], &r[3])) return false;
  return r[reg] & bit;
}
bool host_rdrand() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 30));
}

// One value of `size` bytes and the carry flag, from the host instruction.
template <bool seed>
bool host_random(unsigned size, uint64_t& v) {
  static const bool have = seed ? host_leaf7(1, 1u << 18) : host_rdrand();
  if (!have) {
    v = 0;
    return getrandom(&v, size, 0) == ssize_t(size);
  }
  unsigned char ok;
  if (seed) asm volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
  else asm volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
  return ok;
}

// rdrand/rdseed r16/r32/r64: CF = a value was available; OF, SF, ZF, AF, PF cleared.
template <bool seed>
void random_value(Exec& x, const Insn& in) {
  uint64_t v;
  bool ok = host_random<seed>(in.op[0].size, v);
  x.write(in, in.op[0], ok ? v : 0);
  flags::set_arith(*x.cpu, ok ? flag::CF : 0);
}

// rdpid r64: IA32_TSC_AUX. Linux keeps (node << 12) | cpu there for user space (the same
// value its vDSO getcpu decodes); system mode reads the MSR the guest kernel wrote.
void rdpid(Exec& x, const Insn& in) {
  uint64_t v;
  if (x.sys) {
    v = x.sys->tsc_aux;
  } else {
    static const bool have = host_leaf7(2, 1u << 22);
    if (have) {
      asm volatile("rdpid %0" : "=r"(v));
    } else {
      unsigned cpu = 0, node = 0;
      getcpu(&cpu, &node);
      v = (uint64_t(node) << 12) | cpu;
    }
  }
  x.write(in, in.op[0], uint32_t(v));
}

}  // namespace

void register_host_values(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_RDRAND] = random_value<false>;
  t[ZYDIS_MNEMONIC_RDSEED] = random_value<true>;
  t[ZYDIS_MNEMONIC_RDPID] = rdpid;
}

}  // namespace vireo
