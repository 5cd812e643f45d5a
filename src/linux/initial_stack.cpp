#include "linux/initial_stack.h"

#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

#include "cpu/cpuid.h"
#include "linux/procfs.h"
#include "linux/vdso/vdso_mapping.h"

namespace vireo {

namespace {
GuestLayout g_layout;
}

const GuestLayout& guest_layout() { return g_layout; }

uint64_t main_stack_size() {
  // Linux grows the main stack on demand up to RLIMIT_STACK; Vireo maps all of it up front
  // (MAP_NORESERVE: untouched pages cost nothing). "unlimited" gets the largest size that
  // leaves the mmap area where it is.
  constexpr uint64_t kMax = (uint64_t(1) << 32) - (uint64_t(1) << 20);
  struct rlimit rl;
  if (getrlimit(RLIMIT_STACK, &rl) != 0) return AddressSpace::kStackSize;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > kMax) return kMax;
  return std::max<uint64_t>(page_align_up(rl.rlim_cur), 128 * 1024);
}

uint64_t build_initial_stack(AddressSpace& as, const LoadedElf& elf,
                             const std::vector<std::string>& argv,
                             const std::vector<std::string>& envp, const std::string& execfn) {
  const uint64_t top = AddressSpace::kStackTop;
  const uint64_t size = main_stack_size();
  int prot = PROT_READ | PROT_WRITE | (elf.executable_stack ? PROT_EXEC : 0);
  if (as.mmap(top - size, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) < 0)
    throw std::runtime_error("cannot map the guest stack");
  as.set_origin(top - size, top, "[stack]");

  uint64_t sp = top;
  auto put_bytes = [&](const void* p, size_t n) {
    sp -= n;
    std::memcpy(as.host(sp), p, n);
    return sp;
  };
  auto put_string = [&](const std::string& s) { return put_bytes(s.c_str(), s.size() + 1); };

  sp -= 8;  // Linux leaves the top word for the end marker; keep the same shape.
  uint64_t execfn_addr = put_string(execfn);
  std::vector<uint64_t> env_addrs, arg_addrs;
  uint64_t env_end = sp;
  for (auto it = envp.rbegin(); it != envp.rend(); ++it) env_addrs.insert(env_addrs.begin(), put_string(*it));
  uint64_t arg_end = sp;
  for (auto it = argv.rbegin(); it != argv.rend(); ++it) arg_addrs.insert(arg_addrs.begin(), put_string(*it));
  uint64_t platform = put_string("x86_64");
  // AT_RANDOM: getrandom(2), one system call (std::random_device probes the CPU with CPUID
  // first, which traps in a VM).
  uint8_t random[16];
  if (::getrandom(random, sizeof random, 0) != ssize_t(sizeof random)) {
    std::random_device rd;
    for (auto& b : random) b = uint8_t(rd());
  }
  uint64_t random_addr = put_bytes(random, 16);
  sp &= ~uint64_t(15);

  uint64_t vdso = map_vdso(as);
  std::vector<uint64_t> aux = {
      AT_SYSINFO_EHDR, vdso,
      AT_HWCAP,   advertised_features().leaf1_edx,
      AT_PAGESZ,  4096,
      AT_CLKTCK,  uint64_t(sysconf(_SC_CLK_TCK)),
      AT_PHDR,    elf.phdr,
      AT_PHENT,   elf.phent,
      AT_PHNUM,   elf.phnum,
      AT_BASE,    elf.interp_base,
      AT_FLAGS,   0,
      AT_ENTRY,   elf.program_entry,
      AT_UID,     getuid(),
      AT_EUID,    geteuid(),
      AT_GID,     getgid(),
      AT_EGID,    getegid(),
      AT_SECURE,  0,
      AT_RANDOM,  random_addr,
      // HWCAP2_FSGSBASE (bit 1): Linux's word that user space may use rd/wr fs/gs base.
      AT_HWCAP2,  (advertised_features().leaf7_ebx & cpuid_bits::FSGSBASE) ? 2u : 0u,
      AT_EXECFN,  execfn_addr,
      AT_PLATFORM, platform,
      AT_NULL,    0,
  };
  size_t words = 1 + arg_addrs.size() + 1 + env_addrs.size() + 1 + aux.size();
  sp -= words * 8;
  sp &= ~uint64_t(15);  // rsp is 16-byte aligned at the entry point (psABI 3.4.1)
  uint64_t p = sp;
  auto put_word = [&](uint64_t v) {
    std::memcpy(as.host(p), &v, 8);
    p += 8;
  };
  put_word(arg_addrs.size());
  for (auto a : arg_addrs) put_word(a);
  put_word(0);
  for (auto e : env_addrs) put_word(e);
  put_word(0);
  for (auto a : aux) put_word(a);

  g_layout.arg_start = arg_addrs.empty() ? arg_end : arg_addrs.front();
  g_layout.arg_end = arg_end;
  g_layout.env_start = env_addrs.empty() ? env_end : env_addrs.front();
  g_layout.env_end = env_end;
  g_layout.start_stack = sp;
  g_layout.stack_start = top - size;
  g_layout.stack_end = top;
  g_layout.auxv = aux;
  g_layout.elf = elf;
  // The kernel names the task after the file it executes (fs/exec.c, __set_task_comm): `ps`,
  // `top` and /proc/PID/comm show the guest program, not "vireo".
  std::string comm = execfn.substr(execfn.rfind('/') + 1);
  prctl(PR_SET_NAME, comm.substr(0, 15).c_str(), 0, 0, 0);
  procfs_image_loaded(as);  // cmdline, environ, auxv of the host's /proc/PID: the guest's
  return sp;
}

}  // namespace vireo
