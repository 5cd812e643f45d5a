#include "jit/frontend/translator.h"

#include "jit/frontend/system.h"
#include "jit/frontend/translation_decodes.h"

#include <sys/mman.h>

#include <cstring>

#include <algorithm>

#include "cpu/condition_codes.h"
#include "cpu/cpu_state.h"
#include "cpu/shape_length.h"  // (is_legacy_prefix)
#include "interp/dispatch.h"
#include "interp/interpreter.h"
#include "jit/cache/code_cache.h"
#include "mem/host_fault.h"
#include "mem/address_space.h"  // the guest protections, for PROT_EXEC

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {
uint64_t truncate(uint64_t v, unsigned size) {
  return size >= 8 ? v : v & ((uint64_t(1) << (size * 8)) - 1);
}
}  // namespace

namespace {
// Whether v's bits above its low `size` bytes are known to be zero as the frontend built it
// (a load or zero-extension no wider, a constant that fits): zero_extend then emits nothing, where the zero-
// extension pass would delete it (32-bit code zero-extends every operand and result).
bool upper_zero(const ir::Block& b, Value v, unsigned size) {
  const ir::Inst& d = b.insts[v.id];
  switch (d.op) {
    case Opcode::Const: return (d.args[0].v >> (size * 8)) == 0;
    case Opcode::ZeroExt8: case Opcode::Load8: return true;
    case Opcode::ZeroExt16: case Opcode::Load16: return size >= 2;
    case Opcode::ZeroExt32: case Opcode::Load32: return size >= 4;
    default: return false;
  }
}
}  // namespace

Value Translator::zero_extend(Value v, unsigned size) {
  if (size < 8 && upper_zero(ir.block(), v, size)) return v;
  switch (size) {
    case 1: return ir.op(Opcode::ZeroExt8, v);
    case 2: return ir.op(Opcode::ZeroExt16, v);
    case 4: return ir.op(Opcode::ZeroExt32, v);
    default: return v;
  }
}

Value Translator::sign_extend(Value v, unsigned size) {
  switch (size) {
    case 1: return ir.op(Opcode::SignExt8, v);
    case 2: return ir.op(Opcode::SignExt16, v);
    case 4: return ir.op(Opcode::SignExt32, v);
    default: return v;
  }
}

Value Translator::address(const Operand& o) {
  // (no `0 + base`: fold_constants removed it, after every pass before it had walked it)
  Value a = o.disp == 0 && o.base != kNoReg ? ir.get_gpr(o.base) : constant(uint64_t(o.disp));
  if (o.base != kNoReg && o.disp != 0) a = ir.op(Opcode::Add, a, ir.get_gpr(o.base));
  if (o.index != kNoReg) {
    Value idx = ir.get_gpr(o.index);
    if (o.scale > 1) idx = ir.op(Opcode::Shl, idx, constant(__builtin_ctz(o.scale)));
    a = ir.op(Opcode::Add, a, idx);
  }
  if (in.addrsize == 4) a = ir.op(Opcode::ZeroExt32, a);
  if (o.seg == SEG_FS || o.seg == SEG_GS)
    a = ir.op(Opcode::Add, a, ir.emit(Opcode::GetSegBase, {Arg::imm(o.seg)}));
  return a;
}

Value Translator::load(Value addr, unsigned size) {
  switch (size) {
    case 1: return ir.op(Opcode::Load8, addr);
    case 2: return ir.op(Opcode::Load16, addr);
    case 4: return ir.op(Opcode::Load32, addr);
    default: return ir.op(Opcode::Load64, addr);
  }
}

void Translator::store(Value addr, unsigned size, Value v) {
  static constexpr Opcode ops[] = {Opcode::Store8, Opcode::Store16, Opcode::Store32, Opcode::Store64};
  ir.op(ops[size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3], addr, v);
}

Value Translator::read(const Operand& o, unsigned size) {
  switch (o.kind) {
    case OpKind::Imm: return constant(truncate(uint64_t(o.disp), size));
    case OpKind::Mem: return load(address(o), o.size ? o.size : size);
    default:
      if (o.rclass == RegClass::GprHigh)
        return ir.op(Opcode::ZeroExt8, ir.op(Opcode::Shr, ir.get_gpr(o.reg), constant(8)));
      return zero_extend(ir.get_gpr(o.reg), o.size);
  }
}

Value Translator::register_after_write(const Operand& o, Value v) {
  if (o.rclass == RegClass::GprHigh) return ir.op(Opcode::MergeHigh8, ir.get_gpr(o.reg), v);
  switch (o.size) {
    case 8: return v;
    case 4: return zero_extend(v, 4);  // 32-bit writes zero-extend
    default: return ir.emit(Opcode::MergeLow, {Arg::val(ir.get_gpr(o.reg)), Arg::val(v), Arg::imm(o.size)});
  }
}

void Translator::write(const Operand& o, unsigned size, Value v) {
  if (o.kind == OpKind::Mem) return store(address(o), o.size ? o.size : size, v);
  ir.set_gpr(o.reg, register_after_write(o, v));
}

