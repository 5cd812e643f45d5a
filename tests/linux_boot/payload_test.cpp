// Unit tests of the bzImage payload unpacked straight into guest RAM (machine/loaders/
// linux_payload.cpp): a small vmlinux ELF built here, compressed with XZ (CRC32, as the kernel
// build does) and gzip, in a minimal bzImage; its segments must land at their physical
// addresses with the padding between them dropped and the bss cleared, the entry must be
// translated, and a corrupt stream or a wrong check must be a one-line error.
#include <elf.h>
#include <gtest/gtest.h>
#include <lzma.h>
#include <zlib.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"
#include "machine/guest_ram.h"
#include "machine/loaders/kernel_loader.h"

namespace vireo::machine {
namespace {

constexpr uint64_t kText = 0x1000000, kData = 0x1200000;

// An ELF64 with two PT_LOADs listed in the reverse of their file order (data first), padding
// between them, a bss in the data segment and a virtual entry point; `overlap` makes the
// second segment share file bytes with the first (the loader then unpacks the image whole).
std::vector<uint8_t> tiny_vmlinux(bool overlap = false) {
  std::vector<uint8_t> v(0x3000, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_entry = 0xffffffff81000010;  // virtual: text + 0x10
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  std::memcpy(v.data(), &eh, sizeof eh);
  Elf64_Phdr data{PT_LOAD, PF_R | PF_W, overlap ? 0x1800u : 0x2000u, 0xffffffff81200000, kData, 0x800, 0x3000, 0x1000};
  Elf64_Phdr text{PT_LOAD, PF_R | PF_X, 0x1000, 0xffffffff81000000, kText, 0x1000, 0x1000, 0x1000};
  std::memcpy(v.data() + sizeof eh, &data, sizeof data);
  std::memcpy(v.data() + sizeof eh + sizeof data, &text, sizeof text);
  for (size_t i = 0x1000; i < 0x2000; ++i) v[i] = uint8_t(i * 7);
  for (size_t i = 0x2000; i < 0x2800; ++i) v[i] = uint8_t(i * 13 + 1);
  for (size_t i = 0x2800; i < 0x3000; ++i) v[i] = 0x77;  // after the segments: not loaded
  return v;
}

std::vector<uint8_t> xz(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(in.size() + 1024);
  size_t n = 0;
  EXPECT_EQ(LZMA_OK, lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(), &n,
                                             out.size()));
  out.resize(n);
  return out;
}

std::vector<uint8_t> gz(const std::vector<uint8_t>& in) {
  z_stream s{};
  EXPECT_EQ(Z_OK, deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY));
  std::vector<uint8_t> out(deflateBound(&s, uLong(in.size())));
  s.next_in = const_cast<uint8_t*>(in.data());
  s.avail_in = uInt(in.size());
  s.next_out = out.data();
  s.avail_out = uInt(out.size());
  EXPECT_EQ(Z_STREAM_END, deflate(&s, Z_FINISH));
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A minimal bzImage (protocol 2.15) whose payload is `payload`, followed by the le32 size.
std::vector<uint8_t> bzimage(const std::vector<uint8_t>& payload, uint32_t vmlinux_size) {
  std::vector<uint8_t> f(2 * 512, 0);
  auto put32 = [&](size_t off, uint32_t v) { std::memcpy(&f[off], &v, 4); };
  const size_t pm = payload.size() + 4 + 16;
  f[0x1F1] = 1;
  put32(0x1F4, uint32_t((pm + 15) / 16));  // syssize
  std::memcpy(&f[0x202], "HdrS", 4);
  f[0x206] = 0x0F;
  f[0x207] = 0x02;
  f[0x201] = 0x6A;
  f[0x211] = 0x01;           // LOADED_HIGH
  put32(0x22C, 0x7FFFFFFF);  // initrd_addr_max
  put32(0x238, 2048);        // cmdline_size
  put32(0x248, 16);          // payload_offset (from the protected-mode part)
  put32(0x24C, uint32_t(payload.size() + 4));
  put32(0x260, 4 << 20);     // init_size
  f.resize(f.size() + 16, 0x90);
  f.insert(f.end(), payload.begin(), payload.end());
  for (int i = 0; i < 4; ++i) f.push_back(uint8_t(vmlinux_size >> (8 * i)));
  f.resize(2 * 512 + (pm + 15) / 16 * 16, 0);
  return f;
}

void expect_loaded(const std::vector<uint8_t>& k, const std::vector<uint8_t>& v, size_t data_offset = 0x2000) {
  GuestRam ram(64 << 20);
  std::memset(ram.at(kData, 0x3000), 0xEE, 0x3000);  // (the bss must be cleared)
  CpuState cpu{};
  EXPECT_EQ(KernelFormat::LinuxBzImage, load_kernel({"tiny", &k, nullptr, ""}, ram, cpu));
  EXPECT_EQ(kText + 0x10, cpu.rip);  // the 64-bit entry, translated from the virtual e_entry
  EXPECT_EQ(0, std::memcmp(ram.at(kText, 0x1000), v.data() + 0x1000, 0x1000));
  EXPECT_EQ(0, std::memcmp(ram.at(kData, 0x800), v.data() + data_offset, 0x800));
  for (uint64_t a = kData + 0x800; a < kData + 0x3000; ++a) ASSERT_EQ(0, *ram.at(a)) << std::hex << a;
}

std::string load_error(const std::vector<uint8_t>& k) {
  GuestRam ram(64 << 20);
  CpuState cpu{};
  try {
    load_kernel({"bad", &k, nullptr, ""}, ram, cpu);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(LinuxPayload, XzSegmentsGoStraightToTheirPhysicalAddresses) {
  std::vector<uint8_t> v = tiny_vmlinux();
  expect_loaded(bzimage(xz(v), uint32_t(v.size())), v);
}

TEST(LinuxPayload, GzipSegmentsGoStraightToTheirPhysicalAddresses) {
  std::vector<uint8_t> v = tiny_vmlinux();
  expect_loaded(bzimage(gz(v), uint32_t(v.size())), v);
}

TEST(LinuxPayload, SegmentsSharingFileBytesAreUnpackedWholeFirst) {
  std::vector<uint8_t> v = tiny_vmlinux(true);
  expect_loaded(bzimage(xz(v), uint32_t(v.size())), v, 0x1800);
}

TEST(LinuxPayload, CorruptStreamAndWrongCheckAreOneLineErrors) {
  std::vector<uint8_t> v = tiny_vmlinux();
  std::vector<uint8_t> c = xz(v);
  // The CRC32 of the block sits just before the index; the last 12 bytes are the stream
  // footer, the index before it: flip a byte of the data instead, then of the check.
  std::vector<uint8_t> bad_data = c;
  bad_data[bad_data.size() / 2] ^= 0x40;
  EXPECT_NE(std::string::npos, load_error(bzimage(bad_data, uint32_t(v.size()))).find("XZ payload is corrupt or truncated"));
  std::vector<uint8_t> cut(c.begin(), c.begin() + long(c.size() / 2));
  EXPECT_NE(std::string::npos, load_error(bzimage(cut, uint32_t(v.size()))).find("XZ payload is corrupt or truncated"));
  std::vector<uint8_t> g = gz(v);
  g.resize(g.size() / 2);
  EXPECT_NE(std::string::npos, load_error(bzimage(g, uint32_t(v.size()))).find("gzip payload is corrupt or truncated"));
  std::vector<uint8_t> far = tiny_vmlinux();
  const uint64_t phoff = 0x40000000;  // program headers said to be 1 GiB on
  std::memcpy(far.data() + offsetof(Elf64_Ehdr, e_phoff), &phoff, 8);
  EXPECT_NE(std::string::npos, load_error(bzimage(xz(far), uint32_t(far.size()))).find("corrupt program header table"));
  std::vector<uint8_t> not_elf(0x2000, 0x11);
  EXPECT_NE(std::string::npos, load_error(bzimage(xz(not_elf), 0x2000)).find("the unpacked vmlinux is not an ELF64 file"));
}

TEST(LinuxPayload, WrongXzCheckIsRefused) {
  std::vector<uint8_t> v = tiny_vmlinux();
  std::vector<uint8_t> c = xz(v);
  // Find the block's CRC32 (the uncompressed data's) in the stream and change it.
  const uint32_t crc = uint32_t(lzma_crc32(v.data(), v.size(), 0));
  size_t at = std::string::npos;
  for (size_t i = 0; i + 4 <= c.size(); ++i)
    if (std::memcmp(&c[i], &crc, 4) == 0) at = i;
  ASSERT_NE(std::string::npos, at);
  c[at] ^= 1;
  EXPECT_NE(std::string::npos, load_error(bzimage(c, uint32_t(v.size()))).find("XZ payload is corrupt or truncated"));
}

}  // namespace
}  // namespace vireo::machine
