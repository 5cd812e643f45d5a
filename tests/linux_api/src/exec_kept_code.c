/* Code at an address the image before an execve ran code from (issue 22: Vireo keeps the old
 * image's decoded instructions across an execve and must trust none that the new image could
 * not run). The first image maps a function at a fixed address, runs it, then forks children
 * that exec this program again, each a stage:
 *   plain  (before the function is mapped) sums a loop: the old image's decodes of this
 *          program are all usable in the new one;
 *   nx     maps the same bytes at that address (a hint, not MAP_FIXED) without PROT_EXEC and
 *          calls them: SIGSEGV, as natively;
 *   x      the same bytes, made executable: they run;
 *   other  other bytes there, executable: the new code runs, not the old;
 *   gone   calls the address with nothing mapped there: SIGSEGV.
 * The first image prints each child's result. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "api_test.h"

#define CODE_AT ((void*)0x100000000000ul)

/* mov eax, imm32; ret */
static void put_return(unsigned char* p, uint32_t value) {
  p[0] = 0xb8;
  memcpy(p + 1, &value, 4);
  p[5] = 0xc3;
}

/* The page at CODE_AT (hinted), holding "return value", with protection `prot`. */
static int (*map_function(uint32_t value, int prot, int fixed))(void) {
  unsigned char* p = mmap(CODE_AT, 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED : 0), -1, 0);
  if (p == MAP_FAILED || p != CODE_AT) {
    printf("mmap at %p: %p\n", CODE_AT, (void*)p);
    exit(1);
  }
  put_return(p, value);
  if (prot != (PROT_READ | PROT_WRITE)) OK(mprotect(p, 4096, prot));
  return (int (*)(void))p;
}

static void run_child(const char* self, const char* stage) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char* args[] = {(char*)"exec_kept_code", (char*)stage, NULL};
    execv(self, args);
    _exit(127);
  }
  int status;
  OK(waitpid(pid, &status, 0));
  if (WIFSIGNALED(status)) printf("%s: signal %d\n", stage, WTERMSIG(status));
  else printf("%s: exit %d\n", stage, WEXITSTATUS(status));
}

int main(int argc, char** argv) {
  time_bound(20);
  const char* stage = argc > 1 ? argv[1] : "start";
  if (strcmp(stage, "plain") == 0) {
    volatile unsigned sum = 0;
    for (unsigned i = 0; i < 1000; i++) sum += i * i;
    printf("plain: %u\n", sum);
    return finish("exec_kept_code");
  }
  if (strcmp(stage, "start") == 0) {
    run_child("/proc/self/exe", "plain");
    int (*f)(void) = map_function(42, PROT_READ | PROT_EXEC, 1);
    int sum = 0;
    for (int i = 0; i < 50; i++) sum += f();  /* (often enough for the jit to translate it) */
    printf("start: %d\n", sum);
    const char* stages[] = {"nx", "x", "other", "gone"};
    for (int i = 0; i < 4; i++) run_child("/proc/self/exe", stages[i]);
    return finish("exec_kept_code");
  }
  int (*f)(void) = (int (*)(void))CODE_AT;
  if (strcmp(stage, "nx") == 0) f = map_function(42, PROT_READ | PROT_WRITE, 0);
  else if (strcmp(stage, "x") == 0) f = map_function(42, PROT_READ | PROT_EXEC, 0);
  else if (strcmp(stage, "other") == 0) f = map_function(7, PROT_READ | PROT_EXEC, 0);
  printf("%s: calling\n", stage);
  fflush(stdout);
  printf("%s: %d\n", stage, f());
  return finish("exec_kept_code");
}
