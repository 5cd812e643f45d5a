// IR value types and the opcode enum generated from opcodes.inc.
#pragma once

#include <cstdint>

namespace vireo::jit::ir {

enum class Type : uint8_t { Void, U1, U8, U16, U32, U64, U128, Imm };

const char* type_name(Type t);

enum class Opcode : uint16_t {
#define OPCODE(name, ret, ...) name,
#include "jit/ir/opcodes.inc"
#undef OPCODE
  Count
};

struct OpcodeInfo {
  const char* name;
  Type result;
  uint8_t nargs;
  Type args[4];
};

const OpcodeInfo& info(Opcode op);

}  // namespace vireo::jit::ir
