#include "jit/jit_engine.h"

#include <Zydis/Zydis.h>
#include <xmmintrin.h>
#include <fmt/format.h>

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include "cpu/cpuid.h"
#include "cpu/decoder.h"
#include "interp/dispatch.h"
#include "interp/memory_fault.h"
#include "mem/address_space.h"
#include "mem/host_fault_gp.h"
#include "jit/frontend/call_guess.h"
#include "jit/passes/passes.h"
#include "jit/runtime/helpers.h"
#include "support/diag_stream.h"

namespace vireo::jit {

namespace {

constexpr uint32_t kHostMxcsr = 0x1F80;

// make_trampolines writes the same code at the same address: a recycled cache mapping
// (code_cache.h) holds it still, with the record of where each entry is in its note.
Trampolines trampolines_of(CodeCache& cache) {
  static_assert(std::is_trivially_copyable_v<Trampolines> && sizeof(Trampolines) <= CodeCache::kTrampolineRecordBytes);
  Trampolines t;
  if (cache.trampolines_ready()) {
    std::memcpy(&t, cache.trampolines_note(), sizeof t);
    return t;
  }
  t = make_trampolines(cache.trampoline_page());
  std::memcpy(cache.trampolines_note(), &t, sizeof t);
  cache.set_trampolines_ready();
  return t;
}

}  // namespace

JitEngine::JitEngine(const GuestMemory& mem, JitOptions opts)
    : mem_(mem), opts_(opts), interp_(mem, opts.tiers.interp_cache_entries),
      cache_(opts.tc_size, CodeCache::Mapping::Lazily), tiering_(opts.tiers) {
  if (opts_.log_exec) opts_.chain = opts_.jump_cache = false;  // every block entry is seen
  rt_.fallback_helper = reinterpret_cast<void*>(&fallback_helper);
  rt_.range_fault_helper = reinterpret_cast<void*>(&range_fault_helper);
  rt_.rep_string_helper = reinterpret_cast<void*>(&rep_string_helper);
  rt_.mem = &mem_;
  rt_.jump_cache_bits = CodeCache::kUserJumpCacheBits;
  rt_.use_jump_cache = opts_.jump_cache;
  rt_.count_insns = opts_.count_insns;
  rt_.jump_cache_hits = &stats_.jump_cache_hits;
  rt_.jump_cache_misses = &stats_.jump_cache_misses;
  rt_.self_loops = opts_.chain;  // (a loop in place is a block chained to itself)
  shared_ = opts_.shared ? opts_.shared : std::make_shared<SharedCode>(mem_);
  install_host_fault_handlers();
  // The tier took over the decode cache of the image before an in-place execve: a new process
  // as a forked child is, whose kept entries are its parent's (interp/kept_decodes.cpp).
  if (interp_.reused_decodes()) tiering_.new_process();
  // (the code cache, its trampolines and their runtime fields: at the first translation,
  // map_code_cache)
}

// The code cache's mapping and the trampolines, made at the first translation: an engine whose
// process never gets hot (most exec'd programs of a shell script) costs what the interp
// engine's does (issue 22, "Start-up, tenth pass").
void JitEngine::map_code_cache() {
  cache_.map();
  tramp_ = trampolines_of(cache_);
  rt_.exit_stub = tramp_.exit_stub;
  rt_.settle_flags = tramp_.settle_flags;
  rt_.jump_cache = cache_.jump_cache();
  // (stored only when it changes: a kept trampoline page is often a forked parent's, shared
  // copy-on-write; the same guest window has the same limit)
  if (*tramp_.window_limit != mem_.limit) *tramp_.window_limit = mem_.limit;
  rt_.window_limit = tramp_.window_limit;
  rt_.range_fault[0] = tramp_.range_fault[0];
  rt_.range_fault[1] = tramp_.range_fault[1];
  rt_.link_exit = tramp_.link_exit;
  if (opts_.perfmap) {
    auto at = [](const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); };
    uint64_t enter = at(reinterpret_cast<const void*>(tramp_.enter));
    fmt::print(opts_.perfmap, "{:x} {:x} vireo:enter\n", enter, at(tramp_.exit_stub) - enter);
    fmt::print(opts_.perfmap, "{:x} {:x} vireo:exit\n", at(tramp_.exit_stub), at(tramp_.settle_flags) - at(tramp_.exit_stub));
    fmt::print(opts_.perfmap, "{:x} {:x} vireo:settle_flags\n", at(tramp_.settle_flags),
               at(tramp_.window_limit) - at(tramp_.settle_flags));
    std::fflush(opts_.perfmap);
  }
}

JitEngine::~JitEngine() {
  settle_kernel_lifts();
  if (member_) shared_->leave(member_);
}

void JitEngine::invalidate(uint64_t addr, uint64_t len) {
  if (len == 0) return;
  stats_.invalidations += cache_.invalidate(addr, len);
  interp_.invalidate(addr, len);
  if (!member_) return;
  std::vector<uint64_t> aliased;  // code elsewhere that showed this range (shared views)
  shared_->invalidate_range(member_, addr, len, aliased);
  for (uint64_t page : aliased) stats_.invalidations += cache_.invalidate(page, 4096);
}

// Only the code pages translated from other views of the same file: a storm of views of one
// file (Go's TestMemmoveOverflow maps 49,152) walked every other view at every mmap, and each
// walk's invalidations were queued for every other thread until their queues overflowed into
// full cache flushes.
void JitEngine::shared_file_mapped(uint64_t addr, uint64_t len) {
  std::vector<uint64_t> code_pages;
  shared_->file_viewed(addr, len, code_pages);
  for (uint64_t page : code_pages) invalidate(page, 4096);
}

