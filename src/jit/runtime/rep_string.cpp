// rep movs/stos for translated code: the memcpy/memset of many programs (busybox copies
// hash blocks with `rep movsb` and clears buffers with `rep stosq`); and repe/repne
// cmps/scas (see run_compare).
//
// Semantics as in src/interp/string.cpp (SDM Vol. 2, MOVS/STOS and REP): with rCX = 0 nothing
// happens; otherwise every iteration is complete before the next, so a fault leaves rSI/rDI/
// rCX describing the iterations done and rip at the instruction, which restarts it. The copy
// runs page by page, as the interpreter's does: both pages of a chunk are touched first (by its
// first element, copied alone), so a fault (an unmapped page, or a write to a page holding
// translated code) happens before any of the chunk is done and the registers are exactly the
// interpreter's. rCX = 0 returns at once, and the fault scope is one per thread: a call's
// fixed cost is what small counts pay (issue 22, cpp_virtual's unwinder). Each chunk is the host's
// own `rep movs`/`rep stos`, which also gives overlapping copies their sequential result.
//
// With DF = 1 (memmove copying backwards) the chunks go down the pages; see run_down.
// Operands that reach past the guest window go to the interpreter, which faults there.
#include <Zydis/Mnemonic.h>
#include <xmmintrin.h>

#include <algorithm>
#include <csetjmp>
#include <type_traits>

#include "cpu/flags.h"
#include "cpu/host_quirks.h"
#include "jit/backend/x64/emitter.h"
#include "jit/cache/translated_block.h"
#include "jit/runtime/helpers.h"
#include "mem/host_fault.h"

