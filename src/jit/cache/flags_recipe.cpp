#include "cpu/flags.h"
#include "jit/cache/translated_block.h"

namespace vireo::jit {

namespace {
template <class T>
uint64_t eval_at(FlagsRecipe::Op op, T a, T b) {
  switch (op) {
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
  return uint8_t(1 + 4 * (op - FlagsRecipe::Add) + log2_size(size));
}

uint8_t lazy_incdec_code(FlagsRecipe::Op op, unsigned size) {
  return uint8_t(1 + 4 * (op - FlagsRecipe::Inc) + log2_size(size));
}

void settle_lazy_flags(CpuState& cpu) {
  if (cpu.lazy_flags_op) {
    unsigned k = cpu.lazy_flags_op - 1u;
    FlagsRecipe r;
    r.op = FlagsRecipe::Op(FlagsRecipe::Add + k / 4);
    r.size = uint8_t(1u << (k % 4));
    r.a = 0;
    r.b = 1;
    const uint64_t operands[2] = {cpu.lazy_flags_a, cpu.lazy_flags_b};
    cpu.rflags = (cpu.rflags & ~flag::ARITH) | (r.eval(operands) & flag::ARITH);
    cpu.lazy_flags_op = 0;
  }
  if (cpu.lazy_incdec_op) {
    unsigned k = cpu.lazy_incdec_op - 1u;
    FlagsRecipe r;
    r.op = FlagsRecipe::Op(FlagsRecipe::Inc + k / 4);
    r.size = uint8_t(1u << (k % 4));
    r.a = 0;
    constexpr uint64_t kKept = flag::ARITH & ~flag::CF;  // inc and dec leave CF alone
    cpu.rflags = (cpu.rflags & ~kKept) | (r.eval(&cpu.lazy_incdec_a) & kKept);
    cpu.lazy_incdec_op = 0;
  }
}

}  // namespace vireo::jit
