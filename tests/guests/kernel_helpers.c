/* The system instructions the jit runs by helpers of its own (src/jit/system/
   system_helpers.cpp), with the forms each leaves to the interpreter, all deterministic (the
   guest kernel_paths has those that meet interrupts): IRETQ to ring 3 and back, refusing a
   data segment as CS and an SS whose RPL is not the new CPL (#GP with the selector), meeting
   #PF in its frame (RSP unchanged); INVLPG of a remapped page read again in the same block,
   and of the page holding the running code; rep movs/stos over page boundaries (elements
   straddling pages, an overlapping forward copy, DF = 1, a count of zero) and into a page
   that is not present. */
#include "lib/guest.h"

#define WIN 0x40000000ull /* two 4 KiB pages: WIN mapped, WIN + 0x1000 not present */

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static volatile uint64_t ring3_seen;
static void user_fn(void) { ring3_seen++; }

static uint64_t fnv(const void* p, uint64_t n) {
  const uint8_t* b = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

/* An IRETQ frame for ring 0 (SS, RSP, RFLAGS, CS, RIP = the label after it), pushed and
   returned through in one asm block; a fault resumes there too (TRY's points). */
#define IRET_FRAME(cs, ss, rflags)                                                       \
  "mov %%rsp, %%rbx\n\t"                                                                 \
  "pushq $" #ss "\n\tpush %%rbx\n\tpushq $" #rflags "\n\tpushq $" #cs "\n\t"             \
  "lea 1f(%%rip), %%rax\n\tpush %%rax\n\t"

static void iret_refused(void) {
  /* A data segment as CS, and SS with RPL 3 for a return to ring 0: #GP(selector). */
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS IRET_FRAME(0x10, 0x10, 0x2) "2:\tiretq\n1:\tmov %%rbx, %%rsp"
                   ::: TRY_CLOBBERS, "rbx");
  trap_report("iretq to a data segment as CS");
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS IRET_FRAME(0x08, 0x1b, 0x2) "2:\tiretq\n1:\tmov %%rbx, %%rsp"
                   ::: TRY_CLOBBERS, "rbx");
  trap_report("iretq to ring 0 with SS 0x1b");

  /* The frame's last three qwords on a page that is not present: #PF reading it, nothing
     changed (RSP back at the frame). */
  uint64_t rsp_at;
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS
                   "mov %%rsp, %%rbx\n\t"
                   "mov %1, %%rsp\n\t"
                   "2:\tiretq\n1:\tmov %%rsp, %0\n\tmov %%rbx, %%rsp"
                   : "=&r"(rsp_at)
                   : "r"(WIN + 0x1000 - 16)
                   : TRY_CLOBBERS, "rbx");
  trap_report("iretq with its frame running into a not-present page");
  kprintf("  rsp still at the frame: %d\n", rsp_at == WIN + 0x1000 - 16);
}

static uint8_t page_b[4096] __attribute__((aligned(4096)));

static void invlpg_paths(void) {
  /* WIN maps page_a, read; then page_b, INVLPG, read again: all in one block. */
  *(volatile uint64_t*)page_a = 0xa1;
  *(volatile uint64_t*)page_b = 0xb2;
  uint64_t* pte = paging_entry(WIN, 1);
  *pte = (uint64_t)page_a | PTE_P | PTE_W;
  invlpg(WIN);
  uint64_t first, second;
  __asm__ volatile("mov (%2), %0\n\t"
                   "mov %4, (%3)\n\t"
                   "invlpg (%2)\n\t"
                   "mov (%2), %1"
                   : "=&r"(first), "=&r"(second)
                   : "r"(WIN), "r"(pte), "r"((uint64_t)page_b | PTE_P | PTE_W)
                   : "memory");
  kprintf("invlpg of a remapped page in one block: before %lx, after %lx\n", first, second);
  *pte = (uint64_t)page_a | PTE_P | PTE_W;
  invlpg(WIN);
  /* INVLPG of the page the code runs from: the block goes on correctly after it. */
  uint64_t n = 0;
  __asm__ volatile("lea 0(%%rip), %%rax\n\tinvlpg (%%rax)\n\tadd $3, %0\n\tadd $4, %0" : "+r"(n)::"rax", "memory");
  kprintf("invlpg of the running code's page, then two adds: %ld\n", n);
}

static uint8_t src_buf[3 * 4096] __attribute__((aligned(4096)));
static uint8_t dst_buf[3 * 4096] __attribute__((aligned(4096)));

