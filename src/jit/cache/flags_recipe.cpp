#include <type_traits>

#include "cpu/flags.h"
#include "jit/cache/translated_block.h"

namespace vireo::jit {

namespace {
// The arithmetic flags of the host's own shift of `a` by `count` (not 0), as translated code
// computes them (lahf and seto: pushfq would write below the stack pointer, the red zone).
template <class T>
uint64_t host_shift_flags(FlagsRecipe::Op op, T a, uint8_t count) {
  uint16_t ax;
  switch (op) {
    case FlagsRecipe::Shl: asm("shl %%cl, %1\n\tlahf\n\tseto %%al" : "=&a"(ax), "+q"(a) : "c"(count) : "cc"); break;
    case FlagsRecipe::Shr: asm("shr %%cl, %1\n\tlahf\n\tseto %%al" : "=&a"(ax), "+q"(a) : "c"(count) : "cc"); break;
    case FlagsRecipe::Sar: asm("sar %%cl, %1\n\tlahf\n\tseto %%al" : "=&a"(ax), "+q"(a) : "c"(count) : "cc"); break;
    case FlagsRecipe::Rol: asm("rol %%cl, %1\n\tlahf\n\tseto %%al" : "=&a"(ax), "+q"(a) : "c"(count) : "cc"); break;
    default: asm("ror %%cl, %1\n\tlahf\n\tseto %%al" : "=&a"(ax), "+q"(a) : "c"(count) : "cc"); break;
  }
  return (uint64_t(ax >> 8) & (flag::ARITH & ~flag::OF)) | ((ax & 0xFF) ? flag::OF : 0);
}

// imul's CF and OF (both set when the signed product does not fit the width: SDM Vol. 2,
// IMUL); the only flags it writes, all defined.
template <class T>
uint64_t imul_flags(T a, T b) {
  using S = std::make_signed_t<T>;
  S product;
  return __builtin_mul_overflow(S(a), S(b), &product) ? flag::CF | flag::OF : 0;
}

template <class T>
uint64_t eval_at(FlagsRecipe::Op op, T a, T b) {
  if (is_shift(op)) return host_shift_flags<T>(op, a, uint8_t(b));
  switch (op) {
    case FlagsRecipe::Imul: return imul_flags<T>(a, b);
    case FlagsRecipe::Add: return flags::add<T>(a, b, T(a + b));
    case FlagsRecipe::Sub: return flags::sub<T>(a, b, T(a - b));
    case FlagsRecipe::Logic: return flags::logic<T>(a);
    case FlagsRecipe::Inc: return flags::add<T>(a, 1, T(a + 1));  // (CF is masked off by the caller)
    case FlagsRecipe::Dec: return flags::sub<T>(a, 1, T(a - 1));
    default: return 0;
  }
}
}  // namespace

uint64_t FlagsRecipe::eval(const uint64_t* host_regs) const {
  uint64_t x = host_regs[a], y = b >= 0 ? host_regs[b] : imm;
  switch (size) {
    case 1: return eval_at<uint8_t>(op, uint8_t(x), uint8_t(y));
    case 2: return eval_at<uint16_t>(op, uint16_t(x), uint16_t(y));
    case 4: return eval_at<uint32_t>(op, uint32_t(x), uint32_t(y));
    default: return eval_at<uint64_t>(op, x, y);
  }
}

namespace {
unsigned log2_size(unsigned size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }
}  // namespace

uint8_t lazy_flags_code(FlagsRecipe::Op op, unsigned size) {
  if (is_shift(op)) return uint8_t(kLazyShiftFirst + 4 * (op - FlagsRecipe::Shl) + log2_size(size));
  return uint8_t(1 + 4 * (op - FlagsRecipe::Add) + log2_size(size));
}

uint8_t lazy_imul_code(unsigned size) { return uint8_t(kLazyImulFirst + log2_size(size)); }

uint8_t lazy_incdec_code(FlagsRecipe::Op op, unsigned size) {
  return uint8_t(1 + 4 * (op - FlagsRecipe::Inc) + log2_size(size));
}

namespace {
// rflags' bits `mask` = those of lazy operation `code` (1 + 4 * k + log2(size), the k-th
// operation from `first`) on `operands`.
void merge_lazy(CpuState& cpu, uint8_t code, FlagsRecipe::Op first, const uint64_t (&operands)[2],
                uint64_t mask) {
  unsigned k = code - 1u;
  if (first == FlagsRecipe::Add && code >= kLazyShiftFirst) {
    k = code - kLazyShiftFirst;
    first = FlagsRecipe::Shl;
  }
  FlagsRecipe r;
  r.op = FlagsRecipe::Op(first + k / 4);
  r.size = uint8_t(1u << (k % 4));
  r.a = 0;
  r.b = 1;
  cpu.rflags = (cpu.rflags & ~mask) | (r.eval(operands) & mask);
}
}  // namespace

uint8_t lazy_partial_code(uint64_t mask) {
  mask &= flag::ARITH;
  return mask == (flag::CF | flag::OF) ? kLazyPartialCfOf : mask == flag::CF ? kLazyPartialCf : 0;
}

uint64_t lazy_partial_mask(uint8_t code) {
  return code == kLazyPartialCfOf ? flag::CF | flag::OF : code == kLazyPartialCf ? flag::CF : 0;
}

void settle_lazy_flags(CpuState& cpu) {
  if (cpu.lazy_flags_op == kLazyFlagsValue) {
    cpu.rflags = (cpu.rflags & ~flag::ARITH) | (cpu.lazy_flags_a & flag::ARITH);
    cpu.lazy_flags_op = 0;
  } else if (cpu.lazy_flags_op) {
    merge_lazy(cpu, cpu.lazy_flags_op, FlagsRecipe::Add, {cpu.lazy_flags_a, cpu.lazy_flags_b}, flag::ARITH);
    cpu.lazy_flags_op = 0;
  }
  if (uint64_t m = lazy_partial_mask(cpu.lazy_incdec_op)) {  // over the first layer
    cpu.rflags = (cpu.rflags & ~m) | (cpu.lazy_incdec_a & m);
    cpu.lazy_incdec_op = 0;
  } else if (cpu.lazy_incdec_op >= kLazyImulFirst) {  // an imul: CF and OF over the first layer
    FlagsRecipe r;
    r.op = FlagsRecipe::Imul;
    r.size = uint8_t(1u << (cpu.lazy_incdec_op - kLazyImulFirst));
    r.a = 0;
    r.b = 1;
    const uint64_t operands[2] = {cpu.lazy_incdec_a, cpu.lazy_incdec_b};
    cpu.rflags = (cpu.rflags & ~(flag::CF | flag::OF)) | (r.eval(operands) & (flag::CF | flag::OF));
    cpu.lazy_incdec_op = 0;
  } else if (cpu.lazy_incdec_op) {  // over the first layer; inc and dec leave CF alone
    merge_lazy(cpu, cpu.lazy_incdec_op, FlagsRecipe::Inc, {cpu.lazy_incdec_a, 0}, flag::ARITH & ~flag::CF);
    cpu.lazy_incdec_op = 0;
  }
}

}  // namespace vireo::jit
