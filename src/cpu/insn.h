// Insn: a decoded guest instruction in the compact form the engines execute.
//
// Zydis decodes; this is what we keep of its answer in the decoded-instruction cache, so that
// hot code is not decoded again (design.md, "The three engines": interp). The visible operands
// are kept (those the assembly text shows); each handler knows its hidden ones.
#pragma once

#include <cstdint>

namespace vireo {

enum class OpKind : uint8_t { None, Reg, Mem, Imm };

enum class RegClass : uint8_t {
  Gpr,      // RAX..R15 at any width except the legacy high bytes
  GprHigh,  // AH, CH, DH, BH (index 0..3 = the register whose byte 1 they name)
  Xmm,
  Mmx,
  St,       // x87 ST(i)
  Seg,      // ES..GS
  Cr,
  Dr,
  Other,
};

inline constexpr uint8_t kNoReg = 0xFF;

struct Operand {
  OpKind kind;
  uint8_t size;       // bytes accessed (register width, memory width or immediate width)
  RegClass rclass;    // Reg
  uint8_t reg;        // Reg: index within its class
  // Mem: linear = seg_base + (base + index*scale + disp) truncated to the address size.
  // RIP-relative operands are resolved at decode time into an absolute disp.
  uint8_t seg;        // SegIndex, or kNoReg for "no segment override that has a base"
  uint8_t base;       // GPR index or kNoReg
  uint8_t index;      // GPR index or kNoReg
  uint8_t scale;      // 1, 2, 4, 8
  int64_t disp;       // Mem: displacement; Imm: the immediate, sign-extended to 64 bits
};

inline constexpr uint8_t kRipOpsFixed = 0x80;

struct Insn;
struct Exec;
using Handler = void (*)(Exec&, const Insn&);

// Prefix bits (Insn::prefixes).
namespace pfx {
inline constexpr uint8_t REP = 1;    // F3 (rep / repe / repz)
inline constexpr uint8_t REPNE = 2;  // F2 (repne / repnz)
inline constexpr uint8_t LOCK = 4;
inline constexpr uint8_t REX_W = 8;
// Not a prefix: the instruction may complete with rip elsewhere than at the next instruction
// (a jump, call, return, jcc, loop, jrcxz, system call, interrupt or its return, and a rep
// string instruction, which leaves rip on itself when it yields between iterations). Set by
// the decoder from the opcode alone (so the decode memo's templates carry it). The
// interpreter's tier loop looks for a block head (rip not the fall-through) only after these.
inline constexpr uint8_t MAY_BRANCH = 16;
}  // namespace pfx

struct Insn {
  Handler fn;
  uint16_t mnemonic;   // ZydisMnemonic
  uint8_t len;         // instruction length in bytes
  uint8_t opsize;      // operand size in bytes (Zydis operand_width / 8)
  uint8_t addrsize;    // address size in bytes
  uint8_t nops;        // visible operand count
  uint8_t prefixes;    // pfx bits (and pfx::MAY_BRANCH)
  uint8_t cc;          // condition code 0..15 for jcc/setcc/cmovcc (SDM Vol. 1, B.1)
  uint8_t opcode;      // the last opcode byte (distinguishes forms of one mnemonic)
  uint8_t map;         // opcode map: 0 = one-byte, 1 = 0F, 2 = 0F38, 3 = 0F3A
  uint8_t bytes[15];   // raw bytes, used to check a cached entry still matches memory
  // Which operands' `disp` the decoder computed from the instruction's address (bit i: op[i],
  // a RIP-relative memory operand or a relative branch target), so that the decode of the
  // same bytes at another address is this one with those moved (interp's decode memo);
  // kRipOpsFixed: one of them cannot be moved (EIP-relative: truncated to 32 bits).
  uint8_t rip_ops;
  // The layout of the instruction's bytes, for the decode memo (cpu/decode_template.h): the
  // first `shape_len` bytes (prefixes, opcode, ModRM, SIB) decide everything but the values
  // of the displacement and immediates that follow them, so the decode of other bytes with
  // the same shape is this one with those values read again. 0: not usable so (an operand
  // taken from an immediate's bits, 3DNow!'s opcode after its operands, EIP-relative).
  // (In what was padding before op[]: an Insn is still 104 bytes.)
  uint8_t shape_len;
  uint8_t disp_len;     // displacement bytes after the shape: 0, 1, 2, 4 or 8
  uint8_t imm_len[2];   // the immediates' bytes after it (enter, extrq: two)
  uint8_t imm_signed;   // bit k: immediate k is sign-extended
  uint8_t op_src;       // 2 bits per operand: where its disp comes from (kSrc*)
  Operand op[4];
};
static_assert(sizeof(Insn) == 104, "the decode cache's entries are 128 bytes");

// Insn::op_src's values: the operand's disp is kept, or read from the displacement or an
// immediate (and moved by the instruction's end address when its rip_ops bit is set).
inline constexpr uint8_t kSrcKept = 0, kSrcDisp = 1, kSrcImm0 = 2, kSrcImm1 = 3;

}  // namespace vireo
