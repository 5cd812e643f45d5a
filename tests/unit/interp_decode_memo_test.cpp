// The decode cache's memo (interp/interpreter.h): a miss on bytes decoded before at another
// address copies that decode, with the operands computed from the address moved, instead of
// decoding again; the copy must be exactly what the decoder gives, from a pool entry's decode
// (a small pool's memo) or from the memo's own templates (a big pool's). And the
// interp engine's index grows past kIndexMax slots once its pool holds more entries than that.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <algorithm>

#include "cpu/decoder.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

// Every field the decoder writes (fn is the cache's: handler_for's, not the decoder's).
void expect_same_decode(const Insn& got, const Insn& want, uint64_t rip) {
  SCOPED_TRACE(testing::Message() << "rip 0x" << std::hex << rip);
  EXPECT_EQ(got.mnemonic, want.mnemonic);
  ASSERT_EQ(got.len, want.len);
  EXPECT_EQ(got.opsize, want.opsize);
  EXPECT_EQ(got.addrsize, want.addrsize);
  EXPECT_EQ(got.nops, want.nops);
  EXPECT_EQ(got.prefixes, want.prefixes);
  EXPECT_EQ(got.cc, want.cc);
  EXPECT_EQ(got.opcode, want.opcode);
  EXPECT_EQ(got.map, want.map);
  EXPECT_EQ(got.rip_ops, want.rip_ops);
  EXPECT_EQ(std::memcmp(got.bytes, want.bytes, got.len), 0);
  for (unsigned i = 0; i < 4; ++i) {
    const Operand &a = got.op[i], &b = want.op[i];
    EXPECT_EQ(a.kind, b.kind) << "op " << i;
    EXPECT_EQ(a.size, b.size) << "op " << i;
    EXPECT_EQ(a.rclass, b.rclass) << "op " << i;
    EXPECT_EQ(a.reg, b.reg) << "op " << i;
    EXPECT_EQ(a.seg, b.seg) << "op " << i;
    EXPECT_EQ(a.base, b.base) << "op " << i;
    EXPECT_EQ(a.index, b.index) << "op " << i;
    EXPECT_EQ(a.scale, b.scale) << "op " << i;
    EXPECT_EQ(a.disp, b.disp) << "op " << i;
  }
}

// The cache's entry at each of `rips` is there and is what the decoder decodes at that address.
void expect_cached_as_decoded(Interpreter& in, Machine& m, const std::vector<uint64_t>& rips) {
  Decoder d;
  for (uint64_t rip : rips) {
    const uint8_t* bytes = m.as.host(rip);
    const Insn* cached = in.cached_decode(rip, bytes, 15);
    ASSERT_NE(cached, nullptr);
    Insn fresh;
    ASSERT_TRUE(d.decode(bytes, 15, rip, fresh));
    expect_same_decode(*cached, fresh, rip);
  }
}

// Instructions of each length class the memo probes (1, 2, 3, 4 and more bytes), with
// address-relative operands of both kinds and one it must not move:
const std::vector<std::vector<uint8_t>> kBlock = {
    {0x48, 0x8D, 0x05, 0x10, 0x00, 0x00, 0x00},  // lea rax, [rip + 0x10]
    {0x48, 0x83, 0xC0, 0x01},                    // add rax, 1
    {0xEB, 0x00},                                // jmp +0 (a relative target)
    {0x74, 0x00},                                // je +0
    {0x01, 0xDF},                                // add edi, ebx
    {0x48, 0x89, 0xDE},                          // mov rsi, rbx
    {0x90},                                      // nop
    {0x67, 0x48, 0x8D, 0x15, 0x20, 0x00, 0x00, 0x00},  // lea rdx, [eip + 0x20]: not moved
};

// The block at kCode and again at kCode + kSecond, nops between, then syscall.
constexpr uint64_t kSecond = 0x103;
std::vector<uint8_t> block_twice(std::vector<uint64_t>* second_rips) {
  std::vector<uint8_t> code;
  for (auto& i : kBlock) code.insert(code.end(), i.begin(), i.end());
  code.resize(kSecond, 0x90);
  for (auto& i : kBlock) {
    if (second_rips) second_rips->push_back(kCode + code.size());
    code.insert(code.end(), i.begin(), i.end());
  }
  code.insert(code.end(), {0x0F, 0x05});
  return code;
}

