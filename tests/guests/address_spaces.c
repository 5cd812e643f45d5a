/* Paging cases a system-mode translator must get exactly right (docs/jit.md "System mode"):
   an access that straddles two pages and faults on the second (CR2, error code, nothing
   written), rep stosq / rep movsq running into an unmapped page (the iterations before the
   fault done, rCX/rSI/rDI describing them: the system interpreter's page-at-a-time path), and CR3 switches between two address spaces that have different code at the same
   virtual address (blocks are keyed by physical and virtual pc). */
#include "lib/guest.h"

static uint8_t pages[2][4096] __attribute__((aligned(4096)));
static uint8_t code_a[4096] __attribute__((aligned(4096)));
static uint8_t code_b[4096] __attribute__((aligned(4096)));
/* Address space B: a copy of the boot PML4 whose slot 1 (512 GiB) leads elsewhere. */
static uint64_t pml4_b[512] __attribute__((aligned(4096)));
static uint64_t pdpt_b[512] __attribute__((aligned(4096)));
static uint64_t pd_b[512] __attribute__((aligned(4096)));
static uint64_t pt_b[512] __attribute__((aligned(4096)));

#define STRADDLE 0x40000000ull  /* mapped page, then an unmapped one */
#define SHARED_VA 0x8000000000ull  /* 512 GiB: code_a in space A, code_b in space B */

static void emit_return(uint8_t* p, uint32_t v) {
  p[0] = 0xB8;
  for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)(v >> (8 * i));
  p[5] = 0xC3;
}

typedef uint32_t (*fn_t)(void);

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  trap_catch(14);

  /* 1. #PF on the second page of a straddling access. */
  *paging_entry(STRADDLE, 1) = (uint64_t)pages[0] | PTE_P | PTE_W;
  *paging_entry(STRADDLE + 4096, 1) = 0;
  invlpg(STRADDLE);
  invlpg(STRADDLE + 4096);
  volatile uint32_t* last = (volatile uint32_t*)(STRADDLE + 4092);
  *last = 0x12345678;
  uint64_t v = 0;
  TRY("mov (%0), %%rcx\n\tmov %%rcx, (%1)", "r"(STRADDLE + 4092), "r"(&v));
  trap_report("8-byte load across into an unmapped page");
  TRY("mov %%rsi, (%0)", "r"(STRADDLE + 4093), "S"(0x1111111111111111ull));
  trap_report("8-byte store across into an unmapped page");
  kprintf("bytes before the boundary unchanged: %x\n", *last);
  TRY("movw $0x2222, (%0)", "r"(STRADDLE + 4095));
  trap_report("2-byte store across into an unmapped page");
  kprintf("last byte unchanged: %x\n", *last >> 24);
  for (int i = 0; i < 3; i++) {  /* again, once the faulting block is translated */
    TRY("mov (%0), %%ecx", "r"(STRADDLE + 4094));
    CHECK(trap.vector == 14 && trap.cr2 == STRADDLE + 4096);
  }
  kputs("the same fault on repeated runs: yes\n");

  /* rep stosq / rep movsq of 8 quadwords starting 2 (3) quadwords before the unmapped page. */
  static uint64_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint64_t* tail = (uint64_t*)(STRADDLE + 4096 - 24);
  tail[0] = tail[1] = tail[2] = 0;
  uint64_t rcx_after, rsi_after, rdi_after;
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS "mov %3, %%rax\n\tmov $8, %%rcx\n\tmov %4, %%rdi\n\t"
                   "2:\n\trep stosq\n1:\n\tmov %%rcx, %0\n\tmov %%rdi, %1"
                   : "=m"(rcx_after), "=m"(rdi_after), "=m"(rsi_after)
                   : "r"(0x5555555555555555ull), "r"(STRADDLE + 4096 - 16)
                   : "rax", "rcx", "rdx", "rdi", "memory");
  trap_report("rep stosq into an unmapped page");
  kprintf("  rcx=%lx rdi=%lx, written: %lx %lx %lx\n", rcx_after, rdi_after, tail[0], tail[1], tail[2]);
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS "mov $8, %%rcx\n\tmov %3, %%rsi\n\tmov %4, %%rdi\n\t"
                   "2:\n\trep movsq\n1:\n\tmov %%rcx, %0\n\tmov %%rdi, %1\n\tmov %%rsi, %2"
                   : "=m"(rcx_after), "=m"(rdi_after), "=m"(rsi_after)
                   : "r"(src), "r"(STRADDLE + 4096 - 24)
                   : "rax", "rcx", "rdx", "rsi", "rdi", "memory");
  trap_report("rep movsq into an unmapped page");
  kprintf("  rcx=%lx rsi=src+%lx rdi=%lx, written: %lx %lx %lx\n", rcx_after, rsi_after - (uint64_t)src, rdi_after,
          tail[0], tail[1], tail[2]);

  /* 2. Two address spaces with different code at one virtual address. */
  emit_return(code_a, 0xA);
  emit_return(code_b, 0xB);
  *paging_entry(SHARED_VA, 1) = (uint64_t)code_a | PTE_P;
  uint64_t cr3_a = READ_CR(3);
  const uint64_t* pml4_a = (const uint64_t*)(cr3_a & PTE_ADDR);
  for (int i = 0; i < 512; i++) pml4_b[i] = pml4_a[i];
  pml4_b[1] = (uint64_t)pdpt_b | PTE_P | PTE_W;
  pdpt_b[0] = (uint64_t)pd_b | PTE_P | PTE_W;
  pd_b[0] = (uint64_t)pt_b | PTE_P | PTE_W;
  pt_b[0] = (uint64_t)code_b | PTE_P;
  uint64_t cr3_b = (uint64_t)pml4_b;
  char trace[17];
  for (int i = 0; i < 16; i++) {
    WRITE_CR(3, (i & 1) ? cr3_b : cr3_a);
    trace[i] = "0123456789ABCDEF"[((fn_t)SHARED_VA)()];
  }
  trace[16] = 0;
  WRITE_CR(3, cr3_a);
  kprintf("code at %lx across CR3 switches: %s\n", SHARED_VA, trace);
  return 0;
}
