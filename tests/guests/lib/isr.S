  .altmacro
/* Interrupt entry stubs for all 256 vectors. Each pushes a dummy error code where the CPU
   pushes none, then the vector number, so every handler sees the same frame. */
  .code64
  .text

.macro STUB v
  .align 16
isr_stub_\v:
  .if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
  .else
  push $0
  .endif
  push $\v
  jmp isr_common
.endm

  .global isr_stubs_start
isr_stubs_start:
  .set i, 0
  .rept 256
  STUB %i
  .set i, i + 1
  .endr

isr_common:
  push %rax
  push %rcx
  push %rdx
  push %rbx
  push %rbp
  push %rsi
  push %rdi
  push %r8
  push %r9
  push %r10
  push %r11
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsp, %rdi
  cld
  call isr_dispatch
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rdi
  pop %rsi
  pop %rbp
  pop %rbx
  pop %rdx
  pop %rcx
  pop %rax
  add $16, %rsp
  iretq
