/* ring3_call(fn, rflags): IRETQ into ring 3 at fn, on ring3_stack, with a return address
   that leaves through the ring-3 exit gate; tss.c's handler comes back to ring3_resume. */
  .code64
  .text
  .global ring3_call, ring3_resume
ring3_call:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsp, ring3_kernel_rsp(%rip)
  lea ring3_stack_top(%rip), %rax
  lea ring3_exit_stub(%rip), %rcx
  mov %rcx, -8(%rax)
  sub $8, %rax
  push $0x1B                /* SS: user data, RPL 3 */
  push %rax                 /* RSP */
  push %rsi                 /* RFLAGS */
  push $0x23                /* CS: user code, RPL 3 */
  push %rdi                 /* RIP */
  iretq
ring3_resume:
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret

ring3_exit_stub:
  int $0x81                 /* RING3_EXIT_VECTOR */
  ud2

  .bss
  .align 16
  .skip 16384
ring3_stack_top:
