// The host-FPU executor shared by the x87 family files (see x87_native.h for why).
#include "interp/x87_native.h"

#include <cstring>

#include "interp/exec.h"

// One stub per x87 encoding the executor may run, 8 bytes each: ENDBR64 (the stubs are
// reached by an indirect call), the two instruction bytes, RET. Register forms (ModR/M C0..FF)
// come first, 64 per escape byte; then the memory forms, 8 per escape byte, each addressing
// [rdi] (mod=00, rm=111). The table is data for the executor, never guest-visible.
asm(R"(
  .pushsection .text
  .balign 16
  .globl vireo_x87_stubs
  .hidden vireo_x87_stubs
vireo_x87_stubs:
  .irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf
  .set .Lvireo_x87_m, 0xc0
  .rept 64
  .byte 0xf3, 0x0f, 0x1e, 0xfa, \esc, .Lvireo_x87_m, 0xc3, 0xcc
  .set .Lvireo_x87_m, .Lvireo_x87_m + 1
  .endr
  .endr
  .irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf
  .irp m, 0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f
  .byte 0xf3, 0x0f, 0x1e, 0xfa, \esc, \m, 0xc3, 0xcc
  .endr
  .endr
  .popsection
)");

extern "C" const uint8_t vireo_x87_stubs[];

namespace vireo::x87 {

Encoding encoding(const Insn& in) {
  // Prefixes (66, 67, F0, F2, F3, segment overrides, REX) never fall in D8..DF, so the first
  // byte that does is the escape opcode and the next is the ModR/M byte.
  for (unsigned i = 0; i + 1 < in.len; ++i)
    if (in.bytes[i] >= 0xD8 && in.bytes[i] <= 0xDF) return {in.bytes[i], in.bytes[i + 1]};
  return {0xD9, 0xD0};  // unreachable for decoded x87 instructions; FNOP keeps it harmless
}

unsigned stub_index(Encoding e) {
  unsigned esc = e.esc - 0xD8u;
  return e.is_mem() ? 512 + esc * 8 + e.reg() : esc * 64 + (e.modrm - 0xC0u);
}

uint16_t run_native(X87State& s, unsigned stub, void* mem, uint64_t& rflags) {
  alignas(16) uint8_t host[512];
  alignas(16) uint8_t img[512];
  // FXSAVE image (SDM Vol. 1, Table 10-2). The guest's sticky exception flags are cleared so
  // that the flags this instruction raises can be told apart; ES/B are clear because a pending
  // exception was delivered as #MF before we got here.
  std::memset(img, 0, 160);
  uint16_t fsw_in = uint16_t((s.fsw & ~(STICKY | ES | B | TOP_MASK)) | (s.top << 11));
  std::memcpy(img + 0, &s.fcw, 2);
  std::memcpy(img + 2, &fsw_in, 2);
  img[4] = uint8_t(~s.tag_empty);  // abridged tag: 1 = valid
  uint32_t mxcsr = 0x1F80;          // any valid value: the host's is restored afterwards
  std::memcpy(img + 24, &mxcsr, 4);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(img + 32 + 16 * i, &s.st[(s.top + i) & 7], 10);

  uint64_t fl = rflags & flag::ARITH;
  const uint8_t* fn = vireo_x87_stubs + 8 * stub;
  // The red zone is stepped over before CALL/PUSHF touch the stack. Only the arithmetic flags
  // are replaced in the host RFLAGS (DF, AC, TF stay as the compiler expects them).
  asm volatile(
      "lea -128(%%rsp), %%rsp\n\t"
      "fxsave64 (%[host])\n\t"
      "fxrstor64 (%[img])\n\t"
      "pushfq\n\t"
      "andq $-2262, (%%rsp)\n\t"  // ~0x8D5: clear CF PF AF ZF SF OF
      "orq %[fl], (%%rsp)\n\t"
      "popfq\n\t"
      "call *%[fn]\n\t"
      "pushfq\n\t"
      "popq %[fl]\n\t"
      "fxsave64 (%[img])\n\t"
      "fxrstor64 (%[host])\n\t"
      "lea 128(%%rsp), %%rsp\n\t"
      : [fl] "+r"(fl)
      : [host] "r"(host), [img] "r"(img), [fn] "r"(fn), "D"(mem)
      : "memory", "cc");
  rflags = (rflags & ~flag::ARITH) | (fl & flag::ARITH);

  uint16_t fsw_out;
  std::memcpy(&fsw_out, img + 2, 2);
  uint16_t raised = fsw_out & STICKY;
  s.top = (fsw_out >> 11) & 7;
  s.fsw = uint16_t((fsw_out & ~TOP_MASK) | (s.fsw & STICKY));
  s.tag_empty = uint8_t(~img[4]);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(&s.st[(s.top + i) & 7], img + 32 + 16 * i, 10);
  return raised;
}

void update_es(X87State& s) {
  if (s.fsw & ~s.fcw & EXC_MASK) s.fsw |= ES | B;
  else s.fsw &= uint16_t(~(ES | B));
}

void set_status_word(X87State& s, uint16_t fsw) {
  s.top = (fsw >> 11) & 7;
  s.fsw = fsw & ~TOP_MASK;
  update_es(s);
}

unsigned full_tag(const X87State& s, unsigned phys) {
  if (s.tag_empty & (1u << phys)) return 3;
  uint64_t mant;
  uint16_t se;
  std::memcpy(&mant, &s.st[phys], 8);
  std::memcpy(&se, reinterpret_cast<const uint8_t*>(&s.st[phys]) + 8, 2);
  unsigned exp = se & 0x7FFF;
  if (exp == 0) return mant == 0 ? 1 : 2;           // zero; denormal / pseudo-denormal
  if (exp == 0x7FFF) return 2;                      // infinity, NaN
  return (mant >> 63) ? 0 : 2;                      // normal; unnormal (unsupported)
}

uint16_t full_tag_word(const X87State& s) {
  uint16_t w = 0;
  for (unsigned i = 0; i < 8; ++i) w |= uint16_t(full_tag(s, i) << (2 * i));
  return w;
}

void check_pending(Exec& x) {
  if (x.cpu->x87.fsw & ES) [[unlikely]]
    x.raise(VEC_MF);
}

}  // namespace vireo::x87
