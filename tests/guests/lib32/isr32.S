  .altmacro
/* Interrupt entry stubs for all 256 vectors in 32-bit protected mode. Each pushes a dummy
   error code where the CPU pushes none, then the vector number; the common part saves the
   registers and DS/ES and runs the handler with the kernel's data segment. */
  .code32
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
  push %ds
  push %es
  pusha
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %esp, %eax
  push %eax
  cld
  call isr_dispatch
  add $4, %esp
  popa
  pop %es
  pop %ds
  add $8, %esp
  iret
