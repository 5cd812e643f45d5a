#include "guest.h"

struct tss64 tss __attribute__((aligned(16)));
static uint8_t rsp0_stack[8192] __attribute__((aligned(16)));
static uint8_t ist_stacks[2][4096] __attribute__((aligned(16)));
extern uint64_t gdt[];
extern char ring3_resume[];
uint64_t ring3_kernel_rsp;

/* The ring-3 code's way back: the gate's handler rewrites the frame so that IRETQ lands on
   ring3_resume in ring 0 with the stack ring3_call saved. */
static void ring3_exit(struct frame* f) {
  f->rip = (uint64_t)ring3_resume;
  f->cs = 0x08;
  f->ss = 0x10;
  f->rsp = ring3_kernel_rsp;
  f->rflags = 0x002;
}

void gdt_set_system(uint64_t* table, int index, uint64_t base, uint32_t limit, int type) {
  table[index] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | ((uint64_t)(0x80 | type) << 40) |
                 ((uint64_t)(limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56);
  table[index + 1] = base >> 32;
}

void ring3_init(void) {
  tss.rsp[0] = (uint64_t)(rsp0_stack + sizeof rsp0_stack);
  tss.ist[0] = (uint64_t)(ist_stacks[0] + sizeof ist_stacks[0]);
  tss.ist[1] = (uint64_t)(ist_stacks[1] + sizeof ist_stacks[1]);
  tss.iomap_base = sizeof tss;  /* no I/O permission bitmap */
  gdt_set_system(gdt, 5, (uint64_t)&tss, sizeof tss - 1, 9);
  __asm__ volatile("ltr %w0" ::"r"(0x28));
  paging_allow_user();
  idt_set_handler(RING3_EXIT_VECTOR, ring3_exit);
  idt_set_gate(RING3_EXIT_VECTOR, 3, 0, 0xE);
}
