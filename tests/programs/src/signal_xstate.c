/* The extended-state signal frame, as Linux builds it on an XSAVE machine: uc_flags has
 * UC_FP_XSTATE, the fxsave image carries FP_XSTATE_MAGIC1 in its software-reserved bytes,
 * FP_XSTATE_MAGIC2 follows the XSAVE area, XSTATE_BV has x87 and SSE; a handler that edits
 * XMM and MXCSR in the frame finds its edits in the registers after sigreturn, and the
 * handler itself starts from the initial SSE state. Sizes are the host's own, so only what
 * every XSAVE machine shares is printed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <immintrin.h>

#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#endif
#define UC_FP_XSTATE 0x1

struct sw_bytes {
  uint32_t magic1, extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size, padding[7];
};

static volatile int seen_magic1, seen_magic2, seen_flag, bv_fp_sse, handler_xmm_zero, handler_mxcsr;

static void handler(int sig, siginfo_t* si, void* ctx) {
  (void)sig; (void)si;
  ucontext_t* uc = ctx;
  unsigned char* fp = (unsigned char*)uc->uc_mcontext.fpregs;
  struct sw_bytes sw;
  memcpy(&sw, fp + 464, sizeof sw);
  seen_flag = (uc->uc_flags & UC_FP_XSTATE) != 0;
  seen_magic1 = sw.magic1 == FP_XSTATE_MAGIC1;
  if (seen_magic1) {
    uint32_t m2;
    memcpy(&m2, fp + sw.xstate_size, 4);
    seen_magic2 = m2 == FP_XSTATE_MAGIC2 && sw.extended_size == sw.xstate_size + 4 && (sw.xfeatures & 3) == 3;
    uint64_t bv;
    memcpy(&bv, fp + 512, 8);
    bv_fp_sse = (bv & 3) == 3;
  }
  /* The handler runs with the initial SSE state (xmm0 zero, MXCSR 1F80). */
  __m128i z;
  __asm__ volatile("movdqa %%xmm0, %0" : "=x"(z));
  handler_xmm_zero = _mm_movemask_epi8(_mm_cmpeq_epi8(z, _mm_setzero_si128())) == 0xFFFF;
  handler_mxcsr = (int)_mm_getcsr();
  /* Edit the interrupted code's xmm5 and MXCSR in the frame. */
  for (int i = 0; i < 16; i++) fp[160 + 5 * 16 + i] = (unsigned char)(0xA0 + i);
  uint32_t mx = 0x3F80;  /* round down */
  memcpy(fp + 24, &mx, 4);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  unsigned char out[16];
  uint32_t mx_after;
  __asm__ volatile(
      "pcmpeqd %%xmm0, %%xmm0\n\t"  /* xmm0 all ones: the handler must not see it */
      "pxor %%xmm5, %%xmm5\n\t"
      "mov $39, %%eax\n\t"          /* kill(getpid(), SIGUSR1) as raw system calls */
      "syscall\n\t"                 /* getpid */
      "mov %%eax, %%edi\n\t"
      "mov $10, %%esi\n\t"
      "mov $62, %%eax\n\t"
      "syscall\n\t"                 /* kill */
      "movdqu %%xmm5, %0\n\t"
      "stmxcsr %1"
      : "=m"(out), "=m"(mx_after)
      :
      : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "xmm0", "xmm5", "memory");
  _mm_setcsr(0x1F80);
  int edited = 1;
  for (int i = 0; i < 16; i++) edited &= out[i] == 0xA0 + i;
  printf("uc_flags has UC_FP_XSTATE: %d\n", seen_flag);
  printf("magic1: %d, magic2 and sizes: %d, XSTATE_BV has x87|SSE: %d\n", seen_magic1, seen_magic2, bv_fp_sse);
  printf("handler starts with xmm0 zero: %d, mxcsr %#x\n", handler_xmm_zero, handler_mxcsr);
  printf("xmm5 edited through the frame: %d, mxcsr after: %#x\n", edited, mx_after);
  return !(seen_flag && seen_magic1 && seen_magic2 && bv_fp_sse && handler_xmm_zero && edited && mx_after == 0x3F80);
}
