/* Interrupts and exceptions in 32-bit protected mode: INT n, INT3, INTO and BOUND with the
   EIP each pushes (trap or fault), IRET restoring a flag the handler changed, interrupt
   versus trap gates (IF), error codes (#GP with a selector, #NP for a not-present gate, #GP
   for a gate above the caller's privilege), #DE/#UD, a privilege change from ring 3 onto the
   TSS's SS0:ESP0, and a PIT interrupt through the PIC waking HLT. */
#include "lib/guest.h"

static struct {
  uint32_t eip, cs, eflags, esp, ss, handler_esp, handler_ss, handler_eflags;
  int count;
} seen;

static void on_gate(struct frame* f) {
  seen.eip = f->eip;
  seen.cs = f->cs;
  seen.eflags = f->eflags;
  seen.esp = (f->cs & 3) ? f->esp : 0;
  seen.ss = (f->cs & 3) ? f->ss : 0;
  seen.handler_esp = (uint32_t)f;
  __asm__ volatile("mov %%ss, %0" : "=r"(seen.handler_ss));
  __asm__ volatile("pushf\n\tpop %0" : "=r"(seen.handler_eflags));
  seen.count++;
}
static void on_set_carry(struct frame* f) { f->eflags |= 1; }

static volatile uint32_t ticks, tick_eip;
static void on_timer(struct frame* f) {
  ticks++;
  tick_eip = f->eip;
  pic_eoi(0);
}

static uint32_t bounds[2] = {10, 20};
static void user_part(void) {
  __asm__ volatile("int $0x45" ::: "memory");
  TRY("int $0x46", "i"(0));
  trap_save(0);
  TRY("cli", "i"(0));
  trap_save(1);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  ring3_init();
  for (int v = 0; v < 20; v++) trap_catch(v);
  trap_catch(0x40);
  idt_set_handler(0x41, on_gate);
  idt_set_handler(0x42, on_gate);
  idt_set_gate(0x42, 0, 0, 0xF);
  idt_set_handler(0x43, on_set_carry);
  trap_catch(0x44);
  idt_set_present(0x44, false);
  idt_set_handler(0x45, on_gate);
  idt_set_gate(0x45, 3, 0, 0xE);
  idt_set_handler(0x46, on_gate);

  kputs("-- software interrupts\n");
  TRY("int $0x40", "i"(0));
  trap_report("int 0x40");
  TRY("int3", "i"(0));
  trap_report("int3");
  TRY("mov $0x7fffffff, %%eax\n\tadd $1, %%eax\n\tinto", "i"(0));
  trap_report("into with OF=1");
  TRY("xor %%eax, %%eax\n\tinto", "i"(0));
  trap_report("into with OF=0");
  TRY("mov $5, %%eax\n\tbound %%eax, (%0)", "r"(bounds));
  trap_report("bound 5 in [10, 20]");
  TRY("mov $15, %%eax\n\tbound %%eax, (%0)", "r"(bounds));
  trap_report("bound 15 in [10, 20]");
  uint8_t carry;
  __asm__ volatile("clc\n\tint $0x43\n\tsetc %0" : "=r"(carry));
  kprintf("iret restores the EFLAGS the handler changed: CF=%d\n", carry);

  kputs("-- gates\n");
  sti();
  __asm__ volatile("int $0x41" ::: "memory");
  kprintf("interrupt gate: IF in handler=%d, IF in frame=%d\n", (seen.handler_eflags & 0x200) != 0,
          (seen.eflags & 0x200) != 0);
  __asm__ volatile("int $0x42" ::: "memory");
  kprintf("trap gate: IF in handler=%d, IF in frame=%d\n", (seen.handler_eflags & 0x200) != 0,
          (seen.eflags & 0x200) != 0);
  cli();
  TRY("int $0x44", "i"(0));
  trap_report("int 0x44, gate not present");

  kputs("-- exceptions with and without error codes\n");
  TRY("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\txor %%edx, %%edx\n\tdiv %%ecx", "i"(0));
  trap_report("div by zero");
  TRY("ud2", "i"(0));
  trap_report("ud2");
  TRY("mov $0x3fb, %%eax\n\tmov %%eax, %%ds", "i"(0));
  trap_report("ds <- 0x3fb (beyond the GDT)");
  TRY("mov $0x18, %%eax\n\tmov %%eax, %%ss", "i"(0));
  trap_report("ss <- 0x18 (code)");
  TRY("mov $0x23, %%eax\n\tmov %%eax, %%ss", "i"(0));
  trap_report("ss <- 0x23 (DPL 3 data at CPL 0)");
  TRY("ljmp $0, $0", "i"(0));
  trap_report("ljmp to the null selector");

  kputs("-- from ring 3\n");
  seen.count = 0;
  ring3_call(user_part, 0x002);
  kprintf("int 0x45 (DPL 3 gate): entered %d, frame cs=%x ss=%x, handler ss=%x, on the ESP0 stack: %d\n",
          seen.count, seen.cs, seen.ss, seen.handler_ss,
          seen.handler_esp < tss.esp0 && seen.handler_esp >= tss.esp0 - 8192);
  trap_report_saved(0, "int 0x46 (DPL 0 gate) from ring 3");
  trap_report_saved(1, "cli in ring 3, IOPL 0");

  kputs("-- external interrupt\n");
  idt_set_handler(PIC_VECTOR_BASE + 0, on_timer);
  pit_pic_quiesce();
  pic_unmask(0);
  pit_one_shot(1193);  /* one IRQ0 edge, 1 ms from now */
  uint32_t after_hlt;
  __asm__ volatile("sti\n\thlt\n1:\n\tcli\n\tmovl $1b, %0" : "=m"(after_hlt));
  kprintf("IRQ0 ticks: %d, taken at the instruction after HLT: %d\n", ticks, tick_eip == after_hlt);
  return 0;
}
