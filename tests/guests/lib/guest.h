/* The freestanding runtime every test guest links (64-bit guests lib/, 32-bit ones lib32/
   plus the width-independent files of lib/): port I/O, the COM1 console, a small
   printf, the debug-exit port, an IDT, and the PIC/PIT helpers. Written for a plain PC, so
   the same guest runs under Vireo and under qemu-system-x86_64. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* STI's one-instruction interrupt shadow makes "sti; hlt" wait without a lost-wakeup race. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* serial.c: COM1 at 0x3F8, 8N1, polled transmit. */
void serial_init(void);
void serial_putc(char c);
void kputs(const char* s);
void kprintf(const char* fmt, ...);

/* Stops the machine through isa-debug-exit: the host sees exit status (code << 1) | 1. */
void guest_exit(uint32_t code) __attribute__((noreturn));
/* Reports a failed check and exits with code 0x7F (status 255). */
#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      kprintf("CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      guest_exit(0x7F);                                                 \
    }                                                                   \
  } while (0)

/* idt.c / lib32/idt32.c: the frame isr.S / lib32/isr32.S builds, and per-vector handlers. */
#ifdef __x86_64__
struct frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
  uint64_t vector, error_code;
  uint64_t rip, cs, rflags, rsp, ss;  /* pushed by the CPU */
};
#else
struct frame {
  uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;  /* pusha */
  uint32_t es, ds;
  uint32_t vector, error_code;
  uint32_t eip, cs, eflags;  /* pushed by the CPU */
  uint32_t esp, ss;          /* ... only on a privilege change */
};
#endif
typedef void (*handler_fn)(struct frame*);
void idt_init(void);
void idt_set_handler(int vector, handler_fn fn);
/* Changes a gate: DPL, IST index (0: none; long mode only) and type (0xE interrupt gate,
   0xF trap gate; in 32-bit protected mode also 0x5 task gate, 0x6 16-bit interrupt gate). */
void idt_set_gate(int vector, int dpl, int ist, int type);
void idt_set_present(int vector, bool present);

/* Control registers. */
#define CR0_WP (1ul << 16)
#define CR4_PGE (1ul << 7)
#define EFER_MSR 0xC0000080u
#define EFER_NXE (1ul << 11)
#define READ_CR(n)                                         \
  ({                                                       \
    unsigned long v_;                                      \
    __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_));     \
    v_;                                                    \
  })
