/* The system instructions the system-mode jit translates inline (src/jit/frontend/system.cpp),
   each in one straight-line asm block so that a translated block holds them beside ordinary
   code and beside the interpreter fallbacks that change what they read: PUSHFQ after
   arithmetic (lazy flags), after STD, CLI and STI; CLI at CPL 0; MOV from CR0/CR2/CR3/CR4/CR8,
   CR2 read back right after each of two writes in one block; MOV from every segment register
   to 16-, 32- and 64-bit registers and to memory; RDTSC and RDTSCP between two reads of the
   TSC MSR after a write of it (the guest's offset), and RDTSCP's ECX = IA32_TSC_AUX. Ring-3
   forms (#GP for CLI and, with CR4.TSD, RDTSC) are ring3_priv's. */
#include "lib/guest.h"

#define MSR_TSC 0x10u
#define MSR_TSC_AUX 0xC0000103u

static void flags(void) {
  uint64_t after_add, after_std, after_cli, after_sti;
  /* add 0xff + 1 at byte width: CF, PF, AF and ZF set, SF and OF clear (all defined) */
  __asm__ volatile(
      "mov $0xff, %%al\n\t"
      "add $1, %%al\n\t"
      "pushfq\n\t"
      "pop %0\n\t"
      "std\n\t"
      "pushfq\n\t"
      "pop %1\n\t"
      "cld\n\t"
      "cli\n\t"
      "pushfq\n\t"
      "pop %2\n\t"
      "sti\n\t"
      "nop\n\t"
      "pushfq\n\t"
      "pop %3\n\t"
      "cli\n\t"
      : "=&r"(after_add), "=&r"(after_std), "=&r"(after_cli), "=&r"(after_sti)
      :
      : "rax", "cc", "memory");
  kprintf("pushfq after add: %lx, after std: %lx\n", after_add, after_std);
  kprintf("pushfq after cli: %lx, after sti: %lx\n", after_cli, after_sti);
}

static void control_registers(void) {
  uint64_t cr0, cr3, cr4, cr8, a, b;
  __asm__ volatile(
      "mov %%cr0, %0\n\t"
      "mov %%cr3, %1\n\t"
      "mov %%cr4, %2\n\t"
      "mov %%cr8, %3\n\t"
      "mov %6, %%cr2\n\t"
      "mov %%cr2, %4\n\t"
      "mov %7, %%cr2\n\t"
      "mov %%cr2, %5\n\t"
      : "=&r"(cr0), "=&r"(cr3), "=&r"(cr4), "=&r"(cr8), "=&r"(a), "=&r"(b)
      : "r"(0x1234000ul), "r"(0xffff800000005678ul)
      : "memory");
  kprintf("cr0 %lx, cr3 %lx, cr4 %lx, cr8 %lx\n", cr0, cr3, cr4, cr8);
  kprintf("cr2 read after each write: %lx, %lx\n", a, b);
}

static void segment_registers(void) {
  uint64_t r[6], narrow, wide, m;
  uint16_t fs_sel = 0x10;  /* the boot GDT's data segment */
  __asm__ volatile("mov %0, %%fs" ::"r"(fs_sel));
  m = 0xaaaaaaaaaaaaaaaaul;
  __asm__ volatile(
      "mov %%es, %0\n\t"
      "mov %%cs, %1\n\t"
      "mov %%ss, %2\n\t"
      "mov %%ds, %3\n\t"
      "mov %%fs, %4\n\t"
      "mov %%gs, %5\n\t"
      "mov $-1, %6\n\t"
      "mov %%cs, %w6\n\t"
      "mov $-1, %7\n\t"
      "mov %%ss, %k7\n\t"
      "movw %%fs, %8\n\t"
      : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]), "=&r"(r[5]), "=&r"(narrow),
        "=&r"(wide), "+m"(m)
      :
      : "memory");
  kprintf("es %lx cs %lx ss %lx ds %lx fs %lx gs %lx\n", r[0], r[1], r[2], r[3], r[4], r[5]);
  kprintf("mov cs to a 16-bit register: %lx, ss to a 32-bit one: %lx, fs to memory: %lx\n", narrow, wide, m);
  __asm__ volatile("mov %0, %%fs" ::"r"((uint16_t)0));
}

static void time_stamp_counter(void) {
  uint32_t lo1, hi1, lo2, hi2, aux;
  uint64_t before, after, rax_full, rdx_full, rcx_full;
  wrmsr(MSR_TSC_AUX, 0x5a5);
  /* A write of the TSC gives the guest an offset from the host's (QEMU's TCG ignores it):
     RDTSC and RDTSCP must fall between two reads of the MSR around them. */
  wrmsr(MSR_TSC, 0x100000000000ul);
  __asm__ volatile(
      "mov $0x10, %%ecx\n\t"
      "rdmsr\n\t"
      "shl $32, %%rdx\n\t"
      "or %%rdx, %%rax\n\t"
      "mov %%rax, %0\n\t"
      "rdtsc\n\t"
      "mov %%eax, %2\n\t"
      "mov %%edx, %3\n\t"
      "mov $-1, %%rcx\n\t"
      "mov $-1, %%rax\n\t"
      "mov $-1, %%rdx\n\t"
      "rdtscp\n\t"
      "mov %%eax, %4\n\t"
      "mov %%edx, %5\n\t"
      "mov %%ecx, %6\n\t"
      "mov %%rax, %7\n\t"
      "mov %%rdx, %8\n\t"
      "mov %%rcx, %9\n\t"
      "mov $0x10, %%ecx\n\t"
      "rdmsr\n\t"
      "shl $32, %%rdx\n\t"
      "or %%rdx, %%rax\n\t"
      "mov %%rax, %1\n\t"
      : "=m"(before), "=m"(after), "=m"(lo1), "=m"(hi1), "=m"(lo2), "=m"(hi2), "=m"(aux), "=m"(rax_full),
        "=m"(rdx_full), "=m"(rcx_full)
      :
      : "rax", "rcx", "rdx", "memory");
  uint64_t t1 = (uint64_t)hi1 << 32 | lo1, t2 = (uint64_t)hi2 << 32 | lo2;
  /* (QEMU's TCG reads RDTSCP ahead of the MSR read after it: that bound is Vireo's alone) */
  kprintf("TSC MSR <= rdtsc < rdtscp: %d %d\n", before <= t1, t1 < t2);
  CHECK(t2 <= after || after < 0x100000000000ul);
  kprintf("rdtscp: ecx = TSC_AUX: %x, zero-extends rax %d, rdx %d, rcx %d\n", aux, rax_full >> 32 == 0,
          rdx_full >> 32 == 0, rcx_full >> 32 == 0);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();  /* everything masked: STI lets no device interrupt */
  flags();
  control_registers();
  segment_registers();
  time_stamp_counter();
  return 0;
}
