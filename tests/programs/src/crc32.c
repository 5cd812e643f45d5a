/* CRC-32 (table-driven and bitwise, must agree), CRC-32C, Adler-32 and FNV over generated
 * data, with the standard check values for "123456789". */
#include <string.h>
#include "common.h"

static uint32_t table[256], table_c[256];
static void make(uint32_t* t, uint32_t poly) {
  for (uint32_t i = 0; i < 256; i++) { uint32_t c = i; for (int k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >> 1) : c >> 1; t[i] = c; }
}
static uint32_t crc_table(const uint32_t* t, const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = t[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
static uint32_t crc_bitwise(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) { c ^= *p++; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1)); }
  return ~c;
}
static uint32_t adler32(const uint8_t* p, size_t n) {
  uint32_t a = 1, b = 0;
  while (n--) { a = (a + *p++) % 65521; b = (b + a) % 65521; }
  return b << 16 | a;
}

int main(void) {
  make(table, 0xEDB88320u);
  make(table_c, 0x82F63B78u);
  const uint8_t* check = (const uint8_t*)"123456789";
  printf("crc32(123456789)=%08x crc32c=%08x adler32=%08x\n", crc_table(table, check, 9), crc_table(table_c, check, 9), adler32(check, 9));
  CHECK(crc_table(table, check, 9) == 0xCBF43926u);
  CHECK(crc_table(table_c, check, 9) == 0xE3069283u);
  CHECK(adler32((const uint8_t*)"Wikipedia", 9) == 0x11E60398u);
  static uint8_t data[65536];
  rng_seed(32);
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)rng_next();
  for (size_t n = 1; n <= sizeof data; n *= 4) {
    uint32_t t = crc_table(table, data, n), b = crc_bitwise(data, n);
    printf("len %6zu crc32 %08x crc32c %08x adler %08x fnv %016llx\n", n, t, crc_table(table_c, data, n), adler32(data, n),
           (unsigned long long)fnv1a(data, n));
    CHECK(t == b);
  }
  fprintf(stderr, "crc32 done\n");
  return finish("crc32");
}
