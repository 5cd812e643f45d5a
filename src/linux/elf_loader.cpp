#include "linux/elf_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <vector>

namespace vireo {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly `len` bytes at `off`; false on a short read (the file is too small).
bool read_at(int fd, void* dst, size_t len, uint64_t off) {
  auto* p = static_cast<uint8_t*>(dst);
  while (len) {
    ssize_t n = ::pread(fd, p, len, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
    off += uint64_t(n);
  }
  return true;
}

int prot_of(uint32_t p_flags) {
  return ((p_flags & PF_R) ? PROT_READ : 0) | ((p_flags & PF_W) ? PROT_WRITE : 0) |
         ((p_flags & PF_X) ? PROT_EXEC : 0);
}

}  // namespace

bool looks_like_elf(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  unsigned char m[4];
  return f.fd >= 0 && ::pread(f.fd, m, 4, 0) == 4 && std::memcmp(m, ELFMAG, SELFMAG) == 0;
}

ExecKind classify_executable(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) return ExecKind::NotElf;
  Elf64_Ehdr eh;
  ssize_t n = ::pread(f.fd, &eh, sizeof eh, 0);
  if (n < SELFMAG || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return ExecKind::NotElf;
  if (n != sizeof eh || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 512)
    return ExecKind::OtherElf;
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  size_t bytes = ph.size() * sizeof(Elf64_Phdr);
  if (::pread(f.fd, ph.data(), bytes, off_t(eh.e_phoff)) != ssize_t(bytes)) return ExecKind::OtherElf;
  for (auto& p : ph)
    if (p.p_type == PT_INTERP) return ExecKind::Dynamic;
  return ExecKind::StaticX86_64;
}

LoadedElf load_elf(const std::string& path, AddressSpace& as) {
  // O_NONBLOCK: a FIFO must not hang the open; it is rejected as "not a regular file" below.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) throw ElfError(fmt::format("{}: {}", path, strerror(errno)));
  auto fail = [&](const char* why) -> ElfError {
    return ElfError(fmt::format("{}: {}", path, why));
  };
  struct stat st;
  if (fstat(f.fd, &st) != 0) throw ElfError(fmt::format("{}: {}", path, strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw fail("is a directory");
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  // Only the headers are read up front; segments are read straight into guest memory, so a
  // huge (or huge sparse) file costs nothing more than its headers.
  const uint64_t file_size = uint64_t(st.st_size);

  Elf64_Ehdr eh{};
  if (file_size < SELFMAG || !read_at(f.fd, &eh, SELFMAG, 0) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    throw fail("not an ELF file");
  if (file_size < sizeof(Elf64_Ehdr) || !read_at(f.fd, &eh, sizeof eh, 0))
    throw fail("truncated ELF header");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) throw fail("not a 64-bit ELF file");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw fail("not a little-endian ELF file");
  if (eh.e_machine != EM_X86_64) throw fail("not an x86-64 executable");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) throw fail("not an executable ELF file");
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) throw fail("bad program header size");
  if (eh.e_phnum == 0 || eh.e_phnum > 512) throw fail("bad program header count");
  if (eh.e_phoff > file_size || uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) > file_size - eh.e_phoff)
    throw fail("program headers lie outside the file");

  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  if (!read_at(f.fd, ph.data(), ph.size() * sizeof(Elf64_Phdr), eh.e_phoff))
    throw fail("program headers lie outside the file");

