// execve: the checks a kernel makes before giving up the old image (exists, executable, a format
// it can run, argument size) are made here first, so a failing execve returns to the guest with
// the kernel's error and the old image intact. Past that point of no return the image is
// replaced inside this host process (linux/exec_in_place.cpp). Where that cannot be done (a
// vfork child, a multi-threaded process, a debugged one: Process::exec_in_place_blocker says
// why) or with `--exec=reexec`, the vireo binary re-executes itself instead, with the same
// options, `--argv0 <guest argv[0]> -- PROGRAM ARGS...` and the guest's environment.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "linux/elf_loader.h"
#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/sysroot.h"
#include "linux/threads.h"
#include "linux/syscalls/guest_path.h"
#include "linux/syscalls/host_result.h"
#include "linux/syscalls/syscall_table.h"
#include "support/diag_stream.h"

namespace vireo {

namespace {

constexpr size_t kMaxArgStrlen = 128 * 1024;  // the kernel's MAX_ARG_STRLEN
constexpr size_t kMaxArgs = 1 << 17;

// Reads a NULL-terminated guest array of strings (argv or envp). NULL means empty.
int64_t read_string_array(Process& p, uint64_t addr, std::vector<std::string>& out) {
  out.clear();
  if (!addr) return 0;
  GuestPageReader reader(p);  // (the array and its strings usually share a few pages)
  for (size_t i = 0;; ++i) {
    if (i >= kMaxArgs) return -E2BIG;
    uint64_t ptr;
    if (!reader.read(addr + i * 8, &ptr, sizeof ptr)) return -EFAULT;
    if (!ptr) return 0;
    std::string s;
    if (!reader.read_string(ptr, s, kMaxArgStrlen)) return -EFAULT;
    out.push_back(std::move(s));
  }
}

// Finds what to run for `path` with `args`, following "#!" lines as the kernel does:
// argv becomes {interpreter, [optional argument], path, args[1...]}. On success `program` is an
// x86-64 executable (a host path) and `args` its argv.
//
// `script_name` is what a script's interpreter is given to open: the path, or for a program named
// through a descriptor the kernel's /dev/fd/N name (fs/exec.c, alloc_bprm). `fd_closes` says that
// descriptor is close-on-exec: the interpreter could not open the script, so Linux refuses
// (BINPRM_FLAGS_PATH_INACCESSIBLE, fs/binfmt_script.c).
//
// `program_fd`: the program, left open (close-on-exec) for the in-place load, which then does
// not open it again; -1 on failure.
int64_t resolve_program(std::string path, std::vector<std::string>& args, std::string& program,
                        std::string script_name, bool fd_closes, int& program_fd) {
  program_fd = -1;
  for (int depth = 0;; ++depth) {
    if (depth > 4) return -ELOOP;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return -errno;
    if (!S_ISREG(st.st_mode)) return -EACCES;
    if (::access(path.c_str(), X_OK) != 0) return -errno;
    char head[256] = {};
    // (O_NONBLOCK as the ELF loader opens: the file is regular, so it changes nothing here)
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    ssize_t n = ::read(fd, head, sizeof head - 1);
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
      ::close(fd);
      if (fd_closes) return -ENOENT;
      // The interpreter named on the line is a guest path, looked up through the sysroot;
      // argv keeps the name as written (fs/binfmt_script.c).
      std::string line(head + 2, size_t(n - 2));
      line = line.substr(0, line.find('\n'));
      auto ws = [](char c) { return c == ' ' || c == '\t'; };
      size_t b = 0;
      while (b < line.size() && ws(line[b])) ++b;
      size_t e = b;
      while (e < line.size() && !ws(line[e])) ++e;
      if (b == e) return -ENOEXEC;
      std::string interp = line.substr(b, e - b);
      while (e < line.size() && ws(line[e])) ++e;
      std::string opt = line.substr(e);
      while (!opt.empty() && ws(opt.back())) opt.pop_back();
      std::vector<std::string> next{interp};
      if (!opt.empty()) next.push_back(opt);
      next.push_back(script_name.empty() ? path : script_name);
      if (args.size() > 1) next.insert(next.end(), args.begin() + 1, args.end());
      args = std::move(next);
      path = sysroot_path(interp);
      script_name.clear();
      fd_closes = false;
      continue;
    }
    // The ELF checks read the same open file (one open per execve's look, not three).
    switch (classify_executable(path, fd, head, n > 0 ? size_t(n) : 0, &program_fd)) {
      case ExecKind::StaticX86_64:
      case ExecKind::Dynamic: program = path; return 0;
      // What Linux answers when a program's ELF interpreter cannot be found.
      case ExecKind::MissingInterpreter: return -ENOENT;
      case ExecKind::OtherElf:
      case ExecKind::NotElf: return -ENOEXEC;
    }
  }
}

// The kernel's limit on argument and environment strings (fs/exec.c bprm_stack_limits): a
// quarter of the stack limit, at most three quarters of _STK_LIM, at least ARG_MAX; each
// pointer counts too.
bool args_fit(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  struct rlimit rl;
  uint64_t stack = ::getrlimit(RLIMIT_STACK, &rl) == 0 ? uint64_t(rl.rlim_cur) : 8 << 20;
  uint64_t limit = std::min<uint64_t>(stack / 4, (uint64_t(8) << 20) / 4 * 3);
  limit = std::max<uint64_t>(limit, 128 * 1024);
  uint64_t size = (args.size() + env.size()) * sizeof(void*);
  for (auto& s : args) size += s.size() + 1;
  for (auto& s : env) size += s.size() + 1;
  return size <= limit;
}

// The vireo binary to re-execute: RunOptions' path, or the one this process runs, read only
// now (most processes never re-execute vireo, and every start paid the /proc readlink). A
// binary replaced on disk since reads as "PATH (deleted)": PATH is what the start-up read gave.
std::string vireo_binary(const RunOptions& o) {
  if (!o.vireo_path.empty()) return o.vireo_path;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "vireo";
  std::string path(self, size_t(n));
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  return path;
}

// A program reached through a descriptor (/proc/self/fd/N: fexecve, execveat of a path under a
// directory descriptor, or a guest execve of such a path) must stay reachable after
// close_on_exec_fds and through a host re-exec, as the kernel holds the file itself. A file with
// a name goes by its real path; one without (a memfd, a deleted file) is held open by a
// descriptor of Vireo's own, as mm->exe_file holds it, for as long as the image runs.
constexpr int kHeldExeFdBase = 920;  // between the fork hold pipe (900) and diag_stream (960)
int held_exe_fd = -1;

bool names_fd_path(const std::string& path) {
  return path.starts_with("/proc/self/fd/") || path.starts_with("/dev/fd/") ||
         path.starts_with("/proc/thread-self/fd/");
}

std::string pin_program(const std::string& program, int& held) {
  held = -1;
  if (!names_fd_path(program)) return program;
  struct stat via_fd, via_name;
  if (::stat(program.c_str(), &via_fd) != 0) return program;
  if (char* rp = ::realpath(program.c_str(), nullptr)) {
    std::string real = rp;
    std::free(rp);
    if (::stat(real.c_str(), &via_name) == 0 && via_name.st_dev == via_fd.st_dev &&
        via_name.st_ino == via_fd.st_ino)
      return real;
  }
  int fd = ::open(program.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return program;
  held = ::fcntl(fd, F_DUPFD, kHeldExeFdBase);  // not close-on-exec: a host re-exec opens it too
  ::close(fd);
  return held < 0 ? program : fmt::format("/proc/self/fd/{}", held);
}

// `name` is the program as the guest named it (AT_EXECFN), `path` the host path to run;
// `script_name` and `fd_closes` as resolve_program takes them.
int64_t do_execve(Process& p, uint64_t nr, const SyscallArgs& a, const std::string& name, const std::string& path,
                  uint64_t argv_addr, uint64_t envp_addr, const std::string& script_name = {},
                  bool fd_closes = false) {
  std::vector<std::string> args, env;
  if (int64_t e = read_string_array(p, argv_addr, args)) return e;
  if (int64_t e = read_string_array(p, envp_addr, env)) return e;
  if (path.empty()) return -ENOENT;
  std::string program;
  int program_fd = -1;
  if (int64_t e = resolve_program(path, args, program, script_name, fd_closes, program_fd))
    return e;
  struct CloseFd {
    int& fd;
    ~CloseFd() {
      if (fd >= 0) ::close(fd);
    }
  } close_program{program_fd};  // (unless exec_in_place took it)
  if (!args_fit(args, env)) return -E2BIG;
  int held = -1;
  program = pin_program(program, held);

  const RunOptions& o = p.options();
  const char* blocker = p.exec_in_place_blocker();
  if (!blocker) {
    // (traced here: the arguments are gone once the image is)
    if (o.strace) diag_print(diag_stream(), "{} {}\n", p.thread().tid, format_syscall(p, nr, a, 0));
    // AT_EXECFN is the name execve was given, as Linux's bprm->filename (fs/exec.c).
    p.exec_in_place(program, std::exchange(program_fd, -1), std::move(args), std::move(env), name);
    if (held_exe_fd >= 0) ::close(held_exe_fd);  // the old image's file
    held_exe_fd = held;
    return 0;
  }
  const std::string vireo = vireo_binary(o);
  std::vector<std::string> host_args{vireo, "run", "--engine=" + o.engine};
  if (o.stats) host_args.push_back("--stats");
  if (o.strace) host_args.push_back("--strace");
  if (!sysroot().empty()) host_args.push_back("-L" + sysroot());
  host_args.insert(host_args.end(), o.reexec_options.begin(), o.reexec_options.end());
  // "--argv0=X" (one word) so that an argv[0] starting with '-' (login shells) stays a value.
  if (!args.empty()) host_args.push_back("--argv0=" + args[0]);
  host_args.push_back("--execfn=" + name);
  if (int32_t flags = p.thread().altstack.flags) host_args.push_back(fmt::format("--altstack-flags={}", flags));
  host_args.push_back("--");
  host_args.push_back(program);
  if (args.size() > 1) host_args.insert(host_args.end(), args.begin() + 1, args.end());

  std::vector<char*> hargv, henv;
  for (auto& s : host_args) hargv.push_back(s.data());
  hargv.push_back(nullptr);
  for (auto& s : env) henv.push_back(s.data());
  henv.push_back(nullptr);
  if (o.strace)
    diag_print(diag_stream(), "{} execve({:?}, ...) = 0 (vireo re-executes itself for {}: {})\n", ::getpid(),
               path, program, blocker);
  // Linux's exec releases the robust futexes the old image holds (futex_exec_release), and
  // de_thread's victims theirs as they exit; the host's exec knows only Vireo's own lists.
  p.for_each_thread([&](GuestThread& t) { release_robust_futexes(p, t); });
  diag_fds_close_on_exec(true);
  ::execve(vireo.c_str(), hargv.data(), henv.data());
  int e = errno;
  diag_fds_close_on_exec(false);
  if (held >= 0) ::close(held);
  return -e;
}

int64_t sys_execve(Process& p, const SyscallArgs& a) {
  std::string name;  // read once: another thread may rewrite it
  if (int e = read_guest_path(p, a.a[0], name)) return e;
  return do_execve(p, SYS_execve, a, name, host_path(p, name), a.a[1], a.a[2]);
}

// execveat(dirfd, path, argv, envp, flags) as fs/exec.c's do_execveat_common defines it: an
// absolute path, or AT_FDCWD, is execve's; a relative path is looked up under the directory
// `dirfd` and an empty one with AT_EMPTY_PATH is the file `dirfd` itself (fexecve). The new image
// is told (AT_EXECFN, a script's interpreter) the name /dev/fd/N[/path], as alloc_bprm names it.
int64_t sys_execveat(Process& p, const SyscallArgs& a) {
  const int dirfd = int(a.a[0]);
  const uint64_t flags = a.a[4];
  std::string name;
  if (int e = read_guest_path(p, a.a[1], name)) return e;
  if (flags & ~uint64_t(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  // AT_SYMLINK_NOFOLLOW: a symlink as the last component is refused (an empty path names the
  // descriptor's own file, never a link).
  auto refused_link = [&](const std::string& path) {
    struct stat st;
    return (flags & AT_SYMLINK_NOFOLLOW) && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  };
  if (dirfd == AT_FDCWD || (!name.empty() && name[0] == '/')) {
    std::string path = host_path(p, name);
    if (refused_link(path)) return -ELOOP;
    return do_execve(p, SYS_execveat, a, name, path, a.a[2], a.a[3]);
  }
  const int fd_flags = ::fcntl(dirfd, F_GETFD);
  if (dirfd < 0 || fd_flags < 0) return -EBADF;
  std::string path, execfn;
  if (name.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    path = fmt::format("/proc/self/fd/{}", dirfd);
    execfn = fmt::format("/dev/fd/{}", dirfd);
  } else {
    struct stat st;
    if (::fstat(dirfd, &st) != 0) return -errno;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    path = fmt::format("/proc/self/fd/{}/{}", dirfd, name);
    execfn = fmt::format("/dev/fd/{}/{}", dirfd, name);
    if (refused_link(path)) return -ELOOP;
  }
  return do_execve(p, SYS_execveat, a, execfn, path, a.a[2], a.a[3], execfn, fd_flags & FD_CLOEXEC);
}

// close_range: what a process calls just before execve to drop the fds the new program must
// not inherit (CPython's subprocess, systemd); guest fds are host fds, so it passes through.
int64_t sys_close_range(Process&, const SyscallArgs& a) {
  return host_result(::syscall(SYS_close_range, long(uint32_t(a.a[0])), long(uint32_t(a.a[1])), long(a.a[2])));
}

}  // namespace

void register_exec_syscalls(SyscallTable& t) {
  t[SYS_close_range] = {"close_range", sys_close_range, {Arg::Fd, Arg::Fd, Arg::Hex}};
  t[SYS_execve] = {"execve", sys_execve, {Arg::Str, Arg::Ptr, Arg::Ptr}};
  t[SYS_execveat] = {"execveat", sys_execveat, {Arg::Fd, Arg::Str, Arg::Ptr, Arg::Ptr, Arg::Hex}};
}

}  // namespace vireo
