#include "../lib/guest.h"

struct idt_entry {
  uint16_t offset_lo, selector;
  uint8_t zero, type_attr;
  uint16_t offset_hi;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(8)));
static handler_fn handlers[256];
extern char isr_stubs_start[];

void idt_init(void) {
  for (int v = 0; v < 256; v++) {
    uint32_t addr = (uint32_t)(isr_stubs_start + 16 * v);
    idt[v].offset_lo = (uint16_t)addr;
    idt[v].selector = 0x08;
    idt[v].zero = 0;
    idt[v].type_attr = 0x8E;  /* present, DPL 0, 32-bit interrupt gate */
    idt[v].offset_hi = (uint16_t)(addr >> 16);
  }
  struct {
    uint16_t limit;
    uint32_t base;
  } __attribute__((packed)) ptr = {sizeof idt - 1, (uint32_t)idt};
  __asm__ volatile("lidt %0" ::"m"(ptr));
}

void idt_set_handler(int vector, handler_fn fn) { handlers[vector] = fn; }

void idt_set_gate(int vector, int dpl, int ist, int type) {
  idt[vector].type_attr = (uint8_t)(0x80 | (dpl << 5) | type);
}

void isr_dispatch(struct frame* f) {
  if (handlers[f->vector]) {
    handlers[f->vector](f);
    return;
  }
  kprintf("unexpected interrupt: vector %d, error code %x, eip %x, cs %x\n", (int)f->vector, f->error_code, f->eip,
          f->cs);
  guest_exit(0x7E);
}

void idt_set_present(int vector, bool present) {
  idt[vector].type_attr = (uint8_t)((idt[vector].type_attr & 0x7F) | (present ? 0x80 : 0));
}
