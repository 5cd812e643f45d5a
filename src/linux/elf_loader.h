// ELF loader for x86-64 Linux executables: ET_EXEC, ET_DYN (PIE, static-pie, or a dynamic
// loader run directly) and, for a program with PT_INTERP, its ELF interpreter, placed as
// Linux's load_elf_binary() places them (fs/binfmt_elf.c).
//
// Every field read from the file is bounds-checked: a truncated or corrupt file yields an
// ElfError with a one-line message, never a crash.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "mem/address_space.h"

namespace vireo {

struct ElfError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file the kernel would accept but whose mapping fails after execve's point of no return
// (a segment below vm.mmap_min_addr): Linux kills the new process with SIGSEGV
// (fs/exec.c, bprm_execve: force_fatal_sig(SIGSEGV)). The CLI does the same to itself.
struct ElfFatalSegv : ElfError {
  using ElfError::ElfError;
};

struct LoadedElf {
  uint64_t entry;          // where execution starts: the interpreter's entry, else the program's
  uint64_t program_entry;  // the program's own entry point (AT_ENTRY)
  uint64_t load_bias;      // the program's; 0 for ET_EXEC
  uint64_t phdr;           // guest address of the program's headers (AT_PHDR)
  uint16_t phent, phnum;
  uint64_t brk;            // end of the program's highest segment: the initial program break
  bool executable_stack;
  // The program's code and data ranges as Linux's load_elf_binary() computes them (start_code
  // .. end_data in /proc/PID/stat).
  uint64_t start_code, end_code, start_data, end_data;
  uint64_t interp_base;    // where the interpreter was loaded (AT_BASE), 0 without one
  std::string interp_path; // the interpreter as PT_INTERP names it (guest path), "" without one
  std::string real_path;   // the program's canonical path (realpath): /proc/self/exe
};

// Maps `path` (and its interpreter, looked up through the sysroot) into `as`. Throws ElfError
// with a message naming the problem. `fd`: `path` opened already (execve's checks opened it:
// classify_executable's `kept_fd`), taken over and closed here; -1 to open it.
LoadedElf load_elf(const std::string& path, AddressSpace& as, int fd = -1);

// True if the file starts like an ELF file (used by execve to decide what it is handed).
bool looks_like_elf(const std::string& path);

// What execve is looking at, judged from the headers only (nothing is mapped).
enum class ExecKind {
  StaticX86_64,        // an x86-64 executable without an interpreter
  Dynamic,             // an x86-64 executable whose ELF interpreter (PT_INTERP) exists
  MissingInterpreter,  // an x86-64 executable whose interpreter cannot be opened (ENOENT)
  OtherElf,            // an ELF file for another class/machine/type, or with broken headers
  NotElf,              // anything else (scripts are recognised by the caller)
};
ExecKind classify_executable(const std::string& path);
// The same for a file execve has open already (`fd`, taken over and closed here) and whose
// first `head_len` bytes it has read into `head`: one open of the program per execve, not three.
// With `kept_fd`, a program that can run (StaticX86_64, Dynamic) stays open there, for the load
// (load_elf's `fd`): the in-place execve then opens it once, not twice.
ExecKind classify_executable(const std::string& path, int fd, const void* head, size_t head_len,
                             int* kept_fd = nullptr);

}  // namespace vireo