void JitEngine::prepare_guest_write(uint64_t addr, uint64_t len) {
  watch_kernel_access(addr, len);
  if (len == 0 || !member_) return;
  std::vector<uint64_t> code_pages;
  if (shared_->range_written(member_, addr, len, code_pages))
    for (uint64_t code : code_pages) stats_.smc_invalidated_blocks += cache_.invalidate(code, 4096);
}

// Only pages the guest may write need protecting; the guest's own protection comes from its
// address space (user mode). Without one (system mode), nothing is protected here.
bool JitEngine::protect_code_pages(const TranslatedBlock& b) {
  if (!mem_.space || !member_) return false;
  bool checked = false;
  for (uint64_t number : b.guest_pages()) checked |= shared_->protect(member_, number << 12);
  return checked;
}

bool JitEngine::handle_code_write(uint64_t addr) {
  const uint64_t page = addr & ~uint64_t(4095);
  if (!member_) return false;
  std::vector<uint64_t> code_pages;  // the page itself, or the code pages it is a view of
  if (!shared_->code_written(member_, page, code_pages)) {
    // Another thread made the page writable again between our write and its fault: the
    // write goes through now. (Anything else is the guest's own fault.)
    int prot = mem_.space ? mem_.space->prot_at(page) : -1;
    return prot >= 0 && (prot & PROT_WRITE) && !shared_->watch_fault(page, true);
  }
  ++stats_.smc_write_faults;
  for (uint64_t code : code_pages) {
    // Blocks whose own bytes are being written (8 bytes: the widest ordinary store) are what
    // an SMC storm rewrites again and again: such faults count towards demoting the page to
    // the interpreter tier. A guest JIT writing new code next to code it runs does not hit
    // them. (Through another view, the same offset in the code page.)
    const size_t rewritten = cache_.invalidate(code + (addr - page), 8);
    stats_.smc_invalidated_blocks += rewritten + cache_.invalidate(code, 4096);
    // New code written next to code that runs (a guest JIT's arena): after a few such faults
    // the page stays writable and its blocks check their bytes at entry instead.
    if (rewritten) tiering_.note_code_write(code);
    else shared_->note_write_near_code(member_, code);
  }
  return true;
}

// Drops `b` (and whatever else was translated from its guest bytes): a checked block whose
// bytes changed, or one translated unchecked from a page that became checked meanwhile.
void JitEngine::drop_block_code(const TranslatedBlock* b) {
  if (!b) return;
  // (b is freed by the first invalidation: its ranges are read before)
  thread_local std::vector<std::pair<uint64_t, uint64_t>> ranges;
  ranges.clear();
  for (size_t i = 0; i < b->code_range_count(); ++i) ranges.push_back(b->code_range(i));
  for (auto [begin, end] : ranges) stats_.invalidations += cache_.invalidate(begin, end - begin);
}

void JitEngine::drop_stale_code() {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (shared_->take(member_, ranges)) {
    flush_cache();
    return;
  }
  for (auto [addr, len] : ranges) {
    stats_.invalidations += cache_.invalidate(addr, len);
    interp_.invalidate(addr, len);
  }
}

// Drops every translation (a full cache, QEMU's policy; or at another thread's request).
void JitEngine::flush_cache() {
  cache_.flush();
  interp_.cool_due_heads();  // (the code is cold again)
  ++stats_.flushes;
  if (member_) shared_->release_all(member_);
}

// The writing instruction runs once in the interpreter against the now writable page. Running
// it from a fresh translation instead would protect the page again before the write (the
// block may well be on that very page) and fault forever. Returns None to carry on.
// A store that straddles two pages holding translated code faults on each in turn: each is
// handled and the instruction runs again (the interpreter left it undone at its fault).
StopReason JitEngine::step_writer(CpuState& cpu) {
  StopReason r;
  for (int pages = 0; pages < 3; ++pages) {
    const uint64_t before = cpu.insn_count;
    interp_.set_instruction_limit(1);
    r = interp_.run(cpu);
    interp_.set_instruction_limit(0);
    tiering_.stats.interp_insns += cpu.insn_count - before;
    if (r == StopReason::Fault && cpu.fault.vector == VEC_PF && cpu.fault.is_write &&
        handle_code_write(cpu.fault.address))
      continue;
    break;
  }
  return r == StopReason::InstructionLimit ? StopReason::None : r;
}

