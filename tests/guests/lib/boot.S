/* Multiboot entry for every guest: the loader leaves us in 32-bit protected mode with paging
   off (EAX = 0x2BADB002, EBX = info). We identity-map the first 1 GiB with 2 MiB pages, enable
   PAE and EFER.LME, turn paging on, load a 64-bit GDT and far-jump into long mode, then call
   kmain(magic, info). Its return value is the debug-exit code. */
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
  mov %eax, %edi            /* kmain's first argument: the boot magic */
  mov %ebx, %esi            /* second: the multiboot info pointer */
  mov $boot_stack_top, %esp

  /* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = i * 2 MiB, present + writable + large */
  mov $boot_pdpt, %eax
  or $3, %eax
  mov %eax, boot_pml4
  mov $boot_pd, %eax
  or $3, %eax
  mov %eax, boot_pdpt
  xor %ecx, %ecx
1:
  mov %ecx, %eax
  shl $21, %eax
  or $0x83, %eax
  mov %eax, boot_pd(,%ecx,8)
  movl $0, boot_pd+4(,%ecx,8)
  inc %ecx
  cmp $512, %ecx
  jb 1b

  mov $boot_pml4, %eax
  mov %eax, %cr3
  mov %cr4, %eax
  or $0x20, %eax            /* PAE */
  mov %eax, %cr4
  mov $0xC0000080, %ecx     /* EFER */
  rdmsr
  or $0x100, %eax           /* LME */
  wrmsr
  mov %cr0, %eax
  or $0x80000001, %eax      /* PG | PE */
  mov %eax, %cr0
  lgdt gdt_pointer
  ljmp $0x08, $long_mode_entry

  .code64
long_mode_entry:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov %ax, %fs
  mov %ax, %gs
  mov $boot_stack_top, %rsp
  call kmain
  mov %eax, %edi
  call guest_exit
2:
  cli
  hlt
  jmp 2b

  .section .data
  .align 16
  .global gdt
gdt:
  .quad 0                       /* 0x00 null */
  .quad 0x00AF9A000000FFFF      /* 0x08 kernel code, 64-bit */
  .quad 0x00CF92000000FFFF      /* 0x10 kernel data */
  .quad 0x00CFF2000000FFFF      /* 0x18 user data (SYSRET: STAR.base + 8) */
  .quad 0x00AFFA000000FFFF      /* 0x20 user code, 64-bit (SYSRET: STAR.base + 16) */
  .quad 0, 0                    /* 0x28 TSS, filled in by guests that need one */
gdt_end:
gdt_pointer:
  .word gdt_end - gdt - 1
  .quad gdt

  .section .bss
  .align 4096
  .global boot_pml4
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd: .skip 4096
  .align 16
boot_stack: .skip 16384
  .global boot_stack_top
boot_stack_top:
