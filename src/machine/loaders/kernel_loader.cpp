#include "machine/loaders/kernel_loader.h"

#include <stdexcept>

#include <fmt/format.h>

#include "machine/loaders/linux_boot.h"
#include "machine/loaders/multiboot.h"
#include "machine/loaders/pvh_boot.h"

namespace vireo::machine {

KernelFormat load_kernel(const KernelLoadRequest& req, GuestRam& ram, CpuState& cpu) {
  if (is_linux_bzimage(*req.kernel)) {
    load_linux(req.path, *req.kernel, req.initrd, req.append, req.guest_decompress, ram, cpu);
    return KernelFormat::LinuxBzImage;
  }
  if (pvh_entry(*req.kernel)) {
    load_pvh(req.path, *req.kernel, req.initrd, req.append, ram, cpu);
    return KernelFormat::Pvh;
  }
  if (req.initrd)
    throw std::runtime_error(fmt::format("{}: --initrd is for Linux kernels (bzImage or PVH vmlinux); this is not one", req.path));
  load_multiboot(req.path, *req.kernel, req.append, ram, cpu);
  return KernelFormat::Multiboot;
}

}  // namespace vireo::machine
