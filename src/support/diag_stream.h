// Vireo's own output while a guest runs: --strace lines, the -d log, warnings and the one-line
// report of a guest's death.
//
// Guest fds are host fds, so the guest owns fd 2: coreutils close it at exit, a daemon points
// it at /dev/null, a shell redirects it. Two promises follow:
// - a write here never throws and never fails Vireo (fmt::print throws std::system_error when
//   fwrite fails, which used to abort `vireo run --strace /bin/ls` at ls's exit_group);
// - --strace and the -d log keep going to the stderr Vireo was started with, as strace(1)'s
//   trace does, through a duplicate held above the fd numbers guests use (diag_stream).
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string_view>
#include <utility>

namespace vireo {

// The stream for --strace and the -d log: fd 2 as it was at the first call, duplicated above
// the fd numbers guests use (stderr itself if that fails). Call it before the guest runs.
std::FILE* diag_stream();

// Moves an fopen'd stream's fd above the fd numbers guests use (-D FILE, --perfmap), so that
// the guest's first open() gets fd 3 as it does natively. Returns `f`.
std::FILE* keep_fd_high(std::FILE* f);

// Marks the descriptors above close-on-exec (on: just before Vireo re-executes itself, whose
// new image opens its own) or clears the mark (off: that execve failed).
void diag_fds_close_on_exec(bool on);

// Writes `text` with one fwrite, ignoring errors.
void diag_write(std::FILE* f, std::string_view text);

template <class... T>
void diag_print(std::FILE* f, fmt::format_string<T...> format, T&&... args) {
  diag_write(f, fmt::format(format, std::forward<T>(args)...));
}

}  // namespace vireo
