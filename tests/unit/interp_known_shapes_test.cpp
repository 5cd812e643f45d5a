// The known shapes (interp/known_shapes.h): every entry of the table Vireo was built with is
// what the decoder gives for its bytes, where the decode memo looks for it; a copy of one at
// another address, with other displacements and immediates, is that address's decode. The
// table's generator is tools/gen_known_shapes.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/decode_template.h"
#include "cpu/decoder.h"
#include "cpu/shape_length.h"
#include "interp/interpreter.h"
#include "interp/known_shapes.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

// Everything but fn (the decoder's Insn has no padding: a byte compare is a field compare).
static_assert(sizeof(Insn) == 104 && offsetof(Insn, mnemonic) == sizeof(Handler));
bool same_decode(const Insn& a, const Insn& b) {
  return std::memcmp(reinterpret_cast<const char*>(&a) + sizeof(Handler), reinterpret_cast<const char*>(&b) + sizeof(Handler),
                     sizeof(Insn) - sizeof(Handler)) == 0;
}

void words_of(const uint8_t* bytes, uint64_t& w0, uint64_t& w1) {
  std::memcpy(&w0, bytes, 8);
  std::memcpy(&w1, bytes + 8, 8);
}

TEST(InterpKnownShapes, EveryEntryIsTheDecodersAndIsFoundByItsBytes) {
  const std::span<const Insn> t = known_shapes();
  ASSERT_GT(t.size(), 1000u);
  Decoder dec;
  for (size_t i = 0; i < t.size(); ++i) {
    const Insn& k = t[i];
    SCOPED_TRACE(testing::Message() << "entry " << i << ": " << hex_bytes(k.bytes, k.len));
    EXPECT_EQ(k.fn, nullptr);
    ASSERT_TRUE(may_be_known_shape(k));
    uint8_t buf[16] = {};
    std::memcpy(buf, k.bytes, k.len);
    // The memo's key: the guessed shape and its hash.
    ASSERT_EQ(guess_shape_length(buf), k.shape_len);
    uint64_t w0, w1;
    words_of(buf, w0, w1);
    const uint64_t hash = shape_hash(w0, w1, k.shape_len);
    Insn d;
    std::memset(&d, 0xA5, sizeof d);
    ASSERT_TRUE(dec.decode(buf, 15, kKnownShapeRip, d));
    EXPECT_TRUE(same_decode(d, k)) << disassemble(buf, 15, kKnownShapeRip);
    EXPECT_EQ(known_shape(w0, w1, k.shape_len, hash), &k);
  }
}

// A copy of an entry at another address, with random displacement and immediate bytes after
// its shape, is the decoder's decode there (as the memo's copies are).
TEST(InterpKnownShapes, ACopyIsTheDecodeAtAnotherAddress) {
  const std::span<const Insn> t = known_shapes();
  Decoder dec;
  std::mt19937_64 rng(22);
  for (size_t i = 0; i < t.size(); ++i) {
    const Insn& k = t[i];
    for (int n = 0; n < 4; ++n) {
      uint8_t buf[16];
      for (auto& b : buf) b = uint8_t(rng());
      std::memcpy(buf, k.bytes, k.shape_len);
      const uint64_t rip = (rng() & 0x7fff'ffff'ffffull) | (n == 0 ? 0xff0 : 0);
      SCOPED_TRACE(testing::Message() << "entry " << i << ": " << hex_bytes(buf, k.len) << " at 0x" << std::hex << rip);
      Insn want;
      ASSERT_TRUE(dec.decode(buf, 15, rip, want));
      Insn got;
      apply_template(got, k, buf, rip);
      EXPECT_TRUE(same_decode(got, want)) << disassemble(buf, 15, rip);
    }
  }
}

TEST(InterpKnownShapes, AnUnknownShapeIsNotFound) {
  // (0F 0B, ud2: never in the table)
  const uint8_t ud2[16] = {0x0F, 0x0B};
  uint64_t w0, w1;
  words_of(ud2, w0, w1);
  EXPECT_EQ(known_shape(w0, w1, 2, shape_hash(w0, w1, 2)), nullptr);
  // (a known shape asked with another length)
  const Insn& k = known_shapes()[0];
  words_of(k.bytes, w0, w1);
  const unsigned other = k.shape_len == 1 ? 2 : k.shape_len - 1;
  EXPECT_EQ(known_shape(w0, w1, other, shape_hash(w0, w1, other)), nullptr);
}

// In the engine: a miss on a known shape the memo has not seen copies the table's entry (the
// interp engine's cache and the tier's), and the copy runs as the decode would.
TEST(InterpKnownShapes, TheEngineCopiesAKnownShapeOnItsFirstMiss) {
  // lea rax, [rip + 0x10] ; add rax, 1 ; mov edi, 7 ; syscall
  const std::vector<std::vector<uint8_t>> insns = {
      {0x48, 0x8D, 0x05, 0x10, 0x00, 0x00, 0x00}, {0x48, 0x83, 0xC0, 0x01}, {0xBF, 0x07, 0x00, 0x00, 0x00}, {0x0F, 0x05}};
  std::vector<uint8_t> code;
  uint64_t known = 0;
  for (const auto& i : insns) {
    uint8_t buf[16] = {};
    std::memcpy(buf, i.data(), i.size());
    uint64_t w0, w1;
    words_of(buf, w0, w1);
    const unsigned shape = guess_shape_length(buf);
    known += known_shape(w0, w1, shape, shape_hash(w0, w1, shape)) != nullptr;
    code.insert(code.end(), i.begin(), i.end());
  }
  ASSERT_GE(known, 3u);  // (the table's most common shapes: regenerate it with them)
  for (size_t slots : {size_t(0), size_t(2048)}) {
    SCOPED_TRACE(testing::Message() << "index " << slots);
    Machine m;
    m.load(code);
    Interpreter in(m.as.memory(), slots);
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    EXPECT_EQ(in.known_shape_copies(), known);
    EXPECT_EQ(in.decode_copies(), 0u);
    EXPECT_EQ(m.cpu.gpr[RAX], kCode + 7 + 0x10 + 1);
    EXPECT_EQ(m.cpu.gpr[RDI], 7u);
    // Each cached instruction is the decoder's at its address.
    Decoder dec;
    uint64_t rip = kCode;
    for (const auto& i : insns) {
      const Insn* got = in.cached_decode(rip, m.as.host(rip), i.size());
      ASSERT_NE(got, nullptr);
      Insn want;
      ASSERT_TRUE(dec.decode(m.as.host(rip), 15, rip, want));
      EXPECT_TRUE(same_decode(*got, want)) << hex_bytes(i.data(), i.size());
      rip += i.size();
    }
  }
}

}  // namespace
}  // namespace vireo::test