TranslatedBlock* JitEngine::translate(uint64_t pc, const CpuState* entry) {
  const auto t0 = opts_.time_translation ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  if (!cache_.mapped()) [[unlikely]]
    map_code_cache();
  // A block the backend cannot allocate registers for is translated again shorter (the rest
  // becomes the next block), and only as a last resort as interpreter fallbacks.
  // The first attempt makes a superblock (side exits at conditional branches); the second
  // stops at the first conditional branch.
  const uint32_t lengths[] = {opts_.max_block_insns, opts_.max_block_insns, 16, 4, 1};
  // The first page is protected before its code is read: a write by another thread from
  // then on faults and tells this engine to drop what it is translating.
  // A checked page is not protected: the block checks its bytes at entry instead.
  bool checked = member_ && shared_->protect(member_, pc & ~uint64_t(4095));
  std::string last_error;
  thread_local std::vector<std::pair<uint64_t, uint64_t>> check_ranges;
  for (int attempt = 0; attempt < 6; ++attempt) {
    bool interpret_all = attempt == 5;
    thread_local ir::Block block;  // (its storage reused from translation to translation)
    block.reset();
    thread_local std::vector<FallbackSite> fallbacks;
    fallbacks.clear();
    BlockLimits limits{interpret_all ? opts_.max_block_insns : std::min(opts_.max_block_insns, lengths[attempt]),
                       attempt == 0};
    if (debug_) limits.breakpoints = &debug_->breakpoints;  // (blocks end before them)
    limits.decoded = &interp_;
    limits.translated = &cache_;
    limits.follow_calls = opts_.follow_calls;
    limits.entry = entry;
    limits.guess_sites = &guess_sites_;
    limits.jump_tables = opts_.chain && opts_.jump_cache;
    limits.end_after_store = checked;
    if (!translate_block(mem_, pc, limits, block, fallbacks, interpret_all)) return nullptr;
    // A block that reaches into a checked page (its second page) is checked as a whole.
    // (Its first page was protected above; one that became checked since is found when the
    // block is registered, below.)
    if (member_ && mem_.space && !checked)
      for (const ir::CodeRange& r : block.code)
        for (uint64_t page = r.begin & ~uint64_t(4095); r.end > r.begin && page < r.end; page += 4096)
          if (page != (pc & ~uint64_t(4095))) checked |= shared_->protect(member_, page);
    if (checked && !limits.end_after_store) {
      --attempt;  // (the same attempt again, ending after stores)
      continue;
    }
    const bool logging = opts_.log_in_asm || opts_.log_op || opts_.log_out_asm;
    ir::Block before;
    if (logging) before = block;  // (only -d prints the IR before the passes)
    passes::optimize(block);
    if (ir::verify_enabled())  // (tests and -O0 builds: VIREO_JIT_VERIFY, ir.h)
      if (std::string e = ir::verify(block); !e.empty())
        throw std::runtime_error(fmt::format("jit: IR verifier: {} in block {:#x}", e, pc));
    auto tb = std::make_unique<TranslatedBlock>();
    tb->guest_pc = block.guest_pc;
    for (const ir::CodeRange& r : block.code) tb->guest_code.emplace_back(r.begin, r.end);
    tb->guest_insns = block.guest_insns;
    for (auto& [in, fallback_pc] : fallbacks) {
      in.fn = handler_for(in);  // the interpreter's handler for this instruction
      tb->fallbacks.push_back(std::make_unique<FallbackInsn>(
          FallbackInsn{in, fallback_pc, &interp_, stats_.fallbacks_by_mnemonic.counter(in.mnemonic)}));
    }
    check_ranges.clear();
    if (checked)
      for (const ir::CodeRange& r : block.code) check_ranges.emplace_back(r.begin, r.end);
    // (a checked block never loops in place: its back edge must pass the entry check)
    rt_.entry_check = checked ? &check_ranges : nullptr;
    rt_.self_loops = opts_.chain && !checked;
    struct RestoreRuntime {
      Runtime& rt;
      bool self_loops;
      ~RestoreRuntime() { rt.entry_check = nullptr; rt.self_loops = self_loops; }
    } restore_rt{rt_, opts_.chain};
    try {
      if (!emit_block(block, tb->fallbacks, cache_, rt_, *tb, flags_hint_)) {
        flush_cache();  // full: start again (QEMU's policy)
        tb->pc_map.clear();
        tb->sync.clear();  // (the first emission's records would precede the second's)
        tb->exits.clear();
        if (!emit_block(block, tb->fallbacks, cache_, rt_, *tb, flags_hint_))
          throw std::runtime_error("jit: a block does not fit in an empty translation cache");
      }
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("jit backend") == std::string::npos) throw;
      ++stats_.regalloc_retries;
      last_error = e.what();
      continue;
    }
    tb->pack_metadata();
    ++stats_.blocks_translated;
    tiering_.note_translation();
    stats_.guest_insns_translated += tb->guest_insns;
    stats_.host_bytes += tb->code_size;
    if (tb->self_loop) ++stats_.self_loop_blocks;
    if (block.tail.present()) ++stats_.tail_blocks;
    if (entry) stats_.guessed_calls += count_guessed_calls(block);
    if (logging) log_block(before, block, *tb);
    if (opts_.perfmap) {
      fmt::print(opts_.perfmap, "{:x} {:x} guest:{:#x}\n", uint64_t(tb->code), tb->code_size, tb->guest_pc);
      std::fflush(opts_.perfmap);
    }
    if (checked) ++stats_.checked_blocks;
    TranslatedBlock* raw = tb.get();
    cache_.insert(std::move(tb));
    if (protect_code_pages(*raw) && !checked) {
      // One of its pages became checked (another thread's faults) while it was translated
      // unchecked: it must not run. (Checked is for good, so the next attempt checks.)
      drop_block_code(raw);
      checked = true;
      attempt = -1;
      continue;
    }
    if (opts_.time_translation) stats_.translate_time += std::chrono::steady_clock::now() - t0;
    return raw;
  }
  throw std::runtime_error(fmt::format("jit: cannot translate the block at {:#x} ({})", pc, last_error));
}

