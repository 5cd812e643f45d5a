/* 4-level paging in detail: #PF error codes and CR2 for each kind of violation (not present
   at two levels, write to read-only with CR0.WP clear and set, user access to supervisor
   pages from ring 3, NX fetches with EFER.NXE, reserved bits), accessed/dirty bits read back
   from the tables, 2 MiB and 1 GiB pages, and remaps made visible by INVLPG, a CR3 reload and
   a CR4.PGE toggle (for global pages). Everything lives in a window above the 1 GiB the boot
   code identity-maps, so CR2 values are fixed. */
#include "lib/guest.h"

#define WIN 0x40000000ull   /* 4 KiB test pages: WIN + n * 0x1000 */
#define WIN2M 0x40400000ull /* one 2 MiB page */
#define WIN1G 0x80000000ull /* one 1 GiB page (PDPT entry 2) */

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint8_t code_page[4096] __attribute__((aligned(4096)));
static volatile uint64_t marker = 0x1122334455667788ull;

static uint64_t* pte(int n) { return paging_entry(WIN + 0x1000ull * n, 1); }
static void map(int n, void* page, uint64_t flags) {
  *pte(n) = (uint64_t)page | flags;
  invlpg(WIN + 0x1000ull * n);
}
static uint64_t va(int n, uint64_t offset) { return WIN + 0x1000ull * n + offset; }

static void read_at(const char* what, uint64_t addr) { TRY("mov (%0), %%rcx", "r"(addr)); trap_report(what); }
static void write_at(const char* what, uint64_t addr) { TRY("movl $0x5a5a5a5a, (%0)", "r"(addr)); trap_report(what); }
static void fetch_at(const char* what, uint64_t addr) { TRY("jmp *%0", "r"(addr)); trap_report(what); }
/* Reserved-bit faults: the SDM (Vol. 3A 4.7) sets P with RSVD ("bit 3 of the error code can
   be set only if bit 0 is also set"); QEMU 7.2's TCG, the oracle for these guests, leaves P
   clear. The line shows the error code without bit 0, so both print the same. */
static void rsvd_read_at(const char* what, uint64_t addr) {
  TRY("mov (%0), %%rcx", "r"(addr));
  trap.error &= ~1ull;
  trap_report(what);
}
static void rsvd_write_at(const char* what, uint64_t addr) {
  TRY("movl $0x5a5a5a5a, (%0)", "r"(addr));
  trap.error &= ~1ull;
  trap_report(what);
}
static void flags_of(const char* what, uint64_t e) {
  kprintf("%s: flags=%03lx%s\n", what, e & 0xFFF, e & PTE_NX ? " nx" : "");
}

