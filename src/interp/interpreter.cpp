#include "interp/interpreter.h"

#include <sys/mman.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "cpu/decode_template.h"
#include "cpu/shape_length.h"
#include "interp/dispatch.h"
#include "interp/known_shapes.h"
#include "mem/address_space.h"
#include "interp/memory_fault.h"
#include "interp/pool_head.h"
#include "interp/user_traps.h"
#include "interp/system/system_mode.h"
#include "linux/vdso/vsyscall.h"
#include "mem/address_space.h"
#include "support/diag_stream.h"

namespace vireo {

Interpreter::Interpreter(const GuestMemory& mem) : Interpreter(mem, 0) {}

namespace {

// Whether `in` was decoded from the instruction bytes whose first 16 bytes are w0, w1 (little
// endian): its length of them equal its Insn::bytes (read with the byte after them, which no
// mask keeps).
inline bool decoded_from(const Insn& in, uint64_t w0, uint64_t w1) {
  uint64_t c0, c1;
  std::memcpy(&c0, in.bytes, 8);
  std::memcpy(&c1, in.bytes + 8, 8);
  const unsigned len = in.len;
  return (((w0 ^ c0) & kByteMasks.lo[len]) | ((w1 ^ c1) & kByteMasks.hi[len])) == 0;
}

}  // namespace

// Returns the decoded instruction at cpu.rip, decoding on a miss. A cached entry is used only
// if the bytes in memory still equal the bytes it was decoded from. The check is two masked
// 8-byte compares when the 16 bytes at rip lie in one page (reading them cannot fault where
// the instruction does not); the instruction's own bytes are read from Insn::bytes (15 of
// them and the byte after, which no mask keeps).
inline const Insn* Interpreter::fetch(CpuState& cpu) {
  const uint64_t rip = cpu.rip;
  CacheEntry* const prev = last_;
  CacheEntry* e;
  if (prev && prev + 1 < pool_end_ && prev[1].rip == rip) [[likely]]
    e = prev + 1;
  else if (prev && prev->next && prev->next->rip == rip)
    e = prev->next;
  else
    e = indexed(rip);
  if (e && e->rip == rip && (rip & 4095) <= 4096 - 16) [[likely]] {
    uint64_t w0, w1;
    std::memcpy(&w0, x_.mem.base + rip, 8);
    std::memcpy(&w1, x_.mem.base + rip + 8, 8);
    if (decoded_from(e->insn, w0, w1)) [[likely]] {
      link(prev, e);
      last_ = e;
      return &e->insn;
    }
  }
  return fetch_slow(cpu, e);
}

namespace {

// A call into the vsyscall page (linux/vdso/vsyscall.h): the entry point's system call, then
// the `ret` Linux emulates after it (arch/x86/entry/vsyscall/vsyscall_64.c). Anything else in
// the page faults like a fetch from an unmapped page.
void vsyscall_call(Exec& x, const Insn&) {
  long nr = vsyscall_number(x.insn_rip);
  if (nr < 0) x.raise_pf(x.insn_rip, false);
  uint64_t ret = x.load<uint64_t>(x.cpu->gpr[RSP]);
  x.cpu->gpr[RSP] += 8;
  x.cpu->gpr[RAX] = uint64_t(nr);
  x.cpu->rip = ret;
  x.stop = StopReason::Syscall;
}

const Insn& vsyscall_insn() {
  static const Insn in = [] {
    Insn i{};
    i.fn = &vsyscall_call;
    i.prefixes = pfx::MAY_BRANCH;  // (a return)
    return i;
  }();
  return in;
}

}  // namespace

// Code runs only from executable guest pages (user mode: the guest's protections live in its
// address space; the host pages stay readable for the engines). The page found executable last
// is remembered with the address space's generation (which every change of a mapping or a
// protection moves on): a cold run decodes page after page of new code, and the address
// space's own cache of the region looked up last missed on most of an exec'd /bin/true's
// 11,600 decodes (the lock and a tree walk each: 4% of its instructions, issue 22). That check
// is inline in the miss path (fetch_slow); as a call it was ~22 host instructions a miss.
inline bool Interpreter::executable(uint64_t addr) const {
  const AddressSpace* space = x_.mem.space;
  if (!space) return true;
  if ((addr >> 12) == exec_page_ && space->generation() == exec_generation_) [[likely]]
    return true;
  return executable_slow(addr);
}

bool Interpreter::executable_slow(uint64_t addr) const {
  const AddressSpace* space = x_.mem.space;
  const uint64_t page = addr >> 12, generation = space->generation();
  int prot = space->prot_at(addr);
  if (prot < 0 || !(prot & PROT_EXEC)) return false;
  exec_page_ = page;
  exec_generation_ = generation;
  return true;
}

uint64_t Interpreter::memo_hash(uint64_t w0, uint64_t w1, unsigned shape) {
  return shape_hash(w0, w1, shape);
}

void Interpreter::memo_note(const CacheEntry* e, bool copied, MemoKey key) {
  if (templates_) {
    // (A copy has its template's shape, in the memo already.)
    if (!copied) note_template(e->insn);
    return;
  }
  const unsigned shape = e->insn.shape_len;
  if (!shape) return;
  uint64_t h = key.hash;
  if (key.shape != shape) {  // (the guess was not the decode's shape, or there was none)
    uint64_t w0, w1;
    std::memcpy(&w0, e->insn.bytes, 8);
    std::memcpy(&w1, e->insn.bytes + 8, 8);
    h = memo_hash(w0, w1, shape);
  }
  const uint64_t tag = memo_tag(h);
  uint64_t* const bucket = &memo_[memo_bucket(h, memo_mask_)];
  // The newest first; the older of the two is dropped, unless the first is this shape's own.
  if ((bucket[0] & ~kIndexPointer) != tag) bucket[1] = bucket[0];
  bucket[0] = tag | reinterpret_cast<uintptr_t>(e);
}

void Interpreter::note_template(const Insn& in) {
  const unsigned shape = in.shape_len;
  if (!shape) return;
  uint64_t w0, w1;
  std::memcpy(&w0, in.bytes, 8);
  std::memcpy(&w1, in.bytes + 8, 8);
  MemoSlot* const bucket = &templates_[memo_bucket(memo_hash(w0, w1, shape), kTemplateSlots - 1)];
  // The newest first; the older of the two is dropped.
  bucket[1] = bucket[0];
  bucket[0].insn = in;
}

// The memo's templates, from the decodes its pointers still lead to (the older of each bucket
// first, so that the newer stays first where two meet again). The pointer form is dropped.
void Interpreter::start_templates() {
  templates_ = map_array<MemoSlot>(kTemplateSlots, true);
  for (size_t b = 0; b <= memo_mask_; b += 2)
    for (size_t k = 2; k-- > 0;) {
      const uint64_t slot = memo_[b + k];
      const CacheEntry* src = reinterpret_cast<const CacheEntry*>(slot & kIndexPointer);
      if (src && src->rip != kDeadRip && src->insn.len) note_template(src->insn);
    }
  memo_.reset();
}

// (Inlined in fetch_slow, its one caller: a call was ~15 of its host instructions a miss.)
[[gnu::always_inline]] inline const Insn* Interpreter::memo_find(const uint8_t* buf, size_t got, MemoKey& key) const {
  uint64_t w0, w1;
  std::memcpy(&w0, buf, 8);
  std::memcpy(&w1, buf + 8, 8);
  const unsigned shape = guess_shape_length(buf);
  if (shape > got) return nullptr;
  const uint64_t h = memo_hash(w0, w1, shape);
  key = {shape, h};
  // Its shape's bytes are these bytes' first (the instruction is then as long as it).
  auto same_shape = [&](const Insn& t) {
    uint64_t c0, c1;
    std::memcpy(&c0, t.bytes, 8);
    std::memcpy(&c1, t.bytes + 8, 8);
    return (((w0 ^ c0) & kByteMasks.lo[shape]) | ((w1 ^ c1) & kByteMasks.hi[shape])) == 0;
  };
  if (templates_) {
    const MemoSlot* const bucket = &templates_[memo_bucket(h, kTemplateSlots - 1)];
    for (unsigned k = 0; k < 2; ++k) {
      const Insn& t = bucket[k].insn;
      // (An empty slot has shape 0; the guess is 1 at least.)
      if (t.shape_len == shape && t.len <= got && same_shape(t)) return &t;
    }
    return nullptr;
  }
  const uint64_t tag = memo_tag(h);
  const uint64_t* const bucket = &memo_[memo_bucket(h, memo_mask_)];
  for (unsigned k = 0; k < 2; ++k) {
    const uint64_t slot = bucket[k];
    if ((slot & ~kIndexPointer) != tag) continue;
    const CacheEntry* src = reinterpret_cast<const CacheEntry*>(slot & kIndexPointer);
    if (!src) continue;  // (an empty slot, where the tag is 0)
    // An entry being filled (the one allocate_entry returned) is dead, and a dead one may be
    // half-written.
    const unsigned len = src->insn.len;
    if (src->rip == kDeadRip || len == 0 || len > got || src->insn.shape_len != shape) continue;
    if (same_shape(src->insn)) return &src->insn;
  }
  return nullptr;
}

const Insn* Interpreter::find_known_shape(const uint8_t* buf, size_t got, const MemoKey& key) {
  uint64_t w0, w1;
  std::memcpy(&w0, buf, 8);
  std::memcpy(&w1, buf + 8, 8);
  const Insn* const k = known_shape(w0, w1, key.shape, key.hash);
  return k && k->len <= got ? k : nullptr;
}

const Insn* Interpreter::fetch_slow(CpuState& cpu, CacheEntry* e) {
  uint64_t rip = cpu.rip;
  CacheEntry* const prev = last_;
  auto usable = [&](const CacheEntry* c) {
    return c && c->rip == rip && x_.mem.contains(rip, c->insn.len) &&
           std::memcmp(c->insn.bytes, x_.mem.base + rip, c->insn.len) == 0 && executable(rip) &&
           executable(rip + c->insn.len - 1);
  };
  if (!usable(e) && own_index_) e = own_indexed(rip);
  if (usable(e)) {
    link(prev, e);
    last_ = e;
    return &e->insn;
  }

  ++decode_misses_;
  if (decode_misses_ == grow_at_misses_) [[unlikely]]
    grow_index();
  // The legacy vsyscall page lies outside the window: its calls are emulated here.
  if (!x_.mem.contains(rip, 1) && in_vsyscall_page(rip) && x_.mem.space) return &vsyscall_insn();
  // Code runs only from executable pages (NX): a fetch elsewhere is a #PF with the fetch bit,
  // present if the page is mapped readable or writable. Linux keeps PROT_NONE pages out of the
  // page tables (their entries are not present), so a fetch there reports P=0, as an
  // unmapped one does (the signal still says SEGV_ACCERR: the mapping exists).
  if (!executable(rip)) [[unlikely]] {
    const int prot = x_.mem.space->prot_at(rip);
    x_.raise(VEC_PF, prot > 0 && (prot & (PROT_READ | PROT_WRITE)) ? pf::P : 0, true, rip, false);
  }
  // Read up to 15 bytes, stopping at the end of the window; a fetch from an unmapped page
  // faults on the host and becomes a guest #PF at this rip, as does one from a page without
  // PROT_EXEC.
  // (Without an address space, the tests' bare windows, every byte inside is executable.)
  if (!x_.mem.contains(rip, 1)) x_.raise_pf(rip, false);
  size_t avail = std::min<uint64_t>(15, x_.mem.limit - rip);
  // An instruction may not run on into a page that is not executable.
  const bool nx_next = (rip & 4095) + avail > 4096 && !executable((rip | 4095) + 1);
  if (nx_next) avail = 4096 - (rip & 4095);
  uint8_t buf[32] = {};  // (16 read by the decode and the memo; 32 by prefetch_ahead)
  // Copy up to the first unmapped byte (an instruction may end right before an unmapped
  // page): the first byte faults for real if unmapped; the rest of its page then cannot.
  size_t got = 0;
  buf[got++] = x_.mem.base[rip];
  const uint64_t page_end = (rip | 4095) + 1;
  const size_t in_page = std::min<uint64_t>(avail, page_end - rip);
  if (in_page == 15 && page_end - rip >= 16) [[likely]] {
    // The usual case, 16 bytes in the page (readable: its first byte was): two 8-byte loads.
    // The copy of a variable length was a `rep movsq`, a tenth of this function's samples on
    // a program of cold code (bench cold_funcs). The 16th byte is not the instruction's: 0.
    std::memcpy(buf, x_.mem.base + rip, 8);
    std::memcpy(buf + 8, x_.mem.base + rip + 8, 8);
    buf[15] = 0;
  } else {
    std::memcpy(buf + 1, x_.mem.base + rip + 1, in_page - 1);
  }
  got = in_page;
  if (got < avail) {
    // Crossing into the next page: probe it, tolerating a fault by decoding what we have.
    GuestFaultScope probe;
    activate_fault_scope(probe, x_.mem);
    if (sigsetjmp(probe.env, 0) == 0) {
      while (got < avail) { buf[got] = x_.mem.base[rip + got]; ++got; }
    }
    deactivate_fault_scope(probe);
  }
  // The entry is filled in at the pool's cursor, which moves on only once it is complete.
  e = allocate_entry();
  MemoKey key;
  const Insn* const same = memo_find(buf, got, key);
  // Else a shape of the start-up code of most programs, decoded when Vireo was built
  // (known_shapes.h).
  const Insn* const from = same ? same : key.shape ? find_known_shape(buf, got, key) : nullptr;
  if (from) {
    // The same shape, decoded at another address: the same instruction (and handler), with
    // the displacement and immediates read from these bytes and the operands computed from
    // the address moved (their sums wrap as the decoder's do). A known shape's handler is
    // this entry's own.
    apply_template(e->insn, *from, buf, rip);
    if (same) {
      ++memo_hits_;
    } else {
      e->insn.fn = handler_for(e->insn);
      ++known_hits_;
    }
  } else {
    if (!decoder_.decode(buf, got, rip, e->insn)) {
      // Undecodable: #UD, or #PF if the instruction runs into an unmapped page.
      if ((got < 15 && got < avail) || nx_next) x_.raise_pf(rip + got, false);
      x_.raise_ud();
    }
    e->insn.fn = handler_for(e->insn);
  }
  // (A copy of a known shape is noted as a decode: it is not in the memo yet.)
  const bool copied = same != nullptr;
  e->rip = rip;
  e->next = nullptr;
  e->heads = 0;
  e->wrap = epoch_;
  ++pool_next_;
  // The next decode's entry, for writing: the cursor's entries were written a whole pool ago
  // and are out of the host's caches, and the copy into them stalled on both lines.
  if (pool_next_ < pool_size_) {
    __builtin_prefetch(&pool_[pool_next_], 1);
    __builtin_prefetch(reinterpret_cast<const char*>(&pool_[pool_next_]) + 64, 1);
  }
  if (e + 1 > pool_end_) {
    pool_end_ = e + 1;
    // (Counted from what a forked child or an exec'd image inherited: a shell's children
    // that ran on past their parent's entries each mapped the 512 KB of templates, 9,000
    // page faults more in bash_script under the interp engine.)
    if (pool_end_ - (inherited_end_ ? inherited_end_ : pool_.get()) == ptrdiff_t(kTemplatesAt) && !templates_)
        [[unlikely]]
      start_templates();
    if (pool_end_ == big_index_at_) [[unlikely]] {
      big_index_at_ = nullptr;
      grow_index(kIndexBig);
    }
  }
  if (!young_child()) {
    set_indexed(rip, e);
    memo_note(e, copied, key);
  } else {
    // A young forked child (TierRun::keep_inherited): the index's and the memo's pages are its
    // parent's until written, and a decode's stores land anywhere in them, a page copy each
    // (bash_script under the jit: 17,500 of its 109,000 page faults). Its own decodes are
    // indexed in a small table of its own instead, and not remembered by the memo.
    if (!own_index_) own_index_ = map_array<uint64_t>(kOwnIndexSize, true);
    own_index_[own_slot(rip)] = tag_of(rip) | reinterpret_cast<uintptr_t>(e);
  }
  const uint64_t page = rip >> 12, end_page = (rip + e->insn.len - 1) >> 12;
  note_code_page(page);
  if (end_page != page) [[unlikely]]
    note_code_page(end_page);
  link(last_, e);
  last_ = e;
  prefetch_ahead(e->insn, rip, buf, got);
  return &e->insn;
}

// Cold code is decoded a run at a time: the instruction after one just decoded is most often
// new too, and its fetch then waits on two cache misses in a row, the index slot (a 1 MB
// table at most) and the memo's bucket (512 KB of templates), neither in the host's L2 beside
// a big program's data and the pool (cc1 under the jit: the slot's load a third of the tier
// loop's samples, the bucket's four fifths of `memo_find`'s). Both are asked for now, while
// this instruction runs. (Prefetches only: nothing is read that could fault, and a guess that
// is wrong costs a line of the cache.)
void Interpreter::prefetch_ahead(const Insn& in, uint64_t rip, const uint8_t* buf, size_t got) const {
  // (Not for a short process: its index, 16-128 KB, and its pointer memo stay in the caches.)
  if (index_mask_ + 1 < kIndexMax && !templates_) return;
  const uint64_t next = rip + in.len;
  __builtin_prefetch(&index_[slot_of(next)]);
  // A relative branch's target (a call into a function not run yet, a jump over cold code).
  if ((in.rip_ops & 1) && in.op[0].kind == OpKind::Imm) __builtin_prefetch(&index_[slot_of(uint64_t(in.op[0].disp))]);
  // The memo's bucket for the next instruction's shape, once the memo holds templates
  // (before, it is small and in the caches, and a short process would pay the hash for
  // nothing), when its shape is among the bytes this decode read (`buf`: `got` of them, zeros
  // after). (Not read from guest memory again: another thread may unmap the page meanwhile,
  // and the fault would be this instruction's.)
  if (!templates_ || in.len >= got) return;
  const uint8_t* const b = buf + in.len;
  const unsigned shape = guess_shape_length(b);
  if (shape > got - in.len) return;
  uint64_t w0, w1;
  std::memcpy(&w0, b, 8);
  std::memcpy(&w1, b + 8, 8);
  __builtin_prefetch(&templates_[memo_bucket(memo_hash(w0, w1, shape), kTemplateSlots - 1)]);
}

StopReason Interpreter::fault_stop(CpuState& cpu, int how) {
  deactivate_fault_scope(scope_);
  // rip has not moved past the instruction yet: its fetch (or decode) is what failed.
  const bool fetching = cpu.rip == x_.insn_rip;
  cpu.rip = x_.insn_rip;
  if (how == 1) {  // host fault on a guest access
    cpu.fault = {VEC_PF, true, scope_.fault.error_code & (pf::P | pf::W), scope_.fault.guest_addr,
                 scope_.fault.is_write};
  }
  if (cpu.fault.vector == VEC_PF && !cpu.fault.emulated)
    cpu.fault = memory_fault(cpu, x_.mem, cpu.fault.address,
                             (cpu.fault.error_code & (pf::P | pf::W)) | (fetching ? pf::I : 0));
  return StopReason::Fault;
}

StopReason Interpreter::run(CpuState& cpu) {
  if (sys_) [[unlikely]]
    return run_system(cpu);
  return enter<false>(cpu);
}

StopReason Interpreter::run_tier(CpuState& cpu, TierRun& run) {
  run.due = false;
  tier_ = &run;
  set_tier_fast();
  if (CacheEntry* const from = std::exchange(tier_resume_, nullptr)) last_ = from;
  StopReason r = enter<true>(cpu);
  tier_ = nullptr;
  return r;
}

// run and run_tier: the loop inside the fault scope. (A debugger's breakpoints and
// watchpoints are checked in the tier too.)
template <bool tier>
StopReason Interpreter::enter(CpuState& cpu) {
  x_.cpu = &cpu;
  x_.stop = StopReason::None;
  x_.insn_rip = cpu.rip;
  activate_fault_scope(scope_, x_.mem);
  // Faults come back here by siglongjmp (Exec::raise or the host SIGSEGV handler). Everything
  // the loop needs afterwards lives in members, not locals, so nothing is clobbered.
  if (int how = sigsetjmp(scope_.env, 0)) return fault_stop(cpu, how);
  StopReason r = debug_ || limit_ || stop_at_branch_ ? loop<false, tier>(cpu) : loop<true, tier>(cpu);
  deactivate_fault_scope(scope_);
  return r;
}

namespace {
const std::atomic<bool> kNeverYield{false};
}  // namespace

// What tier_counts counts in the loop (TierFast), from the run's TierRun.
void Interpreter::set_tier_fast() {
  const TierRun& run = *tier_;
  TierFast& f = tier_fast_;
  f.from = run.translated ? 1 : 0;
  f.below = run.restart_first || run.translate_at < f.from + 2 ? 0 : run.translate_at - 1 - f.from;
  f.store_from = run.keep_inherited && inherited_end_ ? inherited_end_ : nullptr;
  f.yield_at_insn = run.yield_at_insn;
  f.yield_flag = run.yield_flag ? run.yield_flag : &kNeverYield;
}

// The common head, counted without a call (TierFast): true if counted, false to ask tier_head.
// (The same decisions as tier_head's for such a head: not due after this entry, stored; or,
// inherited, read and not stored.)
inline bool Interpreter::tier_counts(const CpuState& cpu, const Insn* in) {
  CacheEntry* const e = last_;
  const TierFast& f = tier_fast_;
  if (!e || &e->insn != in || cpu.insn_count >= f.yield_at_insn || f.yield_flag->load(std::memory_order_relaxed))
    return false;
  if (e < f.store_from) [[unlikely]] {
    // Inherited (a young forked child's, a forking parent's, an image's that kept the decodes
    // of the one before its execve): read, not stored. Every such head went to tier_head, ~70
    // instructions each: 290,000 in a `busybox true` exec'd by busybox sh, whose decodes are
    // all its parent's (docs/performance-history.md, "Fork and exec, fourteenth pass"). As tier_head
    // reads it: a count from before a wrap, or from the image before an execve, is 0; a due
    // head (kDue) stays due past a wrap. Due, or 0 with translations to ask about: tier_head.
    const uint32_t n = e->wrap == epoch_                           ? e->heads
                       : e->heads < kDue || e->wrap < image_epoch_ ? 0
                                                                   : kDue;
    if (n - f.from >= f.below) return false;
    ++tier_->heads;
    return true;
  }
  if (e->wrap != epoch_ || e->heads - f.from >= f.below) return false;
  ++e->heads;
  ++tier_->heads;
  return true;
}

// A block head in the tier (run_tier): counted in its decode-cache entry, where the fetch just
// loaded the line. Out of line: one in several instructions is a head, and most are counted
// by tier_counts in the loop.
bool Interpreter::tier_head(CpuState& cpu, const Insn* in) {
  TierRun& run = *tier_;
  // (never at the run's first head: the caller has just looked)
  if (run.heads && (cpu.insn_count >= run.yield_at_insn ||
                    (run.yield_flag && run.yield_flag->load(std::memory_order_relaxed))))
    return true;
  ++run.heads;
  CacheEntry* const e = last_;
  if (!e || &e->insn != in) return false;  // (the vsyscall page's emulated calls)
  if (run.restart_first) [[unlikely]] {
    run.restart_first = false;
    set_tier_fast();  // (the fast path was off for this head)
    e->heads = 1;
    e->wrap = epoch_;
    return false;
  }
  // A due head's count is not stored again: after a fork (a shell's subshells) every store to
  // a pool page is a copy-on-write fault, in the parent and in the child.
  const bool store = !run.keep_inherited || !inherited_end_ || e >= inherited_end_;
  uint32_t n = e->heads;
  // Counted before the pool wrapped, or (a due head too) by the image before an execve.
  if (e->wrap != epoch_ && (n < kDue || e->wrap < image_epoch_)) n = 0;
  if (n < kDue) {
    if (n == 0 && run.translated && run.translated(run.ctx, cpu.rip)) n = kDue - 1;
    if (++n < run.translate_at) {
      if (store) {
        e->heads = n;
        e->wrap = epoch_;
      }
      return false;
    }
    if (store) e->heads = kDue;
  }
  run.due = true;
  --run.heads;  // (it runs in the other tier)
  return true;
}

void Interpreter::cool_due_heads() {
  for (CacheEntry* e = pool_.get(); e < pool_end_; ++e)
    if (e->heads >= kDue) e->heads = 0;
}

// The interp engine's loop for `n` instructions (TierRun::uncounted_until): a count down in a
// register, out of line so that it gets the registers loop<plain, false> has (~2 host
// instructions per guest instruction more than that loop; inline in loop<plain, true>, with
// the bound compared to cpu.insn_count, ~3.7).
template <bool plain>
[[gnu::noinline]] StopReason Interpreter::uncounted(CpuState& cpu, uint64_t n) {
  for (; n; --n) {
    if (StopReason r = before_fetch<plain>(cpu); r != StopReason::None) [[unlikely]]
      return r;
    if (StopReason r = step<plain>(cpu, fetch(cpu)); r != StopReason::None) [[unlikely]]
      return r;
  }
  return StopReason::None;
}

// The fetch-execute loop. `plain`: no debugger, no instruction limit, no stop at a branch —
// the interp engine's usual case, which then tests per instruction only what can happen
// anyway (an exit request, AC or TF set, a stop the instruction asked for). `tier`: at each
// block head a count in the head's decode-cache entry (run_tier).
template <bool plain, bool tier>
StopReason Interpreter::loop(CpuState& cpu) {
  if constexpr (!tier) {
    for (;;) {
      if (StopReason r = before_fetch<plain>(cpu); r != StopReason::None) [[unlikely]]
        return r;
      if (StopReason r = step<plain>(cpu, fetch(cpu)); r != StopReason::None) [[unlikely]]
        return r;
    }
  } else {
    // A block at a time: its head (the run's first instruction, or the target of one that
    // branched) counted, then the instructions after it until one that may branch
    // (pfx::MAY_BRANCH) did. Only those can leave rip elsewhere than at the fall-through
    // without ending the run (faults, system calls and the other stops return): the
    // straight-line instructions pay one byte's test, not a head test each (an exec'd busybox
    // true under the jit: 145,000 host instructions fewer in this loop than with rip compared
    // after every instruction, a third of what the tier cost over the interp engine's loop;
    // docs/performance-history.md, "Fork and exec, fifteenth pass").
    // A young process's first instructions (TierRun::uncounted_until): the interp engine's
    // loop and a bound; the counting below starts at the instruction the bound stops at.
    if (cpu.insn_count < tier_->uncounted_until)
      if (StopReason r = uncounted<plain>(cpu, tier_->uncounted_until - cpu.insn_count); r != StopReason::None)
        return r;
    for (;;) {
      if (StopReason r = before_fetch<plain>(cpu); r != StopReason::None) [[unlikely]]
        return r;
      CacheEntry* const from = last_;  // (where a stop resumes, tier_resume_)
      const Insn* in = fetch(cpu);
      if (!tier_counts(cpu, in) && tier_head(cpu, in)) [[unlikely]] {
        tier_resume_ = from;
        return StopReason::InstructionLimit;
      }
      for (;;) {
        if (StopReason r = step<plain>(cpu, in); r != StopReason::None) [[unlikely]]
          return r;
        if ((in->prefixes & pfx::MAY_BRANCH) && cpu.rip != x_.insn_rip + in->len) break;
        if (StopReason r = before_fetch<plain>(cpu); r != StopReason::None) [[unlikely]]
          return r;
        in = fetch(cpu);
      }
    }
  }
}

// What loop tests before fetching an instruction (rip is the instruction's): an exit request,
// and the debugger's breakpoints. StopReason::None to go on.
template <bool plain>
[[gnu::always_inline]] inline StopReason Interpreter::before_fetch(CpuState& cpu) {
  if (cpu.exit_request) [[unlikely]]
    return StopReason::ExitRequest;
  x_.insn_rip = cpu.rip;
  if (!plain && debug_ && debug_breakpoint(cpu)) [[unlikely]]
    return StopReason::Debug;
  return StopReason::None;
}

// One instruction fetched by loop, run: StopReason::None to go on.
template <bool plain>
[[gnu::always_inline]] inline StopReason Interpreter::step(CpuState& cpu, const Insn* in) {
  const uint64_t flags_before = cpu.rflags;
  if (flags_before & flag::AC) [[unlikely]]
    alignment_check(x_, *in);
  if (!plain && debug_) [[unlikely]]
    debug_before(*in);
  cpu.rip += in->len;
  in->fn(x_, *in);
  ++cpu.insn_count;
  if (!plain && debug_ && x_.stop == StopReason::None && debug_after()) [[unlikely]]
    return StopReason::Debug;
  // (Not after a syscall: Linux traps after it returns; that step is not modelled.)
  if ((flags_before & flag::TF) && x_.stop == StopReason::None) [[unlikely]]
    single_step_trap(x_);
  if (x_.stop != StopReason::None) [[unlikely]] {
    StopReason r = x_.stop;
    x_.stop = StopReason::None;
    return r;
  }
  if (!plain && limit_ && --limit_ == 0) [[unlikely]]
    return StopReason::InstructionLimit;
  if (!plain && stop_at_branch_ && cpu.rip != x_.insn_rip + in->len) [[unlikely]]
    return StopReason::InstructionLimit;
  return StopReason::None;
}

StopReason Interpreter::step_one(CpuState& cpu, const Insn& in) {
  x_.cpu = &cpu;
  x_.stop = StopReason::None;
  x_.insn_rip = cpu.rip;
  activate_fault_scope(scope_, x_.mem);
  if (int how = sigsetjmp(scope_.env, 0)) return fault_stop(cpu, how);
  cpu.rip += in.len;
  in.fn(x_, in);
  ++cpu.insn_count;
  deactivate_fault_scope(scope_);
  StopReason r = x_.stop;
  x_.stop = StopReason::None;
  return r;
}

void Interpreter::merge_stats(const Engine& other) {
  auto* o = dynamic_cast<const Interpreter*>(&other);
  if (!o) return;
  decode_misses_ += o->decode_misses_;
  memo_hits_ += o->memo_hits_;
  known_hits_ += o->known_hits_;
  pool_wraps_ += o->pool_wraps_;
  for (auto& [m, n] : o->unimplemented_) unimplemented_[m] += n;
}

void Interpreter::report_unimplemented(const Insn& in) {
  if (unimplemented_[in.mnemonic]++ == 0)
    diag_print(stderr, "vireo: unimplemented instruction '{}' at pc=0x{:x} ({})\n",
               ZydisMnemonicGetString(ZydisMnemonic(in.mnemonic)), x_.insn_rip,
               hex_bytes(in.bytes, in.len));
}

void Interpreter::print_stats(std::FILE* out, double seconds) const {
  if (sys_) return print_system_stats(out, seconds);
  fmt::print(out, "  decode cache misses:  {}\n", decode_misses_);
  if (memo_hits_) fmt::print(out, "  decodes copied:       {} (the same shape decoded at another address)\n", memo_hits_);
  if (known_hits_) fmt::print(out, "  known shapes copied:  {} (decodes made when Vireo was built)\n", known_hits_);
  if (pool_wraps_)
    fmt::print(out, "  decode pool wraps:    {} ({} entries{})\n", pool_wraps_, pool_size_,
               tier_pool_ ? ", head counts restarted at each" : "");
  if (pool_growths_) fmt::print(out, "  decode pool growths:  {} (to {} entries)\n", pool_growths_, pool_size_);
  for (auto& [m, n] : unimplemented_)
    fmt::print(out, "  unimplemented:        {} x{}\n",
               ZydisMnemonicGetString(ZydisMnemonic(m)), n);
}

}  // namespace vireo