// The interpreter tier: the code at cpu.rip runs in the interpreter's own loop until it
// reaches a block head that is due for translation (or translated), or a syscall, a fault, an
// exit request (Interpreter::run_tier). `restart`: the head at cpu.rip is run anyway, its count
// from 1 (a demoted page). CpuState is exact on both sides (lazy flags are settled whenever
// translated code returns), so the hand-over needs nothing else.
StopReason JitEngine::interpret_cold(CpuState& cpu, bool restart, bool& due) {
  const uint64_t before = cpu.insn_count;
  if (tiering_.startup_ended_late()) interp_.restart_head_counts();  // (N drops from 256 to 8)
  Interpreter::TierRun run;
  run.translate_at = std::max<uint32_t>(1, tiering_.threshold(cache_.block_count()));
  if (uint64_t left = tiering_.insns_until_steady()) run.yield_at_insn = before + left;
  run.yield_flag = member_ ? &member_->pending : nullptr;
  // (with no block in the cache the answer is no: most short processes translate nothing)
  if (cache_.block_count())
    run.translated = [](void* self, uint64_t pc) { return static_cast<JitEngine*>(self)->cache_.lookup(pc) != nullptr; };
  else if (uint64_t left = tiering_.uncounted_insns_left()) run.uncounted_until = before + left;
  run.ctx = this;
  run.restart_first = restart;
  run.keep_inherited = tiering_.keeps_parent_counts() || tiering_.keeps_shared_counts();
  run.own_decodes = tiering_.keeps_parent_counts();
  StopReason r = interp_.run_tier(cpu, run);
  tiering_.stats.interp_entries += run.heads;
  ++tiering_.stats.interp_runs;
  tiering_.stats.interp_insns += cpu.insn_count - before;
  due = r == StopReason::InstructionLimit && run.due;
  return r;
}

namespace {

// Instructions after which the code at the next address is another block's (the translator
// ends a block there; a conditional branch's fall-through continues it).
bool ends_straight_line(uint16_t mnemonic) {
  switch (mnemonic) {
    case ZYDIS_MNEMONIC_JMP: case ZYDIS_MNEMONIC_CALL: case ZYDIS_MNEMONIC_RET:
    case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSENTER: case ZYDIS_MNEMONIC_INT:
    case ZYDIS_MNEMONIC_INT1: case ZYDIS_MNEMONIC_INT3: case ZYDIS_MNEMONIC_INTO:
    case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: case ZYDIS_MNEMONIC_IRETQ:
    case ZYDIS_MNEMONIC_UD0: case ZYDIS_MNEMONIC_UD1: case ZYDIS_MNEMONIC_UD2: case ZYDIS_MNEMONIC_HLT:
      return true;
    default:
      return false;
  }
}

}  // namespace

// The straight-line instructions from the head at `pc` (through conditional branches, up to
// a block's length), as the interpreter tier decoded them: what one entry of its block runs,
// about. Only from pc's page (mapped: the tier has just run from it); 1 at least.
uint32_t JitEngine::block_insns_at(uint64_t pc) const {
  const uint64_t page_end = (pc | 4095) + 1;
  uint32_t n = 0;
  const Insn* prev = nullptr;
  for (uint64_t at = pc; n < opts_.max_block_insns && at < page_end && at < mem_.limit;) {
    const size_t avail = size_t(std::min<uint64_t>({15, page_end - at, mem_.limit - at}));
    const Insn* in = prev ? interp_.cached_decode_after(prev, at, mem_.base + at, avail)
                          : interp_.cached_decode(at, mem_.base + at, avail);
    if (!in) break;
    ++n;
    if (ends_straight_line(in->mnemonic)) break;
    prev = in;
    at += in->len;
  }
  return std::max<uint32_t>(n, 1);
}

namespace {
// As mem/host_fault.cpp reports a fault outside any guest access: one line, then die by SIGSEGV.
[[noreturn]] void internal_error_host_gp(uint64_t host_pc) {
  std::fprintf(stderr, "vireo: internal error: host #GP at host pc %#llx\n", (unsigned long long)host_pc);
  std::signal(SIGSEGV, SIG_DFL);
  std::raise(SIGSEGV);
  std::abort();
}
}  // namespace

StopReason JitEngine::host_fault(CpuState& cpu) {
  deactivate_fault_scope(scope_);
  // We left translated code by siglongjmp, past the exit stub: the guest MXCSR is the one
  // saved in the signal context (the handler itself ran with a fresh FPU state).
  const HostFault& f = scope_.fault;
  const bool gp = take_host_gp();
  stats_.translated_insns += cpu.insn_count - insns_at_enter_;
  cpu.mxcsr = f.host_mxcsr;
  _mm_setcsr(kHostMxcsr);
  settle_lazy_flags(cpu);  // older than the flags a sync record holds
  TranslatedBlock* b = cache_.block_at_host(f.host_pc);
  // A host #GP (run() makes scope_ the gp scope) is the guest's only from an instruction of
  // translated code (an SSE form the translator emits as itself, e.g. a misaligned m128 whose
  // check the translator did not know the host makes); anywhere else it is Vireo's own bug.
  if (gp && !b) internal_error_host_gp(f.host_pc);
  if (b) {
    cpu.rip = b->guest_pc_at(f.host_pc);
    // Guest registers and flags that lived only in host registers at this access.
    uint32_t off = uint32_t(f.host_pc - uint64_t(b->code));
    SyncRecord rec;
    if (b->find_sync(off, rec)) {
      const SyncRecord* it = &rec;
      for (auto [guest, host] : it->gprs) cpu.gpr[guest] = f.host_regs[host];
      if (it->base_recipe.op != FlagsRecipe::None)  // (under inc/dec flags: supplies CF)
        cpu.rflags = (cpu.rflags & ~flag::ARITH) | (it->base_recipe.eval(f.host_regs) & flag::ARITH);
      if (it->flags_reg >= 0)
        cpu.rflags = (cpu.rflags & ~it->flags_mask) | (f.host_regs[it->flags_reg] & it->flags_mask);
      else if (it->flags_recipe.op != FlagsRecipe::None && (it->flags_if < 0 || f.host_regs[it->flags_if] != 0))
        cpu.rflags = (cpu.rflags & ~it->flags_mask) | (it->flags_recipe.eval(f.host_regs) & it->flags_mask);
      for (unsigned x = 0; x < 16; ++x)
        if (it->xmm_dirty & (1u << x)) std::memcpy(&cpu.xmm[x], f.host_xmm[x], sizeof cpu.xmm[x]);
      for (unsigned x = 0; x < 16; ++x)  // (a loop of VEX ops: backend/x64/emit_avx.cpp)
        if (it->ymm_hi_dirty & (1u << x)) std::memcpy(&cpu.ymm_hi[x], f.host_ymm_hi[x], sizeof cpu.ymm_hi[x]);
    }
  }
  if (gp) {
    cpu.fault = {VEC_GP, true, 0, 0, false};
    return StopReason::Fault;
  }
  // A write to a page we protected because it holds translated code: the state is exact at
  // the writing instruction, so invalidate, unprotect and run it again.
  if (f.is_write && handle_code_write(f.guest_addr)) return step_writer(cpu);
  // (issue 21: the error code from the host's, refined as the hardware would — interp/memory_fault.h)
  cpu.fault = memory_fault(cpu, mem_, f.guest_addr, f.error_code & (pf::P | pf::W));
  return StopReason::Fault;
}

