// CpuState: the architectural state of one x86-64 CPU, shared by every engine and platform.
//
// A plain standard-layout struct (no virtuals, no owning members) so that the JIT can address
// fields by offsetof() and KVM state can be copied in and out field by field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace vireo {

// GPR indices in the x86 encoding order.
enum Gpr : uint8_t {
  RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
};

// Segment register indices in the x86 encoding order (ES=0 ... GS=5).
enum SegIndex : uint8_t { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

// RFLAGS bits (SDM Vol. 1, 3.4.3).
namespace flag {
inline constexpr uint64_t CF = 1u << 0;
inline constexpr uint64_t FIXED1 = 1u << 1;  // always reads as 1
inline constexpr uint64_t PF = 1u << 2;
inline constexpr uint64_t AF = 1u << 4;
inline constexpr uint64_t ZF = 1u << 6;
inline constexpr uint64_t SF = 1u << 7;
inline constexpr uint64_t TF = 1u << 8;
inline constexpr uint64_t IF = 1u << 9;
inline constexpr uint64_t DF = 1u << 10;
inline constexpr uint64_t OF = 1u << 11;
inline constexpr uint64_t IOPL = 3u << 12;
inline constexpr uint64_t NT = 1u << 14;
inline constexpr uint64_t RF = 1u << 16;
inline constexpr uint64_t VM = 1u << 17;
inline constexpr uint64_t AC = 1u << 18;
inline constexpr uint64_t VIF = 1u << 19;
inline constexpr uint64_t VIP = 1u << 20;
inline constexpr uint64_t ID = 1u << 21;
// The six arithmetic status flags.
inline constexpr uint64_t ARITH = CF | PF | AF | ZF | SF | OF;
}  // namespace flag

union alignas(16) Xmm {
  uint8_t u8[16];
  uint16_t u16[8];
  uint32_t u32[4];
  uint64_t u64[2];
  int8_t i8[16];
  int16_t i16[8];
  int32_t i32[4];
  int64_t i64[2];
  float f32[4];
  double f64[2];
};
static_assert(sizeof(Xmm) == 16);

// A segment register with its hidden descriptor cache (SDM Vol. 3, 3.4.3).
struct Segment {
  uint16_t selector;
  uint16_t attrib;  // descriptor bits 40..47 (type,S,DPL,P) and 52..55 (AVL,L,D/B,G) as 12 bits
  uint32_t limit;   // byte-granular limit after G scaling
  uint64_t base;
};

// A descriptor-table register (GDTR/IDTR).
struct DescTable {
  uint64_t base;
  uint16_t limit;
};

// x87 FPU state. Registers are held as host long double (80-bit extended on x86-64), which
// gives exactly the x87 precision; tags are kept as the abridged per-register "empty" bits.
struct X87State {
  long double st[8];  // physical registers R0..R7; ST(i) = st[(top + i) & 7]
  uint16_t fcw;       // control word
  uint16_t fsw;       // status word without TOP (TOP lives in `top`)
  uint8_t top;        // stack top, 0..7
  uint8_t tag_empty;  // bit i set => physical register i is empty
  uint16_t fop;       // last non-control opcode
  uint64_t fip, fdp;  // last instruction / data pointer
  uint16_t fcs, fds;  // their selectors (0 after FNINIT; FNSTENV/FNSAVE store them)

  // The state FNINIT leaves (SDM Vol. 2, FINIT): FCW 037FH, FSW 0, all tags empty, pointers
  // and FOP cleared; the registers keep their contents.
  void reset() {
    fcw = 0x37F;
    fsw = 0;
    top = 0;
    tag_empty = 0xFF;
    fop = 0;
    fip = fdp = 0;
    fcs = fds = 0;
  }
};

// Why an engine returned control to the platform.
enum class StopReason : uint8_t {
  None,
  Syscall,      // SYSCALL executed (user mode); RIP already points past it
  Fault,        // a guest exception the engine does not deliver itself (see CpuState::fault)
  Hlt,          // HLT executed
  PortIo,       // IN/OUT that the platform must serve (system mode)
  ExitRequest,  // CpuState::exit_request was set (signal pending, stop requested, ...)
  InstructionLimit,
  Debug,        // a debugger's breakpoint, watchpoint or single-step (cpu/debug_target.h)
};

// x86 exception vectors (SDM Vol. 3, 6.3.1).
enum Vector : uint8_t {
  VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
  VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14,
  VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19,
};

// A guest exception raised by an engine, described the way the hardware reports it.
struct FaultInfo {
  uint8_t vector;       // Vector
  bool has_error_code;
  uint32_t error_code;
  uint64_t address;     // CR2-like faulting linear address for #PF; 0 otherwise
  bool is_write;        // for #PF in user mode: the access was a write
  // User mode: a fault Linux raises itself while emulating an instruction (UMIP's
  // copy_to_user): reported exactly as given, SEGV_MAPERR, never reclassified by the MMU.
  bool emulated = false;
};

struct CpuState {
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;  // architectural RFLAGS, kept exact after every instruction

