/* SYSCALL/SYSRET for the syscall guest. The ring-3 side (called through ring3_call) records
   what it set before SYSCALL and what it finds after SYSRET; the kernel entry records what
   SYSCALL produced and sets CF in R11, which SYSRET must restore into RFLAGS. */
  .code64
  .text
  .global syscall_entry, user_syscall, user_syscall_ret
syscall_entry:
  mov %rcx, k_rcx(%rip)
  mov %r11, k_r11(%rip)
  mov %rsp, k_rsp(%rip)
  pushfq
  popq k_rflags(%rip)
  mov %cs, k_cs(%rip)
  mov %ss, k_ss(%rip)
  or $1, %r11               /* CF, to show SYSRET takes RFLAGS from R11 */
  sysretq

user_syscall:
  push %rbx
  mov %rsp, u_rsp(%rip)
  std
  mov $0xdead, %rcx
  mov $0xbeef, %r11
  syscall
user_syscall_ret:
  pushfq
  popq u_rflags(%rip)
  cld
  mov %cs, u_cs(%rip)
  mov %ss, u_ss(%rip)
  pop %rbx
  ret

  .bss
  .align 8
  .global k_rcx, k_r11, k_rsp, k_rflags, k_cs, k_ss, u_rsp, u_rflags, u_cs, u_ss
k_rcx: .quad 0
k_r11: .quad 0
k_rsp: .quad 0
k_rflags: .quad 0
k_cs: .quad 0
k_ss: .quad 0
u_rsp: .quad 0
u_rflags: .quad 0
u_cs: .quad 0
u_ss: .quad 0
