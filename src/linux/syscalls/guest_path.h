// Guest paths as the syscall layer sees them.
//
// A sysroot (-L DIR) puts DIR in front of absolute paths that exist there (linux/sysroot.h).
//
// /proc/self/exe (and /proc/<our pid>/exe) names the vireo binary on the host, but the guest
// must see its own program there: busybox, for one, re-executes /proc/self/exe to run applets.
// /proc/PID/exe of another guest process (and task/TID/exe of ours) names that guest's program
// (procfs_exe_link).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>

#include "linux/guest_access.h"
#include "linux/process.h"
#include "linux/procfs.h"
#include "linux/sysroot.h"

namespace vireo {

inline bool names_proc_self_exe(const std::string& path) {
  if (path == "/proc/self/exe" || path == "/proc/thread-self/exe") return true;
  return path == "/proc/" + std::to_string(::getpid()) + "/exe";
}

// The host path to use for the guest path `guest`: the guest program for /proc/self/exe, else
// the path looked up through the sysroot (-L).
inline std::string host_path(Process& p, const std::string& guest) {
  if (names_proc_self_exe(guest)) return p.exe_path;
  if (auto peer = procfs_exe_link(p, guest)) return std::move(*peer);  // a thread's, another guest's
  return sysroot_path(guest);
}

// Reads the guest path at `addr` into `out` and turns it into the host path to use (host_path).
// Every path-taking system call goes through here. Returns 0 or -errno.
inline int guest_path(Process& p, uint64_t addr, std::string& out) {
  if (int r = read_guest_path(p, addr, out)) return r;
  out = host_path(p, out);
  return 0;
}

}  // namespace vireo
