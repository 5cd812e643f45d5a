#include "gdb/user_target.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "linux/initial_stack.h"
#include "linux/process.h"
#include "linux/threads.h"

namespace vireo::gdb {

namespace {

// Guest memory through /proc/self/mem, as ptrace would reach it: pages the guest cannot read
// (or write) still can be, and an unmapped page is an error rather than a host SIGSEGV.
int self_mem() {
  static int fd = ::open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  return fd;
}

size_t transfer(Process& p, uint64_t addr, void* buf, size_t len, bool write) {
  size_t done = 0;
  while (done < len) {
    uint64_t a = addr + done;
    // Page by page: a short transfer stops at the first page that is not there.
    size_t chunk = std::min<uint64_t>(len - done, 4096 - (a & 4095));
    if (a + chunk < a || !p.as().contains(a, chunk) || !p.as().is_mapped_any(a, chunk)) break;
    ssize_t n = write ? ::pwrite(self_mem(), static_cast<const uint8_t*>(buf) + done, chunk, off_t(uintptr_t(p.as().host(a))))
                      : ::pread(self_mem(), static_cast<uint8_t*>(buf) + done, chunk, off_t(uintptr_t(p.as().host(a))));
    if (n <= 0) break;
    done += size_t(n);
  }
  return done;
}

}  // namespace

size_t UserTarget::read_memory(int64_t, uint64_t addr, uint8_t* out, size_t len) {
  return transfer(p_, addr, out, len, false);
}

size_t UserTarget::write_memory(int64_t, uint64_t addr, const uint8_t* in, size_t len) {
  size_t n = transfer(p_, addr, const_cast<uint8_t*>(in), len, true);
  // Translations of the bytes written are stale (the write bypassed the jit's page protection).
  if (n) gate_.invalidate_code(addr, n);
  return n;
}

std::string UserTarget::auxv() {
  const auto& a = guest_layout().auxv;
  return std::string(reinterpret_cast<const char*>(a.data()), a.size() * 8);
}

std::string UserTarget::exec_file() { return p_.exe_path; }

// A guest thread is a host thread with the same TID, and the guest's prctl(PR_SET_NAME) (or a
// write to /proc/self/task/N/comm) names the host thread: the host's comm is the guest's, as
// /proc/self/task/N/comm shows it to the guest.
std::string UserTarget::thread_name(int64_t thread) {
  if (thread <= 0) return {};
  int fd = ::open(("/proc/self/task/" + std::to_string(thread) + "/comm").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return {};
  std::string name(buf, size_t(n));
  if (name.back() == '\n') name.pop_back();
  return name;
}

std::string UserTarget::siginfo(int64_t thread) {
  std::lock_guard g(mu_);
  auto it = siginfo_.find(thread);
  if (it == siginfo_.end()) return {};
  return std::string(reinterpret_cast<const char*>(&it->second), sizeof it->second);
}

int64_t UserTarget::write_siginfo(int64_t thread, uint64_t offset, const std::string& data) {
  std::lock_guard g(mu_);
  auto it = siginfo_.find(thread);
  if (it == siginfo_.end() || offset >= sizeof(GuestSiginfo)) return -1;
  const size_t n = std::min<uint64_t>(data.size(), sizeof(GuestSiginfo) - offset);
  std::memcpy(reinterpret_cast<uint8_t*>(&it->second) + offset, data.data(), n);
  return int64_t(n);
}

GuestSiginfo UserTarget::recorded_siginfo(int64_t thread) {
  std::lock_guard g(mu_);
  auto it = siginfo_.find(thread);
  return it == siginfo_.end() ? GuestSiginfo{} : it->second;
}

void UserTarget::record_siginfo(int64_t thread, const GuestSiginfo& info) {
  std::lock_guard g(mu_);
  siginfo_[thread] = info;
}

void UserTarget::kill() {
  std::fflush(nullptr);
  ::kill(::getpid(), SIGKILL);
  _exit(128 + SIGKILL);
}

UserDebugger::UserDebugger(Process& p, StubOptions opts) : target_(p, gate_), stub_(target_, gate_, std::move(opts)) {
  gate_.start_stopped();
  stub_.start();
}

void UserDebugger::thread_start(GuestThread& t) { gate_.join(t.tid, &t.cpu, t.engine.get()); }
void UserDebugger::thread_end(GuestThread& t) { gate_.leave(t.tid); }
void UserDebugger::checkpoint(GuestThread& t) { gate_.checkpoint(t.tid); }
void UserDebugger::debug_stop(GuestThread& t) { gate_.report_debug(t.tid); }
void UserDebugger::enter_kernel(GuestThread& t) { gate_.enter_kernel(t.tid); }

void UserDebugger::leave_kernel(GuestThread& t) {
  gate_.leave_kernel(t.tid);
  gate_.after_syscall(t.tid);
}

int UserDebugger::signal(GuestThread& t, int sig, GuestSiginfo& info) {
  if (!gate_.attached()) return sig;
  target_.record_siginfo(t.tid, info);
  StopEvent ev{StopEvent::Kind::Signal, t.tid, sig};
  for (;;) {
    bool reported = false;
    ResumeAction a = gate_.report(t.tid, ev, &reported);
    if (!gate_.attached()) return sig;  // (gdb left meanwhile: delivered as without it)
    if (!reported) continue;  // another thread's stop was reported instead: ours comes next
    // What gdb left of the siginfo (qXfer:siginfo:write); a different signal to deliver gets
    // a fresh one, as Linux's ptrace_signal() makes when the tracer changes the signal.
    info = target_.recorded_siginfo(t.tid);
    if (a.signal && a.signal != info.signo) {
      info = GuestSiginfo{};
      info.signo = a.signal;
    }
    return a.signal;
  }
}

void UserDebugger::process_exit(bool signaled, int code) {
  StopEvent ev;
  ev.kind = signaled ? StopEvent::Kind::Terminated : StopEvent::Kind::Exited;
  ev.signal = signaled ? code : 0;
  ev.exit_status = signaled ? 0 : code;
  gate_.process_exit(ev);
}

}  // namespace vireo::gdb
