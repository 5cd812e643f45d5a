// Random code: random instruction bytes, natively and on an engine, compared on everything
// Linux shows a program (issue 21, "the tool that finds the next ones").
//
// A case is 1-8 instructions drawn from random bytes (biased toward prefixes, REX and the 0F
// map, so that the common encodings come up), each kept only if it decodes and cannot leave
// user mode: syscall, sysenter and int n are filtered out. So are encodings this CPU runs but
// Vireo's CPUID does not advertise (VEX, EVEX, XOP, 3DNow!, MMX registers): a guest that
// checks CPUID never runs them. The code page is filled with int3 past the instructions, so
// that a branch into it ends the same way on both sides.
//
// Registers start biased toward mapped addresses (the scratch page, the code page): a random
// 64-bit value is non-canonical almost always, and that outcome would hide every other.
// Scratch memory holds pointers into the same pages for the same reason.
//
// Compared: how the case ended (signal), si_code, si_addr, REG_TRAPNO and REG_ERR of a fault,
// rip, the 16 GPRs, all arithmetic flags (undefined ones too: the engines follow this host,
// docs/difftest.md), the XMM registers, MXCSR, the x87 state and the scratch page.
// A mismatch is minimised: the shortest prefix of the case that still differs names the
// first differing instruction, with its disassembly.
#include "random_code.h"

#include <Zydis/Zydis.h>
#include <fmt/format.h>
#include <signal.h>

#include <random>
#include <vector>

#include "compare.h"
#include "cpu/decoder.h"
#include "engine_runner.h"
#include "native_runner.h"

