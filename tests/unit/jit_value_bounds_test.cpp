// Range checks of addresses the IR bounds below the window's end (passes::upper_bound,
// backend/x64/guest_access.cpp): the bounds themselves on hand-built blocks, and accesses
// through constant addresses and narrow table indices on the jit and the interpreter from the
// same state: they must end the same, whether the access lands on a mapped page, faults on an
// unmapped one, runs past the window's end, or (bounded too high to drop its check) starts
// past it.
#include "jit_harness.h"
#include "jit/ir/builder.h"
#include "jit/passes/passes.h"

namespace vireo::test {
namespace {

using jit::ir::Arg;
using jit::ir::Block;
using jit::ir::Builder;
using jit::ir::Opcode;
using jit::ir::Value;
using jit::passes::upper_bound;

constexpr uint64_t kUnbounded = ~uint64_t(0);

TEST(JitValueBounds, NarrowValuesAndTheirScaledSumsAreBounded) {
  Block b;
  Builder ir(b);
  Value index = ir.op(Opcode::ZeroExt8, ir.get_gpr(1));
  Value scaled = ir.emit(Opcode::Shl, {Arg::val(index), Arg::imm(3)});
  Value table = ir.op(Opcode::Add, scaled, ir.constant(0x737E40));
  EXPECT_EQ(upper_bound(b, index.id), 0xFFu);
  EXPECT_EQ(upper_bound(b, scaled.id), 0x7F8u);
  EXPECT_EQ(upper_bound(b, table.id), 0x737E40u + 0x7F8u);
  EXPECT_EQ(upper_bound(b, ir.constant(0xA7ED4C).id), 0xA7ED4Cu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Load16, ir.get_gpr(2)).id), 0xFFFFu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Add32, ir.get_gpr(2), ir.get_gpr(3)).id), 0xFFFF'FFFFu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::And, ir.get_gpr(2), ir.constant(0xFFF)).id), 0xFFFu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Mul, ir.op(Opcode::ZeroExt16, ir.get_gpr(2)), ir.constant(24)).id),
            0xFFFFu * 24);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Or, index, ir.constant(0x100)).id), 0x1FFu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Shr, index, ir.get_gpr(1)).id), 0xFFu);
  // (a zero-extension keeps a tighter bound of its operand: lua's `and eax, 0x7f`)
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::ZeroExt32, ir.op(Opcode::And, ir.get_gpr(2), ir.constant(0x7F))).id), 0x7Fu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::ZeroExt8, ir.op(Opcode::And, ir.get_gpr(2), ir.constant(0xF))).id), 0xFu);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::ZeroExt16, ir.op(Opcode::And, ir.get_gpr(2), ir.constant(0x1FFFF))).id), 0xFFFFu);
}

TEST(JitValueBounds, GuestRegistersAndSumsThatCanWrapAreNot) {
  Block b;
  Builder ir(b);
  Value reg = ir.get_gpr(1);
  Value narrow = ir.op(Opcode::ZeroExt32, reg);
  EXPECT_EQ(upper_bound(b, reg.id), kUnbounded);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Add, reg, ir.constant(8)).id), kUnbounded);
  // (a negative displacement is a huge addend: the sum wraps)
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Add, narrow, ir.constant(uint64_t(-8))).id), kUnbounded);
  EXPECT_EQ(upper_bound(b, ir.emit(Opcode::Shl, {Arg::val(narrow), Arg::imm(40)}).id), kUnbounded);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Shl, narrow, ir.get_gpr(2)).id), kUnbounded);  // (count unknown)
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Mul, narrow, narrow).id), uint64_t(0xFFFF'FFFF) * 0xFFFF'FFFF);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Mul, ir.op(Opcode::Mul, narrow, narrow), narrow).id), kUnbounded);
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::Sub, narrow, ir.constant(1)).id), kUnbounded);  // (can wrap)
  EXPECT_EQ(upper_bound(b, ir.op(Opcode::SignExt8, reg).id), kUnbounded);
}

struct Outcome {
  StopReason r;
  CpuState cpu;
  std::vector<uint8_t> last_page;
  std::vector<uint8_t> data;  // the data page (kData)
  uint64_t host_bytes = 0;  // (jit) host code translated
};

