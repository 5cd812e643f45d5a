// The x86-64 backend: IR block -> host code in the translation cache, with Xbyak.
//
// Host register convention inside translated code:
//   rbx = CpuState*, r15 = guest_base (guest address A is host r15 + A), r11 = scratch,
//   rsp = host stack (16-byte aligned at every call), the rest hold IR values.
// Blocks leave through the exit stub with eax = an ExitCode.
#pragma once

#include <cstdint>
#include <vector>

#include "jit/cache/code_cache.h"
#include "jit/ir/ir.h"
#include "mem/guest_memory.h"

namespace vireo::jit {

enum ExitCode : uint32_t {
  kExitDispatch = 0,  // look up the block at cpu.rip
  kExitSyscall = 1,   // SYSCALL: cpu.rip = next instruction
  kExitFault = 2,     // cpu.fault and cpu.rip are set
  kExitLink = 3,      // rdx = ExitSlot* to chain to the block at cpu.rip
  kExitRequest = 4,   // cpu.exit_request was set at block entry
  kExitInterpret = 5, // system mode: run the instruction at cpu.rip in the interpreter (a
                      // softmmu slow path: TLB miss it cannot fill, MMIO, page crossing, fault)
  kExitStale = 6,     // user mode: a checked block's guest bytes changed; cpu.rip = its start
  kExitGuessMiss = 7, // a guessed indirect call's target differed (ir::kGuessMissExit): cpu.rip =
                      // the call's, rdx = the TranslatedBlock* (jit/cache/guess_sites.h)
  kExitStop = 0x100,  // + StopReason: an interpreter fallback stopped (HLT, ...)
};

struct Runtime {
  uint8_t* exit_stub;     // restores host state, returns eax (and rdx) to the dispatcher
  uint8_t* settle_flags;  // Trampolines::settle_flags
  void* fallback_helper;  // uint32_t (CpuState*, FallbackInsn*)
  void* range_fault_helper;  // uint32_t (CpuState*, uint64_t addr, uint64_t pc, uint64_t write)
  void* rep_string_helper;   // uint32_t (CpuState*, FallbackInsn*, const GuestMemory*)
  const GuestMemory* mem;
  JumpCacheEntry* jump_cache;
  unsigned jump_cache_bits = CodeCache::kJumpCacheBits;  // log2 of its entries (CodeCache::jump_cache_index)
  bool use_jump_cache = true;
  bool count_insns = true;  // JitOptions::count_insns
  // Jump-cache lookups, counted where count_insns is on (--stats): JitStats' counters.
  uint64_t* jump_cache_hits = nullptr;
  uint64_t* jump_cache_misses = nullptr;
  // A block whose exit leads back to its own start loops in place (JitOptions::chain): guest
  // registers it reads stay in host registers across iterations.
  bool self_loops = true;
  // User mode, where XCR0 and CR4 never change (XSETBV is #GP at CPL 3): the translating
  // thread's XCR0 and CR4.OSXSAVE enable AVX, so a VEX op's #UD check is left out.
  bool vex_enabled = false;
  const uint64_t* window_limit;  // Trampolines::window_limit
  // User mode: Trampolines::range_fault[write] (null: each range check's out-of-line path
  // calls range_fault_helper itself, with the guest state written back first).
  const uint8_t* range_fault[2] = {nullptr, nullptr};
  // Trampolines::link_exit (null: each link stub sets rip and exits itself).
  const uint8_t* link_exit = nullptr;
  // System mode (src/jit/system/): guest accesses look up the softmmu's JIT TLB inline
  // instead of guest_base + a range check (memory_softmmu.cpp). Null in user mode.
  const void* tlb_table = nullptr;  // softmmu::Tlb::JitTable of the block's privilege
  bool tlb_user = false;            // ... which is the user (CPL 3) one
  void* tlb_fill_helper = nullptr;  // uint32_t (CpuState*, uint64_t addr, uint64_t how): 1 = retry
  // The shared out-of-line caller of tlb_fill_helper (memory_softmmu.h: emit_tlb_fill_thunk).
  const void* tlb_fill_thunk = nullptr;
  uint64_t* tlb_hits = nullptr;     // inline hits, counted where count_insns is on (--stats)
  // The guest pcs of the block's instructions in path order, and of its tail's (set per
  // block): a slow-path exit subtracts exactly the instructions it did not run.
  const std::vector<uint64_t>* insn_pcs = nullptr;
  const std::vector<uint64_t>* tail_insn_pcs = nullptr;
  // User mode, a block from a checked page (set per block, else null): the guest code ranges
  // [begin, end) it was translated from, compared with memory at every entry
  // (entry_check.cpp); on a difference the block exits with kExitStale before it runs.
  const std::vector<std::pair<uint64_t, uint64_t>>* entry_check = nullptr;
};

// Emits `block` into the cache, first dropping its dead instructions (ir::compact). Fills
// out.code, code_size, pc_map and exits. Returns false if the cache has no room (the caller flushes and retries) and throws std::runtime_error for a
// block the backend cannot allocate registers for (the caller retranslates it as fallbacks).
// `flags_hint`: CpuState's lazy flags word (lazy_flags_op | lazy_incdec_op << 8) when the
// block before it exited, a guess at what the block will find there (see the emitter).
bool emit_block(ir::Block& block, std::vector<std::unique_ptr<FallbackInsn>>& fallbacks,
                CodeCache& cache, const Runtime& rt, TranslatedBlock& out, uint16_t flags_hint = 0);

// The entry trampoline: uint64_t enter(CpuState* cpu, uint8_t* guest_base, void* code).
// Returns eax = ExitCode in the low 32 bits and rdx (for kExitLink) via *link_out.
struct Trampolines {
  using EnterFn = uint32_t (*)(void* cpu, uint8_t* guest_base, const void* code, void** link_out);
  EnterFn enter;
  uint8_t* exit_stub;
  // Called (rbx = CpuState*) to merge CpuState's lazy flags into rflags; keeps every register
  // but r11 and the host flags.
  uint8_t* settle_flags;
  // GuestMemory::limit, stored by the engine: translated code compares guest addresses with
  // it RIP-relative (guest addresses are valid below it).
  uint64_t* window_limit;
  // range_fault[write]: entered by jmp from a failed range check's stub, with the guest
  // address pushed and r11 = the host address of the access: it saves the host registers and
  // leaves through the fault scope as a host fault at that access would (range_fault_unwind),
  // so that the access's sync record rebuilds the guest state. The stub is three instructions
  // instead of a write-back of the dirty state and a helper call for every access.
  uint8_t* range_fault[2];
  // Entered by jmp from a chainable exit's link stub with rdx = its ExitSlot: rip = the
  // slot's target_pc, then the exit stub with kExitLink (a stub is then `mov rdx, slot; jmp`,
  // 15 bytes instead of 37).
  uint8_t* link_exit;
};
// Generates the trampolines in their own small executable buffer (never flushed).
// Generates the trampolines into `page` (4 KiB, RWX: the code cache's trampoline page).
Trampolines make_trampolines(void* page);

}  // namespace vireo::jit
