#include "machine/host_timer.h"

#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <cstring>

#include "machine/host_clock.h"

namespace vireo::machine {

namespace {
std::atomic<CpuState*> g_cpu{nullptr};

void on_alarm(int) {
  if (CpuState* c = g_cpu.load(std::memory_order_relaxed)) c->exit_request = 1;
}

void set_itimer(uint64_t first_ns, uint64_t interval_ns) {
  itimerval it{};
  it.it_value.tv_sec = time_t(first_ns / 1000000000);
  it.it_value.tv_usec = suseconds_t(first_ns % 1000000000 / 1000);
  it.it_interval.tv_sec = time_t(interval_ns / 1000000000);
  it.it_interval.tv_usec = suseconds_t(interval_ns % 1000000000 / 1000);
  setitimer(ITIMER_REAL, &it, nullptr);
}
}  // namespace

HostTimer::HostTimer(CpuState& cpu) {
  g_cpu = &cpu;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking KVM_RUN must return with EINTR
  sigaction(SIGALRM, &sa, nullptr);
}

HostTimer::~HostTimer() {
  set_itimer(0, 0);
  g_cpu = nullptr;
  signal(SIGALRM, SIG_IGN);
}

void HostTimer::arm(std::optional<uint64_t> deadline_ns) {
  if (deadline_ns == armed_) return;
  armed_ = deadline_ns;
  if (!deadline_ns) return set_itimer(0, 0);
  uint64_t now = monotonic_ns();
  uint64_t first = *deadline_ns > now ? *deadline_ns - now : 0;
  if (first < 1000) first = 1000;  // a zero it_value would disarm instead of firing
  set_itimer(first, 1000000);
}

}  // namespace vireo::machine
