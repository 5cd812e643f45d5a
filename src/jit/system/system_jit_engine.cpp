#include "jit/system/system_jit_engine.h"

#include <Zydis/Zydis.h>
#include <fmt/format.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>

#include "cpu/decoder.h"
#include "interp/system/system_mode.h"
#include "jit/frontend/system.h"
#include "jit/frontend/translator.h"
#include "jit/backend/x64/memory_softmmu.h"
#include "jit/jit_engine.h"
#include "jit/passes/passes.h"

namespace vireo::jit {

namespace {

constexpr uint32_t kHostMxcsr = 0x1F80;

// The engine whose translated code is running on this thread (its helpers find it here).
thread_local SystemJitEngine* g_current = nullptr;


// What a system instruction run as a fallback may change so that the rest of its block no
// longer applies: the paging mode and tables, the privilege and code segment.
struct ModeState {
  uint64_t cr0, cr3, cr4, efer;
  uint16_t cs, cs_attrib;
  bool operator==(const ModeState&) const = default;
};
ModeState mode_state(const CpuState& c) {
  return {c.cr0, c.cr3, c.cr4, c.efer, c.seg[SEG_CS].selector, c.seg[SEG_CS].attrib};
}

uint64_t tlb_epoch(const softmmu::Mmu& m) { return m.tlb.stats.flushes + m.tlb.stats.page_flushes; }

}  // namespace

// After an INVLPG: whether what it dropped leaves the block's own code alone. The block's
// code is on the page of the INVLPG (plus the next page, where its last instruction may end);
// a flush of another page changes nothing the block was translated under (its accesses look
// the JIT TLB up again and miss). A kernel flushing a range runs INVLPG in a loop, which
// otherwise left its block at every page.
bool SystemJitEngine::flush_spares_code(const softmmu::TlbFlushLog& log, uint64_t pc) {
  if (log.all || log.non_global) return false;
  const uint64_t lo = pc & ~uint64_t(4095), hi = lo + 8192;
  for (unsigned k = 0; k < log.npages; ++k) {
    const uint64_t size = uint64_t(1) << log.page_shifts[k], start = log.pages[k] & ~(size - 1);
    if (start < hi && lo < start + size) return false;
  }
  return true;
}

SystemJitEngine::SystemJitEngine(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size, SystemJitOptions opts)
    : opts_(opts), ram_(ram), ram_size_(ram_size), interp_(bus, ram, ram_size, opts.int_log),
      sys_(*interp_.system_mode()), mmu_(sys_.mmu), cache_(opts.tc_size),
      tramp_(make_trampolines(cache_.trampoline_page())) {
  if (opts_.log_exec || opts_.check) opts_.chain = opts_.jump_cache = false;  // every block entry is seen
  if (opts_.check) opts_.count_insns = true;  // the replay runs as many instructions
  sys_.unimp_log = opts_.unimp_log;
  marks.assign(ram_size / 4096 + 1, 0);
  side_writes_.assign(ram_size / 4096 + 1, 0);
  mmu_.code_watch = this;
  mmu_.tlb.jit_used = true;
  rt_.exit_stub = tramp_.exit_stub;
  rt_.settle_flags = tramp_.settle_flags;
  rt_.fallback_helper = reinterpret_cast<void*>(&SystemJitEngine::fallback_helper);
  rt_.range_fault_helper = nullptr;  // (system mode leaves the block for the interpreter)
  rt_.rep_string_helper = reinterpret_cast<void*>(&SystemJitEngine::rep_string_helper);  // (system_helpers.cpp)
  static const GuestMemory kNoWindow{};
  rt_.mem = &kNoWindow;
  clear_jump_caches();
  rt_.jump_cache = jc_[0].entries.get();  // (per block: its privilege's, in translate)
  rt_.use_jump_cache = opts_.jump_cache;
  rt_.count_insns = opts_.count_insns;
  rt_.jump_cache_hits = &stats_.jump_cache_hits;
  rt_.jump_cache_misses = &stats_.jump_cache_misses;
  rt_.self_loops = opts_.chain;
  rt_.window_limit = tramp_.window_limit;
  rt_.tlb_fill_helper = reinterpret_cast<void*>(&SystemJitEngine::tlb_fill_helper);
  rt_.tlb_hits = &stats_.tlb_hits;
  emit_thunks();
}

void SystemJitEngine::emit_thunks() {
  rt_.tlb_fill_thunk = cache_.begin();
  cache_.commit(x64::emit_tlb_fill_thunk(cache_.begin(), cache_.free_bytes(), rt_.tlb_fill_helper));
}

SystemJitEngine::~SystemJitEngine() {
  mmu_.code_watch = nullptr;
  if (g_current == this) g_current = nullptr;
}

uint32_t SystemJitEngine::mode_bits(const CpuState& c) {
  using namespace softmmu::ctl;
  return cpl(c) | uint32_t((c.seg[SEG_CS].attrib & (seg_attr::L | seg_attr::DB)) >> 7) |
         (c.efer & EFER_LMA ? 1u << 5 : 0) | (c.cr0 & CR0_PG ? 1u << 6 : 0) | (c.cr4 & CR4_PAE ? 1u << 7 : 0);
}

bool SystemJitEngine::must_interpret(const CpuState& c) const {
  if (!in_64bit_mode(c)) return true;
  if (c.rflags & flag::TF) return true;
  if (sys_.irq_check || c.insn_count < sys_.shadow_end || c.insn_count < sys_.step_shadow_end) return true;
  if ((c.mxcsr & 0x1F80) != 0x1F80) return true;  // SSE exceptions unmasked: #XM exactly
  // Alignment checks (CR0.AM, EFLAGS.AC, CPL 3) are the interpreter's.
  if ((c.rflags & flag::AC) && (c.cr0 & (1u << 18)) && cpl(c) == 3) return true;
  return false;
}

uint64_t SystemJitEngine::delivered_events() const {
  uint64_t n = 0;
  for (const auto* by_vector : {&sys_.stats.exceptions, &sys_.stats.interrupts, &sys_.stats.software})
    for (uint64_t v : *by_vector) n += v;
  return n;
}

uint64_t SystemJitEngine::delivered_external() const {
  uint64_t n = 0;
  for (uint64_t v : sys_.stats.interrupts) n += v;
  return n;
}

// ---- the code cache: blocks by (physical pc, virtual pc, mode) ----

void SystemJitEngine::JumpCache::clear() {
  for (size_t i = 0; i < CodeCache::kJumpCacheSize; ++i) {
    entries[i] = {CodeCache::empty_jump_tag(i), nullptr};
    blocks[i] = {nullptr, 0};
  }
  std::fill(std::begin(page_bits), std::end(page_bits), 0);
  non_global = false;
}

// What the TLB dropped, the jump caches forget: everything on a full flush; on a CR3 write
// with CR4.PGE a cache only if it holds code from a non-global page (a kernel's code is
// global and survives its address-space switches); on INVLPG a cache only if it may hold
// code from that page (a large page: any).
void SystemJitEngine::jump_caches_follow_tlb(const softmmu::TlbFlushLog& log) {
  for (JumpCache& jc : jc_) {
    bool drop = log.all || (log.non_global && jc.non_global);
    for (unsigned k = 0; k < log.npages && !drop; ++k) {
      const size_t h = JumpCache::page_hash(log.pages[k]);
      drop = log.page_shifts[k] > 12 || (jc.page_bits[h / 64] >> (h % 64) & 1);
    }
    if (drop) jc.clear();
  }
}

void SystemJitEngine::jump_cache_fill(const Key& key, TranslatedBlock* b) {
  JumpCache& jc = jc_[(key.mode & 3) == 3];
  const size_t i = CodeCache::jump_cache_index(key.virt_pc, CodeCache::kJumpCacheBits);
  jc.entries[i] = {key.virt_pc, b->code};
  jc.blocks[i] = {b, key.phys_pc};
  const size_t h = JumpCache::page_hash(key.virt_pc);
  jc.page_bits[h / 64] |= uint64_t(1) << (h % 64);
  const softmmu::Tlb::Entry& e = mmu_.tlb.slot(key.virt_pc);
  if (!(e.vpn == key.virt_pc >> 12 && e.global)) jc.non_global = true;
}

void SystemJitEngine::flush_cache() {
  cache_.flush();
  clear_jump_caches();
  emit_thunks();
  blocks_.clear();
  key_of_.clear();
  cold_.clear();
  chainable_.clear();
  std::fill_n(lookup_slots_.get(), kLookupSlots, LookupSlot{});
  std::fill(marks.begin(), marks.end(), 0);
  std::fill(side_writes_.begin(), side_writes_.end(), 0);
  ++stats_.flushes;
}

void SystemJitEngine::forget(TranslatedBlock* b) {
  auto it = key_of_.find(b);
  if (it == key_of_.end()) return;
  for (auto& slot : b->exits) chainable_.erase(slot.get());
  drop_lookup_slot(it->second);
  blocks_.erase(it->second);
  key_of_.erase(it);
}

void SystemJitEngine::mark_code_page(uint64_t phys_page) {
  if (phys_page >= marks.size() || marks[phys_page]) return;
  marks[phys_page] = 1;
  // Writes through any mapping of the page now take the slow path (and drop its code).
  mmu_.tlb.jit_drop_writes(ram_ + (phys_page << 12));
}

void SystemJitEngine::code_written(uint64_t pa, uint64_t len) {
  if (check_pages_) {  // --check interp: keep the page as it was before the block
    for (uint64_t page = pa >> 12; page <= (pa + len - 1) >> 12; ++page)
      if (page < marks.size() && !check_pages_->count(page)) {
        auto copy = std::make_unique<uint8_t[]>(4096);
        std::memcpy(copy.get(), ram_ + (page << 12), 4096);
        check_pages_->emplace(page, std::move(copy));
      }
  }
  for (uint64_t page = pa >> 12; page <= (pa + len - 1) >> 12; ++page) {
    if (page >= marks.size() || !marks[page]) continue;
    // Only the blocks whose bytes the write touches go (QEMU's tb_invalidate_phys_range): a
    // kernel patching one instruction (static keys, alternatives, text_poke) keeps the rest
    // of the page's code. A page written beside its code over and over (data next to code)
    // is dropped whole after kMaxSideWrites such writes, so its writes go fast again.
    const uint64_t lo = std::max(pa, page << 12), hi = std::min(pa + len, (page + 1) << 12);
    size_t dropped = 0;
    bool left = false;
    if (auto it = cache_.pages().find(page); it != cache_.pages().end()) {
      std::vector<TranslatedBlock*> victims;
      for (TranslatedBlock* b : it->second)
        if (b->reads_code(lo, hi - lo)) victims.push_back(b);
      for (TranslatedBlock* b : victims) forget(b);
      if (!victims.empty()) dropped = cache_.invalidate(lo, hi - lo);
      left = cache_.pages().count(page) != 0;
    }
    if (left && !dropped && ++side_writes_[page] < kMaxSideWrites) continue;
    if (left) {
      std::vector<TranslatedBlock*> rest = cache_.pages().find(page)->second;
      for (TranslatedBlock* b : rest) forget(b);
      dropped += cache_.invalidate(page << 12, 4096);
    }
    if (dropped) {
      ++stats_.smc_pages;
      stats_.smc_blocks += dropped;
      clear_jump_caches();  // (they may lead to the blocks just dropped)
      code_changed_ = true;
    }
    if (!left) {  // (no code left on the page: writes to it go fast again)
      marks[page] = 0;
      side_writes_[page] = 0;
    }
  }
}

TranslatedBlock* SystemJitEngine::translate(const Key& key, uint8_t* host_page) {
  auto t0 = std::chrono::steady_clock::now();
  const uint64_t virt_page = key.virt_pc & ~uint64_t(4095);
  const uint64_t phys_page = key.phys_pc & ~uint64_t(4095);
  // The translator sees the block's page only: a block never reads code from a page that was
  // not translated with it (an instruction running into the next page ends the block before
  // it, and the interpreter runs that one).
  GuestMemory view{host_page - virt_page, virt_page + 4096, 0, nullptr};
  // Marked before the code is read: a write to it from now on drops what is translated.
  mark_code_page(phys_page >> 12);
  const uint32_t lengths[] = {64, 64, 16, 4, 1};
  const bool user = (key.mode & 3) == 3;
  rt_.tlb_table = mmu_.tlb.jit_table(user);
  rt_.tlb_user = user;
  rt_.jump_cache = jc_[user].entries.get();
  for (int attempt = 0; attempt < 6; ++attempt) {
    const bool interpret_all = attempt == 5;
    ir::Block block;
    std::vector<FallbackSite> fallbacks;
    BlockLimits limits{interpret_all ? 64u : lengths[attempt], attempt == 0};
    limits.system_mode = true;
    SystemContext sys_ctx{key.mode & 3, &sys_.tsc_aux, !opts_.check, &after_block_, !opts_.check};
    limits.system = &sys_ctx;
    if (debug_) limits.breakpoints = &debug_->breakpoints;  // (gdb: blocks end before them)
    if (!translate_block(view, key.virt_pc, limits, block, fallbacks, interpret_all)) return nullptr;
    const bool logging = opts_.log_in_asm || opts_.log_op || opts_.log_out_asm;
    std::optional<ir::Block> before;  // (the IR before the passes, for -d in_asm,op only)
    if (logging) before = block;
    passes::optimize(block);
    // The path's instructions in order, and the tail's (exact counts at slow-path exits; only
    // --stats counts instructions).
    std::vector<uint64_t> pcs, tail_pcs;
    for (size_t k = 0; opts_.count_insns && k < block.code.size(); ++k) {
      const bool tail = block.tail.present() && k + 1 == block.code.size();
      for (uint64_t pc = block.code[k].begin; pc < block.code[k].end;) {
        Insn in;
        const uint8_t* bytes = host_page + (pc - virt_page);
        if (!decoder_.decode(bytes, size_t(virt_page + 4096 - pc < 15 ? virt_page + 4096 - pc : 15), pc, in)) break;
        (tail ? tail_pcs : pcs).push_back(pc);
        pc += in.len;
      }
    }
    rt_.tail_insn_pcs = &tail_pcs;
    rt_.insn_pcs = &pcs;
    auto tb = std::make_unique<TranslatedBlock>();
    tb->guest_pc = (uint64_t(1) << 63) | next_id_++;  // (the cache's own key; ours is Key)
    for (const ir::CodeRange& r : block.code)
      tb->guest_code.emplace_back(phys_page + (r.begin - virt_page), phys_page + (r.end - virt_page));
    tb->guest_insns = block.guest_insns;
    for (auto& [in, fallback_pc] : fallbacks)
      tb->fallbacks.push_back(std::make_unique<FallbackInsn>(
          FallbackInsn{in, fallback_pc, &interp_, &stats_.fallbacks_by_mnemonic[in.mnemonic]}));
    // Exact instruction counts when a block is left at a fallback (see FallbackInsn).
    std::vector<uint64_t> self_counting_pcs;
    for (const ir::Inst& in : block.insts)
      if (!in.dead && in.op == ir::Opcode::Div) tb->fallbacks[in.args[0].v >> 16]->self_counting = false;
    for (auto& f : tb->fallbacks)
      if (f->self_counting) self_counting_pcs.push_back(f->pc);
    for (auto& f : tb->fallbacks)
      for (const std::vector<uint64_t>* path : {&pcs, &tail_pcs}) {
        auto at = std::find(path->begin(), path->end(), f->pc);
        if (at == path->end()) continue;
        for (auto it = at + 1; it != path->end(); ++it)
          if (std::find(self_counting_pcs.begin(), self_counting_pcs.end(), *it) == self_counting_pcs.end())
            ++f->counted_after;
        break;
      }
    try {
      if (!emit_block(block, tb->fallbacks, cache_, rt_, *tb, flags_hint_)) {
        flush_cache();
        mark_code_page(phys_page >> 12);
        tb->pc_map.clear();
        tb->exits.clear();
        tb->sync.clear();
        if (!emit_block(block, tb->fallbacks, cache_, rt_, *tb, flags_hint_))
          throw machine::MachineStop("jit: a block does not fit in an empty translation cache");
      }
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("jit backend") == std::string::npos) throw;
      continue;  // translated again shorter
    }
    rt_.insn_pcs = rt_.tail_insn_pcs = nullptr;
    ++stats_.blocks_translated;
    ++stats_.blocks_by_cpl[key.mode & 3];
    stats_.guest_insns_translated += tb->guest_insns;
    stats_.host_bytes += tb->code_size;
    if (logging) log_block(*before, block, *tb, host_page, virt_page);
    TranslatedBlock* raw = tb.get();
    cache_.insert(std::move(tb));
    blocks_[key] = raw;
    key_of_[raw] = key;
    lookup_slot(key) = {key, raw, nullptr};
    for (auto& slot : raw->exits)
      if (!((slot->target_pc ^ key.virt_pc) >> 12)) chainable_.emplace(slot.get(), std::make_pair(raw, key));
    stats_.translate_time += std::chrono::steady_clock::now() - t0;
    return raw;
  }
  rt_.insn_pcs = rt_.tail_insn_pcs = nullptr;
  return nullptr;  // (not even one instruction: the interpreter runs it)
}

