/* SYSENTER/SYSEXIT for the sysenter guest (32-bit protected mode). The user program passes
   its return EIP in EDX and its ESP in ECX (what SYSEXIT takes back), a call number in EAX
   and an argument in EBX; the kernel entry records the state SYSENTER produced and calls
   sysenter_dispatch(nr, arg, eflags at entry). */
  .code32
  .text
  .global sysenter_entry, enter_user_sysexit, user_program
sysenter_entry:
  mov %esp, entry_esp
  push %ecx
  push %edx
  pushf
  push %ebx
  push %eax
  call sysenter_dispatch
  add $12, %esp
  pop %edx
  pop %ecx
  sti                       /* SYSEXIT keeps EFLAGS: ring 3 runs with IF=1 (the PIC masks all) */
  sysexit

/* enter_user_sysexit(eip, esp): the first entry into ring 3. */
enter_user_sysexit:
  mov 4(%esp), %edx
  mov 8(%esp), %ecx
  mov $0x23, %eax           /* SYSEXIT does not touch DS/ES: give ring 3 usable ones */
  mov %eax, %ds
  mov %eax, %es
  sti                       /* IF=1 in ring 3 (the PIC masks everything) */
  sysexit

  .macro SYS nr
  mov $\nr, %eax
  mov %esp, %ecx
  mov $.Lret\@, %edx
  sysenter
.Lret\@:
  .endm

user_program:
  mov %cs, %ebx
  SYS 1                     /* report CS in ring 3 */
  mov %ss, %ebx
  SYS 2                     /* report SS */
  pushf
  pop %ebx
  SYS 3                     /* report EFLAGS in ring 3; the kernel reports its own at entry */
  mov %esp, %ebx
  SYS 4                     /* report ESP before; the kernel checks it gets ECX back */
  mov %esp, %ebx
  SYS 5                     /* ... and ESP after SYSEXIT */
  movl $.Lsysexit, trap_insn
  movl $1f, trap_resume
  mov $0, %edx
.Lsysexit:
  sysexit                   /* at CPL 3: #GP(0) */
1:
  SYS 6                     /* report the trap; the kernel goes on from there */
  ud2

  .bss
  .global entry_esp
entry_esp: .long 0
