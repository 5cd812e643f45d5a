#include "gdb/registers.h"

#include <fmt/format.h>

#include <cstring>

#include "cpu/flags.h"

namespace vireo::gdb {

namespace {

// x87 (SDM Vol. 1, 8.1.7): gdb's st0..st7 are the stack ST(i); its ftag is the full tag word
// (two bits per physical register: valid 00, zero 01, special 10, empty 11).
uint16_t full_tag_word(const X87State& x) {
  uint16_t tw = 0;
  for (unsigned r = 0; r < 8; ++r) {
    unsigned tag;
    if (x.tag_empty & (1u << r)) {
      tag = 3;
    } else {
      uint8_t b[10];
      std::memcpy(b, &x.st[r], 10);
      uint16_t exp = uint16_t(b[8] | b[9] << 8) & 0x7FFF;
      uint64_t mant;
      std::memcpy(&mant, b, 8);
      if (exp == 0x7FFF || (exp == 0 && mant != 0) || (exp != 0 && !(mant >> 63))) tag = 2;
      else if (exp == 0 && mant == 0) tag = 1;
      else tag = 0;
    }
    tw = uint16_t(tw | tag << (2 * r));
  }
  return tw;
}

enum class Kind : uint8_t { U64, U32, Seg, St, Fctrl, Fstat, Ftag, Fiseg, Fioff, Foseg, Fooff, Fop, Xmm, Mxcsr, Base, Sys, OrigRax };

struct Reg {
  const char* name;
  unsigned bits;
  const char* type;
  const char* feature;
  Kind kind;
  unsigned index;  // GPR number, segment, st(i), xmm number, or field offset selector
};

constexpr const char* kCore = "org.gnu.gdb.i386.core";
constexpr const char* kSse = "org.gnu.gdb.i386.sse";
constexpr const char* kLinux = "org.gnu.gdb.i386.linux";
constexpr const char* kSegments = "org.gnu.gdb.i386.segments";
constexpr const char* kSys = "org.vireo.gdb.i386.sys";

// gdb's amd64 order: rax rbx rcx rdx rsi rdi rbp rsp r8..r15 rip eflags cs ss ds es fs gs
// st0..7 fctrl fstat ftag fiseg fioff foseg fooff fop xmm0..15 mxcsr.
std::vector<Reg> make_table(bool system) {
  std::vector<Reg> t;
  const std::pair<const char*, unsigned> gprs[] = {
      {"rax", RAX}, {"rbx", RBX}, {"rcx", RCX}, {"rdx", RDX}, {"rsi", RSI}, {"rdi", RDI}, {"rbp", RBP},
      {"rsp", RSP}, {"r8", R8}, {"r9", R9}, {"r10", R10}, {"r11", R11}, {"r12", R12}, {"r13", R13},
      {"r14", R14}, {"r15", R15}};
  for (auto [name, i] : gprs)
    t.push_back({name, 64, i == RBP || i == RSP ? "data_ptr" : "int64", kCore, Kind::U64, i});
  t.push_back({"rip", 64, "code_ptr", kCore, Kind::U64, 16});
  t.push_back({"eflags", 32, "i386_eflags", kCore, Kind::U32, 0});
  const std::pair<const char*, unsigned> segs[] = {{"cs", SEG_CS}, {"ss", SEG_SS}, {"ds", SEG_DS},
                                                   {"es", SEG_ES}, {"fs", SEG_FS}, {"gs", SEG_GS}};
  for (auto [name, i] : segs) t.push_back({name, 32, "int32", kCore, Kind::Seg, i});
  static const char* st_names[] = {"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"};
  for (unsigned i = 0; i < 8; ++i) t.push_back({st_names[i], 80, "i387_ext", kCore, Kind::St, i});
  t.push_back({"fctrl", 32, "int", kCore, Kind::Fctrl, 0});
  t.push_back({"fstat", 32, "int", kCore, Kind::Fstat, 0});
  t.push_back({"ftag", 32, "int", kCore, Kind::Ftag, 0});
  t.push_back({"fiseg", 32, "int", kCore, Kind::Fiseg, 0});
  t.push_back({"fioff", 32, "int", kCore, Kind::Fioff, 0});
  t.push_back({"foseg", 32, "int", kCore, Kind::Foseg, 0});
  t.push_back({"fooff", 32, "int", kCore, Kind::Fooff, 0});
  t.push_back({"fop", 32, "int", kCore, Kind::Fop, 0});
  static const char* xmm_names[] = {"xmm0", "xmm1", "xmm2",  "xmm3",  "xmm4",  "xmm5",  "xmm6",  "xmm7",
                                    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"};
  for (unsigned i = 0; i < 16; ++i) t.push_back({xmm_names[i], 128, "vec128", kSse, Kind::Xmm, i});
  t.push_back({"mxcsr", 32, "i386_mxcsr", kSse, Kind::Mxcsr, 0});
  if (!system) t.push_back({"orig_rax", 64, "int", kLinux, Kind::OrigRax, 0});
  t.push_back({"fs_base", 64, "int", kSegments, Kind::Base, SEG_FS});
  t.push_back({"gs_base", 64, "int", kSegments, Kind::Base, SEG_GS});
  if (system) {
    t.push_back({"k_gs_base", 64, "int", kSys, Kind::Sys, 0});
    t.push_back({"cr0", 64, "int", kSys, Kind::Sys, 1});
    t.push_back({"cr2", 64, "int", kSys, Kind::Sys, 2});
    t.push_back({"cr3", 64, "int", kSys, Kind::Sys, 3});
    t.push_back({"cr4", 64, "int", kSys, Kind::Sys, 4});
    t.push_back({"cr8", 64, "int", kSys, Kind::Sys, 5});
    t.push_back({"efer", 64, "int", kSys, Kind::Sys, 6});
  }
  return t;
}

const std::vector<Reg>& table(bool system) {
  static const std::vector<Reg> user = make_table(false), sys = make_table(true);
  return system ? sys : user;
}

uint64_t* sys_field(CpuState& c, unsigned i) {
  uint64_t* f[] = {&c.kernel_gs_base, &c.cr0, &c.cr2, &c.cr3, &c.cr4, &c.cr8, &c.efer};
  return f[i];
}

// The types the registers name (gdb's features/i386/64bit-core.xml and 64bit-sse.xml define
// the same ones).
constexpr const char* kCoreTypes = R"(<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
<field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
<field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/><field name="VIF" start="19" end="19"/>
<field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/></flags>
)";
constexpr const char* kSseTypes = R"(<vector id="v8bf16" type="bfloat16" count="8"/>
<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>
<union id="vec128"><field name="v8_bfloat16" type="v8bf16"/><field name="v4_float" type="v4f"/>
<field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>
<field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>
<flags id="i386_mxcsr" size="4">
<field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/><field name="ZE" start="2" end="2"/>
<field name="OE" start="3" end="3"/><field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
<field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/><field name="DM" start="8" end="8"/>
<field name="ZM" start="9" end="9"/><field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
<field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/></flags>
)";

}  // namespace