/* Ring-3 half: runs in user mode, so it cannot print; the kernel reports afterwards. */
static uint64_t user_addrs[7];
static void user_accesses(void) {
  TRY("mov (%0), %%rcx", "r"(user_addrs[0]));
  trap_save(0);
  TRY("movl $1, (%0)", "r"(user_addrs[1]));
  trap_save(1);
  TRY("movl $1, (%0)", "r"(user_addrs[2]));
  trap_save(2);
  TRY("mov (%0), %%rcx", "r"(user_addrs[3]));
  trap_save(3);
  TRY("jmp *%0", "r"(user_addrs[4]));
  trap_save(4);
  TRY("jmp *%0", "r"(user_addrs[5]));
  trap_save(5);
  TRY("mov (%0), %%rcx", "r"(user_addrs[6]));
  trap_save(6);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  trap_catch(14);
  ring3_init();
  WRITE_CR(0, READ_CR(0) & ~CR0_WP);
  wrmsr(EFER_MSR, rdmsr(EFER_MSR) & ~EFER_NXE);
  /* A tiny function for fetch tests: mov $0x600d, %eax; ret */
  code_page[0] = 0xB8, code_page[1] = 0x0D, code_page[2] = 0x60, code_page[3] = 0, code_page[4] = 0;
  code_page[5] = 0xC3;

  kputs("-- not present\n");
  map(0, page_a, 0);
  read_at("read, PTE not present", va(0, 0x123));
  write_at("write, PTE not present", va(0, 0xff8));
  read_at("read, PDE not present", WIN + 0x200000 + 0x45);
  fetch_at("fetch, not present, NXE=0", va(0, 0x10));

  kputs("-- accessed and dirty\n");
  map(1, page_b, PTE_P | PTE_W);
  flags_of("fresh PTE", *pte(1));
  read_at("read", va(1, 8));
  flags_of("after read", *pte(1));
  write_at("write", va(1, 8));
  flags_of("after write", *pte(1));
  kprintf("page_b[8..11] = %x\n", *(volatile uint32_t*)(page_b + 8));

  kputs("-- read-only page, ring 0\n");
  map(2, page_a, PTE_P);
  kprintf("cr0.wp=%d\n", (int)((READ_CR(0) & CR0_WP) != 0));
  write_at("write, read-only, WP=0", va(2, 0x10));
  flags_of("after write", *pte(2));
  kprintf("page_a[16..19] = %x\n", *(volatile uint32_t*)(page_a + 16));
  WRITE_CR(0, READ_CR(0) | CR0_WP);
  kprintf("cr0.wp=%d\n", (int)((READ_CR(0) & CR0_WP) != 0));
  write_at("write, read-only, WP=1", va(2, 0x20));
  read_at("read, read-only, WP=1", va(2, 0x20));
  WRITE_CR(0, READ_CR(0) & ~CR0_WP);

  kputs("-- reserved bits\n");
  map(3, page_a, PTE_P | PTE_W | (1ull << 51));
  rsvd_read_at("read, PTE bit 51", va(3, 0x30));
  rsvd_write_at("write, PTE bit 51", va(3, 0x30));
  map(3, page_a, PTE_P | PTE_W | PTE_NX);
  rsvd_read_at("read, PTE XD with NXE=0", va(3, 0x40));

  kputs("-- no-execute\n");
  wrmsr(EFER_MSR, rdmsr(EFER_MSR) | EFER_NXE);
  kprintf("efer.nxe=%d\n", (int)((rdmsr(EFER_MSR) & EFER_NXE) != 0));
  read_at("read, PTE XD with NXE=1", va(3, 0x40));
  fetch_at("fetch, not present, NXE=1", va(0, 0x10));
  map(4, code_page, PTE_P | PTE_NX);
  fetch_at("fetch, NX page", va(4, 0));
  map(4, code_page, PTE_P);
  int r = ((int (*)(void))va(4, 0))();
  kprintf("call into executable page: %x\n", r);
  *paging_entry(WIN, 2) |= PTE_NX;  /* NX in the PDE covers every 4 KiB page under it */
  WRITE_CR(3, READ_CR(3));
  fetch_at("fetch, NX in PDE", va(4, 0));
  *paging_entry(WIN, 2) &= ~PTE_NX;
  WRITE_CR(3, READ_CR(3));

  kputs("-- ring 3\n");
  map(5, page_a, PTE_P | PTE_W);                   /* supervisor */
  map(6, page_b, PTE_P | PTE_U);                   /* user, read-only */
  map(7, code_page, PTE_P | PTE_U | PTE_NX);       /* user, no-execute */
  map(8, page_b, PTE_P | PTE_W | PTE_U);           /* user, read-write */
  user_addrs[0] = va(5, 0x50);  /* read supervisor page */
  user_addrs[1] = va(5, 0x58);  /* write supervisor page */
  user_addrs[2] = va(6, 0x60);  /* write user read-only page (WP=0 does not matter in ring 3) */
  user_addrs[3] = va(0, 0x70);  /* read not-present page */
  user_addrs[4] = va(7, 0);     /* fetch from user NX page */
  user_addrs[5] = va(4, 0);     /* fetch from supervisor page */
  user_addrs[6] = va(8, 0x80);  /* read user page: allowed */
  ring3_call(user_accesses, 0x002);
  static const char* what[7] = {"ring 3 read, supervisor page", "ring 3 write, supervisor page",
                                "ring 3 write, user read-only page", "ring 3 read, not present",
                                "ring 3 fetch, user NX page", "ring 3 fetch, supervisor page",
                                "ring 3 read, user page"};
  for (int i = 0; i < 7; i++) trap_report_saved(i, what[i]);

  kputs("-- large pages\n");
  uint64_t marker_pa = (uint64_t)&marker;
  uint64_t* pde = paging_entry(WIN2M, 2);
  *pde = (marker_pa & ~0x1FFFFFull) | PTE_P | PTE_W | PTE_PS;
  invlpg(WIN2M + (marker_pa & 0x1FFFFF));
  flags_of("2 MiB PDE", *pde);
  kprintf("2 MiB page read: %lx\n", *(volatile uint64_t*)(WIN2M + (marker_pa & 0x1FFFFF)));
  flags_of("after read", *pde);
  *(volatile uint64_t*)(WIN2M + (marker_pa & 0x1FFFFF)) = 0xaabbccdd00112233ull;
  flags_of("after write", *pde);
  kprintf("marker through identity map: %lx\n", marker);
  *pde |= 1ull << 13;  /* bits 20:13 of a 2 MiB PDE are reserved */
  invlpg(WIN2M);
  rsvd_read_at("read, 2 MiB page, bit 13 set", WIN2M);
  *pde &= ~(1ull << 13);
  invlpg(WIN2M);

  /* 1 GiB pages exist only where CPUID.80000001H:EDX.Page1GB says so (elsewhere PS in a PDPTE
     is reserved, though QEMU 7.2 maps the page anyway), so the mapping is checked only there
     and the line printed is the same either way. QEMU runs this guest with +pdpe1gb. */
  uint32_t id[4];
  cpuid(0x80000001, 0, id);
  if (id[3] & (1u << 26)) {
    uint64_t* pdpte = paging_entry(WIN1G, 3);
    *pdpte = 0 | PTE_P | PTE_W | PTE_PS;
    invlpg(WIN1G + marker_pa);
    volatile uint64_t v = 0;
    TRY("mov (%0), %%rcx\n\tmov %%rcx, (%1)", "r"(WIN1G + marker_pa), "r"(&v));
    CHECK(trap.count == 0 && v == marker);
    CHECK((*pdpte & (PTE_A | PTE_D)) == PTE_A);
  }
  kputs("1 GiB page: checked where CPUID has Page1GB\n");

  kputs("-- remap\n");
  *(volatile uint32_t*)page_a = 0xAAAA;
  *(volatile uint32_t*)page_b = 0xBBBB;
  map(9, page_a, PTE_P | PTE_W);
  kprintf("before remap: %x\n", *(volatile uint32_t*)va(9, 0));
  *pte(9) = (uint64_t)page_b | PTE_P | PTE_W;
  invlpg(va(9, 0));
  kprintf("after invlpg: %x\n", *(volatile uint32_t*)va(9, 0));
  *pte(9) = (uint64_t)page_a | PTE_P | PTE_W;
  WRITE_CR(3, READ_CR(3));
  kprintf("after cr3 reload: %x\n", *(volatile uint32_t*)va(9, 0));
  WRITE_CR(4, READ_CR(4) | CR4_PGE);
  map(10, page_a, PTE_P | PTE_W | PTE_G);
  kprintf("global page: %x\n", *(volatile uint32_t*)va(10, 0));
  *pte(10) = (uint64_t)page_b | PTE_P | PTE_W | PTE_G;
  invlpg(va(10, 0));
  kprintf("global, after invlpg: %x\n", *(volatile uint32_t*)va(10, 0));
  *pte(10) = (uint64_t)page_a | PTE_P | PTE_W | PTE_G;
  WRITE_CR(4, READ_CR(4) & ~CR4_PGE);
  WRITE_CR(4, READ_CR(4) | CR4_PGE);
  kprintf("global, after CR4.PGE toggle: %x\n", *(volatile uint32_t*)va(10, 0));
  *pte(10) = 0;
  invlpg(va(10, 0));
  read_at("read, global page unmapped + invlpg", va(10, 0));
  return 0;
}