TranslatedBlock* SystemJitEngine::lookup(CpuState& cpu, Key& key, bool* cold) {
  const uint64_t la = cpu.rip;
  if (!is_canonical(la) || la >= ~uint64_t(4095)) return nullptr;
  // The jump caches first learn what the TLB dropped and whether the mode changed (their
  // blocks must be those a full lookup would find): then a hit is the answer.
  if (!mmu_.tlb.flush_log.empty()) jump_caches_follow_tlb(mmu_.tlb.take_flushes());
  const uint32_t mode = mode_bits(cpu);
  JumpCache& jc = jc_[(mode & 3) == 3];
  if (jc.mode != mode) {
    jc.clear();
    jc.mode = mode;
  }
  if (opts_.jump_cache) {
    const size_t i = CodeCache::jump_cache_index(la, CodeCache::kJumpCacheBits);
    if (jc.entries[i].guest_pc == la && jc.blocks[i].first) {
      key = {jc.blocks[i].second, la, mode};
      jump_cache_hit_ = true;
      return jc.blocks[i].first;
    }
  }
  jump_cache_hit_ = false;
  uint64_t pa;
  uint32_t err;
  // A fetch that faults is the interpreter's to raise.
  if (!mmu_.translate(la, softmmu::Access::Exec, cpl(cpu) == 3, pa, err)) return nullptr;
  uint8_t* host = mmu_.ram_ptr(pa & ~uint64_t(4095), 4096);
  if (!host) return nullptr;
  key = {pa, la, mode};
  LookupSlot& slot = lookup_slot(key);
  if (slot.key != key) {  // (the maps, then the slot remembers the answer)
    slot = {key, nullptr, nullptr};
    if (auto it = blocks_.find(key); it != blocks_.end()) slot.block = it->second;
    else if (opts_.translate_after) slot.cold = &cold_.try_emplace(key).first->second;
  }
  if (slot.block) return slot.block;
  if (opts_.translate_after) {  // (the interpreter tier: cold code is not worth translating)
    if (slot.cold->entries < opts_.translate_after) {
      if (cold) {
        ++slot.cold->entries;
        *cold = true;
        cold_entry_ = slot.cold;
      }
      return nullptr;
    }
    cold_.erase(key);
    slot = LookupSlot{};
  }
  return translate(key, host);
}