TEST(InterpDecodeMemo, TheDecoderMarksOperandsComputedFromTheAddress) {
  Decoder d;
  Insn in;
  ASSERT_TRUE(d.decode(kBlock[0].data(), kBlock[0].size(), 0x1000, in));  // lea rax, [rip + 0x10]
  EXPECT_EQ(in.rip_ops, 1u << 1);
  EXPECT_EQ(in.op[1].disp, int64_t(0x1000 + 7 + 0x10));
  ASSERT_TRUE(d.decode(kBlock[2].data(), kBlock[2].size(), 0x1000, in));  // jmp +0
  EXPECT_EQ(in.rip_ops, 1u << 0);
  ASSERT_TRUE(d.decode(kBlock[1].data(), kBlock[1].size(), 0x1000, in));  // add rax, 1
  EXPECT_EQ(in.rip_ops, 0u);
  ASSERT_TRUE(d.decode(kBlock[7].data(), kBlock[7].size(), 0x1000, in));  // lea rdx, [eip + 0x20]
  EXPECT_EQ(in.rip_ops & kRipOpsFixed, kRipOpsFixed);
}

TEST(InterpDecodeMemo, ACopyIsExactlyTheDecodeAtItsAddress) {
  for (size_t slots : {size_t(0), size_t(2048)}) {  // the interp engine's cache, the tier's
    SCOPED_TRACE(testing::Message() << "index " << slots);
    std::vector<uint64_t> rips;
    const std::vector<uint8_t> code = block_twice(&rips);
    Machine m;
    m.load(code);
    m.cpu.gpr[RBX] = 5;
    m.cpu.gpr[RDI] = 0;
    Interpreter in(m.as.memory(), slots);
    ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
    // Every instruction of the second block but the EIP-relative lea was copied, and so was
    // every nop of the run between the blocks but the first.
    const uint64_t gap_nops = kSecond - (code.size() - kSecond - 2);
    EXPECT_EQ(in.decode_copies(), (kBlock.size() - 1) + gap_nops);
    EXPECT_EQ(in.decode_misses(), kBlock.size() * 2 + gap_nops + 1);
    // The second block's operands are its own.
    const uint64_t second = kCode + kSecond;
    EXPECT_EQ(m.cpu.gpr[RAX], second + 7 + 0x10 + 1);
    EXPECT_EQ(m.cpu.gpr[RDX], (rips[7] + 8 + 0x20) & 0xFFFFFFFFu);
    EXPECT_EQ(m.cpu.gpr[RDI], 10u);
    expect_cached_as_decoded(in, m, rips);
  }
}

TEST(InterpDecodeMemo, AnOverwrittenSourceIsNotCopied) {
  // lea rax, [rip + 0x10] ; five nops ; lea rax, [rip + 0x10] ; syscall, in a pool of 4: when
  // the second lea misses, the memo's slot for it points at the entry the first lea was
  // decoded into, which a nop has overwritten since. It is decoded again, not copied.
  std::vector<uint8_t> code = kBlock[0];
  code.insert(code.end(), 5, 0x90);
  code.insert(code.end(), kBlock[0].begin(), kBlock[0].end());
  code.insert(code.end(), {0x0F, 0x05});
  Machine m;
  m.load(code);
  Interpreter in(m.as.memory(), 0, 4);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_copies(), 4u);  // the nops after the first
  EXPECT_EQ(m.cpu.gpr[RAX], kCode + 7 + 5 + 7 + 0x10);
}

TEST(InterpDecodeMemo, ABigPoolsMemoKeepsItsOwnTemplates) {
  // The block, 32,800 nops, the block again, syscall, in a pool of 32,776 entries: the memo
  // turns into templates at 32,768 entries in use (kTemplatesAt), taking the first block's
  // decodes from the pool, and the nops then overwrite the first block's entries. The second
  // block is still copied (but the EIP-relative lea), exactly as the decoder decodes it at its
  // address. (With pointers into the pool it was decoded again.)
  constexpr size_t kPool = 32776, kNops = 32800;
  std::vector<uint8_t> code;
  for (auto& i : kBlock) code.insert(code.end(), i.begin(), i.end());
  code.insert(code.end(), kNops, 0x90);
  std::vector<uint64_t> rips;
  for (auto& i : kBlock) {
    rips.push_back(kCode + code.size());
    code.insert(code.end(), i.begin(), i.end());
  }
  code.insert(code.end(), {0x0F, 0x05});
  ASSERT_LT(code.size(), size_t(0x10000));
  Machine m;
  m.load(code);
  m.cpu.gpr[RBX] = 5;
  m.cpu.gpr[RDI] = 0;
  Interpreter in(m.as.memory(), 0, kPool);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  const size_t block = kBlock.size();
  EXPECT_EQ(in.decode_misses(), block + kNops + block + 1);
  // The first block is all first decodes (its nop too); then every nop, and the second block
  // but its EIP-relative lea.
  EXPECT_EQ(in.decode_copies(), kNops + (block - 1));
  EXPECT_EQ(in.cached_decode(kCode, m.as.host(kCode), 15), nullptr);  // (overwritten)
  EXPECT_EQ(m.cpu.gpr[RAX], rips[0] + 7 + 0x10 + 1);
  EXPECT_EQ(m.cpu.gpr[RDX], (rips[7] + 8 + 0x20) & 0xFFFFFFFFu);
  EXPECT_EQ(m.cpu.gpr[RDI], 10u);
  expect_cached_as_decoded(in, m, rips);
}

