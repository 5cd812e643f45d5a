#include "linux/maps_registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "cpu/cpu_state.h"
#include "linux/initial_stack.h"
#include "linux/procfs.h"
#include "linux/process.h"
#include "support/fork_safe_mutex.h"

namespace vireo {

namespace {

constexpr char kMagic[8] = {'V', 'I', 'R', 'E', 'O', 'P', 'R', '1'};
constexpr size_t kTextOffset = 256;  // the header, then the exe path, the auxv, the maps text

// The file's header as the publisher writes it (in its MAP_SHARED view) and as a reader sees
// it (request and served are atomics in both: the reader maps the file too).
struct Header {
  char magic[8];
  std::atomic<uint64_t> seq;       // odd while the record is being rewritten
  std::atomic<uint64_t> request;   // readers add 1 to ask for a fresh record
  std::atomic<uint64_t> served;    // the publisher copies `request` here when it has answered
  uint64_t pid, start_time, host_arg_start;
  uint64_t exe_len, auxv_len, maps_len;
  uint64_t n[14];  // GuestRecord's numbers, in its order
};
static_assert(sizeof(Header) <= kTextOffset);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

constexpr uint64_t kMaxText = 64u << 20;

// /dev/shm/vireo-UID (or /tmp/vireo-UID): ours alone, or not used at all.
const std::string& registry_dir() {
  static const std::string dir = [] {
    std::string d = fmt::format("{}/vireo-{}", ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", ::getuid());
    ::mkdir(d.c_str(), 0700);
    struct stat st;
    if (::lstat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077))
      return std::string();
    return d;
  }();
  return dir;
}

std::string file_of(pid_t pid) { return fmt::format("{}/proc.{}", registry_dir(), pid); }

// Fields 22 (start time: tells the process from a later one with its pid) and 48 (arg_start:
// tells a Vireo image from a later one, see procfs_image_loaded) of /proc/PID/stat; 0 if
// they cannot be read. Also whether the process is running (state R) rather than asleep.
struct StatIds {
  uint64_t start_time = 0, arg_start = 0;
  bool running = false;
};
StatIds stat_ids(pid_t pid) {
  StatIds ids;
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  size_t close = s.rfind(')');
  if (close == std::string::npos) return ids;
  std::istringstream in(s.substr(close + 1));
  std::string w;
  for (int field = 3; field <= 48 && (in >> w); ++field) {
    if (field == 3) ids.running = w == "R";
    if (field == 22) ids.start_time = std::strtoull(w.c_str(), nullptr, 10);
    if (field == 48) ids.arg_start = std::strtoull(w.c_str(), nullptr, 10);
  }
  return ids;
}

std::string exe_of(const std::string& proc_dir) {
  char buf[4096];
  ssize_t n = ::readlink((proc_dir + "/exe").c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

uint64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

uint64_t coarse_now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// The publisher's side, one per process (a fork child sees another pid and starts its own).
struct Published {
  pid_t pid = 0;
  StatIds ids;
  std::string exe;  // the image's exe path, canonical
  Header* map = nullptr;
  size_t cap = 0;
};
Published pub;
ForkSafeMutex pub_mu;
// What the fast path at every system call entry reads without the lock.
std::atomic<uint64_t> published_generation{~uint64_t(0)};
std::atomic<bool> stale{true};           // a new process, a fork child, a new image: no record of it yet
std::atomic<Header*> live_map{nullptr};  // pub.map, for the request check
std::atomic<uint64_t> first_due_ns{0};   // when a process without a record publishes anyway
constexpr uint64_t kFirstDelayNs = 10'000'000;
// A record of thousands of mappings costs milliseconds (its text is rebuilt whole). Written at
// every blocking call after a change, a storm of mmaps between futex waits (Go's
// TestMemmoveOverflow: 49,152 views, its other threads waiting all the while) spent most of
// its time here. So a record that cost more than kCostlyNs is written again, at a blocking
// call, only once kCostFactor times its cost has passed; a change meanwhile is owed, and
// written at the first system call (blocking or not) past that time, or when a reader asks.
constexpr uint64_t kCostlyNs = 1'000'000;
constexpr uint64_t kCostFactor = 10;
std::atomic<uint64_t> next_due_ns{0};  // (0: no costly record to space out)
pid_t owner_pid = 0;  // the process whose Process publishes (see publish_guest_maps)

// Files of processes that are gone (killed before they could remove theirs). Only now and
// then: a file costs nothing but its inode until then, and a reader rejects it meanwhile.
void sweep() {
  DIR* d = ::opendir(registry_dir().c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    const char* num = nullptr;
    if (std::strncmp(e->d_name, "proc.", 5) == 0) num = e->d_name + 5;
    else if (std::strncmp(e->d_name, "maps.", 5) == 0) num = e->d_name + 5;  // (an older Vireo's)
    else continue;
    pid_t pid = pid_t(std::atoi(num));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

// The publisher maps its file once, over the most a record can hold, and only lengthens the
// file as the record grows: other threads read the header through live_map without the lock
// (publish_guest_maps' request check), so the mapping must not move while they may (a storm
// of mmaps grew the record, and a thread checking for requests read the unmapped old one).
constexpr size_t kSpan = kTextOffset + 2 * 4096 + kMaxText;  // (exe path, auxv, maps text)

bool map_file(size_t need) {
  if (need > kSpan) return false;
  size_t cap = std::min(kSpan, std::max<size_t>(16384, (need * 2 + 4095) & ~size_t(4095)));
  // Never truncated nor shrunk: a reader may have the file mapped (a file left by an earlier
  // process with this pid is rewritten, its old record failing the reader's checks meanwhile).
  int fd = ::open(file_of(pub.pid).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && size_t(st.st_size) > cap) cap = std::min(kSpan, size_t(st.st_size));
  bool ok = size_t(st.st_size) >= cap || ::ftruncate(fd, off_t(cap)) == 0;
  if (ok && !pub.map) {
    void* m = ::mmap(nullptr, kSpan, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ok = m != MAP_FAILED;
    if (ok) pub.map = static_cast<Header*>(m);
  }
  ::close(fd);
  if (!ok) return false;
  pub.cap = cap;
  live_map.store(pub.map, std::memory_order_release);
  return true;
}

// System calls that can wait indefinitely: a process blocked in one is described as it is.
// A read of a regular file or a directory does not wait (ld.so reads every library that way).
bool may_block(Process& p, uint64_t nr) {
  switch (nr) {
    case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2: {
      struct stat st;
      int fd = int(p.cpu().gpr[RDI]);
      return ::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode));
    }
    case SYS_wait4: case SYS_waitid: case SYS_pause: case SYS_nanosleep: case SYS_clock_nanosleep:
    case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait: case SYS_poll: case SYS_ppoll: case SYS_select:
    case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2: case SYS_futex:
    case SYS_accept: case SYS_accept4: case SYS_connect: case SYS_recvfrom: case SYS_recvmsg:
    case SYS_recvmmsg: case SYS_msgrcv: case SYS_semop: case SYS_semtimedop: case SYS_flock:
    case SYS_vfork: case SYS_mq_timedreceive: case SYS_io_getevents: case SYS_io_pgetevents:
      return true;
    default:
      return false;
  }
}

void write_record(Process& p, uint64_t gen) {
  const pid_t me = ::getpid();
  if (pub.pid != me) {  // a new process (or a fork child, which must not write its parent's file)
    if (pub.map) ::munmap(pub.map, kSpan);  // (only this thread runs in a fork child)
    pub = Published{me, {}, pub.exe, nullptr, 0};  // (a fork child: the same image)
    if ((me & 15) == 0) sweep();
  }
  if (pub.ids.start_time == 0) pub.ids = stat_ids(me);  // (again after a new image: arg_start moved)
  GuestRecord r = own_guest_numbers(p);
  // The kernel's exe link is the file's canonical path, whatever path execve was given (once
  // per image: realpath costs a system call per path component).
  if (pub.exe.empty()) {
    char canon[PATH_MAX];
    pub.exe = ::realpath(p.exe_path.c_str(), canon) ? std::string(canon) : p.exe_path;
  }
  const std::string& exe = pub.exe;
  const uint64_t t0 = now_ns();
  const std::string maps = procfs_maps(p);  // (a change meanwhile has a newer generation)
  const std::vector<uint64_t>& auxv = guest_layout().auxv;
  const size_t auxv_len = auxv.size() * 8;
  const size_t need = kTextOffset + exe.size() + auxv_len + maps.size();
  if (need > pub.cap && !map_file(need)) {  // (no space, say: not again at every system call)
    published_generation.store(gen, std::memory_order_relaxed);
    first_due_ns.store(coarse_now_ns() + 100 * kFirstDelayNs, std::memory_order_relaxed);
    return;
  }
  Header* h = pub.map;
  h->seq.fetch_add(1, std::memory_order_acq_rel);  // odd: being written
  std::atomic_thread_fence(std::memory_order_release);
  char* text = reinterpret_cast<char*>(h) + kTextOffset;
  std::memcpy(text, exe.data(), exe.size());
  std::memcpy(text + exe.size(), auxv.data(), auxv_len);
  std::memcpy(text + exe.size() + auxv_len, maps.data(), maps.size());
  h->pid = uint64_t(me);
  h->start_time = pub.ids.start_time;
  h->host_arg_start = pub.ids.arg_start;
  h->exe_len = exe.size();
  h->auxv_len = auxv_len;
  h->maps_len = maps.size();
  const uint64_t n[14] = {r.vm_size, r.vm_stk, r.vm_exe, r.vm_data, r.start_code, r.end_code, r.start_data,
                          r.end_data, r.start_brk, r.start_stack, r.arg_start, r.arg_end, r.env_start, r.env_end};
  std::memcpy(h->n, n, sizeof n);
  std::memcpy(h->magic, kMagic, sizeof kMagic);
  h->seq.fetch_add(1, std::memory_order_release);  // even: whole
  published_generation.store(gen, std::memory_order_relaxed);
  stale.store(false, std::memory_order_relaxed);
  const uint64_t t1 = now_ns(), cost = t1 - t0;
  next_due_ns.store(cost > kCostlyNs ? t1 + kCostFactor * cost : 0, std::memory_order_relaxed);
}

}  // namespace

void settle_registry_before_fork() { registry_dir(); }  // (waits out another thread's initialization)

void unpublish_guest_maps() {
  if (pub.pid && pub.pid == ::getpid() && !registry_dir().empty()) ::unlink(file_of(pub.pid).c_str());
}

void withdraw_guest_record() {
  std::lock_guard g(pub_mu);
  stale.store(true, std::memory_order_relaxed);
  first_due_ns.store(coarse_now_ns() + kFirstDelayNs, std::memory_order_relaxed);
  pub.ids = {};  // the new image's arg_start
  pub.exe.clear();
  if (pub.map && pub.pid == ::getpid()) {
    pub.map->seq.fetch_add(1, std::memory_order_acq_rel);
    std::memset(pub.map->magic, 0, sizeof pub.map->magic);
    pub.map->seq.fetch_add(1, std::memory_order_release);
  }
}

void publish_guest_maps(Process& p, uint64_t nr) {
  if (nr == SYS_exit || nr == SYS_exit_group || nr == SYS_execve || nr == SYS_execveat) return;
  // The Process that publishes: a vfork child (vfork.cpp) has one of its own but shares our
  // memory, and must neither write the parent's record nor replace it with its own. (A new
  // Process in this same process, as an execve loading its image in place may make, takes over.)
  static Process* publisher = nullptr;
  if (&p != publisher) {
    if (!publisher) {
      ::pthread_atfork(nullptr, nullptr, [] {
        stale.store(true, std::memory_order_relaxed);
        live_map.store(nullptr, std::memory_order_relaxed);
        first_due_ns.store(coarse_now_ns() + kFirstDelayNs, std::memory_order_relaxed);
        owner_pid = ::getpid();
      });
    } else if (::getpid() != owner_pid) {
      return;  // a vfork child
    }
    owner_pid = ::getpid();
    publisher = &p;
  }
  const uint64_t gen = p.as().generation();
  Header* live = live_map.load(std::memory_order_acquire);
  const bool asked = live && live->request.load(std::memory_order_acquire) != live->served.load(std::memory_order_relaxed);
  const bool is_stale = stale.load(std::memory_order_relaxed);
  const bool changed = is_stale || gen != published_generation.load(std::memory_order_relaxed);
  if (!asked) {
    if (!changed) return;
    if (is_stale) {
      uint64_t due = first_due_ns.load(std::memory_order_relaxed);
      if (due == 0) {  // the first system call of this process starts the clock
        first_due_ns.store(coarse_now_ns() + kFirstDelayNs, std::memory_order_relaxed);
        due = ~uint64_t(0);
      }
      if (coarse_now_ns() < due && !may_block(p, nr)) return;
    } else if (const uint64_t due = next_due_ns.load(std::memory_order_relaxed); due != 0) {
      if (now_ns() < due) return;  // (a costly record: owed until then, see kCostlyNs)
    } else if (nr == SYS_mmap || nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap ||
               nr == SYS_brk || nr == SYS_madvise || !may_block(p, nr)) {
      return;
    }
  }
  if (registry_dir().empty()) return;
  std::lock_guard g(pub_mu);
  if (changed) write_record(p, gen);
  if (Header* h = pub.map; h && pub.pid == ::getpid())
    h->served.store(h->request.load(std::memory_order_acquire), std::memory_order_release);
}

GuestRecord own_guest_numbers(Process& p) {
  GuestRecord r;
  for (auto& m : p.as().mappings()) {
    uint64_t len = m.end - m.start;
    r.vm_size += len;
    if (m.origin.name == "[stack]") r.vm_stk += len;
    else if ((m.prot & PROT_EXEC) && !(m.prot & PROT_WRITE) && m.origin.name == p.exe_path) r.vm_exe += len;
    else if ((m.prot & PROT_WRITE) && !m.origin.shared) r.vm_data += len;
  }
  const GuestLayout& g = guest_layout();
  r.start_code = g.elf.start_code;
  r.end_code = g.elf.end_code;
  r.start_data = g.elf.start_data;
  r.end_data = g.elf.end_data;
  r.start_brk = p.as().brk_start();
  r.start_stack = g.start_stack;
  r.arg_start = g.arg_start;
  r.arg_end = g.arg_end;
  r.env_start = g.env_start;
  r.env_end = g.env_end;
  return r;
}

std::optional<GuestRecord> published_guest_record(pid_t pid) {
  if (pid <= 0 || registry_dir().empty()) return std::nullopt;
  const std::string proc = fmt::format("/proc/{}", pid);
  const std::string exe = exe_of(proc);
  if (exe.empty() || exe != exe_of("/proc/self")) return std::nullopt;  // not under Vireo
  int fd = ::open(file_of(pid).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  // No record yet: a process younger than 10 ms that has not waited yet publishes soon.
  for (int tries = 0; fd < 0 && errno == ENOENT && tries < 25; ++tries) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return std::nullopt;
    ::usleep(2000);
    fd = ::open(file_of(pid).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return std::nullopt;
  struct stat st;
  void* m = ::fstat(fd, &st) == 0 && size_t(st.st_size) >= kTextOffset
                ? ::mmap(nullptr, size_t(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                : MAP_FAILED;
  ::close(fd);
  if (m == MAP_FAILED) return std::nullopt;
  const size_t size = size_t(st.st_size);
  Header* h = static_cast<Header*>(m);
  // Ask for a fresh record and wait for the answer while the process runs; one asleep in a
  // system call published at its entry (see the header), and one that computes without any
  // keeps its last record.
  const uint64_t ticket = h->request.fetch_add(1, std::memory_order_acq_rel) + 1;
  StatIds ids = stat_ids(pid);
  for (int i = 0; i < 50 && h->served.load(std::memory_order_acquire) < ticket; ++i) {
    if (i % 5 == 4) ids = stat_ids(pid);
    if (!ids.running) break;
    ::usleep(1000);
  }
  std::optional<GuestRecord> out;
  for (int attempt = 0; attempt < 1000 && !out; ++attempt) {
    uint64_t seq = h->seq.load(std::memory_order_acquire);
    if (seq & 1) {  // being rewritten
      ::sched_yield();
      continue;
    }
    Header c;
    std::memcpy(static_cast<void*>(&c), h, sizeof c);
    if (std::memcmp(c.magic, kMagic, sizeof kMagic) != 0 || c.pid != uint64_t(pid) || c.exe_len > 4096 ||
        c.auxv_len > 4096 || c.maps_len > kMaxText || kTextOffset + c.exe_len + c.auxv_len + c.maps_len > size)
      break;
    const char* text = reinterpret_cast<const char*>(h) + kTextOffset;
    GuestRecord r;
    r.exe.assign(text, c.exe_len);
    r.auxv.assign(text + c.exe_len, c.auxv_len);
    r.maps.assign(text + c.exe_len + c.auxv_len, c.maps_len);
    uint64_t* n[14] = {&r.vm_size, &r.vm_stk, &r.vm_exe, &r.vm_data, &r.start_code, &r.end_code, &r.start_data,
                       &r.end_data, &r.start_brk, &r.start_stack, &r.arg_start, &r.arg_end, &r.env_start, &r.env_end};
    for (int i = 0; i < 14; ++i) *n[i] = c.n[i];
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h->seq.load(std::memory_order_acquire) != seq) continue;
    ids = stat_ids(pid);
    if (c.start_time != ids.start_time || c.host_arg_start != ids.arg_start) break;  // another process or image
    out = std::move(r);
  }
  ::munmap(m, size);
  return out;
}

}  // namespace vireo
