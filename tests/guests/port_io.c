/* Port I/O through the machine's port bus in every form: IN/OUT with an immediate port and
   with DX, byte/word/dword widths on an unassigned port (all-ones), and the string forms
   OUTSB/INSB with REP, both directions (DF), their RSI/RDI/RCX updates. The PIC's interrupt
   mask registers are the read-write ports: what goes out comes back. */
#include "lib/guest.h"

static uint8_t out_bytes[4] = {0xF1, 0xE2, 0xD3, 0xC4};
static uint8_t in_bytes[8];

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();  /* IF stays 0 throughout: the IMR values written below deliver nothing */

  kputs("-- in/out\n");
  uint8_t b;
  __asm__ volatile("mov $0xa5, %%al\n\toutb %%al, $0x21\n\tinb $0x21, %%al" : "=a"(b));
  kprintf("imm8 port: out a5 to 0x21, in %x\n", b);
  __asm__ volatile("mov $0x5a, %%al\n\tmov $0xa1, %%dx\n\toutb %%al, %%dx\n\tinb %%dx, %%al" : "=a"(b)::"rdx");
  kprintf("dx port: out 5a to 0xa1, in %x\n", b);
  uint32_t w, d;
  __asm__ volatile("mov $0x2f8, %%dx\n\tinb %%dx, %%al" : "=a"(b)::"rdx");
  __asm__ volatile("mov $0x2f8, %%dx\n\txor %%eax, %%eax\n\tinw %%dx, %%ax" : "=a"(w)::"rdx");
  __asm__ volatile("mov $0x2f8, %%dx\n\tinl %%dx, %%eax" : "=a"(d)::"rdx");
  kprintf("unassigned port 0x2f8: inb %x, inw %x, inl %x\n", b, w, d);

  kputs("-- string i/o\n");
  uint64_t rsi, rdi, rcx;
  __asm__ volatile("cld\n\tmov $0x21, %%dx\n\trep outsb"
                   : "=S"(rsi), "=c"(rcx)
                   : "S"(out_bytes), "c"(3ul)
                   : "rdx", "memory");
  kprintf("rep outsb x3: rsi advanced %ld, rcx %ld, imr %x\n", (long)(rsi - (uint64_t)out_bytes), (long)rcx,
          inb(0x21));
  __asm__ volatile("cld\n\tmov $0x21, %%dx\n\trep insb"
                   : "=D"(rdi), "=c"(rcx)
                   : "D"(in_bytes), "c"(2ul)
                   : "rdx", "memory");
  kprintf("rep insb x2: rdi advanced %ld, rcx %ld, bytes %x %x %x\n", (long)(rdi - (uint64_t)in_bytes), (long)rcx,
          in_bytes[0], in_bytes[1], in_bytes[2]);
  __asm__ volatile("std\n\tmov $0xa1, %%dx\n\trep outsb\n\tcld"
                   : "=S"(rsi), "=c"(rcx)
                   : "S"(out_bytes + 3), "c"(2ul)
                   : "rdx", "memory");
  kprintf("std; rep outsb x2 from the end: rsi moved %ld, slave imr %x\n", (long)(rsi - (uint64_t)(out_bytes + 3)),
          inb(0xA1));
  __asm__ volatile("std\n\tmov $0xa1, %%dx\n\tinsb\n\tcld" : "=D"(rdi) : "D"(in_bytes + 5) : "rdx", "memory");
  kprintf("std; insb: rdi moved %ld, byte %x\n", (long)(rdi - (uint64_t)(in_bytes + 5)), in_bytes[5]);
  __asm__ volatile("cld\n\tmov $0x21, %%dx\n\trep outsb"
                   : "=S"(rsi), "=c"(rcx)
                   : "S"(out_bytes), "c"(0ul)
                   : "rdx", "memory");
  kprintf("rep outsb with rcx=0: rsi moved %ld, imr %x\n", (long)(rsi - (uint64_t)out_bytes), inb(0x21));
  outb(0x21, 0xFF);
  outb(0xA1, 0xFF);
  return 0;
}
