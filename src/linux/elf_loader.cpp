#include "linux/elf_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "linux/sysroot.h"

namespace vireo {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads up to `len` bytes at `off`; returns how many were read (fewer at the end of the file).
size_t read_some(int fd, void* dst, size_t len, uint64_t off) {
  auto* p = static_cast<uint8_t*>(dst);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, p + done, len - done, off_t(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  return done;
}

// Reads exactly `len` bytes at `off`; false on a short read (the file is too small).
bool read_at(int fd, void* dst, size_t len, uint64_t off) { return read_some(fd, dst, len, off) == len; }

int prot_of(uint32_t p_flags) {
  return ((p_flags & PF_R) ? PROT_READ : 0) | ((p_flags & PF_W) ? PROT_WRITE : 0) |
         ((p_flags & PF_X) ? PROT_EXEC : 0);
}

// vm.mmap_min_addr: the kernel refuses to map anything below it, ELF segments included.
uint64_t mmap_min_addr() {
  static const uint64_t v = [] {
    uint64_t x = 65536;
    int fd = ::open("/proc/sys/vm/mmap_min_addr", O_RDONLY | O_CLOEXEC);
    char buf[32] = {};
    if (fd >= 0 && ::read(fd, buf, sizeof buf - 1) > 0) x = std::strtoull(buf, nullptr, 10);
    if (fd >= 0) ::close(fd);
    return x;
  }();
  return v;
}

// One ELF file, opened and with its headers checked (nothing mapped yet).
struct Image {
  std::string path;
  Fd f{-1};
  struct stat st {};
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
  std::vector<const Elf64_Phdr*> loads;  // PT_LOAD entries with a non-empty memory image
  uint64_t lo = 0, hi = 0;               // page-aligned start and end of what they cover

  ElfError fail(const std::string& why) const { return ElfError(fmt::format("{}: {}", path, why)); }
};

// `fd`: the file opened already (taken over), or -1 to open `path`.
void open_image(Image& im, const std::string& path, int fd = -1) {
  im.path = path;
  // O_NONBLOCK: a FIFO must not hang the open; it is rejected as "not a regular file" below.
  im.f.fd = fd >= 0 ? fd : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (im.f.fd < 0) throw im.fail(strerror(errno));
  if (fstat(im.f.fd, &im.st) != 0) throw im.fail(strerror(errno));
  if (S_ISDIR(im.st.st_mode)) throw im.fail("is a directory");
  if (!S_ISREG(im.st.st_mode)) throw im.fail("not a regular file");
  // Only the headers are read up front; segments are read straight into guest memory, so a
  // huge (or huge sparse) file costs nothing more than its headers.
  const uint64_t file_size = uint64_t(im.st.st_size);
  Elf64_Ehdr& eh = im.eh;
  if (file_size < SELFMAG || !read_at(im.f.fd, &eh, SELFMAG, 0) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    throw im.fail("not an ELF file");
  if (file_size < sizeof(Elf64_Ehdr) || !read_at(im.f.fd, &eh, sizeof eh, 0))
    throw im.fail("truncated ELF header");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) throw im.fail("not a 64-bit ELF file");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw im.fail("not a little-endian ELF file");
  if (eh.e_machine != EM_X86_64) throw im.fail("not an x86-64 executable");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) throw im.fail("not an executable ELF file");
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) throw im.fail("bad program header size");
  if (eh.e_phnum == 0 || eh.e_phnum > 512) throw im.fail("bad program header count");
  if (eh.e_phoff > file_size || uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) > file_size - eh.e_phoff)
    throw im.fail("program headers lie outside the file");
  im.ph.resize(eh.e_phnum);
  if (!read_at(im.f.fd, im.ph.data(), im.ph.size() * sizeof(Elf64_Phdr), eh.e_phoff))
    throw im.fail("program headers lie outside the file");

  uint64_t lo = ~uint64_t(0), hi = 0;
  for (auto& p : im.ph) {
    if (p.p_type != PT_LOAD || p.p_memsz == 0) continue;
    if (p.p_filesz > p.p_memsz) throw im.fail("segment file size exceeds memory size");
    // A segment whose file bytes run past the end of the file is accepted, as the kernel
    // accepts it (it maps the file and only a touch past the end would fault): the missing
    // bytes read as zero here. One that starts past the end has nothing to map at all.
    if (p.p_offset > file_size && p.p_filesz) throw im.fail("segment lies outside the file");
    if (p.p_align > 1 && ((p.p_vaddr - p.p_offset) % 4096) != 0) throw im.fail("segment is misaligned");
    if (p.p_vaddr + p.p_memsz < p.p_vaddr || p.p_vaddr + p.p_memsz > AddressSpace::kWindowSize)
      throw im.fail("segments lie outside the guest address space (Vireo's guest window is 64 TiB)");
    lo = std::min(lo, page_align_down(p.p_vaddr));
    hi = std::max(hi, page_align_up(p.p_vaddr + p.p_memsz));
    im.loads.push_back(&p);
  }
  if (im.loads.empty()) throw im.fail("no loadable segments");
  im.lo = lo;
  im.hi = hi;
}