const FrontendTable& frontend_table() {
  static const FrontendTable t = [] {
    FrontendTable t{};
    register_frontend_alu(t);
    register_frontend_move(t);
    register_frontend_control(t);
    register_frontend_stack(t);
    register_frontend_sse(t);
    register_frontend_shift_muldiv(t);
    register_frontend_bit(t);
    register_frontend_bmi(t);
    register_frontend_adx(t);
    register_frontend_crc32(t);
    register_frontend_atomic(t);
    register_frontend_string(t);
    register_frontend_flag_ops(t);
    register_frontend_system(t);  // (user-mode rdtsc: frontend/system.cpp)
    register_frontend_avx(t);
    return t;
  }();
  return t;
}

namespace {

// Instructions after which the block must end because the next pc is not known statically
// when they run in the interpreter.
bool changes_control_flow(uint16_t m) {
  switch (m) {
    case ZYDIS_MNEMONIC_JMP: case ZYDIS_MNEMONIC_CALL: case ZYDIS_MNEMONIC_RET:
    case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE: case ZYDIS_MNEMONIC_LOOPNE:
    case ZYDIS_MNEMONIC_JRCXZ: case ZYDIS_MNEMONIC_JECXZ: case ZYDIS_MNEMONIC_SYSCALL:
    case ZYDIS_MNEMONIC_INT: case ZYDIS_MNEMONIC_INT3: case ZYDIS_MNEMONIC_INTO:
    case ZYDIS_MNEMONIC_HLT: case ZYDIS_MNEMONIC_UD0: case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2: case ZYDIS_MNEMONIC_IRETQ: case ZYDIS_MNEMONIC_SYSRET:
    case ZYDIS_MNEMONIC_IRETD: case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_INT1:
    // popf may set TF or AC, which the dispatcher handles: the block ends after it.
    case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFQ:
    // (helper/avx) so may these unmask SSE exceptions: translated code runs with them masked.
    case ZYDIS_MNEMONIC_LDMXCSR: case ZYDIS_MNEMONIC_VLDMXCSR: case ZYDIS_MNEMONIC_FXRSTOR:
    case ZYDIS_MNEMONIC_FXRSTOR64: case ZYDIS_MNEMONIC_XRSTOR: case ZYDIS_MNEMONIC_XRSTOR64:
      return true;
    default:
      return std::find(kJccMnemonics.begin(), kJccMnemonics.end(), ZydisMnemonic(m)) != kJccMnemonics.end();
  }
}

// The code bytes a translation reads, a window at a time: up to 15 bytes at a pc, stopping
// before an unreadable or non-executable page (the interpreter then raises the fetch fault,
// with the guest's pc). Reading them one instruction at a time took a page-protection lookup,
// a fault scope and a sigsetjmp per instruction (3% of cc1's translation); a window of
// kBytes is read at once, and the instructions in it are served from it. What an instruction
// sees is what a read at its own pc would: the window ends where such a read would stop (a
// page not executable or not readable, the end of guest memory), and an instruction that
// runs past a window cut short only by kBytes is read again in a window of its own.
class CodeWindow {
 public:
  static constexpr size_t kBytes = 256;
  // The bytes at `pc` (at most 15; 0 if none can be read): `bytes` points into the window.
  size_t at(const GuestMemory& mem, uint64_t pc, const uint8_t*& bytes) {
    if (pc - begin_ >= end_ - begin_ || (end_ - pc < 15 && !stops_)) fill(mem, pc);
    bytes = buf_ + (pc - begin_);
    return size_t(std::min<uint64_t>(15, end_ - pc));
  }

