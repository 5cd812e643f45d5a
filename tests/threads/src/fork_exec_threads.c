// fork and exec from a threaded process: the child of a fork has one thread and can use
// malloc, stdio and new threads; exec from a thread replaces the whole process; posix_spawn
// of a missing file reports ENOENT to the parent.
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static volatile int stop;
static void* busy(void* arg) {
  while (!stop) {
    void* p = malloc(64);  // keep malloc's locks busy while the main thread forks
    free(p);
  }
  return arg;
}

static void* child_thread(void* arg) { return (void*)((long)arg + 1); }

static void* exec_from_thread(void* arg) {
  char* argv[] = {(char*)arg, "exec-stage", 0};
  execve("/proc/self/exe", argv, environ);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-stage") == 0) {
    printf("exec from a thread: new image runs\n");
    return 0;
  }
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, busy, 0);
  for (int round = 0; round < 5; round++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      char* s = malloc(100);
      snprintf(s, 100, "child %d", round);
      pthread_t ct;
      void* r;
      pthread_create(&ct, 0, child_thread, (void*)41L);
      pthread_join(ct, &r);
      printf("%s: malloc and a new thread work (%ld)\n", s, (long)r);
      fflush(stdout);
      _exit(round);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("parent: child %d exited %d\n", round, WEXITSTATUS(st));
  }
  stop = 1;
  for (int i = 0; i < 3; i++) pthread_join(t[i], 0);

  pid_t spawned;
  char* sargv[] = {"/nonexistent/program", 0};
  int r = posix_spawn(&spawned, "/nonexistent/program", 0, 0, sargv, environ);
  printf("posix_spawn of a missing file: %s\n", r == ENOENT ? "ENOENT" : r == 0 ? "0 (wrong)" : strerror(r));

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t e;
    for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, busy, 0);
    pthread_create(&e, 0, exec_from_thread, argv[0]);
    pthread_join(e, 0);
    _exit(99);  // not reached: the exec replaced every thread
  }
  int st;
  waitpid(pid, &st, 0);
  printf("exec child exited %d\n", WEXITSTATUS(st));
  return 0;
}
