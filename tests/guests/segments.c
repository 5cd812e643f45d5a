/* Segmentation in long mode and in compatibility mode: a GDT with data, code, system and
   broken descriptors; segment loads and their checks (#GP/#NP/#SS with the selector as error
   code), bases and limits applied in compatibility mode, far jumps/calls/returns between
   64-bit and 32-bit code, LLDT/LTR/SLDT/STR with the TSS busy bit, SGDT/SIDT, LAR/LSL, the
   accessed bit, FS/GS bases through MSRs and selector loads, SWAPGS with KernelGSBase. */
#include "lib/guest.h"

#define FS_BASE 0xC0000100u
#define GS_BASE 0xC0000101u
#define KERNEL_GS_BASE 0xC0000102u

uint32_t seg_buf[64] __attribute__((aligned(16)));
uint32_t compat_results[23][4];
extern void compat_run(void);

static uint64_t gdt2[16] __attribute__((aligned(16)));
static uint64_t ldt[2] __attribute__((aligned(16)));

/* A code/data descriptor: base, 20-bit limit, access byte, flags nibble (G, D/B, L, AVL). */
static uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)access << 40) |
         ((uint64_t)(limit >> 16 & 0xF) << 48) | ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static void load_gdt(void) {
  gdt2[1] = 0x00AF9A000000FFFFull;                         /* 0x08 64-bit code */
  gdt2[2] = 0x00CF92000000FFFFull;                         /* 0x10 data */
  gdt2[3] = 0x00CFF2000000FFFFull;                         /* 0x18 user data */
  gdt2[4] = 0x00AFFA000000FFFFull;                         /* 0x20 user 64-bit code */
  gdt_set_system(gdt2, 5, (uint64_t)&tss, sizeof tss - 1, 9); /* 0x28 TSS */
  gdt2[7] = descriptor(0, 0xFFFFF, 0x12, 0xC);             /* 0x38 data, not present */
  gdt2[8] = descriptor(0, 0xFFFFF, 0xF2, 0xC);             /* 0x40 data, DPL 3 */
  gdt2[9] = descriptor(0, 0xFFFFF, 0x9A, 0xC);             /* 0x48 32-bit code, readable */
  gdt2[10] = descriptor(0, 0xFFFFF, 0x98, 0xC);            /* 0x50 code, execute-only */
  gdt2[11] = descriptor((uint32_t)(uint64_t)seg_buf, 0xFF, 0x92, 0x4); /* 0x58 data at seg_buf, limit 0xFF */
  gdt_set_system(gdt2, 12, (uint64_t)ldt, sizeof ldt - 1, 2);          /* 0x60 LDT */
  gdt2[14] = descriptor(0, 0xFFFFF, 0x90, 0xC);            /* 0x70 data, read-only */
  gdt2[15] = descriptor(0, 0xFFFFF, 0x1A, 0xC);            /* 0x78 code, not present */
  ldt[1] = descriptor((uint32_t)(uint64_t)seg_buf + 0x10, 0xFF, 0x92, 0x4); /* LDT 0x0C */
  struct {
    uint16_t limit;
    uint64_t base;
  } __attribute__((packed)) p = {sizeof gdt2 - 1, (uint64_t)gdt2};
  __asm__ volatile("lgdt %0" ::"m"(p));
}

static void sreg_load(const char* what, uint16_t sel) {
  TRY("mov %0, %%ds", "r"(sel));
  trap_report(what);
  __asm__ volatile("mov %0, %%ds" ::"r"(0x10));
}

