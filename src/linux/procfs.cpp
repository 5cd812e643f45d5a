#include "linux/procfs.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "cpu/cpuid.h"
#include "linux/guest_access.h"
#include "linux/initial_stack.h"
#include "linux/maps_registry.h"
#include "linux/process.h"

namespace vireo {

namespace {

// "/proc/self/maps" -> "maps" when the directory is the guest's own; "" otherwise.
std::string own_proc_file(const std::string& path) {
  const std::string pid = std::to_string(::getpid());  // (not cached: a fork child has its own)
  for (const std::string& dir : {std::string("/proc/self/"), std::string("/proc/thread-self/"),
                                 "/proc/" + pid + "/", "/proc/" + pid + "/task/" + pid + "/"})
    if (path.compare(0, dir.size(), dir) == 0) return path.substr(dir.size());
  return "";
}

// "/proc/PID/maps" or "/proc/PID/task/TID/maps" of another process: its pid, else 0.
pid_t other_maps_pid(const std::string& path) {
  unsigned pid = 0, tid = 0;
  int end = 0;
  if (std::sscanf(path.c_str(), "/proc/%u/maps%n", &pid, &end) == 1 && size_t(end) == path.size()) return pid_t(pid);
  end = 0;
  if (std::sscanf(path.c_str(), "/proc/%u/task/%u/maps%n", &pid, &tid, &end) == 2 && size_t(end) == path.size())
    return pid_t(pid);
  return 0;
}

std::string read_host_file(const char* path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string guest_bytes(Process& p, uint64_t start, uint64_t end) {
  std::string s;
  if (end <= start || end - start > (64u << 20)) return s;
  s.resize(end - start);
  if (!copy_from_guest(p, s.data(), start, s.size())) s.clear();
  return s;
}

uint64_t guest_vm_size(Process& p) {
  uint64_t total = 0;
  for (auto& m : p.as().mappings()) total += m.end - m.start;
  return total;
}

// /proc/PID/stat: the host's line (times, faults, scheduling are the process's own) with the
// fields that describe the guest's image replaced (fs/proc/array.c, do_task_stat).
std::string stat_text(Process& p) {
  std::string host = read_host_file("/proc/self/stat");
  size_t close = host.rfind(')');
  if (close == std::string::npos) return host;
  std::vector<std::string> f;  // fields after "pid (comm)", f[0] is field 3 (state)
  std::istringstream in(host.substr(close + 2));
  for (std::string w; in >> w;) f.push_back(w);
  const GuestLayout& g = guest_layout();
  auto set = [&](size_t field, uint64_t v) {  // 1-based field numbers as in proc(5)
    if (field >= 3 && field - 3 < f.size()) f[field - 3] = std::to_string(v);
  };
  set(23, guest_vm_size(p));  // vsize
  set(26, g.elf.start_code);
  set(27, g.elf.end_code);
  set(28, g.start_stack);
  set(29, 0);  // kstkesp and kstkeip: 0 unless the task is being core-dumped
  set(30, 0);
  set(45, g.elf.start_data);
  set(46, g.elf.end_data);
  set(47, p.as().brk_start());
  set(48, g.arg_start);
  set(49, g.arg_end);
  set(50, g.env_start);
  set(51, g.env_end);
  std::string comm = host.substr(host.find('(') + 1, close - host.find('(') - 1);
  std::string out = fmt::format("{} ({})", ::getpid(), comm);
  for (auto& w : f) out += " " + w;
  return out + "\n";
}

// /proc/PID/status: the host's, with the memory lines describing the guest's address space.
std::string status_text(Process& p) {
  uint64_t size = 0, stk = 0, exe = 0, data = 0;
  const GuestLayout& g = guest_layout();
  for (auto& m : p.as().mappings()) {
    uint64_t len = m.end - m.start;
    size += len;
    if (m.origin.name == "[stack]") stk += len;
    else if ((m.prot & PROT_EXEC) && !(m.prot & PROT_WRITE) && m.origin.name == p.exe_path) exe += len;
    else if ((m.prot & PROT_WRITE) && !m.origin.shared) data += len;
  }
  (void)g;
  std::istringstream in(read_host_file("/proc/self/status"));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    auto kb = [&](const char* key, uint64_t bytes) {
      if (line.compare(0, std::strlen(key), key) == 0) line = fmt::format("{}\t{:8} kB", key, bytes >> 10);
    };
    kb("VmPeak:", size);
    kb("VmSize:", size);
    kb("VmStk:", stk);
    kb("VmExe:", exe);
    kb("VmData:", data);
    out += line + "\n";
  }
  return out;
}

std::string auxv_bytes() {
  const auto& a = guest_layout().auxv;
  return std::string(reinterpret_cast<const char*>(a.data()), a.size() * 8);
}

int memfd_with(const std::string& text) {
  int fd = ::memfd_create("vireo-proc", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return -EIO;
    }
    done += size_t(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  // Read-only, as the /proc file is (fcntl F_ADD_SEALS needs MFD_ALLOW_SEALING; a write is
  // refused anyway below because the fd is reopened read-only).
  int ro = ::open(fmt::format("/proc/self/fd/{}", fd).c_str(), O_RDONLY | O_CLOEXEC);
  ::close(fd);
  return ro >= 0 ? ro : -errno;
}

}  // namespace

std::string procfs_maps(Process& p) {
  AddressSpace& as = p.as();
  std::string out;
  uint64_t heap_lo = page_align_down(as.brk_start()), heap_hi = as.brk_end();
  for (const auto& m : as.mappings()) {
    std::string name = m.origin.name;
    // The heap is whatever anonymous memory lies in the brk range (fs/proc/task_mmu.c).
    if (name.empty() && heap_hi > heap_lo && m.start < heap_hi && m.end > heap_lo) name = "[heap]";
    std::string line = fmt::format(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", m.start, m.end,
        (m.prot & PROT_READ) ? 'r' : '-', (m.prot & PROT_WRITE) ? 'w' : '-',
        (m.prot & PROT_EXEC) ? 'x' : '-', m.origin.shared ? 's' : 'p', m.origin.offset,
        major(dev_t(m.origin.dev)), minor(dev_t(m.origin.dev)), m.origin.inode);
    if (!name.empty()) {
      // seq_pad(): names start at column 73 (25 + sizeof(void*) * 6 - 1, plus the space).
      if (line.size() < 73) line.append(73 - line.size(), ' ');
      line += name;
    }
    out += line + "\n";
  }
  return out;
}

std::string procfs_cpuinfo() {
  // One entry per host CPU (what sysconf and sched_getaffinity report), each describing the
  // guest's CPU: the vendor, brand and flags of Vireo's CPUID (cpu/cpuid.cpp).
  using namespace cpuid_bits;
  auto reg = [](uint32_t leaf) { return cpuid(leaf, 0); };
  auto chars = [](uint32_t w) { return std::string(reinterpret_cast<const char*>(&w), 4); };
  CpuidResult l0 = reg(0), l1 = reg(1), e1 = reg(0x80000001), l7 = cpuid(7, 0);
  std::string vendor = chars(l0.ebx) + chars(l0.edx) + chars(l0.ecx);
  std::string brand;
  for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; ++leaf) {
    CpuidResult r = reg(leaf);
    brand += chars(r.eax) + chars(r.ebx) + chars(r.ecx) + chars(r.edx);
  }
  brand = brand.c_str();
  // Linux's names for the bits (arch/x86/include/asm/cpufeatures.h), in its order.
  struct Flag { const char* name; uint32_t word; uint32_t bit; };
  const Flag flags[] = {
      {"fpu", l1.edx, FPU}, {"tsc", l1.edx, TSC}, {"cx8", l1.edx, CX8}, {"cmov", l1.edx, CMOV},
      {"mmx", l1.edx, MMX}, {"fxsr", l1.edx, FXSR}, {"sse", l1.edx, SSE}, {"sse2", l1.edx, SSE2},
      {"syscall", e1.edx, SYSCALL}, {"nx", e1.edx, NX}, {"lm", e1.edx, LM},
      {"pni", l1.ecx, SSE3}, {"ssse3", l1.ecx, SSSE3}, {"cx16", l1.ecx, CX16},
      {"sse4_1", l1.ecx, SSE41}, {"sse4_2", l1.ecx, SSE42}, {"movbe", l1.ecx, MOVBE},
      {"popcnt", l1.ecx, POPCNT}, {"lahf_lm", e1.ecx, LAHF_LM}, {"abm", e1.ecx, ABM_LZCNT},
      {"bmi1", l7.ebx, BMI1},
  };
  std::string fl;
  for (const Flag& f : flags)
    if (f.word & f.bit) fl += (fl.empty() ? "" : " ") + std::string(f.name);
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  uint32_t family = ((l1.eax >> 8) & 0xF) + ((l1.eax >> 20) & 0xFF);
  uint32_t model = ((l1.eax >> 4) & 0xF) | (((l1.eax >> 16) & 0xF) << 4);
  std::string out;
  for (long i = 0; i < n; ++i)
    out += fmt::format(
        "processor\t: {}\nvendor_id\t: {}\ncpu family\t: {}\nmodel\t\t: {}\nmodel name\t: {}\n"
        "stepping\t: {}\nphysical id\t: 0\nsiblings\t: {}\ncore id\t\t: {}\ncpu cores\t: {}\n"
        "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\nwp\t\t: yes\nflags\t\t: {}\n"
        "clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 48 bits physical, 48 bits virtual\n"
        "power management:\n\n",
        i, vendor, family, model, brand, l1.eax & 0xF, n, i, n, l0.eax, fl);
  return out;
}

std::optional<int> procfs_open(Process& p, const std::string& path, int flags) {
  std::string text;
  if (path == "/proc/cpuinfo") {
    text = procfs_cpuinfo();
  } else {
    std::string file = own_proc_file(path);
    if (file.empty()) {
      // Another guest process: the map it published (maps_registry.h); anything else (a
      // process not under Vireo) is the host's.
      pid_t other = other_maps_pid(path);
      std::optional<std::string> published = other ? published_guest_maps(other) : std::nullopt;
      if (!published) return std::nullopt;
      if ((flags & O_ACCMODE) != O_RDONLY) return -EACCES;
      return memfd_with(*published);
    }
    const GuestLayout& g = guest_layout();
    if (file == "maps") text = procfs_maps(p);
    else if (file == "auxv") text = auxv_bytes();
    else if (file == "cmdline") text = guest_bytes(p, g.arg_start, g.arg_end);
    else if (file == "environ") text = guest_bytes(p, g.env_start, g.env_end);
    else if (file == "stat") text = stat_text(p);
    else if (file == "status") text = status_text(p);
    else return std::nullopt;
  }
  if ((flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  return memfd_with(text);
}

}  // namespace vireo