// Cold code (the interpreter tier): the interpreter runs from cpu.rip to the next taken
// branch, at most 64 instructions, or until something needs the dispatcher. A start whose last
// run reached a taken branch after n instructions runs n at once (one call into the
// interpreter instead of n: its entry costs about as much as a simple instruction); should
// the path differ this time, the interpreter runs a few instructions past the branch, which
// changes nothing but where the dispatcher looks next.
StopReason SystemJitEngine::run_cold(CpuState& cpu, ColdEntry& e) {
  ++stats_.cold_runs;
  if (e.run_length > 1) {
    const uint64_t before = cpu.insn_count;
    StopReason r = interp_.run_system_steps(cpu, e.run_length, false);
    stats_.interp_steps += cpu.insn_count - before;
    return r == StopReason::InstructionLimit ? StopReason::None : r;
  }
  e.run_length = 0;
  for (uint32_t i = 1; i <= 64; ++i) {
    const uint64_t pc = cpu.rip;
    if (StopReason r = step_interpreter(cpu, false); r != StopReason::None) return r;
    // (a taken branch, an exception or interrupt delivered: the dispatcher looks up where)
    if (cpu.rip - pc - 1 >= 15) {
      e.run_length = i;
      break;
    }
    if (cpu.exit_request || must_interpret(cpu)) break;
    if (i == 64) e.run_length = 64;
  }
  return StopReason::None;
}