static uint8_t access_byte(int index) { return (uint8_t)(gdt2[index] >> 40); }

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  idt_init();
  trap_catch(10);
  trap_catch(11);
  trap_catch(12);
  trap_catch(13);
  load_gdt();
  for (int i = 0; i < 64; i++) seg_buf[i] = 0x11111111u * (i & 15);

  kputs("-- tables\n");
  struct {
    uint16_t limit;
    uint64_t base;
  } __attribute__((packed)) t;
  __asm__ volatile("sgdt %0" : "=m"(t));
  kprintf("sgdt: limit=%x base is gdt2: %d\n", t.limit, t.base == (uint64_t)gdt2);
  __asm__ volatile("sidt %0" : "=m"(t));
  kprintf("sidt: limit=%x\n", t.limit);
  uint16_t sel;
  __asm__ volatile("str %0" : "=r"(sel));
  kprintf("str before ltr: %x\n", sel);
  kprintf("TSS access byte before ltr: %x\n", access_byte(5));
  __asm__ volatile("ltr %w0" ::"r"(0x28));
  __asm__ volatile("str %0" : "=r"(sel));
  kprintf("str: %x, TSS access byte after ltr: %x (busy)\n", sel, access_byte(5));
  TRY("ltr %w0", "r"(0x28));
  trap_report("ltr of a busy TSS");
  TRY("ltr %w0", "r"(0x10));
  trap_report("ltr of a data segment");
  TRY("lldt %w0", "r"(0x28));
  trap_report("lldt of a TSS");
  __asm__ volatile("sldt %0" : "=r"(sel));
  kprintf("sldt before lldt: %x\n", sel);

  kputs("-- lar/lsl\n");
  uint64_t v;
  uint8_t zf;
  __asm__ volatile("lsl %2, %0\n\tsetz %1" : "=r"(v), "=r"(zf) : "r"((uint64_t)0x58));
  kprintf("lsl 0x58: %lx zf=%d\n", v, zf);
  __asm__ volatile("lsl %2, %0\n\tsetz %1" : "=r"(v), "=r"(zf) : "r"((uint64_t)0x28));
  kprintf("lsl 0x28 (TSS): %lx zf=%d\n", v, zf);
  __asm__ volatile("mov $0x1234, %0\n\tlsl %2, %0\n\tsetz %1" : "=&r"(v), "=r"(zf) : "r"((uint64_t)0x3F8));
  kprintf("lsl 0x3f8 (beyond the limit): %lx zf=%d\n", v, zf);
  __asm__ volatile("lar %2, %0\n\tsetz %1" : "=r"(v), "=r"(zf) : "r"((uint64_t)0x50));
  kprintf("lar 0x50: %lx zf=%d\n", v, zf);
  __asm__ volatile("lar %2, %0\n\tsetz %1" : "=r"(v), "=r"(zf) : "r"((uint64_t)0x43));
  kprintf("lar 0x43 (DPL 3): %lx zf=%d\n", v, zf);

  kputs("-- 64-bit mode loads\n");
  sreg_load("ds <- 0x38 (not present)", 0x38);
  sreg_load("ds <- 0x3f9 (beyond the limit)", 0x3F9);
  sreg_load("ds <- 0x50 (execute-only code)", 0x50);
  sreg_load("ds <- 0x48 (readable code)", 0x48);
  sreg_load("ds <- 0x13 (RPL 3 > DPL 0)", 0x13);
  kprintf("0x58 access byte before load: %x\n", access_byte(11));
  sreg_load("ds <- 0x58", 0x58);
  kprintf("0x58 access byte after load: %x (accessed)\n", access_byte(11));
  /* (A null SS with RPL != CPL at CPL 0 is #GP(0) by the SDM, but QEMU 7.2 allows it: not
     tested.) */
  TRY("mov %0, %%ss\n\tmov %1, %%ss", "r"((uint16_t)0), "r"((uint16_t)0x10));
  trap_report("ss <- 0 at CPL 0 (allowed in 64-bit mode)");
  TRY("mov %0, %%ss", "r"((uint16_t)0x70));
  trap_report("ss <- 0x70 (read-only data)");
  TRY("mov %0, %%ss", "r"((uint16_t)0x38));
  trap_report("ss <- 0x38 (not present)");

  kputs("-- compatibility mode\n");
  compat_run();
  static const char* cases[23] = {
      "cs", "ds base (0x58)", "fs base (0x58)", "es base, write", "ss <- 0", "ss <- 0x38 (not present)",
      "ss <- 0x70 (read-only)", "ss <- 0x40 (DPL 3)", "ss <- 0x13 (RPL 3)", "ss <- 0x48 (code)",
      "ss base (0x58)", "ds <- 0x13 (RPL 3 > DPL 0)", "ds <- 0x50 (execute-only)",
      "ds <- 0x48 (readable code)", "ds <- 0x28 (TSS)", "ds <- 0x3fb (beyond the limit)",
      "ds <- 0x38 (not present)", "ds <- 0x0c, no LDT", "ds <- 0x0c, LDT loaded", "ds <- 0",
      "ljmp 0x10 (data)", "ljmp 0x78 (not present)", "ljmp to 64-bit and back"};
  static const char* names[32] = {[10] = "#TS", [11] = "#NP", [12] = "#SS", [13] = "#GP"};
  for (int i = 0; i < 23; i++) {
    uint32_t* r = compat_results[i];
    if (r[0]) {
      kprintf("%s: %s err=%x", cases[i], r[1] < 32 && names[r[1]] ? names[r[1]] : "?", r[2]);
    } else {
      kprintf("%s: no fault", cases[i]);
    }
    if (r[3] != 0xdeadbeef) kprintf(" ebx=%x", r[3]);
    kputs("\n");
  }
  kprintf("seg_buf[2] = %x\n", seg_buf[2]);
  __asm__ volatile("sldt %0" : "=r"(sel));
  kprintf("sldt: %x\n", sel);
  __asm__ volatile("lldt %w0" ::"r"(0));
  __asm__ volatile("sldt %0" : "=r"(sel));
  kprintf("sldt after lldt 0: %x\n", sel);

  kputs("-- fs/gs bases\n");
  wrmsr(FS_BASE, (uint64_t)seg_buf);
  __asm__ volatile("mov %%fs:20, %k0" : "=r"(v));
  kprintf("fs base from MSR: fs:[20] = %lx\n", v);
  __asm__ volatile("mov %0, %%fs" ::"r"(0x58));
  kprintf("fs <- 0x58: base from the descriptor is seg_buf: %d\n", rdmsr(FS_BASE) == (uint64_t)seg_buf);
  __asm__ volatile("mov %0, %%fs" ::"r"(0x10));
  kprintf("fs <- 0x10: base %lx\n", rdmsr(FS_BASE));
  wrmsr(GS_BASE, 0x123456789000ull);
  wrmsr(KERNEL_GS_BASE, (uint64_t)seg_buf + 4);
  kprintf("gs base %lx, kernel gs base is seg_buf+4: %d\n", rdmsr(GS_BASE),
          rdmsr(KERNEL_GS_BASE) == (uint64_t)seg_buf + 4);
  __asm__ volatile("swapgs\n\tmov %%gs:0, %k0" : "=r"(v));
  kprintf("after swapgs: gs:[0] = %lx, kernel gs base %lx\n", v, rdmsr(KERNEL_GS_BASE));
  __asm__ volatile("swapgs");
  kprintf("after swapgs again: gs base %lx\n", rdmsr(GS_BASE));
  /* (WRMSR of a non-canonical FS base is #GP(0) by the SDM; QEMU 7.2 takes it: not tested.) */
  return 0;
}
