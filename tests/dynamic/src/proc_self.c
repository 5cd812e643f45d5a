#define _GNU_SOURCE
// /proc/self as a program sees it: it finds its own code, data, heap and stack in
// /proc/self/maps, its argv in cmdline, its auxv in auxv, and its stack in stat and status.
// Only verdicts are printed, so the output is the same natively and under Vireo.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static int global_data = 42;

struct line { uintptr_t lo, hi; char perms[5]; char name[512]; };

static int find(uintptr_t addr, struct line* out) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (!f) return 0;
  char buf[1024];
  int found = 0;
  while (fgets(buf, sizeof buf, f)) {
    struct line l = {0};
    unsigned long off, ino;
    unsigned maj, min;
    int n = 0;
    if (sscanf(buf, "%lx-%lx %4s %lx %x:%x %lu %n", &l.lo, &l.hi, l.perms, &off, &maj, &min, &ino, &n) < 7) continue;
    snprintf(l.name, sizeof l.name, "%s", buf + n);
    l.name[strcspn(l.name, "\n")] = 0;
    if (addr >= l.lo && addr < l.hi) { *out = l; found = 1; }
  }
  fclose(f);
  return found;
}

static void check(const char* what, uintptr_t addr, const char* perms, const char* name) {
  struct line l;
  if (!find(addr, &l)) { printf("%s: not found\n", what); return; }
  int perms_ok = strncmp(l.perms, perms, strlen(perms)) == 0;
  int name_ok = name[0] == '/' ? strstr(l.name, name) != NULL : strcmp(l.name, name) == 0;
  printf("%s: %s %s\n", what, perms_ok ? "perms ok" : l.perms, name_ok ? "name ok" : l.name);
}

static char* slurp(const char* path, size_t* len) {
  FILE* f = fopen(path, "r");
  if (!f) return NULL;
  char* buf = malloc(1 << 16);
  *len = fread(buf, 1, (1 << 16) - 1, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

int main(int argc, char** argv) {
  char exe[512];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  const char* base = strrchr(exe, '/') ? strrchr(exe, '/') : exe;
  int local = 1;
  check("code", (uintptr_t)&main, "r-xp", base);
  check("data", (uintptr_t)&global_data, "rw-p", base);
  check("stack", (uintptr_t)&local, "rw-p", "[stack]");
  void* small = malloc(100);  // from the brk heap
  check("heap", (uintptr_t)small, "rw-p", "[heap]");
  check("libc", (uintptr_t)&printf, "r-xp", "/libc.so.6");
  check("vdso", getauxval(AT_SYSINFO_EHDR), "r-xp", "[vdso]");

  size_t len;
  char* cmd = slurp("/proc/self/cmdline", &len);
  size_t want = 0;
  for (int i = 0; i < argc; ++i) want += strlen(argv[i]) + 1;
  int same = cmd && len == want;
  for (size_t off = 0, i = 0; same && i < (size_t)argc; off += strlen(argv[i]) + 1, ++i)
    same = strcmp(cmd + off, argv[i]) == 0;
  printf("cmdline: %s\n", same ? "is argv" : "differs");

  char* env = slurp("/proc/self/environ", &len);
  printf("environ: %s\n", env && memmem(env, len, "TEST_VAR=hello vireo", 20) ? "has TEST_VAR" : "differs");

  uint64_t* aux = (uint64_t*)slurp("/proc/self/auxv", &len);
  int entry_ok = 0, phdr_ok = 0, base_ok = 0;
  for (size_t i = 0; aux && i + 1 < len / 8; i += 2) {
    if (aux[i] == AT_ENTRY) entry_ok = aux[i + 1] == getauxval(AT_ENTRY);
    if (aux[i] == AT_PHDR) phdr_ok = aux[i + 1] == getauxval(AT_PHDR);
    if (aux[i] == AT_BASE) base_ok = aux[i + 1] == getauxval(AT_BASE) && aux[i + 1] != 0;
  }
  printf("auxv: entry %s, phdr %s, base %s\n", entry_ok ? "ok" : "bad", phdr_ok ? "ok" : "bad",
         base_ok ? "ok" : "bad");

  char* st = slurp("/proc/self/stat", &len);
  char* p = st ? strrchr(st, ')') : NULL;
  unsigned long long v[60] = {0};
  int k = 3;
  for (p = p ? p + 2 : NULL; p && *p && k < 60; ++k) {
    v[k] = strtoull(p, &p, 10);
    if (k == 3) { v[k] = 0; p = strchr(p, ' '); }  // state is a letter
    while (p && *p == ' ') ++p;
  }
  struct line l;
  int stack_ok = find(v[28], &l) && strcmp(l.name, "[stack]") == 0 && v[28] > (uintptr_t)&local;
  printf("stat: startstack %s, start_code %s, arg_start %s\n", stack_ok ? "in [stack]" : "bad",
         v[26] <= (uintptr_t)&main && (uintptr_t)&main < v[27] ? "ok" : "bad",
         v[48] == (uintptr_t)argv[0] ? "is argv[0]" : "bad");

  char* status = slurp("/proc/self/status", &len);
  char* stk = status ? strstr(status, "VmStk:") : NULL;
  printf("status: VmStk %s\n", stk && strtoul(stk + 6, NULL, 10) > 0 ? "non-zero" : "missing");

  char* cpu = slurp("/proc/cpuinfo", &len);
  unsigned a, b, c, d;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  int flags_agree = cpu && (strstr(cpu, " mmx ") != NULL) == !!(d & (1u << 23)) &&
                    (strstr(cpu, " sse2") != NULL) == !!(d & (1u << 26)) &&
                    (strstr(cpu, " ssse3") != NULL) == !!(c & (1u << 9));
  printf("cpuinfo: flags %s CPUID\n", flags_agree ? "agree with" : "differ from");
  return 0;
}