  Segment seg[SEG_COUNT];
  // In 64-bit mode only FS and GS have non-zero bases; they live in seg[SEG_FS/GS].base.

  Xmm xmm[16];
  uint32_t mxcsr;
  X87State x87;

  // System state (used by system mode; user mode leaves these at their reset values).
  uint64_t cr0, cr2, cr3, cr4, cr8;
  uint64_t efer;
  uint64_t kernel_gs_base;
  uint64_t star, lstar, cstar, sfmask;
  DescTable gdtr, idtr;
  Segment ldtr, tr;
  uint64_t tsc_offset;
  uint64_t apic_base;
  uint64_t pat;
  uint64_t sysenter_cs, sysenter_esp, sysenter_eip;

  // --- Engine/platform communication (not architectural) ---
  // Set asynchronously (signal handler, another thread) to make the engine stop at the next
  // check (instruction boundary for interp, block entry for jit).
  volatile uint32_t exit_request;
  FaultInfo fault;           // valid when an engine returns StopReason::Fault
  uint64_t insn_count;       // guest instructions retired
  // jit only: the arithmetic flags of the last flag operation of a translated block, not yet
  // merged into rflags (QEMU's cc_op): an operation code (0: none) and its operands. The jit
  // merges them before anything outside translated code reads rflags.
  // Two layers: lazy_flags_* sets all six arithmetic flags; lazy_incdec_* (an inc or dec
  // after it) then sets all but CF, which stays the lower layer's (or rflags'; an imul or a
  // flags value there sets only CF and OF, or CF: jit/cache/translated_block.h).
  uint8_t lazy_flags_op;
  uint8_t lazy_incdec_op;  // right after lazy_flags_op: one 16-bit compare tests both
  uint64_t lazy_flags_a, lazy_flags_b;
  uint64_t lazy_incdec_a;  // the inc/dec operand (before the operation)
  uint64_t lazy_incdec_b;  // an imul's second operand (the second layer's imul codes)
  // jit only: where a translated block keeps values its host registers cannot hold.
  uint64_t jit_spill[16];
  // Port I/O request, valid when an engine returns StopReason::PortIo.
  struct {
    uint16_t port;
    uint8_t size;   // 1, 2, 4
    bool is_in;
    uint32_t value; // for OUT: the value written; for IN: the platform writes the result here
  } io;

  // --- Extended state (appended: the fields above keep their offsets) ---
  // Bits 255:128 of YMM0..YMM15 (the XSAVE AVX component, SDM Vol. 1, 13.5.3); bits 127:0
  // are xmm[]. Legacy SSE instructions leave these alone; VEX.128 instructions zero them.
  Xmm ymm_hi[16];
  // XCR0: the state components enabled for XSAVE (bit 0 x87, bit 1 SSE, bit 2 AVX). User mode
  // starts with every component Vireo supports, as Linux enables them.
  uint64_t xcr0;
};

static_assert(std::is_standard_layout_v<CpuState>);

// The register state Linux gives a new process (x86-64 ABI): MXCSR 0x1F80, FCW 0x37F.
void reset_user_state(CpuState& cpu);

// The registers a machine-stop message shows (triple fault, failed entry): GPRs, rip,
// rflags, control registers, segments and descriptor tables, one group per line.
std::string format_registers(const CpuState& c);

// Helper accessors for FS/GS base, used by arch_prctl and the engines.
inline uint64_t& fs_base(CpuState& c) { return c.seg[SEG_FS].base; }
inline uint64_t& gs_base(CpuState& c) { return c.seg[SEG_GS].base; }

// A 48-bit linear address is canonical when bits 63..47 all equal bit 47 (SDM Vol. 1, 3.3.7.1).
inline bool is_canonical(uint64_t a) { return uint64_t(int64_t(a << 16) >> 16) == a; }

}  // namespace vireo