// Runs `code` from `start` with the window's last page mapped (filled) or not.
Outcome run_on(bool jit, const std::vector<uint8_t>& code, const CpuState& start, bool last_page) {
  const uint64_t top = AddressSpace::kWindowSize;
  Machine m;
  m.load(code);
  if (last_page) {
    m.as.mmap(top - 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (int i = 0; i < 0x1000; ++i) m.as.host(top - 0x1000)[i] = uint8_t(i * 5 + 1);
  }
  m.cpu = start;
  m.cpu.rip = kCode;
  Outcome o;
  if (jit) {
    jit::JitEngine e(m.as.memory(), {});
    o.r = e.run(m.cpu);
    o.host_bytes = e.stats().host_bytes;
  } else {
    Interpreter e(m.as.memory());
    o.r = e.run(m.cpu);
  }
  o.cpu = m.cpu;
  if (last_page) o.last_page.assign(m.as.host(top - 0x1000), m.as.host(top));
  o.data.assign(m.as.host(kData), m.as.host(kData) + 0x1000);
  return o;
}

void expect_same(const Outcome& jit, const Outcome& ref, const std::string& what) {
  SCOPED_TRACE(what);
  expect_same_stop(jit.r, jit.cpu, ref.r, ref.cpu);
  EXPECT_TRUE(jit.last_page == ref.last_page);
  EXPECT_TRUE(jit.data == ref.data);
}

std::vector<uint8_t> movabs_rsi(uint64_t v) {
  std::vector<uint8_t> c = {0x48, 0xBE};
  for (int i = 0; i < 8; ++i) c.push_back(uint8_t(v >> (8 * i)));
  return c;
}

// movabs rsi, table; movzx eax, cl (or mov eax, ecx); add rdi, rcx; mov rdx, [rsi+rax*8]
// (or the store mov [rsi+rax*8], rdx); syscall. The add's flags are live at the access.
std::vector<uint8_t> table_access(uint64_t table, bool store, bool dword_index = false) {
  const std::vector<uint8_t> index = dword_index ? std::vector<uint8_t>{0x89, 0xC8} : std::vector<uint8_t>{0x0F, 0xB6, 0xC1};
  return cat({movabs_rsi(table), index, {0x48, 0x01, 0xCF}, {0x48, uint8_t(store ? 0x89 : 0x8B), 0x14, 0xC6}, kSyscall});
}

TEST(JitValueBounds, ATableIndexedByAByteBelowTheWindowEndIsExact) {
  // The table's last slot is the window's last qword: no check. Mapped, the access reads or
  // writes the page; unmapped, the host fault is the guest's #PF at the slot, with rsi, rax
  // and the add's flags as the interpreter leaves them.
  const uint64_t top = AddressSpace::kWindowSize;
  for (bool store : {false, true})
    for (bool mapped : {true, false})
      for (uint64_t cl : {0u, 1u, 17u, 255u}) {
        CpuState s = random_state(cl * 4 + store * 2 + mapped);
        s.gpr[RCX] = (s.gpr[RCX] & ~uint64_t(0xFF)) | cl;
        const auto code = table_access(top - 0x800, store);
        Outcome jit = run_on(true, code, s, mapped), ref = run_on(false, code, s, mapped);
        expect_same(jit, ref, std::string(store ? "store" : "load") + (mapped ? " mapped" : " unmapped") +
                                  " index " + std::to_string(cl));
        EXPECT_EQ(jit.r, mapped ? StopReason::Syscall : StopReason::Fault);
      }
}

TEST(JitValueBounds, ATableThatCanReachPastTheWindowEndKeepsItsCheck) {
  // table = top - 0x10: slots 0 and 1 are inside, slot 2 is the window's end, slot 255 far
  // past it (past the guard too: only the check stops it).
  const uint64_t top = AddressSpace::kWindowSize;
  for (bool store : {false, true})
    for (uint64_t cl : {1u, 2u, 3u, 255u}) {
      CpuState s = random_state(cl + 100 * store);
      s.gpr[RCX] = (s.gpr[RCX] & ~uint64_t(0xFF)) | cl;
      const auto code = table_access(top - 0x10, store);
      Outcome jit = run_on(true, code, s, true), ref = run_on(false, code, s, true);
      expect_same(jit, ref, std::string(store ? "store" : "load") + " index " + std::to_string(cl));
      EXPECT_EQ(jit.r, cl < 2 ? StopReason::Syscall : StopReason::Fault);
    }
  // A dword index reaches 32 GiB past the table, far past the guard: only the check keeps
  // the host access inside the window's reservation.
  for (bool store : {false, true})
    for (uint64_t ecx : {1u, 0x1000'0000u, 0xFFFF'FFFFu}) {
      CpuState s = random_state(ecx + store);
      s.gpr[RCX] = ecx;
      const auto code = table_access(top - 0x10, store, true);
      Outcome jit = run_on(true, code, s, true), ref = run_on(false, code, s, true);
      expect_same(jit, ref, std::string(store ? "store" : "load") + " dword index " + std::to_string(ecx));
      EXPECT_EQ(jit.r, ecx < 2 ? StopReason::Syscall : StopReason::Fault);
    }
}

TEST(JitValueBounds, OnlyTheAccessThatCannotReachTheWindowEndLosesItsCheck) {
  // The same block, the table's address aside: the check (cmp with the window's limit, jae
  // to its stub) is left out of the one bounded below the window's end.
  const uint64_t top = AddressSpace::kWindowSize;
  CpuState s = random_state(3);
  s.gpr[RCX] &= ~uint64_t(0xFF);
  Outcome low = run_on(true, table_access(top - 0x800, false), s, true);
  Outcome high = run_on(true, table_access(top - 0x10, false), s, true);
  ASSERT_EQ(low.r, StopReason::Syscall);
  ASSERT_EQ(high.r, StopReason::Syscall);
  EXPECT_LT(low.host_bytes, high.host_bytes);
}

TEST(JitValueBounds, ConstantAddressesFaultAtTheirOwnAddress) {
  // add rdi, rcx; then a load from a constant address: inside the data page, on the unmapped
  // page after it, across into it, and the window's last qword and dword. (A qword at the
  // last dword, running past the window's end, is left out: the interpreter reports its
  // start, the jit's guard fault the window's end, with and without this change.)
  const uint64_t top = AddressSpace::kWindowSize;
  auto abs32 = [](uint32_t a) {  // mov eax, [a]
    return std::vector<uint8_t>{0x8B, 0x04, 0x25, uint8_t(a), uint8_t(a >> 8), uint8_t(a >> 16), uint8_t(a >> 24)};
  };
  const std::vector<uint8_t> add = {0x48, 0x01, 0xCF};
  const std::vector<uint8_t> load_rsi = {0x48, 0x8B, 0x06};  // mov rax, [rsi]
  const std::vector<uint8_t> load_esi = {0x8B, 0x06};        // mov eax, [rsi]
  const struct {
    std::vector<uint8_t> code;
    bool faults;
    const char* what;
  } cases[] = {
      {cat({add, abs32(kData + 0x40), kSyscall}), false, "mapped"},
      {cat({add, abs32(kData + 0x10000), kSyscall}), true, "unmapped"},
      {cat({add, abs32(kData + 0xFFFE), kSyscall}), true, "across"},
      {cat({add, movabs_rsi(top - 4), load_esi, kSyscall}), false, "the window's last dword"},
      {cat({add, movabs_rsi(top - 8), load_rsi, kSyscall}), false, "the window's last qword"},
  };
  for (const auto& c : cases) {
    CpuState s = random_state(7);
    Outcome jit = run_on(true, c.code, s, true), ref = run_on(false, c.code, s, true);
    expect_same(jit, ref, c.what);
    EXPECT_EQ(jit.r, c.faults ? StopReason::Fault : StopReason::Syscall) << c.what;
  }
}

TEST(JitValueBounds, AFoldedDisplacementChecksItsBaseAndTheStubTheAddress) {
  // mov rax, [rsi + disp] (or the store mov [rsi + disp], rax) after add rdi, rcx (flags live
  // at the access): the check compares rsi alone with the window's limit, and a base past it
  // goes to the stub, which checks rsi + disp itself. So a base past the window whose address
  // wraps or steps back into it still reaches the access, and one whose address does not
  // faults where the interpreter's does; a base inside whose address runs past the window's
  // end faults in the guard at that address.
  const uint64_t top = AddressSpace::kWindowSize;
  auto access = [](bool store, int32_t disp) {
    return cat({{0x48, 0x01, 0xCF},
                {0x48, uint8_t(store ? 0x89 : 0x8B), 0x86, uint8_t(disp), uint8_t(disp >> 8), uint8_t(disp >> 16),
                 uint8_t(disp >> 24)},
                kSyscall});
  };
  const struct {
    uint64_t rsi;
    int32_t disp;
    bool faults;
    const char* what;
  } cases[] = {
      {kData + 0x100, 0x40, false, "inside"},
      {uint64_t(0) - 0x1000, 0x1000 + int32_t(kData) + 0x20, false, "a base past the window wrapping into it"},
      {top + 8, -0x10, false, "a base past the window stepping back to its last qword"},
      {top + 0x100, -0x10, true, "a base past the window staying past it"},
      {top - 8, 0x10, true, "a base inside running past the window's end"},
      {uint64_t(0) - 0x20, 0x8, true, "a base past the window wrapping to just below 0"},
      {kData + 0x100, 0x7FFF'0000, true, "a displacement past the guard's reach"},
  };
  for (bool store : {false, true})
    for (const auto& c : cases) {
      CpuState s = random_state(11);
      s.gpr[RSI] = c.rsi;
      Outcome jit = run_on(true, access(store, c.disp), s, true), ref = run_on(false, access(store, c.disp), s, true);
      expect_same(jit, ref, std::string(store ? "store: " : "load: ") + c.what);
      EXPECT_EQ(jit.r, c.faults ? StopReason::Fault : StopReason::Syscall) << c.what;
    }
}

TEST(JitValueBounds, ATableAtAConstantAddressIsOneHostAccess) {
  // add rdi, rcx; movzx eax, cl (or mov eax, ecx: unbounded, checked); mov rdx, [rax*8 +
  // table] (or the store mov [rax*8 + table], rdx); syscall. The scaled index and the table's
  // address are the host access's ([r15 + rax*8 + table]); the slots past the data page fault
  // at their own address, with the add's flags as the interpreter leaves them. Also a store
  // to a constant address, mov dword [table], edx.
  const uint32_t table = uint32_t(kData) + 0xFC00;
  auto code = [&](bool store, bool dword_index) {
    const std::vector<uint8_t> index = dword_index ? std::vector<uint8_t>{0x89, 0xC8} : std::vector<uint8_t>{0x0F, 0xB6, 0xC1};
    return cat({{0x48, 0x01, 0xCF}, index,
                {0x48, uint8_t(store ? 0x89 : 0x8B), 0x14, 0xC5, uint8_t(table), uint8_t(table >> 8),
                 uint8_t(table >> 16), uint8_t(table >> 24)},
                kSyscall});
  };
  for (bool store : {false, true})
    for (bool dword_index : {false, true})
      for (uint64_t cl : {0u, 3u, 127u, 128u, 255u}) {
        CpuState s = random_state(cl + 7 * store + 13 * dword_index);
        s.gpr[RCX] = dword_index ? cl * 0x1000 : (s.gpr[RCX] & ~uint64_t(0xFF)) | cl;
        Outcome jit = run_on(true, code(store, dword_index), s, false), ref = run_on(false, code(store, dword_index), s, false);
        expect_same(jit, ref, std::string(store ? "store" : "load") + (dword_index ? " dword" : " byte") + " index " +
                                  std::to_string(cl));
        EXPECT_EQ(jit.r, (dword_index ? cl * 0x1000 : cl) * 8 < 0x400 ? StopReason::Syscall : StopReason::Fault);
      }
  for (uint32_t a : {uint32_t(kData) + 0x10, uint32_t(kData) + 0xFFFE, uint32_t(kData) + 0x10000}) {
    const auto st = cat({{0x48, 0x01, 0xCF}, {0x89, 0x14, 0x25, uint8_t(a), uint8_t(a >> 8), uint8_t(a >> 16), uint8_t(a >> 24)},
                         kSyscall});
    CpuState s = random_state(a);
    Outcome jit = run_on(true, st, s, false), ref = run_on(false, st, s, false);
    expect_same(jit, ref, "store to a constant address");
    EXPECT_EQ(jit.r, a == kData + 0x10 ? StopReason::Syscall : StopReason::Fault);
  }
}

}  // namespace
}  // namespace vireo::test
