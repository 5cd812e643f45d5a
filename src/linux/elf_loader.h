// ELF loader for static x86-64 Linux executables (ET_EXEC and static-pie ET_DYN).
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

struct LoadedElf {
  uint64_t entry;      // guest entry point (after relocation for ET_DYN)
  uint64_t load_bias;  // 0 for ET_EXEC
  uint64_t phdr;       // guest address of the program headers (AT_PHDR)
  uint16_t phent, phnum;
  uint64_t brk;        // end of the highest segment: the initial program break
  bool executable_stack;
};

// Maps `path` into `as`. Throws ElfError with a message naming the problem.
LoadedElf load_elf(const std::string& path, AddressSpace& as);

// True if the file starts like an ELF file (used by execve to decide what it is handed).
bool looks_like_elf(const std::string& path);

// What execve is looking at, judged from the headers only (nothing is mapped).
enum class ExecKind {
  StaticX86_64,  // an x86-64 executable vireo can load
  Dynamic,       // an x86-64 executable that needs an ELF interpreter (PT_INTERP)
  OtherElf,      // an ELF file for another class/machine/type, or with broken headers
  NotElf,        // anything else (scripts are recognised by the caller)
};
ExecKind classify_executable(const std::string& path);

}  // namespace vireo