// Puts a segment's `avail` file bytes at its address (already mapped read-write). The whole
// pages among them that no other segment shares are mapped from the file, MAP_PRIVATE, as the
// kernel maps them (page-cache pages, copied only when written, read only when touched); the
// partial pages at either end are read in. An exec-heavy guest loads the same large binaries
// again and again (issue 22: reading all of busybox was an eighth of a fork+exec's cost).
void load_file_bytes(const Image& im, AddressSpace& as, const Elf64_Phdr& p, uint64_t bias, uint64_t avail) {
  const uint64_t va = p.p_vaddr + bias;
  auto shared_page = [&](uint64_t page) {
    for (const Elf64_Phdr* q : im.loads)
      if (q != &p && page + AddressSpace::kPageSize > page_align_down(q->p_vaddr + bias) &&
          page < page_align_up(q->p_vaddr + bias + q->p_memsz))
        return true;
    return false;
  };
  uint64_t a = page_align_up(va), b = page_align_down(va + avail);
  while (a < b && shared_page(a)) a += AddressSpace::kPageSize;
  while (b > a && shared_page(b - AddressSpace::kPageSize)) b -= AddressSpace::kPageSize;
  const uint64_t off = p.p_offset + (a - va);
  if (a >= b || (off & (AddressSpace::kPageSize - 1)) ||
      as.mmap(a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, im.f.fd, off, false) != int64_t(a)) {
    read_some(im.f.fd, as.host(va), avail, p.p_offset);
    return;
  }
  read_some(im.f.fd, as.host(va), a - va, p.p_offset);
  read_some(im.f.fd, as.host(b), va + avail - b, p.p_offset + (b - va));
}

// Gives each page of the image its segment's protection: the last segment's that covers it,
// and the union of all that cover it where a page is the first or last of a segment (two
// segments sharing a page: both need their bytes usable). Every page is read-write now, from
// loading; runs of pages that end up alike take one mprotect, and read-write ones none (each
// mprotect splitting a mapping costs some 3-5 us here, at every exec: issue 22).
void set_final_protections(const Image& im, AddressSpace& as, uint64_t bias) {
  constexpr uint64_t kPage = AddressSpace::kPageSize;
  struct Range {
    uint64_t start, end;
    int prot;
  };
  std::vector<Range> segs;
  std::vector<uint64_t> cuts;
  for (const Elf64_Phdr* p : im.loads) {
    Range r{page_align_down(p->p_vaddr + bias), page_align_up(p->p_vaddr + bias + p->p_memsz), prot_of(p->p_flags)};
    segs.push_back(r);
    cuts.insert(cuts.end(), {r.start, r.start + kPage, r.end - kPage, r.end});
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  // Between two cuts every page is alike: inside or outside each segment, an edge page or not.
  uint64_t run_start = 0, run_end = 0;
  int run_prot = -1;
  auto flush = [&] {
    if (run_prot >= 0 && run_prot != (PROT_READ | PROT_WRITE)) as.mprotect(run_start, run_end - run_start, run_prot);
  };
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const uint64_t x = cuts[i], y = cuts[i + 1];
    int last = -1, all = 0;
    bool edge = false;
    for (const Range& r : segs) {
      if (x < r.start || y > r.end) continue;
      last = r.prot;
      all |= r.prot;
      edge = edge || x == r.start || y == r.end;
    }
    if (last < 0) continue;  // between segments: nothing mapped
    const int prot = edge ? all : last;
    if (prot == run_prot && x == run_end) {
      run_end = y;
      continue;
    }
    flush();
    run_start = x;
    run_end = y;
    run_prot = prot;
  }
  flush();
}