bool JitEngine::set_debug(DebugControls* d, std::string*) {
  debug_ = d;
  interp_.set_debug(d);
  watch_in_interp_ = !shared_->set_watchpoints(d ? d->watchpoints : std::vector<Watchpoint>{});
  // Blocks already translated over a breakpoint would run it without a check.
  if (d)
    for (uint64_t pc : d->breakpoints) stats_.invalidations += cache_.invalidate(pc, 1);
  return true;
}

// With a debugger's controls set: a breakpoint at rip stops here; a single-step, or
// watchpoints the page protection cannot serve, run the interpreter (its per-instruction
// checks) instead of translated code.
// `handled`: the interpreter ran and the dispatcher loops.
StopReason JitEngine::debug_dispatch(CpuState& cpu, bool& handled) {
  if (debug_->is_breakpoint(cpu.rip)) {
    debug_->event = DebugControls::Event::Breakpoint;
    return StopReason::Debug;
  }
  if (!debug_->single_step && (debug_->watchpoints.empty() || !watch_in_interp_)) return StopReason::None;
  handled = true;
  interp_.set_instruction_limit(debug_->single_step ? 1 : 1000);
  StopReason r = interp_.run(cpu);
  interp_.set_instruction_limit(0);
  if (r == StopReason::InstructionLimit) return debug_->single_step ? StopReason::Debug : StopReason::None;
  if (r == StopReason::Fault && cpu.fault.vector == VEC_PF && cpu.fault.is_write &&
      handle_code_write(cpu.fault.address))
    return step_writer(cpu);
  return r;
}

// A thread's engine handed on to the process's next new thread (Process::clone_thread): its
// translations, decodes and caches are the same process's, valid for any of its threads, so
// the next thread neither builds an engine (the decode pool's huge page, the index, the code
// cache's mapping, the trampolines) nor translates the start-up code again. Invalidations
// queued meanwhile are dropped at its next dispatch, before any block runs.
bool JitEngine::park() {
  if (debug_) return false;
  if (member_) shared_->rebind(member_, &parked_exit_request_);
  return true;
}

// A forked child is a new process, young whatever its parent's age (jit/tiering.h).
void JitEngine::forked() {
  tiering_.new_process();
  interp_.mark_inherited();  // (the decode pool's pages so far are shared with the parent)
  cache_.mark_inherited();  // (so are the blocks: left, not freed, at an execve)
}

// The parent of a host fork: the counts of what it decoded so far are on pages it now shares
// with the child (Tiering::parent_forked).
void JitEngine::fork_parent() {
  if (tiering_.parent_forked()) interp_.mark_inherited();
}

StopReason JitEngine::run(CpuState& cpu) {
  // (the CpuState of an engine's thread never moves: other threads raise its exit request)
  if (!member_) member_ = shared_->join(&cpu.exit_request);
  else if (member_->exit_request != &cpu.exit_request) shared_->rebind(member_, &cpu.exit_request);  // (park())
  if (!kernel_lifted_.empty()) settle_kernel_lifts();
  // (user mode: fixed for the process; every thread's are the same)
  rt_.vex_enabled = (cpu.xcr0 & xstate::AVX) && (cpu.cr4 & kCr4OsXsave);
  GuestFaultScope* const outer_gp_scope = set_gp_scope(&scope_);  // (host_fault)
  for (;;) {
    activate_fault_scope(scope_, mem_);
    StopReason r;
    if (sigsetjmp(scope_.env, 0)) {
      r = host_fault(cpu);
    } else {
      r = dispatch(cpu);
      deactivate_fault_scope(scope_);
    }
    // An access to a page a watchpoint protects (any tier): the interpreter runs it.
    for (int tries = 0; r == StopReason::Fault && tries < 8 && watched_fault(cpu); ++tries) r = step_watched(cpu);
    if (r == StopReason::None) continue;  // (a write to a code page, handled: resume)
    set_gp_scope(outer_gp_scope);
    return r;
  }
}

