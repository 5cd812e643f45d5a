/* YMM registers survive a signal handler that uses AVX (issue 17): the interrupted code's
 * YMM0..15 are all set, a signal arrives between two instructions, the handler overwrites
 * every YMM register with AVX code and edits the upper half of the interrupted YMM7 in the
 * frame's XSAVE area (the AVX component at offset 576), and after sigreturn the interrupted
 * code finds its registers intact, YMM7's upper half as edited. The frame's markers say the
 * AVX state is there: XSTATE_BV and the software bytes' xfeatures have bit 2. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int bv_avx, xfeatures_avx, handler_upper_zero;

static void handler(int sig, siginfo_t* si, void* ctx) {
  (void)sig; (void)si;
  ucontext_t* uc = ctx;
  unsigned char* fp = (unsigned char*)uc->uc_mcontext.fpregs;
  uint64_t xfeatures, bv;
  memcpy(&xfeatures, fp + 464 + 8, 8);
  memcpy(&bv, fp + 512, 8);
  xfeatures_avx = (xfeatures & 4) != 0;
  bv_avx = (bv & 4) != 0;
  /* The handler starts from the initial AVX state: every upper half zero. */
  unsigned char up[32];
  __asm__ volatile("vmovdqu %%ymm9, %0" : "=m"(up));
  handler_upper_zero = 1;
  for (int i = 16; i < 32; i++) handler_upper_zero &= up[i] == 0;
  /* Clobber every YMM register. */
  __asm__ volatile(
      "vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm0, %%ymm0, %%ymm1\n\t"
      "vpaddd %%ymm1, %%ymm0, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm0, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm0, %%ymm4\n\t"
      "vpaddd %%ymm4, %%ymm0, %%ymm5\n\t"
      "vpaddd %%ymm5, %%ymm0, %%ymm6\n\t"
      "vpaddd %%ymm6, %%ymm0, %%ymm7\n\t"
      "vpaddd %%ymm7, %%ymm0, %%ymm8\n\t"
      "vpaddd %%ymm8, %%ymm0, %%ymm9\n\t"
      "vpaddd %%ymm9, %%ymm0, %%ymm10\n\t"
      "vpaddd %%ymm10, %%ymm0, %%ymm11\n\t"
      "vpaddd %%ymm11, %%ymm0, %%ymm12\n\t"
      "vpaddd %%ymm12, %%ymm0, %%ymm13\n\t"
      "vpaddd %%ymm13, %%ymm0, %%ymm14\n\t"
      "vpaddd %%ymm14, %%ymm0, %%ymm15"
      ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  /* Edit the interrupted YMM7's bits 255:128 in the frame. */
  for (int i = 0; i < 16; i++) fp[576 + 7 * 16 + i] = (unsigned char)(0xC0 + i);
  bv |= 4;
  memcpy(fp + 512, &bv, 8);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  static unsigned char in[16][32], out[16][32];
  for (int r = 0; r < 16; r++)
    for (int i = 0; i < 32; i++) in[r][i] = (unsigned char)(r * 37 + i * 5 + 1);
  __asm__ volatile(
      "vmovdqu 0(%0), %%ymm0\n\t"   "vmovdqu 32(%0), %%ymm1\n\t"
      "vmovdqu 64(%0), %%ymm2\n\t"  "vmovdqu 96(%0), %%ymm3\n\t"
      "vmovdqu 128(%0), %%ymm4\n\t" "vmovdqu 160(%0), %%ymm5\n\t"
      "vmovdqu 192(%0), %%ymm6\n\t" "vmovdqu 224(%0), %%ymm7\n\t"
      "vmovdqu 256(%0), %%ymm8\n\t" "vmovdqu 288(%0), %%ymm9\n\t"
      "vmovdqu 320(%0), %%ymm10\n\t" "vmovdqu 352(%0), %%ymm11\n\t"
      "vmovdqu 384(%0), %%ymm12\n\t" "vmovdqu 416(%0), %%ymm13\n\t"
      "vmovdqu 448(%0), %%ymm14\n\t" "vmovdqu 480(%0), %%ymm15\n\t"
      "push %0\n\tpush %1\n\t"
      "mov $39, %%eax\n\t"          /* getpid, then kill(pid, SIGUSR1): raw system calls */
      "syscall\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $10, %%esi\n\t"
      "mov $62, %%eax\n\t"
      "syscall\n\t"
      "pop %1\n\tpop %0\n\t"
      "vmovdqu %%ymm0, 0(%1)\n\t"   "vmovdqu %%ymm1, 32(%1)\n\t"
      "vmovdqu %%ymm2, 64(%1)\n\t"  "vmovdqu %%ymm3, 96(%1)\n\t"
      "vmovdqu %%ymm4, 128(%1)\n\t" "vmovdqu %%ymm5, 160(%1)\n\t"
      "vmovdqu %%ymm6, 192(%1)\n\t" "vmovdqu %%ymm7, 224(%1)\n\t"
      "vmovdqu %%ymm8, 256(%1)\n\t" "vmovdqu %%ymm9, 288(%1)\n\t"
      "vmovdqu %%ymm10, 320(%1)\n\t" "vmovdqu %%ymm11, 352(%1)\n\t"
      "vmovdqu %%ymm12, 384(%1)\n\t" "vmovdqu %%ymm13, 416(%1)\n\t"
      "vmovdqu %%ymm14, 448(%1)\n\t" "vmovdqu %%ymm15, 480(%1)\n\t"
      "vzeroupper"
      :
      : "r"(in), "r"(out)
      : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3",
        "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
        "xmm14", "xmm15");
  int intact = 0;
  for (int r = 0; r < 16; r++) {
    int same = r == 7 ? memcmp(out[r], in[r], 16) == 0 : memcmp(out[r], in[r], 32) == 0;
    intact += same;
    if (!same) printf("ymm%d differs\n", r);
  }
  int edited = 1;
  for (int i = 0; i < 16; i++) edited &= out[7][16 + i] == 0xC0 + i;
  printf("registers intact: %d of 16\n", intact);
  printf("ymm7 upper half edited in the frame: %d\n", edited);
  printf("frame: XSTATE_BV has AVX %d, xfeatures has AVX %d\n", bv_avx, xfeatures_avx);
  printf("handler started with clean upper halves: %d\n", handler_upper_zero);
  return intact == 16 && edited && bv_avx && xfeatures_avx && handler_upper_zero ? 0 : 1;
}
