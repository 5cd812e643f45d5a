// Engine: the one interface every execution engine (interp, jit, kvm) offers its platform.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "cpu/cpu_state.h"
#include "cpu/debug_target.h"

namespace vireo {

struct KeptDecodes;  // interp/interpreter.h

class Engine {
 public:
  virtual ~Engine() = default;
  // Runs the CPU until something needs the platform (design.md, "One picture").
  virtual StopReason run(CpuState& cpu) = 0;
  virtual const char* name() const = 0;
  // Engine-specific --stats lines.
  virtual void print_stats(std::FILE* out, double seconds) const = 0;
  // Drops cached translations/decodes of [addr, addr+len) (e.g. after munmap or mprotect).
  virtual void invalidate(uint64_t addr, uint64_t len) {}
  // [addr, addr+len) was newly mapped where nothing was (a non-fixed mmap, brk growth): an
  // engine that protects pages for gdb's watchpoints (the jit) protects the ones it holds.
  virtual void mapped(uint64_t addr, uint64_t len) {}
  // [addr, addr+len) is a new MAP_SHARED view of a file: an engine whose code from the file's
  // other views relied on write-protecting the views it knew (the jit) drops that code.
  virtual void shared_file_mapped(uint64_t addr, uint64_t len) {}
  // The platform is about to write [addr, addr+len) on the guest's behalf (a read() into
  // guest memory, a signal frame): an engine that write-protects code pages must let it.
  virtual void prepare_guest_write(uint64_t addr, uint64_t len) {}
  // ... or to read it (a struct a system call takes): an engine that protects pages for
  // gdb's watchpoints (the jit) lets it.
  virtual void prepare_guest_read(uint64_t addr, uint64_t len) {}
  // This engine's guest thread ended: returns whether it may run a later thread of the same
  // process (a new clone takes it, with what it translated and decoded, instead of building
  // an engine: issue 22, thread start-up). It lets go of the ended thread's CpuState; its
  // --stats counters stay in it. An engine that returns false is destroyed.
  virtual bool park() { return false; }
  // Adds `other`'s --stats counters to this engine's (an engine of the same kind: the
  // engine of a guest thread that ended, so that --stats adds up all threads).
  virtual void merge_stats(const Engine& other) {}
  // This engine's process is the child of a host fork that has just returned (a guest fork),
  // with its parent's engine state as it was: called by the thread that runs the engine,
  // between runs. (The caller's to say: a pthread_atfork handler's counter would be one more
  // copy-on-write fault in every child.)
  virtual void forked() {}
  // The same host fork, in the parent: its memory is now shared copy-on-write with the child
  // until the child execs or exits (called as forked() is, by the forking thread).
  virtual void fork_parent() {}
  // An in-place execve (issue 22) is about to drop this engine: the decode cache it hands to
  // the next image's engine (offer_kept_decodes), or null (interp/kept_decodes.cpp).
  virtual std::shared_ptr<KeptDecodes> keep_decodes() { return nullptr; }
  // A debugger's breakpoints, watchpoints and single-step for this CPU (cpu/debug_target.h),
  // read by the engine while it runs; null when none is attached. Called between runs, by the
  // thread that runs the engine. Returns false (and leaves them off) if the engine cannot
  // debug; `why` then says so in one line.
  virtual bool set_debug(DebugControls* d, std::string* why = nullptr) {
    if (d && why) *why = std::string("engine ") + name() + " has no debug support";
    return !d;
  }
};

// A decode cache for the next Interpreter constructed with a pool of its size to take over
// (an in-place execve offers the old image's around the new image's load, then null).
void offer_kept_decodes(std::shared_ptr<KeptDecodes> kept);

}  // namespace vireo
