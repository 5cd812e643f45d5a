// Mmu: linear -> physical translation for system mode (QEMU's softmmu idea): a software TLB in
// front of a page walker for the three x86 paging modes (SDM Vol. 3, chapter 4):
//   32-bit paging (CR4.PAE = 0; 4 MiB pages with CR4.PSE, PSE-36 high bits),
//   PAE paging (CR4.PAE = 1, not long mode; four PDPTEs read from CR3),
//   4-level paging (EFER.LMA = 1; 2 MiB and 1 GiB pages).
// It sets accessed and dirty bits as the walk goes, checks U/S, R/W (with CR0.WP), NX (with
// EFER.NXE) and reserved bits, and reports a #PF error code exactly (P, W/R, U/S, RSVD, I/D).
// Guest-physical addresses outside RAM go to the machine's MMIO handlers. Engine-independent:
// the interpreter uses it today, the JIT's system mode can use it as is.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/cpu_state.h"
#include "machine/system_bus.h"
#include "mem/softmmu/tlb.h"

namespace vireo::softmmu {

// Control-register bits the walker reads (SDM Vol. 3, 2.5 and 2.2.1).
namespace ctl {
inline constexpr uint64_t CR0_PE = 1u << 0, CR0_WP = 1u << 16, CR0_PG = 1u << 31;
inline constexpr uint64_t CR4_PSE = 1u << 4, CR4_PAE = 1u << 5, CR4_PGE = 1u << 7;
inline constexpr uint64_t EFER_SCE = 1u << 0, EFER_LME = 1u << 8, EFER_LMA = 1u << 10,
                          EFER_NXE = 1u << 11;
}  // namespace ctl

// #PF error code bits (SDM Vol. 3, 4.7).
namespace pf {
inline constexpr uint32_t P = 1, W = 2, U = 4, RSVD = 8, ID = 16;
}

// The physical address width the CPU reports (CPUID 0x80000008: 48 bits).
inline constexpr unsigned kPhysBits = 48;

// Physical pages holding translated code (the JIT's system mode marks them): a write to one,
// through any mapping or by a device, must drop that code before it runs again. The owner
// (the JIT engine) implements code_written; Mmu::note_write calls it for marked pages.
class CodeWatch {
 public:
  virtual ~CodeWatch() = default;
  virtual void code_written(uint64_t pa, uint64_t len) = 0;
  bool marked(uint64_t pa) const { return (pa >> 12) < marks.size() && marks[pa >> 12]; }
  std::vector<uint8_t> marks;  // per 4 KiB page of RAM: 1 = holds translated code
  bool watch_all = false;      // every write is reported (the JIT's --check interp)
};

class Mmu {
 public:
  Mmu(uint8_t* ram, uint64_t ram_size, machine::SystemBus& bus) : ram_(ram), ram_size_(ram_size), bus_(bus) {}
  // The CPU whose CR0/CR3/CR4/EFER control translation.
  void bind(const CpuState& cpu) { cpu_ = &cpu; }

  // Translates linear address `la` for an access of kind `a` at user (CPL 3) or supervisor
  // privilege. Returns false on a page fault, with the error code in `pf_error`.
  bool translate(uint64_t la, Access a, bool user, uint64_t& pa, uint32_t& pf_error) {
    if (Tlb::Entry* e = tlb.lookup(la, right_for(a, user))) [[likely]] {
      pa = (e->ppn << 12) | (la & 0xFFF);
      return true;
    }
    return walk(la, a, user, pa, pf_error);
  }

  // Host pointer to [pa, pa + len) when it is all RAM, else nullptr (MMIO).
  uint8_t* ram_ptr(uint64_t pa, uint64_t len) const {
    return pa <= ram_size_ && len <= ram_size_ - pa ? ram_ + pa : nullptr;
  }
  // Physical accesses of 1, 2, 4 or 8 bytes: RAM, or the machine's MMIO handlers.
  uint64_t read_phys(uint64_t pa, unsigned size);
  void write_phys(uint64_t pa, unsigned size, uint64_t v);

  // A write to guest-physical [pa, pa + len) is about to happen (the interpreter's stores, its
  // bulk operands, and any device that writes RAM): code translated from it is dropped first.
  void note_write(uint64_t pa, uint64_t len) {
    if (code_watch && (code_watch->watch_all || code_watch->marked(pa) || code_watch->marked(pa + len - 1))) [[unlikely]]
      code_watch->code_written(pa, len);
  }
  CodeWatch* code_watch = nullptr;

  // The JIT: refills the JIT TLB slots of `la` (both privileges) from the TLB entry a
  // successful translate() left for it. Writes are granted only to a page that is dirty
  // already and holds no translated code; MMIO pages get no tags (always the slow path).
  void jit_refill(uint64_t la);

  // Flushes for the events the SDM lists (Vol. 3, 4.10.4.1).
  void on_cr3_write() { (cpu_->cr4 & ctl::CR4_PGE) ? tlb.flush_non_global() : tlb.flush_all(); }
  void on_paging_mode_change() { tlb.flush_all(); }
  void invlpg(uint64_t la) { tlb.flush_page(la); }

  Tlb tlb;

 private:
  bool walk(uint64_t la, Access a, bool user, uint64_t& pa, uint32_t& pf_error);
  uint64_t read_entry(uint64_t pa, bool wide) { return read_phys(pa, wide ? 8 : 4); }
  void set_bits(uint64_t pa, uint64_t entry, uint64_t bits, bool wide);

  const CpuState* cpu_ = nullptr;
  uint8_t* ram_;
  uint64_t ram_size_;
  machine::SystemBus& bus_;
};

}  // namespace vireo::softmmu
