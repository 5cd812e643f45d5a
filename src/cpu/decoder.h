// Decoder: guest bytes -> Insn, through Zydis.
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cpu/insn.h"

namespace vireo {

enum class CpuMode : uint8_t { Long64, Protected32, Real16 };

class Decoder {
 public:
  explicit Decoder(CpuMode mode = CpuMode::Long64);

  // Decodes the instruction at `bytes` (at most `avail` bytes readable) located at guest
  // address `rip`. Returns false when the bytes are not a valid instruction.
  bool decode(const uint8_t* bytes, size_t avail, uint64_t rip, Insn& out) const;

  // Zydis's full decode, for callers that need more than Insn keeps (disassembly, difftest).
  bool decode_full(const uint8_t* bytes, size_t avail, ZydisDecodedInstruction& insn,
                   ZydisDecodedOperand* operands) const;

 private:
  static void set_layout(const ZydisDecodedInstruction& zi, bool shaped, uint8_t op_src,
                         const uint8_t* bytes, uint64_t rip, Insn& out);
  ZydisDecoder decoder_;
  ZydisDecoder no_mpx_;  // for 0F 1A / 0F 1B only (decoder.cpp, hint NOPs)
};

// Intel-syntax disassembly of one instruction ("add rax, 0x10"), or "(bad)".
std::string disassemble(const uint8_t* bytes, size_t avail, uint64_t rip,
                        CpuMode mode = CpuMode::Long64);

// "0f 0b" style hex of `len` bytes.
std::string hex_bytes(const uint8_t* bytes, size_t len);

}  // namespace vireo
