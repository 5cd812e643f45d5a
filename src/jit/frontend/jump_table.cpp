// A `jmp` through a read-only jump table as a multi-way chainable exit (jump_table.h).
//
// Bytecode interpreters dispatch through a table: python's `movzx eax, sil; mov rax,
// [rax*8 + table]; jmp rax` (opcode targets in .rodata), lua's `and eax, 0x7f; mov rax,
// [r14 + rax*8]; jmp rax` (the table's address held in a register for the whole loop),
// sqlite's and a C switch's `movsxd rax, [rcx + rdx*4]; add rax, rcx; jmp rax` after
// `cmp rdx, N; ja default`. As an ordinary indirect jmp each dispatch hashes the loaded
// target and probes the jump cache (20-26% of those workloads' host instructions). When the
// table is memory the guest cannot write, its entries are known at translation time: the
// block ends in `jmp [exits + index*8]` through a table of its own, one chainable exit per
// entry (backend/x64/block_exits.cpp). The table's bytes are listed among the block's code
// ranges, as a GOT slot read at translation time is (translator.cpp, constant_pointer): an
// mprotect, munmap, mmap or mremap over them drops the block.
#include "jit/frontend/jump_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "cpu/cpu_state.h"
#include "jit/passes/passes.h"
#include "mem/address_space.h"
#include "mem/host_fault.h"

namespace vireo::jit {

using ir::Arg;
using ir::Opcode;

namespace {

// At most this many entries (an index bounded by a byte: 256), each a chainable exit.
constexpr uint64_t kMaxEntries = 256;
constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

class TableWalk {
 public:
  TableWalk(const ir::Block& b, const CpuState* entry) : b_(b), entry_(entry) {}

  // The value of `id` when it is made of constants and registers' entry values (each such
  // register is noted: the block compares it before it trusts the table).
  bool constant(uint32_t id, uint64_t& out, int depth = 0) {
    if (depth > 8 || id >= b_.insts.size()) return false;
    const ir::Inst& in = b_.insts[id];
    uint64_t a = 0, c = 0;
    switch (in.op) {
      case Opcode::Const: out = in.args[0].v; return true;
      case Opcode::GetGpr: {
        if (!entry_ || !entry_gpr(id, unsigned(in.args[0].v))) return false;
        out = entry_->gpr[in.args[0].v & 15];
        if (std::find(guarded.begin(), guarded.end(), id) == guarded.end()) guarded.push_back(id);
        return true;
      }
      case Opcode::Add:
        if (!arg(in.args[0], a, depth) || !arg(in.args[1], c, depth)) return false;
        out = a + c;
        return true;
      default: return false;
    }
  }

  // `addr` = table + index << shift: the table's address and the index's value.
  bool split(uint32_t addr, unsigned shift, uint64_t& table, uint32_t& index) {
    const ir::Inst& in = b_.insts[addr];
    if (in.op != Opcode::Add || in.args[0].is_imm || in.args[1].is_imm) return false;
    for (int k = 0; k < 2; ++k) {
      const ir::Inst& s = b_.insts[in.args[k].v];
      uint64_t count = 0;
      if (s.op == Opcode::Shl && !s.args[0].is_imm && arg(s.args[1], count, 0) && count == shift &&
          constant(uint32_t(in.args[1 - k].v), table)) {
        index = uint32_t(s.args[0].v);
        return true;
      }
    }
    return false;
  }

  // The largest value `index` can have on the path to the terminal: what its IR guarantees
  // (a zero-extended byte, a mask), or a side exit before it taken when it is above a
  // constant (`cmp rdx, 9; ja default`, the switch's range check).
  uint64_t bound(uint32_t index) {
    uint64_t best = passes::upper_bound(b_, index);
    for (const ir::Inst& x : b_.insts) {
      if (x.op != Opcode::ExitIf || x.dead || x.args[0].is_imm) continue;
      const ir::Inst& c = b_.insts[x.args[0].v];
      if (c.op != Opcode::TestCond || c.args[0].is_imm) continue;
      const ir::Inst& f = b_.insts[c.args[0].v];
      uint64_t n = 0;
      if (f.op != Opcode::FlagsSub || f.args[0].is_imm || !arg(f.args[1], n, 0) || !same(uint32_t(f.args[0].v), index))
        continue;
      const uint64_t size = f.args[2].v;
      // (a narrower compare sees the whole value only if the value fits it)
      if (size < 8 && passes::upper_bound(b_, uint32_t(f.args[0].v)) >> (8 * size)) continue;
      const uint64_t cc = c.args[1].v;
      if (cc == 7) best = std::min(best, n);                 // ja: leaves when above n
      else if (cc == 3 && n > 0) best = std::min(best, n - 1);  // jae: leaves at n or above
    }
    return best;
  }

  std::vector<uint32_t> guarded;  // GetGpr values whose entry value the table's address took

