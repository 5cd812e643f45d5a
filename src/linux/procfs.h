// /proc as the guest should see it. The host's /proc/self describes Vireo — its own mappings
// (host addresses, the 64 TiB window), its argv, its auxv — so the files whose contents depend
// on the guest are synthesised here from the guest's state and handed to the guest as a
// memfd holding the text:
//
//   /proc/self/{maps,auxv,cmdline,environ,stat,status}, the same under /proc/<guest pid>/ and
//   /proc/thread-self/, and /proc/cpuinfo (from the guest's CPUID);
//   /proc/<pid>/maps of another guest process: the map it published (maps_registry.h).
//
// Everything else under /proc is the host's and passes through (/proc/self/exe is redirected
// in guest_path.h).
#pragma once

#include <optional>
#include <string>

namespace vireo {

class Process;

// If `path` names one of the synthesised files, opens a read-only snapshot of it and returns
// the fd (or -errno); std::nullopt means "not ours, open the host file".
std::optional<int> procfs_open(Process& p, const std::string& path, int flags);

// The text of a synthesised file ("maps", "cpuinfo", ...), for tests and procfs_open.
std::string procfs_maps(Process& p);
std::string procfs_cpuinfo();

}  // namespace vireo