 private:
  void fill(const GuestMemory& mem, uint64_t pc);
  uint64_t begin_ = 0, end_ = 0;  // [begin_, end_) read into buf_
  bool stops_ = false;  // whether a read at pc would stop at end_ too (not only kBytes cut it)
  uint8_t buf_[kBytes];
};

// Copies [pc, pc + avail) of guest memory into `buf` a page at a time and returns how many
// bytes it copied: a host fault (a page of a file mapping past its end) stops the read at the
// start of the page that faulted, as a byte-by-byte read would stop. (Its own function: nothing
// it keeps in a register is assigned again after the sigsetjmp.)
size_t read_until_fault(const GuestMemory& mem, uint8_t* buf, uint64_t pc, size_t avail) {
  const size_t first = std::min<size_t>(avail, 4096 - (pc & 4095));
  volatile size_t got = 0;  // (read after a siglongjmp)
  // (one per thread, not one per window: its HostFault, ~450 bytes zeroed by its constructor,
  // is only written by a fault; a window is not read from inside another's read)
  thread_local GuestFaultScope probe;
  activate_fault_scope(probe, mem);
  if (sigsetjmp(probe.env, 0) == 0) {
    // (the barriers keep each count after its page's copy and before the next's)
    std::memcpy(buf, mem.base + pc, first);
    asm volatile("" ::: "memory");
    got = first;
    asm volatile("" ::: "memory");
    std::memcpy(buf + first, mem.base + pc + first, avail - first);
    asm volatile("" ::: "memory");
    got = avail;
  }
  deactivate_fault_scope(probe);
  return got;
}

void CodeWindow::fill(const GuestMemory& mem, uint64_t pc) {
  size_t avail = mem.contains(pc, 1) ? std::min<uint64_t>(kBytes, mem.limit - pc) : 0;
  if (mem.space) {  // (kBytes < a page: the window reaches one page boundary at most)
    auto exec = [&](uint64_t a) { int p = mem.space->prot_at(a); return p >= 0 && (p & PROT_EXEC); };
    if (!exec(pc)) avail = 0;
    else if ((pc & 4095) + avail > 4096 && !exec((pc | 4095) + 1)) avail = 4096 - (pc & 4095);
  }
  const size_t got = read_until_fault(mem, buf_, pc, avail);
  begin_ = pc;
  end_ = pc + got;
  stops_ = got < kBytes;
}

// The pointer a `jmp [abs]`/`call [abs]` goes through (a PLT stub's `jmp [rip+GOT]`,
// -fno-plt's `call [rip+GOT]`), when it is in guest memory the guest cannot write: a GOT made
// read-only after relocation (RELRO with BIND_NOW). The branch then goes where the pointer
// points for as long as the page is as it is now. The block lists the pointer's 8 bytes among
// the guest code it was translated from (`slot`), so what could change them is what drops
// code: an mprotect, munmap, mmap or mremap over them invalidates the block (in every thread),
// a write through a MAP_SHARED alias faults as one to code does (SharedCode::protect), and a
// checked block compares them at entry. Not a pointer that is not canonical (the branch's #GP
// stays the indirect form's).
bool constant_pointer(const GuestMemory& mem, const BlockLimits& limits, const Insn& in, uint64_t& slot,
                      uint64_t& target) {
  if (!limits.follow_calls || limits.system_mode || !mem.space) return false;
  if (in.mnemonic != ZYDIS_MNEMONIC_JMP && in.mnemonic != ZYDIS_MNEMONIC_CALL) return false;
  const Operand& o = in.op[0];
  if (in.nops < 1 || o.kind != OpKind::Mem || o.size != 8 || o.base != kNoReg || o.index != kNoReg ||
      o.seg == SEG_FS || o.seg == SEG_GS || in.addrsize != 8)
    return false;
  slot = uint64_t(o.disp);
  if ((slot & 7) != 0 || !mem.contains(slot, 8)) return false;  // (one page)
  const int prot = mem.space->prot_at(slot);
  if (prot < 0 || !(prot & PROT_READ) || (prot & PROT_WRITE)) return false;
  return guarded_copy(mem, &target, slot, 8, false) && target < (uint64_t(1) << 47);
}

// Decodes a block's instructions, taking each from the interpreter tier's decode cache when
// it holds it (decoded from the same bytes): first where the previous one's successor sits in
// the cache's pool, then through its index. Half of python3 -c pass's translated instructions
// were decoded by Zydis again with the index alone: its 16,384 direct-mapped slots had lost
// them to conflicts while the pool still held them. The others come from the translator's
// own decodes (TranslationDecodes: the same pc and bytes decoded before, by a look-ahead or
// another translation, or a shape decoded before), Zydis last.

class BlockDecoder {
 public:
  explicit BlockDecoder(const BlockLimits& limits) : limits_(limits) {}
  // The code bytes at `pc` (CodeWindow::at).
  size_t fetch(const GuestMemory& mem, uint64_t pc, const uint8_t*& bytes) { return window_.at(mem, pc, bytes); }
  bool decode(const uint8_t* bytes, size_t got, uint64_t pc, Insn& in) {
    if (got == 0) return false;
    if (limits_.decoded) {
      const Insn* cached = last_ ? limits_.decoded->cached_decode_after(last_, pc, bytes, got)
                                 : limits_.decoded->cached_decode(pc, bytes, got);
      last_ = cached;
      if (cached) {
        in = *cached;
        return true;
      }
    }
    return TranslationDecodes::of_thread().decode(bytes, got, pc, in);
  }
  // Whether the instruction decoded last came from the interpreter tier's decode cache.
  bool hit() const { return last_ != nullptr; }
  // Whether the interpreter tier's decode cache holds the instruction at `pc`: the tier ran it.
  bool ran(const GuestMemory& mem, uint64_t pc);

