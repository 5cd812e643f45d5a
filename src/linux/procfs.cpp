#include "linux/procfs.h"

#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

// A /proc path split into the host directory it names and the file in it: "/proc/self/maps" ->
// {"/proc/self", "maps", our pid}; "/proc/7/task/9/stat" -> {"/proc/7/task/9", "stat", 7}.
// pid 0 when the path is not a file of a process directory (or thread directory) we handle.
struct ProcPath {
  std::string dir, file;
  pid_t pid = 0;
};
ProcPath split_proc_path(const std::string& path) {
  ProcPath r;
  unsigned pid = 0, tid = 0;
  int end = 0;
  const char* s = path.c_str();
  if (path.compare(0, 11, "/proc/self/") == 0 || path.compare(0, 18, "/proc/thread-self/") == 0) {
    size_t slash = path.find('/', 6);
    r.pid = ::getpid();
    r.dir = path.substr(0, slash);
    r.file = path.substr(slash + 1);
    if (path[6] == 's' && std::sscanf(s + 11, "task/%u/%n", &tid, &end) == 1 && end > 0) {
      r.dir = path.substr(0, size_t(11 + end - 1));
      r.file = path.substr(size_t(11 + end));
    }
  } else if (std::sscanf(s, "/proc/%u/%n", &pid, &end) == 1 && end > 0) {
    r.pid = pid_t(pid);
    r.dir = path.substr(0, size_t(end - 1));
    r.file = path.substr(size_t(end));
    int end2 = 0;
    if (std::sscanf(s + end, "task/%u/%n", &tid, &end2) == 1 && end2 > 0) {
      r.dir = path.substr(0, size_t(end + end2 - 1));
      r.file = path.substr(size_t(end + end2));
    }
  }
  if (r.file.empty() || r.file.find('/') != std::string::npos) r.pid = 0;
  return r;
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

// /proc/PID/stat: the host's line (times, faults, scheduling are the process's own) with the
// fields that describe the guest's image replaced (fs/proc/array.c, do_task_stat).
std::string stat_text(const std::string& host, const GuestRecord& r) {
  size_t close = host.rfind(')');
  if (close == std::string::npos || close + 2 > host.size()) return host;
  std::vector<std::string> f;  // fields after "pid (comm)", f[0] is field 3 (state)
  std::istringstream in(host.substr(close + 2));
  for (std::string w; in >> w;) f.push_back(w);
  auto set = [&](size_t field, uint64_t v) {  // 1-based field numbers as in proc(5)
    if (field >= 3 && field - 3 < f.size()) f[field - 3] = std::to_string(v);
  };
  set(23, r.vm_size);  // vsize
  set(26, r.start_code);
  set(27, r.end_code);
  set(28, r.start_stack);
  set(29, 0);  // kstkesp and kstkeip: 0 unless the task is being core-dumped
  set(30, 0);
  set(45, r.start_data);
  set(46, r.end_data);
  set(47, r.start_brk);
  set(48, r.arg_start);
  set(49, r.arg_end);
  set(50, r.env_start);
  set(51, r.env_end);
  std::string out = host.substr(0, close + 1);
  for (auto& w : f) out += " " + w;
  return out + "\n";
}

// /proc/PID/status: the host's, with the memory lines describing the guest's address space.
std::string status_text(const std::string& host, const GuestRecord& r) {
  std::istringstream in(host);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    auto kb = [&](const char* key, uint64_t bytes) {
      if (line.compare(0, std::strlen(key), key) == 0) line = fmt::format("{}\t{:8} kB", key, bytes >> 10);
    };
    kb("VmPeak:", r.vm_size);
    kb("VmSize:", r.vm_size);
    kb("VmStk:", r.vm_stk);
    kb("VmExe:", r.vm_exe);
    kb("VmData:", r.vm_data);
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
    ProcPath pp = split_proc_path(path);
    if (pp.pid == 0) return std::nullopt;
    // A thread directory names a thread of that process, or nothing (the host says which).
    if (pp.dir.find("/task/") != std::string::npos && ::access(pp.dir.c_str(), F_OK) != 0) return std::nullopt;
    if (pp.pid != ::getpid()) {
      // Another guest process: from the record it published (maps_registry.h); its cmdline
      // and environ are the host's, set by that Vireo (procfs_image_loaded). A process not
      // under Vireo is the host's altogether.
      if (pp.file != "maps" && pp.file != "stat" && pp.file != "status" && pp.file != "auxv") return std::nullopt;
      std::optional<GuestRecord> r = published_guest_record(pp.pid);
      if (!r) return std::nullopt;
      if (pp.file == "maps") text = std::move(r->maps);
      else if (pp.file == "auxv") text = std::move(r->auxv);
      else if (pp.file == "stat") text = stat_text(read_host_file((pp.dir + "/stat").c_str()), *r);
      else text = status_text(read_host_file((pp.dir + "/status").c_str()), *r);
      if (text.empty()) return std::nullopt;  // (gone meanwhile)
    } else {
      const GuestLayout& g = guest_layout();
      const std::string& file = pp.file;
      if (file == "maps") text = procfs_maps(p);
      else if (file == "auxv") text = auxv_bytes();
      else if (file == "cmdline") text = guest_bytes(p, g.arg_start, g.arg_end);
      else if (file == "environ") text = guest_bytes(p, g.env_start, g.env_end);
      else if (file == "stat") text = stat_text(read_host_file((pp.dir + "/stat").c_str()), own_guest_numbers(p));
      else if (file == "status") text = status_text(read_host_file((pp.dir + "/status").c_str()), own_guest_numbers(p));
      else return std::nullopt;
    }
  }
  if ((flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  return memfd_with(text);
}

std::optional<std::string> procfs_exe_link(Process& p, const std::string& path) {
  if (path.compare(0, 6, "/proc/") != 0 || path.size() < 11 || path.compare(path.size() - 4, 4, "/exe") != 0)
    return std::nullopt;
  ProcPath pp = split_proc_path(path);
  if (pp.pid == 0 || pp.file != "exe") return std::nullopt;
  if (pp.pid == ::getpid()) {  // (a thread directory names a thread, or nothing)
    if (pp.dir.find("/task/") != std::string::npos && ::access(pp.dir.c_str(), F_OK) != 0) return std::nullopt;
    return p.exe_path;
  }
  std::optional<GuestRecord> r = published_guest_record(pp.pid);
  if (!r || r->exe.empty()) return std::nullopt;
  return std::move(r->exe);
}

void procfs_image_loaded(AddressSpace& as) {
  withdraw_guest_record();
  // prctl(PR_SET_MM, PR_SET_MM_MAP) (kernel/sys.c, prctl_set_mm_map): allowed without
  // privilege as long as the exe link stays (exe_fd -1). The kernel reads cmdline and environ
  // from [arg_start, env_end) of our memory, where the guest's strings are (guest_base +
  // address, anonymous memory as the kernel wants it); the code, data and stack fields are
  // only shown, so they carry guest addresses. auxv stays Vireo's: gdb attached to Vireo and
  // Vireo's core files relocate Vireo by it (AT_ENTRY, AT_PHDR). brk is the host's own (glibc's
  // heap): it stays where it is, start_brk raised to it (the kernel only refuses to shrink the
  // heap below start_brk, which glibc's trimming tolerates).
  const GuestLayout& g = guest_layout();
  auto clamp = [](uint64_t v) { return std::max<uint64_t>(v, 0x10000); };  // (>= mmap_min_addr)
  struct prctl_mm_map m {};
  m.start_code = clamp(g.elf.start_code);
  m.end_code = std::max<uint64_t>(clamp(g.elf.end_code), m.start_code + 1);
  m.start_data = clamp(g.elf.start_data);
  m.end_data = std::max<uint64_t>(clamp(g.elf.end_data), m.start_data);
  m.start_stack = clamp(g.start_stack);
  const uint64_t host_brk = reinterpret_cast<uint64_t>(::sbrk(0));
  m.start_brk = m.brk = host_brk;
  m.arg_start = reinterpret_cast<uint64_t>(as.host(g.arg_start));
  m.arg_end = reinterpret_cast<uint64_t>(as.host(g.arg_end));
  m.env_start = reinterpret_cast<uint64_t>(as.host(g.env_start));
  m.env_end = reinterpret_cast<uint64_t>(as.host(g.env_end));
  m.auxv_size = 0;  // (unchanged)
  m.exe_fd = uint32_t(-1);
  // (A kernel without CONFIG_CHECKPOINT_RESTORE refuses: the host's view stays, for other
  // processes; the guest's own /proc/self is synthesised above either way.)
  ::prctl(PR_SET_MM, PR_SET_MM_MAP, reinterpret_cast<unsigned long>(&m), sizeof m, 0);
}

}  // namespace vireo