// Maps every PT_LOAD of `im` at `bias` as anonymous memory with the file bytes read in, and
// gives each page its segment's protection. Segments may share a page (the end of one and the
// start of the next): pages an earlier segment already mapped are kept, not replaced, so its
// bytes survive, and a shared page gets the union of the protections.
// Returns the file's canonical path (the name its mappings show).
std::string map_segments(const Image& im, AddressSpace& as, uint64_t bias) {
  if (!as.contains(im.lo + bias, im.hi - im.lo)) throw im.fail("segments lie outside the guest address space");
  if (im.lo + bias < mmap_min_addr())
    throw ElfFatalSegv(fmt::format("{}: segment below vm.mmap_min_addr ({:#x})", im.path, mmap_min_addr()));
  const uint64_t file_size = uint64_t(im.st.st_size);
  char* rp = ::realpath(im.path.c_str(), nullptr);
  const std::string real_name = rp ? rp : im.path;
  std::free(rp);
  for (const Elf64_Phdr* p : im.loads) {
    uint64_t start = page_align_down(p->p_vaddr + bias);
    uint64_t end = page_align_up(p->p_vaddr + bias + p->p_memsz);
    for (uint64_t a = start; a < end;) {
      uint64_t b = std::min(end, as.run_end(a));
      if (as.is_mapped(a, 1)) {
        as.mprotect(a, b - a, PROT_READ | PROT_WRITE);
      } else if (as.mmap(a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                         -1, 0) < 0) {
        throw im.fail("cannot map segment (not enough memory)");
      }
      a = b;
    }
    uint64_t avail = p->p_offset < file_size ? std::min<uint64_t>(p->p_filesz, file_size - p->p_offset) : 0;
    load_file_bytes(im, as, *p, bias, avail);
    // /proc/self/maps shows a segment as a mapping of its file (by its real path, as d_path()
    // gives it) at its page-aligned offset.
    as.set_origin(start, end, real_name, page_align_down(p->p_offset), uint64_t(im.st.st_dev),
                  uint64_t(im.st.st_ino));
  }
  set_final_protections(im, as, bias);
  return real_name;
}

// The PT_INTERP string, or "" if there is none. Like the kernel, it must be NUL-terminated
// and shorter than PATH_MAX (fs/binfmt_elf.c).
std::string interpreter_of(const Image& im) {
  for (auto& p : im.ph) {
    if (p.p_type != PT_INTERP) continue;
    if (p.p_filesz < 2 || p.p_filesz > PATH_MAX) throw im.fail("bad ELF interpreter name");
    std::string s(p.p_filesz, '\0');
    if (!read_at(im.f.fd, s.data(), s.size(), p.p_offset)) throw im.fail("bad ELF interpreter name");
    // Only the last byte must be NUL; the name is what precedes the first one.
    if (s.back() != '\0') throw im.fail("bad ELF interpreter name");
    return s.substr(0, s.find('\0'));
  }
  return "";
}

}  // namespace

bool looks_like_elf(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  unsigned char m[4];
  return f.fd >= 0 && ::pread(f.fd, m, 4, 0) == 4 && std::memcmp(m, ELFMAG, SELFMAG) == 0;
}

ExecKind classify_executable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  unsigned char m[SELFMAG];
  const size_t n = fd >= 0 ? read_some(fd, m, SELFMAG, 0) : 0;
  return classify_executable(path, fd, m, n);
}

ExecKind classify_executable(const std::string& path, int fd, const void* head, size_t head_len,
                             int* kept_fd) {
  Image im;
  if (fd < 0 || head_len < SELFMAG || std::memcmp(head, ELFMAG, SELFMAG) != 0) {
    Fd owned{fd};
    return ExecKind::NotElf;
  }
  std::string interp;
  try {
    open_image(im, path, fd);
    interp = interpreter_of(im);
  } catch (const ElfError&) {
    return ExecKind::OtherElf;
  }
  // (the program's descriptor handed on for the load, where it is wanted)
  auto runs = [&](ExecKind k) {
    if (kept_fd) *kept_fd = std::exchange(im.f.fd, -1);
    return k;
  };
  if (interp.empty()) return runs(ExecKind::StaticX86_64);
  // Linux answers ENOENT for a missing interpreter; it opens it with open_exec().
  Image in;
  try {
    open_image(in, sysroot_path(interp));
  } catch (const ElfError&) {
    return ::access(sysroot_path(interp).c_str(), F_OK) == 0 ? ExecKind::OtherElf
                                                             : ExecKind::MissingInterpreter;
  }
  return runs(ExecKind::Dynamic);
}

