#include "linux/maps_registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "linux/procfs.h"
#include "linux/process.h"
#include "support/fork_safe_mutex.h"

namespace vireo {

namespace {

constexpr char kMagic[8] = {'V', 'I', 'R', 'E', 'O', 'M', 'A', 'P'};
constexpr size_t kTextOffset = 64;  // the header, then the text

// The file's header as the publisher writes it (in its MAP_SHARED view) and as a reader
// reads it (plain bytes through pread, hence the same layout without the atomic).
struct Header {
  char magic[8];
  std::atomic<uint64_t> seq;  // odd while the text is being rewritten
  uint64_t pid, start_time, len;
};
struct RawHeader {
  char magic[8];
  uint64_t seq, pid, start_time, len;
};
static_assert(sizeof(Header) == sizeof(RawHeader) && sizeof(Header) <= kTextOffset);

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

std::string file_of(pid_t pid) { return fmt::format("{}/maps.{}", registry_dir(), pid); }

// Field 22 of /proc/PID/stat: when the process started, which tells it from a later process
// with the same pid. 0 if it cannot be read.
uint64_t start_time(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 1));
  std::string w;
  for (int field = 3; field <= 22 && (in >> w); ++field)
    if (field == 22) return std::strtoull(w.c_str(), nullptr, 10);
  return 0;
}

std::string exe_of(const std::string& proc_dir) {
  char buf[4096];
  ssize_t n = ::readlink((proc_dir + "/exe").c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// The publisher's side, one per process (a fork child sees another pid and starts its own).
struct Published {
  pid_t pid = 0;
  uint64_t start = 0;
  Header* map = nullptr;
  size_t cap = 0;
};
Published pub;
std::atomic<uint64_t> published_generation{~uint64_t(0)};
std::atomic<bool> fork_child{false};
ForkSafeMutex pub_mu;


// Files of processes that are gone (killed before they could remove theirs).
void sweep() {
  DIR* d = ::opendir(registry_dir().c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, "maps.", 5) != 0) continue;
    pid_t pid = pid_t(std::atoi(e->d_name + 5));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

bool map_file(size_t need) {
  size_t cap = std::max<size_t>(16384, (need * 2 + 4095) & ~size_t(4095));
  bool fresh = pub.map == nullptr;
  int fd = ::open(file_of(pub.pid).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (fresh ? O_TRUNC : 0), 0600);
  if (fd < 0) return false;
  void* m = ::ftruncate(fd, off_t(cap)) == 0 ? ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (m == MAP_FAILED) return false;
  if (pub.map) ::munmap(pub.map, pub.cap);
  pub.map = static_cast<Header*>(m);
  pub.cap = cap;
  return true;
}

}  // namespace

void unpublish_guest_maps() {
  if (pub.pid && pub.pid == ::getpid() && !registry_dir().empty()) ::unlink(file_of(pub.pid).c_str());
}

void publish_guest_maps(Process& p, uint64_t nr) {
  if (nr == SYS_mmap || nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap || nr == SYS_brk ||
      nr == SYS_madvise)
    return;
  const uint64_t gen = p.as().generation();
  if (gen == published_generation.load(std::memory_order_relaxed) && !fork_child.load(std::memory_order_relaxed))
    return;
  if (registry_dir().empty()) return;
  std::lock_guard g(pub_mu);
  const pid_t me = ::getpid();
  if (pub.pid != me) {  // a new process (or a fork child, which must not write its parent's file)
    static std::once_flag once;
    std::call_once(once, [] {
      ::pthread_atfork(nullptr, nullptr, [] { fork_child.store(true, std::memory_order_relaxed); });
      sweep();
    });
    if (pub.map) ::munmap(pub.map, pub.cap);
    pub = Published{me, start_time(me), nullptr, 0};
  }
  fork_child.store(false, std::memory_order_relaxed);
  const std::string text = procfs_maps(p);  // (a change meanwhile has a newer generation)
  if (kTextOffset + text.size() > pub.cap && !map_file(kTextOffset + text.size())) return;
  Header* h = pub.map;
  h->seq.fetch_add(1, std::memory_order_acq_rel);  // odd: being written
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(reinterpret_cast<char*>(h) + kTextOffset, text.data(), text.size());
  h->pid = uint64_t(me);
  h->start_time = pub.start;
  h->len = text.size();
  std::memcpy(h->magic, kMagic, sizeof kMagic);
  h->seq.fetch_add(1, std::memory_order_release);  // even: whole
  published_generation.store(gen, std::memory_order_relaxed);
}

std::optional<std::string> published_guest_maps(pid_t pid) {
  if (pid <= 0 || registry_dir().empty()) return std::nullopt;
  const std::string proc = fmt::format("/proc/{}", pid);
  const std::string exe = exe_of(proc);
  if (exe.empty() || exe != exe_of("/proc/self")) return std::nullopt;  // not under Vireo
  int fd = ::open(file_of(pid).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> out;
  for (int attempt = 0; attempt < 1000 && !out; ++attempt) {
    RawHeader h, again;
    if (::pread(fd, &h, sizeof h, 0) != ssize_t(sizeof h) || std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 ||
        h.pid != uint64_t(pid) || h.len > (64u << 20))
      break;
    if (h.seq & 1) {  // being rewritten
      ::sched_yield();
      continue;
    }
    std::string text(h.len, '\0');
    if (::pread(fd, text.data(), text.size(), kTextOffset) != ssize_t(text.size())) break;
    if (::pread(fd, &again, sizeof again, 0) != ssize_t(sizeof again) || again.seq != h.seq) continue;
    if (h.start_time != start_time(pid)) break;  // an older process with this pid
    out = std::move(text);
  }
  ::close(fd);
  return out;
}

}  // namespace vireo
