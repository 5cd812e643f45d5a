// Comparing a native result with an engine result, and printing a self-contained reproducer.
#pragma once

#include <string>
#include <vector>

#include "state.h"

namespace vireo::difftest {

// What may legitimately differ: the flags the manual leaves undefined (as Zydis reports them
// per instruction, accumulated over a sequence), and the x87 condition codes likewise.
struct Masks {
  uint64_t flags = kFlagsCompared;
  uint16_t fsw = 0xFFFF;
  // The manual leaves the whole result undefined (SHLD/SHRD r16 with a count above 16): only
  // how the case ends is compared.
  bool result_undefined = false;
};

// Flags accounting for one instruction, from Zydis's access tables.
struct FlagInfo {
  uint64_t tested = 0, defined = 0, undefined = 0;  // defined: written with a defined value
  uint16_t fsw_undefined = 0;
  bool keeps_old_when_count_zero = false;            // shifts/rotates by a count
};
FlagInfo flag_info(const uint8_t* bytes, size_t len);

// Whether the manual leaves the destination undefined for this instruction; `rcx` is the
// count register's value if known (nullptr: assume the worst).
bool result_undefined(const uint8_t* code, size_t len, const uint64_t* rcx);

// Turns "a SIGILL from the ud2 terminator" into Completed.
void normalize(const Case& c, CaseResult& r);

// Differences between native and engine results under `m`, one line each; empty = match.
std::vector<std::string> compare(const Case& c, const CaseResult& native,
                                 const CaseResult& engine, const Masks& m);

// The reproducer: bytes, disassembly, input state, the differing fields, and the replay line.
void print_report(const char* title, const Case& c, const std::vector<std::string>& diffs,
                  bool show_xmm, bool show_x87, const std::string& replay);

}  // namespace vireo::difftest
