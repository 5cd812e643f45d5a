/* ring3_call(fn, eflags): IRET into ring 3 at fn, on ring3_stack with user data segments and
   a return address that leaves through the ring-3 exit gate; tss32.c's handler comes back to
   ring3_resume. */
  .code32
  .text
  .global ring3_call, ring3_resume
ring3_call:
  push %ebx
  push %esi
  push %edi
  push %ebp
  mov %esp, ring3_kernel_esp
  mov 20(%esp), %ecx        /* fn */
  mov 24(%esp), %edx        /* eflags */
  mov $ring3_stack_top - 4, %eax
  movl $ring3_exit_stub, (%eax)
  mov $0x23, %ebx
  mov %ebx, %ds
  mov %ebx, %es
  push $0x23                /* SS: user data, RPL 3 */
  push %eax                 /* ESP */
  push %edx                 /* EFLAGS */
  push $0x1B                /* CS: user code, RPL 3 */
  push %ecx                 /* EIP */
  iret
ring3_resume:
  mov ring3_kernel_esp, %esp
  pop %ebp
  pop %edi
  pop %esi
  pop %ebx
  ret

ring3_exit_stub:
  int $0x81                 /* RING3_EXIT_VECTOR */
  ud2

  .bss
  .align 16
ring3_kernel_esp: .long 0
  .align 16
  .skip 16384
ring3_stack_top:
