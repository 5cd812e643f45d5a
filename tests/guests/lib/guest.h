/* The freestanding runtime every test guest links: port I/O, the COM1 console, a small
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

/* idt.c: the frame isr.S builds, and per-vector handlers. */
struct frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
  uint64_t vector, error_code;
  uint64_t rip, cs, rflags, rsp, ss;  /* pushed by the CPU */
};
typedef void (*handler_fn)(struct frame*);
void idt_init(void);
void idt_set_handler(int vector, handler_fn fn);

/* pic_pit.c */
#define PIC_VECTOR_BASE 0x20
void pic_init(void);               /* remap IRQ0-15 to vectors 0x20-0x2F, all masked */
void pic_unmask(int irq);
void pic_eoi(int irq);
void pit_start_periodic(uint32_t hz);
void pit_one_shot(uint16_t count);  /* mode 0: one IRQ0 after `count` ticks of 1.193182 MHz */

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
