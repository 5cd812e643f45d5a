// TranslatedBlock: one guest block's host code and what is needed to manage it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "cpu/cpu_state.h"
#include "cpu/insn.h"
#include "jit/cache/compact_vec.h"

namespace vireo {
class Interpreter;
}

namespace vireo::jit {

// A guest instruction the block runs through the interpreter (the JIT's fallback, like a
// QEMU helper call). Heap-allocated so translated code can point at it.
struct FallbackInsn {
  Insn insn;
  uint64_t pc;
  Interpreter* interp;
  uint64_t* counter;  // the engine's --stats counter for this mnemonic
  // System mode (src/jit/system/): the instructions after this one that the block's entry
  // counted, and whether this one counts itself (an Interpret op) or was counted at the
  // entry (a Div's slow path): a block left here subtracts what did not run.
  uint32_t counted_after = 0;
  bool self_counting = true;
};

// A patchable block exit: a 5-byte `jmp rel32` that first leads to a stub asking the
// dispatcher to link it, and is then patched to jump straight to the successor.
// (From a SlabPool, 32 bytes each: translated code holds its address, so it cannot live in a
// list that moves.)
// An entry of a block's table of exits (a jump-table dispatch, frontend/jump_table.h) is one
// too: `jmp` is then the 8-byte host address the block's `jmp [exits + index*8]` reads, with
// kTableEntry set (a host address has bit 63 clear; the slot stays 32 bytes), patched with
// an aligned store (atomic for a thread running the block).
struct ExitSlot {
  uint8_t* jmp;           // address of the E9 rel32 instruction (or of the table entry)
  uint8_t* unlinked;      // where it jumps while unlinked (the block's link stub)
  uint64_t target_pc;     // guest pc it leads to
  struct TranslatedBlock* linked = nullptr;
  static constexpr uintptr_t kTableEntry = uintptr_t(1) << 63;
  bool table_entry() const { return (reinterpret_cast<uintptr_t>(jmp) & kTableEntry) != 0; }
  uint64_t* entry() const { return reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(jmp) & ~kTableEntry); }
  static void* operator new(size_t size);
  static void operator delete(void* p);
  // Room for n slots under one lock of their pool (block_alloc.cpp): each is made there with
  // placement new and freed by operator delete as any other.
  static void allocate(size_t n, void** out);
};

// Guest flags not computed yet (QEMU's lazy cc_op): the operation that sets them and where
// its operands live. Translated code computes flags only where something reads them; a fault
// before that point recomputes them from this recipe.
struct FlagsRecipe {
  // Shl/Shr/Sar/Rol/Ror: by an immediate count (imm, never 0), run as the host's own shift
  // (its flags, the undefined ones included, are the guest's: interp/shift.cpp).
  // Imul: the two- and three-operand imul of a by b (a register), whose only flags written
  // are CF and OF (= the signed product does not fit the width; SF/ZF/AF/PF are kept, as
  // the interpreter does: interp/muldiv.cpp).
  enum Op : uint8_t { None, Add, Sub, Logic, Inc, Dec, Shl, Shr, Sar, Rol, Ror, Imul };
  Op op = None;
  uint8_t size = 8;     // operand width in bytes
  int8_t a = -1, b = -1;  // host registers of the operands (b = -1: the immediate)
  uint64_t imm = 0;
  // The six arithmetic flags of the operation on these host register values.
  uint64_t eval(const uint64_t* host_regs) const;
};

