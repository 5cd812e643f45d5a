// What translating a block costs (issue 22, docs/performance-history.md "Translation cost"): the
// translator takes instructions from the interpreter tier's decode cache, following its pool
// where the index lost them; it does not make a superblock go on into a fall-through the tier
// never ran; invalidating a block clears its jump-cache slot without scanning the cache; and
// the backend's per-thread scratch carries nothing from one block to the next; the fetch's
// per-thread fault scope comes back from a fault.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

#include "interp/interpreter.h"
#include "jit/backend/x64/emit_alu.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/code_cache.h"
#include "jit/frontend/translator.h"
#include "jit/ir/ir.h"
#include "jit_harness.h"
#include "mem/host_fault.h"

namespace vireo::test {

namespace ir = jit::ir;
namespace {

// start: add rax, 1 ; test rax, rax ; jnz taken          (kCode + 0, 4, 7)
//        add rbx, 2 ; syscall                             (the fall-through: kCode + 9, 13)
// taken: add rcx, 3 ; syscall                             (kCode + 15, 19)
const std::vector<uint8_t> kBranchy = {0x48, 0x83, 0xC0, 0x01, 0x48, 0x85, 0xC0, 0x75, 0x06, 0x48, 0x83,
                                       0xC3, 0x02, 0x0F, 0x05, 0x48, 0x83, 0xC1, 0x03, 0x0F, 0x05};

ir::Block translate_at(Machine& m, uint64_t pc, const jit::BlockLimits& limits) {
  ir::Block b;
  std::vector<jit::FallbackSite> fallbacks;
  EXPECT_TRUE(jit::translate_block(m.as.memory(), pc, limits, b, fallbacks, false));
  EXPECT_EQ(ir::verify(b), "");
  return b;
}

ir::Block translate(Machine& m, const Interpreter* tier) {
  jit::BlockLimits limits;
  limits.decoded = tier;
  return translate_at(m, kCode, limits);
}

uint32_t translated_insns(Machine& m, const Interpreter* tier) { return translate(m, tier).guest_insns; }

// A block at `pc` in `c` (no host code that runs: the translator only looks it up), with a
// chainable exit to each of `exits`.
jit::TranslatedBlock* add_block(jit::CodeCache& c, uint64_t pc, std::vector<uint64_t> exits) {
  auto b = std::make_unique<jit::TranslatedBlock>();
  b->guest_pc = pc;
  b->guest_code.emplace_back(pc, pc + 4);
  b->code = c.begin();
  b->code_size = 16;
  c.commit(16);
  for (uint64_t to : exits) {
    auto slot = std::unique_ptr<jit::ExitSlot>(new jit::ExitSlot{});
    slot->target_pc = to;
    b->exits.emplace_back(std::move(slot));
  }
  jit::TranslatedBlock* raw = b.get();
  c.insert(std::move(b));
  return raw;
}

// A code cache, its trampolines and a user-mode Runtime over `m`'s memory: what emit_block
// needs to emit a block (which then is not run).
struct EmitRig {
  jit::CodeCache cache{1 << 20};
  jit::Runtime rt{};
  explicit EmitRig(Machine& m) {
    const jit::Trampolines t = jit::make_trampolines(cache.trampoline_page());
    rt.exit_stub = t.exit_stub;
    rt.settle_flags = t.settle_flags;
    rt.mem = &m.as.memory();
    rt.jump_cache = cache.jump_cache();
    rt.jump_cache_bits = jit::CodeCache::kUserJumpCacheBits;
    rt.window_limit = t.window_limit;
    rt.range_fault[0] = t.range_fault[0];
    rt.range_fault[1] = t.range_fault[1];
    rt.link_exit = t.link_exit;
  }
};

}  // namespace

TEST(JitTranslationCost, SuperblockStopsAtAFallThroughTheTierNeverRan) {
  Machine m;
  m.load(kBranchy);
  // No interpreter tier (system mode), or one that never ran the block (--translate-after 0):
  // the block goes on past the jnz as a side exit, to the syscall.
  EXPECT_EQ(translated_insns(m, nullptr), 5u);
  Interpreter fresh(m.as.memory(), 2048);
  EXPECT_EQ(translated_insns(m, &fresh), 5u);
  // The tier ran the block with the branch taken only: it ends at the jnz (both ways chainable).
  Interpreter tier(m.as.memory(), 2048);
  m.cpu.gpr[RAX] = 0;
  ASSERT_EQ(tier.run(m.cpu), StopReason::Syscall);
  ASSERT_EQ(m.cpu.rip, kCode + 21);  // (after the taken path's syscall)
  EXPECT_EQ(translated_insns(m, &tier), 3u);
  // Once the tier has run the fall-through too, the superblock takes it in.
  m.cpu.rip = kCode;
  m.cpu.gpr[RAX] = ~uint64_t(0);  // + 1 = 0: not taken
  ASSERT_EQ(tier.run(m.cpu), StopReason::Syscall);
  EXPECT_EQ(m.cpu.rip, kCode + 15);
  EXPECT_EQ(translated_insns(m, &tier), 5u);
}

TEST(JitTranslationCost, DecodeCacheEntriesLostFromTheIndexAreFoundInThePool) {
  // P: nop (kCode) ; E: nop (kCode + 1) ; jmp Z ; ... Z: nop (kCode + 2049) ; syscall.
  // With 2,048 index slots E and Z share one, and Z, run later, takes it; E stays in the pool
  // right after P.
  std::vector<uint8_t> code(2052, 0xCC);
  code[0] = code[1] = 0x90;
  code[2] = 0xE9;  // jmp rel32 to kCode + 2049
  const int32_t rel = 2049 - 7;
  std::memcpy(&code[3], &rel, 4);
  code[2049] = 0x90;
  code[2050] = 0x0F;
  code[2051] = 0x05;
  Machine m;
  m.load(code);
  Interpreter tier(m.as.memory(), 2048);
  ASSERT_EQ(tier.run(m.cpu), StopReason::Syscall);
  const uint8_t* bytes = m.as.host(kCode);
  EXPECT_EQ(tier.cached_decode(kCode + 1, bytes + 1, 15), nullptr);  // (Z's slot now)
  const Insn* p = tier.cached_decode(kCode, bytes, 15);
  ASSERT_NE(p, nullptr);
  const Insn* e = tier.cached_decode_after(p, kCode + 1, bytes + 1, 15);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mnemonic, ZYDIS_MNEMONIC_NOP);
  EXPECT_EQ(e->len, 1u);
  // Through the entry after E (the jmp), then the jmp's taken successor (its `next`): Z.
  const Insn* j = tier.cached_decode_after(e, kCode + 2, bytes + 2, 15);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->mnemonic, ZYDIS_MNEMONIC_JMP);
  EXPECT_NE(tier.cached_decode_after(j, kCode + 2049, bytes + 2049, 3), nullptr);
  // Bytes that no longer match what was decoded are not taken.
  const uint8_t other[15] = {0x48, 0x90};
  EXPECT_EQ(tier.cached_decode_after(p, kCode + 1, other, 15), nullptr);
  // The translator's block from the cache is the one from Zydis's decoding.
  const ir::Block cached = translate(m, &tier), decoded = translate(m, nullptr);
  EXPECT_EQ(cached.guest_insns, 5u);  // nop, nop, jmp (followed: on the page), nop, syscall
  EXPECT_EQ(ir::print(cached), ir::print(decoded));
}

