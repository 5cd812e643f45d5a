// Known shapes: the decodes of the instruction shapes that programs' start-up code runs, made
// when Vireo was built and kept in its read-only data (known_shapes.inc, generated), so that a
// process's first instruction of such a shape is a copy (the decode memo's apply_template,
// cpu/decode_template.h) instead of a Zydis decode.
//
// Why: a short process decodes each of its instructions once, and the memo copies only shapes
// the process decoded before: hello world's ~5,100 decode misses made ~1,350 real decodes,
// ~1,700 host instructions each (1,306 of them Zydis's), a quarter of the instructions of an
// exec'd static program's whole run (issue 22, docs/performance-history.md, "Decoding, third pass" and
// "Start-up, sixteenth pass"). The start-up code of static and dynamic glibc programs, busybox
// and ld.so has the same few thousand shapes in every process.
//
// Each entry is the decode of its shape's bytes followed by zeros at kKnownShapeRip, exactly as
// Decoder::decode gives it but for `fn` (null: the caller's handler_for); the shapes most
// programs decode come first (a short process's look-ups then map the table's first pages
// only), and a look-up goes through an index by the shape's memo hash (shape_hash) made at
// compile time. tests/unit/interp_known_shapes_test.cpp checks every entry against
// the decoder (a table made by another Zydis or another decoder fails it);
// tools/gen_known_shapes.cpp regenerates the table (docs/interp.md, "The decode memo").
// Shapes whose decode depends on the host (0F 0D with a register operand, F3 90 with REX.B:
// cpu/decoder.cpp) are never in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cpu/insn.h"

namespace vireo {

inline constexpr uint64_t kKnownShapeRip = 0x10000;

// The table (its entries' hashes are shape_hash of their bytes).
std::span<const Insn> known_shapes();

// The known decode of the shape of the `shape` bytes in w0 and w1 (the first two 8-byte words
// of an instruction, little-endian), whose shape_hash is `hash`; null if it is not known.
const Insn* known_shape(uint64_t w0, uint64_t w1, unsigned shape, uint64_t hash);

// Whether the decode of a shape may be in the table (its decode is the same on every host).
bool may_be_known_shape(const Insn& in);

}  // namespace vireo