// Runs blocks until something needs the platform. Returns None to ask run() to resume after a
// handled write to a code page.
StopReason JitEngine::dispatch(CpuState& cpu) {
  constexpr uint64_t kNoPc = ~uint64_t(0);
  uint64_t due_pc = kNoPc;  // the interpreter tier stopped at this due head
  // The jump cache is filled for a block entered after translated code left for the
  // dispatcher (an indirect branch that missed, a return, an exit): only translated code's
  // indirect branches probe it. Filled at every entry (from the interpreter tier, after a
  // system call, a chained target), a short process touched a page of its 256 KB for each
  // block it ran, a page fault each, for slots nothing would look at (issue 22, "Start-up,
  // seventh pass").
  bool fill_jump_cache = false;
  for (;;) {
    // Code another thread made stale is dropped before any block is entered again.
    if (member_->pending.load(std::memory_order_acquire)) drop_stale_code();
    if (cpu.exit_request) return StopReason::ExitRequest;
    // Translated SSE code runs with exceptions masked; a guest that unmasked any runs in the
    // interpreter, which raises #XM exactly, until it masks them again.
    bool unmasked = (cpu.mxcsr & 0x1F80) != 0x1F80;
    // (issue 21) EFLAGS.TF or AC: one instruction at a time in the interpreter, which raises
    // the single-step trap and the alignment checks.
    const bool step = cpu.rflags & (flag::TF | flag::AC);
    if (debug_) [[unlikely]] {
      bool handled = false;
      StopReason r = debug_dispatch(cpu, handled);
      if (r != StopReason::None) return r;
      if (handled) continue;
    }
    TranslatedBlock* b = nullptr;
    const bool at_due = std::exchange(due_pc, kNoPc) == cpu.rip;
    if (!unmasked && !step) {
      // (not asked while the cache is empty: the empty filter is a page of the binary's, which
      // a forked child faults in again: most exec'd processes translate nothing)
      b = cache_.block_count() ? cache_.lookup(cpu.rip) : nullptr;
      if (!b) {
        // Cold code (jit/tiering.h): the interpreter tier runs it until it reaches a block head
        // that is due for translation — this one, if the tier stopped here just now.
        StopReason r = StopReason::None;  // (None: translate)
        bool due = false;
        const uint64_t insns_before = cpu.insn_count;
        if (at_due || !tiering_.interpreter_tier()) {
          const uint32_t n = at_due ? std::max<uint32_t>(1, tiering_.threshold(cache_.block_count())) : 1;
          if (!tiering_.due(cpu.rip, n)) {
            r = interpret_cold(cpu, true, due);  // (a demoted page)
          } else if (at_due && tiering_.weighs_due_heads() &&
                     !tiering_.pays_to_translate(cpu.rip, block_insns_at(cpu.rip))) {
            interp_.cool_due_head();  // (a young process's small loop: N more entries first)
            r = interpret_cold(cpu, false, due);
          }
        } else {
          r = interpret_cold(cpu, false, due);
        }
        if (due) due_pc = cpu.rip;
        // The block the tier stopped at was reached by the tier, not by the translated exit
        // that missed: filling the jump cache for it evicted a slot that an indirect branch
        // may use for nothing (cc1: ~860,000 tier runs, each followed by such a fill).
        if (cpu.insn_count != insns_before) fill_jump_cache = false;
        if (r == StopReason::InstructionLimit) continue;
        if (r == StopReason::Fault && cpu.fault.vector == VEC_PF && cpu.fault.is_write &&
            handle_code_write(cpu.fault.address)) {
          if (StopReason s = step_writer(cpu); s != StopReason::None) return s;
          continue;
        }
        if (r != StopReason::None) return r;
        b = translate(cpu.rip, &cpu);
      }
    }
    if (!b) {
      // Not even the first instruction can be fetched or decoded: the interpreter raises the
      // exact fault for it.
      const uint64_t before = cpu.insn_count;
      interp_.set_instruction_limit(unmasked && !step ? 1000 : 1);
      StopReason r = interp_.run(cpu);
      interp_.set_instruction_limit(0);
      tiering_.stats.interp_insns += cpu.insn_count - before;
      if (r == StopReason::InstructionLimit) continue;
      if (r == StopReason::Fault && cpu.fault.vector == VEC_PF && cpu.fault.is_write &&
          handle_code_write(cpu.fault.address)) {
        if (StopReason s = step_writer(cpu); s != StopReason::None) return s;
        continue;
      }
      return r;
    }
    if (opts_.jump_cache && std::exchange(fill_jump_cache, false)) cache_.jump_cache_fill(b->guest_pc, b->code);
    if (opts_.log_exec)
      diag_print(opts_.log, "Trace: {:#x} [{:#x}]\n", uint64_t(b->code), b->guest_pc);
    ++stats_.block_entries;
    void* link = nullptr;
    insns_at_enter_ = cpu.insn_count;
    uint32_t code = tramp_.enter(&cpu, mem_.base, b->code, &link);
    stats_.translated_insns += cpu.insn_count - insns_at_enter_;
    flags_hint_ = uint16_t(cpu.lazy_flags_op | cpu.lazy_incdec_op << 8);  // for the next translation
    settle_lazy_flags(cpu);
    switch (code) {
      case kExitDispatch:
        fill_jump_cache = true;
        interp_.prefetch_fetch(cpu.rip);  // (most often cold: a return to an interpreted caller)
        break;
      case kExitLink: {
        if (!opts_.chain) break;
        if (debug_ && debug_->is_breakpoint(cpu.rip)) break;  // (never chained: the loop top stops)
        uint64_t flushes = stats_.flushes;
        // A target still in the interpreter tier is linked once it is translated (the
        // loop top counts this entry).
        TranslatedBlock* to = cache_.lookup(cpu.rip);
        if (!to) interp_.prefetch_fetch(cpu.rip);
        // A flush while translating the target destroyed the slot's block: nothing to patch.
        if (to && flushes == stats_.flushes) {
          cache_.link(static_cast<ExitSlot*>(link), to);
          ++stats_.chains_patched;
        }
        break;
      }
      case kExitSyscall: return StopReason::Syscall;
      case kExitFault:
        // A write by an interpreter fallback to a page holding translated code.
        if (cpu.fault.vector == VEC_PF && cpu.fault.is_write && handle_code_write(cpu.fault.address)) {
          if (StopReason s = step_writer(cpu); s != StopReason::None) return s;
          break;
        }
        return StopReason::Fault;
      case kExitRequest: break;  // the loop top returns ExitRequest
      case kExitGuessMiss: guess_missed(cpu.rip, static_cast<TranslatedBlock*>(link)); break;
      case kExitStale:  // a checked block found its guest bytes changed: drop it, run the new code
        ++stats_.checked_stale;
        drop_block_code(cache_.lookup(cpu.rip));
        break;
      default: return StopReason(code - kExitStop);
    }
  }
}

