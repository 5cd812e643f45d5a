// System registers: MOV to/from CR0/CR2/CR3/CR4/CR8 and DR0-7 (no-ops kept for read-back),
// LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR, SMSW/LMSW/CLTS, RDMSR/WRMSR, INVLPG, WBINVD/INVD,
// CLFLUSH, CPUID with the system feature bits, RDTSC/RDTSCP with CR4.TSD. Privileged ones raise
// #GP(0) outside ring 0 (SDM Vol. 3, 5.9).
#include <Zydis/Mnemonic.h>
#include <fmt/format.h>
#include <x86intrin.h>

#include "cpu/cpuid.h"
#include "interp/system/system_mode.h"

namespace vireo {

using namespace softmmu::ctl;

namespace {

void require_ring0(Exec& x) {
  if (cpl(*x.cpu) != 0) x.raise_gp(0);
}

// CR0 bits that exist (PE MP EM TS ET NE WP AM NW CD PG) and the CR4 bits we implement.
constexpr uint64_t kCr0Valid = 0xE005003F;
constexpr uint64_t kCr4Valid = 0x7FF;  // VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT

void write_cr0(Exec& x, uint64_t v) {
  CpuState& c = *x.cpu;
  if ((v >> 32) || (v & ~kCr0Valid & 0xFFFFFFFF)) x.raise_gp(0);
  v |= 0x10;  // ET is hardwired to 1
  if ((v & CR0_PG) && !(v & CR0_PE)) x.raise_gp(0);
  if ((v & (1u << 29)) && !(v & (1u << 30))) x.raise_gp(0);  // NW without CD
  bool pg_on = (v & CR0_PG) && !(c.cr0 & CR0_PG), pg_off = !(v & CR0_PG) && (c.cr0 & CR0_PG);
  if (pg_on && (c.efer & EFER_LME) && !(c.cr4 & CR4_PAE)) x.raise_gp(0);
  if (pg_off && in_64bit_mode(c)) x.raise_gp(0);
  // Long mode becomes active when paging is turned on with EFER.LME (SDM Vol. 3, 9.8.5).
  if (pg_on && (c.efer & EFER_LME)) c.efer |= EFER_LMA;
  if (pg_off) c.efer &= ~EFER_LMA;
  bool flush = (v ^ c.cr0) & (CR0_PG | CR0_WP | CR0_PE);
  c.cr0 = v;
  if (flush) x.sys->mmu.on_paging_mode_change();
}

void write_cr4(Exec& x, uint64_t v) {
  CpuState& c = *x.cpu;
  if (v & ~kCr4Valid) x.raise_gp(0);
  if (long_mode_active(c) && !(v & CR4_PAE)) x.raise_gp(0);
  bool flush = (v ^ c.cr4) & (CR4_PSE | CR4_PAE | CR4_PGE);
  c.cr4 = v;
  if (flush) x.sys->mmu.on_paging_mode_change();
}

}  // namespace

void mov_control(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  require_ring0(x);
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  const bool to_reg = d.rclass == RegClass::Gpr;
  const Operand& r = to_reg ? s : d;
  const unsigned size = in_64bit_mode(c) ? 8 : 4;
  if (r.rclass == RegClass::Dr) {
    if (r.reg > 7 || ((r.reg == 4 || r.reg == 5) && (c.cr4 & (1u << 3)))) x.raise_ud();
    unsigned i = (r.reg == 4 || r.reg == 5) ? r.reg + 2 : r.reg;  // DR4/5 alias DR6/7
    if (to_reg) x.set_gpr(d.reg, size, x.sys->dr[i]);
    else x.sys->dr[i] = Exec::truncate(c.gpr[s.reg], size);
    return;
  }
  if (to_reg) {
    uint64_t v;
    switch (r.reg) {
      case 0: v = c.cr0; break;
      case 2: v = c.cr2; break;
      case 3: v = c.cr3; break;
      case 4: v = c.cr4; break;
      case 8: v = c.cr8; break;
      default: x.raise_ud();
    }
    x.set_gpr(d.reg, size, v);
    return;
  }
  uint64_t v = Exec::truncate(c.gpr[s.reg], size);
  switch (r.reg) {
    case 0: write_cr0(x, v); break;
    case 2: c.cr2 = v; break;
    case 3:
      c.cr3 = v;
      x.sys->mmu.on_cr3_write();
      break;
    case 4: write_cr4(x, v); break;
    case 8:
      if (v > 15) x.raise_gp(0);
      c.cr8 = v;
      break;
    default: x.raise_ud();
  }
}

namespace {

// LGDT/LIDT/SGDT/SIDT: a 16-bit limit and a base of 8 bytes in 64-bit mode, else 4 (24 bits
// used with a 16-bit operand size).
template <bool is_idt>
void load_table(Exec& x, const Insn& in) {
  require_ring0(x);
  uint64_t la = x.linear(in, in.op[0]);
  uint16_t limit = x.load<uint16_t>(la);
  uint64_t base = in_64bit_mode(*x.cpu) ? x.load<uint64_t>(la + 2) : x.load<uint32_t>(la + 2);
  if (!in_64bit_mode(*x.cpu) && in.opsize == 2) base &= 0xFFFFFF;
  (is_idt ? x.cpu->idtr : x.cpu->gdtr) = {base, limit};
}

template <bool is_idt>
void store_table(Exec& x, const Insn& in) {
  const DescTable& t = is_idt ? x.cpu->idtr : x.cpu->gdtr;
  uint64_t la = x.linear(in, in.op[0]);
  unsigned n = in_64bit_mode(*x.cpu) ? 8 : 4;
  uint8_t buf[10];
  std::memcpy(buf, &t.limit, 2);
  std::memcpy(buf + 2, &t.base, n);
  x.sys_write(la, buf, 2 + n);
}

// LLDT / LTR: a selector into the GDT; the TSS becomes busy (SDM Vol. 2, LTR). In long mode
// system descriptors are 16 bytes (base bits 63:32 in the second half).
template <bool is_tr>
void load_system_segment(Exec& x, const Insn& in) {
  CpuState& c = *x.cpu;
  require_ring0(x);
  uint16_t sel = uint16_t(x.read(in, in.op[0]));
  uint16_t ec = sel & 0xFFFC;
  if (ec == 0) {
    if (is_tr) x.raise_gp(0);
    c.ldtr = {sel, 0, 0, 0};
    return;
  }
  uint64_t raw;
  if ((sel & 4) || !read_descriptor(x, sel, raw)) x.raise_gp(ec);
  Segment d = descriptor_to_segment(sel, raw);
  unsigned type = d.attrib & seg_attr::TYPE;
  bool ok = !(d.attrib & seg_attr::S) && (is_tr ? (type == 9 || type == 1) : type == 2);
  if (!ok) x.raise_gp(ec);
  if (!(d.attrib & seg_attr::P)) x.raise(VEC_NP, ec, true);
  if (long_mode_active(c)) {
    if ((sel & ~7u) + 15 > c.gdtr.limit) x.raise_gp(ec);
    d.base |= read_sys(x, c.gdtr.base + (sel & ~7u) + 8, 4) << 32;
  }
  if (is_tr) {
    d.attrib |= 2;  // busy
    write_sys(x, c.gdtr.base + (sel & ~7u) + 5, 1, d.attrib & 0xFF);
    c.tr = d;
  } else {
    c.ldtr = d;
  }
}

template <bool is_tr>
void store_system_selector(Exec& x, const Insn& in) {
  uint16_t sel = is_tr ? x.cpu->tr.selector : x.cpu->ldtr.selector;
  const Operand& o = in.op[0];
  if (o.kind == OpKind::Mem) x.store<uint16_t>(x.linear(in, o), sel);
  else x.set_gpr(o.reg, o.size, sel);
}

void smsw(Exec& x, const Insn& in) {
  const Operand& o = in.op[0];
  if (o.kind == OpKind::Mem) x.store<uint16_t>(x.linear(in, o), uint16_t(x.cpu->cr0));
  else x.set_gpr(o.reg, o.size, x.cpu->cr0);
}

// LMSW changes PE (set only), MP, EM and TS.
void lmsw(Exec& x, const Insn& in) {
  require_ring0(x);
  uint64_t v = x.read(in, in.op[0]) & 0xF;
  uint64_t cr0 = x.cpu->cr0;
  write_cr0(x, (cr0 & ~uint64_t(0xE)) | v | (cr0 & 1));
}

void clts(Exec& x, const Insn&) {
  require_ring0(x);
  x.cpu->cr0 &= ~uint64_t(8);
}

void invlpg(Exec& x, const Insn& in) {
  require_ring0(x);
  uint64_t la = x.linear(in, in.op[0]);
  x.sys->mmu.invlpg(in_64bit_mode(*x.cpu) ? la : uint32_t(la));
}

void ring0_nop(Exec& x, const Insn&) { require_ring0(x); }
void nop(Exec&, const Insn&) {}

// MSRs (SDM Vol. 4, Table 2-2). Unknown ones raise #GP(0), reported once by number.
enum : uint32_t {
  MSR_TSC = 0x10, MSR_APIC_BASE = 0x1B, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
  MSR_SYSENTER_EIP = 0x176, MSR_PAT = 0x277, MSR_EFER = 0xC0000080, MSR_STAR = 0xC0000081,
  MSR_LSTAR = 0xC0000082, MSR_CSTAR = 0xC0000083, MSR_SFMASK = 0xC0000084,
  MSR_FS_BASE = 0xC0000100, MSR_GS_BASE = 0xC0000101, MSR_KERNEL_GS_BASE = 0xC0000102,
  MSR_TSC_AUX = 0xC0000103,
};

[[noreturn]] void unknown_msr(Exec& x, uint32_t msr, const char* how) {
  if (x.sys->reported_msrs.insert(msr).second && x.sys->unimp_log)  // (-d unimp: kernels probe MSRs)
    fmt::print(x.sys->unimp_log, "vireo: unknown MSR {:#x} ({}) at rip={:#x}: raises #GP\n", msr, how, x.insn_rip);
  x.raise_gp(0);
}


void rdmsr(Exec& x, const Insn&) {
  require_ring0(x);
  CpuState& c = *x.cpu;
  uint32_t msr = uint32_t(c.gpr[RCX]);
  uint64_t v;
  switch (msr) {
    case MSR_TSC: v = __rdtsc() + c.tsc_offset; break;
    case MSR_APIC_BASE: v = c.apic_base; break;
    case MSR_SYSENTER_CS: v = c.sysenter_cs; break;
    case MSR_SYSENTER_ESP: v = c.sysenter_esp; break;
    case MSR_SYSENTER_EIP: v = c.sysenter_eip; break;
    case MSR_PAT: v = c.pat; break;
    case MSR_EFER: v = c.efer; break;
    case MSR_STAR: v = c.star; break;
    case MSR_LSTAR: v = c.lstar; break;
    case MSR_CSTAR: v = c.cstar; break;
    case MSR_SFMASK: v = c.sfmask; break;
    case MSR_FS_BASE: v = c.seg[SEG_FS].base; break;
    case MSR_GS_BASE: v = c.seg[SEG_GS].base; break;
    case MSR_KERNEL_GS_BASE: v = c.kernel_gs_base; break;
    case MSR_TSC_AUX: v = x.sys->tsc_aux; break;
    default:
      if (!kvm_clock_rdmsr(x, msr, v)) unknown_msr(x, msr, "rdmsr");
  }
  x.set_gpr(RAX, 4, v);
  x.set_gpr(RDX, 4, v >> 32);
}

void wrmsr(Exec& x, const Insn&) {
  require_ring0(x);
  CpuState& c = *x.cpu;
  uint32_t msr = uint32_t(c.gpr[RCX]);
  uint64_t v = (c.gpr[RDX] << 32) | uint32_t(c.gpr[RAX]);
  switch (msr) {
    case MSR_TSC:
      c.tsc_offset = v - __rdtsc();
      kvm_clock_tsc_written(x);
      break;
    case MSR_APIC_BASE: c.apic_base = v; break;
    case MSR_SYSENTER_CS: c.sysenter_cs = v & 0xFFFF; break;
    case MSR_SYSENTER_ESP:
    case MSR_SYSENTER_EIP:
    case MSR_LSTAR:
    case MSR_CSTAR:
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
      if (!is_canonical(v)) x.raise_gp(0);
      if (msr == MSR_SYSENTER_ESP) c.sysenter_esp = v;
      else if (msr == MSR_SYSENTER_EIP) c.sysenter_eip = v;
      else if (msr == MSR_LSTAR) c.lstar = v;
      else if (msr == MSR_CSTAR) c.cstar = v;
      else if (msr == MSR_FS_BASE) c.seg[SEG_FS].base = v;
      else if (msr == MSR_GS_BASE) c.seg[SEG_GS].base = v;
      else c.kernel_gs_base = v;
      break;
    case MSR_PAT: c.pat = v; break;
    case MSR_EFER: {
      // SCE, LME, NXE are writable; LMA is read-only; LME cannot change while paging is on.
      if (v & ~uint64_t(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) x.raise_gp(0);
      if (((v ^ c.efer) & EFER_LME) && (c.cr0 & CR0_PG)) x.raise_gp(0);
      uint64_t nv = (v & ~uint64_t(EFER_LMA)) | (c.efer & EFER_LMA);
      bool flush = (nv ^ c.efer) & EFER_NXE;
      c.efer = nv;
      if (flush) x.sys->mmu.on_paging_mode_change();
      break;
    }
    case MSR_STAR: c.star = v; break;
    case MSR_SFMASK: c.sfmask = v & 0xFFFFFFFF; break;
    case MSR_TSC_AUX: x.sys->tsc_aux = v & 0xFFFFFFFF; break;
    default:
      if (!kvm_clock_wrmsr(x, msr, v)) unknown_msr(x, msr, "wrmsr");
  }
}

void cpuid(Exec& x, const Insn&) {
  CpuidResult r = vireo::cpuid(uint32_t(x.gpr(RAX)), uint32_t(x.gpr(RCX)), CpuidView::System);
  x.set_gpr(RAX, 4, r.eax);
  x.set_gpr(RBX, 4, r.ebx);
  x.set_gpr(RCX, 4, r.ecx);
  x.set_gpr(RDX, 4, r.edx);
}

void rdtsc(Exec& x, const Insn&) {
  if ((x.cpu->cr4 & (1u << 2)) && cpl(*x.cpu) != 0) x.raise_gp(0);  // CR4.TSD
  uint64_t t = __rdtsc() + x.cpu->tsc_offset;
  x.set_gpr(RAX, 4, t);
  x.set_gpr(RDX, 4, t >> 32);
}

void rdtscp(Exec& x, const Insn& in) {
  rdtsc(x, in);
  x.set_gpr(RCX, 4, x.sys->tsc_aux);
}

// No performance counters are modelled: #GP where CR4.PCE forbids RDPMC, else #UD, as QEMU.
void rdpmc(Exec& x, const Insn&) {
  if (!(x.cpu->cr4 & (1u << 8)) && cpl(*x.cpu) != 0) x.raise_gp(0);
  x.raise_ud();
}

}  // namespace

void register_system_control(DispatchTable& t) {
  t[ZYDIS_MNEMONIC_RDPMC] = rdpmc;
  t[ZYDIS_MNEMONIC_LGDT] = load_table<false>;
  t[ZYDIS_MNEMONIC_LIDT] = load_table<true>;
  t[ZYDIS_MNEMONIC_SGDT] = store_table<false>;
  t[ZYDIS_MNEMONIC_SIDT] = store_table<true>;
  t[ZYDIS_MNEMONIC_LLDT] = load_system_segment<false>;
  t[ZYDIS_MNEMONIC_LTR] = load_system_segment<true>;
  t[ZYDIS_MNEMONIC_SLDT] = store_system_selector<false>;
  t[ZYDIS_MNEMONIC_STR] = store_system_selector<true>;
  t[ZYDIS_MNEMONIC_SMSW] = smsw;
  t[ZYDIS_MNEMONIC_LMSW] = lmsw;
  t[ZYDIS_MNEMONIC_CLTS] = clts;
  t[ZYDIS_MNEMONIC_INVLPG] = invlpg;
  t[ZYDIS_MNEMONIC_WBINVD] = ring0_nop;
  t[ZYDIS_MNEMONIC_INVD] = ring0_nop;
  t[ZYDIS_MNEMONIC_CLFLUSH] = nop;
  t[ZYDIS_MNEMONIC_CLFLUSHOPT] = nop;
  t[ZYDIS_MNEMONIC_RDMSR] = rdmsr;
  t[ZYDIS_MNEMONIC_WRMSR] = wrmsr;
  t[ZYDIS_MNEMONIC_CPUID] = cpuid;
  t[ZYDIS_MNEMONIC_RDTSC] = rdtsc;
  t[ZYDIS_MNEMONIC_RDTSCP] = rdtscp;
}

}  // namespace vireo
