#include "../lib/guest.h"

struct tss32 tss __attribute__((aligned(16)));
static uint8_t esp0_stack[8192] __attribute__((aligned(16)));
extern char ring3_resume[];

/* The ring-3 code's way back: an IRET from the gate's handler to ring 0 pops no stack
   pointer, so ring3_resume restores the one ring3_call saved. */
static void ring3_exit(struct frame* f) {
  f->eip = (uint32_t)ring3_resume;
  f->cs = 0x08;
  f->eflags = 0x002;
  f->ds = f->es = 0x10;
}

void ring3_init(void) {
  tss.esp0 = (uint32_t)(esp0_stack + sizeof esp0_stack);
  tss.ss0 = 0x10;
  tss.iomap_base = sizeof tss;  /* no I/O permission bitmap */
  /* 32-bit TSS descriptor (SDM Vol. 3A 8.2.2): available, type 9, present, DPL 0. */
  uint32_t base = (uint32_t)&tss, limit = sizeof tss - 1;
  gdt[5] = (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | (0x89ull << 40) |
           ((uint64_t)(limit >> 16 & 0xF) << 48) | ((uint64_t)(base >> 24) << 56);
  __asm__ volatile("ltr %w0" ::"r"(0x28));
  idt_set_handler(RING3_EXIT_VECTOR, ring3_exit);
  idt_set_gate(RING3_EXIT_VECTOR, 3, 0, 0xE);
}