// ---- the dispatcher ----

StopReason SystemJitEngine::step_interpreter(CpuState& cpu, bool poll) {
  ++stats_.interp_steps;
  StopReason r = interp_.run_system_steps(cpu, 1, poll);
  return r == StopReason::InstructionLimit ? StopReason::None : r;
}

StopReason SystemJitEngine::run(CpuState& cpu) {
  g_current = this;
  // At every entry (after the platform served a stop, advanced the board or woke a HLT) the
  // interpreter takes a pending interrupt when RFLAGS.IF and the shadows allow, as its own
  // run() does: translated code checks cpu.exit_request at every block entry, which the host
  // timer raises for the board's next deadline, so an interrupt is taken at a block boundary.
  const uint64_t before = delivered_external();
  StopReason r = interp_.run_system_steps(cpu, 0, true);
  if (r != StopReason::InstructionLimit) return r;
  stats_.interrupts_at_entry += delivered_external() - before;
  return dispatch(cpu);
}

StopReason SystemJitEngine::dispatch(CpuState& cpu) {
  for (;;) {
    if (cpu.exit_request) return StopReason::ExitRequest;
    if (debug_) [[unlikely]] {  // (gdb: system_debug.cpp)
      bool handled = false;
      if (StopReason r = debug_dispatch(cpu, handled); r != StopReason::None) return r;
      if (handled) continue;
    }
    Key key{};
    bool cold = false;
    TranslatedBlock* b = must_interpret(cpu) ? nullptr : lookup(cpu, key, &cold);
    if (!b) {
      if (StopReason r = cold ? run_cold(cpu, *cold_entry_) : step_interpreter(cpu, false); r != StopReason::None)
        return r;
      continue;
    }
    if (opts_.jump_cache && !jump_cache_hit_) jump_cache_fill(key, b);
    if (opts_.log_exec)
      fmt::print(opts_.log, "Trace: {:#x} [{:#x}/{:#x}/{:#x}]\n", uint64_t(b->code), key.virt_pc, key.phys_pc, key.mode);
    ++stats_.entries_by_cpl[key.mode & 3];
    void* link = nullptr;
    uint32_t code;
    if (opts_.check) {
      if (StopReason r = run_checked_block(cpu, b, key, code, link); r != StopReason::None) return r;
    } else {
      code = enter(cpu, b, link);
    }
    if (after_block_) [[unlikely]] {
      if (StopReason r = finish_block(cpu); r != StopReason::None) return r;
    }
    switch (code) {
      case kExitDispatch: case kExitRequest: break;
      case kExitLink: {
        if (!opts_.chain) break;
        if (debug_ && debug_->is_breakpoint(cpu.rip)) break;  // (never chained: the loop top stops)
        // Chains only between blocks of one page (virtual and physical, same mode): the
        // target's translation then holds whenever the source's does. Any other successor is
        // looked up again through the TLB.
        // (only exits to the source's own page are in chainable_: the others probed the jump
        // cache already, and come here on a miss)
        auto* slot = static_cast<ExitSlot*>(link);
        auto fk = chainable_.find(slot);
        if (fk == chainable_.end() || must_interpret(cpu)) break;
        const auto [from, src] = fk->second;
        if ((src.virt_pc ^ cpu.rip) >> 12 || src.mode != mode_bits(cpu)) break;
        uint64_t flushes = stats_.flushes;
        Key tk{};
        TranslatedBlock* to = lookup(cpu, tk);
        if (to && flushes == stats_.flushes && key_of_.count(from) && (tk.phys_pc ^ src.phys_pc) >> 12 == 0) {
          cache_.link(slot, to);
          ++stats_.chains_patched;
        }
        break;
      }
      case kExitInterpret:
        ++stats_.tlb_slow_exits;
        if (StopReason r = step_interpreter(cpu, false); r != StopReason::None) return r;
        break;
      case kExitFault: case kExitSyscall:
        throw machine::MachineStop(fmt::format("jit: unexpected exit {} at rip={:#x}", code, cpu.rip));
      default: return StopReason(code - kExitStop);
    }
  }
}

