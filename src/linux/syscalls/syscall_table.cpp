#include "linux/syscalls/syscall_table.h"

#include <fcntl.h>
#include <string.h>

#include <fmt/format.h>

#include <cstring>

#include "linux/guest_access.h"
#include "linux/process.h"

namespace vireo {

const SyscallTable& syscall_table() {
  static const SyscallTable table = [] {
    SyscallTable t{};
    register_fs_fd_syscalls(t);
    register_absent_syscalls(t);  // before the areas: an implementation replaces an answer
    register_xattr_syscalls(t);
    register_fs_path_syscalls(t);
    register_memory_syscalls(t);
    register_process_syscalls(t);
    register_exec_syscalls(t);
    register_info_syscalls(t);
    register_time_syscalls(t);
    register_signal_syscalls(t);
    register_futex_syscalls(t);
    register_net_syscalls(t);
    register_events_syscalls(t);
    register_timers_syscalls(t);
    register_signal_send_syscalls(t);
    register_fs_extra_syscalls(t);
    register_sched_syscalls(t);
    register_creds_syscalls(t);
    register_memory_extra_syscalls(t);
    register_ipc_syscalls(t);
    // Unimplemented calls keep a name, so that the -ENOSYS warning and --stats can name them.
    for (uint64_t nr = 0; nr < kMaxSyscall; ++nr)
      if (!t[nr].name) t[nr].name = known_syscall_name(nr);
    return t;
  }();
  return table;
}

const char* syscall_name(uint64_t nr) {
  return nr < kMaxSyscall ? syscall_table()[nr].name : nullptr;
}

namespace {

std::string quote(const std::string& s, size_t max = 32) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = s[i];
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 32 || c >= 127) out += fmt::format("\\{:o}", c);
        else out += char(c);
    }
  }
  out += '"';
  if (s.size() > max) out += "...";
  return out;
}

std::string format_arg(Process& p, Arg kind, uint64_t v, uint64_t next, int64_t result) {
  switch (kind) {
    case Arg::Int: return fmt::format("{}", int32_t(v));
    case Arg::Long: return fmt::format("{}", int64_t(v));
    case Arg::Sig: {
      const char* abbrev = int(v) > 0 && v < 65 ? sigabbrev_np(int(v)) : nullptr;
      return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("{}", int32_t(v));
    }
    case Arg::Uint: return fmt::format("{}", v);
    case Arg::Hex: return fmt::format("{:#x}", v);
    case Arg::Oct: return fmt::format("{:#o}", v);
    case Arg::Ptr: return v ? fmt::format("{:#x}", v) : "NULL";
    case Arg::Fd: return int(v) == AT_FDCWD ? "AT_FDCWD" : fmt::format("{}", int(v));
    case Arg::Str: {
      std::string s;
      if (!v) return "NULL";
      if (!read_guest_string(p, v, s, 4096)) return fmt::format("{:#x}", v);
      return quote(s, 4096);
    }
    case Arg::Buf: {
      // Length: the result for reads (known after the call), else the next argument.
      uint64_t len = result >= 0 ? std::min<uint64_t>(uint64_t(result), next) : next;
      std::string s(std::min<uint64_t>(len, 32), '\0');
      if (!v || !copy_from_guest(p, s.data(), v, s.size())) return fmt::format("{:#x}", v);
      s.resize(std::min<uint64_t>(len, 33));  // one extra so quote() shows "..."
      return quote(s);
    }
    case Arg::None: return "";
  }
  return "";
}

}  // namespace

std::string format_syscall(Process& p, uint64_t nr, const SyscallArgs& args, int64_t result) {
  const SyscallDef* d = nr < kMaxSyscall ? &syscall_table()[nr] : nullptr;
  std::string out = d && d->name ? d->name : fmt::format("syscall_{}", nr);
  out += '(';
  if (d && d->name) {
    for (int i = 0; i < 6 && d->args[i] != Arg::None; ++i) {
      if (i) out += ", ";
      out += format_arg(p, d->args[i], args.a[i], i < 5 ? args.a[i + 1] : 0, result);
    }
  }
  out += ") = ";
  if (result < 0 && result >= -4095)
    out += fmt::format("-1 {} ({})", strerrorname_np(int(-result)) ? strerrorname_np(int(-result)) : "E?",
                       strerror(int(-result)));
  else if (d && (d->ret == Arg::Hex || d->ret == Arg::Ptr))
    out += fmt::format("{:#x}", uint64_t(result));
  else
    out += fmt::format("{}", result);
  return out;
}

}  // namespace vireo
