/* Ring transitions for the usermode guest: the SYSCALL entry (switch to a kernel stack, call
   syscall_dispatch(nr, a1, a2), SYSRET back), entering ring 3, and the user program itself,
   which the kernel copies into the user code page (position-independent). */
  .code64
  .text
  .global syscall_entry
syscall_entry:
  mov %rsp, user_rsp(%rip)
  lea syscall_stack_top(%rip), %rsp
  push %rcx                 /* user RIP */
  push %r11                 /* user RFLAGS */
  mov %rsi, %rdx
  mov %rdi, %rsi
  mov %rax, %rdi
  call syscall_dispatch
  pop %r11
  pop %rcx
  mov user_rsp(%rip), %rsp
  sysretq

  .global enter_user
enter_user:
  mov %rdi, %rcx            /* RIP after SYSRET */
  mov $0x002, %r11          /* RFLAGS: interrupts stay off in ring 3 */
  mov %rsi, %rsp
  sysretq

  .global user_code_start, user_code_end
user_code_start:
  mov %cs, %eax
  mov %eax, %edi
  mov $1, %eax              /* report_cs(cs) */
  syscall
  lea user_msg(%rip), %rdi
  mov $(user_msg_end - user_msg), %esi
  mov $2, %eax              /* write(msg, len) */
  syscall
  mov $6, %edi
  imul $7, %edi, %edi
  mov $3, %eax              /* exit(42) */
  syscall
  ud2
user_msg:
  .ascii "hello from ring 3\n"
user_msg_end:
user_code_end:

  .bss
  .align 16
user_rsp: .quad 0
  .align 16
  .skip 8192
syscall_stack_top:
