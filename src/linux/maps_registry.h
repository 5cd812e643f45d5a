// The guest's /proc/PID/maps for other Vireo processes.
//
// Each guest process is a host process of its own, so the host's /proc/PID/maps of another
// guest shows that Vireo's host mappings (the 64 TiB window, host addresses). A reader cannot
// ask the other process (it may be blocked in a system call, and signal handlers cannot take
// its locks), so each Vireo process publishes its guest map instead: the text of its
// /proc/self/maps in a small file of a per-user directory (/dev/shm/vireo-UID/maps.PID, mode
// 0700, MAP_SHARED in the publisher, no descriptor kept open), rewritten at the entry of the
// next system call after the map changed (AddressSpace::generation), under a sequence
// counter the reader checks for a torn read. The calls that change the map (mmap, munmap,
// mprotect, mremap, brk, madvise) do not publish: a program that maps and unmaps in a loop
// would pay for each (some 10 µs); what they changed is published by the next other call, the
// way any process that waits for or talks to another makes one.
//
// A reader trusts a file only if the process it names is still the one that wrote it (same
// start time in /proc/PID/stat) and still runs Vireo (its /proc/PID/exe is ours); otherwise
// (a process not under Vireo, a stale file of a process that died) the host's view stands.
// What the map lacks, then: what a process changed since its last system call other than
// those (a stack grown by a fault, the result of its last mmap), while it computes without one.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <optional>
#include <string>

namespace vireo {

class Process;

// At the entry of system call `nr`: republishes `p`'s map if it changed (or if this is a new
// process: a fork child publishes its own).
void publish_guest_maps(Process& p, uint64_t nr);

// At the process's end: its file goes.
void unpublish_guest_maps();

// The maps text another Vireo process `pid` published, if it is valid (see above).
std::optional<std::string> published_guest_maps(pid_t pid);

}  // namespace vireo
