/* The Multiboot information a loader hands over: memory sizes, a BIOS-style memory map and
   the command line (after the kernel's own path, as GRUB and QEMU pass it). Only facts that
   hold on any PC with 128 MiB are printed, so Vireo and QEMU agree. */
#include "lib/guest.h"

struct mmap_entry {
  uint32_t size;
  uint64_t base, length;
  uint32_t type;
} __attribute__((packed));

int kmain(uint32_t magic, const struct multiboot_info* mbi) {
  serial_init();
  CHECK(magic == 0x2BADB002);
  kprintf("flags: mem %d, cmdline %d, mmap %d\n", (int)(mbi->flags & 1), (int)(mbi->flags >> 2) & 1,
          (int)(mbi->flags >> 6) & 1);
  kprintf("mem_lower: %u KiB\n", mbi->mem_lower);
  kprintf("mem_upper >= 120 MiB: %s\n", mbi->mem_upper >= 120 * 1024 ? "yes" : "no");
  uint64_t low = 0, high = 0;
  int entries = 0;
  for (uint32_t off = 0; off < mbi->mmap_length;) {
    const struct mmap_entry* e = (const struct mmap_entry*)(uintptr_t)(mbi->mmap_addr + off);
    if (e->type == 1 && e->base == 0) low = e->length;
    if (e->type == 1 && e->base == 0x100000) high = e->length;
    entries++;
    off += e->size + 4;
  }
  kprintf("mmap: conventional memory >= 600 KiB: %s\n", low >= 600 * 1024 ? "yes" : "no");
  kprintf("mmap: RAM at 1 MiB >= 120 MiB: %s\n", high >= 120ull << 20 ? "yes" : "no");
  kprintf("mmap: entries >= 3: %s\n", entries >= 3 ? "yes" : "no");
  kprintf("args: '%s'\n", multiboot_args(mbi));
  return 0;
}
