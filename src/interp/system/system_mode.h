// SystemMode: what the interpreter adds to run a bare-metal guest (vireo boot --engine interp).
//
// The user-mode interpreter is left as it is: system mode has its own fetch and run loop
// (Interpreter::run_system), its own decode cache keyed by (linear rip, CPU mode), its own
// dispatch table (the user one with the system families laid over it), and reaches memory
// through the softmmu (mem/softmmu/) because Exec::mem has limit 0. Exceptions raised by any
// handler come back to the run loop and are delivered through the guest IDT here.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include "cpu/decoder.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/system/kvm_clock.h"
#include "machine/system_bus.h"
#include "mem/softmmu/mmu.h"

namespace vireo {

// Segment attribute bits (CpuState::Segment::attrib: descriptor bits 40..47 and 52..55).
namespace seg_attr {
inline constexpr uint16_t TYPE = 0xF, ACCESSED = 1, S = 0x10, P = 0x80, L = 0x200, DB = 0x400,
                          G = 0x800;
inline constexpr uint16_t CODE = 8, CONFORMING = 4, READABLE = 2, WRITABLE = 2;
inline unsigned dpl(uint16_t a) { return (a >> 5) & 3; }
}  // namespace seg_attr

// How an event reaches the IDT (SDM Vol. 3, 6.4 and 6.12): software interrupts are checked
// against the gate's DPL, external ones set the EXT bit of error codes.
enum class Event : uint8_t { Exception, External, Software };

// The CPU mode an instruction is decoded in.
enum class ExecMode : uint8_t { Long64, Bits32, Bits16 };

struct SystemStats {
  std::array<uint64_t, 256> exceptions{}, interrupts{}, software{};
};

struct SystemMode {
  SystemMode(machine::SystemBus& bus, uint8_t* ram, uint64_t ram_size);

  machine::SystemBus& bus;
  softmmu::Mmu mmu;
  Decoder dec64{CpuMode::Long64}, dec32{CpuMode::Protected32}, dec16{CpuMode::Real16};
  DispatchTable table;

  struct CacheEntry {
    uint64_t la = ~uint64_t(0);  // linear address of the instruction; ~0 = empty
    uint64_t rip = 0;            // its offset in CS (relative branch targets depend on it)
    ExecMode mode = ExecMode::Long64;
    // The instruction's bytes as two overlapping 8-byte words (bytes 0-7 and 7-14) with masks
    // for its length, so that the "still the same bytes?" check is two compares, not memcmp.
    uint64_t word0 = 0, word1 = 0, mask0 = 0, mask1 = 0;
    CacheEntry* next = nullptr;  // the entry that followed this one last time it fell through
    Insn insn;
  };
  // Entries are allocated from a pool in the order code is first decoded, so straight-line
  // code sits in consecutive entries and the host's prefetcher follows it; `next` links an
  // entry to its fall-through successor, so a run of instructions does not consult the
  // index. The index (direct-mapped on the linear address) finds the entry at a branch
  // target. A full pool is emptied at once. Every use is checked against the bytes in memory.
  static constexpr size_t kIndexSize = 1 << 16;
  static constexpr size_t kPoolSize = 1 << 17;
  std::unique_ptr<CacheEntry*[]> index = std::make_unique<CacheEntry*[]>(kIndexSize);
  std::unique_ptr<CacheEntry[]> pool = std::make_unique<CacheEntry[]>(kPoolSize);
  size_t pool_used = 0;
  CacheEntry* last = nullptr;  // the entry fetched last
  uint64_t decode_misses = 0;
  // The code page fetched from last: (linear page, privilege) -> host page, valid until the
  // TLB is next flushed (the translation may be stale only as long as the TLB's may).
  struct FetchPage {
    uint64_t page = ~uint64_t(0);
    bool user = false;
    uint64_t tlb_generation = 0;
    uint8_t* host = nullptr;
  } fetch_memo;

  // Interrupt bookkeeping. An interrupt window opens `irq_check` instructions from now (after
  // STI: one instruction later; after POPF/IRET/port I/O: at the next boundary); interrupts are
  // blocked while insn_count < shadow_end (the STI / MOV SS shadow).
  unsigned irq_check = 0;
  uint64_t shadow_end = 0;
  // A MOV/POP SS also holds back the single-step #DB while insn_count < step_shadow_end
  // (SDM Vol. 3, 6.8.3); STI does not.
  uint64_t step_shadow_end = 0;
  int delivering = -1;  // vector being delivered (for #DF and triple fault), -1 = none

