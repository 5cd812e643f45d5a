/* Paging without long mode, in 32-bit protected mode: first 32-bit paging (4 KiB pages and,
   with CR4.PSE, 4 MiB pages), then PAE paging (2 MiB pages, 64-bit entries, NX through
   EFER.NXE, reserved bits). Each part checks a read through a remapped window, accessed and
   dirty bits read back from the tables, #PF error codes and CR2 from ring 0 and ring 3. */
#include "lib/guest.h"

#define P 1u
#define W 2u
#define U 4u
#define A 0x20u
#define D 0x40u
#define PS 0x80u
#define NX (1ull << 63)
#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_PAE 0x20u
#define WIN 0x40000000u  /* test pages: WIN + n * 0x1000 */

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32_low[1024] __attribute__((aligned(4096)));  /* identity, 0-4 MiB */
static uint32_t pt32_win[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_low[512] __attribute__((aligned(4096)));     /* identity, 0-1 GiB */
static uint64_t pd_win[512] __attribute__((aligned(4096)));
static uint64_t pt_win[512] __attribute__((aligned(4096)));
static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint8_t code_page[4096] __attribute__((aligned(4096)));
static volatile uint32_t marker = 0x600dcafe;

static uint32_t va(int n, uint32_t offset) { return WIN + 0x1000u * n + offset; }
static void read_at(const char* what, uint32_t addr) { TRY("mov (%0), %%ecx", "r"(addr)); trap_report(what); }
static void write_at(const char* what, uint32_t addr) { TRY("movl $0x5a5a5a5a, (%0)", "r"(addr)); trap_report(what); }

/* Ring-3 accesses, reported by the kernel afterwards. */
static uint32_t user_addr[4];
static void user_accesses(void) {
  TRY("mov (%0), %%ecx", "r"(user_addr[0]));
  trap_save(0);
  TRY("movl $1, (%0)", "r"(user_addr[1]));
  trap_save(1);
  TRY("mov (%0), %%ecx", "r"(user_addr[2]));
  trap_save(2);
}
static void ring3_part(const char* a, const char* b, const char* c) {
  ring3_call(user_accesses, 0x002);
  trap_report_saved(0, a);
  trap_report_saved(1, b);
  trap_report_saved(2, c);
}

static void paging32(void) {
  kputs("-- 32-bit paging\n");
  for (int i = 0; i < 1024; i++) pt32_low[i] = (i << 12) | P | W | U;
  pd32[0] = (uint32_t)pt32_low | P | W | U;
  pd32[WIN >> 22] = (uint32_t)pt32_win | P | W | U;
  pt32_win[0] = (uint32_t)page_a | P | W;           /* supervisor read-write */
  pt32_win[1] = (uint32_t)page_b | P | U;           /* user read-only */
  pt32_win[2] = 0;                                  /* not present */
  pd32[(WIN >> 22) + 1] = 0x00000000 | P | W | PS;  /* a 4 MiB page over physical 0 */
  WRITE_CR(3, pd32);
  WRITE_CR(4, READ_CR(4) | CR4_PSE);
  WRITE_CR(0, READ_CR(0) | CR0_PG | CR0_WP);
  kprintf("cr0 pg=%d wp=%d, cr4 pse=%d pae=%d\n", (READ_CR(0) & CR0_PG) != 0, (READ_CR(0) & CR0_WP) != 0,
          (READ_CR(4) & CR4_PSE) != 0, (READ_CR(4) & CR4_PAE) != 0);

  *(volatile uint32_t*)page_a = 0xAAAA0001;
  kprintf("PTE before: %03x\n", pt32_win[0] & 0xFFF);
  kprintf("read through window: %x\n", *(volatile uint32_t*)va(0, 0));
  kprintf("PTE after read: %03x\n", pt32_win[0] & 0xFFF);
  *(volatile uint32_t*)va(0, 4) = 0xAAAA0002;
  kprintf("PTE after write: %03x, page_a[1] = %x\n", pt32_win[0] & 0xFFF, ((volatile uint32_t*)page_a)[1]);
  kprintf("PDE of the window's table after use: %03x\n", pd32[WIN >> 22] & 0xFFF);

  uint32_t big = WIN + 0x400000u + (uint32_t)&marker;
  kprintf("4 MiB PDE before: %03x\n", pd32[(WIN >> 22) + 1] & 0xFFF);
  kprintf("read through 4 MiB page: %x\n", *(volatile uint32_t*)big);
  kprintf("4 MiB PDE after read: %03x\n", pd32[(WIN >> 22) + 1] & 0xFFF);
  *(volatile uint32_t*)big = 0x12345678;
  kprintf("4 MiB PDE after write: %03x, marker = %x\n", pd32[(WIN >> 22) + 1] & 0xFFF, marker);

  read_at("read, not present", va(2, 0x123));
  write_at("write, not present", va(2, 0x456));
  read_at("read, PDE not present", WIN + 0x800000u + 0x10);
  write_at("write, user read-only page, WP=1", va(1, 0x20));
  WRITE_CR(0, READ_CR(0) & ~CR0_WP);
  write_at("write, user read-only page, WP=0", va(1, 0x20));
  kprintf("page_b[8] = %x\n", ((volatile uint32_t*)page_b)[8]);
  WRITE_CR(0, READ_CR(0) | CR0_WP);

  user_addr[0] = va(0, 0x30);  /* supervisor page */
  user_addr[1] = va(1, 0x40);  /* user read-only page */
  user_addr[2] = va(2, 0x50);  /* not present */
  ring3_part("ring 3 read, supervisor page", "ring 3 write, user read-only page", "ring 3 read, not present");

  pt32_win[0] = (uint32_t)page_b | P | W;
  invlpg(va(0, 0));
  *(volatile uint32_t*)page_b = 0xBBBB0001;
  kprintf("after remap + invlpg: %x\n", *(volatile uint32_t*)va(0, 0));
  WRITE_CR(0, READ_CR(0) & ~CR0_PG);
}

static void paging_pae(void) {
  kputs("-- PAE paging\n");
  for (int i = 0; i < 512; i++) pd_low[i] = ((uint64_t)i << 21) | P | W | U | PS;
  pdpt[0] = (uint64_t)(uint32_t)pd_low | P;  /* PDPTEs have no R/W or U/S */
  pdpt[1] = (uint64_t)(uint32_t)pd_win | P;
  pd_win[0] = (uint64_t)(uint32_t)pt_win | P | W | U;
  pd_win[1] = 0x00000000 | P | W | PS;          /* a 2 MiB page over physical 0 */
  pt_win[0] = (uint64_t)(uint32_t)page_a | P | W;
  pt_win[1] = (uint64_t)(uint32_t)code_page | P | NX;
  pt_win[2] = (uint64_t)(uint32_t)page_a | P | W | (1ull << 51);
  pt_win[3] = (uint64_t)(uint32_t)code_page | P;
  code_page[0] = 0xB8, code_page[1] = 0x0D, code_page[2] = 0x60, code_page[3] = 0, code_page[4] = 0;
  code_page[5] = 0xC3;  /* mov $0x600d, %eax; ret */
  WRITE_CR(4, READ_CR(4) | CR4_PAE);
  WRITE_CR(3, pdpt);
  wrmsr(EFER_MSR, rdmsr(EFER_MSR) | EFER_NXE);
  WRITE_CR(0, READ_CR(0) | CR0_PG);
  kprintf("cr0 pg=%d, cr4 pae=%d, efer.nxe=%d, efer.lma=%d\n", (READ_CR(0) & CR0_PG) != 0,
          (READ_CR(4) & CR4_PAE) != 0, (rdmsr(EFER_MSR) & EFER_NXE) != 0, (rdmsr(EFER_MSR) & 0x400) != 0);

  *(volatile uint32_t*)page_a = 0xAAAA0003;
  kprintf("PTE before: %03x\n", (uint32_t)pt_win[0] & 0xFFF);
  kprintf("read through window: %x\n", *(volatile uint32_t*)va(0, 0));
  *(volatile uint32_t*)va(0, 8) = 0xAAAA0004;
  kprintf("PTE after read and write: %03x, page_a[2] = %x\n", (uint32_t)pt_win[0] & 0xFFF,
          ((volatile uint32_t*)page_a)[2]);
  uint32_t big = WIN + 0x200000u + (uint32_t)&marker;
  kprintf("read through 2 MiB page: %x\n", *(volatile uint32_t*)big);
  kprintf("2 MiB PDE after read: %03x\n", (uint32_t)pd_win[1] & 0xFFF);

  read_at("read, not present", va(5, 0x10));
  write_at("write, not present", va(5, 0x14));
  TRY("jmp *%0", "r"(va(1, 0)));
  trap_report("fetch, NX page");
  /* (see paging_faults.c: QEMU 7.2 leaves P clear on reserved-bit faults; bit 0 not shown) */
  TRY("mov (%0), %%ecx", "r"(va(2, 0x18)));
  trap.error &= ~1ull;
  trap_report("read, PTE bit 51 (reserved)");
  int r = ((int (*)(void))va(3, 0))();
  kprintf("call into executable page: %x\n", r);
  WRITE_CR(0, READ_CR(0) & ~CR0_PG);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  trap_catch(14);
  ring3_init();
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  kprintf("protected mode, cs=%x, cr0.pe=%d\n", cs, (int)(READ_CR(0) & 1));
  paging32();
  paging_pae();
  kputs("paging off again\n");
  return 0;
}