#define WRITE_CR(n, v) __asm__ volatile("mov %0, %%cr" #n ::"r"((unsigned long)(v)) : "memory")
static inline void invlpg(unsigned long va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

#ifdef __x86_64__
/* paging.c: edits the live 4-level tables (boot.S identity-maps 1 GiB with 2 MiB pages). */
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_U 4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_G 0x100ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ull
/* The entry mapping `va` at `level` (1 = PT, 2 = PD, 3 = PDPT), creating zeroed tables above
   it as needed (table entries are P|W|U: the leaf alone decides access). A 2 MiB identity
   page in the way is split into 4 KiB pages first, so nothing else changes meaning. */
uint64_t* paging_entry(uint64_t va, int level);
/* Sets U/S on the boot identity map, so ring-3 test code can run from the kernel image. */
void paging_allow_user(void);
#endif

/* trap.c: catch an exception on purpose, record it, resume after the faulting instruction. */
struct trap_record {
  uint64_t vector, error, cr2, rip, cs, rsp;
  int count;
};
extern volatile struct trap_record trap;
extern volatile uint64_t trap_insn, trap_resume;
void trap_catch(int vector);  /* install the recording handler on `vector` */
/* Runs the instruction(s) `insn` with trap_insn at the first and the resume point after. */
#ifdef __x86_64__
#define TRY_SET_POINTS                                                         \
  "lea 2f(%%rip), %%rax\n\tmov %%rax, trap_insn(%%rip)\n\t"                    \
  "lea 1f(%%rip), %%rax\n\tmov %%rax, trap_resume(%%rip)\n\t"
#define TRY_CLOBBERS "rax", "rcx", "rdx", "memory"
#else
#define TRY_SET_POINTS                                                         \
  "movl $2f, trap_insn\n\tmovl $0, trap_insn+4\n\t"                            \
  "movl $1f, trap_resume\n\tmovl $0, trap_resume+4\n\t"
#define TRY_CLOBBERS "eax", "ecx", "edx", "memory"
#endif
#define TRY(insn, ...)                                                                  \
  do {                                                                                  \
    trap.count = 0;                                                                     \
    trap.vector = ~0ull;                                                                \
    __asm__ volatile(TRY_SET_POINTS "2:\n\t" insn "\n1:" : : __VA_ARGS__ : TRY_CLOBBERS); \
  } while (0)
/* Prints "what: #PF err=.. cr2=.. at insn+N cpl=C" or "what: no fault". */
void trap_report(const char* what);
/* For code that cannot print (ring 3): keep the last trap in slot n (< 32), report it later. */
void trap_save(int n);
void trap_report_saved(int n, const char* what);
struct trap_record* trap_saved(int n);
/* The error code of a fault caused by IDT gate `vector` (not present, or DPL < CPL for INT n):
   the SDM's form is (vector << 3) | 2 | EXT (Vol. 3A 6.13). QEMU 7.2 in long mode gives
   (vector << 4) | 2 and no EXT bit; that form is returned in the SDM's, so guests print one
   line that a correct CPU and QEMU agree on. Other codes are returned unchanged. */
uint64_t idt_error_as_sdm(uint64_t error, uint64_t vector, bool ext);

#ifdef __x86_64__
/* ring3.S / tss.c: a TSS (RSP0 and two IST stacks) and calls into ring 3. */
struct tss64 {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3, iomap_base;
} __attribute__((packed));
extern struct tss64 tss;
/* A 16-byte system descriptor (SDM Vol. 3A 8.2.3): present, DPL 0, `type` 2 (LDT) or 9 (TSS). */
void gdt_set_system(uint64_t* table, int index, uint64_t base, uint32_t limit, int type);
#define RING3_EXIT_VECTOR 0x81
/* Loads the TSS (selector 0x28), makes the identity map user-accessible and installs the
   DPL-3 gate through which ring-3 code returns. */
void ring3_init(void);
/* Runs fn() in ring 3 (CS 0x23, SS 0x1B) with the given RFLAGS, on a user stack, and returns
   once fn returns (its return goes through int RING3_EXIT_VECTOR). */
void ring3_call(void (*fn)(void), uint64_t rflags);
#else
/* lib32/ring3_32.S / lib32/tss32.c: a 32-bit TSS (ESP0/SS0) and calls into ring 3. */
struct tss32 {
  uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
  uint32_t es, cs, ss, ds, fs, gs, ldt;
  uint16_t trap, iomap_base;
} __attribute__((packed));
extern struct tss32 tss;
extern uint64_t gdt[];  /* lib32/boot32.S: 0x08 code, 0x10 data, 0x18 user code, 0x20 user data, 0x28 TSS */
#define RING3_EXIT_VECTOR 0x81
void ring3_init(void);
/* Runs fn() in ring 3 (CS 0x1B, SS/DS/ES 0x23) with the given EFLAGS, returns once it does. */
void ring3_call(void (*fn)(void), uint32_t eflags);
#endif

/* pic_pit.c */
#define PIC_VECTOR_BASE 0x20
void pic_init(void);               /* remap IRQ0-15 to vectors 0x20-0x2F, all masked */
void pic_unmask(int irq);
void pic_eoi(int irq);
void pit_start_periodic(uint32_t hz);
void pit_one_shot(uint16_t count);  /* mode 0: one IRQ0 after `count` ticks of 1.193182 MHz */
/* Stops channel 0 as the firmware left it (periodic) and forgets any IRQ0 request already
   latched: mode 0 with the longest count keeps OUT low for 55 ms, and ICW1 (pic_init) clears
   the PIC's IRR. A guest that counts interrupts starts from here. */
void pit_pic_quiesce(void);

/* multiboot info access */
struct multiboot_info {
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length, mmap_addr;
};
/* The command line after the kernel's own path ("" if none). */
const char* multiboot_args(const struct multiboot_info* mbi);

int kstrcmp(const char* a, const char* b);
size_t kstrlen(const char* s);
void* kmemcpy(void* d, const void* s, size_t n);
