// The translator's own decodes, of the instructions the interpreter tier's decode cache does
// not hold (--translate-after 0, code the tier did not run or has let go): by pc, checked
// against the bytes as the tier's cache is, and by shape (cpu/decode_template.h), as the
// tier's decode memo copies them.
//
// Translations decode some instructions more than once: reaches_return walks a callee's path
// before translate_block translates it, may_lead_back the paths of several side exits that
// often meet, a block translated again (a retry, a block that ends where another starts)
// the same code. Those were Zydis calls (~1 us each in python's and cc1's start-up) for
// instructions decoded a moment before, and most of the others are shapes decoded before at
// other addresses (`call rel32`, `mov reg, [rbp+d]`), which a template copies in a fraction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "cpu/insn.h"

namespace vireo {
class Decoder;
}

namespace vireo::jit {

// Zydis for long mode: the translator's one (TranslationDecodes' last resort, after_call's
// look behind a block).
const Decoder& long_mode_decoder();

class TranslationDecodes {
 public:
  TranslationDecodes();
  // The decode of the `got` bytes at `bytes` (1..15, readable) at guest address `pc`: the one
  // made at `pc` before if it was of the same bytes, else a template's, else Zydis's. False
  // where Zydis finds no instruction. The same Insn as Decoder::decode of those bytes at `pc`
  // (fn null: the engine sets a fallback's handler).
  bool decode(const uint8_t* bytes, size_t got, uint64_t pc, Insn& in);

  // Counts, for the tests: decodes served by pc, by a shape, and Zydis calls.
  uint64_t same_pc() const { return same_pc_; }
  uint64_t same_shape() const { return same_shape_; }
  uint64_t zydis() const { return zydis_; }

  // This thread's.
  static TranslationDecodes& of_thread();

 private:
  // By a hash of the pc, one slot each: 512 decodes (52 KB), and their pcs apart (4 KB), which
  // a lookup reads first: most lookups miss, and the decodes are cold by the next translation
  // (cc1: a cache miss per lookup was most of this class's time).
  static constexpr size_t kSlots = 512;
  // 4,096 templates, 512 KB (zero pages until used: a process that translates little touches
  // little of it): Zydis calls of cc1's translations 13,000 with 1,024, 7,400 with 4,096.
  static constexpr size_t kTemplates = 4096;
  const Insn* find_template(const uint8_t* buf, size_t got) const;
  void note_template(const Insn& in);

  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<uint64_t[], Free> pcs_;  // (calloc'd: all empty)
  std::unique_ptr<Insn[], Free> slots_;  // (len 0: empty)
  std::unique_ptr<Insn[], Free> templates_;  // (shape_len 0: empty)
  uint64_t same_pc_ = 0, same_shape_ = 0, zydis_ = 0;
};

}  // namespace vireo::jit
