// The softmmu's JIT TLB (softmmu::JitTlbEntry, filled by Mmu::jit_refill) and the code marks
// of the jit's system mode (softmmu::CodeWatch): what translated code may do inline.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mem/softmmu/mmu.h"

namespace vireo::softmmu {
namespace {

struct NullBus : machine::SystemBus {
  uint32_t port_in(uint16_t, uint8_t) override { return ~0u; }
  void port_out(uint16_t, uint8_t, uint32_t) override {}
  uint64_t mmio_read(uint64_t, uint8_t) override { return ~uint64_t(0); }
  void mmio_write(uint64_t, uint8_t, uint64_t) override {}
  bool interrupt_pending() override { return false; }
  int acknowledge_interrupt() override { return -1; }
  bool stop_requested() const override { return false; }
};

struct Watch : CodeWatch {
  std::vector<std::pair<uint64_t, uint64_t>> writes;
  void code_written(uint64_t pa, uint64_t len) override { writes.emplace_back(pa, len); }
};

constexpr uint64_t P = 1, W = 2, U = 4, D = 0x40;
constexpr uint64_t kRam = 4 << 20;

// 4-level paging: CR3 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000, mapping 4 KiB pages
// of the first 2 MiB of linear space as the test sets them.
struct Machine {
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRam);
  NullBus bus;
  CpuState cpu{};
  Mmu mmu{ram.data(), kRam, bus};
  Machine() {
    set(0x1000, 0x2000 | P | W | U);
    set(0x2000, 0x3000 | P | W | U);
    set(0x3000, 0x4000 | P | W | U);
    cpu.cr0 = ctl::CR0_PE | ctl::CR0_PG | ctl::CR0_WP;
    cpu.cr4 = ctl::CR4_PAE;
    cpu.efer = ctl::EFER_LME | ctl::EFER_LMA;
    cpu.cr3 = 0x1000;
    mmu.bind(cpu);
  }
  void set(uint64_t pa, uint64_t v) { std::memcpy(&ram[pa], &v, 8); }
  void map(uint64_t la, uint64_t pa, uint64_t flags) { set(0x4000 + (la >> 12) * 8, pa | flags); }
  bool touch(uint64_t la, Access a, bool user) {
    uint64_t pa;
    uint32_t err;
    if (!mmu.translate(la, a, user, pa, err)) return false;
    mmu.jit_refill(la);
    return true;
  }
  uint64_t host(uint64_t pa) { return uint64_t(reinterpret_cast<uintptr_t>(ram.data() + pa)); }
};

TEST(SoftmmuJitTlb, ReadsOfACleanPageGetNoWriteTagUntilTheWriteSetsDirty) {
  Machine m;
  m.map(0x10000, 0x50000, P | W);
  ASSERT_TRUE(m.touch(0x10123, Access::Read, false));
  const JitTlbEntry& e = m.mmu.tlb.jit_slot(0x10123, false);
  EXPECT_EQ(e.read_tag, 0x10000u);
  EXPECT_EQ(e.write_tag, ~uint64_t(0));
  EXPECT_EQ(e.addend + 0x10123, m.host(0x50123));
  ASSERT_TRUE(m.touch(0x10123, Access::Write, false));
  EXPECT_EQ(e.write_tag, 0x10000u);
  uint64_t pte;
  std::memcpy(&pte, &m.ram[0x4000 + 0x10 * 8], 8);
  EXPECT_TRUE(pte & D);
}

TEST(SoftmmuJitTlb, EachPrivilegeHasItsOwnRights) {
  Machine m;
  m.map(0x11000, 0x51000, P | W | D);          // supervisor only
  m.map(0x12000, 0x52000, P | U | D);          // user, read-only
  ASSERT_TRUE(m.touch(0x11000, Access::Read, false));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x11000, false).write_tag, 0x11000u);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x11000, true).read_tag, ~uint64_t(0));
  ASSERT_TRUE(m.touch(0x12000, Access::Read, true));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x12000, true).read_tag, 0x12000u);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x12000, true).write_tag, ~uint64_t(0));
  // CR0.WP: the supervisor may not write a read-only page either.
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x12000, false).write_tag, ~uint64_t(0));
}

TEST(SoftmmuJitTlb, PagesHoldingCodeAreNeverWrittenInline) {
  Machine m;
  Watch w;
  w.marks.assign(kRam / 4096, 0);
  m.mmu.code_watch = &w;
  m.map(0x13000, 0x53000, P | W | D);
  m.map(0x14000, 0x53000, P | W | D);  // an alias of the same physical page
  ASSERT_TRUE(m.touch(0x13000, Access::Write, false));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x13000, false).write_tag, 0x13000u);
  w.marks[0x53] = 1;
  m.mmu.tlb.jit_drop_writes(m.ram.data() + 0x53000);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x13000, false).write_tag, ~uint64_t(0));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x13000, false).read_tag, 0x13000u);
  ASSERT_TRUE(m.touch(0x14000, Access::Write, false));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x14000, false).write_tag, ~uint64_t(0));  // through any mapping
  m.mmu.note_write(0x53ffe, 4);  // across the page's end: reported once
  ASSERT_EQ(w.writes.size(), 1u);
  EXPECT_EQ(w.writes[0], std::make_pair(uint64_t(0x53ffe), uint64_t(4)));
  m.mmu.note_write(0x60000, 8);  // no code there: not reported
  EXPECT_EQ(w.writes.size(), 1u);
}

