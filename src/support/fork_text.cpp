#include "support/fork_text.h"

#include <fcntl.h>
#include <link.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace vireo {

namespace {

bool g_done = false;

int touch_object(dl_phdr_info* info, size_t, void* fd_arg) {
  const int fd = *static_cast<int*>(fd_arg);
  // The vDSO is the kernel's (a special mapping): left alone.
  if (info->dlpi_name && std::strstr(info->dlpi_name, "linux-vdso")) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    // Writable segments have anonymous pages already (relocations, .data and .bss written).
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) || ph.p_memsz == 0) continue;
    const auto* at = reinterpret_cast<const volatile unsigned char*>(info->dlpi_addr + ph.p_vaddr);
    const unsigned char byte = *at;  // (its own value, written back)
    (void)::pwrite(fd, &byte, 1, off_t(reinterpret_cast<uintptr_t>(at)));
  }
  return 0;
}

}  // namespace

void keep_text_mapped_across_fork() {
  // With other threads about, a guest thread could meet the descriptor (a close or dup2 of a
  // number it does not own): done only while Vireo has one thread (then no guest code runs
  // between the open and the close).
  if (g_done || !__libc_single_threaded) return;
  g_done = true;
  const int fd = ::open("/proc/self/mem", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::dl_iterate_phdr(touch_object, const_cast<int*>(&fd));
  ::close(fd);
}

}  // namespace vireo