namespace vireo::difftest {

namespace {

constexpr unsigned kMaxRandomInsns = 8;

bool allowed(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* zo) {
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) return false;  // VEX/EVEX/XOP/3DNow!
  switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSENTER: case ZYDIS_MNEMONIC_INT:
      return false;
    // Different by design: time, randomness, the CPU's identity (Vireo's CPUID is its own).
    case ZYDIS_MNEMONIC_RDTSC: case ZYDIS_MNEMONIC_RDTSCP: case ZYDIS_MNEMONIC_RDRAND:
    case ZYDIS_MNEMONIC_RDSEED: case ZYDIS_MNEMONIC_RDPID: case ZYDIS_MNEMONIC_CPUID:
    case ZYDIS_MNEMONIC_RDPMC: case ZYDIS_MNEMONIC_XGETBV:
    // Natively FS is glibc's TLS (and a random GS base would be the child's to keep).
    case ZYDIS_MNEMONIC_RDFSBASE: case ZYDIS_MNEMONIC_RDGSBASE: case ZYDIS_MNEMONIC_WRFSBASE:
    case ZYDIS_MNEMONIC_WRGSBASE:
    // lsl of the CPUNODE selector gives the CPU the thread runs on, natively and under Vireo.
    case ZYDIS_MNEMONIC_LSL:
    // Not implemented in user mode yet (docs/difftest.md, "Random code").
    case ZYDIS_MNEMONIC_LFS: case ZYDIS_MNEMONIC_LGS: case ZYDIS_MNEMONIC_LSS:
    case ZYDIS_MNEMONIC_CLGI: case ZYDIS_MNEMONIC_STGI: case ZYDIS_MNEMONIC_VMRUN:
    case ZYDIS_MNEMONIC_VMLOAD: case ZYDIS_MNEMONIC_VMSAVE: case ZYDIS_MNEMONIC_SKINIT:
    case ZYDIS_MNEMONIC_INVLPGA: case ZYDIS_MNEMONIC_VMMCALL:
    // The XSAVE family: the guest's XCR0 (x87|SSE) is not the host's (which has AVX and
    // more), so the images differ by design (unit.Engines/Xsave compares them at equal XCR0);
    // XSAVES/XRSTORS are the kernel's.
    // Not advertised by Vireo's CPUID (the engines give #UD, as a CPU without them would):
    // AMD's SSE4a, CLZERO, CLWB and CLFLUSHOPT.
    case ZYDIS_MNEMONIC_MOVNTSS: case ZYDIS_MNEMONIC_MOVNTSD: case ZYDIS_MNEMONIC_EXTRQ:
    case ZYDIS_MNEMONIC_INSERTQ: case ZYDIS_MNEMONIC_XSAVE: case ZYDIS_MNEMONIC_XSAVE64:
    case ZYDIS_MNEMONIC_XSAVEC: case ZYDIS_MNEMONIC_XSAVEC64: case ZYDIS_MNEMONIC_XSAVEOPT:
    case ZYDIS_MNEMONIC_XSAVEOPT64: case ZYDIS_MNEMONIC_XSAVES: case ZYDIS_MNEMONIC_XSAVES64:
    case ZYDIS_MNEMONIC_XRSTOR: case ZYDIS_MNEMONIC_XRSTOR64: case ZYDIS_MNEMONIC_XRSTORS:
    case ZYDIS_MNEMONIC_XRSTORS64: case ZYDIS_MNEMONIC_CLWB: case ZYDIS_MNEMONIC_CLFLUSHOPT:
    case ZYDIS_MNEMONIC_CLFLUSH:  // (advertised in system mode only)
    case ZYDIS_MNEMONIC_MONITORX: case ZYDIS_MNEMONIC_MWAITX: case ZYDIS_MNEMONIC_CLZERO:
    // Host-specific: this host is itself a guest, and VMX instructions at CPL 3 reach its
    // hypervisor, which answers with its own fault.
    case ZYDIS_MNEMONIC_VMCALL: case ZYDIS_MNEMONIC_VMFUNC: case ZYDIS_MNEMONIC_VMLAUNCH:
    case ZYDIS_MNEMONIC_VMRESUME: case ZYDIS_MNEMONIC_VMXOFF: case ZYDIS_MNEMONIC_VMXON:
    case ZYDIS_MNEMONIC_VMREAD: case ZYDIS_MNEMONIC_VMWRITE: case ZYDIS_MNEMONIC_VMPTRLD:
    case ZYDIS_MNEMONIC_VMPTRST: case ZYDIS_MNEMONIC_VMCLEAR: case ZYDIS_MNEMONIC_INVEPT:
    case ZYDIS_MNEMONIC_INVVPID:
    // MMX conversions (the MMX family is another developer's, in progress).
    case ZYDIS_MNEMONIC_CVTPI2PS: case ZYDIS_MNEMONIC_CVTPI2PD: case ZYDIS_MNEMONIC_CVTPS2PI:
    case ZYDIS_MNEMONIC_CVTTPS2PI: case ZYDIS_MNEMONIC_CVTPD2PI: case ZYDIS_MNEMONIC_CVTTPD2PI:
      return false;
    // Host-specific: with 66h this AMD CPU runs near ret/jmp/call with a 16-bit IP, where
    // Intel (and Zydis, which Vireo decodes with) ignores the prefix.
    case ZYDIS_MNEMONIC_RET: case ZYDIS_MNEMONIC_JMP: case ZYDIS_MNEMONIC_CALL:
      if (zi.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE) return false;
      break;
    default: break;
  }
  // FS and GS bases differ by design: natively glibc's TLS, in the engine 0. Loading FS or GS
  // (mov, pop) would also take the native side's TLS away (tests/exactness checks those).
  if (zi.attributes & (ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS)) return false;
  if ((zi.mnemonic == ZYDIS_MNEMONIC_MOV || zi.mnemonic == ZYDIS_MNEMONIC_POP) &&
      zo[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
      (zo[0].reg.value == ZYDIS_REGISTER_FS || zo[0].reg.value == ZYDIS_REGISTER_GS))
    return false;
  switch (zi.mnemonic) {
    default: break;
  }
  // Far jmp/call through memory with REX.W: Intel reads an m16:64 pointer, this AMD CPU an
  // m16:32 one (the prefix is ignored), so the selector comes from another offset.
  if ((zi.mnemonic == ZYDIS_MNEMONIC_JMP || zi.mnemonic == ZYDIS_MNEMONIC_CALL) &&
      zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR && zi.raw.rex.W)
    return false;
  // loop/loope/loopne with an F2 or F3 prefix: this AMD CPU takes the prefix's condition
  // (F3: while equal, F2: while not equal) instead of the opcode's; Intel and the SDM ignore
  // the prefix (docs/difftest.md, "Random code": host-specific, not generated).
  if (zi.mnemonic == ZYDIS_MNEMONIC_LOOPE || zi.mnemonic == ZYDIS_MNEMONIC_LOOPNE)
    for (unsigned i = 0; i < zi.raw.prefix_count; ++i)  // (ignored prefixes: raw bytes only)
      if (zi.raw.prefixes[i].value == 0xF2 || zi.raw.prefixes[i].value == 0xF3) return false;
  // A 66h relative branch: this AMD CPU truncates the target to 16 bits where Intel's and
  // the SDM's do not (docs/difftest.md, "Random code": host-specific, not generated).
  if ((zi.attributes & ZYDIS_ATTRIB_IS_RELATIVE) && (zi.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE))
    return false;
  for (unsigned i = 0; i < zi.operand_count; ++i)
    if (zo[i].type == ZYDIS_OPERAND_TYPE_REGISTER && zo[i].reg.value >= ZYDIS_REGISTER_MM0 &&
        zo[i].reg.value <= ZYDIS_REGISTER_MM7)
      return false;  // MMX: not advertised yet
  return true;
}

uint64_t biased_value(std::mt19937_64& rng) {
  uint64_t r = rng();
  switch (rng() % 10) {
    case 0: case 1: case 2: case 3: return kScratchAddr + (r % kScratchSize);
    case 4: return kScratchAddr + (r % kScratchSize & ~uint64_t(7));
    case 5: return kCodeAddr + (r % 64);
    case 6: return r & 0xFF;
    case 7: return uint32_t(r);
    case 8: return uint64_t(-int64_t(r & 3));
    default: return r;
  }
}

Case make_case(uint64_t seed, uint64_t k) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + k * 0xBF58476D1CE4E5B9ull + 1);
  static const Decoder decoder(CpuMode::Long64);
  Case c{};
  std::memset(c.code, 0xCC, kMaxCode);  // int3 past the instructions
  const unsigned want = 1 + unsigned(rng() % kMaxRandomInsns);
  static const uint8_t kLead[] = {0x66, 0xF2, 0xF3, 0x48, 0x49, 0x4C, 0x41, 0xF0, 0x0F, 0x0F, 0x0F};
  uint32_t len = 0;
  c.ninsns = 0;
  for (unsigned tries = 0; c.ninsns < want && tries < 1000; ++tries) {
    uint8_t b[15];
    for (auto& x : b) x = uint8_t(rng());
    unsigned lead = unsigned(rng() % 3);
    for (unsigned i = 0; i < lead; ++i) b[i] = kLead[rng() % sizeof kLead];
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    if (!decoder.decode_full(b, sizeof b, zi, zo) || !allowed(zi, zo)) continue;
    c.insn_off[c.ninsns++] = uint16_t(len);
    std::memcpy(c.code + len, b, zi.length);
    len += zi.length;
  }
  c.insn_off[c.ninsns] = uint16_t(len);
  c.code_len = len;
  for (auto& g : c.in.gpr) g = biased_value(rng);
  c.in.gpr[RSP] = kScratchAddr + 0x800 + (rng() % 0x400 & ~uint64_t(7));
  c.in.rip = kCodeAddr;
  c.in.rflags = (rng() & flag::ARITH) | (rng() % 5 == 0 ? flag::DF : 0) | flag::FIXED1;
  for (auto& x : c.in.xmm)
    for (auto& q : x.u64) q = rng() % 4 ? rng() : biased_value(rng);
  c.in.mxcsr = 0x1F80;
  c.in.fcw = 0x37F;
  c.in.fsw = 0;
  c.in.ftw_valid = 0;
  for (size_t i = 0; i < kScratchSize; i += 8) {
    uint64_t v = rng() % 3 ? biased_value(rng) : rng();
    std::memcpy(c.scratch + i, &v, 8);
  }
  return c;
}

