// faults_predictably(): the instances --avoid-faults keeps out of sequences (forms.h).
#include "forms.h"

namespace vireo::difftest {

bool faults_predictably(const uint8_t* code, size_t len, uint64_t rip) {
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, len, &in, ops))) return false;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_DIV:
    case ZYDIS_MNEMONIC_IDIV:
      // The divisor is whatever the earlier instructions left: #DE about half the time.
      return true;
    case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS:
    case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
      // A register bit offset addresses up to 2^60 bytes away from the operand (SDM Vol. 2,
      // BT: "bit string"), far outside the scratch page.
      return ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER;
    default:
      break;
  }
  // Legacy-SSE 16-byte operands and CMPXCHG16B must be 16-byte aligned (#GP otherwise,
  // SDM Vol. 1, 4.1.1); MOVUPS and friends need not be, but are kept out too for simplicity.
  for (unsigned i = 0; i < in.operand_count_visible; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY || op.size != 128) continue;
    uint64_t addr = 0;
    if (op.mem.base == ZYDIS_REGISTER_RIP) {
      if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &op, rip, &addr))) return true;
    } else {
      addr = kSeqBaseValue + uint64_t(op.mem.disp.value);  // sequences address through R15 only
    }
    if (addr % 16) return true;
  }
  return false;
}

}  // namespace vireo::difftest
