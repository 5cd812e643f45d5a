// Exec: what an instruction handler sees — the CPU, guest memory, and the operand helpers.
//
// Conventions every handler follows (they make faults precise without undo logs):
//  * when a handler runs, cpu->rip already points at the next instruction; branches set it;
//  * a handler performs all its memory accesses that can fault before it writes any register
//    (a fault restores rip to the faulting instruction and leaves the registers as they were);
//  * faults are raised with raise_*() and never return.
#pragma once

#include <csetjmp>
#include <cstdint>
#include <cstring>

#include "cpu/cpu_state.h"
#include "cpu/insn.h"
#include "interp/locked.h"
#include "mem/guest_memory.h"
#include "mem/host_fault.h"

namespace vireo {

class Interpreter;
struct SystemMode;

struct Exec {
  CpuState* cpu = nullptr;
  // User mode: the guest window. System mode: limit 0, so every access takes the [[unlikely]]
  // branch into the softmmu (interp/system/memory.cpp) and the user-mode fast paths stay as
  // they are.
  GuestMemory mem;
  GuestFaultScope* scope = nullptr;
  Interpreter* interp = nullptr;
  uint64_t insn_rip = 0;  // address of the executing instruction
  StopReason stop = StopReason::None;
  SystemMode* sys = nullptr;  // system mode only (interp/system/system_mode.h)
  // Outside 64-bit mode (system mode only) ES/CS/SS/DS bases apply too.
  bool legacy_segments = false;
  // A locked read-modify-write in progress (locked.cpp): mem.limit is 0 and the slow paths
  // serve every access from this copy of the operand.
  LockedAccess* locked = nullptr;

  // ---- faults ----
  [[noreturn]] void raise(uint8_t vector, uint32_t error_code = 0, bool has_error = false,
                          uint64_t address = 0, bool is_write = false) {
    cpu->fault = {vector, has_error, error_code, address, is_write};
    siglongjmp(scope->env, 2);
  }
  [[noreturn]] void raise_ud() { raise(VEC_UD); }
  [[noreturn]] void raise_gp(uint32_t ec = 0) { raise(VEC_GP, ec, true); }
  [[noreturn]] void raise_de() { raise(VEC_DE); }
  [[noreturn]] void raise_pf(uint64_t addr, bool write) {
    raise(VEC_PF, write ? 6 : 4, true, addr, write);
  }

  // ---- memory (linear addresses) ----
  template <class T>
  T load(uint64_t la) {
    if (!mem.contains(la, sizeof(T))) [[unlikely]]
      return load_slow<T>(la);
    T v;
    std::memcpy(&v, mem.base + la, sizeof(T));
    return v;
  }
  template <class T>
  void store(uint64_t la, T v) {
    if (!mem.contains(la, sizeof(T))) [[unlikely]]
      return store_slow<T>(la, v);
    if ((la & 4095) + sizeof(T) > 4096) [[unlikely]]
      probe_second_page(la);
    std::memcpy(mem.base + la, &v, sizeof(T));
  }
  // A store that crosses into the next page must fault before writing anything, as the
  // hardware does: probe the second page for writing first. A fault reports that page.
  void probe_second_page(uint64_t la) {
    probe_write(la);  // the first page faults first, as on the hardware
    probe_write((la | 4095) + 1);
  }
  // Checks that the byte at `la` can be read (a plain load whose value is unused could be
  // optimised away).
  void probe_read(uint64_t la) {
    if (!mem.contains(la, 1)) [[unlikely]] {
      (void)load_slow<uint8_t>(la);
      return;
    }
    (void)*static_cast<volatile uint8_t*>(mem.base + la);
  }
  // Checks that the byte at `la` can be written, without changing it. A locked OR of 0 is a
  // write access for the host's MMU even where the page is not present, so a fault reports a
  // write (a plain read-then-write would report the read).
  void probe_write(uint64_t la) {
    if (!mem.contains(la, 1)) [[unlikely]] {
      if (!sys) raise_pf(la, true);
      (void)sys_host_ptr(la, 1, true);
      return;
    }
    __atomic_fetch_or(mem.base + la, uint8_t(0), __ATOMIC_RELAXED);
  }
  // Checked host pointer to [la, la+len) for bulk access (string ops, SSE, fxsave); the caller
  // still touches memory through it, so host faults are caught as usual.
  uint8_t* host_ptr(uint64_t la, uint64_t len, bool write) {
    if (!mem.contains(la, len)) [[unlikely]]
      return host_ptr_slow(la, len, write);
    // Every page must be writable before the caller writes any byte; a fault names the first
    // byte that cannot be written (the operand's own address when its first page faults).
    if (write && len && (la & 4095) + len > 4096) [[unlikely]] {
      probe_write(la);
      for (uint64_t page = (la | 4095) + 1; page < la + len; page += 4096) probe_write(page);
    }
    return mem.base + la;
  }