RegisterMap::RegisterMap(bool system_mode) : system_(system_mode) {}

size_t RegisterMap::count() const { return table(system_).size(); }

std::string RegisterMap::target_xml() const {
  const auto& t = table(system_);
  std::string x = "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n"
                  "<architecture>i386:x86-64</architecture>\n";
  if (!system_) x += "<osabi>GNU/Linux</osabi>\n";
  const char* open = nullptr;
  for (size_t n = 0; n < t.size(); ++n) {
    if (!open || std::strcmp(open, t[n].feature) != 0) {
      if (open) x += "</feature>\n";
      open = t[n].feature;
      x += fmt::format("<feature name=\"{}\">\n", open);
      if (open == kCore) x += kCoreTypes;
      if (open == kSse) x += kSseTypes;
    }
    x += fmt::format("<reg name=\"{}\" bitsize=\"{}\" type=\"{}\" regnum=\"{}\"{}/>\n", t[n].name, t[n].bits, t[n].type, n,
                     t[n].kind == Kind::Xmm || t[n].kind == Kind::Mxcsr ? " group=\"vector\""
                     : t[n].kind == Kind::St || (t[n].kind >= Kind::Fctrl && t[n].kind <= Kind::Fop) ? " group=\"float\""
                     : t[n].kind == Kind::Sys ? " group=\"system\"" : "");
  }
  x += "</feature>\n</target>\n";
  return x;
}

