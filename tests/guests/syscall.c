/* SYSCALL/SYSRET in detail: #UD while EFER.SCE is clear; with it set, SYSCALL from ring 3
   saves RIP in RCX and RFLAGS in R11, masks RFLAGS with IA32_FMASK, loads CS/SS from
   IA32_STAR[47:32] and leaves RSP alone; SYSRETQ returns to RCX with RFLAGS from R11 and
   CS/SS from IA32_STAR[63:48] + 16 / + 8 with RPL 3. */
#include "lib/guest.h"

#define STAR 0xC0000081u
#define LSTAR 0xC0000082u
#define FMASK 0xC0000084u
#define FLAGS_SHOWN 0x40ED5ul  /* AC, OF, DF, IF, SF, ZF, AF, PF, CF */

extern void syscall_entry(void), user_syscall(void);
extern char user_syscall_ret[];
extern uint64_t k_rcx, k_r11, k_rsp, k_rflags, k_cs, k_ss, u_rsp, u_rflags, u_cs, u_ss;

static void user_syscall_sce_off(void) {
  TRY("syscall", "i"(0));
  trap_save(0);
}

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  pic_init();
  idt_init();
  trap_catch(6);
  ring3_init();

  wrmsr(EFER_MSR, rdmsr(EFER_MSR) & ~1ull);
  ring3_call(user_syscall_sce_off, 0x002);
  trap_report_saved(0, "syscall with EFER.SCE=0");

  wrmsr(EFER_MSR, rdmsr(EFER_MSR) | 1);
  wrmsr(STAR, (0x13ull << 48) | (0x08ull << 32));
  wrmsr(LSTAR, (uint64_t)syscall_entry);
  wrmsr(FMASK, 0x40600);  /* AC, DF, IF */
  kprintf("efer=%lx star=%lx fmask=%lx\n", rdmsr(EFER_MSR), rdmsr(STAR), rdmsr(FMASK));
  ring3_call(user_syscall, 0x40202);  /* AC and IF set in ring 3 (the PIC masks everything) */
  kprintf("kernel side: cs=%lx ss=%lx, rcx is the return address: %d, rsp unchanged: %d\n", k_cs, k_ss,
          k_rcx == (uint64_t)user_syscall_ret, k_rsp == u_rsp);
  kprintf("kernel side: r11 (user rflags)=%lx, rflags after fmask=%lx\n", k_r11 & FLAGS_SHOWN, k_rflags & FLAGS_SHOWN);
  kprintf("user side after sysret: cs=%lx ss=%lx rflags=%lx\n", u_cs, u_ss, u_rflags & FLAGS_SHOWN);
  return 0;
}