  // A state image: this host checks two bytes of it, the first and the last, and a fault
  // names the one that failed: fnsave/frstor/fnstenv/fldenv check the first byte first,
  // fxsave/fxrstor the last (measured; tests/exactness error_codes). System mode walks the
  // pages in order.
  uint8_t* image_ptr(uint64_t la, uint64_t len, bool write, bool last_first = false) {
    if (mem.limit && len) {
      const uint64_t first = last_first ? la + len - 1 : la, second = last_first ? la : la + len - 1;
      if (write) {
        probe_write(first);
        probe_write(second);
      } else {
        probe_read(first);
        probe_read(second);
      }
    }
    return host_ptr(la, len, write);
  }

  // Outside the user window: a #PF in user mode, the softmmu in system mode.
  template <class T>
  [[gnu::noinline]] T load_slow(uint64_t la) {
    T v;
    if (locked) {
      std::memcpy(&v, locked->at(*this, la, sizeof(T), false), sizeof(T));
      return v;
    }
    if (!sys) raise_pf(la, false);
    sys_read(la, &v, sizeof(T));
    return v;
  }
  template <class T>
  [[gnu::noinline]] void store_slow(uint64_t la, T v) {
    if (locked) {
      std::memcpy(locked->at(*this, la, sizeof(T), true), &v, sizeof(T));
      return;
    }
    if (!sys) raise_pf(la, true);
    sys_write(la, &v, sizeof(T));
  }
  [[gnu::noinline]] uint8_t* host_ptr_slow(uint64_t la, uint64_t len, bool write) {
    if (locked) return locked->at(*this, la, unsigned(len), write);
    if (!sys) raise_pf(la, write);
    return sys_host_ptr(la, len, write);
  }
  // System mode (interp/system/memory.cpp): accesses at the current privilege through the
  // softmmu; a page fault or an MMIO access is handled there.
  void sys_read(uint64_t la, void* dst, unsigned size);
  void sys_write(uint64_t la, const void* src, unsigned size);
  uint8_t* sys_host_ptr(uint64_t la, uint64_t len, bool write);

  uint64_t load_sized(uint64_t la, unsigned size) {
    switch (size) {
      case 1: return load<uint8_t>(la);
      case 2: return load<uint16_t>(la);
      case 4: return load<uint32_t>(la);
      default: return load<uint64_t>(la);
    }
  }
  void store_sized(uint64_t la, unsigned size, uint64_t v) {
    switch (size) {
      case 1: store<uint8_t>(la, uint8_t(v)); break;
      case 2: store<uint16_t>(la, uint16_t(v)); break;
      case 4: store<uint32_t>(la, uint32_t(v)); break;
      default: store<uint64_t>(la, v); break;
    }
  }

  // ---- effective addresses ----
  uint64_t seg_base(uint8_t seg) const {
    // In 64-bit mode only FS and GS contribute a base (SDM Vol. 1, 3.3.7.1).
    if (seg == SEG_FS || seg == SEG_GS) return cpu->seg[seg].base;
    return legacy_segments ? cpu->seg[seg].base : 0;
  }
  // Effective address (offset) of a memory operand, truncated to the address size.
  uint64_t offset(const Insn& in, const Operand& o) const {
    uint64_t a = uint64_t(o.disp);
    if (o.base != kNoReg) a += cpu->gpr[o.base];
    if (o.index != kNoReg) a += cpu->gpr[o.index] * o.scale;
    if (in.addrsize == 4) a = uint32_t(a);
    else if (in.addrsize == 2) a = uint16_t(a);
    return a;
  }
  uint64_t linear(const Insn& in, const Operand& o) const {
    return offset(in, o) + (o.seg == kNoReg ? 0 : seg_base(o.seg));
  }

  // ---- general-purpose registers ----
  uint64_t gpr(unsigned i) const { return cpu->gpr[i]; }
  // Writes `size` bytes of a GPR with the x86-64 rule: 32-bit writes zero the upper half,
  // 8/16-bit writes merge.
  void set_gpr(unsigned i, unsigned size, uint64_t v) {
    uint64_t& r = cpu->gpr[i];
    switch (size) {
      case 1: r = (r & ~uint64_t(0xFF)) | (v & 0xFF); break;
      case 2: r = (r & ~uint64_t(0xFFFF)) | (v & 0xFFFF); break;
      case 4: r = uint32_t(v); break;
      default: r = v; break;
    }
  }

