#include "cpu/cpu_state.h"

#include "cpu/cpuid.h"

#include <fmt/format.h>

#include <cstring>

namespace vireo {

void reset_user_state(CpuState& cpu) {
  std::memset(static_cast<void*>(&cpu), 0, sizeof cpu);
  cpu.rflags = flag::FIXED1 | flag::IF;
  // x86-64 psABI 3.4.1 / Linux start_thread: MXCSR = 0x1F80 (all exceptions masked,
  // round to nearest) and FCW = 0x37F (extended precision, all exceptions masked).
  cpu.mxcsr = 0x1F80;
  cpu.x87.fcw = 0x37F;
  cpu.x87.tag_empty = 0xFF;
  // 64-bit user code segment: L=1, DPL=3, present, code, readable.
  cpu.seg[SEG_CS] = {0x33, 0xA0FB, 0xFFFFFFFF, 0};
  cpu.seg[SEG_SS] = {0x2B, 0xC0F3, 0xFFFFFFFF, 0};
  cpu.efer = 0xD01;  // SCE | LME | LMA | NXE
  cpu.cr0 = 0x80050033;
  cpu.cr4 = 0x6A0;
  // What Linux enables for user space: XCR0 and, with them, CR4.OSXSAVE and CR4.FSGSBASE.
  cpu.xcr0 = supported_xcr0();
  if (cpu.xcr0) cpu.cr4 |= kCr4OsXsave;
  if (advertised_features().leaf7_ebx & cpuid_bits::FSGSBASE) cpu.cr4 |= kCr4FsGsBase;
}

std::string format_registers(const CpuState& c) {
  static const char* names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  static const char* segs[SEG_COUNT] = {"es", "cs", "ss", "ds", "fs", "gs"};
  std::string out;
  for (int i = 0; i < 16; ++i)
    out += fmt::format("  {:>3}={:016x}", names[i], c.gpr[i]) + (i % 4 == 3 ? "\n" : "");
  out += fmt::format("  rip={:016x}  rflags={:08x}\n", c.rip, c.rflags);
  out += fmt::format("  cr0={:08x}  cr2={:016x}  cr3={:016x}  cr4={:08x}  efer={:x}\n", c.cr0, c.cr2, c.cr3, c.cr4,
                     c.efer);
  for (int i = 0; i < SEG_COUNT; ++i)
    out += fmt::format("  {}={:04x} base={:016x} limit={:08x} attr={:03x}\n", segs[i], c.seg[i].selector,
                       c.seg[i].base, c.seg[i].limit, c.seg[i].attrib);
  out += fmt::format("  gdt={:016x}/{:x}  idt={:016x}/{:x}  tr={:04x}", c.gdtr.base, c.gdtr.limit, c.idtr.base,
                     c.idtr.limit, c.tr.selector);
  return out;
}

}  // namespace vireo
