// x87 on the host x87: the shared machinery of the x87 family files.
//
// The guest's x87 registers are 80-bit extended values, and the host is an x86-64 with the very
// same FPU, so the exact reference for every arithmetic, transcendental, conversion and compare
// instruction is the host executing that instruction on the guest's state. x87_native() loads
// the guest FPU state into the host FPU (FXRSTOR), executes one host copy of the guest
// instruction, and reads the state back (FXSAVE); the host's own FPU state is saved around it.
// Precision control, rounding control, C0-C3, the C1 round-up/stack-fault indicator, stack
// overflow/underflow, tags, denormal/unnormal handling and the unmasked-exception responses
// (destination left unchanged, no pop) are thereby bit-identical to native.
//
// The family files keep what is the guest's and not the host's: FIP/FDP/FOP, sticky exception
// flags, guest memory operands (copied through a small host buffer so that a guest page fault
// never interrupts the host FPU swap) and delayed #MF delivery.
#pragma once

#include <cstdint>

#include "cpu/cpu_state.h"
#include "cpu/insn.h"
#include "interp/dispatch.h"

namespace vireo {

struct Exec;

namespace x87 {

// FSW bits (SDM Vol. 1, 8.1.3).
inline constexpr uint16_t IE = 1u << 0, DE = 1u << 1, ZE = 1u << 2, OE = 1u << 3,
                          UE = 1u << 4, PE = 1u << 5, SF = 1u << 6, ES = 1u << 7,
                          C0 = 1u << 8, C1 = 1u << 9, C2 = 1u << 10, C3 = 1u << 14,
                          B = 1u << 15;
inline constexpr uint16_t EXC_MASK = 0x3F;   // IE..PE, also the FCW mask bits
inline constexpr uint16_t STICKY = 0x7F;     // IE..PE and SF
inline constexpr uint16_t TOP_MASK = 7u << 11;

// The escape opcode (D8..DF) and ModR/M byte of an x87 instruction, found in its raw bytes.
struct Encoding {
  uint8_t esc;
  uint8_t modrm;
  bool is_mem() const { return modrm < 0xC0; }
  uint8_t reg() const { return (modrm >> 3) & 7; }
  // FOP: the low three bits of the escape byte and the ModR/M byte (SDM Vol. 1, 8.1.8).
  uint16_t fop() const { return uint16_t(((esc & 7) << 8) | modrm); }
};
Encoding encoding(const Insn& in);

// Index of the host stub for an encoding: register forms execute their own two bytes; memory
// forms execute the same escape and /reg with the operand at [rdi].
unsigned stub_index(Encoding e);

// Runs host stub `stub` on state `s` (updated in place: FSW, TOP, tags, registers; FCW is the
// guest's, used as is). `mem` is the host buffer a memory form addresses; `rflags` carries the
// guest's arithmetic flags in (FCMOVcc) and out (FCOMI family). Returns the exception flags
// (IE..PE, SF) this instruction raised; the guest's earlier sticky flags are kept in s.fsw.
uint16_t run_native(X87State& s, unsigned stub, void* mem, uint64_t& rflags);

// FSW as software sees it (FNSTSW, FXSAVE): TOP merged into bits 11..13.
inline uint16_t status_word(const X87State& s) {
  return uint16_t((s.fsw & ~TOP_MASK) | (s.top << 11));
}
// Loads a software-visible FSW: TOP out of it. ES and B are recomputed from the unmasked
// exceptions, so that an exception unmasked by FLDCW/FLDENV is delivered by the next waiting
// instruction (SDM Vol. 1, 8.6: "pending" means ES set).
void set_status_word(X87State& s, uint16_t fsw);
void update_es(X87State& s);

// Full 2-bit tag of physical register i (SDM Vol. 1, 8.1.7): 00 valid, 01 zero, 10 special,
// 11 empty. FXSAVE keeps only the empty bit; FNSTENV/FNSAVE store the full word.
unsigned full_tag(const X87State& s, unsigned phys);
uint16_t full_tag_word(const X87State& s);

// Waiting x87 instructions first deliver a pending unmasked exception as #MF (SDM Vol. 1,
// 8.6). The N-forms (FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE) do not wait.
void check_pending(Exec& x);

// The FXSAVE image outside of FXSAVE/FXRSTOR (e.g. a signal frame's fpstate): bytes
// 0..kStateBytes-1 of the 512-byte layout; ptr64 selects the REX.W form of FIP/FDP. Reading
// fails (returns false, nothing changed) when the image sets MXCSR bits outside MXCSR_MASK.
// Bytes 416..511 are reserved or available to software: FXSAVE leaves them unwritten, as the
// host does.
inline constexpr unsigned kStateBytes = 416;
void write_fxsave_image(const CpuState& c, uint8_t* img, bool ptr64);
bool read_fxsave_image(CpuState& c, const uint8_t* img, bool ptr64);

void register_control(DispatchTable& t);  // x87_control.cpp
void register_fxsave(DispatchTable& t);   // fxsave.cpp

}  // namespace x87
}  // namespace vireo
