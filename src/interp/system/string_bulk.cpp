// rep movs / rep stos in system mode, a page at a time (a kernel's memcpy, memset and
// clear_page: `rep stosq` of 512 quadwords per page). The user-mode handlers (interp/
// string.cpp) go element by element here, each element through the softmmu; this runs each
// chunk that stays on one page of source and destination as one memmove/memset after
// translating both pages (the translation faults before anything of the chunk is done, so
// rSI/rDI/rCX describe exactly the iterations completed, as on hardware: SDM Vol. 2, REP).
// Only DF = 0 and 64-bit code with 64-bit addresses take the bulk path; the rest, RAM-less
// pages (MMIO) and elements that straddle pages are the user handlers' (one element each).
#include <Zydis/Mnemonic.h>

#include <algorithm>
#include <cstring>

#include "cpu/flags.h"
#include "interp/system/system_mode.h"

namespace vireo {

namespace {

Handler g_generic[ZYDIS_MNEMONIC_MAX_VALUE + 1];


// Host bytes of [la, la + len) on one page for an access, or null (a fault, MMIO, not canonical:
// the generic handler then runs one element and raises what the hardware would).
uint8_t* chunk(Exec& x, uint64_t la, uint64_t len, softmmu::Access a) {
  if (!is_canonical(la)) return nullptr;
  uint64_t pa;
  uint32_t err;
  if (!x.sys->mmu.translate(la, a, cpl(*x.cpu) == 3, pa, err)) return nullptr;
  uint8_t* p = x.sys->mmu.ram_ptr(pa, len);
  if (p && a == softmmu::Access::Write) x.sys->mmu.note_write(pa, len);  // (the JIT's code marks)
  return p;
}

bool bulk(Exec& x, const Insn& in) {
  return (in.prefixes & (pfx::REP | pfx::REPNE)) && !(x.cpu->rflags & flag::DF) && in.addrsize == 8 &&
         in_64bit_mode(*x.cpu);
}

uint64_t room(uint64_t la, unsigned size) { return (4096 - (la & 4095)) / size; }

template <class T>
void stos(Exec& x, const Insn& in) {
  constexpr unsigned N = sizeof(T);
  if (!bulk(x, in)) return g_generic[in.mnemonic](x, in);
  const T v = T(x.gpr(RAX));
  const uint64_t base = x.seg_base(SEG_ES);
  while (uint64_t count = x.gpr(RCX)) {
    if (x.cpu->exit_request) {  // (a long rep yields, and continues when run again)
      x.cpu->rip = x.insn_rip;
      return;
    }
    const uint64_t dst = base + x.gpr(RDI);
    const uint64_t n = std::min(count, room(dst, N));
    uint8_t* p = n > 1 ? chunk(x, dst, n * N, softmmu::Access::Write) : nullptr;
    uint64_t done = n;
    if (!p) {
      x.store<T>(dst, v);
      done = 1;
    } else if constexpr (N == 1) {
      std::memset(p, v, n);
    } else {
      for (uint64_t i = 0; i < n; ++i) std::memcpy(p + i * N, &v, N);
    }
    x.set_gpr(RDI, 8, x.gpr(RDI) + done * N);
    x.set_gpr(RCX, 8, count - done);
  }
}

template <class T>
void movs(Exec& x, const Insn& in) {
  constexpr unsigned N = sizeof(T);
  if (!bulk(x, in)) return g_generic[in.mnemonic](x, in);
  const uint64_t src_base = x.seg_base(string_source_segment(in)), dst_base = x.seg_base(SEG_ES);
  while (uint64_t count = x.gpr(RCX)) {
    if (x.cpu->exit_request) {
      x.cpu->rip = x.insn_rip;
      return;
    }
    const uint64_t src = src_base + x.gpr(RSI), dst = dst_base + x.gpr(RDI);
    uint64_t n = std::min({count, room(src, N), room(dst, N)});
    // (the destination inside the chunk's source, linearly: no more than the distance at
    // once, so every byte is final before it is read; other aliasing is as memmove leaves it)
    if (n > 1 && dst > src && dst - src < n * N) n = std::max<uint64_t>(1, (dst - src) / N);
    const uint8_t* from = n > 1 ? chunk(x, src, n * N, softmmu::Access::Read) : nullptr;
    uint8_t* to = from ? chunk(x, dst, n * N, softmmu::Access::Write) : nullptr;
    if (to) {
      std::memmove(to, from, n * N);
    } else {
      x.store<T>(dst, x.load<T>(src));
      n = 1;
    }
    x.set_gpr(RSI, 8, x.gpr(RSI) + n * N);
    x.set_gpr(RDI, 8, x.gpr(RDI) + n * N);
    x.set_gpr(RCX, 8, count - n);
  }
}

}  // namespace

void register_system_strings(DispatchTable& t) {
  for (ZydisMnemonic m : {ZYDIS_MNEMONIC_STOSB, ZYDIS_MNEMONIC_STOSW, ZYDIS_MNEMONIC_STOSD, ZYDIS_MNEMONIC_STOSQ,
                          ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_MOVSW, ZYDIS_MNEMONIC_MOVSD, ZYDIS_MNEMONIC_MOVSQ})
    g_generic[m] = t[m];
  t[ZYDIS_MNEMONIC_STOSB] = stos<uint8_t>;
  t[ZYDIS_MNEMONIC_STOSW] = stos<uint16_t>;
  t[ZYDIS_MNEMONIC_STOSD] = stos<uint32_t>;
  t[ZYDIS_MNEMONIC_STOSQ] = stos<uint64_t>;
  t[ZYDIS_MNEMONIC_MOVSB] = movs<uint8_t>;
  t[ZYDIS_MNEMONIC_MOVSW] = movs<uint16_t>;
  t[ZYDIS_MNEMONIC_MOVSQ] = movs<uint64_t>;
  // (MOVSD: also the SSE2 scalar move, which the table dispatches by operands: left alone)
}

}  // namespace vireo