Case prefix_of(const Case& c, unsigned n) {
  Case p = c;
  p.ninsns = n;
  p.code_len = c.insn_off[n];
  std::memset(p.code + p.code_len, 0xCC, kMaxCode - p.code_len);
  return p;
}

bool natively_hung(const CaseResult& r) { return r.end == EndKind::Other && r.detail == SIGVTALRM; }

std::vector<std::string> differences(const Case& c, CaseResult& n, CaseResult& e) {
  normalize(c, n);
  normalize(c, e);
  Masks m;  // everything, undefined flags included
  auto d = compare(c, n, e, m);
  const bool signalled = n.end != EndKind::Completed && n.end != EndKind::Other && n.end == e.end;
  if (signalled) {
    if (n.si_code != e.si_code) d.push_back(fmt::format("si_code  native {:<28} engine {}", n.si_code, e.si_code));
    if (n.fault_addr != e.fault_addr)
      d.push_back(fmt::format("si_addr  native {:<#28x} engine {:#x}", n.fault_addr, e.fault_addr));
    if (n.trapno != e.trapno) d.push_back(fmt::format("trapno   native {:<28} engine {}", n.trapno, e.trapno));
    if (n.err != e.err) d.push_back(fmt::format("err      native {:<#28x} engine {:#x}", n.err, e.err));
  }
  return d;
}

}  // namespace

