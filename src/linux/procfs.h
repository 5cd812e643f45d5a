// /proc as the guest should see it. The host's /proc/self describes Vireo — its own mappings
// (host addresses, the 64 TiB window), its argv, its auxv — so the files whose contents depend
// on the guest are synthesised here from the guest's state and handed to the guest as a
// memfd holding the text:
//
//   /proc/self/{maps,auxv,cmdline,environ,stat,status}, the same under /proc/<guest pid>/,
//   /proc/thread-self/ and /proc/self/task/<any of its threads>/, and /proc/cpuinfo (from the
//   guest's CPUID);
//   /proc/<pid>/{maps,stat,status,auxv} (and task/<tid>/) of another guest process: from the
//   record it published (maps_registry.h); its cmdline and environ are the host kernel's,
//   which shows the guest's since every Vireo sets them (procfs_image_loaded); its exe is
//   redirected (procfs_exe_link, used by guest_path.h and readlink).
//
// Everything else under /proc is the host's and passes through (/proc/self/exe is redirected
// in guest_path.h).
#pragma once

#include <optional>
#include <string>

namespace vireo {

class AddressSpace;
class Process;

// If `path` names one of the synthesised files, opens a read-only snapshot of it and returns
// the fd (or -errno); std::nullopt means "not ours, open the host file".
std::optional<int> procfs_open(Process& p, const std::string& path, int flags);

// A guest image was just loaded into `as` (guest_layout() describes it): makes the host
// kernel's /proc/PID/{cmdline,environ} and stat's code, data and stack fields show the
// guest's to every reader, Vireo or not (`ps`), with PR_SET_MM_MAP, and withdraws the record
// of the previous image (maps_registry.h). Called by build_initial_stack().
void procfs_image_loaded(AddressSpace& as);

// "/proc/PID/exe" (or task/TID/exe) of a guest process, ours (`p`) or another Vireo's: the
// path of its program; nullopt for any other path or process.
std::optional<std::string> procfs_exe_link(Process& p, const std::string& path);

// The text of a synthesised file ("maps", "cpuinfo", ...), for tests and procfs_open.
std::string procfs_maps(Process& p);
std::string procfs_cpuinfo();

}  // namespace vireo