TEST(SoftmmuJitTlb, FlushesEmptyTheJitSlotsAndMmioGetsNone) {
  Machine m;
  m.map(0x15000, 0x55000, P | W | D);
  m.map(0x16000, kRam + 0x1000, P | W | D);  // past RAM: MMIO
  ASSERT_TRUE(m.touch(0x15000, Access::Read, false));
  ASSERT_TRUE(m.touch(0x16000, Access::Read, false));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x16000, false).read_tag, ~uint64_t(0));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x15000, false).read_tag, 0x15000u);
  m.mmu.on_cr3_write();
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x15000, false).read_tag, ~uint64_t(0));
  ASSERT_TRUE(m.touch(0x15000, Access::Read, false));
  m.mmu.invlpg(0x99000);  // INVLPG drops its own page only
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x15000, false).read_tag, 0x15000u);
  m.mmu.invlpg(0x15000);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x15000, false).read_tag, ~uint64_t(0));
}

// A CR3 write with CR4.PGE keeps global pages in the JIT's slots too (SDM Vol. 3, 4.10.4.1),
// and the flush log tells the jit's jump caches what went.
TEST(SoftmmuJitTlb, GlobalPagesSurviveCr3WritesWithPge) {
  constexpr uint64_t G = 0x100;
  Machine m;
  m.cpu.cr4 |= ctl::CR4_PGE;
  m.mmu.tlb.jit_used = true;
  m.map(0x15000, 0x55000, P | W | D | G);
  m.map(0x17000, 0x57000, P | W | D);
  ASSERT_TRUE(m.touch(0x15000, Access::Read, false));
  ASSERT_TRUE(m.touch(0x17000, Access::Read, false));
  (void)m.mmu.tlb.take_flushes();
  m.mmu.on_cr3_write();
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x15000, false).read_tag, 0x15000u);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x17000, false).read_tag, ~uint64_t(0));
  TlbFlushLog log = m.mmu.tlb.take_flushes();
  EXPECT_TRUE(log.non_global && !log.all && log.npages == 0);
  m.mmu.invlpg(0x15000);  // INVLPG drops a global page too
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x15000, false).read_tag, ~uint64_t(0));
  log = m.mmu.tlb.take_flushes();
  ASSERT_EQ(log.npages, 1u);
  EXPECT_EQ(log.pages[0], 0x15000u);
  EXPECT_TRUE(m.mmu.tlb.take_flushes().empty());
}

// A 2 MiB page is cached per 4 KiB piece: INVLPG of any piece drops them all.
TEST(SoftmmuJitTlb, InvlpgDropsEveryPieceOfALargePage) {
  constexpr uint64_t PS = 0x80;
  Machine m;
  m.set(0x3000 + 8, 0x200000 | P | W | D | PS);  // linear 2 MiB -> physical 2 MiB
  ASSERT_TRUE(m.touch(0x200000, Access::Read, false));
  ASSERT_TRUE(m.touch(0x203000, Access::Read, false));
  m.mmu.invlpg(0x3FF000);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x200000, false).read_tag, ~uint64_t(0));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x203000, false).read_tag, ~uint64_t(0));
}

// INVLPG of a 4 KiB page outside every large page cached looks at that page's own slots only:
// it drops the page (both privileges, the interpreter's entry too) and keeps the large page's
// pieces and other 4 KiB pages; the flush log names the page at 4 KiB.
TEST(SoftmmuJitTlb, InvlpgOfASmallPageKeepsTheLargePages) {
  constexpr uint64_t PS = 0x80;
  Machine m;
  m.set(0x3000 + 8, 0x200000 | P | W | D | PS);  // linear 2 MiB -> physical 2 MiB
  m.map(0x5000, 0x100000, P | W | U | D);
  m.map(0x6000, 0x101000, P | W | U | D);
  ASSERT_TRUE(m.touch(0x203000, Access::Read, false));
  ASSERT_TRUE(m.touch(0x5000, Access::Read, false));
  ASSERT_TRUE(m.touch(0x5000, Access::Read, true));
  ASSERT_TRUE(m.touch(0x6000, Access::Read, false));
  EXPECT_TRUE(m.mmu.tlb.in_large_page(0x3FF000));
  EXPECT_FALSE(m.mmu.tlb.in_large_page(0x5000));
  (void)m.mmu.tlb.take_flushes();
  m.mmu.invlpg(0x5123);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x5000, false).read_tag, ~uint64_t(0));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x5000, true).read_tag, ~uint64_t(0));
  EXPECT_EQ(nullptr, m.mmu.tlb.lookup(0x5000, right::R));
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x203000, false).read_tag, 0x203000u);
  EXPECT_EQ(m.mmu.tlb.jit_slot(0x6000, false).read_tag, 0x6000u);
  const TlbFlushLog log = m.mmu.tlb.take_flushes();
  ASSERT_EQ(1u, log.npages);
  EXPECT_EQ(0x5000u, log.pages[0]);
  EXPECT_EQ(12, log.page_shifts[0]);
  // A full flush forgets the large pages too.
  m.mmu.tlb.flush_all();
  EXPECT_FALSE(m.mmu.tlb.in_large_page(0x3FF000));
}

}  // namespace
}  // namespace vireo::softmmu