// CpuState::lazy_flags_op for flags left uncomputed at a block exit: 1 + 4 * k + log2(size)
// for k = 0 (Add), 1 (Sub), 2 (Logic). Only these, whose flags cover all of flag::ARITH.
constexpr int kLazyFlagsCodes = 12;
// Then, past kLazyFlagsValue, the shifts by an immediate (all six flags): kLazyShiftFirst +
// 4 * k + log2(size) for k = 0 (Shl), 1 (Shr), 2 (Sar), with the count in lazy_flags_b.
constexpr int kLazyShiftFirst = kLazyFlagsCodes + 2, kLazyShiftCodes = 12;
inline bool is_shift(FlagsRecipe::Op op) { return op >= FlagsRecipe::Shl && op <= FlagsRecipe::Ror; }
inline bool leaves_lazy_flags(FlagsRecipe::Op op) {
  return op == FlagsRecipe::Add || op == FlagsRecipe::Sub || op == FlagsRecipe::Logic ||
         op == FlagsRecipe::Shl || op == FlagsRecipe::Shr || op == FlagsRecipe::Sar;
}
uint8_t lazy_flags_code(FlagsRecipe::Op op, unsigned size);
// CpuState::lazy_incdec_op: 1 + 4 * k + log2(size) for k = 0 (Inc), 1 (Dec).
constexpr int kLazyIncDecCodes = 8;
inline bool is_inc_dec(FlagsRecipe::Op op) { return op == FlagsRecipe::Inc || op == FlagsRecipe::Dec; }
uint8_t lazy_incdec_code(FlagsRecipe::Op op, unsigned size);
// Flags a block computed (a shift's, an imul's, an adc's: RFLAGS captured after the host ran
// the guest's instruction) left at its exit as a *value* instead of merged into rflags: the
// first layer's kLazyFlagsValue sets all six arithmetic flags from lazy_flags_a; the second
// layer's partial codes set the bits of lazy_partial_mask(code) from lazy_incdec_a, over the
// first layer (an imul's or a rotate's CF and OF, a bt's CF). Two stores at the exit instead
// of the settle_flags call and the read-modify-write of rflags that a partial write needs.
constexpr uint8_t kLazyFlagsValue = kLazyFlagsCodes + 1;
constexpr uint8_t kLazyPartialCfOf = kLazyIncDecCodes + 1;  // CF and OF
constexpr uint8_t kLazyPartialCf = kLazyIncDecCodes + 2;    // CF
constexpr int kLazyPartialCodes = 2;
// Then an imul left uncomputed (CF and OF, like kLazyPartialCfOf): kLazyImulFirst +
// log2(size) for sizes 2, 4 and 8, its operands in lazy_incdec_a and lazy_incdec_b.
constexpr uint8_t kLazyImulFirst = kLazyPartialCf + 1;
constexpr int kLazyImulCodes = 4;  // (log2(size) 0 is unused: imul has no byte form here)
uint8_t lazy_imul_code(unsigned size);
// The second-layer code for a flags value written under `mask`, or 0 if there is none.
uint8_t lazy_partial_code(uint64_t mask);
uint64_t lazy_partial_mask(uint8_t code);
// Merges CpuState's lazy flags into rflags and clears them (see CpuState::lazy_flags_op).
void settle_lazy_flags(CpuState& cpu);

// At a guest memory access inside translated code, which guest state lives only in host
// registers: a host fault there copies it from the signal context into CpuState.
// (guest GPR, host register) pairs, held inline: a block has a sync record per guest access,
// and a heap vector each was a malloc per access at translation.
struct GprLocations {
  std::array<std::pair<uint8_t, uint8_t>, 16> v{};
  uint8_t n = 0;
  void emplace_back(uint8_t guest, uint8_t host) { v[n++] = {guest, host}; }
  auto begin() { return v.begin(); }
  auto end() { return v.begin() + n; }
  auto begin() const { return v.begin(); }
  auto end() const { return v.begin() + n; }
  size_t size() const { return n; }
  bool empty() const { return n == 0; }
};

struct SyncRecord {
  uint32_t host_offset;                           // the access instruction
  GprLocations gprs;                              // (guest GPR, host register)
  int8_t flags_reg = -1;                          // host register holding dirty flags
  uint64_t flags_mask = 0;
  FlagsRecipe flags_recipe;                       // or the recipe of dirty flags not computed
  // Under dirty inc/dec flags (flags_mask without CF): the uncomputed flags of the operation
  // before them, which supply CF. Applied first, to all six.
  FlagsRecipe base_recipe;
  // flags_recipe holds only when this host register is nonzero (else the flags are CpuState's):
  // a loop's carried flags (backend/x64/flag_state.cpp, plan_carried_flags).
  int8_t flags_if = -1;
  uint16_t xmm_dirty = 0;  // guest XMM registers newer in host xmm(same number) than in CpuState
  uint16_t ymm_hi_dirty = 0;  // guest YMM upper halves newer in host ymm(same number) (a VEX loop)
  uint32_t host_end = 0;   // the end of the op's code that the record covers (0: only host_offset)
};

