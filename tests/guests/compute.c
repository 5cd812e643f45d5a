/* Pure computation with no device in the loop: a sieve, 64-bit Fibonacci and a CRC-32. */
#include "lib/guest.h"

static uint8_t composite[20000];

static uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) {
    c ^= *p++;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
  }
  return ~c;
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  int primes = 0;
  for (uint32_t i = 2; i < sizeof composite; i++) {
    if (composite[i]) continue;
    primes++;
    for (uint32_t j = i * 2; j < sizeof composite; j += i) composite[j] = 1;
  }
  kprintf("primes below 20000: %d\n", primes);
  uint64_t a = 0, b = 1;
  for (int i = 0; i < 90; i++) {
    uint64_t t = a + b;
    a = b;
    b = t;
  }
  kprintf("fib(90): %lu\n", a);
  kprintf("crc32(\"123456789\"): %08x\n", crc32((const uint8_t*)"123456789", 9));
  return 0;
}
