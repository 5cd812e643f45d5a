#include "interp/interpreter.h"

#include <sys/mman.h>

#include <fmt/format.h>

#include <sys/mman.h>

#include <cstring>

#include "interp/dispatch.h"
#include "mem/address_space.h"
#include "interp/memory_fault.h"
#include "interp/user_traps.h"
#include "interp/system/system_mode.h"
#include "linux/vdso/vsyscall.h"
#include "mem/address_space.h"

namespace vireo {

Interpreter::Interpreter(const GuestMemory& mem) : Interpreter(mem, 0) {}

Interpreter::Interpreter(const GuestMemory& mem, size_t cache_entries)
    : cache_(map_cache(cache_entries ? cache_entries : kCacheSize, cache_entries != 0)),
      cache_mask_((cache_entries ? cache_entries : kCacheSize) - 1),
      grow_at_misses_(cache_entries && cache_entries < kCacheSize ? kGrowAfterMisses : 0) {
  x_.mem = mem;
  x_.scope = &scope_;
  x_.interp = this;
  install_host_fault_handlers();
}

Interpreter::~Interpreter() = default;

void Interpreter::CacheUnmap::operator()(CacheEntry* p) const {
  ::munmap(p, bytes);
}

std::unique_ptr<Interpreter::CacheEntry[], Interpreter::CacheUnmap> Interpreter::map_cache(size_t entries,
                                                                                         bool populate) {
  size_t bytes = sizeof(CacheEntry) * entries;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (populate ? MAP_POPULATE : 0), -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("cannot allocate the interpreter's decode cache");
  std::unique_ptr<CacheEntry[], CacheUnmap> c(static_cast<CacheEntry*>(p), CacheUnmap{bytes});
  c[0].rip = empty_tag(0);
  return c;
}

// The cold code is more than the table holds: a table 8 times larger, holding the old one's
// entries (each is a decode saved: an exec'd dynamic program grows its table in its loader).
// Called from fetch_slow only, before the entry it fills is chosen, so no decoded instruction
// of the old table is in use.
void Interpreter::grow_cache() {
  size_t entries = std::min(kCacheSize, (cache_mask_ + 1) * 8);
  auto old = std::move(cache_);
  const size_t old_entries = cache_mask_ + 1;
  cache_ = map_cache(entries, true);
  cache_mask_ = entries - 1;
  for (size_t i = 0; i < old_entries; ++i)
    if (old[i].rip != empty_tag(i)) cache_[slot_of(old[i].rip)] = old[i];
  grow_at_misses_ = entries < kCacheSize ? decode_misses_ + kGrowAfterMisses : 0;
}

bool Interpreter::may_hold_code(uint64_t addr, uint64_t len) const {
  if (len == 0) return false;
  uint64_t first = addr >> 12, last = (addr + len - 1) >> 12;
  if (last < first || last - first >= kCodePageBits) return true;
  for (uint64_t page = first; page <= last; ++page)
    if (code_pages_[(page / 64) % (kCodePageBits / 64)] & (uint64_t(1) << (page % 64))) return true;
  return false;
}

void Interpreter::invalidate(uint64_t addr, uint64_t len) {
  // The cache validates entries against the bytes in memory on every hit; what invalidation
  // adds is that code made non-executable (mprotect, munmap) is fetched again, and faults.
  if (!may_hold_code(addr, len)) return;
  for (size_t i = 0; i <= cache_mask_; ++i)
    if (cache_[i].rip - addr < len) cache_[i].rip = empty_tag(i);
}

// Returns the decoded instruction at cpu.rip, decoding on a miss. A cached entry is used only
// if the bytes in memory still equal the bytes it was decoded from, which makes self-modifying
// code correct with no write tracking at all. The check is two masked 8-byte compares when the
// 16 bytes at rip lie in one page (reading them cannot fault where the instruction does not).
inline const Insn* Interpreter::fetch(CpuState& cpu) {
  uint64_t rip = cpu.rip;
  CacheEntry& e = cache_[slot_of(rip)];
  if (e.rip == rip && (rip & 4095) <= 4096 - 16) [[likely]] {
    uint64_t w0, w1;
    std::memcpy(&w0, x_.mem.base + rip, 8);
    std::memcpy(&w1, x_.mem.base + rip + 8, 8);
    if ((((w0 ^ e.code[0]) & e.mask[0]) | ((w1 ^ e.code[1]) & e.mask[1])) == 0) [[likely]]
      return &e.insn;
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
    return i;
  }();
  return in;
}

}  // namespace

// Code runs only from executable guest pages (user mode: the guest's protections live in its
// address space; the host pages stay readable for the engines).
bool Interpreter::executable(uint64_t addr) const {
  if (!x_.mem.space) return true;
  int prot = x_.mem.space->prot_at(addr);
  return prot >= 0 && (prot & PROT_EXEC);
}

