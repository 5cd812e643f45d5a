/* The compatibility-mode half of the segments guest: 32-bit code (selector 0x48) where
   segment bases and limits apply and segment loads follow protected-mode rules. Each case
   records the trap (count, vector, error code) and EBX in compat_results[n]; the 64-bit side
   prints them. Reached by a far call from 64-bit code, left by a far return. Segment limits
   are not tested: QEMU's TCG does not check them for data accesses. */
#define TRAP_ERROR 8
#define TRAP_COUNT 48

  .macro BEGIN n
  movl $0, trap+TRAP_COUNT
  movl $-1, trap
  movl $.Lresume_\n, trap_resume
  movl $0, trap_resume+4
  movl $0xdeadbeef, %ebx
  .endm

  .macro END n
.Lresume_\n:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov trap+TRAP_COUNT, %eax
  mov %eax, compat_results+16*\n
  mov trap, %eax
  mov %eax, compat_results+16*\n+4
  mov trap+TRAP_ERROR, %eax
  mov %eax, compat_results+16*\n+8
  mov %ebx, compat_results+16*\n+12
  .endm

  .macro LOAD sreg, sel
  mov $\sel, %ax
  mov %ax, %\sreg
  .endm

  .text
  .code64
  .global compat_run
compat_run:
  push %rbx
  lcall *compat_entry(%rip)  /* m16:32: 0x48:compat_code */
  pop %rbx
  ret

  .code32
compat_code:
  BEGIN 0                /* CS in compatibility mode */
  mov %cs, %ebx
  END 0
  BEGIN 1                /* DS base: 0x58 is based at seg_buf, limit 0xFF */
  LOAD ds, 0x58
  mov 4, %ebx
  END 1
  BEGIN 2                /* FS base */
  LOAD fs, 0x58
  mov %fs:16, %ebx
  LOAD fs, 0x10
  END 2
  BEGIN 3                /* ES base, writing */
  LOAD es, 0x58
  movl $0x5a5a5a5a, %es:8
  mov seg_buf+8, %ebx
  END 3
  BEGIN 4                /* SS: a null selector */
  LOAD ss, 0
  END 4
  BEGIN 5                /* SS: writable data, not present */
  LOAD ss, 0x38
  END 5
  BEGIN 6                /* SS: read-only data */
  LOAD ss, 0x70
  END 6
  BEGIN 7                /* SS: DPL 3 data at CPL 0 */
  LOAD ss, 0x40
  END 7
  BEGIN 8                /* SS: RPL 3 != CPL */
  LOAD ss, 0x13
  END 8
  BEGIN 9                /* SS: a code segment */
  LOAD ss, 0x48
  END 9
  BEGIN 10               /* SS base */
  LOAD ss, 0x58
  mov %ss:12, %ebx
  END 10
  BEGIN 11               /* DS: DPL 0 data with RPL 3 */
  LOAD ds, 0x13
  END 11
  BEGIN 12               /* DS: execute-only code */
  LOAD ds, 0x50
  END 12
  BEGIN 13               /* DS: readable code is allowed */
  LOAD ds, 0x48
  mov seg_buf+4, %ebx
  END 13
  BEGIN 14               /* DS: a TSS descriptor */
  LOAD ds, 0x28
  END 14
  BEGIN 15               /* DS: beyond the GDT limit (RPL bits are not in the error code) */
  LOAD ds, 0x3FB
  END 15
  BEGIN 16               /* DS: not present */
  LOAD ds, 0x38
  END 16
  BEGIN 17               /* DS: an LDT selector while LDTR is null (LLDT 0 makes it so) */
  xor %eax, %eax
  lldt %ax
  LOAD ds, 0x0C
  END 17
  BEGIN 18               /* DS: LDT entry 1 (based at seg_buf + 0x10) once LLDT loaded it */
  mov $0x60, %ax
  lldt %ax
  LOAD ds, 0x0C
  mov 0, %ebx
  END 18
  BEGIN 19               /* DS: null is fine outside SS */
  LOAD ds, 0
  mov %ds, %ebx
  END 19
  BEGIN 20               /* far jump to a data segment */
  ljmp $0x10, $0
  END 20
  BEGIN 21               /* far jump to a code segment that is not present */
  ljmp $0x78, $0
  END 21
  BEGIN 22               /* far jump to 64-bit code and back: EBX = CS there << 16 | CS here */
  ljmp $0x08, $in_long_mode
.Lback_in_compat:
  mov %cs, %ecx
  shl $16, %ecx
  or %ecx, %ebx
  END 22
  lret

  .code64
in_long_mode:
  mov %cs, %ebx
  ljmp *back_to_compat(%rip)  /* m16:32 */

  .data
compat_entry:
  .long compat_code
  .word 0x48
back_to_compat:
  .long .Lback_in_compat
  .word 0x48