// Its fields are ordered and typed for size (issue 22, "Peak RSS": gcc's cc1 keeps ~50,000
// live): 8-byte CompactVec lists instead of 24-byte std::vectors, no padding holes, and the
// record itself from a SlabPool (no malloc header).
struct TranslatedBlock {
  uint64_t guest_pc = 0;
  uint8_t* code = nullptr;  // entry
  uint32_t code_size = 0;
  uint32_t guest_insns = 0;
  uint32_t packed_pc_bytes = 0, packed_sync_bytes = 0;
  // guest_code and exits moved into `packed` by pack_metadata (below): how many of each.
  uint16_t packed_ranges = 0, packed_exits = 0;
  bool self_loop = false;  // loops in place (an exit back to its own start, see the emitter)
  // The guest code it was translated from, [begin, end) ranges (ir::Block::code): the block
  // is registered under their pages, and invalidating any of their bytes removes it.
  // Read through code_range_count/code_range: once packed, the ranges are in `packed`.
  CompactVec<std::pair<uint64_t, uint64_t>> guest_code;
  size_t code_range_count() const { return packed_ranges ? packed_ranges : guest_code.size(); }
  std::pair<uint64_t, uint64_t> code_range(size_t i) const {
    if (!packed_ranges) return guest_code[i];
    std::pair<uint64_t, uint64_t> r;
    std::memcpy(&r.first, packed.get() + 16 * i, 8);
    std::memcpy(&r.second, packed.get() + 16 * i + 8, 8);
    return r;
  }
  bool reads_code(uint64_t addr, uint64_t len) const {
    for (size_t i = 0; i < code_range_count(); ++i) {
      auto [begin, end] = code_range(i);
      if (begin < addr + len && addr < end) return true;
    }
    return false;
  }
  // The guest page numbers (address >> 12) of the code ranges, ascending, each once. Held
  // inline up to PageList::kInline pages: a block's ranges are mostly on one or two pages,
  // and a vector was a malloc and a free each time the cache registered, protected or
  // removed a block.
  class PageList {
   public:
    static constexpr size_t kInline = 8;
    void push_back(uint64_t p) {
      if (n_ < kInline) {
        small_[n_++] = p;
        return;
      }
      if (more_.empty()) more_.assign(small_.begin(), small_.end());
      more_.push_back(p);
    }
    const uint64_t* begin() const { return more_.empty() ? small_.data() : more_.data(); }
    const uint64_t* end() const { return more_.empty() ? small_.data() + n_ : more_.data() + more_.size(); }
    size_t size() const { return size_t(end() - begin()); }
    operator std::vector<uint64_t>() const { return {begin(), end()}; }
    bool operator==(const std::vector<uint64_t>& v) const { return std::equal(begin(), end(), v.begin(), v.end()); }
    void sort_unique() {
      uint64_t* b = more_.empty() ? small_.data() : more_.data();
      uint64_t* e = b + size();
      std::sort(b, e);
      const size_t kept = size_t(std::unique(b, e) - b);
      if (more_.empty()) n_ = uint32_t(kept);
      else more_.resize(kept);
    }

   private:
    std::array<uint64_t, kInline> small_;
    uint32_t n_ = 0;
    std::vector<uint64_t> more_;  // all of them, once past kInline
  };
  PageList guest_pages() const {
    PageList pages;
    for (size_t i = 0; i < code_range_count(); ++i) {
      auto [begin, end] = code_range(i);
      for (uint64_t p = begin >> 12; end > begin && p <= (end - 1) >> 12; ++p) pages.push_back(p);
    }
    pages.sort_unique();
    return pages;
  }
  // Host offset -> guest pc of the instruction whose code starts there, ascending, so a host
  // pc inside the block finds its guest instruction (precise exceptions).
  CompactVec<std::pair<uint32_t, uint64_t>> pc_map;
  CompactVec<SyncRecord> sync;  // ascending host_offset
  // pc_map and sync once the block is emitted (pack_metadata), delta-coded: they are read only
  // when a host fault hits the block, and as vectors they were 4x the host code's size
  // (88 bytes a sync record; gcc's cc1 held 33 MB of them beside a 16 MiB cache). Empty
  // while the vectors are in use (the emitter fills them; system mode keeps them).
  // One exact-size allocation, the pc map then the sync records (two vectors were 48 bytes of
  // headers, two allocations and their slack per block: ~3 MB of cc1's 40,000 live blocks).
  // In front of them, guest_code's ranges (16 bytes each) and the exits' pointers (8 each),
  // fixed once the block is emitted: their own two allocations were ~3 MB of cc1's 50,000
  // blocks more (issue 22, "Peak RSS").
  std::unique_ptr<uint8_t[]> packed;
  size_t packed_bytes() const { return size_t(packed_pc_bytes) + packed_sync_bytes; }  // (the metadata's)
  size_t packed_lists_bytes() const { return size_t(packed_ranges) * 16 + size_t(packed_exits) * 8; }
  // Moves pc_map and sync (coded), guest_code and exits into `packed` (user mode, once the
  // block is emitted; system mode keeps the lists).
  void pack_metadata();
  // The sync record covering host offset `off` (exactly at its access, or inside the op code
  // it covers), from either form.
  bool find_sync(uint32_t off, SyncRecord& out) const;
  // Read through exit_count/exit_at: once packed, the slots' pointers are in `packed` (and the
  // block owns them still: ~TranslatedBlock).
  CompactVec<std::unique_ptr<ExitSlot>> exits;
  size_t exit_count() const { return packed_exits ? packed_exits : exits.size(); }
  ExitSlot* exit_at(size_t i) const {
    if (!packed_exits) return exits[i].get();
    ExitSlot* e;
    std::memcpy(&e, packed.get() + size_t(packed_ranges) * 16 + 8 * i, 8);
    return e;
  }
  CompactVec<ExitSlot*> incoming;  // slots in other blocks patched to jump here
  std::vector<std::unique_ptr<FallbackInsn>> fallbacks;  // (emit_block appends to it)

  uint64_t guest_pc_at(uint64_t host_pc) const;

  TranslatedBlock() = default;
  ~TranslatedBlock();
  TranslatedBlock(const TranslatedBlock&) = delete;
  TranslatedBlock& operator=(const TranslatedBlock&) = delete;

  static void* operator new(size_t size);
  static void operator delete(void* p);
};

}  // namespace vireo::jit
