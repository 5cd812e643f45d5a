// The backend's direct encodings (jit/backend/x64/host_encoding.h) must be byte for byte what
// Xbyak emits for the same instruction: translated code is the same whichever path wrote it.
// Each form is compared over every register and over displacements and immediates at the
// edges of their encoding classes.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "jit/backend/x64/host_encoding.h"

namespace vireo::test {
namespace {

namespace enc = jit::enc;
using Xbyak::Reg32;
using Xbyak::Reg64;

// Two code generators writing into one buffer, far enough apart for the rip-relative and
// absolute jump forms, which depend on the address, to see the same distances.
struct Pair {
  alignas(4096) uint8_t buf[2 * 4096] = {};
  Xbyak::CodeGenerator ours{4096, buf};
  Xbyak::CodeGenerator theirs{4096, buf + 4096};
  std::vector<uint8_t> bytes(const Xbyak::CodeGenerator& g) const {
    return std::vector<uint8_t>(g.getCode(), g.getCode() + g.getSize());
  }
  void expect_same(const char* what) {
    EXPECT_EQ(bytes(ours), bytes(theirs)) << what;
    ours.reset();
    theirs.reset();
  }
};

const int32_t kDisps[] = {0, 1, -1, 8, 127, 128, -128, -129, 0x1234, 0x7FFFFFFF, -0x7FFFFFFF - 1};

TEST(JitHostEncoding, CpuStoresOfImmediates) {
  auto p = std::make_unique<Pair>();
  const uint32_t imms[] = {0, 1, 0x7F, 0x80, 0xFF, 0x1234, 0xFFFF, 0x12345678, 0xFFFFFFFF, 0x80000000};
  for (int32_t disp : kDisps)
    for (uint32_t imm : imms) {
      enc::mov_cpu_imm(p->ours, 1, disp, imm);
      p->theirs.mov(p->theirs.byte[p->theirs.rbx + disp], uint8_t(imm));
      enc::mov_cpu_imm(p->ours, 2, disp, imm);
      p->theirs.mov(p->theirs.word[p->theirs.rbx + disp], uint16_t(imm));
      enc::mov_cpu_imm(p->ours, 4, disp, imm);
      p->theirs.mov(p->theirs.dword[p->theirs.rbx + disp], imm);
      enc::mov_cpu_imm(p->ours, 8, disp, imm);
      p->theirs.mov(p->theirs.qword[p->theirs.rbx + disp], int32_t(imm));
      p->expect_same("mov [rbx + disp], imm");
    }
}

TEST(JitHostEncoding, CpuComparesAndArithmetic) {
  auto p = std::make_unique<Pair>();
  const int32_t imms[] = {0, 1, -1, 127, -128, 128, -129, 0x1234, -0x8000, 0x7FFFFFFF};
  for (int32_t disp : kDisps)
    for (int32_t imm : imms) {
      enc::cmp_cpu_imm(p->ours, 1, disp, int8_t(imm));
      p->theirs.cmp(p->theirs.byte[p->theirs.rbx + disp], uint8_t(imm));
      enc::cmp_cpu_imm(p->ours, 4, disp, imm);
      p->theirs.cmp(p->theirs.dword[p->theirs.rbx + disp], imm);
      enc::cmp_cpu_imm(p->ours, 8, disp, imm);
      p->theirs.cmp(p->theirs.qword[p->theirs.rbx + disp], imm);
      enc::alu_cpu_imm(p->ours, 0, 8, disp, imm);
      p->theirs.add(p->theirs.qword[p->theirs.rbx + disp], imm);
      enc::alu_cpu_imm(p->ours, 5, 4, disp, imm);
      p->theirs.sub(p->theirs.dword[p->theirs.rbx + disp], imm);
      if (imm >= -0x8000 && imm <= 0x7FFF) {
        enc::cmp_cpu_imm(p->ours, 2, disp, imm);
        p->theirs.cmp(p->theirs.word[p->theirs.rbx + disp], imm);
      }
      p->expect_same("cmp [rbx + disp], imm");
    }
}

TEST(JitHostEncoding, RegisterMovesAndImmediates) {
  auto p = std::make_unique<Pair>();
  const uint64_t imms[] = {0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000ull, ~uint64_t(0),
                           0xFFFFFFFF80000000ull, 0xFFFFFFFF7FFFFFFFull, 0x123456789ABCDEF0ull};
  for (int d = 0; d < 16; ++d) {
    for (int s = 0; s < 16; ++s) {
      enc::mov_rr(p->ours, d, s);
      p->theirs.mov(Reg64(d), Reg64(s));
      enc::mov_rr(p->ours, d, s, false);
      p->theirs.mov(Reg32(d), Reg32(s));
    }
    for (uint64_t imm : imms) {
      enc::mov_r64_imm(p->ours, d, imm);
      p->theirs.mov(Reg64(d), imm);
      enc::mov_r32_imm(p->ours, d, uint32_t(imm));
      p->theirs.mov(Reg32(d), uint32_t(imm));
    }
    p->expect_same("mov r, r / mov r, imm");
  }
}

TEST(JitHostEncoding, CompareAndRipRelativeJumps) {
  auto p = std::make_unique<Pair>();
  // Targets at the same distance from each generator's code.
  const int64_t offsets[] = {-4096, -1, 0, 5, 7, 100, 0x10000, -0x10000};
  for (int r = 0; r < 16; ++r)
    for (int64_t off : offsets) {
      // (advance both by r bytes so that the distances vary with the position too)
      for (int k = 0; k < r; ++k) p->ours.nop(), p->theirs.nop();
      enc::cmp_rr(p->ours, r, 15 - r);
      p->theirs.cmp(Reg64(r), Reg64(15 - r));
      enc::cmp_rr(p->ours, r, 14);
      p->theirs.cmp(Reg64(r), Reg64(14));
      enc::jmp_abs(p->ours, p->ours.getCurr() + off);
      p->theirs.jmp(static_cast<const void*>(p->theirs.getCurr() + off), Xbyak::CodeGenerator::T_NEAR);
      p->expect_same("cmp r, r / jmp x");
      enc::lea_rip(p->ours, r, p->ours.getCurr() + off);
      p->theirs.lea(Reg64(r), p->theirs.ptr[p->theirs.rip + static_cast<const void*>(p->theirs.getCurr() + off)]);
      enc::push_r64(p->ours, r);
      p->theirs.push(Reg64(r));
      p->expect_same("lea r, [rip + x] / push r");
    }
}

TEST(JitHostEncoding, GuestLoadsAndStores) {
  auto p = std::make_unique<Pair>();
  auto& t = p->theirs;
  const uint64_t imms[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                           0xFFFFFFFF, ~uint64_t(0), 0xFFFFFFFF80000000ull};
  for (int index = 0; index < 16; ++index) {
    if (index == Xbyak::Operand::RSP) continue;  // (never an index: not in the register pool)
    for (int32_t disp : kDisps) {
      for (int r = 0; r < 16; ++r) {
        const Reg64 x(index), reg(r);
        enc::load_guest(p->ours, 1, r, index, disp);
        t.movzx(reg.cvt32(), t.byte[t.r15 + x + disp]);
        enc::load_guest(p->ours, 2, r, index, disp);
        t.movzx(reg.cvt32(), t.word[t.r15 + x + disp]);
        enc::load_guest(p->ours, 4, r, index, disp);
        t.mov(reg.cvt32(), t.dword[t.r15 + x + disp]);
        enc::load_guest(p->ours, 8, r, index, disp);
        t.mov(reg, t.qword[t.r15 + x + disp]);
        enc::store_guest(p->ours, 1, r, index, disp);
        t.mov(t.byte[t.r15 + x + disp], reg.cvt8());
        enc::store_guest(p->ours, 2, r, index, disp);
        t.mov(t.word[t.r15 + x + disp], reg.cvt16());
        enc::store_guest(p->ours, 4, r, index, disp);
        t.mov(t.dword[t.r15 + x + disp], reg.cvt32());
        enc::store_guest(p->ours, 8, r, index, disp);
        t.mov(t.qword[t.r15 + x + disp], reg);
        p->expect_same("guest load / store");
      }
      for (uint64_t imm : imms) {
        const Reg64 x(index);
        // (the emitter's immediates: narrow ones zero-extended, a qword's sign-extended)
        enc::store_guest_imm(p->ours, 1, uint32_t(imm), index, disp);
        t.mov(t.byte[t.r15 + x + disp], imm & 0xFF);
        enc::store_guest_imm(p->ours, 2, uint32_t(imm), index, disp);
        t.mov(t.word[t.r15 + x + disp], imm & 0xFFFF);
        enc::store_guest_imm(p->ours, 4, uint32_t(imm), index, disp);
        t.mov(t.dword[t.r15 + x + disp], imm & 0xFFFFFFFF);
        if (int64_t(imm) == int64_t(int32_t(imm))) {
          enc::store_guest_imm(p->ours, 8, uint32_t(imm), index, disp);
          t.mov(t.qword[t.r15 + x + disp], imm);
        }
        p->expect_same("guest store of an immediate");
      }
    }
  }
}

TEST(JitHostEncoding, GuestAccessesWithAScaledIndexOrNoIndex) {
  // [r15 + index*scale + disp] (a table at a constant address) and [r15 + disp] (a constant
  // address): index -1 is none.
  auto p = std::make_unique<Pair>();
  auto& t = p->theirs;
  for (int index = -1; index < 16; ++index) {
    if (index == Xbyak::Operand::RSP) continue;
    for (int scale : {1, 2, 4, 8}) {
      if (index < 0 && scale != 1) continue;
      for (int32_t disp : kDisps)
        for (int r = 0; r < 16; ++r) {
          const Reg64 reg(r);
          const Xbyak::RegExp a = index < 0 ? t.r15 + disp : t.r15 + Reg64(index) * scale + disp;
          enc::load_guest(p->ours, 1, r, index, disp, scale);
          t.movzx(reg.cvt32(), t.byte[a]);
          enc::load_guest(p->ours, 8, r, index, disp, scale);
          t.mov(reg, t.qword[a]);
          enc::store_guest(p->ours, 2, r, index, disp, scale);
          t.mov(t.word[a], reg.cvt16());
          enc::store_guest(p->ours, 4, r, index, disp, scale);
          t.mov(t.dword[a], reg.cvt32());
          enc::store_guest_imm(p->ours, 8, 0x12345678, index, disp, scale);
          t.mov(t.qword[a], 0x12345678);
          p->expect_same("guest access, scaled index or none");
        }
    }
  }
}

// Past the buffer's end an encoding fails as Xbyak's own do (the emitter then flushes the
// translation cache and emits the block again): ERR_CODE_IS_TOO_BIG.
TEST(JitHostEncoding, FullBufferThrowsAsXbyakDoes) {
  alignas(16) uint8_t buf[16] = {};
  for (size_t room : {0, 3, 9}) {
    Xbyak::CodeGenerator ours(room, buf);
    try {
      enc::mov_r64_imm(ours, 3, 0x123456789ABCDEF0ull);  // (10 bytes)
      ADD_FAILURE() << "no error with " << room << " bytes of room";
    } catch (const Xbyak::Error& e) {
      EXPECT_EQ(int(e), Xbyak::ERR_CODE_IS_TOO_BIG);
    }
    EXPECT_EQ(ours.getSize(), room);
  }
  Xbyak::CodeGenerator exact(10, buf);
  enc::mov_r64_imm(exact, 3, 0x123456789ABCDEF0ull);
  EXPECT_EQ(exact.getSize(), 10u);
}

}  // namespace
}  // namespace vireo::test
