/* Default signal actions seen from the parent: children that divide by zero (SIGFPE),
 * dereference NULL (SIGSEGV), abort (SIGABRT), get SIGTERM/SIGKILL from themselves, execute an
 * illegal instruction (SIGILL), or exit normally; the parent reports WIFSIGNALED/WTERMSIG. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static volatile int zero = 0;
static int* volatile null_ptr = 0;

static void child_action(int what) {
  /* No core files from the crashing children. */
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  switch (what) {
    case 0: printf("%d\n", 10 / zero); break;
    case 1: printf("%d\n", *null_ptr); break;
    case 2: abort();
    case 3: raise(SIGTERM); break;
    case 4: kill(getpid(), SIGKILL); break;
    case 5: __builtin_trap();
    case 6: exit(3);
    case 7: { volatile long m = -9223372036854775807L - 1, d = -1; printf("%ld\n", m / d); break; }
  }
  _exit(99);
}

int main(void) {
  const char* names[] = {"divide by zero", "null dereference", "abort", "raise SIGTERM", "kill SIGKILL",
                         "trap", "exit(3)", "INT64_MIN / -1"};
  const int expect_sig[] = {SIGFPE, SIGSEGV, SIGABRT, SIGTERM, SIGKILL, SIGILL, 0, SIGFPE};
  for (int i = 0; i < 8; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) child_action(i);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status)) {
      printf("%-18s: killed by signal %d (%s)\n", names[i], WTERMSIG(status), strsignal(WTERMSIG(status)));
      CHECK(WTERMSIG(status) == expect_sig[i]);
    } else {
      printf("%-18s: exited with %d\n", names[i], WEXITSTATUS(status));
      CHECK(expect_sig[i] == 0 && WEXITSTATUS(status) == 3);
    }
  }
  fprintf(stderr, "signal_child done\n");
  return finish("signal_child");
}