// A guessed call's target was not the guess: the block left for the call (cpu.rip), which
// runs next as an ordinary indirect call. A site that keeps missing takes its block with it
// (and any other block through the block's start): the block translated there next makes
// that call an ordinary one (guess_sites.h).
void JitEngine::guess_missed(uint64_t site, TranslatedBlock* b) {
  ++stats_.guess_misses;
  const GuessSites::Miss m = guess_sites_.missed(site);
  if (m == GuessSites::Miss::Counted) return;
  if (m == GuessSites::Miss::Dropped) ++stats_.guess_sites_dropped;
  stats_.guess_blocks_dropped += cache_.invalidate(b->guest_pc, 1);
}

void JitEngine::log_block(const ir::Block& before, const ir::Block& after, const TranslatedBlock& tb) {
  std::FILE* f = opts_.log;
  if (opts_.log_in_asm) {
    auto print_code = [&](uint64_t from, uint64_t to) {
      for (uint64_t pc = from; pc < to;) {
        uint8_t bytes[15];
        size_t n = std::min<uint64_t>(15, to - pc);
        std::memcpy(bytes, mem_.base + pc, n);
        Decoder d;
        Insn in;
        if (!d.decode(bytes, n, pc, in)) break;
        diag_print(f, "{:#018x}:  {}\n", pc, disassemble(bytes, n, pc));
        pc += in.len;
      }
    };
    diag_print(f, "IN: {:#x}\n", tb.guest_pc);
    for (size_t k = 0; k < tb.code_range_count(); ++k) {
      auto [begin, end] = tb.code_range(k);
      // (then the code at each jmp's target it followed, then its tail's)
      if (k) diag_print(f, "  -> {:#x}{}\n", begin, before.tail.present() && begin == before.tail.guest_pc && k + 1 == tb.code_range_count() ? " (tail)" : "");
      // (the pointer of a branch through read-only memory: data, not code; translator.cpp)
      const int prot = mem_.space ? mem_.space->prot_at(begin) : PROT_EXEC;
      if (end - begin == 8 && prot >= 0 && !(prot & PROT_EXEC)) {
        uint64_t pointer;
        std::memcpy(&pointer, mem_.base + begin, 8);
        diag_print(f, "{:#018x}:  .quad {:#x} (a branch's pointer)\n", begin, pointer);
        continue;
      }
      if (prot >= 0 && !(prot & PROT_EXEC)) {  // (a jump table the block dispatches through: jump_table.h)
        diag_print(f, "{:#018x}:  .data {} bytes (a jump table)\n", begin, end - begin);
        continue;
      }
      print_code(begin, end);
    }
    diag_print(f, "\n");
  }
  if (opts_.log_op) {
    diag_print(f, "OP:\n{}\nOP after optimization:\n{}\n", ir::print(before), ir::print(after));
  }
  if (opts_.log_out_asm) {
    diag_print(f, "OUT: [size={}]\n", tb.code_size);
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    for (uint32_t off = 0; off < tb.code_size;) {
      ZydisDecodedInstruction zi;
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, nullptr, tb.code + off, tb.code_size - off, &zi)))
        break;
      diag_print(f, "{:#018x}:  {}\n", uint64_t(tb.code + off),
                 disassemble(tb.code + off, tb.code_size - off, uint64_t(tb.code + off)));
      off += zi.length;
    }
    diag_print(f, "\n");
  }
}

void JitEngine::merge_stats(const Engine& other) {
  auto* o = dynamic_cast<const JitEngine*>(&other);
  if (!o) return;
  JitStats& s = stats_;
  const JitStats& t = o->stats_;
  for (auto [mine, theirs] : {std::pair{&s.blocks_translated, &t.blocks_translated},
                              {&s.guest_insns_translated, &t.guest_insns_translated},
                              {&s.host_bytes, &t.host_bytes}, {&s.flushes, &t.flushes},
                              {&s.chains_patched, &t.chains_patched}, {&s.block_entries, &t.block_entries},
                              {&s.self_loop_blocks, &t.self_loop_blocks}, {&s.tail_blocks, &t.tail_blocks},
                              {&s.jump_cache_hits, &t.jump_cache_hits},
                              {&s.jump_cache_misses, &t.jump_cache_misses},
                              {&s.invalidations, &t.invalidations}, {&s.regalloc_retries, &t.regalloc_retries},
                              {&s.smc_write_faults, &t.smc_write_faults},
                              {&s.smc_invalidated_blocks, &t.smc_invalidated_blocks},
                              {&s.checked_blocks, &t.checked_blocks}, {&s.checked_stale, &t.checked_stale},
                              {&s.watch_faults, &t.watch_faults}, {&s.guessed_calls, &t.guessed_calls},
                              {&s.guess_misses, &t.guess_misses}, {&s.guess_sites_dropped, &t.guess_sites_dropped},
                              {&s.guess_blocks_dropped, &t.guess_blocks_dropped}})
    *mine += *theirs;
  s.translate_time += t.translate_time;
  s.translated_insns += t.translated_insns;
  TierStats& ts = tiering_.stats;
  const TierStats& tt = o->tiering_.stats;
  ts.interp_insns += tt.interp_insns;
  ts.interp_entries += tt.interp_entries;
  ts.interp_runs += tt.interp_runs;
  ts.pages_demoted += tt.pages_demoted;
  ts.demoted_entries += tt.demoted_entries;
  ts.startup_deferrals += tt.startup_deferrals;
  s.fallbacks_by_mnemonic.add(t.fallbacks_by_mnemonic);
  interp_.merge_stats(o->interp_);
}

