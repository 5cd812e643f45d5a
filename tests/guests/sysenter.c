/* SYSENTER/SYSEXIT between ring 0 and ring 3 in 32-bit protected mode (where Intel and AMD
   both have them): the MSRs 0x174-0x176, the flat segments both instructions derive from
   IA32_SYSENTER_CS, ESP and EIP from the MSRs and from ECX/EDX, IF cleared on entry, and
   #GP(0) for SYSEXIT at CPL 3 and for SYSEXIT and SYSENTER with IA32_SYSENTER_CS = 0. */
#include "lib/guest.h"

#define SYSENTER_CS 0x174
#define SYSENTER_ESP 0x175
#define SYSENTER_EIP 0x176

extern void sysenter_entry(void), user_program(void);
extern void enter_user_sysexit(uint32_t eip, uint32_t esp) __attribute__((noreturn));
extern uint32_t entry_esp;
static uint8_t kernel_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint32_t user_esp_before;

/* With IA32_SYSENTER_CS = 0, from ring 3 (entered with IRET this time). */
static void user_sysenter_zero_cs(void) {
  TRY("mov %%esp, %%ecx\n\tmov $1f, %%edx\n\tsysenter", "i"(0));
  trap_save(0);
}

uint32_t sysenter_dispatch(uint32_t nr, uint32_t arg, uint32_t eflags) {
  uint16_t cs, ss;
  __asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
  switch (nr) {
    case 1:
      kprintf("ring 3: cs=%x\n", arg);
      kprintf("kernel entry: cs=%x ss=%x, esp from IA32_SYSENTER_ESP: %d\n", cs, ss,
              entry_esp == (uint32_t)(kernel_stack + sizeof kernel_stack));
      break;
    case 2: kprintf("ring 3: ss=%x\n", arg); break;
    case 3:  /* the system flags only: the arithmetic ones are whatever the last ALU op left */
      kprintf("ring 3: eflags=%x; at kernel entry: eflags=%x (IF cleared)\n", arg & ~0x8D5u, eflags & ~0x8D5u);
      break;
    case 4: user_esp_before = arg; break;
    case 5: kprintf("ring 3: esp after sysexit is the ecx it passed: %d\n", arg == user_esp_before); break;
    case 6:
      trap_report("sysexit at cpl 3");
      wrmsr(SYSENTER_CS, 0);
      TRY("mov %%esp, %%ecx\n\tmov $1f, %%edx\n\tsysexit", "i"(0));
      trap_report("sysexit at cpl 0 with IA32_SYSENTER_CS = 0");
      ring3_call(user_sysenter_zero_cs, 0x002);
      trap_report_saved(0, "sysenter at cpl 3 with IA32_SYSENTER_CS = 0");
      guest_exit(0);
  }
  return 0;
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  ring3_init();  /* the TSS: the #GP from ring 3 enters ring 0 through it */
  trap_catch(13);
  uint32_t id[4];
  cpuid(1, 0, id);
  kprintf("cpuid SEP: %d\n", (id[3] >> 11) & 1);
  wrmsr(SYSENTER_CS, 0x08);
  wrmsr(SYSENTER_ESP, (uint32_t)(kernel_stack + sizeof kernel_stack));
  wrmsr(SYSENTER_EIP, (uint32_t)sysenter_entry);
  kprintf("IA32_SYSENTER_CS=%x, ESP and EIP read back: %d %d\n", (uint32_t)rdmsr(SYSENTER_CS),
          rdmsr(SYSENTER_ESP) == (uint32_t)(kernel_stack + sizeof kernel_stack),
          rdmsr(SYSENTER_EIP) == (uint32_t)sysenter_entry);
  enter_user_sysexit((uint32_t)user_program, (uint32_t)(user_stack + sizeof user_stack));
}
