#include "machine/loaders/multiboot.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "machine/loaders/boot_common.h"

namespace vireo::machine {

namespace {

constexpr uint32_t kHeaderMagic = 0x1BADB002;
constexpr uint32_t kBootMagic = 0x2BADB002;
constexpr uint32_t kSearchBytes = 8192;
constexpr uint32_t kFlagAoutKludge = 1u << 16;
constexpr uint32_t kFlagVideoMode = 1u << 2;
// Bits 0-15 are requirements; we can meet "page-align modules" (0) and "memory info" (1),
// and honour "video mode" (2) by ignoring it as QEMU does for a text console.
constexpr uint32_t kKnownRequired = 0x7;

// multiboot_info flags
constexpr uint32_t kInfoMem = 1u << 0, kInfoCmdline = 1u << 2, kInfoMmap = 1u << 6, kInfoLoaderName = 1u << 9;

struct Header {
  uint32_t magic, flags, checksum;
  uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

template <class T>
T read_at(const std::vector<uint8_t>& f, uint64_t off) {
  T v;
  std::memcpy(&v, f.data() + off, sizeof v);
  return v;
}

void put32(GuestRam& ram, uint64_t gpa, uint32_t v) { std::memcpy(ram.at(gpa, 4), &v, 4); }
void put64(GuestRam& ram, uint64_t gpa, uint64_t v) { std::memcpy(ram.at(gpa, 8), &v, 8); }

uint8_t* ram_range(const std::string& path, GuestRam& ram, uint64_t gpa, uint64_t len, const char* what) {
  uint8_t* p = ram.at(gpa, len);
  if (!p)
    fail(path, fmt::format("{} at {:#x}-{:#x} does not fit in {} MiB of guest RAM (try -m)", what, gpa, gpa + len,
                           ram.size() >> 20));
  return p;
}

// Loads the PT_LOAD segments of an ELF32 kernel at their physical addresses.
void load_elf32(const std::string& path, const std::vector<uint8_t>& f, GuestRam& ram, MultibootImage& img) {
  if (f.size() < sizeof(Elf32_Ehdr)) fail(path, "truncated ELF header");
  if (f[EI_CLASS] == ELFCLASS64)
    fail(path, "is an ELF64 kernel; Multiboot v1 loads ELF32 only (QEMU refuses ELF64 too) — "
               "convert it with `objcopy -O elf32-i386`");
  auto eh = read_at<Elf32_Ehdr>(f, 0);
  if (f[EI_CLASS] != ELFCLASS32 || f[EI_DATA] != ELFDATA2LSB) fail(path, "not a little-endian ELF32 file");
  if (eh.e_machine != EM_386 && eh.e_machine != EM_X86_64) fail(path, fmt::format("ELF machine {} is not x86", eh.e_machine));
  if (eh.e_phentsize != sizeof(Elf32_Phdr) || uint64_t(eh.e_phoff) + uint64_t(eh.e_phnum) * sizeof(Elf32_Phdr) > f.size())
    fail(path, "corrupt ELF program header table");
  uint64_t lo = ~0ull, hi = 0;
  bool entry_mapped = false;
  uint32_t entry = eh.e_entry;
  for (int i = 0; i < eh.e_phnum; ++i) {
    auto ph = read_at<Elf32_Phdr>(f, eh.e_phoff + uint64_t(i) * sizeof(Elf32_Phdr));
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz || uint64_t(ph.p_offset) + ph.p_filesz > f.size())
      fail(path, fmt::format("corrupt ELF segment {} (file range beyond the end of the file)", i));
    uint8_t* dst = ram_range(path, ram, ph.p_paddr, ph.p_memsz, "kernel segment");
    std::memcpy(dst, f.data() + ph.p_offset, ph.p_filesz);
    std::memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    lo = std::min<uint64_t>(lo, ph.p_paddr);
    hi = std::max<uint64_t>(hi, uint64_t(ph.p_paddr) + ph.p_memsz);
    // A higher-half kernel links its entry at a virtual address; enter at the physical copy.
    if (!entry_mapped && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
      entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
      entry_mapped = true;
    }
  }
  if (hi == 0) fail(path, "ELF file has no loadable segments");
  img.entry = entry;
  img.load_start = uint32_t(lo);
  img.load_end = uint32_t(hi);
}

// Loads an image described by the header's address fields (the "a.out kludge").
void load_aout_kludge(const std::string& path, const std::vector<uint8_t>& f, const Header& h, uint32_t header_off,
                      GuestRam& ram, MultibootImage& img) {
  if (h.load_addr > h.header_addr) fail(path, "Multiboot header: load_addr is above header_addr");
  uint64_t file_start = uint64_t(header_off) - (h.header_addr - h.load_addr);
  if (file_start > header_off) fail(path, "Multiboot header: load_addr lies before the start of the file");
  uint64_t load_len = h.load_end_addr ? uint64_t(h.load_end_addr) - h.load_addr : f.size() - file_start;
  if (h.load_end_addr && h.load_end_addr < h.load_addr) fail(path, "Multiboot header: load_end_addr below load_addr");
  if (file_start + load_len > f.size()) fail(path, "Multiboot header: image extends beyond the end of the file");
  uint64_t end = std::max<uint64_t>(h.load_addr + load_len, h.bss_end_addr);
  uint8_t* dst = ram_range(path, ram, h.load_addr, end - h.load_addr, "kernel image");
  std::memcpy(dst, f.data() + file_start, load_len);
  std::memset(dst + load_len, 0, end - h.load_addr - load_len);
  img.entry = h.entry_addr;
  img.load_start = h.load_addr;
  img.load_end = uint32_t(end);
}

Segment flat_segment(uint16_t selector, uint16_t type) {
  // attrib: type | S | P | D/B | G (see CpuState::Segment)
  return Segment{selector, uint16_t(type | 0x10 | 0x80 | 0x400 | 0x800), 0xFFFFFFFF, 0};
}

}  // namespace

void set_multiboot_entry_state(CpuState& cpu, uint32_t entry, uint32_t info_addr, uint32_t gdt_addr) {
  std::memset(static_cast<void*>(&cpu), 0, sizeof cpu);
  cpu.gpr[RAX] = kBootMagic;
  cpu.gpr[RBX] = info_addr;
  cpu.rip = entry;
  cpu.rflags = flag::FIXED1;  // IF and VM clear
  cpu.seg[SEG_CS] = flat_segment(0x08, 0xB);  // execute/read, accessed
  for (int s : {SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS}) cpu.seg[s] = flat_segment(0x10, 0x3);  // read/write, accessed
  cpu.gdtr = {gdt_addr, 3 * 8 - 1};
  cpu.idtr = {0, 0x3FF};
  cpu.ldtr = Segment{0, 0x02, 0xFFFF, 0};         // not present: no LDT
  cpu.tr = Segment{0, 0x8B, 0xFFFF, 0};           // busy 32-bit TSS, as after reset
  cpu.cr0 = 0x11;                                 // PE | ET
  cpu.mxcsr = 0x1F80;
  cpu.x87.fcw = 0x37F;
  cpu.x87.tag_empty = 0xFF;
  cpu.pat = 0x0007040600070406ull;
  cpu.apic_base = 0xFEE00900;  // enabled, bootstrap processor
}

MultibootImage load_multiboot(const std::string& path, const std::vector<uint8_t>& f, const std::string& append,
                              GuestRam& ram, CpuState& cpu) {
  // The header is 4-byte aligned within the first 8192 bytes (spec 3.1.1).
  std::optional<uint32_t> off;
  Header h{};
  for (uint32_t o = 0; o + 12 <= std::min<uint64_t>(f.size(), kSearchBytes); o += 4) {
    if (read_at<uint32_t>(f, o) != kHeaderMagic) continue;
    uint32_t flags = read_at<uint32_t>(f, o + 4), sum = read_at<uint32_t>(f, o + 8);
    if (kHeaderMagic + flags + sum != 0) continue;
    off = o;
    std::memcpy(&h, f.data() + o, std::min<uint64_t>(sizeof h, f.size() - o));
    break;
  }
  bool is_elf = f.size() >= 4 && std::memcmp(f.data(), ELFMAG, SELFMAG) == 0;
  if (!off) {
    if (!is_elf) fail(path, "not an ELF file, and no Multiboot header in its first 8 KiB (nor a Linux setup header): not a kernel "
                     "Vireo can boot");
    fail(path, "ELF file without a Multiboot header in its first 8 KiB: not a Multiboot kernel");
  }
  if (h.flags & 0xFFFF & ~kKnownRequired)
    fail(path, fmt::format("Multiboot header requires features we do not provide (flags {:#x})", h.flags));

  MultibootImage img;
  if (h.flags & kFlagAoutKludge) {
    if (*off + sizeof(Header) > f.size()) fail(path, "Multiboot header truncated");
    load_aout_kludge(path, f, h, *off, ram, img);
  } else {
    if (!is_elf) fail(path, "Multiboot header without load addresses, and the file is not ELF");
    load_elf32(path, f, ram, img);
  }
  (void)kFlagVideoMode;

  // Boot information right after the image, page-aligned, as QEMU places it.
  std::string cmdline = append.empty() ? path : path + " " + append;
  const char* loader_name = "vireo";
  uint64_t info = (uint64_t(img.load_end) + 0xFFF) & ~0xFFFull;
  uint64_t mmap = info + 128;
  uint64_t gdt = mmap + 4 * 24;
  uint64_t name = gdt + 3 * 8;
  uint64_t cmd = name + std::strlen(loader_name) + 1;
  uint64_t end = cmd + cmdline.size() + 1;
  uint8_t* blk = ram_range(path, ram, info, end - info, "Multiboot information");
  std::memset(blk, 0, end - info);

  uint64_t ram_size = ram.size();
  put32(ram, info + 0, kInfoMem | kInfoCmdline | kInfoMmap | kInfoLoaderName);
  put32(ram, info + 4, 639);                                  // mem_lower, KiB below 640 KiB
  put32(ram, info + 8, uint32_t((ram_size - (1u << 20)) >> 10));  // mem_upper, KiB above 1 MiB
  put32(ram, info + 16, uint32_t(cmd));
  put32(ram, info + 44, 4 * 24);
  put32(ram, info + 48, uint32_t(mmap));
  put32(ram, info + 64, uint32_t(name));
  // The PC memory map a BIOS reports: conventional memory, the EBDA, the BIOS ROM, and RAM above 1 MiB.
  struct { uint64_t base, len; uint32_t type; } e820[4] = {
      {0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0xF0000, 0x10000, 2}, {0x100000, ram_size - 0x100000, 1}};
  for (int i = 0; i < 4; ++i) {
    uint64_t e = mmap + uint64_t(i) * 24;
    put32(ram, e, 20);  // size of the entry, not counting this field
    put64(ram, e + 4, e820[i].base);
    put64(ram, e + 12, e820[i].len);
    put32(ram, e + 20, e820[i].type);
  }
  // A flat GDT so that the selectors in CS/DS mean what they say until the kernel loads its own.
  put64(ram, gdt + 0, 0);
  put64(ram, gdt + 8, 0x00CF9B000000FFFFull);
  put64(ram, gdt + 16, 0x00CF93000000FFFFull);
  std::memcpy(ram.at(name), loader_name, std::strlen(loader_name) + 1);
  std::memcpy(ram.at(cmd), cmdline.c_str(), cmdline.size() + 1);

  img.info_addr = uint32_t(info);
  set_multiboot_entry_state(cpu, img.entry, img.info_addr, uint32_t(gdt));
  return img;
}

}  // namespace vireo::machine
