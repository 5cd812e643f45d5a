// qemu_wrapper PROGRAM ARGS...: runs PROGRAM under qemu-x86_64, PROGRAM looked up in PATH when it
// has no slash. It is gcc's `-wrapper` for bench/run.py's gcc_compile under qemu: the driver
// runs every subprocess as `qemu_wrapper cc1|as ARGS`, so the whole compile is emulated (on an
// x86-64 host qemu-x86_64 does not follow execve: without it only the driver would be). gcc
// names `as` without a path and qemu-x86_64 does not search PATH, hence the lookup here.
// Static, like bench/tools/peakrss.c, so that it adds nothing to the measured peak RSS.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The first executable PATH entry holding `name` (execvp's search order), written into out.
static int find_in_path(const char* name, char* out, size_t size) {
  const char* path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    size_t len = strcspn(path, ":");
    // An empty PATH entry is the current directory (POSIX).
    int n = len ? snprintf(out, size, "%.*s/%s", (int)len, path, name) : snprintf(out, size, "./%s", name);
    if (n > 0 && (size_t)n < size && access(out, X_OK) == 0) return 1;
    path += len;
    if (*path == ':') ++path;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: qemu_wrapper PROGRAM [ARGS...]\n");
    return 2;
  }
  char resolved[PATH_MAX];
  const char* prog = argv[1];
  if (!strchr(prog, '/')) {
    if (!find_in_path(prog, resolved, sizeof resolved)) {
      fprintf(stderr, "qemu_wrapper: %s: not found in PATH\n", prog);
      return 127;
    }
    prog = resolved;
  }
  // qemu-x86_64 PROGRAM ARGS...: argv[0] of the guest is PROGRAM as resolved.
  char** qargv = calloc((size_t)argc + 2, sizeof *qargv);
  if (!qargv) return 126;
  qargv[0] = "qemu-x86_64";
  qargv[1] = (char*)prog;
  for (int i = 2; i < argc; ++i) qargv[i] = argv[i];
  execvp("qemu-x86_64", qargv);
  perror("qemu_wrapper: qemu-x86_64");
  return 127;
}