  static constexpr uint64_t kDr6SingleStep = 1u << 14;  // DR6.BS
  uint64_t dr[8] = {0, 0, 0, 0, 0, 0, 0xFFFF0FF0, 0x400};
  uint64_t tsc_aux = 0;
  std::set<uint32_t> reported_msrs;
  KvmClockState kvm_clock;  // the paravirtual clock's MSRs (kvm_clock.cpp)

  // Bulk operands (SSE, x87, fxsave) that are not one run of RAM — pages not physically
  // contiguous (a user buffer), or MMIO — are copied into a bounce buffer; one the
  // instruction may write is copied back when it completes (commit_bounces), all its pages
  // having been translated for writing before it ran. An exception drops them.
  struct Bounce {
    uint64_t la = 0;
    uint32_t len = 0;
    bool user = false, write = false;
    alignas(64) uint8_t data[4096];
  };
  static constexpr unsigned kBounces = 3;  // the most bulk operands one instruction takes
  std::unique_ptr<std::array<Bounce, kBounces>> bounces = std::make_unique<std::array<Bounce, kBounces>>();
  unsigned bounces_used = 0;
  std::set<uint16_t> reported_insns;

  std::FILE* int_log = nullptr;  // -d int
  std::FILE* unimp_log = nullptr;  // -d unimp: unknown MSRs, reported once each
  SystemStats stats;
  uint64_t start_ns = 0;
};

// ---- helpers shared by the system families (interp/system/*.cpp) ----
ExecMode exec_mode(const CpuState& c);
inline bool long_mode_active(const CpuState& c) { return c.efer & softmmu::ctl::EFER_LMA; }
inline bool in_64bit_mode(const CpuState& c) {
  return long_mode_active(c) && (c.seg[SEG_CS].attrib & seg_attr::L);
}
inline unsigned cpl(const CpuState& c) {
  return (c.cr0 & softmmu::ctl::CR0_PE) ? c.seg[SEG_CS].selector & 3 : 0;
}
inline bool real_mode(const CpuState& c) { return !(c.cr0 & softmmu::ctl::CR0_PE); }
// Real mode: the base is the selector * 16; limit and attributes stay as they were cached
// (SDM Vol. 3, 9.1.4: how a protected-mode segment's limits survive into real mode).
inline void load_real_segment(CpuState& c, unsigned seg, uint16_t sel) {
  c.seg[seg].selector = sel;
  c.seg[seg].base = uint64_t(sel) << 4;
}
inline unsigned iopl(const CpuState& c) { return (c.rflags >> 12) & 3; }

// Accesses the guest makes implicitly (descriptor tables, TSS, interrupt stacks), with the
// privilege given rather than the CPL's (SDM Vol. 3, 5.5: supervisor-mode accesses).
void read_linear(Exec& x, uint64_t la, void* dst, unsigned size, bool user);
void write_linear(Exec& x, uint64_t la, const void* src, unsigned size, bool user);
// Writes back the bounce buffers of the instruction that just completed (memory.cpp).
void commit_bounces(Exec& x, SystemMode& s);
uint64_t read_sys(Exec& x, uint64_t la, unsigned size);
void write_sys(Exec& x, uint64_t la, unsigned size, uint64_t v);
// Instruction fetch through the softmmu (interp/system/fetch.cpp).
const Insn* fetch_system(Exec& x, SystemMode& s);

// Stack of the current mode (interp/system/stack_modes.cpp): width 8 in 64-bit mode, else SS.B.
unsigned stack_width(const CpuState& c);
// Pushes built in order and committed together, so a fault leaves RSP unchanged.
struct StackFrame {
  Exec& x;
  uint64_t sp;
  unsigned width;
  explicit StackFrame(Exec& x_);
  void push(uint64_t v, unsigned size);
  uint64_t pop(unsigned size);
  void commit();
};

// Segments (interp/system/segments.cpp).
bool read_descriptor(Exec& x, uint16_t sel, uint64_t& raw);  // false: beyond the table limit
Segment descriptor_to_segment(uint16_t sel, uint64_t raw);
// MOV/POP to a data segment register or SS, with the protected-mode checks (SDM Vol. 2, MOV).
void load_segment(Exec& x, unsigned seg, uint16_t sel);
// The same checks for privilege level `cpl`, without loading (IRET and far RET check the new
// SS before changing anything).
Segment checked_segment(Exec& x, unsigned seg, uint16_t sel, unsigned cpl);
// The code segment IRET and far RET return to: a present code descriptor the return may use
// (not to an inner ring; DPL as conforming or not requires) or #GP/#NP(selector). Its raw
// descriptor.
uint64_t checked_return_code_segment(Exec& x, uint16_t sel);
// Loads CS for a far jmp/call/ret/iret to `sel` (already checked by the caller).
void set_code_segment(CpuState& c, uint16_t sel, uint64_t raw, unsigned new_cpl);
// Far jmp/call target checks (code segment only: gates are reported and raise #GP).
uint64_t check_far_target(Exec& x, uint16_t sel);
// After a return to an outer privilege level, data segment registers the new CPL may not use
// are nulled (SDM Vol. 2, RET/IRET).
void null_inaccessible_segments(CpuState& c);
Segment flat_code(uint16_t sel, bool long64, unsigned dpl);
Segment flat_data(uint16_t sel, unsigned dpl);
// The RFLAGS bits an IRET of `opsize` bytes loads from its frame: IOPL only at CPL 0, IF only
// at CPL <= IOPL (SDM Vol. 2, IRET). Shared with the system-mode jit's IRETQ helper.
uint64_t iret_flags_mask(const CpuState& c, unsigned opsize);
// SYSRET's loads once its checks passed (fast_calls.cpp; SDM Vol. 2, SYSRET): flat ring-3 CS
// and SS from STAR[63:48], RIP from RCX, RFLAGS from R11. Whether it set IF (the interrupt
// window opens). Shared with the system-mode jit's SYSRET helper.
bool sysret_load(CpuState& c, bool to64);

// Interrupts and exceptions (interp/system/interrupts.cpp).
void deliver_event(Exec& x, uint8_t vector, Event kind, bool has_error, uint32_t error,
                   uint64_t return_rip);
// Called by the run loop for an exception raised by a handler (cpu->fault).
void deliver_exception(Exec& x, SystemMode& s);
// Takes a pending external interrupt if RFLAGS.IF and no shadow allow it.
void poll_interrupts(Exec& x, SystemMode& s);
// The single-step trap after an instruction that began with RFLAGS.TF set.
void single_step_trap(Exec& x, SystemMode& s, const Insn& in);
// After a load of SS: interrupts and the single-step trap wait until the next instruction is
// done (SDM Vol. 3, 6.8.3).
inline void ss_loaded(Exec& x) { x.sys->shadow_end = x.sys->step_shadow_end = x.cpu->insn_count + 2; }
void log_event(Exec& x, uint8_t vector, Event kind, bool has_error, uint32_t error);

// MOV to/from CRn and DRn (control_regs.cpp), reached through the system MOV.
void mov_control(Exec& x, const Insn& in);

// The families laid over the user dispatch table.
void register_system_control(DispatchTable& t);   // control_regs.cpp: mov cr/dr, lgdt.., msr
void register_system_io(DispatchTable& t);        // io.cpp: in/out/ins/outs, cli/sti, hlt
void register_system_stack(DispatchTable& t);     // stack_modes.cpp: push/pop/call/ret.. by mode
void register_system_segments(DispatchTable& t);  // segments.cpp: mov/pop sreg, far jmp/call/ret
void register_system_interrupts(DispatchTable& t);  // interrupts.cpp: int n, int3, into, iret
void register_system_fastcall(DispatchTable& t);  // fast_calls.cpp: syscall/sysret, sysenter/sysexit, swapgs
void register_system_strings(DispatchTable& t);   // string_bulk.cpp: rep movs/stos a page at a time

// Reports once per mnemonic that a system instruction form is not implemented, then #UD.
[[noreturn]] void system_unimplemented(Exec& x, const Insn& in, const char* what);

}  // namespace vireo
