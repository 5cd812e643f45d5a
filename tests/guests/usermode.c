/* Paging with a ring-3 task: the kernel builds its own page tables mapping a user code page
   (read-only) and a user stack page at 512 GiB with the U/S bit, enters ring 3 with SYSRET,
   and serves the task's system calls (SYSCALL) — report CS, write a string the kernel reads
   through the user mapping, exit with a value computed in ring 3. */
#include "lib/guest.h"

#define USER_BASE 0x8000000000ull  /* PML4 slot 1: nothing else lives there */

extern char user_code_start[], user_code_end[];
extern void syscall_entry(void);
extern void enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));
extern uint64_t boot_pml4[];

static uint64_t user_pdpt[512] __attribute__((aligned(4096)));
static uint64_t user_pd[512] __attribute__((aligned(4096)));
static uint64_t user_pt[512] __attribute__((aligned(4096)));
static uint8_t user_code_page[4096] __attribute__((aligned(4096)));
static uint8_t user_stack_page[4096] __attribute__((aligned(4096)));

long syscall_dispatch(long nr, uint64_t a1, uint64_t a2) {
  switch (nr) {
    case 1:
      kprintf("sys_report_cs: cs=%lx, cpl=%d\n", a1, (int)(a1 & 3));
      return 0;
    case 2: {
      /* The string lives in the user's code page; read it through the user mapping. */
      if (a1 < USER_BASE || a1 + a2 > USER_BASE + 0x2000) return -14;
      kputs("sys_write: ");
      for (uint64_t i = 0; i < a2; i++) serial_putc(((const char*)a1)[i]);
      return (long)a2;
    }
    case 3:
      kprintf("sys_exit: %d\n", (int)a1);
      guest_exit(0);
  }
  return -38;
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  kmemcpy(user_code_page, user_code_start, (size_t)(user_code_end - user_code_start));
  boot_pml4[1] = (uint64_t)user_pdpt | PTE_P | PTE_W | PTE_U;
  user_pdpt[0] = (uint64_t)user_pd | PTE_P | PTE_W | PTE_U;
  user_pd[0] = (uint64_t)user_pt | PTE_P | PTE_W | PTE_U;
  user_pt[0] = (uint64_t)user_code_page | PTE_P | PTE_U;               /* code: read-only */
  user_pt[1] = (uint64_t)user_stack_page | PTE_P | PTE_W | PTE_U;      /* stack */
  __asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" ::: "rax", "memory");  /* flush the TLB */
  kprintf("user pages mapped at %lx\n", USER_BASE);

  wrmsr(0xC0000080, rdmsr(0xC0000080) | 1);                  /* EFER.SCE */
  wrmsr(0xC0000081, (0x13ull << 48) | (0x08ull << 32));      /* STAR: SYSRET base 0x10|3, SYSCALL 0x08 */
  wrmsr(0xC0000082, (uint64_t)syscall_entry);                /* LSTAR */
  wrmsr(0xC0000084, 0x700);                                  /* FMASK: IF, TF, DF */
  kputs("entering ring 3\n");
  enter_user(USER_BASE, USER_BASE + 0x2000);
}
