// Instruction fetch in system mode: CS base (outside 64-bit mode) + rip -> softmmu (execute
// rights at the CPL) -> RAM. Decoded instructions are cached by linear address and mode and
// used only while the bytes at the translated address are still the ones decoded, so code that
// is modified or remapped (a CR3 switch, a new PTE) is decoded again with no write tracking
// (the kernel's alternatives and text_poke among them).
#include <fmt/format.h>

#include <cstring>

#include "interp/system/system_mode.h"

namespace vireo {

using softmmu::Access;

ExecMode exec_mode(const CpuState& c) {
  const uint16_t a = c.seg[SEG_CS].attrib;
  if (long_mode_active(c) && (a & seg_attr::L)) return ExecMode::Long64;
  // The default operand size comes from the cached CS.D even in real mode (SDM Vol. 3, 3.4.5).
  return (a & seg_attr::DB) ? ExecMode::Bits32 : ExecMode::Bits16;
}

namespace {

uint8_t* fetch_page(Exec& x, uint64_t la) {
  SystemMode& s = *x.sys;
  const bool user = cpl(*x.cpu) == 3;
  SystemMode::FetchPage& m = s.fetch_memo;
  if (m.page == la >> 12 && m.user == user && m.tlb_generation == s.mmu.tlb.generation) [[likely]]
    return m.host + (la & 4095);
  uint64_t pa;
  uint32_t err;
  if (!s.mmu.translate(la, Access::Exec, user, pa, err)) x.raise(VEC_PF, err, true, la, false);
  uint8_t* host = s.mmu.ram_ptr(pa, 4096 - (pa & 4095));
  if (!host)
    throw machine::MachineStop(fmt::format("guest executes outside RAM at {:#x} (physical {:#x})", la, pa));
  m = {la >> 12, user, s.mmu.tlb.generation, host - (la & 4095)};
  return host;
}

}  // namespace

const Insn* fetch_system(Exec& x, SystemMode& s) {
  CpuState& c = *x.cpu;
  const ExecMode mode = exec_mode(c);
  x.legacy_segments = mode != ExecMode::Long64;
  uint64_t la;
  if (mode == ExecMode::Long64) {
    la = c.rip;
    if (uint64_t(int64_t(la << 16) >> 16) != la) x.raise_gp(0);
  } else {
    la = uint32_t(c.seg[SEG_CS].base + c.rip);
  }
  uint8_t* host = fetch_page(x, la);
  const unsigned in_page = 4096 - unsigned(la & 4095);
  SystemMode::CacheEntry* prev = s.last;
  const bool falls_through = prev && prev->la + prev->insn.len == la;
  SystemMode::CacheEntry** slot = &s.index[(la ^ (la >> 12)) & (SystemMode::kIndexSize - 1)];
  SystemMode::CacheEntry* e = falls_through && prev->next && prev->next->la == la ? prev->next : *slot;
  if (e && e->la == la && e->rip == c.rip && e->mode == mode && e->insn.len <= in_page) [[likely]] {
    bool same;
    if (in_page >= 15) [[likely]] {
      uint64_t w0, w1;
      std::memcpy(&w0, host, 8);
      std::memcpy(&w1, host + 7, 8);
      same = ((w0 ^ e->word0) & e->mask0) == 0 && ((w1 ^ e->word1) & e->mask1) == 0;
    } else {
      same = std::memcmp(e->insn.bytes, host, e->insn.len) == 0;
    }
    if (same) [[likely]] {
      if (falls_through) prev->next = e;
      s.last = e;
      return &e->insn;
    }
  }

  ++s.decode_misses;
  if (s.pool_used == SystemMode::kPoolSize) {
    std::fill_n(s.index.get(), SystemMode::kIndexSize, nullptr);
    s.pool_used = 0;
    prev = nullptr;
  }
  e = &s.pool[s.pool_used++];
  e->la = ~uint64_t(0);
  e->next = nullptr;
  s.last = nullptr;
  const Decoder& d = mode == ExecMode::Long64 ? s.dec64 : mode == ExecMode::Bits32 ? s.dec32 : s.dec16;
  uint8_t buf[16] = {};
  unsigned got = std::min(15u, in_page);
  std::memcpy(buf, host, got);
  if (!d.decode(buf, got, c.rip, e->insn)) {
    // Only an instruction that runs into the next page makes that page's fetch (and #PF) happen.
    if (got == 15) x.raise_ud();
    uint64_t next = mode == ExecMode::Long64 ? la + in_page : uint32_t(la + in_page);
    std::memcpy(buf + got, fetch_page(x, next), 15 - got);
    if (!d.decode(buf, 15, c.rip, e->insn)) x.raise_ud();
  }
  e->insn.fn = s.table[e->insn.mnemonic];
  uint8_t padded[16] = {};
  std::memcpy(padded, e->insn.bytes, e->insn.len);
  std::memcpy(&e->word0, padded, 8);
  std::memcpy(&e->word1, padded + 7, 8);
  const unsigned len = e->insn.len;
  e->mask0 = len >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * len)) - 1;
  e->mask1 = len <= 7 ? 0 : len >= 15 ? ~uint64_t(0) : (uint64_t(1) << (8 * (len - 7))) - 1;
  e->la = la;
  e->rip = c.rip;
  e->mode = mode;
  *slot = e;
  if (prev && prev->la + prev->insn.len == la) prev->next = e;
  s.last = e;
  return &e->insn;
}

}  // namespace vireo