// The frontend's fetch reads an instruction's bytes under a fault scope kept per thread (not
// built per instruction). A fetch that faults in the host (here a page the guest maps but the
// host cannot read, as a file mapping past its end) ends the block before the instruction,
// and the scope, left by siglongjmp, serves the next fetches: the same block again, then an
// ordinary one.
TEST(JitTranslationCost, FetchFaultScopeServesTheFetchesAfterAFault) {
  install_host_fault_handlers();
  Machine m;
  // add rax, 1 at the end of the first page, then add rbx, 2 across into the second; syscall
  const uint64_t at = kCode + 0x1000 - 6;
  const uint8_t code[] = {0x48, 0x83, 0xC0, 0x01, 0x48, 0x83, 0xC3, 0x02, 0x0F, 0x05};
  std::memcpy(m.as.host(at), code, sizeof code);
  m.load(kBranchy);
  uint8_t* second = m.as.host(kCode + 0x1000);
  ASSERT_EQ(mprotect(second, 4096, PROT_NONE), 0);
  jit::BlockLimits limits;
  for (int k = 0; k < 2; ++k) {
    const ir::Block b = translate_at(m, at, limits);
    EXPECT_EQ(b.guest_insns, 1u) << "attempt " << k;
  }
  EXPECT_EQ(translated_insns(m, nullptr), 5u);  // (kBranchy's path to its first syscall)
  ASSERT_EQ(mprotect(second, 4096, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(translate_at(m, at, limits).guest_insns, 2u);  // readable again: both adds (then the syscall)
}

// The translator reads a block's code a window (256 bytes) at a time, not an instruction at
// a time: an instruction that runs past the window's end is read whole, from a window of its
// own, and the block is the one a read at each instruction's pc gives.
TEST(JitTranslationCost, InstructionAcrossTheFetchWindowIsReadWhole) {
  std::vector<uint8_t> code;
  for (int k = 0; k < 50; ++k) code.insert(code.end(), {0x05, 0x01, 0x00, 0x00, 0x00});  // add eax, 1
  code.insert(code.end(), {0x48, 0x83, 0xC0, 0x01});  // add rax, 1 (kCode + 250)
  // mov rcx, 0x1122334455667788 at kCode + 254: bytes 254..263, across the window's end (256)
  code.insert(code.end(), {0x48, 0xB9, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11});
  code.insert(code.end(), {0x0F, 0x05});  // syscall
  Machine m;
  m.load(code);
  jit::BlockLimits limits;
  const ir::Block b = translate_at(m, kCode, limits);
  EXPECT_EQ(b.guest_insns, 53u);
  ASSERT_FALSE(b.code.empty());
  EXPECT_EQ(b.code.front().end, kCode + code.size());
  bool moved = false;
  for (const ir::Inst& in : b.insts)
    moved |= in.op == ir::Opcode::Const && in.args[0].v == 0x1122334455667788ull;
  EXPECT_TRUE(moved) << ir::print(b);
  // The same instruction read from a window that starts at it.
  const ir::Block at_mov = translate_at(m, kCode + 254, limits);
  EXPECT_EQ(at_mov.guest_insns, 2u);
}

TEST(JitTranslationCost, RemovingABlockClearsItsJumpCacheSlot) {
  jit::CodeCache c(1 << 20);
  auto add = [&](uint64_t pc) { return add_block(c, pc, {}); };
  jit::TranslatedBlock* a = add(0x401000);
  jit::TranslatedBlock* b = add(0x402000);
  c.jump_cache_fill(a->guest_pc, a->code);
  c.jump_cache_fill(b->guest_pc, b->code);
  const size_t sa = jit::CodeCache::jump_cache_index(0x401000, jit::CodeCache::kUserJumpCacheBits),
               sb = jit::CodeCache::jump_cache_index(0x402000, jit::CodeCache::kUserJumpCacheBits);
  ASSERT_NE(sa, sb);
  EXPECT_EQ(c.invalidate(0x401000, 1), 1u);
  EXPECT_EQ(c.jump_cache()[sa].host, nullptr);
  EXPECT_EQ(c.jump_cache()[sa].guest_pc, jit::CodeCache::empty_jump_tag(sa));
  EXPECT_EQ(c.jump_cache()[sb].guest_pc, 0x402000u);  // the other block's entry stays
  EXPECT_EQ(c.jump_cache()[sb].host, b->code);
}


// The emitter (its Xbyak generator, labels and per-block members) and its vectors are the
// thread's, reused from block to block (BlockEmitter::begin_block), and its forward jumps are
// patched rel32s: a block emitted after a bigger one (a loop in place with accesses, spills of
// nothing, side exits) comes out byte for byte as it did first, at the same place, and the
// loop after the smaller one as it did first.
TEST(JitTranslationCost, EmitterScratchCarriesNothingFromBlockToBlock) {
  // loop: add rax, [rbx] ; mov [rbx+8], rax ; add rbx, 8 ; dec rcx ; jnz loop ; syscall
  const std::vector<uint8_t> kLoop = {0x48, 0x03, 0x03, 0x48, 0x89, 0x43, 0x08, 0x48, 0x83,
                                      0xC3, 0x08, 0x48, 0xFF, 0xC9, 0x75, 0xF0, 0x0F, 0x05};
  Machine m;
  m.load(kBranchy);
  const ir::Block branchy = translate(m, nullptr);
  m.load(kLoop);
  const ir::Block loop = translate(m, nullptr);
  ASSERT_GT(loop.insts.size(), 0u);

  EmitRig rig(m);
  jit::CodeCache& cache = rig.cache;
  jit::Runtime& rt = rig.rt;
  struct Emitted {
    std::vector<uint8_t> code;
    size_t pcs = 0, syncs = 0, exits = 0;
    bool self_loop = false;
  };
  auto emit = [&](const ir::Block& b) {
    cache.flush();  // (each at the start of the buffer: the same rel32s to the trampolines)
    ir::Block copy = b;
    std::vector<std::unique_ptr<jit::FallbackInsn>> fallbacks;
    jit::TranslatedBlock out;
    Emitted e;
    EXPECT_TRUE(jit::emit_block(copy, fallbacks, cache, rt, out));
    e.code.assign(out.code, out.code + out.code_size);
    // The link stubs name their ExitSlot (a heap address): masked.
    for (const auto& slot : out.exits) {
      const uint64_t p = uint64_t(slot.get());
      for (size_t k = 0; k + 8 <= e.code.size(); ++k)
        if (std::memcmp(&e.code[k], &p, 8) == 0) std::memset(&e.code[k], 0, 8);
    }
    e.pcs = out.pc_map.size();
    e.syncs = out.sync.size();
    e.exits = out.exits.size();
    e.self_loop = out.self_loop;
    return e;
  };
  const Emitted first = emit(branchy), big = emit(loop), again = emit(branchy), big_again = emit(loop);
  EXPECT_EQ(big_again.code, big.code);
  EXPECT_EQ(big_again.pcs, big.pcs);
  EXPECT_EQ(big_again.syncs, big.syncs);
  EXPECT_EQ(big_again.exits, big.exits);
  EXPECT_TRUE(big_again.self_loop);
  EXPECT_TRUE(big.self_loop);
  EXPECT_GT(big.syncs, 0u);
  EXPECT_GT(big.code.size(), 0u);
  EXPECT_FALSE(first.self_loop);
  EXPECT_EQ(first.exits, 1u);  // the side exit (the terminal is the syscall)
  EXPECT_EQ(again.code, first.code);
  EXPECT_EQ(again.pcs, first.pcs);
  EXPECT_EQ(again.syncs, first.syncs);
  EXPECT_EQ(again.exits, first.exits);
  // Nothing in the branchy block jumps to an exit-request stub (its edges go forward) or
  // leaves with a helper's code: neither stub is there (`mov eax, 4` / `mov eax, r11d`).
  const uint8_t request[] = {0xB8, uint8_t(jit::kExitRequest), 0, 0, 0}, leave[] = {0x44, 0x89, 0xD8};
  EXPECT_EQ(std::search(first.code.begin(), first.code.end(), std::begin(request), std::end(request)), first.code.end());
  EXPECT_EQ(std::search(first.code.begin(), first.code.end(), std::begin(leave), std::end(leave)), first.code.end());
}

// emit_cpu_mov encodes what Xbyak's `mov` does for every register and displacement form.
TEST(JitTranslationCost, CpuMovEncodesAsXbyakDoes) {
  for (int r = 0; r < 16; ++r)
    for (int32_t disp : {0, 8, 0x78, 127, 128, -8, -128, -129, 0x390, 0x12345}) {
      for (bool load : {true, false}) {
        Xbyak::CodeGenerator ours(64), xbyak(64);
        const Xbyak::Reg64 reg(r);
        jit::emit_cpu_mov(ours, load, disp, reg);
        if (load) xbyak.mov(reg, xbyak.qword[xbyak.rbx + disp]);
        else xbyak.mov(xbyak.qword[xbyak.rbx + disp], reg);
        ASSERT_EQ(ours.getSize(), xbyak.getSize()) << r << " " << disp << " " << load;
        EXPECT_EQ(std::memcmp(ours.getCode(), xbyak.getCode(), ours.getSize()), 0) << r << " " << disp << " " << load;
      }
    }
}


// The lazy flags' codes go to CpuState as one dword (both layers' bytes and two bytes of
// padding, always 0), never as `mov word [rbx + 0x390], imm16`: a 66h prefix with an imm16
// changes the instruction's length, and the host's legacy decoder stalls ~3 cycles on it
// every time (flag_state.cpp, store_lazy_codes). kBranchy's side exit and its syscall leave
// the `test`'s and the `add`'s flags lazy.
TEST(JitTranslationCost, LazyFlagsCodesAreStoredWithoutALengthChangingPrefix) {
  static_assert(offsetof(CpuState, lazy_incdec_op) == offsetof(CpuState, lazy_flags_op) + 1);
  static_assert(offsetof(CpuState, lazy_flags_a) >= offsetof(CpuState, lazy_flags_op) + 4);
  std::vector<uint8_t> code;
  {  // (its 64 TiB guest window gone before the two engines below make theirs)
    Machine m;
    m.load(kBranchy);
    ir::Block b = translate(m, nullptr);
    EmitRig rig(m);
    std::vector<std::unique_ptr<jit::FallbackInsn>> fallbacks;
    jit::TranslatedBlock out;
    ASSERT_TRUE(jit::emit_block(b, fallbacks, rig.cache, rig.rt, out));
    code.assign(out.code, out.code + out.code_size);
  }
  const int32_t off = int32_t(offsetof(CpuState, lazy_flags_op));
  uint8_t d[4];
  std::memcpy(d, &off, 4);
  const uint8_t word_store[] = {0x66, 0xC7, 0x83, d[0], d[1], d[2], d[3]};
  const uint8_t dword_store[] = {0xC7, 0x83, d[0], d[1], d[2], d[3]};
  EXPECT_EQ(std::search(code.begin(), code.end(), std::begin(word_store), std::end(word_store)), code.end());
  auto at = std::search(code.begin(), code.end(), std::begin(dword_store), std::end(dword_store));
  ASSERT_NE(at, code.end());
  ASSERT_LE(at + 10, code.end());
  EXPECT_EQ(at[8], 0);  // (the padding's two bytes)
  EXPECT_EQ(at[9], 0);
  // And run: the engines agree on the flags either way out leaves.
  expect_matches_interpreter(kBranchy, 16, random_state, /*translated=*/true);
}

namespace {

// start: add rax, 1 ; test rax, rax ; jnz taken          (kCode + 0, 4, 7)
// M:     add rbx, 2 ; add rdx, 1 ; syscall                (kCode + 9, 13, 17)
// taken: add rcx, 3 ; syscall                             (kCode + 19, 23)
const std::vector<uint8_t> kIntoM = {0x48, 0x83, 0xC0, 0x01, 0x48, 0x85, 0xC0, 0x75, 0x0A, 0x48, 0x83, 0xC3, 0x02,
                                     0x48, 0x83, 0xC2, 0x01, 0x0F, 0x05, 0x48, 0x83, 0xC1, 0x03, 0x0F, 0x05};
constexpr uint64_t kM = kCode + 9;

ir::Block translate_with(Machine& m, uint64_t pc, const jit::CodeCache* cache) {
  jit::BlockLimits limits;
  limits.translated = cache;
  return translate_at(m, pc, limits);
}

}  // namespace

// A quarter of cc1's translated instructions were copies of code that other blocks held (issue
// 22, "Translation cost, fourth pass"): a block's path now ends where an already translated
// block starts, chaining to it, unless that block leads back to this one's start (a loop).
TEST(JitTranslationCost, PathEndsWhereATranslatedBlockStarts) {
  Machine m;
  m.load(kIntoM);
  // Nothing translated: the superblock goes on past the jnz into M, to the syscall.
  EXPECT_EQ(translate_with(m, kCode, nullptr).guest_insns, 6u);
  jit::CodeCache c(1 << 20);
  EXPECT_EQ(translate_with(m, kCode, &c).guest_insns, 6u);
  // M translated: the jnz is the terminal, both ways chainable, the fall-through being M.
  add_block(c, kM, {kCode + 17});
  ir::Block b = translate_with(m, kCode, &c);
  EXPECT_EQ(b.guest_insns, 3u);
  EXPECT_EQ(b.term.kind, ir::Terminal::Kind::Branch);
  EXPECT_EQ(b.term.fallthrough, kM);
  EXPECT_EQ(b.term.target, kCode + 19);
  ASSERT_EQ(b.code.size(), 1u);
  EXPECT_EQ(b.code[0].end, kM);
  // Not at a debugger's breakpoint: the block leaves through the dispatcher, which checks it.
  {
    const std::vector<uint64_t> breakpoints = {kM};
    jit::BlockLimits limits;
    limits.translated = &c;
    limits.breakpoints = &breakpoints;
    ir::Block at_break;
    std::vector<jit::FallbackSite> fallbacks;
    ASSERT_TRUE(jit::translate_block(m.as.memory(), kCode, limits, at_break, fallbacks, false));
    EXPECT_EQ(at_break.guest_insns, 3u);
    EXPECT_EQ(at_break.term.kind, ir::Terminal::Kind::Exit);
    EXPECT_EQ(at_break.term.target, kM);
  }
  // Straight-line code runs into M: a Jump to it (chainable).
  ir::Block s = translate_with(m, kCode + 4, &c);  // test; jnz
  EXPECT_EQ(s.guest_insns, 2u);
  c.invalidate(kM, 1);
  add_block(c, kCode + 13, {kCode + 17});  // (the block at add rdx, 1)
  ir::Block straight = translate_with(m, kM, &c);
  EXPECT_EQ(straight.guest_insns, 1u);
  EXPECT_EQ(straight.term.kind, ir::Terminal::Kind::Jump);
  EXPECT_EQ(straight.term.target, kCode + 13);
  // A block's own start is not a reason to stop (its loop's back edge), nor is a translated
  // block with an exit back to the start: the two are one loop, which stays one block.
  c.invalidate(kCode + 13, 1);
  add_block(c, kCode, {});
  EXPECT_EQ(translate_with(m, kCode, &c).guest_insns, 6u);
  add_block(c, kM, {kCode + 17, kCode});
  EXPECT_EQ(translate_with(m, kCode, &c).guest_insns, 6u);
}

// A jmp the block follows keeps the block going past translated heads (switch_interp's cases
// end with a jmp to the dispatch code, which each case's block holds: cutting there cost it
// 40%); the cut applies before the first followed jmp only.
TEST(JitTranslationCost, FollowedJmpIsNotCutAtATranslatedBlock) {
  // add rax,1; jmp A; B: add rax,4; jmp C; A: add rax,2; jmp B; C: add rax,8; jmp A
  const std::vector<uint8_t> chain = {0x48, 0x83, 0xC0, 0x01, 0xEB, 0x06, 0x48, 0x83, 0xC0, 0x04, 0xEB, 0x06,
                                      0x48, 0x83, 0xC0, 0x02, 0xEB, 0xF4, 0x48, 0x83, 0xC0, 0x08, 0xEB, 0xF4};
  Machine m;
  m.load(chain);
  jit::CodeCache c(1 << 20);
  add_block(c, kCode + 0x0C, {});  // A
  add_block(c, kCode + 0x06, {});  // B
  EXPECT_EQ(translate_with(m, kCode, &c).guest_insns, 8u);
  EXPECT_EQ(translate_with(m, kCode, nullptr).guest_insns, 8u);
}

}  // namespace vireo::test
