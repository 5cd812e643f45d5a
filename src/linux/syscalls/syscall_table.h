// The Linux x86-64 system call table: number -> name, argument kinds (for --strace) and the
// handler. Handlers live in one file per area (fs.cpp, memory.cpp, process.cpp, ...), each
// registering its calls.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace vireo {

class Process;

// How --strace prints an argument or a result.
enum class Arg : uint8_t {
  None,   // absent
  Int,    // signed decimal, 32-bit (C int: pids, fds-as-numbers, flags counts)
  Long,   // signed decimal, 64-bit (offsets, lengths that may be negative)
  Sig,    // signal number, shown by name (SIGINT)
  Uint,   // unsigned decimal
  Hex,    // 0x...
  Ptr,    // guest pointer, 0x... or NULL
  Str,    // NUL-terminated guest string (paths), quoted
  Fd,     // file descriptor (AT_FDCWD shown by name)
  Oct,    // octal (modes)
  Buf,    // guest buffer whose length is the next argument (write) or the result (read)
};

struct SyscallArgs {
  uint64_t a[6];
};

using SyscallFn = int64_t (*)(Process&, const SyscallArgs&);

struct SyscallDef {
  const char* name = nullptr;
  SyscallFn fn = nullptr;
  Arg args[6] = {};
  Arg ret = Arg::Int;
};

inline constexpr size_t kMaxSyscall = 512;
using SyscallTable = std::array<SyscallDef, kMaxSyscall>;

const SyscallTable& syscall_table();

// The name of syscall `nr` (implemented or not), or nullptr for a number Linux never assigned.
const char* syscall_name(uint64_t nr);
// The kernel's name for x86-64 syscall `nr` from the static table (syscall_names.cpp).
const char* known_syscall_name(uint64_t nr);

// A call Vireo answers as a kernel without the feature does (absent.cpp): the error it returns
// and why. nullptr for a number that is implemented (or unknown).
struct AbsentSyscall {
  int nr;
  int error;
  const char* why;
};
const AbsentSyscall* absent_syscall(uint64_t nr);

// Registration, one per area.
// Stand-ins first, so that an area registered later replaces them.
void register_fs_fd_syscalls(SyscallTable& t);    // fs_fd.cpp: fd I/O, pipes, fcntl, ioctl, poll
void register_fs_path_syscalls(SyscallTable& t);  // fs_path.cpp: open, stat, directories, links
void register_memory_syscalls(SyscallTable& t);   // memory.cpp: brk, mmap, ...
void register_process_syscalls(SyscallTable& t);  // process.cpp: exit, ids, fork, clone, wait, kill
void register_exec_syscalls(SyscallTable& t);     // exec.cpp: execve, execveat
void register_info_syscalls(SyscallTable& t);     // info.cpp: uname, sysinfo, limits, random
void register_time_syscalls(SyscallTable& t);     // time.cpp: clocks, sleeps
void register_signal_syscalls(SyscallTable& t);   // signal.cpp: sigaction, sigprocmask, ...
void register_futex_syscalls(SyscallTable& t);    // futex.cpp: futex, futex_waitv
void register_absent_syscalls(SyscallTable& t);   // absent.cpp: answered as without the feature
void register_net_syscalls(SyscallTable& t);      // net.cpp: sockets
void register_events_syscalls(SyscallTable& t);   // events.cpp: epoll, eventfd, timerfd, signalfd, inotify
void register_timers_syscalls(SyscallTable& t);   // timers.cpp: POSIX timers, setting the clock
void register_signal_send_syscalls(SyscallTable& t);  // signal_send.cpp: sigqueueinfo, pidfds
void register_fs_extra_syscalls(SyscallTable& t);  // fs_extra.cpp: splice, openat2, close_range, ...
void register_xattr_syscalls(SyscallTable& t);     // xattr.cpp: extended attributes
void register_sched_syscalls(SyscallTable& t);     // sched.cpp: sched_*, ioprio, membarrier
void register_creds_syscalls(SyscallTable& t);     // creds.cpp: capabilities, groups, namespaces
void register_memory_extra_syscalls(SyscallTable& t);  // memory_extra.cpp: mlock2, pkeys, process_vm_*
void register_ipc_syscalls(SyscallTable& t);       // ipc.cpp: memfd, SysV shm/sem/msg, POSIX mq

// Formats a syscall line for --strace ("openat(AT_FDCWD, \"/etc/x\", 0x0) = 3").
std::string format_syscall(Process& p, uint64_t nr, const SyscallArgs& args, int64_t result);

}  // namespace vireo
