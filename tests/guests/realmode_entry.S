/* The round trip of the realmode guest: 32-bit protected mode -> 16-bit protected mode ->
   real mode -> protected mode again, the way a kernel's trampoline reaches protected mode
   from real mode. The 16-bit part is copied to 0x8000 (real-mode code must run below 1 MiB)
   and written position-independently: offsets are taken from tramp_start. Results go to
   linear 0x9000. */
#define TRAMP 0x8000
#define RESULTS_SEG 0x0900

  .code32
  .text
  .global realmode_roundtrip
realmode_roundtrip:
  push %ebx
  push %esi
  push %edi
  push %ebp
  mov %esp, saved_esp
  sgdt gdt_ptr_copy          /* the protected-mode GDT, for LGDT in real mode */
  mov $tramp_start, %esi
  mov $TRAMP, %edi
  mov $(tramp_end - tramp_start), %ecx
  cld
  rep movsb
  ljmp $0x30, $0             /* 16-bit code segment based at TRAMP */
back_in_pm:
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
  mov %eax, %fs
  mov %eax, %gs
  mov saved_esp, %esp
  pop %ebp
  pop %edi
  pop %esi
  pop %ebx
  ret

  .code16
tramp_start:
  mov $0x38, %ax             /* 16-bit data segments with 64 KiB limits before leaving PM */
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov %ax, %fs
  mov %ax, %gs
  mov %cr0, %eax
  and $0xfffffffe, %eax
  mov %eax, %cr0             /* PE off */
  .set REAL_OFF, real_mode - tramp_start
  ljmp $(TRAMP >> 4), $REAL_OFF
real_mode:
  xor %ax, %ax
  mov %ax, %ss
  mov $0x7000, %sp
  mov $RESULTS_SEG, %ax
  mov %ax, %es
  mov %cs, %es:0             /* CS after the far jump */
  mov $0x1234, %ax
  mov %ax, %ds
  mov 0x10, %bx              /* DS base = 0x1234 << 4: linear 0x12350 */
  mov %bx, %es:2
  .set SUB_OFF, sub1 - tramp_start
  call sub1                  /* near call and return on SS:SP */
  mov %sp, %es:6
  mov $0x12345678, %eax      /* 32-bit operand size in 16-bit code */
  add $0x11111111, %eax
  mov %eax, %es:8
  mov $0x20, %si             /* rep movsb from DS:SI (linear 0x12360) to ES:DI (0x9010) */
  mov $0x10, %di
  mov $8, %cx
  cld
  rep movsb
  push %ds
  pop %fs
  mov %fs, %es:0x18
  mov $0x100, %bx
  mov $3, %si
  mov (%bx,%si), %al         /* 16-bit addressing: DS:BX+SI = linear 0x12443 */
  mov %al, %es:0x1a
  .set GDTP_OFF, gdt_ptr_copy - tramp_start
  lgdtl %cs:GDTP_OFF         /* 32-bit base, operand-size prefix */
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0             /* PE on */
  ljmpl $0x08, $back_in_pm   /* far jump with a 32-bit offset to 32-bit code */
sub1:
  mov $0xbeef, %ax
  mov %ax, %es:4
  ret
  .align 4
gdt_ptr_copy:
  .word 0
  .long 0
tramp_end:

  .code32
  .bss
  .align 4
saved_esp: .long 0