// What a translated STI or POPFQ at the end of the block left to do (frontend/system.cpp), as
// the interpreter does after them (io.cpp sti, stack_modes.cpp popf), now that the instruction
// count is exact: STI's shadow lasts until the next instruction is done (it then runs in the
// interpreter: must_interpret); a POPF that set IF takes a pending interrupt at once.
StopReason SystemJitEngine::finish_block(CpuState& cpu) {
  const uint32_t what = std::exchange(after_block_, 0);
  if (what & kAfterSti) {
    sys_.shadow_end = cpu.insn_count + 1;
    sys_.irq_check = 1;
  }
  if (what & kAfterPoll) {
    const uint64_t before = delivered_external();
    StopReason r = interp_.run_system_steps(cpu, 0, true);
    if (r != StopReason::InstructionLimit) return r;
    stats_.interrupts_at_entry += delivered_external() - before;
  }
  return StopReason::None;
}

uint32_t SystemJitEngine::enter(CpuState& cpu, TranslatedBlock* b, void*& link) {
  uint32_t code = tramp_.enter(&cpu, nullptr, b->code, &link);
  flags_hint_ = uint16_t(cpu.lazy_flags_op | cpu.lazy_incdec_op << 8);
  settle_lazy_flags(cpu);
  if (pending_error_) std::rethrow_exception(std::exchange(pending_error_, nullptr));
  return code;
}

