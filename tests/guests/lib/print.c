/* kprintf: %s %c %d %u %x %p with optional '0' flag, width and 'l' length. */
#include "guest.h"

/* unsigned long: 64 bits in 64-bit guests, 32 in 32-bit ones (which have no 64-bit division). */
static void put_number(unsigned long v, int base, bool negative, int width, char pad) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v % (unsigned long)base];
    v /= (unsigned long)base;
  } while (v);
  if (negative) buf[n++] = '-';
  while (n < width) buf[n++] = pad;
  while (n) serial_putc(buf[--n]);
}

void kprintf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      serial_putc(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0, longs = 0;
    if (*fmt == '0') pad = '0', fmt++;
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') longs++, fmt++;
    switch (*fmt) {
      case 's': kputs(va_arg(ap, const char*)); break;
      case 'c': serial_putc((char)va_arg(ap, int)); break;
      case 'd': {
        long v = longs ? va_arg(ap, long) : va_arg(ap, int);
        put_number(v < 0 ? (unsigned long)-v : (unsigned long)v, 10, v < 0, width, pad);
        break;
      }
      case 'u': put_number(longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, false, width, pad); break;
      case 'x': put_number(longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, false, width, pad); break;
      case 'p': kputs("0x"); put_number((unsigned long)va_arg(ap, void*), 16, false, width, pad); break;
      case '%': serial_putc('%'); break;
      default: serial_putc('?'); break;
    }
  }
  va_end(ap);
}
