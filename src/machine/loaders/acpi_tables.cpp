#include "machine/loaders/acpi_tables.h"

#include <cstring>
#include <string>

#include "machine/loaders/boot_common.h"

namespace vireo::machine {

namespace {

constexpr char kOemId[7] = "VIREO ";
constexpr char kOemTable[9] = "VIREOPC ";

uint8_t checksum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = uint8_t(s + p[i]);
  return uint8_t(-s);
}

// The 36-byte header every description table starts with (ACPI 5.2.6); the checksum is
// filled in once the body is written.
void header(uint8_t* t, const char sig[5], uint32_t length, uint8_t revision) {
  std::memcpy(t, sig, 4);
  put<uint32_t>(t, 4, length);
  t[8] = revision;
  std::memcpy(t + 10, kOemId, 6);
  std::memcpy(t + 16, kOemTable, 8);
  put<uint32_t>(t, 24, 1);                // OEM revision
  std::memcpy(t + 28, "VIRO", 4);         // creator ID
  put<uint32_t>(t, 32, 1);                // creator revision
}

void seal(uint8_t* t) {
  uint32_t len;
  std::memcpy(&len, t + 4, 4);
  t[9] = 0;
  t[9] = checksum(t, len);
}

// A Generic Address Structure (ACPI 5.2.3.2) for a system-I/O register.
void gas_io(uint8_t* p, size_t off, uint16_t port, uint8_t bits, uint8_t access_size) {
  p[off] = 1;  // system I/O space
  p[off + 1] = bits;
  p[off + 2] = 0;
  p[off + 3] = access_size;  // 1 byte, 2 word, 3 dword
  put<uint64_t>(p, off + 4, port);
}

}  // namespace

uint64_t build_acpi_tables(GuestRam& ram) {
  using namespace acpi_ports;
  constexpr uint64_t rsdp = kAcpiTablesBase;        // 36 bytes
  constexpr uint64_t rsdt = rsdp + 0x40;            // 36 + 4
  constexpr uint64_t xsdt = rsdt + 0x40;            // 36 + 8
  constexpr uint64_t facs = rsdp + 0x100;           // 64, 64-byte aligned
  constexpr uint64_t fadt = rsdp + 0x200;           // 244
  constexpr uint64_t dsdt = rsdp + 0x300;
  uint8_t* base = ram.at(kAcpiTablesBase, 0x1000);
  if (!base) return 0;
  std::memset(base, 0, 0x1000);

  // DSDT: Name (_S5, Package () { 5, 5, 0, 0 }) in AML (ACPI 20.2): NameOp NameString
  // PackageOp PkgLength NumElements BytePrefix 5 BytePrefix 5 ZeroOp ZeroOp.
  static const uint8_t aml[] = {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, kSlpTypS5, 0x0A, kSlpTypS5, 0x00, 0x00};
  uint8_t* d = base + (dsdt - kAcpiTablesBase);
  header(d, "DSDT", uint32_t(36 + sizeof aml), 2);
  std::memcpy(d + 36, aml, sizeof aml);
  seal(d);

  uint8_t* fc = base + (facs - kAcpiTablesBase);
  std::memcpy(fc, "FACS", 4);
  put<uint32_t>(fc, 4, 64);
  fc[32] = 2;  // version

  // FADT, revision 4 layout (244 bytes; ACPI 5.2.9).
  uint8_t* f = base + (fadt - kAcpiTablesBase);
  header(f, "FACP", 244, 4);
  put<uint32_t>(f, 36, uint32_t(facs));
  put<uint32_t>(f, 40, uint32_t(dsdt));
  f[45] = 0;                                   // preferred PM profile: unspecified
  put<uint16_t>(f, 46, kSciIrq);
  put<uint32_t>(f, 48, 0);                     // SMI_CMD 0: the machine is always in ACPI mode
  put<uint32_t>(f, 56, kPm1aEvent);
  put<uint32_t>(f, 64, kPm1aControl);
  put<uint32_t>(f, 76, kPmTimer);
  f[88] = 4;                                   // PM1_EVT_LEN
  f[89] = 2;                                   // PM1_CNT_LEN
  f[91] = 4;                                   // PM_TMR_LEN
  put<uint16_t>(f, 96, 101);                   // P_LVL2_LAT > 100: C2 not supported
  put<uint16_t>(f, 98, 1001);                  // P_LVL3_LAT > 1000: C3 not supported
  // IAPC_BOOT_ARCH: no 8042 (the kernel skips probing a keyboard controller; port 0x64
  // serves only the reset line), no VGA, no MSI.
  put<uint16_t>(f, 109, (1u << 2) | (1u << 3));
  // Flags: WBINVD works, power and sleep buttons are not fixed features, RESET_REG supported.
  put<uint32_t>(f, 112, (1u << 0) | (1u << 4) | (1u << 5) | (1u << 10));
  gas_io(f, 116, kResetReg, 8, 1);
  f[128] = kResetValue;
  put<uint64_t>(f, 132, facs);
  put<uint64_t>(f, 140, dsdt);
  gas_io(f, 148, kPm1aEvent, 32, 2);
  gas_io(f, 172, kPm1aControl, 16, 2);
  gas_io(f, 208, kPmTimer, 32, 3);
  seal(f);

  uint8_t* r = base + (rsdt - kAcpiTablesBase);
  header(r, "RSDT", 36 + 4, 1);
  put<uint32_t>(r, 36, uint32_t(fadt));
  seal(r);
  uint8_t* x = base + (xsdt - kAcpiTablesBase);
  header(x, "XSDT", 36 + 8, 1);
  put<uint64_t>(x, 36, fadt);
  seal(x);

  // RSDP, ACPI 2.0 form (5.2.5.3): the first 20 bytes have their own checksum.
  uint8_t* p = base;
  std::memcpy(p, "RSD PTR ", 8);
  std::memcpy(p + 9, kOemId, 6);
  p[15] = 2;
  put<uint32_t>(p, 16, uint32_t(rsdt));
  put<uint32_t>(p, 20, 36);
  put<uint64_t>(p, 24, xsdt);
  p[8] = checksum(p, 20);
  p[32] = checksum(p, 36);
  return rsdp;
}

}  // namespace vireo::machine