// ---- helpers called from translated code ----

// An instruction the frontend does not translate: the system interpreter runs it (with its
// fault delivery, interrupt windows and system instructions). The block goes on only when
// nothing it was translated under changed: the next instruction is the fall-through, the
// mode, paging and TLB are the same, no code was written and no interrupt window opened.
uint32_t SystemJitEngine::fallback_helper(CpuState* cpu, FallbackInsn* f) {
  SystemJitEngine& e = *g_current;
  if (uint32_t code; e.run_helper(*cpu, f, code)) return code;  // (IRETQ, SYSRET, INVLPG: system_helpers.cpp)
  ++*f->counter;
  // (f may be dropped by code_written: what is needed of it is copied first)
  const uint64_t pc = f->pc, next = f->pc + f->insn.len;
  const uint32_t counted_after = f->counted_after;
  const bool self_counting = f->self_counting;
  settle_lazy_flags(*cpu);
  cpu->mxcsr = _mm_getcsr();
  _mm_setcsr(kHostMxcsr);
  cpu->rip = pc;
  const ModeState before = mode_state(*cpu);
  const uint64_t epoch = tlb_epoch(e.mmu_), full_flushes = e.mmu_.tlb.stats.flushes;
  e.code_changed_ = false;
  // The block's entry counted the instructions after this one (and a Div this one too): they
  // come off before the interpreter runs it (an STI or MOV SS shadow ends relative to the
  // count), and go back on if the block goes on. (A Div's slow path always leaves the block.)
  const bool count = e.opts_.count_insns;
  if (count) cpu->insn_count -= (self_counting ? 0 : 1) + counted_after;
  StopReason r;
  try {
    r = e.interp_.run_system_steps(*cpu, 1, false);
  } catch (...) {
    // (a triple fault, code outside RAM: no C++ exception may cross translated code's frames)
    _mm_setcsr(cpu->mxcsr);
    e.pending_error_ = std::current_exception();
    return kExitRequest;  // (the machine stops: the count does not matter)
  }
  _mm_setcsr(cpu->mxcsr);
  uint32_t code;
  if (r == StopReason::InstructionLimit) {
    bool tlb_same = tlb_epoch(e.mmu_) == epoch;
    if (!tlb_same && e.mmu_.tlb.stats.flushes == full_flushes && flush_spares_code(e.mmu_.tlb.flush_log, pc)) {
      // (the jump caches follow the TLB now: the block's exits probe them)
      e.jump_caches_follow_tlb(e.mmu_.tlb.take_flushes());
      tlb_same = true;
    }
    bool same = cpu->rip == next && mode_state(*cpu) == before && tlb_same && !e.code_changed_ &&
                !e.must_interpret(*cpu);
    code = same ? kExitDispatch : kExitRequest;
  } else {
    // (ExitRequest included: a port output returns to the platform, which advances the board)
    code = kExitStop + uint32_t(r);
  }
  if (count && self_counting && code == kExitDispatch) cpu->insn_count += counted_after;
  return code;
}

