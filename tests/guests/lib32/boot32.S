/* Multiboot entry for 32-bit guests: stay in the protected mode the loader left (paging off),
   load our own flat GDT with user segments and a TSS slot, then call kmain(magic, info). Its
   return value is the debug-exit code. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-align modules, want memory info */

  .section .multiboot, "a"
  .align 4
  .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

  .section .text.boot, "ax"
  .code32
  .global _start
_start:
  cli
  mov $boot_stack_top, %esp
  lgdt gdt_pointer
  ljmp $0x08, $1f
1:
  mov $0x10, %ecx
  mov %ecx, %ds
  mov %ecx, %es
  mov %ecx, %ss
  mov %ecx, %fs
  mov %ecx, %gs
  push %ebx
  push %eax
  call kmain
  push %eax
  call guest_exit

  .section .data
  .align 16
  .global gdt
gdt:
  .quad 0                       /* 0x00 null */
  .quad 0x00CF9A000000FFFF      /* 0x08 kernel code, 32-bit */
  .quad 0x00CF92000000FFFF      /* 0x10 kernel data */
  .quad 0x00CFFA000000FFFF      /* 0x18 user code, 32-bit */
  .quad 0x00CFF2000000FFFF      /* 0x20 user data */
  .quad 0                       /* 0x28 TSS, filled in by ring3_init */
  .quad 0, 0, 0, 0              /* 0x30-0x48: for guests' own descriptors */
gdt_end:
  .align 4
  .word 0
gdt_pointer:
  .word gdt_end - gdt - 1
  .long gdt

  .section .bss
  .align 16
boot_stack: .skip 16384
  .global boot_stack_top
boot_stack_top:
