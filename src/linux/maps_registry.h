// The guest's /proc/PID/{maps,status,stat,auxv,exe} for other Vireo processes.
//
// Each guest process is a host process of its own, so the host's /proc/PID files of another
// guest describe that Vireo (the 64 TiB window, host addresses, the vireo binary). What the
// host kernel can show for us it shows: cmdline, environ and the code/data/stack fields of
// stat are set with PR_SET_MM_MAP at each image load (procfs_image_loaded, procfs.h). The
// rest — the guest's map, its memory sizes, its exe, its auxv — only the guest's Vireo knows
// (the kernel's auxv stays Vireo's: debuggers and core files of Vireo itself need it), and a
// reader cannot ask it directly (it may be blocked in a system call; signals are the guest's),
// so each Vireo process publishes a record for readers: a small file of a per-user directory
// (/dev/shm/vireo-UID/proc.PID, mode 0600 in a 0700 directory, MAP_SHARED in the publisher,
// no descriptor kept open) holding the numbers, the exe path, the auxv and the text of its
// /proc/self/maps, under a sequence counter the reader checks for a torn read.
//
// Publishing costs a file, its pages, the map's text and some 15 system calls (done for every
// process, it cost 0.2-0.3 ms per fork+exec, bench/startup.py), so it is done only when a
// reader could need it, never by a process that lives a few milliseconds and never waits:
//   - at the entry of a system call that can wait indefinitely (wait4, a read of a pipe or a
//     socket, poll, futex, nanosleep, ...) if the map changed since the last record: a process
//     blocked there is described as it is;
//   - at the entry of any system call once the process is 10 ms old and has no record yet;
//   - at the entry of any system call after a reader asked (the record's request counter),
//     republished if the map changed, and answered either way (the served counter).
// A reader asks, then waits (at most 50 ms) for the answer while the process runs; a process
// asleep in a system call already published what it is.
//
// A reader trusts a record only if the process it names is still the one that wrote it: same
// start time and same host arg_start in /proc/PID/stat (a later process with that pid, or a
// later Vireo image of it, differs), and it still runs Vireo (its /proc/PID/exe is ours);
// otherwise the host's view stands. A process that died without removing its record (killed)
// leaves a file that fails that check; publishers remove such files now and then (sweep).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <optional>
#include <string>

namespace vireo {

class Process;

// At the entry of system call `nr` (its arguments in the calling thread's registers):
// publishes `p`'s record when the rules above say so.
void publish_guest_maps(Process& p, uint64_t nr);

// At the process's end: its file goes.
void unpublish_guest_maps();

// Before a host fork of a threaded guest: the registry's directory name (a function-local
// static whose initializer makes system calls) is settled, so that the child never inherits
// it half-initialized by a thread that does not exist there (its guard stays pending and the
// child's first publication waits forever: fork_exec_threads hung once in CI).
void settle_registry_before_fork();

// A new guest image was loaded in this process (execve): the record describes the old one, so
// it is withdrawn until the next publication.
void withdraw_guest_record();

// What another Vireo process published about its guest.
struct GuestRecord {
  uint64_t vm_size = 0, vm_stk = 0, vm_exe = 0, vm_data = 0;  // bytes
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0, start_brk = 0;
  uint64_t start_stack = 0, arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  std::string exe;   // the guest program, as its /proc/self/exe names it
  std::string auxv;  // its /proc/self/auxv
  std::string maps;  // the text of its /proc/self/maps
};

// The record of Vireo process `pid`, fresh (see above), if it is valid.
std::optional<GuestRecord> published_guest_record(pid_t pid);

// The guest numbers of this process, as a record carries them (maps and exe left empty).
GuestRecord own_guest_numbers(Process& p);

}  // namespace vireo
