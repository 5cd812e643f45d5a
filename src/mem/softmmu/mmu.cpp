#include "mem/softmmu/mmu.h"

#include <cstring>

namespace vireo::softmmu {

namespace {

// Paging-structure entry bits (SDM Vol. 3, 4.3-4.5).
constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kA = 1u << 5, kD = 1u << 6, kPS = 1u << 7,
                   kG = 1u << 8, kXD = 1ull << 63;
// Bits 51:MAXPHYADDR of a PAE/4-level entry are reserved.
constexpr uint64_t kAddrReserved = ((1ull << 52) - 1) & ~((1ull << kPhysBits) - 1);
constexpr uint64_t kAddrMask = ((1ull << kPhysBits) - 1) & ~0xFFFull;

}  // namespace

uint64_t Mmu::read_phys(uint64_t pa, unsigned size) {
  if (uint8_t* p = ram_ptr(pa, size)) {
    uint64_t v = 0;
    std::memcpy(&v, p, size);
    return v;
  }
  return bus_.mmio_read(pa, uint8_t(size));
}

void Mmu::write_phys(uint64_t pa, unsigned size, uint64_t v) {
  if (uint8_t* p = ram_ptr(pa, size)) {
    std::memcpy(p, &v, size);
    return;
  }
  bus_.mmio_write(pa, uint8_t(size), v);
}

void Mmu::jit_refill(uint64_t la) {
  tlb.jit_used = true;
  const Tlb::Entry& e = tlb.slot(la);
  const uint64_t page = la & ~uint64_t(4095);
  uint8_t* host = e.vpn == la >> 12 ? ram_ptr(e.ppn << 12, 4096) : nullptr;
  for (bool user : {false, true}) {
    JitTlbEntry& j = tlb.jit_slot(la, user);
    j = JitTlbEntry{};
    if (!host) continue;
    const unsigned shift = user ? right::kUserShift : 0;
    if (e.rights & (right::R << shift)) j.read_tag = page;
    if ((e.rights & (right::W << shift)) && !(code_watch && code_watch->marked(e.ppn << 12))) j.write_tag = page;
    j.addend = uint64_t(reinterpret_cast<uintptr_t>(host)) - page;
    j.page_shift = e.page_shift;
    j.global = e.global;
  }
}

void Mmu::set_bits(uint64_t pa, uint64_t entry, uint64_t bits, bool wide) {
  if ((entry & bits) != bits) write_phys(pa, wide ? 8 : 4, entry | bits);
}

// One walk, in the order the SDM describes it. Accessed bits of the non-leaf entries are set as
// the walk passes them (even when the access then faults); the leaf's accessed and dirty bits
// only when the access is allowed, as QEMU and the hardware do.
bool Mmu::walk(uint64_t la, Access a, bool user, uint64_t& pa, uint32_t& pf_error) {
  const bool write = a == Access::Write, fetch = a == Access::Exec;
  const uint64_t cr0 = cpu_->cr0, cr4 = cpu_->cr4, efer = cpu_->efer;
  Tlb::Entry& slot = tlb.slot(la);

  if (!(cr0 & ctl::CR0_PG)) {
    pa = la & 0xFFFFFFFF;
    slot = {la >> 12, pa >> 12, 0x3F, false, 12};
    return true;
  }

  const bool pae = cr4 & ctl::CR4_PAE, lma = efer & ctl::EFER_LMA;
  const bool nxe = pae && (efer & ctl::EFER_NXE);
  const uint64_t reserved = pae ? kAddrReserved | (nxe ? 0 : kXD) : 0;
  // The I/D bit is reported only where NX exists (SDM Vol. 3, 4.7).
  const uint32_t ec = (write ? pf::W : 0) | (user ? pf::U : 0) | (fetch && nxe ? pf::ID : 0);
  auto fault = [&](uint32_t bits) {
    pf_error = ec | bits;
    return false;
  };

  bool rw = true, us = true, nx = false;
  uint64_t entry = 0, entry_pa = 0;
  unsigned shift;  // page size of the leaf
  bool wide = pae;

  if (!pae) {
    // 32-bit paging: PDE, then PTE (or a 4 MiB PDE with CR4.PSE).
    entry_pa = (cpu_->cr3 & 0xFFFFF000) + ((la >> 22) & 0x3FF) * 4;
    entry = read_entry(entry_pa, false);
    if (!(entry & kP)) return fault(0);
    if ((entry & kPS) && (cr4 & ctl::CR4_PSE)) {
      if (entry & (1u << 21)) return fault(pf::P | pf::RSVD);
      shift = 22;
    } else {
      rw &= bool(entry & kRW);
      us &= bool(entry & kUS);
      set_bits(entry_pa, entry, kA, false);
      entry_pa = (entry & 0xFFFFF000) + ((la >> 12) & 0x3FF) * 4;
      entry = read_entry(entry_pa, false);
      if (!(entry & kP)) return fault(0);
      shift = 12;
    }
  } else {
    int level;
    uint64_t table;
    if (lma) {
      level = 4;
      table = cpu_->cr3 & kAddrMask;
    } else {
      // PAE: the PDPTE has no access-rights bits; bits 1, 2, 5-8 are reserved (SDM Vol. 3, 4.4.1).
      uint64_t pdpte_pa = (cpu_->cr3 & 0xFFFFFFE0) + ((la >> 30) & 3) * 8;
      uint64_t pdpte = read_entry(pdpte_pa, true);
      if (!(pdpte & kP)) return fault(0);
      if (pdpte & (kAddrReserved | kXD | 0x1E6)) return fault(pf::P | pf::RSVD);
      level = 2;
      table = pdpte & kAddrMask;
    }
    for (;; --level) {
      shift = 12 + 9 * unsigned(level - 1);
      entry_pa = table + ((la >> shift) & 0x1FF) * 8;
      entry = read_entry(entry_pa, true);
      if (!(entry & kP)) return fault(0);
      uint64_t rsvd = reserved;
      bool leaf = level == 1;
      if (level == 4) rsvd |= kPS;  // no 512 GiB pages
      else if (level > 1 && (entry & kPS)) {
        leaf = true;
        // Large-page address bits below the page size are reserved (bits 20:13 / 29:13).
        rsvd |= ((1ull << shift) - 1) & ~0x1FFFull;
      }
      if (entry & rsvd) return fault(pf::P | pf::RSVD);
      rw &= bool(entry & kRW);
      us &= bool(entry & kUS);
      nx |= nxe && (entry & kXD);
      if (leaf) break;
      set_bits(entry_pa, entry, kA, true);
      table = entry & kAddrMask;
    }
  }
  rw &= bool(entry & kRW);
  us &= bool(entry & kUS);

  // Access rights (SDM Vol. 3, 4.6): user accesses need U/S on every level and R/W for writes;
  // supervisor writes need R/W only with CR0.WP; fetches need no XD anywhere.
  const bool wp = cr0 & ctl::CR0_WP;
  uint8_t rights = uint8_t(right::R | ((rw || !wp) ? right::W : 0) | (nx ? 0 : right::X));
  if (us) rights |= uint8_t((right::R | (rw ? right::W : 0) | (nx ? 0 : right::X)) << right::kUserShift);
  if (!(rights & right_for(a, user))) return fault(pf::P);

  uint64_t set = kA | (write ? kD : 0);
  set_bits(entry_pa, entry, set, wide);
  // A clean page is cached without write rights: the first write walks again to set D.
  if (!write && !(entry & kD)) rights &= uint8_t(~(right::W | (right::W << right::kUserShift)));

  uint64_t page_base;
  if (!pae && shift == 22) page_base = (entry & 0xFFC00000) | (((entry >> 13) & 0xFF) << 32);
  else if (!pae) page_base = entry & 0xFFFFF000;
  else page_base = entry & kAddrMask & ~((1ull << shift) - 1);
  pa = page_base | (la & ((1ull << shift) - 1));
  bool global = (entry & kG) && (cr4 & ctl::CR4_PGE);
  slot = {la >> 12, pa >> 12, rights, global, uint8_t(shift)};
  if (shift > 12) tlb.note_large(la, shift);
  return true;
}

}  // namespace vireo::softmmu
