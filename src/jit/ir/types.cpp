#include "jit/ir/types.h"

#include <array>
#include <cstddef>

namespace vireo::jit::ir {

const char* type_name(Type t) {
  static const char* names[] = {"void", "u1", "u8", "u16", "u32", "u64", "u128", "imm"};
  return names[static_cast<int>(t)];
}

namespace {
using enum Type;

template <class... A>
constexpr OpcodeInfo make(const char* name, Type ret, A... args) {
  return OpcodeInfo{name, ret, uint8_t(sizeof...(A)), {args...}};
}

constexpr std::array<OpcodeInfo, size_t(Opcode::Count)> kInfo = {
#define OPCODE(name, ret, ...) make(#name, ret __VA_OPT__(, ) __VA_ARGS__),
#include "jit/ir/opcodes.inc"
#undef OPCODE
};
}  // namespace

const OpcodeInfo& info(Opcode op) { return kInfo[size_t(op)]; }

}  // namespace vireo::jit::ir