  // ---- integer operands (value zero-extended to 64 bits) ----
  // A GPR or memory operand is read and written inline; the rest (high bytes, segment
  // registers, immediates, #UD) out of line.
  uint64_t read(const Insn& in, const Operand& o) {
    if (o.kind == OpKind::Reg && o.rclass == RegClass::Gpr) [[likely]]
      return truncate(cpu->gpr[o.reg], o.size);
    if (o.kind == OpKind::Mem) [[likely]]
      return load_sized(linear(in, o), o.size);
    return read_other(in, o);
  }
  [[gnu::noinline]] uint64_t read_other(const Insn& in, const Operand& o) {
    switch (o.kind) {
      case OpKind::Reg:
        if (o.rclass == RegClass::Gpr) return truncate(cpu->gpr[o.reg], o.size);
        if (o.rclass == RegClass::GprHigh) return (cpu->gpr[o.reg] >> 8) & 0xFF;
        if (o.rclass == RegClass::Seg) return cpu->seg[o.reg].selector;
        raise_ud();
      case OpKind::Mem: return load_sized(linear(in, o), o.size);
      case OpKind::Imm: return truncate(uint64_t(o.disp), o.size ? o.size : 8);
      default: raise_ud();
    }
  }
  // Immediates are sign-extended to the operation size (e.g. add rax, imm32).
  uint64_t read_as(const Insn& in, const Operand& o, unsigned size) {
    if (o.kind == OpKind::Imm) return truncate(uint64_t(o.disp), size);
    return read(in, o);
  }
  void write(const Insn& in, const Operand& o, uint64_t v) {
    if (o.kind == OpKind::Reg && o.rclass == RegClass::Gpr) [[likely]]
      return set_gpr(o.reg, o.size, v);
    if (o.kind == OpKind::Mem) [[likely]]
      return store_sized(linear(in, o), o.size, v);
    write_other(in, o, v);
  }
  [[gnu::noinline]] void write_other(const Insn& in, const Operand& o, uint64_t v) {
    switch (o.kind) {
      case OpKind::Reg:
        if (o.rclass == RegClass::Gpr) return set_gpr(o.reg, o.size, v);
        if (o.rclass == RegClass::GprHigh) {
          uint64_t& r = cpu->gpr[o.reg];
          r = (r & ~uint64_t(0xFF00)) | ((v & 0xFF) << 8);
          return;
        }
        raise_ud();
      case OpKind::Mem: return store_sized(linear(in, o), o.size, v);
      default: raise_ud();
    }
  }
  // The same for an operation of width sizeof(T) (inside by_size): exactly T(read(in, o)),
  // read_as(in, o, sizeof(T)) and write(in, o, v), with the common forms (a GPR or memory
  // operand of that width) typed, so that no size switch remains.
  template <class T>
  T read_t(const Insn& in, const Operand& o) {
    if (o.size == sizeof(T)) [[likely]] {
      if (o.kind == OpKind::Reg && o.rclass == RegClass::Gpr) [[likely]]
        return T(cpu->gpr[o.reg]);
      if (o.kind == OpKind::Mem) return load<T>(linear(in, o));
    }
    return T(read(in, o));
  }
  template <class T>
  T read_as_t(const Insn& in, const Operand& o) {
    if (o.kind == OpKind::Imm) return T(o.disp);
    return read_t<T>(in, o);
  }
  template <class T>
  void write_t(const Insn& in, const Operand& o, T v) {
    if (o.size == sizeof(T)) [[likely]] {
      if (o.kind == OpKind::Reg && o.rclass == RegClass::Gpr) [[likely]] {
        uint64_t& r = cpu->gpr[o.reg];
        if constexpr (sizeof(T) >= 4) r = v;  // a 32-bit write zeroes the upper half
        else r = (r & ~uint64_t(T(~T(0)))) | v;
        return;
      }
      if (o.kind == OpKind::Mem) return store<T>(linear(in, o), v);
    }
    write(in, o, v);
  }

  static uint64_t truncate(uint64_t v, unsigned size) {
    return size >= 8 ? v : v & ((uint64_t(1) << (size * 8)) - 1);
  }
  static int64_t sign_extend(uint64_t v, unsigned size) {
    switch (size) {
      case 1: return int8_t(v);
      case 2: return int16_t(v);
      case 4: return int32_t(v);
      default: return int64_t(v);
    }
  }

  // ---- stack (64-bit mode: SS base 0) ----
  void push64(uint64_t v) {
    uint64_t sp = cpu->gpr[RSP] - 8;
    store<uint64_t>(sp, v);
    cpu->gpr[RSP] = sp;
  }
  uint64_t pop64() {
    uint64_t v = load<uint64_t>(cpu->gpr[RSP]);
    cpu->gpr[RSP] += 8;
    return v;
  }
};

// The segment a string instruction reads its source from (DS:rSI unless a segment prefix
// overrides it; the last one wins): movs/lods/cmps/outs.
uint8_t string_source_segment(const Insn& in);

// Calls f.template operator()<T>() with T the unsigned type of `size` bytes.
template <class F>
inline decltype(auto) by_size(unsigned size, F&& f) {
  switch (size) {
    case 1: return f.template operator()<uint8_t>();
    case 2: return f.template operator()<uint16_t>();
    case 4: return f.template operator()<uint32_t>();
    default: return f.template operator()<uint64_t>();
  }
}

}  // namespace vireo