const Insn* Interpreter::fetch_slow(CpuState& cpu, CacheEntry& e) {
  uint64_t rip = cpu.rip;
  if (e.rip == rip && x_.mem.contains(rip, e.insn.len) &&
      std::memcmp(e.insn.bytes, x_.mem.base + rip, e.insn.len) == 0 && executable(rip) &&
      executable(rip + e.insn.len - 1))
    return &e.insn;

  ++decode_misses_;
  if (decode_misses_ == grow_at_misses_) [[unlikely]] {
    grow_cache();
    --decode_misses_;  // (counted again below)
    return fetch_slow(cpu, cache_[slot_of(rip)]);
  }
  // The legacy vsyscall page lies outside the window: its calls are emulated here.
  if (!x_.mem.contains(rip, 1) && in_vsyscall_page(rip) && x_.mem.space) return &vsyscall_insn();
  // Code runs only from executable pages (NX): a fetch elsewhere is a #PF with the fetch bit,
  // present if the page is mapped at all.
  if (x_.mem.space && !x_.mem.space->is_mapped(rip, 1, PROT_EXEC)) [[unlikely]]
    x_.raise(VEC_PF, x_.mem.space->is_mapped(rip, 1) ? pf::P : 0, true, rip, false);
  // Read up to 15 bytes, stopping at the end of the window; a fetch from an unmapped page
  // faults on the host and becomes a guest #PF at this rip, as does one from a page without
  // PROT_EXEC.
  if (!x_.mem.contains(rip, 1)) x_.raise_pf(rip, false);
  if (!executable(rip)) x_.raise_pf(rip, false);
  size_t avail = std::min<uint64_t>(15, x_.mem.limit - rip);
  // An instruction may not run on into a page that is not executable.
  const bool nx_next = (rip & 4095) + avail > 4096 && !executable((rip | 4095) + 1);
  if (nx_next) avail = 4096 - (rip & 4095);
  uint8_t buf[16] = {};
  // Copy byte by byte up to the first unmapped byte (an instruction may end right before an
  // unmapped page); the first byte faults for real if unmapped.
  size_t got = 0;
  buf[got++] = x_.mem.base[rip];
  uint64_t page_end = (rip | 4095) + 1;
  while (got < avail && rip + got < page_end) { buf[got] = x_.mem.base[rip + got]; ++got; }
  if (got < avail) {
    // Crossing into the next page: probe it, tolerating a fault by decoding what we have.
    GuestFaultScope probe;
    activate_fault_scope(probe, x_.mem);
    if (sigsetjmp(probe.env, 0) == 0) {
      while (got < avail) { buf[got] = x_.mem.base[rip + got]; ++got; }
    }
    deactivate_fault_scope(probe);
  }
  e.rip = empty_tag(slot_of(rip));
  if (!decoder_.decode(buf, got, rip, e.insn)) {
    // Undecodable: #UD, or #PF if the instruction runs into an unmapped page.
    if ((got < 15 && got < avail) || nx_next) x_.raise_pf(rip + got, false);
    x_.raise_ud();
  }
  e.insn.fn = handler_for(e.insn);
  uint8_t padded[16] = {};
  std::memcpy(padded, e.insn.bytes, e.insn.len);
  std::memcpy(e.code, padded, 16);
  unsigned len = e.insn.len;
  e.mask[0] = len >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * len)) - 1;
  e.mask[1] = len <= 8 ? 0 : (uint64_t(1) << (8 * (len - 8))) - 1;
  note_code_page(rip >> 12);
  note_code_page((rip + len - 1) >> 12);
  e.rip = rip;
  return &e.insn;
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
  x_.cpu = &cpu;
  x_.stop = StopReason::None;
  x_.insn_rip = cpu.rip;
  activate_fault_scope(scope_, x_.mem);
  // Faults come back here by siglongjmp (Exec::raise or the host SIGSEGV handler). Everything
  // the loop needs afterwards lives in members, not locals, so nothing is clobbered.
  if (int how = sigsetjmp(scope_.env, 0)) return fault_stop(cpu, how);

  for (;;) {
    if (cpu.exit_request) [[unlikely]] {
      deactivate_fault_scope(scope_);
      return StopReason::ExitRequest;
    }
    x_.insn_rip = cpu.rip;
    if (debug_ && debug_breakpoint(cpu)) [[unlikely]] {
      deactivate_fault_scope(scope_);
      return StopReason::Debug;
    }
    const Insn* in = fetch(cpu);
    const uint64_t flags_before = cpu.rflags;
    if (flags_before & flag::AC) [[unlikely]]
      alignment_check(x_, *in);
    if (debug_) [[unlikely]]
      debug_before(*in);
    cpu.rip += in->len;
    in->fn(x_, *in);
    ++cpu.insn_count;
    if (debug_ && x_.stop == StopReason::None && debug_after()) [[unlikely]] {
      deactivate_fault_scope(scope_);
      return StopReason::Debug;
    }
    // (Not after a syscall: Linux traps after it returns; that step is not modelled.)
    if ((flags_before & flag::TF) && x_.stop == StopReason::None) [[unlikely]]
      single_step_trap(x_);
    if (x_.stop != StopReason::None) [[unlikely]] {
      deactivate_fault_scope(scope_);
      StopReason r = x_.stop;
      x_.stop = StopReason::None;
      return r;
    }
    if (limit_ && --limit_ == 0) [[unlikely]] {
      deactivate_fault_scope(scope_);
      return StopReason::InstructionLimit;
    }
    if (stop_at_branch_ && cpu.rip != x_.insn_rip + in->len) [[unlikely]] {
      deactivate_fault_scope(scope_);
      return StopReason::InstructionLimit;
    }
  }
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
  for (auto& [m, n] : o->unimplemented_) unimplemented_[m] += n;
}

void Interpreter::report_unimplemented(const Insn& in) {
  if (unimplemented_[in.mnemonic]++ == 0)
    fmt::print(stderr, "vireo: unimplemented instruction '{}' at pc=0x{:x} ({})\n",
               ZydisMnemonicGetString(ZydisMnemonic(in.mnemonic)), x_.insn_rip,
               hex_bytes(in.bytes, in.len));
}

void Interpreter::print_stats(std::FILE* out, double seconds) const {
  if (sys_) return print_system_stats(out, seconds);
  fmt::print(out, "  decode cache misses:  {}\n", decode_misses_);
  for (auto& [m, n] : unimplemented_)
    fmt::print(out, "  unimplemented:        {} x{}\n",
               ZydisMnemonicGetString(ZydisMnemonic(m)), n);
}

}  // namespace vireo