LoadedElf load_elf(const std::string& path, AddressSpace& as, int fd) {
  Image im;
  open_image(im, path, fd);
  LoadedElf out{};
  out.interp_path = interpreter_of(im);
  for (auto& p : im.ph)
    if (p.p_type == PT_GNU_STACK) out.executable_stack = p.p_flags & PF_X;

  // ET_DYN programs go at ELF_ET_DYN_BASE (kPieBase here), as Linux places a PIE, a
  // static-pie and a loader run directly.
  uint64_t bias = 0;
  if (im.eh.e_type == ET_DYN) bias = AddressSpace::kPieBase - im.lo;
  if (!as.contains(im.lo + bias, im.hi - im.lo) || im.hi + bias >= AddressSpace::kMmapTop / 2)
    throw im.fail("segments lie outside the guest address space (Vireo's guest window is 64 TiB)");
  out.real_path = map_segments(im, as, bias);

  out.load_bias = bias;
  out.program_entry = im.eh.e_entry + bias;
  out.entry = out.program_entry;
  out.phent = im.eh.e_phentsize;
  out.phnum = im.eh.e_phnum;
  out.brk = 0;
  for (const Elf64_Phdr* p : im.loads) out.brk = std::max(out.brk, p->p_vaddr + p->p_memsz + bias);
  // fs/binfmt_elf.c: start_code is the lowest executable segment, start_data the highest
  // segment's start; end_code/end_data the ends of their file images.
  out.start_code = ~uint64_t(0);
  for (const Elf64_Phdr* p : im.loads) {
    uint64_t k = p->p_vaddr + bias, e = k + p->p_filesz;
    if ((p->p_flags & PF_X) && k < out.start_code) out.start_code = k;
    if (k > out.start_data) out.start_data = k;
    if ((p->p_flags & PF_X) && e > out.end_code) out.end_code = e;
    if (e > out.end_data) out.end_data = e;
  }
  if (out.start_code == ~uint64_t(0)) out.start_code = 0;
  // AT_PHDR as Linux (since 5.18) computes it: e_phoff translated through the PT_LOAD whose
  // file bytes hold it, plus the bias; PT_PHDR is not trusted (fs/binfmt_elf.c, phdr_addr).
  uint64_t phdr = 0;
  for (const Elf64_Phdr* p : im.loads)
    if (p->p_offset <= im.eh.e_phoff && im.eh.e_phoff < p->p_offset + p->p_filesz) {
      phdr = im.eh.e_phoff - p->p_offset + p->p_vaddr;
      break;
    }
  out.phdr = phdr + bias;

  if (out.interp_path.empty()) {
    if (!as.is_mapped(out.entry, 1, PROT_EXEC)) throw im.fail("entry point is not in an executable segment");
    return out;
  }

  // The interpreter: anywhere in the mmap area (top-down, as Linux's load_elf_interp() maps it
  // with a NULL hint), or at its own addresses if it is ET_EXEC.
  Image in;
  try {
    open_image(in, sysroot_path(out.interp_path));
  } catch (const ElfError& e) {
    throw im.fail(fmt::format("cannot load its ELF interpreter {}: {}", out.interp_path,
                              std::string(e.what()).substr(in.path.size() + 2)));
  }
  uint64_t ibias = 0;
  if (in.eh.e_type == ET_DYN) {
    int64_t at = as.mmap(0, in.hi - in.lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (at < 0) throw in.fail("cannot map the ELF interpreter (not enough memory)");
    as.munmap(uint64_t(at), in.hi - in.lo);
    ibias = uint64_t(at) - in.lo;
  }
  map_segments(in, as, ibias);
  out.interp_base = in.lo + ibias;
  out.entry = in.eh.e_entry + ibias;
  if (!as.is_mapped(out.entry, 1, PROT_EXEC))
    throw in.fail("entry point is not in an executable segment");
  return out;
}

}  // namespace vireo