  LoadedElf out{};
  uint64_t lo = ~uint64_t(0), hi = 0;
  bool any_load = false;
  std::vector<const Elf64_Phdr*> loads;
  for (auto& p : ph) {
    if (p.p_type == PT_INTERP)
      throw fail("dynamically linked program (has PT_INTERP): vireo runs static executables only");
    if (p.p_type == PT_GNU_STACK) out.executable_stack = p.p_flags & PF_X;
    if (p.p_type != PT_LOAD) continue;
    if (p.p_memsz == 0) continue;
    if (p.p_filesz > p.p_memsz) throw fail("segment file size exceeds memory size");
    if (p.p_offset > file_size || p.p_filesz > file_size - p.p_offset)
      throw fail("segment lies outside the file");
    if (p.p_align > 1 && ((p.p_vaddr - p.p_offset) % 4096) != 0)
      throw fail("segment is misaligned");
    if (p.p_vaddr + p.p_memsz < p.p_vaddr || p.p_vaddr + p.p_memsz > AddressSpace::kWindowSize)
      throw fail("segments lie outside the guest address space");
    lo = std::min(lo, page_align_down(p.p_vaddr));
    hi = std::max(hi, p.p_vaddr + p.p_memsz);
    any_load = true;
    loads.push_back(&p);
  }
  if (!any_load) throw fail("no loadable segments");

  uint64_t bias = 0;
  if (eh.e_type == ET_DYN) bias = AddressSpace::kPieBase - lo;
  if (!as.contains(lo + bias, page_align_up(hi) - lo) || hi + bias >= AddressSpace::kMmapTop / 2)
    throw fail("segments lie outside the guest address space");

  // Map each segment as anonymous read-write memory and read its file bytes in. Segments may
  // share a page (the end of one and the start of the next): pages an earlier segment already
  // mapped are kept, not replaced, so its bytes survive.
  for (const Elf64_Phdr* p : loads) {
    uint64_t start = page_align_down(p->p_vaddr + bias);
    uint64_t end = page_align_up(p->p_vaddr + bias + p->p_memsz);
    for (uint64_t a = start; a < end;) {
      uint64_t b = std::min(end, as.run_end(a));
      if (as.is_mapped(a, 1)) {
        as.mprotect(a, b - a, PROT_READ | PROT_WRITE);
      } else if (as.mmap(a, b - a, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) < 0) {
        throw fail("cannot map segment (not enough memory)");
      }
      a = b;
    }
    if (!read_at(f.fd, as.host(p->p_vaddr + bias), p->p_filesz, p->p_offset))
      throw fail("segment lies outside the file");
  }
  // Final protections; a page shared by several segments gets the union of theirs.
  for (const Elf64_Phdr* p : loads) {
    uint64_t start = page_align_down(p->p_vaddr + bias);
    uint64_t end = page_align_up(p->p_vaddr + bias + p->p_memsz);
    as.mprotect(start, end - start, prot_of(p->p_flags));
  }
  for (const Elf64_Phdr* p : loads) {
    for (uint64_t page : {page_align_down(p->p_vaddr + bias),
                          page_align_up(p->p_vaddr + bias + p->p_memsz) - AddressSpace::kPageSize}) {
      int prot = 0;
      for (const Elf64_Phdr* q : loads)
        if (page + AddressSpace::kPageSize > q->p_vaddr + bias && page < q->p_vaddr + bias + q->p_memsz)
          prot |= prot_of(q->p_flags);
      as.mprotect(page, AddressSpace::kPageSize, prot);
    }
  }

  out.load_bias = bias;
  out.entry = eh.e_entry + bias;
  out.phent = eh.e_phentsize;
  out.phnum = eh.e_phnum;
  out.brk = hi + bias;
  // AT_PHDR: where the headers are in memory: PT_PHDR if present, else inside the first
  // segment that covers e_phoff in the file.
  out.phdr = 0;
  for (auto& p : ph)
    if (p.p_type == PT_PHDR) out.phdr = p.p_vaddr + bias;
  if (!out.phdr)
    for (auto& p : ph)
      if (p.p_type == PT_LOAD && eh.e_phoff >= p.p_offset && eh.e_phoff < p.p_offset + p.p_filesz)
        out.phdr = p.p_vaddr + bias + (eh.e_phoff - p.p_offset);
  if (!as.is_mapped(out.entry, 1, PROT_EXEC)) throw fail("entry point is not in an executable segment");
  return out;
}

}  // namespace vireo