TEST(InterpDecodeMemo, AForkedChildCountsOnlyItsOwnDecodesTowardTheTemplates) {
  // The block, 20,000 nops, syscall; the engine is forked (its 20,009 entries inherited);
  // then 20,016 nops (the pool of 40,016 wraps, overwriting the first block's entries), the
  // block again, syscall. The pool's position passes 32,768 but the child's own decodes do
  // not reach kTemplatesAt: the memo keeps its pointers (a shell's children each mapped
  // 512 KB of templates), so the second block finds its sources overwritten and is decoded
  // again, but its nop (and the syscall, whose entry is still there).
  constexpr size_t kPool = 40016, kFirst = 20000, kSecond = 20016;
  std::vector<uint8_t> code;
  for (auto& i : kBlock) code.insert(code.end(), i.begin(), i.end());
  code.insert(code.end(), kFirst, 0x90);
  code.insert(code.end(), {0x0F, 0x05});
  code.insert(code.end(), kSecond, 0x90);
  for (auto& i : kBlock) code.insert(code.end(), i.begin(), i.end());
  code.insert(code.end(), {0x0F, 0x05});
  ASSERT_LT(code.size(), size_t(0x10000));
  Machine m;
  m.load(code);
  Interpreter in(m.as.memory(), 0, kPool);
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  const size_t block = kBlock.size();
  EXPECT_EQ(in.decode_misses(), block + kFirst + 1);
  in.forked();
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), block + kFirst + 1 + kSecond + block + 1);
  EXPECT_EQ(in.decode_copies(), kFirst + kSecond + 2);
}

TEST(InterpDecodeMemo, ThePoolsIndexGrowsPastItsUsualMostForABigPool) {
  // 200,000 nops and a syscall under the interp engine (a pool of 262,144 entries): past
  // 196,608 entries in use the index grows to 524,288 slots, with every entry in it (and not
  // at 131,072: python's start-up has 146,000).
  constexpr uint64_t kBig = 0x100000;
  constexpr size_t kNops = 200000;
  Machine m;
  m.as.mmap(kBig, 0x40000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  std::memset(m.as.host(kBig), 0x90, kNops);
  m.as.host(kBig)[kNops] = 0x0F;
  m.as.host(kBig)[kNops + 1] = 0x05;
  m.cpu.rip = kBig;
  Interpreter in(m.as.memory());
  m.as.host(kBig)[150000] = 0x0F;  // (a syscall at 150,000 first: the index is not grown yet)
  m.as.host(kBig)[150001] = 0x05;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_cache_entries(), size_t(1) << 17);
  m.as.host(kBig)[150000] = 0x90;
  m.as.host(kBig)[150001] = 0x90;
  m.cpu.rip = kBig + 150000;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_cache_entries(), size_t(1) << 19);
  EXPECT_EQ(in.decode_misses(), 150001u + 50001u);  // (the syscall at 150,000, then the nops there)
  // (the nops but the first; the last syscall too, copied from the first's entry, whose
  // bytes are still a syscall's although its address now holds a nop)
  EXPECT_EQ(in.decode_copies(), 149999u + 50000u + 1u);
  // Entries from before and after the growth are all found through the index.
  for (uint64_t off : {uint64_t(0), uint64_t(70000), uint64_t(kNops - 1)})
    EXPECT_NE(in.cached_decode(kBig + off, m.as.host(kBig + off), 15), nullptr) << off;
  // Again: one decode, at 150,000, whose fall-through entry is the first syscall's (its bytes
  // no longer match); the rest is found.
  m.cpu.rip = kBig + 1000;
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(in.decode_misses(), 150001u + 50001u + 1u);
}

