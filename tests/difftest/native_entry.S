# difftest_native_enter: load a whole guest register state from the control block at a fixed
# address and jump to the test code. It never returns: the test code ends in ud2, whose SIGILL
# (or the fault of the instruction under test) is caught by the child's handler, which reads
# the final state from the signal frame and siglongjmps back. Every access is absolute [disp32]
# so that no register is needed once the guest's GPRs are loaded.
# The offsets are those of struct Ctrl in native_runner.cpp (checked there by static_assert).

        .set CTRL,        0x30000000
        .set CTRL_RFLAGS, CTRL + 128
        .set CTRL_CODE,   CTRL + 136
        .set CTRL_STACK,  CTRL + 144
        .set CTRL_FX,     CTRL + 192
        .set CTRL_YMMHI,  CTRL + 704

        .text
        .globl difftest_native_enter
        .type difftest_native_enter, @function
difftest_native_enter:
        fxrstor64 CTRL_FX
        # YMM upper halves (the host has AVX; zero for the families without VEX)
        vinsertf128 $1, CTRL_YMMHI + 0, %ymm0, %ymm0
        vinsertf128 $1, CTRL_YMMHI + 16, %ymm1, %ymm1
        vinsertf128 $1, CTRL_YMMHI + 32, %ymm2, %ymm2
        vinsertf128 $1, CTRL_YMMHI + 48, %ymm3, %ymm3
        vinsertf128 $1, CTRL_YMMHI + 64, %ymm4, %ymm4
        vinsertf128 $1, CTRL_YMMHI + 80, %ymm5, %ymm5
        vinsertf128 $1, CTRL_YMMHI + 96, %ymm6, %ymm6
        vinsertf128 $1, CTRL_YMMHI + 112, %ymm7, %ymm7
        vinsertf128 $1, CTRL_YMMHI + 128, %ymm8, %ymm8
        vinsertf128 $1, CTRL_YMMHI + 144, %ymm9, %ymm9
        vinsertf128 $1, CTRL_YMMHI + 160, %ymm10, %ymm10
        vinsertf128 $1, CTRL_YMMHI + 176, %ymm11, %ymm11
        vinsertf128 $1, CTRL_YMMHI + 192, %ymm12, %ymm12
        vinsertf128 $1, CTRL_YMMHI + 208, %ymm13, %ymm13
        vinsertf128 $1, CTRL_YMMHI + 224, %ymm14, %ymm14
        vinsertf128 $1, CTRL_YMMHI + 240, %ymm15, %ymm15
        movq CTRL_STACK, %rsp          # a stack of our own for popfq
        pushq CTRL_RFLAGS
        popfq
        movq CTRL + 0*8, %rax
        movq CTRL + 1*8, %rcx
        movq CTRL + 2*8, %rdx
        movq CTRL + 3*8, %rbx
        movq CTRL + 5*8, %rbp
        movq CTRL + 6*8, %rsi
        movq CTRL + 7*8, %rdi
        movq CTRL + 8*8, %r8
        movq CTRL + 9*8, %r9
        movq CTRL + 10*8, %r10
        movq CTRL + 11*8, %r11
        movq CTRL + 12*8, %r12
        movq CTRL + 13*8, %r13
        movq CTRL + 14*8, %r14
        movq CTRL + 15*8, %r15
        movq CTRL + 4*8, %rsp
        jmpq *CTRL_CODE
        .size difftest_native_enter, . - difftest_native_enter

        .section .note.GNU-stack,"",@progbits
