// Frontend, SSE4.2's crc32 (mirrors crc32 in src/interp/sse_int_ext.cpp): CRC-32C of 1, 2, 4
// or 8 source bytes folded into a general register. The host's own instruction where it has
// SSE4.2 (checked once: CPUID traps in a VM), else the interpreter's bit loop. CRC-32C
// checksums (iSCSI, ext4 and btrfs metadata, leveldb/rocksdb blocks) run it once per 8 bytes
// of data; none of the programs of docs/performance.md's survey did. Flags untouched.
#include <Zydis/Mnemonic.h>
#include <sys/platform/x86.h>

#include "jit/frontend/translator.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

bool crc32(Translator& t, const Insn& in) {
  static const bool host_sse42 = CPU_FEATURE_ACTIVE(SSE4_2);
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (!host_sse42 || in.nops < 2 || d.kind != OpKind::Reg || d.rclass != RegClass::Gpr ||
      (d.size != 4 && d.size != 8))
    return false;
  if (s.kind == OpKind::Imm || !Translator::is_integer_operand(s)) return false;  // (ah..bh too)
  const unsigned size = s.size;
  if (size != 1 && size != 2 && size != 4 && size != 8) return false;
  Value data = t.read(s, size);
  Value acc = t.read(d, 4);
  t.write(d, d.size, t.ir.emit(Opcode::Crc32, {Arg::imm(size), Arg::val(acc), Arg::val(data)}));
  return true;
}

}  // namespace

void register_frontend_crc32(FrontendTable& t) { t[ZYDIS_MNEMONIC_CRC32] = crc32; }

}  // namespace vireo::jit
