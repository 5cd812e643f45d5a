// System calls Vireo answers the way a Linux kernel without the feature answers them.
//
// Every x86-64 number of Linux 6.1 is in the table: implemented by an area file, or listed here
// with the error and the reason. These answers are deliberate and silent (no "unimplemented
// syscall" line): a program probing for io_uring or a NUMA policy gets the ENOSYS a kernel built
// without CONFIG_IO_URING or CONFIG_NUMA gives, and falls back as it would there.
//
// Three kinds of answers:
//  - ENOSYS: the kernel feature is configurable and Vireo's kernel is built without it (the
//    CONFIG_ option is named), or the number is one Linux never implemented on x86-64.
//  - EPERM: administering the machine (mounting, rebooting, modules, swap, host names, the
//    kernel log, accounting). The guest runs as the host user, often root in a container; Vireo
//    does not lend the host's administration to a guest program, and answers as a kernel does
//    for a caller without the capability.
//  - EINTR: restart_syscall with nothing to restart (Vireo restarts interrupted calls itself by
//    re-running the syscall instruction).
//
// docs/syscalls.md lists the whole table; tests/linux_api checks it against this file.
#include <sys/syscall.h>

#include <cerrno>

#include "linux/syscalls/syscall_table.h"

namespace vireo {

namespace {

constexpr const char* kNeverImplemented = "never implemented on x86-64 (sys_ni_syscall)";
constexpr const char* kAdmin = "administers the host machine: refused as for a caller without the capability";

constexpr AbsentSyscall kAbsent[] = {
    {SYS_create_module, ENOSYS, kNeverImplemented},
    {SYS_get_kernel_syms, ENOSYS, kNeverImplemented},
    {SYS_query_module, ENOSYS, kNeverImplemented},
    {SYS_nfsservctl, ENOSYS, kNeverImplemented},
    {SYS_getpmsg, ENOSYS, kNeverImplemented},
    {SYS_putpmsg, ENOSYS, kNeverImplemented},
    {SYS_afs_syscall, ENOSYS, kNeverImplemented},
    {SYS_tuxcall, ENOSYS, kNeverImplemented},
    {SYS_security, ENOSYS, kNeverImplemented},
    {SYS_vserver, ENOSYS, kNeverImplemented},
    {SYS_epoll_ctl_old, ENOSYS, kNeverImplemented},
    {SYS_epoll_wait_old, ENOSYS, kNeverImplemented},
    {SYS__sysctl, ENOSYS, "removed in Linux 5.5; 6.1 answers ENOSYS"},
    {SYS_uselib, ENOSYS, "a.out shared libraries: kernel without CONFIG_USELIB"},
    {SYS_sysfs, ENOSYS, "kernel without CONFIG_SYSFS_SYSCALL (obsolete; /proc/filesystems has the answer)"},
    {SYS_lookup_dcookie, ENOSYS, "oprofile support: kernel without CONFIG_PROFILING"},
    {SYS_io_setup, ENOSYS, "Linux native AIO: kernel without CONFIG_AIO (libaio users fall back)"},
    {SYS_io_destroy, ENOSYS, "Linux native AIO: kernel without CONFIG_AIO"},
    {SYS_io_getevents, ENOSYS, "Linux native AIO: kernel without CONFIG_AIO"},
    {SYS_io_submit, ENOSYS, "Linux native AIO: kernel without CONFIG_AIO"},
    {SYS_io_cancel, ENOSYS, "Linux native AIO: kernel without CONFIG_AIO"},
    {SYS_io_pgetevents, ENOSYS, "Linux native AIO: kernel without CONFIG_AIO"},
    {SYS_io_uring_setup, ENOSYS, "kernel without CONFIG_IO_URING (its rings hold guest pointers the host would follow; users fall back to epoll)"},
    {SYS_io_uring_enter, ENOSYS, "kernel without CONFIG_IO_URING"},
    {SYS_io_uring_register, ENOSYS, "kernel without CONFIG_IO_URING"},
    {SYS_bpf, ENOSYS, "kernel without CONFIG_BPF_SYSCALL"},
    {SYS_perf_event_open, ENOSYS, "kernel without CONFIG_PERF_EVENTS: no guest PMU (Vireo's own counters: --stats)"},
    {SYS_userfaultfd, ENOSYS, "kernel without CONFIG_USERFAULTFD"},
    {SYS_fanotify_init, ENOSYS, "kernel without CONFIG_FANOTIFY (inotify is implemented)"},
    {SYS_fanotify_mark, ENOSYS, "kernel without CONFIG_FANOTIFY"},
    {SYS_add_key, ENOSYS, "kernel without CONFIG_KEYS"},
    {SYS_request_key, ENOSYS, "kernel without CONFIG_KEYS"},
    {SYS_keyctl, ENOSYS, "kernel without CONFIG_KEYS"},
    {SYS_landlock_create_ruleset, ENOSYS, "kernel without CONFIG_SECURITY_LANDLOCK"},
    {SYS_landlock_add_rule, ENOSYS, "kernel without CONFIG_SECURITY_LANDLOCK"},
    {SYS_landlock_restrict_self, ENOSYS, "kernel without CONFIG_SECURITY_LANDLOCK"},
    {SYS_memfd_secret, ENOSYS, "kernel without CONFIG_SECRETMEM"},
    {SYS_seccomp, ENOSYS, "kernel without CONFIG_SECCOMP: a host filter would judge Vireo's own calls, not the guest's"},
    {SYS_mbind, ENOSYS, "kernel without CONFIG_NUMA"},
    {SYS_get_mempolicy, ENOSYS, "kernel without CONFIG_NUMA"},
    {SYS_set_mempolicy, ENOSYS, "kernel without CONFIG_NUMA"},
    {SYS_migrate_pages, ENOSYS, "kernel without CONFIG_NUMA (CONFIG_MIGRATION)"},
    {SYS_move_pages, ENOSYS, "kernel without CONFIG_NUMA (CONFIG_MIGRATION)"},
    {SYS_set_mempolicy_home_node, ENOSYS, "kernel without CONFIG_NUMA"},
    {SYS_modify_ldt, ENOSYS, "kernel without CONFIG_MODIFY_LDT_SYSCALL: Vireo runs 64-bit code, no LDT segments"},
    {SYS_set_thread_area, ENOSYS, "32-bit TLS descriptors: kernel without CONFIG_IA32_EMULATION (64-bit TLS is arch_prctl)"},
    {SYS_get_thread_area, ENOSYS, "32-bit TLS descriptors: kernel without CONFIG_IA32_EMULATION"},
    {SYS_iopl, ENOSYS, "kernel without CONFIG_X86_IOPL_IOPERM: no port I/O for user-mode guests"},
    {SYS_ioperm, ENOSYS, "kernel without CONFIG_X86_IOPL_IOPERM"},
    {SYS_ptrace, ENOSYS, "guests cannot trace guests (as under qemu-x86_64); use vireo --strace or the gdb stub"},
    {SYS_process_madvise, ENOSYS, "kernel without CONFIG_ADVISE_SYSCALLS (another process's guest addresses are not ours)"},
    {SYS_remap_file_pages, ENOSYS, "deprecated since Linux 3.16 (emulated there); not emulated here"},
    {SYS_quotactl, ENOSYS, "kernel without CONFIG_QUOTACTL"},
    {SYS_quotactl_fd, ENOSYS, "kernel without CONFIG_QUOTACTL"},
    {SYS_init_module, ENOSYS, "kernel without CONFIG_MODULES"},
    {SYS_finit_module, ENOSYS, "kernel without CONFIG_MODULES"},
    {SYS_delete_module, ENOSYS, "kernel without CONFIG_MODULES"},
    {SYS_kexec_load, ENOSYS, "kernel without CONFIG_KEXEC"},
    {SYS_kexec_file_load, ENOSYS, "kernel without CONFIG_KEXEC_FILE"},
    {SYS_mount, EPERM, kAdmin},
    {SYS_umount2, EPERM, kAdmin},
    {SYS_pivot_root, EPERM, kAdmin},
    {SYS_open_tree, EPERM, kAdmin},
    {SYS_move_mount, EPERM, kAdmin},
    {SYS_fsopen, EPERM, kAdmin},
    {SYS_fsconfig, EPERM, kAdmin},
    {SYS_fsmount, EPERM, kAdmin},
    {SYS_fspick, EPERM, kAdmin},
    {SYS_mount_setattr, EPERM, kAdmin},
    {SYS_swapon, EPERM, kAdmin},
    {SYS_swapoff, EPERM, kAdmin},
    {SYS_reboot, EPERM, kAdmin},
    {SYS_sethostname, EPERM, kAdmin},
    {SYS_setdomainname, EPERM, kAdmin},
    {SYS_acct, EPERM, kAdmin},
    {SYS_vhangup, EPERM, kAdmin},
    {SYS_syslog, EPERM, "the host's kernel log is not the guest's: refused as with dmesg_restrict for an unprivileged caller"},
    {SYS_restart_syscall, EINTR, "nothing to restart: Vireo restarts interrupted calls by running the syscall instruction again"},
};

template <int E>
int64_t answer(Process&, const SyscallArgs&) {
  return -E;
}

SyscallFn answer_for(int error) {
  switch (error) {
    case ENOSYS: return answer<ENOSYS>;
    case EPERM: return answer<EPERM>;
    case EINTR: return answer<EINTR>;
  }
  return nullptr;
}

}  // namespace

const AbsentSyscall* absent_syscall(uint64_t nr) {
  for (const AbsentSyscall& a : kAbsent)
    if (uint64_t(a.nr) == nr) return &a;
  return nullptr;
}

void register_absent_syscalls(SyscallTable& t) {
  for (const AbsentSyscall& a : kAbsent) t[a.nr] = {known_syscall_name(a.nr), answer_for(a.error), {}};
}

}  // namespace vireo