bool RegisterMap::read(const CpuState& cc, size_t n, std::string& bytes) const {
  const auto& t = table(system_);
  if (n >= t.size()) return false;
  CpuState& c = const_cast<CpuState&>(cc);  // (the accessors below only read)
  const Reg& r = t[n];
  auto put = [&](uint64_t v, size_t size) { bytes.assign(reinterpret_cast<const char*>(&v), size); };
  switch (r.kind) {
    case Kind::U64: put(r.index == 16 ? c.rip : c.gpr[r.index], 8); break;
    case Kind::U32: put(c.rflags, 4); break;
    case Kind::Seg: put(c.seg[r.index].selector, 4); break;
    case Kind::St: bytes.assign(reinterpret_cast<const char*>(&c.x87.st[(c.x87.top + r.index) & 7]), 10); break;
    case Kind::Fctrl: put(c.x87.fcw, 4); break;
    case Kind::Fstat: put((c.x87.fsw & ~0x3800u) | (unsigned(c.x87.top) & 7) << 11, 4); break;
    case Kind::Ftag: put(full_tag_word(c.x87), 4); break;
    case Kind::Fiseg: put(c.x87.fcs, 4); break;
    case Kind::Fioff: put(uint32_t(c.x87.fip), 4); break;
    case Kind::Foseg: put(c.x87.fds, 4); break;
    case Kind::Fooff: put(uint32_t(c.x87.fdp), 4); break;
    case Kind::Fop: put(c.x87.fop, 4); break;
    case Kind::Xmm: bytes.assign(reinterpret_cast<const char*>(&c.xmm[r.index]), 16); break;
    case Kind::Mxcsr: put(c.mxcsr, 4); break;
    case Kind::Base: put(c.seg[r.index].base, 8); break;
    case Kind::Sys: put(*sys_field(c, r.index), 8); break;
    case Kind::OrigRax: put(~uint64_t(0), 8); break;  // (-1: not in a system call gdb would restart)
  }
  return true;
}

bool RegisterMap::write(CpuState& c, size_t n, const uint8_t* b, size_t len) const {
  const auto& t = table(system_);
  if (n >= t.size() || len != t[n].bits / 8) return false;
  const Reg& r = t[n];
  uint64_t v = 0;
  std::memcpy(&v, b, std::min<size_t>(len, 8));
  switch (r.kind) {
    case Kind::U64: (r.index == 16 ? c.rip : c.gpr[r.index]) = v; break;
    case Kind::U32: c.rflags = (v & 0x3F7FD7) | flag::FIXED1; break;  // (bits the CPU lets software set)
    case Kind::Seg: c.seg[r.index].selector = uint16_t(v); break;  // (the descriptor cache stays)
    case Kind::St: std::memcpy(&c.x87.st[(c.x87.top + r.index) & 7], b, 10); break;
    case Kind::Fctrl: c.x87.fcw = uint16_t(v); break;
    case Kind::Fstat:
      c.x87.fsw = uint16_t(v & ~0x3800u);
      c.x87.top = uint8_t((v >> 11) & 7);
      break;
    case Kind::Ftag: {
      uint8_t empty = 0;
      for (unsigned i = 0; i < 8; ++i)
        if (((v >> (2 * i)) & 3) == 3) empty = uint8_t(empty | 1u << i);
      c.x87.tag_empty = empty;
      break;
    }
    case Kind::Fiseg: c.x87.fcs = uint16_t(v); break;
    case Kind::Fioff: c.x87.fip = uint32_t(v); break;
    case Kind::Foseg: c.x87.fds = uint16_t(v); break;
    case Kind::Fooff: c.x87.fdp = uint32_t(v); break;
    case Kind::Fop: c.x87.fop = uint16_t(v); break;
    case Kind::Xmm: std::memcpy(&c.xmm[r.index], b, 16); break;
    case Kind::Mxcsr: c.mxcsr = uint32_t(v) & 0xFFFF; break;
    case Kind::Base: c.seg[r.index].base = v; break;
    case Kind::Sys: *sys_field(c, r.index) = v; break;
    case Kind::OrigRax: break;
  }
  return true;
}

std::string RegisterMap::read_all(const CpuState& c) const {
  std::string all, one;
  for (size_t n = 0; n < count(); ++n) {
    read(c, n, one);
    all += one;
  }
  return all;
}

bool RegisterMap::write_all(CpuState& c, const std::vector<uint8_t>& bytes) const {
  const auto& t = table(system_);
  size_t total = 0;
  for (const Reg& r : t) total += r.bits / 8;
  if (bytes.size() != total) return false;
  size_t off = 0;
  for (size_t n = 0; n < t.size(); ++n) {
    write(c, n, bytes.data() + off, t[n].bits / 8);
    off += t[n].bits / 8;
  }
  return true;
}

}  // namespace vireo::gdb