void JitEngine::print_stats(std::FILE* out, double seconds) const {
  const JitStats& s = stats_;
  fmt::print(out, "  blocks translated:    {}\n", s.blocks_translated);
  fmt::print(out, "  guest insns translated: {}\n", s.guest_insns_translated);
  // (per guest instruction translated: what translating costs, issue 22)
  const double per_insn = s.guest_insns_translated ? 1.0 / double(s.guest_insns_translated) : 0.0;
  const double translate_s = std::chrono::duration<double>(s.translate_time).count();
  fmt::print(out, "  host code bytes:      {} ({:.1f} per guest insn)\n", s.host_bytes, double(s.host_bytes) * per_insn);
  fmt::print(out, "  translation time:     {:.3f} s ({:.2f} us per guest insn)\n", translate_s, translate_s * 1e6 * per_insn);
  // Instructions per tier (jit/tiering.h): the translated tier's include its blocks' fallbacks.
  const TierStats& ts = tiering_.stats;
  const TierOptions& to = tiering_.options();
  if (to.startup_translate_after && to.translate_after)
    fmt::print(out, "  interpreter tier:     {} insns, {} block entries (translated after {}, {} in the first {} insns)\n",
               ts.interp_insns, ts.interp_entries, to.translate_after, to.startup_translate_after, to.startup_insns);
  else
    fmt::print(out, "  interpreter tier:     {} insns, {} block entries (translated after {})\n", ts.interp_insns,
               ts.interp_entries, to.translate_after);
  if (to.startup_translate_after && to.translate_after && to.startup_translate_insns)
    fmt::print(out, "  start-up deferrals:   {} (due blocks interpreted again: entries x length below {} insns)\n",
               ts.startup_deferrals, to.startup_translate_insns);
  if (to.blocks_per_doubling && to.translate_after)
    fmt::print(out, "  tier threshold:       {} at exit ({} blocks in the cache; N doubles every {})\n",
               tiering_.threshold(cache_.block_count()), cache_.block_count(), to.blocks_per_doubling);
  fmt::print(out, "  interpreter tier runs: {} (cold code handed over by the dispatcher)\n", ts.interp_runs);
  fmt::print(out, "  translated tier:      {} insns\n", s.translated_insns);
  fmt::print(out, "  cache flushes:        {}\n", s.flushes);
  fmt::print(out, "  block entries (dispatcher): {}\n", s.block_entries);
  fmt::print(out, "  chains patched:       {}\n", s.chains_patched);
  if (!opts_.jump_cache) {
    fmt::print(out, "  jump cache:           off\n");
  } else {
    const uint64_t lookups = s.jump_cache_hits + s.jump_cache_misses;
    fmt::print(out, "  jump cache:           {} lookups, {} hits ({:.1f}%)\n", lookups, s.jump_cache_hits,
               lookups ? 100.0 * double(s.jump_cache_hits) / double(lookups) : 0.0);
  }
  // (guess_sites.h: a site dropped after its guard's misses is translated without a guess)
  fmt::print(out, "  guessed calls:        {} translated, {} guard misses, {} sites dropped ({} blocks)\n",
             s.guessed_calls, s.guess_misses, s.guess_sites_dropped, s.guess_blocks_dropped);
  fmt::print(out, "  blocks looping in place: {}\n", s.self_loop_blocks);
  fmt::print(out, "  blocks with a tail:   {}\n", s.tail_blocks);
  fmt::print(out, "  invalidated blocks:   {}\n", s.invalidations);
  fmt::print(out, "  SMC write faults:     {} (blocks invalidated: {})\n", s.smc_write_faults,
             s.smc_invalidated_blocks);
  fmt::print(out, "  SMC checked blocks:   {} (entries that found their bytes changed: {})\n", s.checked_blocks,
             s.checked_stale);
  fmt::print(out, "  SMC pages demoted:    {} (block entries there: {})\n", ts.pages_demoted, ts.demoted_entries);
  if (s.watch_faults) fmt::print(out, "  watched-page faults:  {} (gdb watchpoints)\n", s.watch_faults);
  fmt::print(out, "  regalloc retries:     {}\n", s.regalloc_retries);
  print_fallbacks(out, s.fallbacks_by_mnemonic.begin());
  interp_.print_stats(out, seconds);
}

// The interpreter fallbacks of a --stats report: the total, then the 15 commonest mnemonics
// (user-mode and system-mode jit alike).
void print_fallbacks(std::FILE* out, const uint64_t* by_mnemonic) {
  constexpr size_t kCount = ZYDIS_MNEMONIC_MAX_VALUE + 1;
  uint64_t total = 0;
  for (size_t m = 0; by_mnemonic && m < kCount; ++m) total += by_mnemonic[m];
  fmt::print(out, "  interpreter fallbacks: {}\n", total);
  std::vector<std::pair<uint64_t, size_t>> top;
  for (size_t m = 0; by_mnemonic && m < kCount; ++m)
    if (by_mnemonic[m]) top.emplace_back(by_mnemonic[m], m);
  std::sort(top.rbegin(), top.rend());
  for (size_t i = 0; i < top.size() && i < 15; ++i)
    fmt::print(out, "    {:<20} {}\n", ZydisMnemonicGetString(ZydisMnemonic(top[i].second)), top[i].first);
}

}  // namespace vireo::jit
