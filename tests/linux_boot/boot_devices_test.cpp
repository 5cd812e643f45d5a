// Unit tests for the pieces of Linux boot that a boot only shows indirectly: the ACPI tables'
// checksums and pointers, the ACPI PM and reset devices, the console's panic watch, the
// bzImage zero page and entry state, and the loader chooser's refusal of a non-kernel.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "machine/console_watch.h"
#include "machine/devices/acpi_pm.h"
#include "machine/devices/reset_control.h"
#include "machine/guest_ram.h"
#include "machine/loaders/acpi_tables.h"
#include "machine/loaders/kernel_loader.h"

namespace vireo::machine {
namespace {

template <class T>
T at(const GuestRam& ram, uint64_t gpa) {
  T v;
  std::memcpy(&v, ram.at(gpa, sizeof v), sizeof v);
  return v;
}

uint8_t sum(const GuestRam& ram, uint64_t gpa, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = uint8_t(s + *ram.at(gpa + i));
  return s;
}

TEST(AcpiTables, RsdpFindsFadtAndDsdtWithValidChecksums) {
  GuestRam ram(4 << 20);
  uint64_t rsdp = build_acpi_tables(ram);
  ASSERT_GE(rsdp, 0xE0000u);
  ASSERT_LT(rsdp, 0x100000u);
  EXPECT_EQ(0, std::memcmp(ram.at(rsdp, 8), "RSD PTR ", 8));
  EXPECT_EQ(0, rsdp % 16);  // the kernel scans on 16-byte boundaries
  EXPECT_EQ(0, sum(ram, rsdp, 20));
  EXPECT_EQ(0, sum(ram, rsdp, 36));
  uint64_t xsdt = at<uint64_t>(ram, rsdp + 24);
  EXPECT_EQ(0, std::memcmp(ram.at(xsdt, 4), "XSDT", 4));
  EXPECT_EQ(0, sum(ram, xsdt, at<uint32_t>(ram, xsdt + 4)));
  uint32_t rsdt = at<uint32_t>(ram, rsdp + 16);
  uint32_t fadt = at<uint32_t>(ram, rsdt + 36);
  EXPECT_EQ(fadt, at<uint64_t>(ram, xsdt + 36));
  EXPECT_EQ(0, std::memcmp(ram.at(fadt, 4), "FACP", 4));
  EXPECT_EQ(0, sum(ram, fadt, at<uint32_t>(ram, fadt + 4)));
  EXPECT_EQ(acpi_ports::kPm1aControl, at<uint32_t>(ram, fadt + 64));
  EXPECT_EQ(acpi_ports::kResetReg, at<uint64_t>(ram, fadt + 116 + 4));
  uint32_t dsdt = at<uint32_t>(ram, fadt + 40);
  uint32_t dsdt_len = at<uint32_t>(ram, dsdt + 4);
  EXPECT_EQ(0, sum(ram, dsdt, dsdt_len));
  EXPECT_NE(nullptr, memmem(ram.at(dsdt, dsdt_len), dsdt_len, "_S5_", 4));
}

uint64_t fake_now = 0;
uint64_t fake_clock() { return fake_now; }

TEST(AcpiPm, SleepTypeFiveWithSleepEnablePowersOff) {
  MachineRequest req = MachineRequest::None;
  AcpiPm pm(req, &fake_clock);
  EXPECT_EQ(1u, pm.read(acpi_ports::kPm1aControl, 2) & 1);  // SCI_EN: always in ACPI mode
  pm.write(acpi_ports::kPm1aControl, 2, (3u << 10) | (1u << 13));  // S3: not modelled, nothing happens
  EXPECT_EQ(MachineRequest::None, req);
  pm.write(acpi_ports::kPm1aControl, 2, 5u << 10);  // SLP_TYP alone (ACPICA writes it first)
  EXPECT_EQ(MachineRequest::None, req);
  pm.write(acpi_ports::kPm1aControl, 2, (5u << 10) | (1u << 13));
  EXPECT_EQ(MachineRequest::PowerOff, req);
}

TEST(AcpiPm, TimerCountsAt3579545HzIn24Bits) {
  MachineRequest req = MachineRequest::None;
  AcpiPm pm(req, &fake_clock);
  fake_now = 1000000000;  // one second
  EXPECT_EQ(3579545u & 0xFFFFFF, pm.read(acpi_ports::kPmTimer, 4));
  fake_now = 10000000000;  // ten seconds: wrapped
  EXPECT_EQ(35795450u & 0xFFFFFF, pm.read(acpi_ports::kPmTimer, 4));
}

TEST(ResetControl, Cf9AndKeyboardControllerPulseReset) {
  MachineRequest req = MachineRequest::None;
  ResetControl rc(req);
  rc.write(0xCF9, 1, 0x02);  // SYS_RST without RST_CPU: armed, no reset yet
  EXPECT_EQ(MachineRequest::None, req);
  EXPECT_EQ(0x02u, rc.read(0xCF9, 1));
  rc.write(0xCF9, 1, 0x06);
  EXPECT_EQ(MachineRequest::Reset, req);
  req = MachineRequest::None;
  rc.write(0x64, 1, 0xAA);  // any other 8042 command: nothing
  EXPECT_EQ(MachineRequest::None, req);
  EXPECT_EQ(0xFFu, rc.read(0x64, 1));  // no keyboard controller
  rc.write(0x64, 1, 0xFE);
  EXPECT_EQ(MachineRequest::Reset, req);
}

TEST(ConsoleWatch, EndOfPanicLineGivesTheReason) {
  fake_now = 42;
  ConsoleWatch w(&fake_clock);
  auto feed = [&](const char* s) { for (; *s; ++s) w.on_byte(uint8_t(*s)); };
  feed("[    1.0] Kernel panic - not syncing: VFS: boom\r\n");
  EXPECT_FALSE(w.panic());  // the first line comes before the backtrace; the end line is last
  feed("[    1.1] ---[ end Kernel panic - not syncing: VFS: boom ]---\r\n");
  ASSERT_TRUE(w.panic());
  EXPECT_EQ("VFS: boom", *w.panic());
  EXPECT_EQ(42u, *w.first_byte_ns());
}

// A minimal bzImage: one setup sector plus the boot sector, protocol 2.15, a 4 KiB
// "protected-mode kernel" with no payload (so the guest-decompression entry is used).
std::vector<uint8_t> tiny_bzimage() {
  std::vector<uint8_t> f(2 * 512 + 4096, 0x90);
  auto put32 = [&](size_t off, uint32_t v) { std::memcpy(&f[off], &v, 4); };
  f[0x1F1] = 1;
  put32(0x1F4, 4096 / 16);  // syssize
  std::memcpy(&f[0x202], "HdrS", 4);
  f[0x206] = 0x0F; f[0x207] = 0x02;
  f[0x201] = 0x6A;  // header ends at 0x26C
  f[0x211] = 0x01;  // LOADED_HIGH
  put32(0x22C, 0x7FFFFFFF);  // initrd_addr_max
  put32(0x238, 2048);        // cmdline_size
  put32(0x248, 0); put32(0x24C, 0);  // no payload
  std::memset(&f[0x258], 0, 8);
  put32(0x260, 1 << 20);     // init_size
  return f;
}

TEST(LinuxBoot, ZeroPageAndThirtyTwoBitEntry) {
  GuestRam ram(64 << 20);
  CpuState cpu{};
  std::vector<uint8_t> k = tiny_bzimage(), initrd(10000, 0xAB);
  EXPECT_EQ(KernelFormat::LinuxBzImage, load_kernel({"tiny", &k, &initrd, "console=ttyS0 x=1"}, ram, cpu));
  uint64_t bp = cpu.gpr[RSI];
  EXPECT_EQ(0x100000u, cpu.rip);
  EXPECT_EQ(0x10, cpu.seg[SEG_CS].selector);
  EXPECT_EQ(0x18, cpu.seg[SEG_DS].selector);
  EXPECT_EQ(0u, cpu.rflags & 0x200);  // interrupts off
  EXPECT_EQ(0xFF, *ram.at(bp + 0x210));  // type_of_loader
  EXPECT_EQ(0, std::strcmp(reinterpret_cast<const char*>(ram.at(at<uint32_t>(ram, bp + 0x228))), "console=ttyS0 x=1"));
  EXPECT_EQ(4, *ram.at(bp + 0x1E8));  // e820 entries
  uint32_t rd = at<uint32_t>(ram, bp + 0x218);
  EXPECT_EQ(10000u, at<uint32_t>(ram, bp + 0x21C));
  EXPECT_EQ(0u, rd % 4096);
  EXPECT_LE(rd + 10000u, 64u << 20);
  EXPECT_EQ(0xAB, *ram.at(rd));
  EXPECT_EQ(0x90, *ram.at(0x100000));  // the protected-mode part at 1 MiB
}

TEST(LinuxBoot, TruncatedAndUnknownFilesAreOneLineErrors) {
  GuestRam ram(64 << 20);
  CpuState cpu{};
  std::vector<uint8_t> k = tiny_bzimage();
  k.resize(k.size() - 100);
  try {
    load_kernel({"cut", &k, nullptr, ""}, ram, cpu);
    FAIL() << "a truncated bzImage was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(nullptr, std::strstr(e.what(), "truncated bzImage"));
  }
  std::vector<uint8_t> junk(20000, 0x5A);
  try {
    load_kernel({"junk", &junk, nullptr, ""}, ram, cpu);
    FAIL() << "junk was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(nullptr, std::strstr(e.what(), "not a kernel Vireo can boot"));
  }
}

}  // namespace
}  // namespace vireo::machine
