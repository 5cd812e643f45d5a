// Segment selectors in 64-bit Linux user mode (user_segments.cpp).
#pragma once

#include <cstdint>

#include "interp/exec.h"

namespace vireo {

// Loads `sel` into segment register `seg` (mov sreg, pop fs/gs) after the checks the hardware
// makes against the GDT Linux gives every process; a bad selector raises #GP(selector).
void load_user_segment(Exec& x, uint8_t seg, uint16_t sel);

// jmp far / call far through memory; false if `in` is a near form.
bool far_jmp_call(Exec& x, const Insn& in);

}  // namespace vireo