 private:
  bool arg(const Arg& a, uint64_t& v, int depth) {
    if (a.is_imm) {
      v = a.v;
      return true;
    }
    return constant(uint32_t(a.v), v, depth + 1);
  }

  // The same value, or the zero-extension of the same register read twice (`cmp edx, 9`,
  // then `mov eax, edx`).
  bool same(uint32_t a, uint32_t b) {
    if (a == b) return true;
    const ir::Inst& x = b_.insts[a];
    const ir::Inst& y = b_.insts[b];
    return x.op == Opcode::ZeroExt32 && y.op == Opcode::ZeroExt32 && !x.args[0].is_imm && !y.args[0].is_imm &&
           x.args[0].v == y.args[0].v;
  }

  // A GetGpr reads the block's entry value unless the block wrote the register before it
  // or ran something that reads and writes CpuState (as call_guess.cpp's).
  bool entry_gpr(uint32_t id, unsigned reg) {
    if (reg >= 16) return false;
    for (uint32_t i = 0; i < id; ++i) {
      const ir::Inst& in = b_.insts[i];
      if ((in.op == Opcode::SetGpr && in.args[0].v == reg) || in.op == Opcode::Interpret || in.op == Opcode::Div ||
          in.op == Opcode::RepString)
        return false;
    }
    return true;
  }

  const ir::Block& b_;
  const CpuState* entry_;
};

// Whether [at, at + len) lies in guest memory readable and not writable, page by page.
bool read_only(const GuestMemory& mem, uint64_t at, uint64_t len) {
  if (!mem.space || len == 0 || !mem.contains(at, len)) return false;
  for (uint64_t page = at & ~uint64_t(4095); page < at + len; page += 4096) {
    const int prot = mem.space->prot_at(std::max(page, at));
    if (prot < 0 || !(prot & PROT_READ) || (prot & PROT_WRITE)) return false;
  }
  return true;
}

}  // namespace

Value translate_jump_table(Translator& t, Value target) {
  if (!t.table_mem || !target.valid() || t.insns_before < 0) return {};
  ir::Block& b = t.ir.block();
  if (b.jump_table.present()) return {};
  const ir::Inst& def = b.insts[target.id];
  TableWalk walk(b, t.guess_entry);
  uint64_t table = 0;
  uint32_t index = 0, size = 0;
  if (def.op == Opcode::Load64 && !def.args[0].is_imm) {  // jmp [table + i*8], mov rax, [..]; jmp rax
    if (!walk.split(uint32_t(def.args[0].v), 3, table, index)) return {};
    size = 8;
  } else if (def.op == Opcode::Add && !def.args[0].is_imm && !def.args[1].is_imm) {
    // movsxd rax, [table + i*4]; add rax, table; jmp rax
    for (int k = 0; k < 2 && !size; ++k) {
      const ir::Inst& s = b.insts[def.args[k].v];
      if (s.op != Opcode::SignExt32 || s.args[0].is_imm) continue;
      const ir::Inst& l = b.insts[s.args[0].v];
      uint64_t base = 0;
      if (l.op != Opcode::Load32 || l.args[0].is_imm || !walk.split(uint32_t(l.args[0].v), 2, table, index) ||
          !walk.constant(uint32_t(def.args[1 - k].v), base) || base != table)
        continue;
      size = 4;
    }
    if (!size) return {};
  } else {
    return {};
  }
  const uint64_t last = walk.bound(index);
  if (last >= kMaxEntries) return {};
  // A register the table's address came from is compared with its value now; a side exit to
  // the `jmp` itself (before it has done anything) runs it as an ordinary indirect jump. Not
  // in a block that starts at the jmp: that exit would lead back to the block.
  if (!walk.guarded.empty() && t.insns_before == 0) return {};
  const uint64_t n = last + 1;
  if (!read_only(*t.table_mem, table, n * size)) return {};
  std::vector<uint8_t> bytes(n * size);
  if (!guarded_copy(*t.table_mem, bytes.data(), table, bytes.size(), false)) return {};
  for (uint32_t reg : walk.guarded) {
    const uint64_t now = t.guess_entry->gpr[b.insts[reg].args[0].v & 15];
    Value diff = t.ir.emit(Opcode::FlagsSub, {Arg::val(Value{reg}), Arg::val(t.constant(now)), Arg::imm(8)});
    Value ne = t.ir.emit(Opcode::TestCond, {Arg::val(diff), Arg::imm(5)});  // NE
    t.ir.emit(Opcode::ExitIf, {Arg::val(ne), Arg::imm(t.pc), Arg::imm(uint64_t(t.insns_before))});
  }
  ir::JumpTable& j = t.ir.block().jump_table;
  j.at = table;
  j.entry_size = size;
  j.targets.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (size == 8) {
      std::memcpy(&j.targets[i], &bytes[i * 8], 8);
    } else {
      int32_t rel;
      std::memcpy(&rel, &bytes[i * 4], 4);
      j.targets[i] = table + uint64_t(int64_t(rel));
    }
  }
  return Value{index};
}

}  // namespace vireo::jit