namespace vireo::jit {

namespace {

constexpr uint64_t kPage = 4096;

// Whole elements of `size` from `la` to the end of its page.
uint64_t in_page(uint64_t la, unsigned size) { return (kPage - (la & (kPage - 1))) / size; }

// Whether `count` elements upwards from `start` lie inside the guest window.
bool in_window(const GuestMemory& mem, uint64_t start, uint64_t count, unsigned size) {
  return count <= mem.limit / size && start <= mem.limit && count * size <= mem.limit - start;
}

// Whether `count` elements downwards from the one at `start` lie inside the guest window.
bool in_window_down(const GuestMemory& mem, uint64_t start, uint64_t count, unsigned size) {
  return count == 0 || (start <= mem.limit - size && count - 1 <= start / size);
}

// Whole elements of `size` from the one at `la` down to the start of its page (0 if that one
// straddles two pages: it then goes alone).
uint64_t down_in_page(uint64_t la, unsigned size) {
  uint64_t off = la & (kPage - 1);
  return off + size > kPage ? 0 : off / size + 1;
}

template <unsigned N>
void element_copy(uint8_t* dst, const uint8_t* src) {
  using T = std::conditional_t<N == 1, uint8_t, std::conditional_t<N == 2, uint16_t,
            std::conditional_t<N == 4, uint32_t, uint64_t>>>;
  T v = *reinterpret_cast<const volatile T*>(src);
  *reinterpret_cast<volatile T*>(dst) = v;
}
template <unsigned N>
void element_store(uint8_t* dst, uint64_t v) {
  using T = std::conditional_t<N == 1, uint8_t, std::conditional_t<N == 2, uint16_t,
            std::conditional_t<N == 4, uint32_t, uint64_t>>>;
  *reinterpret_cast<volatile T*>(dst) = T(v);
}

// The host's rep movs/stos; `down` runs them with DF = 1 (and clears it again, as the ABI
// wants it clear).
#define VIREO_MOVS(insn)                                                                       \
  if constexpr (down)                                                                          \
    asm volatile("std\n\trep " insn "\n\tcld" : "+D"(dst), "+S"(src), "+c"(n) : : "memory"); \
  else                                                                                         \
    asm volatile("rep " insn : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#define VIREO_STOS(insn)                                                                       \
  if constexpr (down)                                                                          \
    asm volatile("std\n\trep " insn "\n\tcld" : "+D"(dst), "+c"(n) : "a"(v) : "memory");    \
  else                                                                                         \
    asm volatile("rep " insn : "+D"(dst), "+c"(n) : "a"(v) : "memory");
template <unsigned N, bool down>
void host_movs(uint8_t* dst, const uint8_t* src, uint64_t n) {
  if constexpr (N == 1) { VIREO_MOVS("movsb") }
  if constexpr (N == 2) { VIREO_MOVS("movsw") }
  if constexpr (N == 4) { VIREO_MOVS("movsl") }
  if constexpr (N == 8) { VIREO_MOVS("movsq") }
}

template <unsigned N, bool down>
void host_stos(uint8_t* dst, uint64_t v, uint64_t n) {
  if constexpr (N == 1) { VIREO_STOS("stosb") }
  if constexpr (N == 2) { VIREO_STOS("stosw") }
  if constexpr (N == 4) { VIREO_STOS("stosl") }
  if constexpr (N == 8) { VIREO_STOS("stosq") }
}
#undef VIREO_MOVS
#undef VIREO_STOS

// DF = 1: the interpreter copies element by element, so a chunk here starts with one element
// done the same way (a plain load and store: the same fault, of the same kind, at the same
// element), and the rest of the chunk, on the pages that element touched, cannot fault.
template <unsigned N, bool is_movs>
bool run_down(CpuState& cpu, const GuestMemory& mem, uint32_t& exit, uint64_t pc) {
  uint64_t& rsi = cpu.gpr[RSI];
  uint64_t& rdi = cpu.gpr[RDI];
  uint64_t& rcx = cpu.gpr[RCX];
  if (!in_window_down(mem, rdi, rcx, N) || (is_movs && !in_window_down(mem, rsi, rcx, N))) return false;
  while (uint64_t count = rcx) {
    if (cpu.exit_request) {
      cpu.rip = pc;
      exit = kExitRequest;
      return true;
    }
    uint64_t n = std::min(count, down_in_page(rdi, N));
    if constexpr (is_movs) n = std::min(n, down_in_page(rsi, N));
    n = std::max<uint64_t>(n, 1);  // an element across a page boundary goes alone
    asm volatile("" : : : "memory");
    uint8_t* dst = mem.base + rdi;
    if constexpr (is_movs) element_copy<N>(dst, mem.base + rsi);
    else element_store<N>(dst, cpu.gpr[RAX]);
    if (n > 1) {
      if constexpr (is_movs) host_movs<N, true>(dst - N, mem.base + rsi - N, n - 1);
      else host_stos<N, true>(dst - N, cpu.gpr[RAX], n - 1);
    }
    if constexpr (is_movs) rsi -= n * N;
    rdi -= n * N;
    rcx = count - n;
  }
  return true;
}

// Runs the instruction on the fast path; false leaves the rest of it to the interpreter.
// `exit` receives kExitRequest when it stops early for an exit request.
template <unsigned N, bool is_movs>
bool run(CpuState& cpu, const GuestMemory& mem, uint32_t& exit, uint64_t pc) {
  uint64_t& rsi = cpu.gpr[RSI];
  uint64_t& rdi = cpu.gpr[RDI];
  uint64_t& rcx = cpu.gpr[RCX];
  if (!in_window(mem, rdi, rcx, N) || (is_movs && !in_window(mem, rsi, rcx, N))) return false;
  while (uint64_t count = rcx) {
    // A long rep yields to a pending exit request between chunks, as the interpreter does.
    if (cpu.exit_request) {
      cpu.rip = pc;
      exit = kExitRequest;
      return true;
    }
    uint64_t n = std::min(count, in_page(rdi, N));
    if constexpr (is_movs) n = std::min(n, in_page(rsi, N));
    // An element across a page boundary goes alone, as one load and store.
    n = std::max<uint64_t>(n, 1);
    // Chunk boundaries as the interpreter's, so that a fault leaves the same registers: a
    // destination just above the source copies no more than the distance at once.
    if (is_movs && n > 1 && rdi > rsi && rdi - rsi < n * N) n = std::max<uint64_t>(1, (rdi - rsi) / N);
    // The registers are in CpuState before an access may fault (the fault path keeps them).
    asm volatile("" : : : "memory");
    uint8_t* dst = mem.base + rdi;
    // The first element as a plain load and store, as the interpreter does a lone one: it
    // touches the chunk's pages (the source's read first), so a fault happens before any of
    // the chunk is done, and reports the same address and kind as the interpreter's probes
    // (a locked probe cost ~20 cycles and a drained store buffer at every call). The rest of
    // the chunk, on those pages, cannot fault; in order after the first, it is the same copy.
    if constexpr (is_movs) element_copy<N>(dst, mem.base + rsi);
    else element_store<N>(dst, cpu.gpr[RAX]);
    if (n > 1) {
      if constexpr (is_movs) host_movs<N, false>(dst + N, mem.base + rsi + N, n - 1);
      else host_stos<N, false>(dst + N, cpu.gpr[RAX], n - 1);
    }
    if constexpr (is_movs) rsi += n * N;
    rdi += n * N;
    rcx = count - n;
  }
  return true;
}

// repe/repne cmps/scas: element by element, as the interpreter does; the loop ends when rCX
// reaches 0 or ZF disagrees with the prefix (checked after rCX is decremented).
template <class T, bool is_cmps>
bool run_compare(CpuState& cpu, const GuestMemory& mem, uint32_t& exit, uint64_t pc, bool while_equal) {
  constexpr unsigned N = sizeof(T);
  uint64_t& rsi = cpu.gpr[RSI];
  uint64_t& rdi = cpu.gpr[RDI];
  uint64_t& rcx = cpu.gpr[RCX];
  bool down = cpu.rflags & flag::DF;
  auto fits = [&](uint64_t start) {
    return down ? in_window_down(mem, start, rcx, N) : in_window(mem, start, rcx, N);
  };
  if (!fits(rdi) || (is_cmps && !fits(rsi))) return false;
  uint64_t step = down ? -uint64_t(N) : N;
  // The order of the two reads decides which fault is reported: interp/string.cpp says why.
  const bool source_first = is_cmps && N == 1 && while_equal && host_repe_cmpsb_reads_source_first();
  // The flags a fault part way leaves: as interp/string.cpp's compare (cpu/host_quirks.h).
  const bool keep_flags = host_rep_compare_fault_keeps_flags();
  const uint64_t at_start = cpu.rflags;
  uint64_t last = at_start;
  while (uint64_t count = rcx) {
    if (cpu.exit_request) {
      cpu.rflags = last;
      cpu.rip = pc;
      exit = kExitRequest;
      return true;
    }
    asm volatile("" : : : "memory");  // the registers are in CpuState before a load faults
    T a = source_first ? *reinterpret_cast<const volatile T*>(mem.base + rsi) : T(0);
    T b = *reinterpret_cast<const volatile T*>(mem.base + rdi);
    if (!source_first) a = is_cmps ? *reinterpret_cast<const volatile T*>(mem.base + rsi) : T(cpu.gpr[RAX]);
    flags::set_arith(cpu, flags::sub<T>(a, b, T(a - b)));
    if constexpr (is_cmps) rsi += step;
    rdi += step;
    rcx = count - 1;
    last = cpu.rflags;
    if (keep_flags) cpu.rflags = at_start;
    if (bool(last & flag::ZF) != while_equal) break;
  }
  cpu.rflags = last;
  return true;
}

// One per thread, not one per call: a GuestFaultScope's HostFault (~450 bytes) was zeroed by
// its constructor at every call, and only a fault writes it. The helper is not reentered (a
// fault leaves it by siglongjmp to this scope, which is deactivated first thing).
thread_local GuestFaultScope t_scope;

// Runs `body(exit)` (false: leave the instruction to the interpreter) with guest faults
// caught: a faulting access leaves the registers describing the chunks done and returns
// kExitFault with the fault at the instruction.
template <class Body>
uint32_t guarded(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem, Body body) {
  GuestFaultScope& scope = t_scope;
  activate_fault_scope(scope, *mem);
  if (sigsetjmp(scope.env, 0)) {
    // The signal handler ran with a fresh FPU state, which siglongjmp keeps: the guest's
    // MXCSR comes from the context.
    deactivate_fault_scope(scope);
    _mm_setcsr(scope.fault.host_mxcsr);
    cpu->rip = f->pc;
    cpu->fault = {VEC_PF, true, scope.fault.is_write ? 6u : 4u, scope.fault.guest_addr,
                  scope.fault.is_write};
    return kExitFault;
  }
  uint32_t exit = kExitDispatch;
  bool done = body(exit);
  deactivate_fault_scope(scope);
  if (!done) return fallback_helper(cpu, f);
  if (exit == kExitDispatch) ++cpu->insn_count;
  return exit;
}

template <unsigned N, bool is_movs>
uint32_t rep(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem) {
  return guarded(cpu, f, mem, [&](uint32_t& exit) {
    return cpu->rflags & flag::DF ? run_down<N, is_movs>(*cpu, *mem, exit, f->pc)
                                  : run<N, is_movs>(*cpu, *mem, exit, f->pc);
  });
}

template <class T, bool is_cmps>
uint32_t rep_compare(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem) {
  settle_lazy_flags(*cpu);  // (each iteration writes the six flags into rflags)
  return guarded(cpu, f, mem, [&](uint32_t& exit) {
    return run_compare<T, is_cmps>(*cpu, *mem, exit, f->pc, f->insn.prefixes & pfx::REP);
  });
}

}  // namespace

uint32_t rep_string_helper(CpuState* cpu, FallbackInsn* f, const GuestMemory* mem) {
  // CpuState's lazy flags stay lazy unless the instruction writes flags (cmps/scas settle
  // them, and so does the interpreter's fallback_helper): movs and stos neither read nor
  // write them, and the block that called leaves its own flags lazy before the call (the
  // backend's call_helper; every exit from translated code settles them).
  // rCX = 0: no iteration, no access, no flag changed, for every form (SDM Vol. 2, REP), so
  // neither a fault scope nor the window checks (the interpreter, too, does nothing then).
  // A third of cpp_virtual's calls (libgcc's unwinder copying empty ranges).
  if (cpu->gpr[RCX] == 0) {
    ++cpu->insn_count;
    return kExitDispatch;
  }
  switch (f->insn.mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB: return rep<1, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_MOVSW: return rep<2, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_MOVSD: return rep<4, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_MOVSQ: return rep<8, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_STOSB: return rep<1, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_STOSW: return rep<2, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_STOSD: return rep<4, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_STOSQ: return rep<8, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_CMPSB: return rep_compare<uint8_t, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_CMPSW: return rep_compare<uint16_t, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_CMPSD: return rep_compare<uint32_t, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_CMPSQ: return rep_compare<uint64_t, true>(cpu, f, mem);
    case ZYDIS_MNEMONIC_SCASB: return rep_compare<uint8_t, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_SCASW: return rep_compare<uint16_t, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_SCASD: return rep_compare<uint32_t, false>(cpu, f, mem);
    case ZYDIS_MNEMONIC_SCASQ: return rep_compare<uint64_t, false>(cpu, f, mem);
    default: return fallback_helper(cpu, f);
  }
}

}  // namespace vireo::jit