TEST(InterpDecodeMemo, ADecodeLooksAheadOnlyAtTheBytesItRead) {
  // Once the memo holds templates, each decode asks the caches for the next instruction's
  // bucket, hashing that instruction's shape from the bytes the decode read (not from guest
  // memory again). Straight-line code of many shapes past kTemplatesAt, ending in a syscall at
  // the very end of the mapping (the page after it unmapped: a read there would be a fault):
  // it runs as before, each instruction copied exactly as the decoder decodes it.
  constexpr uint64_t kBig = 0x100000, kSize = 0x9000;
  Machine m;
  m.as.mmap(kBig, kSize, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  uint8_t* const code = m.as.host(kBig);
  std::memset(code, 0x90, kSize);
  size_t at = 0;
  std::vector<uint64_t> rips;
  // 33,000 nops (the templates start at 32,768 decodes), then the block's shapes again and
  // again up to the end.
  at = 33000;
  while (at + 16 < kSize - 2)
    for (auto& i : kBlock) {
      if (at + i.size() > kSize - 2) break;
      rips.push_back(kBig + at);
      std::memcpy(code + at, i.data(), i.size());
      at += i.size();
    }
  code[kSize - 2] = 0x0F;
  code[kSize - 1] = 0x05;
  m.cpu.rip = kBig;
  m.cpu.gpr[RBX] = 1;
  Interpreter in(m.as.memory());
  ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.rip, kBig + kSize);
  expect_cached_as_decoded(in, m, rips);
  // (Every instruction but the first nop, the block's first shapes and its EIP-relative lea
  // each time, is a copy.)
  EXPECT_GE(in.decode_copies(), in.decode_misses() - rips.size() / kBlock.size() - kBlock.size() - 2);
}

}  // namespace
}  // namespace vireo::test

namespace vireo::test {
namespace {

TEST(InterpDecodeMemo, AMissReadsTheBytesUpToThePagesEndExactly) {
  // A miss copies the instruction's bytes from guest memory: 16 at once when they lie in the
  // page, else byte by byte up to its end. `movabs rax, imm64` (10 bytes) at each offset
  // around that boundary of the mapping's last page (the page after it unmapped), nops after
  // it, a syscall in the last two bytes: it runs, with its own immediate, and every decode
  // in the cache is what the decoder decodes there.
  constexpr uint64_t kPage = 0x200000;
  for (unsigned before_end = 12; before_end <= 20; ++before_end) {
    SCOPED_TRACE(testing::Message() << "movabs at " << before_end << " bytes before the end");
    Machine m;
    m.as.mmap(kPage, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    uint8_t* const code = m.as.host(kPage);
    std::memset(code, 0x90, 4096);
    const uint64_t at = 4096 - before_end;
    const uint8_t movabs[10] = {0x48, 0xB8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, uint8_t(before_end)};
    std::memcpy(code + at, movabs, sizeof movabs);
    code[4094] = 0x0F;
    code[4095] = 0x05;
    for (size_t slots : {size_t(0), size_t(2048)}) {
      m.cpu.rip = kPage + at;
      m.cpu.gpr[RAX] = 0;
      Interpreter in(m.as.memory(), slots);
      ASSERT_EQ(in.run(m.cpu), StopReason::Syscall);
      EXPECT_EQ(m.cpu.rip, kPage + 4096);
      EXPECT_EQ(m.cpu.gpr[RAX], 0x0077665544332211ull | (uint64_t(before_end) << 56));
      std::vector<uint64_t> rips = {kPage + at};
      for (uint64_t r = at + 10; r <= 4094; ++r) rips.push_back(kPage + r);
      Decoder d;
      for (uint64_t rip : rips) {
        // (no byte past the mapping is read: the next page is not there)
        const size_t avail = std::min<uint64_t>(15, kPage + 4096 - rip);
        const uint8_t* bytes = m.as.host(rip);
        const Insn* cached = in.cached_decode(rip, bytes, avail);
        ASSERT_NE(cached, nullptr);
        Insn fresh;
        ASSERT_TRUE(d.decode(bytes, avail, rip, fresh));
        expect_same_decode(*cached, fresh, rip);
      }
    }
  }
}

}  // namespace
}  // namespace vireo::test
