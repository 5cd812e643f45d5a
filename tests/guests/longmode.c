/* The switch from the Multiboot entry (32-bit protected mode) into long mode, checked from
   the inside: CPUID says long mode exists, EFER.LMA is on, paging and PAE are on, CS is a
   64-bit segment, and 64-bit arithmetic and addressing work. */
#include "lib/guest.h"

static uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  kprintf("entered with multiboot magic %x\n", magic);
  uint32_t a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001), "c"(0));
  kprintf("cpuid long mode: %s\n", (d >> 29) & 1 ? "yes" : "no");
  uint64_t efer = rdmsr(0xC0000080);
  kprintf("efer.lme: %d, efer.lma: %d\n", (int)(efer >> 8) & 1, (int)(efer >> 10) & 1);
  kprintf("cr0.pg: %d, cr0.pe: %d, cr4.pae: %d\n", (int)(read_cr0() >> 31) & 1, (int)read_cr0() & 1,
          (int)(read_cr4() >> 5) & 1);
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  kprintf("cs: %x\n", cs);
  volatile uint64_t x = 0x123456789ull;
  uint64_t y = x * 0x10001ull + (x << 20);
  kprintf("64-bit arithmetic: %lx\n", y);
  /* An address above 4 GiB would not exist in 32-bit mode; RIP-relative addressing does. */
  static const char probe[] = "rip-relative";
  const char* p;
  __asm__("lea %1, %0" : "=r"(p) : "m"(probe));
  kprintf("%s addressing: %s\n", p, p == probe ? "ok" : "wrong");
  CHECK(magic == 0x2BADB002 && ((efer >> 10) & 1) && cs == 0x08);
  kputs("long mode: ok\n");
  return 0;
}