 private:
  const BlockLimits& limits_;
  const Insn* last_ = nullptr;  // the cache's entry of the instruction decoded last, if any
  CodeWindow window_;
};

bool BlockDecoder::ran(const GuestMemory& mem, uint64_t pc) {
  if (!limits_.decoded) return true;
  const uint8_t* bytes;
  const size_t got = fetch(mem, pc, bytes);
  if (got == 0) return false;
  const Insn* cached = last_ ? limits_.decoded->cached_decode_after(last_, pc, bytes, got)
                             : limits_.decoded->cached_decode(pc, bytes, got);
  return cached != nullptr;
}

constexpr uint32_t kMaxTailInsns = 24;

bool on_page(uint64_t pc, uint64_t page_of) { return (pc >> 12) == (page_of >> 12); }

FrontendFn frontend_for(const Insn& in, const BlockLimits& limits) {
  FrontendFn fn = is_locked_rmw(in) ? translate_locked : frontend_table()[in.mnemonic];
  return avx_translatable(in, limits) ? fn : nullptr;
}

// The straight-line path of a tail candidate, decoded: try_tail's first look, without IR.
// Most side exits lead elsewhere (python3 -c pass: 9,800 candidates, 200 tails), and
// translating each path to find that out was 3-4% of the run; this rejects the paths that
// certainly fail try_tail (a fallback, an exit that cannot lead back to the start, too long,
// off the page) and keeps the instructions for it to translate.
struct TailPath {
  std::array<Insn, kMaxTailInsns> insns;
  uint32_t count = 0;
};

bool may_lead_back(const GuestMemory& mem, uint64_t target, uint64_t start, const BlockLimits& limits,
                   uint32_t side_exits, TailPath& path) {
  BlockDecoder decoder(limits);
  uint64_t pc = target;
  for (uint32_t n = 0; n < kMaxTailInsns; ++n) {
    if (limits.breaks_at(pc)) return false;
    if (pc == start) return true;
    const uint8_t* bytes;
    size_t got = decoder.fetch(mem, pc, bytes);
    Insn& in = path.insns[path.count];
    if (!decoder.decode(bytes, got, pc, in) || !on_page(pc + in.len - 1, start)) return false;
    ++path.count;
    if (!frontend_for(in, limits)) return false;  // an interpreter fallback
    const uint64_t next = pc + in.len;
    const uint16_t m = in.mnemonic;
    const bool direct = in.nops > 0 && in.op[0].kind == OpKind::Imm;
    if (m == ZYDIS_MNEMONIC_JMP) return direct && uint64_t(in.op[0].disp) == start;
    if (m == ZYDIS_MNEMONIC_CALL) return direct && uint64_t(in.op[0].disp) == start;
    if (m == ZYDIS_MNEMONIC_RET || m == ZYDIS_MNEMONIC_SYSCALL) return false;
    const bool branch = m == ZYDIS_MNEMONIC_JRCXZ || m == ZYDIS_MNEMONIC_JECXZ || m == ZYDIS_MNEMONIC_LOOP ||
                        std::find(kJccMnemonics.begin(), kJccMnemonics.end(), ZydisMnemonic(m)) != kJccMnemonics.end();
    if (branch) {
      if ((direct && uint64_t(in.op[0].disp) == start) || next == start) return true;
      if (side_exits++ >= limits.max_side_exits) return false;
    }
    pc = next;
  }
  return false;
}

// Tries to make the path of the side exit `entry` (to `target`) the block's tail: it must
// reach the block's start within kMaxTailInsns straight-line instructions on the block's
// page, through translated instructions only (no interpreter fallback), leaving only by side
// exits of its own. Leaves the block as it was if not.
bool try_tail(const GuestMemory& mem, uint32_t entry, uint64_t target, const BlockLimits& limits,
              uint32_t& side_exits, ir::Block& block, std::vector<FallbackSite>& fallbacks) {
  const uint64_t start = block.guest_pc;
  if (target == start || !on_page(target, start)) return false;
  TailPath path;
  if (!may_lead_back(mem, target, start, limits, side_exits, path)) return false;
  BlockDecoder decoder(limits);
  const size_t saved_insts = block.insts.size(), saved_fallbacks = fallbacks.size();
  const ir::Terminal saved_term = block.term;
  const uint32_t saved_exits = side_exits;
  ir::Builder ir(block, /*cache_guest_state=*/true);
  ir.set_guest_pc(target);
  const uint32_t marker = ir.emit(Opcode::TailStart, {}).id;
  uint32_t insns = uint32_t(block.insts[entry].args[2].v);
  uint64_t pc = target, end = target;
  bool ok = false;
  block.term = {};
  for (uint32_t n = 0; n < kMaxTailInsns; ++n) {
    if (limits.breaks_at(pc)) break;  // (no tail runs over a breakpoint)
    if (pc == start) {  // fell through into the start
      ir.set_guest_pc(pc);
      ir.jump(start);
      ok = true;
      break;
    }
    Insn in;
    if (n < path.count) {
      in = path.insns[n];  // (decoded by may_lead_back, on the page)
    } else {
      const uint8_t* bytes;
      size_t got = decoder.fetch(mem, pc, bytes);
      if (!decoder.decode(bytes, got, pc, in) || !on_page(pc + in.len - 1, start)) break;
    }
    FrontendFn fn = frontend_for(in, limits);
    const size_t before = block.insts.size();
    Translator t(ir, in, pc, fallbacks);
    if (!fn || !fn(t, in)) break;
    bool helper = false;
    for (size_t k = before; k < block.insts.size(); ++k)
      helper |= block.insts[k].op == Opcode::Interpret || block.insts[k].op == Opcode::RepString;
    if (helper) break;
    ++insns;
    pc += in.len;
    end = std::max(end, pc);
    if (!t.ends_block) continue;
    const ir::Terminal term = block.term;
    if (term.leads_to(start)) {
      ok = true;
      break;
    }
    if (term.kind != ir::Terminal::Kind::Branch || term.fallthrough != pc || side_exits >= limits.max_side_exits)
      break;
    ++side_exits;
    t.ir.emit(Opcode::ExitIf, {Arg::val(term.cond), Arg::imm(term.target), Arg::imm(insns)});
    block.term = {};
  }
  if (!ok) {
    block.insts.resize(saved_insts);
    fallbacks.resize(saved_fallbacks);
    block.term = saved_term;
    side_exits = saved_exits;
    return false;
  }
  block.tail.start = marker;
  block.tail.entry = entry;
  block.tail.guest_insns = insns;
  block.tail.guest_pc = target;
  block.tail.guest_end = end;
  block.code.push_back({target, end});
  block.tail.term = block.term;
  block.term = saved_term;
  return true;
}

// Whether the IR of one guest instruction (block.insts from `from` on) may write guest
// memory: a store, an atomic, an SSE/AVX op with a memory operand, or the interpreter.
bool may_store(const ir::Block& block, size_t from) {
  for (size_t k = from; k < block.insts.size(); ++k)
    switch (block.insts[k].op) {
      case Opcode::Store8: case Opcode::Store16: case Opcode::Store32: case Opcode::Store64:
      case Opcode::Store128: case Opcode::AtomicXadd: case Opcode::AtomicXchg:
      case Opcode::AtomicCmpXchg: case Opcode::SseStore: case Opcode::VexRM:
      case Opcode::Interpret: case Opcode::RepString:
        return true;
      default: break;
    }
  return false;
}

// Whether the block starting at `start` should end before `pc` and chain to the block
// already translated there (BlockLimits::translated): translating that code again made a
// quarter of cc1's translated instructions copies. Not when that block has an exit back to
// `start`: the two are a loop (a rotated loop's condition, an if/else's merge), which stays
// one block looping in place.
bool ends_at_translated(const BlockLimits& limits, uint64_t pc, uint64_t start) {
  // (a breakpoint's pc goes through the dispatcher, which checks it: exit_to, not a jump)
  if (!limits.translated || pc == start || limits.breaks_at(pc)) return false;
  const TranslatedBlock* b = limits.translated->lookup(pc);
  if (!b) return false;
  for (size_t i = 0; i < b->exit_count(); ++i)
    if (b->exit_at(i)->target_pc == start) return false;
  return true;
}

// Whether the instruction before `start` is a call that ends there (2 to 7 bytes: `call reg`,
// `call [reg+disp]`, `call rel32`, `call [rip+disp]`, `call [table+reg*8]`): a block starting
// there is most likely the code that call returns to. A guess (the bytes before may be the
// tail of another instruction); only which blocks follow a back edge depends on it.
bool after_call(const GuestMemory& mem, uint64_t start) {
  constexpr unsigned kBefore = 7;
  if ((start & 4095) < kBefore) return false;  // (the page before: a block there is rare)
  CodeWindow window;  // (its own: the block decoder's window stays where the block is)
  const uint8_t* bytes;
  if (window.at(mem, start - kBefore, bytes) < kBefore) return false;
  for (unsigned len = 2; len <= kBefore; ++len) {
    // Only bytes whose opcode (after prefixes) is a call's can decode as one: E8 (rel32), FF
    // (/2 and /3 by ModRM) or 9A (far, invalid here). The others were six Zydis calls a back
    // edge, most of follows_back_edge's time.
    const uint8_t* at = bytes + kBefore - len;
    unsigned i = 0;
    while (i < len && (shape_detail::is_legacy_prefix(at[i]) || (at[i] & 0xF0) == 0x40)) ++i;
    if (i == len || (at[i] != 0xE8 && at[i] != 0xFF && at[i] != 0x9A)) continue;
    Insn in;
    if (long_mode_decoder().decode(at, len, start - len, in) && in.len == len &&
        in.mnemonic == ZYDIS_MNEMONIC_CALL)
      return true;
  }
  return false;
}

// Whether a conditional branch back to earlier code (a loop's back edge) is followed: the
// block goes on at its target and the fall-through (the loop's exit) becomes the side exit.
// For a block that starts inside a loop, not at its head (the code a call in the loop body
// returns to), the back edge and the head up to the call were two blocks a trip: the values
// the loop carries went through CpuState between them (codegen's sum, cpp_virtual's index).
// Not a branch to the block's own start (the block loops in place), nor one on another page.
bool follows_back_edge(const GuestMemory& mem, const BlockLimits& limits, const ir::Block& block,
                       const ir::Terminal& term, uint64_t pc, uint64_t path_page, uint32_t n, uint32_t side_exits,
                       bool interpret_all, int8_t& starts_after_call) {
  if (term.kind != ir::Terminal::Kind::Branch || !term.cond.valid() || term.fallthrough != pc) return false;
  if (!limits.superblocks || limits.system_mode || limits.end_after_store || interpret_all) return false;
  if (term.target >= pc || term.target == block.guest_pc || (term.target >> 12) != path_page) return false;
  if (limits.breaks_at(term.target) || n + 1 >= limits.max_insns || side_exits >= limits.max_side_exits) return false;
  if (block.insts[term.cond.id].op != Opcode::TestCond) return false;
  if (starts_after_call < 0) starts_after_call = after_call(mem, block.guest_pc);  // (once a translation)
  return starts_after_call;
}

// The negation of a TestCond (x86 condition codes pair up as cc and cc ^ 1).
ir::Value negated_condition(ir::Builder& ir, ir::Value cond) {
  const ir::Inst c = ir.block().insts[cond.id];
  return ir.emit(Opcode::TestCond, {c.args[0], Arg::imm(c.args[1].v ^ 1)});
}

// Whether translation follows a direct `call` to `target` into the callee, in the same block
// (user mode, superblocks, not a checked block). The callee must be on the block's first page
// or on a page that holds translated code already: such a page is write-protected (or
// checked, and then the engine translates the block again ending after stores), so a write
// to it by another thread while this block is translated faults and drops the translation,
// as one to the first page does. And not a call to the block's own start (a loop).
bool follows_call(const BlockLimits& limits, uint64_t target, uint64_t start) {
  if (!limits.follow_calls || !limits.superblocks || limits.system_mode || limits.end_after_store) return false;
  if (limits.breaks_at(target) || target >= (uint64_t(1) << 47)) return false;
  if ((target >> 12) == (start >> 12)) return true;
  return limits.translated && limits.translated->pages().count(target >> 12) > 0;
}

// Whether translation, going on at a followed call's `target`, reaches a plain `ret` (which
// it matches with the call's continuation) before the block ends: within `budget`
// instructions, through direct jmps on the page, jmps through constant pointers
// (constant_pointer) to pages follows_call accepts, and conditional branches whose
// fall-through translate_block makes a side exit (the same conditions, on `side_exits` so
// far), with no nested call, indirect branch or interpreter fallback. The decodes come from
// the interpreter tier's cache, as translation's then do.
bool reaches_return(const GuestMemory& mem, uint64_t target, const BlockLimits& limits, uint64_t start,
                    bool tier_ran, uint32_t side_exits, uint32_t budget) {
  BlockDecoder decoder(limits);
  uint64_t pc = target, page = target >> 12;
  for (uint32_t n = 0; n < budget; ++n) {
    if (limits.breaks_at(pc) || pc == start) return false;
    const uint8_t* bytes;
    const size_t got = decoder.fetch(mem, pc, bytes);
    Insn in;
    if (!decoder.decode(bytes, got, pc, in) || ((pc + in.len - 1) >> 12) != page) return false;
    if (!frontend_for(in, limits)) return false;  // an interpreter fallback
    const uint64_t next = pc + in.len;
    const uint16_t m = in.mnemonic;
    const bool direct = in.nops > 0 && in.op[0].kind == OpKind::Imm;
    if (m == ZYDIS_MNEMONIC_RET) return is_plain_near_ret(in);
    if (m == ZYDIS_MNEMONIC_CALL || m == ZYDIS_MNEMONIC_SYSCALL) return false;
    if (m == ZYDIS_MNEMONIC_JMP) {
      uint64_t slot = 0, to = 0;
      if (direct && (uint64_t(in.op[0].disp) >> 12) == page) {
        pc = uint64_t(in.op[0].disp);
      } else if (constant_pointer(mem, limits, in, slot, to) && follows_call(limits, to, start)) {
        pc = to;
        page = to >> 12;
      } else {
        return false;
      }
      continue;
    }
    const bool branch = m == ZYDIS_MNEMONIC_JRCXZ || m == ZYDIS_MNEMONIC_JECXZ || m == ZYDIS_MNEMONIC_LOOP ||
                        std::find(kJccMnemonics.begin(), kJccMnemonics.end(), ZydisMnemonic(m)) != kJccMnemonics.end();
    if (branch) {  // (translate_block's side-exit conditions)
      if (side_exits++ >= limits.max_side_exits || (next >> 12) != page || (tier_ran && !decoder.ran(mem, next)) ||
          ends_at_translated(limits, next, start) || (direct && uint64_t(in.op[0].disp) == start))
        return false;
    }
    pc = next;
  }
  return false;
}

}  // namespace