uint32_t SystemJitEngine::rep_string_helper(CpuState* cpu, FallbackInsn* f, const GuestMemory*) {
  return g_current->rep_string(*cpu, f);
}

// The slow path of an inline TLB lookup: fills the slot and returns 1 when the access can now
// go straight to RAM; 0 sends the instruction to the interpreter.
uint32_t SystemJitEngine::tlb_fill_helper(CpuState* cpu, uint64_t addr, uint64_t how) {
  (void)cpu;
  SystemJitEngine& e = *g_current;
  ++e.stats_.tlb_fills;
  const unsigned size = unsigned(how & 0xFF);
  const bool write = how & 0x100, user = how & 0x200;
  if (!is_canonical(addr) || (addr & 4095) + size > 4096) return 0;
  uint64_t pa;
  uint32_t err;
  try {
    if (!e.mmu_.translate(addr, write ? softmmu::Access::Write : softmmu::Access::Read, user, pa, err)) return 0;
  } catch (...) {
    return 0;  // (the interpreter runs the instruction and meets the error itself)
  }
  e.mmu_.jit_refill(addr);
  if (e.debug_ && !e.debug_->watchpoints.empty()) e.drop_watched_tags(addr);  // (gdb)
  softmmu::JitTlbEntry& j = e.mmu_.tlb.jit_slot(addr, user);
  if (e.check_pages_ && !write) j.write_tag = ~uint64_t(0);  // (--check: a write saves the page first)
  const uint64_t page = addr & ~uint64_t(4095);
  if ((write ? j.write_tag : j.read_tag) != page) return 0;
  if (write && e.check_pages_) e.code_written(pa, size);  // (--check: keep the page's old contents)
  return 1;
}

