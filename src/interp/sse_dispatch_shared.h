// Zydis names the string instructions MOVSD/CMPSD (A5/A7 with a 32-bit operand size) and the
// SSE2 scalar-double MOVSD/CMPSD (F2 0F 10/11, F2 0F C2) with the same mnemonics, so only one
// handler can own each table entry: the string family does, and forwards the XMM/memory forms
// to these.
#pragma once

#include "cpu/insn.h"

namespace vireo {

struct Exec;

void sse_movsd(Exec&, const Insn&);
void sse_cmpsd(Exec&, const Insn&);

}  // namespace vireo