// System mode: SYSCALL is the guest kernel's (the system interpreter's); rep movs/stos are
// RepString ops whose helper is the system engine's (jit/system/system_helpers.cpp: through the
// softmmu, a page at a time); the other rep string instructions run in the interpreter.
bool system_translatable(const Insn& in) {
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_SYSCALL: return false;
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD: case ZYDIS_MNEMONIC_LODSQ:
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD: case ZYDIS_MNEMONIC_CMPSQ:
    case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD: case ZYDIS_MNEMONIC_SCASQ:
      return !(in.prefixes & (pfx::REP | pfx::REPNE));
    default: return true;
  }
}

bool translate_block(const GuestMemory& mem, uint64_t pc, const BlockLimits& limits,
                     ir::Block& block, std::vector<FallbackSite>& fallbacks, bool interpret_all) {
  const FrontendTable& table = frontend_table();
  BlockDecoder decoder(limits);
  block.guest_pc = pc;
  block.code = {{pc, pc}};
  block.insts.reserve(limits.max_insns * 8);  // (about 8 IR instructions per guest one)
  ir::Builder ir(block, /*cache_guest_state=*/true);
  uint32_t side_exits = 0;
  // Whether the interpreter tier ran the block's start (not with --translate-after 0, nor
  // after its decode cache let it go): only then does its cache tell code that never ran.
  bool tier_ran = false;
  std::vector<std::pair<uint32_t, uint64_t>> exits;  // (ExitIf, target): tail candidates
  auto translated = [&](uint64_t at) {
    return std::any_of(block.code.begin(), block.code.end(), [&](const ir::CodeRange& r) { return at >= r.begin && at < r.end; });
  };
  bool followed = false;
  // The page the path is on: the first instruction's, then that of a callee it followed
  // (or of the code a followed callee returned to). Straight-line code and side exits stay
  // on it, as they stay on the first page of a block that follows no call.
  uint64_t path_page = pc >> 12;
  // The continuations of the calls followed whose `ret` the path has not reached, innermost
  // last (translate_known_return).
  std::array<uint64_t, kMaxFollowedCalls> returns;
  uint32_t open_calls = 0, calls_followed = 0;
  std::vector<ir::CodeRange> pointers;  // the constant pointers of branches (constant_pointer)
  int8_t starts_after_call = -1;  // after_call(block.guest_pc), once asked (-1: not yet)
  for (uint32_t n = 0;; ++n) {
    if (n > 0 && !followed && n < limits.max_insns && ends_at_translated(limits, pc, block.guest_pc)) {
      ir.set_guest_pc(pc);
      ir.jump(pc);  // (chainable)
      break;
    }
    const uint8_t* bytes;
    size_t got = decoder.fetch(mem, pc, bytes);
    Insn in;
    bool ok = decoder.decode(bytes, got, pc, in);
    if (n == 0) tier_ran = decoder.hit();
    // A block never runs into a page that is not there, nor past its size limit; an
    // undecodable first instruction is left to the interpreter, which raises the fault.
    if (!ok || n == limits.max_insns || (n > 0 && limits.breaks_at(pc))) {
      if (n == 0) return false;
      ir.set_guest_pc(pc);
      // At the size limit the next block follows directly (chainable); an instruction that
      // cannot be fetched or decoded goes through the dispatcher, whose interpreter raises
      // its fault.
      if (ok && !limits.breaks_at(pc)) ir.jump(pc);
      else ir.exit_to(pc);  // (a breakpoint: through the dispatcher, which checks it)
      break;
    }
    const size_t insts_before = block.insts.size();
    Translator t(ir, in, pc, fallbacks);
    t.insns_before = block.guest_insns;
    if (limits.entry && limits.follow_calls && !limits.system_mode && mem.space) {
      t.guess_mem = &mem;
      t.guess_entry = limits.entry;
      t.guess_sites = limits.guess_sites;
    }
    if (limits.jump_tables && !limits.system_mode && !limits.end_after_store && mem.space) t.table_mem = &mem;
    // A locked read-modify-write must be atomic with respect to other guest threads: host
    // atomics (locked.cpp), or the interpreter's locked path (interp/locked.cpp).
    FrontendFn fn = interpret_all ? nullptr : is_locked_rmw(in) ? translate_locked : table[in.mnemonic];
    if (limits.system_mode && !system_translatable(in)) fn = nullptr;
    if (!avx_translatable(in, limits)) fn = nullptr;
    if (limits.system && !interpret_all) {  // (privileged instructions: frontend/system.cpp)
      t.sys = limits.system;
      if (FrontendFn s = system_frontend(in)) fn = s;
    }
    uint64_t slot = 0, pointee = 0;
    bool through_pointer = false;
    Insn direct;  // a branch through a constant pointer, as its direct form (same length)
    if (fn && open_calls > 0 && is_plain_near_ret(in)) {
      translate_known_return(t, in, returns[--open_calls], block.guest_insns);
    } else if (fn && constant_pointer(mem, limits, in, slot, pointee)) {
      direct = in;
      direct.op[0].kind = OpKind::Imm;
      direct.op[0].disp = int64_t(pointee);
      fn(t, direct);  // (a direct jmp or call: always translated)
      pointers.push_back({slot, slot + 8});
      through_pointer = in.mnemonic == ZYDIS_MNEMONIC_JMP;
    } else if (!fn || !fn(t, in)) {
      t.ir.emit(ir::Opcode::Interpret, {Arg::imm(t.add_fallback())});
      if (changes_control_flow(in.mnemonic)) {
        t.ir.block().term = {ir::Terminal::Kind::Return, 0, 0, {}, {}};
        t.ends_block = true;
      }
    }
    ++block.guest_insns;
    pc += in.len;
    block.code.back().end = pc;
    if (limits.end_after_store && !t.ends_block && may_store(block, insts_before)) {
      ir.set_guest_pc(pc);
      ir.jump(pc);  // (chainable: the next block checks its bytes at entry)
      break;
    }
    // A conditional branch whose fall-through stays on the page becomes a side exit and the
    // block goes on (a superblock): the path through it keeps its registers and flags in host
    // registers. Not a branch back to the block's start: that one stays the terminal, so the
    // block can loop in place. Nor a fall-through the interpreter tier never ran while it ran
    // the block (not in its decode cache): translating code that may never run cost python3 -c pass 10% of its
    // translation time; if it does run, it becomes a block of its own.
    const ir::Terminal term = block.term;
    if (t.ends_block && follows_back_edge(mem, limits, block, term, pc, path_page, n, side_exits, interpret_all,
                                          starts_after_call) &&
        (!tier_ran || decoder.ran(mem, term.target)) && !translated(term.target)) {
      ++side_exits;
      const ir::Value exit_cond = negated_condition(t.ir, term.cond);
      exits.emplace_back(uint32_t(block.insts.size()), pc);  // (the ExitIf's index: a tail candidate)
      t.ir.emit(Opcode::ExitIf, {Arg::val(exit_cond), Arg::imm(pc), Arg::imm(block.guest_insns)});
      block.term = {};
      followed = true;
      pc = term.target;
      block.code.push_back({pc, pc});
      continue;
    }
    if (t.ends_block && term.kind == ir::Terminal::Kind::Branch && term.fallthrough == pc &&
        term.target != block.guest_pc && (pc >> 12) == path_page &&
        n + 1 < limits.max_insns && !interpret_all && limits.superblocks &&
        side_exits < limits.max_side_exits && (!tier_ran || decoder.ran(mem, pc)) &&
        !ends_at_translated(limits, pc, block.guest_pc)) {  // (else both ways chain: a Branch)
      ++side_exits;
      exits.emplace_back(uint32_t(block.insts.size()), term.target);
      t.ir.emit(Opcode::ExitIf, {Arg::val(term.cond), Arg::imm(term.target), Arg::imm(block.guest_insns)});
      block.term = {};
      continue;
    }
    // A jmp to elsewhere on the page is followed: the block goes on at its target (code
    // not yet in the block; a jmp to the start stays the terminal, a loop).
    if (t.ends_block && in.mnemonic == ZYDIS_MNEMONIC_JMP && term.kind == ir::Terminal::Kind::Jump &&
        term.target != block.guest_pc && (term.target >> 12) == path_page &&
        !translated(term.target) && n + 1 < limits.max_insns && !interpret_all && limits.superblocks) {
      followed = true;
      block.term = {};
      pc = term.target;
      block.code.push_back({pc, pc});
      continue;
    }
    // A direct call is followed into its callee, and the callee's `ret` back to the call's
    // continuation (translate_known_return): a call and its return were each a block
    // boundary (the dirty registers and flags stored, the next block's loads) and the return
    // a jump-cache probe and an indirect jmp.
    if (t.ends_block && term.kind == ir::Terminal::Kind::Jump && !interpret_all &&
        n + 1 < limits.max_insns && term.target != block.guest_pc && !translated(term.target)) {
      // Only a callee whose path comes back (reaches_return) is followed: one that does not
      // saves a chained jump, and translating its code into every caller cost python3 a
      // quarter more translated instructions. A jmp through a constant pointer (a PLT stub)
      // inside a followed call is followed as a call is; outside one it stays a chained Jump.
      const bool is_call = in.mnemonic == ZYDIS_MNEMONIC_CALL;
      const bool call = (is_call || (through_pointer && open_calls > 0)) && open_calls < kMaxFollowedCalls &&
                        calls_followed < kMaxFollowedCalls && follows_call(limits, term.target, block.guest_pc) &&
                        reaches_return(mem, term.target, limits, block.guest_pc, tier_ran, side_exits,
                                       limits.max_insns - n - 1);
      const bool ret = in.mnemonic == ZYDIS_MNEMONIC_RET;  // (only a known return sets a Jump)
      if (call || ret) {
        if (call) {
          if (!through_pointer) returns[open_calls++] = pc;
          ++calls_followed;
        }
        followed = true;
        block.term = {};
        pc = term.target;
        path_page = pc >> 12;
        block.code.push_back({pc, pc});
        continue;
      }
    }
    if (t.ends_block) break;
    // Stay within the page of the first instruction (plus the tail of the last instruction),
    // so that invalidating a page finds every block that reads it.
    if ((pc >> 12) != path_page) {
      ir.set_guest_pc(pc);
      ir.jump(pc);  // (chainable: the next block starts on the next page)
      break;
    }
  }
  // (before the tail's range, which comes last)
  block.code.insert(block.code.end(), pointers.begin(), pointers.end());
  if (const ir::JumpTable& j = block.jump_table; j.present())  // (jump_table.h: data the block depends on)
    block.code.push_back({j.at, j.at + j.entry_size * j.targets.size()});
  // The first side exit whose path leads back to the start becomes the block's tail.
  if (limits.end_after_store) return true;
  for (auto [entry, target] : exits)
    if (try_tail(mem, entry, target, limits, side_exits, block, fallbacks)) break;
  return true;
}

}  // namespace vireo::jit
