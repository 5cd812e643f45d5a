#include "gdb/stop_gate.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>

namespace vireo::gdb {

StopGate::StopGate() : ready_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

StopGate::~StopGate() {
  if (ready_fd_ >= 0) ::close(ready_fd_);
}

void StopGate::update_attention() {
  bool any = stopping_;
  for (auto& [tid, m] : members_) any |= m.dirty || m.hold;
  attention_.store(any, std::memory_order_relaxed);
}

bool StopGate::all_stopped() const {
  // (no CPU yet, or between two power cycles: none is stopped, gdb waits for the first)
  if (members_.empty()) return false;
  for (auto& [tid, m] : members_)
    if (!m.parked && !m.in_kernel) return false;
  return true;
}

void StopGate::notify_if_stopped() {
  if ((event_ && all_stopped()) || exit_pending_) {
    uint64_t one = 1;
    (void)!::write(ready_fd_, &one, 8);
  }
}

void StopGate::stop_all_locked() {
  stopping_ = true;
  for (auto& [tid, m] : members_) {
    m.hold = true;
    m.cpu->exit_request = 1;
  }
  update_attention();
}

void StopGate::start_stopped() {
  std::lock_guard g(mu_);
  start_stopped_ = true;
  stopping_ = true;
  update_attention();
}

void StopGate::join(int64_t tid, CpuState* cpu, Engine* engine) {
  std::lock_guard g(mu_);
  Member& m = members_[tid];
  m.tid = tid;
  m.cpu = cpu;
  m.engine = engine;
  m.hold = stopping_;
  m.dirty = true;
  if (auto it = rejoining_.find(tid); it != rejoining_.end()) {
    m.action = it->second;
    rejoining_.erase(it);
  }
  if (start_stopped_) {
    start_stopped_ = false;
    event_ = StopEvent{StopEvent::Kind::Signal, tid, SIGTRAP};
  }
  update_attention();
}

void StopGate::leave(int64_t tid, bool rejoin) {
  std::lock_guard g(mu_);
  if (auto it = members_.find(tid); rejoin && it != members_.end()) rejoining_[tid] = it->second.action;
  members_.erase(tid);
  update_attention();
  notify_if_stopped();
}

void StopGate::apply(Member& m) {
  if (!m.dirty) return;
  m.dirty = false;
  if (!attached_) {
    m.engine->set_debug(nullptr);
    return;
  }
  m.controls.breakpoints = breakpoints_;
  m.controls.watchpoints = watchpoints_;
  m.controls.read_memory = read_memory_;
  m.controls.single_step = m.action.step;
  m.controls.event = DebugControls::Event::None;
  m.engine->set_debug(&m.controls);
}

void StopGate::park(std::unique_lock<std::mutex>& lk, Member& m) {
  m.parked = true;
  notify_if_stopped();
  cv_.wait(lk, [&] { return !m.hold; });
  m.parked = false;
  apply(m);
  update_attention();
}

void StopGate::slow_checkpoint(int64_t tid) {
  std::unique_lock lk(mu_);
  auto it = members_.find(tid);
  if (it == members_.end()) return;
  Member& m = it->second;
  if (m.hold) park(lk, m);
  apply(m);
  update_attention();
}

ResumeAction StopGate::report(int64_t tid, const StopEvent& ev, bool* reported) {
  std::unique_lock lk(mu_);
  auto it = members_.find(tid);
  if (reported) *reported = false;
  if (it == members_.end() || !attached_) return {false, ev.kind == StopEvent::Kind::Signal ? ev.signal : 0};
  Member& m = it->second;
  if (!event_) {
    event_ = ev;
    if (reported) *reported = true;
  }
  stop_all_locked();
  m.action = {};
  park(lk, m);
  return m.action;
}

void StopGate::report_debug(int64_t tid) {
  DebugControls::Event e;
  StopEvent ev;
  {
    std::lock_guard g(mu_);
    auto it = members_.find(tid);
    if (it == members_.end()) return;
    DebugControls& c = it->second.controls;
    e = c.event;
    c.event = DebugControls::Event::None;
    ev = StopEvent{StopEvent::Kind::Signal, tid, SIGTRAP};
    ev.debug = e;
    ev.watch = c.hit;
  }
  report(tid, ev);
}

void StopGate::after_syscall(int64_t tid) {
  bool step;
  {
    std::lock_guard g(mu_);
    auto it = members_.find(tid);
    step = it != members_.end() && attached_ && it->second.controls.single_step;
  }
  if (!step) return;
  StopEvent ev{StopEvent::Kind::Signal, tid, SIGTRAP};
  ev.debug = DebugControls::Event::Step;
  report(tid, ev);
}

void StopGate::enter_kernel(int64_t tid) {
  std::lock_guard g(mu_);
  auto it = members_.find(tid);
  if (it == members_.end()) return;
  it->second.in_kernel = true;
  notify_if_stopped();
}

void StopGate::leave_kernel(int64_t tid) {
  {
    std::lock_guard g(mu_);
    auto it = members_.find(tid);
    if (it == members_.end()) return;
    it->second.in_kernel = false;
  }
  checkpoint(tid);
}

void StopGate::process_exit(const StopEvent& ev) {
  std::unique_lock lk(mu_);
  if (!attached_) return;
  event_ = ev;
  exit_pending_ = true;
  notify_if_stopped();
  // The stub sends W/X and says so; a stub that is gone must not keep the guest from ending.
  cv_.wait_for(lk, std::chrono::seconds(5), [&] { return exit_sent_; });
}

void StopGate::exit_reported() {
  std::lock_guard g(mu_);
  exit_sent_ = true;
  cv_.notify_all();
}

void StopGate::request_stop(int signal) {
  std::lock_guard g(mu_);
  if (!event_) {
    int64_t first = members_.empty() ? 1 : members_.begin()->first;
    event_ = StopEvent{StopEvent::Kind::Signal, first, signal};
  }
  stop_all_locked();
  notify_if_stopped();
}

std::optional<StopEvent> StopGate::stopped_event() {
  std::lock_guard g(mu_);
  uint64_t drain;
  (void)!::read(ready_fd_, &drain, 8);
  if (exit_pending_ || (event_ && all_stopped())) return event_;
  return std::nullopt;
}

std::vector<int64_t> StopGate::threads() {
  std::lock_guard g(mu_);
  std::vector<int64_t> t;
  for (auto& [tid, m] : members_) t.push_back(tid);
  return t;
}

CpuState* StopGate::cpu(int64_t tid) {
  std::lock_guard g(mu_);
  auto it = members_.find(tid);
  return it == members_.end() ? nullptr : it->second.cpu;
}

void StopGate::set_breakpoints(std::vector<uint64_t> pcs) {
  std::lock_guard g(mu_);
  breakpoints_ = std::move(pcs);
  for (auto& [tid, m] : members_) m.dirty = true;
  update_attention();
}

void StopGate::set_watchpoints(std::vector<Watchpoint> w) {
  std::lock_guard g(mu_);
  watchpoints_ = std::move(w);
  for (auto& [tid, m] : members_) m.dirty = true;
  update_attention();
}

void StopGate::set_memory_reader(std::function<bool(uint64_t, void*, uint64_t)> read) {
  std::lock_guard g(mu_);
  read_memory_ = std::move(read);
}

void StopGate::resume(const std::map<int64_t, ResumeAction>& actions, const ResumeAction* others) {
  std::lock_guard g(mu_);
  event_.reset();
  stopping_ = false;
  for (auto& [tid, m] : members_) {
    auto it = actions.find(tid);
    if (it != actions.end()) m.action = it->second;
    else if (others) m.action = *others;
    else continue;  // stays stopped
    m.hold = false;
    m.dirty = true;
  }
  update_attention();
  cv_.notify_all();
}

void StopGate::invalidate_code(uint64_t addr, uint64_t len) {
  std::lock_guard g(mu_);
  for (auto& [tid, m] : members_)
    if (m.parked || m.in_kernel) m.engine->invalidate(addr, len);
}

void StopGate::detach() {
  std::lock_guard g(mu_);
  attached_ = false;
  event_.reset();
  stopping_ = false;
  breakpoints_.clear();
  watchpoints_.clear();
  for (auto& [tid, m] : members_) {
    m.hold = false;
    m.dirty = true;
    m.action = {};
  }
  update_attention();
  cv_.notify_all();
}

void StopGate::set_attached() {
  std::lock_guard g(mu_);
  attached_ = true;
  for (auto& [tid, m] : members_) m.dirty = true;
  update_attention();
}

}  // namespace vireo::gdb