uint64_t run_random_code(const RandomCodeOptions& o) {
  NativeRunner native;  // first: its fixed mappings must exist before the AddressSpace
  native.set_cpu_limit_ms(20);  // random code may loop
  EngineRunner engine(o.engine);
  {
    auto [addr, len] = engine.window();
    native.unmap_in_child(addr, len);
  }
  engine.set_random_code(true);
  uint64_t mismatches = 0, hung = 0, faulted = 0, reports = 0, ran = 0;
  const uint64_t first = o.only_case >= 0 ? uint64_t(o.only_case) : 0;
  const uint64_t end = o.only_case >= 0 ? first + 1 : o.count;
  std::vector<Case> cases;
  std::vector<CaseResult> nres, eres(1);
  for (uint64_t start = first; start < end; start += NativeRunner::kMaxBatch) {
    const uint64_t n = std::min<uint64_t>(NativeRunner::kMaxBatch, end - start);
    cases.clear();
    for (uint64_t k = start; k < start + n; ++k) cases.push_back(make_case(o.seed, k));
    nres.resize(n);
    native.run(cases.data(), n, nres.data());
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t k = start + i;
      if (natively_hung(nres[i])) {
        ++hung;
        continue;
      }
      ++ran;
      engine.run(cases[i], eres[0]);
      auto d = differences(cases[i], nres[i], eres[0]);
      if (nres[i].end != EndKind::Completed) ++faulted;
      if (o.verbose)
        fmt::print("  case {}: native {} rip={:#x}, engine {} rip={:#x}{}\n", k, end_name(nres[i].end),
                   nres[i].state.rip, end_name(eres[0].end), eres[0].state.rip, d.empty() ? "" : "  MISMATCH");
      if (d.empty()) continue;
      ++mismatches;
      if (reports >= o.max_reports) continue;
      ++reports;
      // Minimise: the shortest prefix that still differs ends at the first differing instruction.
      unsigned at = cases[i].ninsns;
      for (unsigned len = 1; len < cases[i].ninsns; ++len) {
        Case p = prefix_of(cases[i], len);
        CaseResult pn, pe;
        native.run(&p, 1, &pn);
        if (natively_hung(pn)) continue;
        engine.run(p, pe);
        if (!differences(p, pn, pe).empty()) {
          at = len;
          d = differences(p, pn, pe);
          break;
        }
      }
      const Case& c = cases[i];
      const uint32_t off = c.insn_off[at - 1];
      const uint32_t ilen = c.insn_off[at] - off;
      fmt::print("MISMATCH [random code] case {}: instruction {} of {} at +{:#x}: {} ({})\n", k, at, c.ninsns,
                 off, disassemble(c.code + off, ilen, kCodeAddr + off), hex_bytes(c.code + off, ilen));
      Case shown = prefix_of(c, at);
      print_report("random code (shortest differing prefix)", shown, d, false, false,
                   fmt::format("vireo-difftest --engine {} --random-code --seed {} --case {}", o.engine, o.seed, k));
    }
  }
  fmt::print("random code: {} ran natively to the end or a fault ({} faulted), {} hung natively (skipped)\n", ran,
             faulted, hung);
  fmt::print("cases {}, mismatches {}\n", ran, mismatches);
  return mismatches;
}

}  // namespace vireo::difftest
