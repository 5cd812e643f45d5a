#include "guest.h"

#define COM1 0x3F8

void serial_init(void) {
  outb(COM1 + 1, 0x00);  /* no interrupts */
  outb(COM1 + 3, 0x80);  /* DLAB */
  outb(COM1 + 0, 0x01);  /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03);  /* 8N1 */
  /* FCR stays as reset left it (FIFOs off): enabling the FIFOs clears the receiver, which
     would drop input that arrived before the guest got here. */
  outb(COM1 + 4, 0x0B);  /* DTR, RTS, OUT2 */
}

void serial_putc(char c) {
  while (!(inb(COM1 + 5) & 0x20)) {
  }
  outb(COM1, (uint8_t)c);
}

void kputs(const char* s) {
  while (*s) serial_putc(*s++);
}

void guest_exit(uint32_t code) {
  outl(0xF4, code);
  for (;;) {
    cli();
    hlt();
  }
}

size_t kstrlen(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int kstrcmp(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}

void* kmemcpy(void* d, const void* s, size_t n) {
  uint8_t* dp = d;
  const uint8_t* sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}

/* gcc may emit calls to these even in freestanding code. */
void* memcpy(void* d, const void* s, size_t n) { return kmemcpy(d, s, n); }
void* memset(void* d, int c, size_t n) {
  uint8_t* p = d;
  while (n--) *p++ = (uint8_t)c;
  return d;
}

const char* multiboot_args(const struct multiboot_info* mbi) {
  if (!(mbi->flags & (1u << 2))) return "";
  const char* s = (const char*)(uintptr_t)mbi->cmdline;
  while (*s && *s != ' ') s++;
  while (*s == ' ') s++;
  return s;
}