static void rep_movs(uint64_t d, uint64_t s, uint64_t n, int size, int down) {
  if (down) __asm__ volatile("std" ::: "cc");
  switch (size) {
    case 1: __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory"); break;
    case 2: __asm__ volatile("rep movsw" : "+D"(d), "+S"(s), "+c"(n)::"memory"); break;
    case 4: __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n)::"memory"); break;
    default: __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n)::"memory"); break;
  }
  __asm__ volatile("cld" ::: "cc");
}

static void rep_stos(uint64_t d, uint64_t v, uint64_t n, int size) {
  switch (size) {
    case 1: __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory"); break;
    case 2: __asm__ volatile("rep stosw" : "+D"(d), "+c"(n) : "a"(v) : "memory"); break;
    case 4: __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(v) : "memory"); break;
    default: __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory"); break;
  }
}

static void strings_bulk(void) {
  for (int i = 0; i < (int)sizeof src_buf; i++) src_buf[i] = (uint8_t)(i * 7 + (i >> 8));
  for (int i = 0; i < (int)sizeof dst_buf; i++) dst_buf[i] = 0;
  uint64_t s = (uint64_t)src_buf, d = (uint64_t)dst_buf;
  rep_movs(d + 3, s + 4090, 9000, 1, 0);       /* bytes over both buffers' page boundaries */
  rep_movs(d + 9100, s + 4093, 700, 2, 0);     /* words straddling a source page boundary */
  rep_stos(d + 4095, 0x1234, 3, 2);            /* a word straddling a destination page */
  rep_stos(d + 6001, 0x8899aabbu, 1500, 4);    /* dwords from an odd address over a page */
  rep_stos(d + 8192 - 24, 0x0706050403020100ull, 1, 8);  /* one qword */
  rep_stos(d, 0x55, 0, 1);                     /* a count of zero */
  rep_stos(d + 4096 + 808, 0x0123456789abcdefull, 500, 8);  /* qwords over a page boundary */
  rep_movs(d + 2 * 4096 + 8, s + 4000, 300, 8, 0);          /* qwords, both over one */
  kprintf("rep movs/stos over page boundaries: %lx\n", fnv(dst_buf, sizeof dst_buf));
  /* Forward copy onto itself 4 bytes on: every dword becomes the first (element by element). */
  rep_movs(s + 4, s, 2000, 4, 0);
  int same = 1;
  for (int i = 1; i <= 2000; i++) same &= ((uint32_t*)src_buf)[i] == ((uint32_t*)src_buf)[0];
  kprintf("rep movsd onto itself one element on: all the first %d\n", same);
  /* DF = 1: 600 qwords copied downwards over a page boundary. */
  rep_movs(d + 2 * 4096 + 800, s + 4096 + 2000, 600, 8, 1);
  kprintf("rep movsq with DF=1: %lx\n", fnv(dst_buf, sizeof dst_buf));
}


int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  trap_catch(14);
  trap_catch(13);
  ring3_init();
  *paging_entry(WIN, 1) = (uint64_t)page_a | PTE_P | PTE_W;
  invlpg(WIN);
  *paging_entry(WIN + 0x1000, 1) = 0;
  invlpg(WIN + 0x1000);
  kputs("-- iretq\n");
  for (int i = 0; i < 3; i++) ring3_call(user_fn, 0x002);
  kprintf("iretq to ring 3 and back three times: ran %ld\n", ring3_seen);
  iret_refused();
  kputs("-- invlpg\n");
  invlpg_paths();
  kputs("-- rep movs/stos\n");
  strings_bulk();
  uint64_t rcx, rdi;
  trap.count = 0;
  trap.vector = ~0ull;
  __asm__ volatile(TRY_SET_POINTS
                   "mov %2, %%rdi\n\tmov $600, %%ecx\n\tmov $0x42, %%eax\n\t"
                   "2:\trep stosb\n1:\tmov %%rcx, %0\n\tmov %%rdi, %1"
                   : "=&r"(rcx), "=&r"(rdi)
                   : "r"(WIN + 0x1000 - 513)
                   : TRY_CLOBBERS, "rdi");
  trap_report("rep stosb (600 bytes) into a not-present page after 513");
  kprintf("  rcx %ld, rdi at the page: %d, the last byte before it: %x\n", rcx, rdi == WIN + 0x1000,
          page_a[4095]);
  return 0;
}
