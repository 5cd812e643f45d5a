// The exactness tests' harness: runs a few bytes of machine code from a given register state
// and prints how it ended — the signal with its si_code, si_addr, REG_TRAPNO, REG_ERR and rip,
// or the ud2 that ends every snippet — and the registers. The same program runs natively and
// under each engine (scripts/compare-run.sh), so native is the oracle for every printed field.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

// Code and data live at fixed addresses, so that printed addresses match between the runs.
#define CODE ((uint8_t*)0x50000000)
#define DATA ((uint8_t*)0x50010000)   // 64 KiB read-write
#define RDONLY ((uint8_t*)0x50020000) // one read-only page
#define HOLE ((uint8_t*)0x50021000)   // never mapped

struct regs {
  uint64_t gpr[16];  // rax rcx rdx rbx rsp rbp rsi rdi r8..r15
  uint64_t rflags;
};

struct regs in_regs;
uint64_t saved_host_sp;
static sigjmp_buf back;
static const char* case_name;

// Loads every GPR and RFLAGS from in_regs and jumps to CODE; only a signal comes back.
__asm__(
    ".text\n"
    "enter_code:\n"
    "  mov %rsp, saved_host_sp(%rip)\n"
    "  lea in_regs(%rip), %rax\n"
    "  push 128(%rax)\n"  // rflags, popped last (it may hold TF)
    "  mov 8(%rax), %rcx\n  mov 16(%rax), %rdx\n  mov 24(%rax), %rbx\n"
    "  mov 40(%rax), %rbp\n  mov 48(%rax), %rsi\n  mov 56(%rax), %rdi\n"
    "  mov 64(%rax), %r8\n  mov 72(%rax), %r9\n  mov 80(%rax), %r10\n  mov 88(%rax), %r11\n"
    "  mov 96(%rax), %r12\n  mov 104(%rax), %r13\n  mov 112(%rax), %r14\n  mov 120(%rax), %r15\n"
    "  mov 32(%rax), %rax\n"  // the new rsp, kept in rax until the end
    "  mov %rax, tmp_rsp(%rip)\n"
    "  mov in_regs(%rip), %rax\n"
    "  popfq\n"
    "  mov tmp_rsp(%rip), %rsp\n"
    "  jmp *code_addr(%rip)\n"
    ".data\n"
    "tmp_rsp: .quad 0\n"
    "code_addr: .quad 0x50000000\n"
    ".text\n");
void enter_code(void);

static const char* signame(int s) {
  switch (s) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGFPE: return "SIGFPE";
    default: return "other";
  }
}

void on_signal(int sig, siginfo_t* si, void* ctx) {
  ucontext_t* uc = ctx;
  greg_t* g = uc->uc_mcontext.gregs;
  static const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  static const char* names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  uint64_t rip = (uint64_t)g[REG_RIP];
  int at_end = sig == SIGILL && rip >= (uint64_t)CODE && rip < (uint64_t)CODE + 4096 &&
               *(uint16_t*)rip == 0x0B0F;
  if (at_end)
    printf("%s: ended at rip=+%#lx", case_name, (unsigned long)(rip - (uint64_t)CODE));
  else
    printf("%s: %s si_code=%d si_addr=%#lx rip=%#lx trapno=%lld err=%#llx", case_name, signame(sig),
           si->si_code, (unsigned long)si->si_addr, (unsigned long)rip, (long long)g[REG_TRAPNO],
           (long long)g[REG_ERR]);
  // Arithmetic flags, TF, DF, OF, NT, AC.
  printf(" rflags=%#llx\n", (long long)(g[REG_EFL] & 0x44fd5));
  for (int i = 0; i < 16; ++i)
    if ((uint64_t)g[order[i]] != in_regs.gpr[i])
      printf("  %s=%#llx\n", names[i], (long long)g[order[i]]);
  siglongjmp(back, 1);
}

// Linux runs a handler with the interrupted code's EFLAGS.AC: clear it before any C code runs
// (printf's misaligned accesses would raise #AC again).
__asm__(
    ".text\n"
    "on_signal_entry:\n"
    "  pushfq\n"
    "  andl $~0x40000, (%rsp)\n"
    "  popfq\n"
    "  jmp on_signal\n");
void on_signal_entry(int, siginfo_t*, void*);

static void setup(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  mmap(CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  mmap(DATA, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  mmap(RDONLY, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  // Read once, so that the page is present: a write to a page Linux has not populated yet is
  // reported without the present bit, which depends on the host's page tables, not the CPU.
  (void)*(volatile uint8_t*)RDONLY;
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_signal_entry;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  for (int s = 1; s < 32; ++s)
    if (s == SIGSEGV || s == SIGBUS || s == SIGILL || s == SIGTRAP || s == SIGFPE) sigaction(s, &sa, NULL);
}

// Runs `n` code bytes (ud2 appended) with the registers in `r` (rsp defaults to the top of
// DATA, rflags to 0x202).
static void run(const char* name, const void* bytes, size_t n, struct regs r) {
  case_name = name;
  memset(CODE, 0xCC, 4096);
  memcpy(CODE, bytes, n);
  CODE[n] = 0x0F;
  CODE[n + 1] = 0x0B;
  if (!r.gpr[4]) r.gpr[4] = (uint64_t)DATA + 0x8000;
  if (!r.rflags) r.rflags = 0x202;
  memset(DATA, 0x5A, 0x10000);
  in_regs = r;
  if (!sigsetjmp(back, 1)) enter_code();
}

// A snippet of AT&T assembly, assembled into .rodata and copied to CODE to run:
//   SNIPPET(lretq_ok, "push $0x33; lea 1f(%rip), %rax; push %rax; lretq; 1:")
//   RUN(lretq_ok, R(0));
#define SNIPPET(name, text)                                                          \
  __asm__(".pushsection .rodata\n" #name "_start:\n" text "\n" #name "_end:\n"      \
          ".popsection\n");                                                         \
  extern const uint8_t name##_start[], name##_end[];
#define RUN(name, r) run(#name, name##_start, (size_t)(name##_end - name##_start), r)
// Register state: R(.gpr = {[0] = rax, [5] = rbp, ...}) or R(0) for defaults.
#define R(...) ((struct regs){__VA_ARGS__})
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RSP 4
#define RBP 5
#define RSI 6
#define RDI 7

// Prints `n` bytes at `p` as hex, 16 a line.
static void dump(const char* what, const void* p, size_t n) {
  printf("  %s:", what);
  for (size_t i = 0; i < n; ++i) printf("%s%02x", i % 16 ? " " : "\n    ", ((const uint8_t*)p)[i]);
  printf("\n");
}