// ---- --stats and -d ----

void SystemJitEngine::print_stats(std::FILE* out, double seconds) const {
  const SystemJitStats& s = stats_;
  fmt::print(out, "  blocks translated:    {} (CPL 0: {}, CPL 3: {})\n", s.blocks_translated, s.blocks_by_cpl[0],
             s.blocks_by_cpl[3]);
  fmt::print(out, "  guest insns translated: {}\n", s.guest_insns_translated);
  fmt::print(out, "  host code bytes:      {}\n", s.host_bytes);
  fmt::print(out, "  translation time:     {:.3f} s\n", std::chrono::duration<double>(s.translate_time).count());
  fmt::print(out, "  cache flushes:        {}\n", s.flushes);
  fmt::print(out, "  block entries (dispatcher): {} (CPL 0: {}, CPL 3: {})\n",
             s.entries_by_cpl[0] + s.entries_by_cpl[1] + s.entries_by_cpl[2] + s.entries_by_cpl[3], s.entries_by_cpl[0],
             s.entries_by_cpl[3]);
  fmt::print(out, "  chains patched:       {}\n", s.chains_patched);
  if (!opts_.jump_cache) {
    fmt::print(out, "  jump cache:           off\n");
  } else {
    const uint64_t lookups = s.jump_cache_hits + s.jump_cache_misses;
    fmt::print(out, "  jump cache:           {} lookups, {} hits ({:.1f}%)\n", lookups, s.jump_cache_hits,
               lookups ? 100.0 * double(s.jump_cache_hits) / double(lookups) : 0.0);
  }
  fmt::print(out, "  TLB (translated code): {} hits, {} misses ({} left the block for the interpreter)\n", s.tlb_hits,
             s.tlb_fills, s.tlb_slow_exits);
  fmt::print(out, "  code pages written:   {} (blocks invalidated: {})\n", s.smc_pages, s.smc_blocks);
  fmt::print(out, "  interrupts at block entry: {}\n", s.interrupts_at_entry);
  fmt::print(out, "  interpreter steps (dispatcher): {}\n", s.interp_steps);
  if (opts_.translate_after)
    fmt::print(out, "  interpreter tier:     {} runs of cold code (translated after {} entries)\n", s.cold_runs,
               opts_.translate_after);
  if (opts_.check)
    fmt::print(out, "  --check interp:       {} blocks compared, {} not (interpreter fallbacks)\n", s.checked_blocks,
               s.unchecked_blocks);
  print_fallbacks(out, s.fallbacks_by_mnemonic);
  print_helpers(out);
  interp_.print_stats(out, seconds);
}

void SystemJitEngine::log_block(const ir::Block& before, const ir::Block& after, const TranslatedBlock& tb,
                                const uint8_t* host_page, uint64_t virt_page) {
  std::FILE* f = opts_.log;
  if (opts_.log_in_asm) {
    fmt::print(f, "IN: {:#x} (physical {:#x})\n", before.guest_pc, tb.guest_code.front().first);
    for (size_t k = 0; k < before.code.size(); ++k) {
      const ir::CodeRange& r = before.code[k];
      if (k) fmt::print(f, "  -> {:#x}\n", r.begin);
      for (uint64_t pc = r.begin; pc < r.end;) {
        const uint8_t* bytes = host_page + (pc - virt_page);
        size_t n = std::min<uint64_t>(15, virt_page + 4096 - pc);
        Decoder d;
        Insn in;
        if (!d.decode(bytes, n, pc, in)) break;
        fmt::print(f, "{:#018x}:  {}\n", pc, disassemble(bytes, n, pc));
        pc += in.len;
      }
    }
    fmt::print(f, "\n");
  }
  if (opts_.log_op) fmt::print(f, "OP:\n{}\nOP after optimization:\n{}\n", ir::print(before), ir::print(after));
  if (opts_.log_out_asm) {
    fmt::print(f, "OUT: [size={}]\n", tb.code_size);
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    for (uint32_t off = 0; off < tb.code_size;) {
      ZydisDecodedInstruction zi;
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, nullptr, tb.code + off, tb.code_size - off, &zi))) break;
      fmt::print(f, "{:#018x}:  {}\n", uint64_t(tb.code + off),
                 disassemble(tb.code + off, tb.code_size - off, uint64_t(tb.code + off)));
      off += zi.length;
    }
    fmt::print(f, "\n");
  }
}

}  // namespace vireo::jit
