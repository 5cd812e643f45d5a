#include "machine/loaders/linux_boot.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "machine/loaders/acpi_tables.h"
#include "machine/loaders/boot_common.h"
#include "machine/loaders/linux_payload.h"

namespace vireo::machine {

namespace {

// Offsets in the setup header / boot_params (boot.rst, "The real-mode kernel header", and
// arch/x86/include/uapi/asm/bootparam.h).
constexpr size_t kSetupSects = 0x1F1;
constexpr size_t kHeaderMagic = 0x202;  // "HdrS"
constexpr size_t kVersion = 0x206;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kLoadFlags = 0x211;
constexpr size_t kCode32Start = 0x214;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21C;
constexpr size_t kHeapEndPtr = 0x224;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kInitrdAddrMax = 0x22C;
constexpr size_t kCmdlineSize = 0x238;
constexpr size_t kInitSize = 0x260;
// boot_params fields outside the header
constexpr size_t kAcpiRsdpAddr = 0x070;
constexpr size_t kExtRamdiskImage = 0x0C0, kExtRamdiskSize = 0x0C4, kExtCmdLinePtr = 0x0C8;
constexpr size_t kE820Entries = 0x1E8;
constexpr size_t kE820Table = 0x2D0;

constexpr uint8_t kLoadedHigh = 0x01, kCanUseHeap = 0x80;

// Guest-physical layout below 1 MiB, as QEMU's linuxboot places things (boot params at
// 0x10000 where the real-mode code would be, the command line after them).
constexpr uint64_t kGdtAddr = 0x5000;
constexpr uint64_t kPageTables = 0x6000;  // PML4, PDPT, 4 PDs: the identity map of the 64-bit entry
constexpr uint64_t kZeroPage = 0x10000;
constexpr uint64_t kCmdlineAddr = 0x20000;
constexpr uint64_t kKernelAddr = 0x100000;  // the protected-mode kernel always goes to 1 MiB


Segment flat(uint16_t selector, uint16_t type) {
  return Segment{selector, uint16_t(type | 0x10 | 0x80 | 0x400 | 0x800), 0xFFFFFFFF, 0};
}

// The CPU state the 64-bit boot protocol asks for at startup_64 (boot.rst): long mode, paging
// on with an identity map of the memory the kernel, zero page and command line live in (the
// low 4 GiB here, 2 MiB pages), CS = __BOOT_CS (64-bit), the data segments __BOOT_DS.
void enter_64bit(CpuState& cpu, GuestRam& ram, uint64_t entry) {
  uint8_t* pt = ram.at(kPageTables, 6 * 4096);
  std::memset(pt, 0, 6 * 4096);
  constexpr uint64_t kPresentWritable = 0x3, kLarge = 0x80;
  put<uint64_t>(pt, 0, (kPageTables + 0x1000) | kPresentWritable);
  for (uint64_t g = 0; g < 4; ++g) {
    put<uint64_t>(pt, 0x1000 + g * 8, (kPageTables + 0x2000 + g * 0x1000) | kPresentWritable);
    for (uint64_t m = 0; m < 512; ++m)
      put<uint64_t>(pt, 0x2000 + g * 0x1000 + m * 8, ((g << 30) | (m << 21)) | kPresentWritable | kLarge);
  }
  put<uint64_t>(ram.at(kGdtAddr, 32), 16, 0x00AF9B000000FFFFull);  // __BOOT_CS: 64-bit code
  cpu.seg[SEG_CS] = Segment{0x10, uint16_t(0xB | 0x10 | 0x80 | 0x200 | 0x800), 0xFFFFFFFF, 0};
  cpu.cr3 = kPageTables;
  cpu.cr4 = 0x20;                 // PAE
  cpu.cr0 = 0x80000011;           // PG | ET | PE
  cpu.efer = 0x500;               // LME | LMA
  cpu.rip = entry;
}

}  // namespace

bool is_linux_bzimage(const std::vector<uint8_t>& f) {
  return f.size() >= kHeaderMagic + 4 && std::memcmp(f.data() + kHeaderMagic, "HdrS", 4) == 0;
}

LinuxBootInfo load_linux(const std::string& path, const std::vector<uint8_t>& f, const std::vector<uint8_t>* initrd,
                         const std::string& cmdline, bool guest_decompress, GuestRam& ram, CpuState& cpu) {
  if (!is_linux_bzimage(f)) fail(path, "no Linux setup header (HdrS)");
  LinuxBootInfo info;
  info.protocol = get<uint16_t>(f.data(), kVersion);
  // 2.06 brought cmdline_size; 2.10 init_size. Anything older predates 64-bit kernels.
  if (info.protocol < 0x20A) fail(path, fmt::format("Linux boot protocol {:x}.{:02x} is too old (2.10 or later)",
                                                    info.protocol >> 8, info.protocol & 0xFF));
  if (!(f[kLoadFlags] & kLoadedHigh)) fail(path, "not a bzImage (zImage kernels load below 1 MiB, unsupported)");
  unsigned setup_sects = f[kSetupSects] ? f[kSetupSects] : 4;
  uint64_t setup_size = uint64_t(setup_sects + 1) * 512;
  if (setup_size >= f.size()) fail(path, "truncated bzImage: the file ends inside the real-mode setup code");
  uint64_t kernel_size = f.size() - setup_size;
  // The header's syssize (0x1F4, 16-byte paragraphs) says how long the protected-mode part is.
  uint64_t syssize = uint64_t(get<uint32_t>(f.data(), 0x1F4)) * 16;
  if (syssize > kernel_size)
    fail(path, fmt::format("truncated bzImage: the header announces {} bytes of kernel, the file has {}", syssize,
                           kernel_size));
  uint32_t init_size = get<uint32_t>(f.data(), kInitSize);
  // A relocatable kernel runs from LOAD_PHYSICAL_ADDR (pref_address, 16 MiB on x86-64 builds)
  // and needs init_size bytes from there, whoever decompresses it: checked before unpacking.
  uint64_t pref = std::max<uint64_t>(get<uint64_t>(f.data(), 0x258), kKernelAddr);
  if (pref + init_size > ram.size())
    fail(path, fmt::format("the kernel needs {} MiB of RAM to decompress and start, -m gives {} MiB (try -m 128M)",
                           (pref + init_size + (1 << 20) - 1) >> 20, ram.size() >> 20));
  UnpackedKernel unpacked;
  if (!guest_decompress) unpacked = unpack_linux_kernel(path, f, setup_size, ram);
  info.host_decompressed = unpacked.loaded;
  uint64_t need, entry = kKernelAddr;
  if (info.host_decompressed) {
    entry = unpacked.entry;
    need = unpacked.end;
  } else {
    need = std::max<uint64_t>(kKernelAddr + std::max<uint64_t>(init_size, kernel_size), pref + init_size);
    if (need > ram.size())
      fail(path, fmt::format("the kernel needs {} MiB of RAM to decompress and start, -m gives {} MiB (try -m 128M)",
                             (need + (1 << 20) - 1) >> 20, ram.size() >> 20));
    std::memcpy(ram.at(kKernelAddr, kernel_size), f.data() + setup_size, kernel_size);
  }

  // The zero page: cleared, then the setup header copied from the file as boot.rst asks
  // (from 0x1F1 to the end of the header, whose length is given by the jump at 0x200).
  uint8_t* bp = ram.at(kZeroPage, 4096);
  std::memset(bp, 0, 4096);
  size_t hdr_end = std::min<size_t>(0x202 + f[0x201], 4096);
  std::memcpy(bp + kSetupSects, f.data() + kSetupSects, std::min<size_t>(hdr_end, f.size()) - kSetupSects);
  bp[kTypeOfLoader] = 0xFF;  // "undefined" loader: no assigned ID
  bp[kLoadFlags] = uint8_t((bp[kLoadFlags] | kCanUseHeap) & ~0x20);  // heap usable, not quiet
  put<uint16_t>(bp, kHeapEndPtr, 0xFE00);
  put<uint32_t>(bp, kCode32Start, uint32_t(kKernelAddr));

  // Command line: NUL-terminated, at most cmdline_size bytes.
  uint32_t max_cmdline = get<uint32_t>(f.data(), kCmdlineSize);
  if (max_cmdline == 0) max_cmdline = 255;
  if (cmdline.size() > max_cmdline)
    fail(path, fmt::format("the command line is {} bytes; this kernel takes at most {}", cmdline.size(), max_cmdline));
  std::memcpy(ram.at(kCmdlineAddr, cmdline.size() + 1), cmdline.c_str(), cmdline.size() + 1);
  put<uint32_t>(bp, kCmdLinePtr, uint32_t(kCmdlineAddr));
  put<uint32_t>(bp, kExtCmdLinePtr, 0);

  const std::vector<E820Entry> map = pc_memory_map(ram.size());
  for (size_t i = 0; i < map.size(); ++i) {
    put<uint64_t>(bp, kE820Table + i * 20, map[i].base);
    put<uint64_t>(bp, kE820Table + i * 20 + 8, map[i].len);
    put<uint32_t>(bp, kE820Table + i * 20 + 16, map[i].type);
  }
  bp[kE820Entries] = uint8_t(map.size());

  // The initrd goes as high as it can: below initrd_addr_max and the end of RAM, above
  // everything the kernel needs to decompress itself.
  if (initrd && !initrd->empty()) {
    uint64_t top = uint64_t(get<uint32_t>(f.data(), kInitrdAddrMax)) + 1;
    uint64_t at = place_initrd(path, *initrd, ram, need, top);
    uint64_t size = initrd->size();
    put<uint32_t>(bp, kRamdiskImage, uint32_t(at));
    put<uint32_t>(bp, kRamdiskSize, uint32_t(size));
    put<uint32_t>(bp, kExtRamdiskImage, uint32_t(at >> 32));
    put<uint32_t>(bp, kExtRamdiskSize, uint32_t(size >> 32));
    info.initrd_addr = at;
    info.initrd_size = size;
  }

  uint64_t rsdp = build_acpi_tables(ram);
  if (info.protocol >= 0x20E) put<uint64_t>(bp, kAcpiRsdpAddr, rsdp);

  // GDT with the selectors boot.rst names for the 32-bit entry: __BOOT_CS = 0x10 (flat 4 GiB
  // execute/read), __BOOT_DS = 0x18 (flat 4 GiB read/write).
  uint8_t* gdt = ram.at(kGdtAddr, 32);
  put<uint64_t>(gdt, 0, 0);
  put<uint64_t>(gdt, 8, 0);
  put<uint64_t>(gdt, 16, 0x00CF9B000000FFFFull);
  put<uint64_t>(gdt, 24, 0x00CF93000000FFFFull);

  std::memset(static_cast<void*>(&cpu), 0, sizeof cpu);
  cpu.rip = kKernelAddr;
  cpu.gpr[RSI] = kZeroPage;  // EBP, EDI and EBX must be zero (all others are)
  cpu.rflags = flag::FIXED1; // interrupts off
  cpu.seg[SEG_CS] = flat(0x10, 0xB);
  for (int s : {SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS}) cpu.seg[s] = flat(0x18, 0x3);
  cpu.gdtr = {kGdtAddr, 4 * 8 - 1};
  cpu.idtr = {0, 0};
  cpu.ldtr = Segment{0, 0x02, 0xFFFF, 0};
  cpu.tr = Segment{0, 0x8B, 0xFFFF, 0};
  cpu.cr0 = 0x11;  // PE | ET
  cpu.mxcsr = 0x1F80;
  cpu.x87.fcw = 0x37F;
  cpu.x87.tag_empty = 0xFF;
  cpu.pat = 0x0007040600070406ull;
  cpu.apic_base = 0xFEE00900;
  if (info.host_decompressed) enter_64bit(cpu, ram, entry);
  info.kernel_addr = kKernelAddr;
  info.zero_page = kZeroPage;
  return info;
}

}  // namespace vireo::machine
