#include "machine/loaders/linux_payload.h"

#include <lzma.h>
#include <sys/mman.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "machine/loaders/boot_common.h"

namespace vireo::machine {

namespace {

constexpr size_t kPayloadOffset = 0x248, kPayloadLength = 0x24C;
// The kernel's image is tens of MiB; a payload claiming more than this is corrupt.
constexpr uint64_t kMaxVmlinux = 1ull << 30;

// The size the kernel build appends after the compressed stream (arch/x86/boot/compressed
// Makefile: the payload ends with the vmlinux size, le32). Only a first guess for the output
// buffer: the decoders grow it if the file lies, and the ELF loader checks what it got.
size_t first_guess(const uint8_t* in, size_t n) {
  uint32_t size = 0;
  if (n >= 4) std::memcpy(&size, in + n - 4, 4);
  return size >= (1u << 20) && size <= kMaxVmlinux ? size_t(size) + 4096 : size_t(64) << 20;
}

UnpackedImage unxz(const std::string& path, const uint8_t* in, size_t n) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, kMaxVmlinux, 0) != LZMA_OK) fail(path, "cannot start the XZ decoder");
  UnpackedImage out;
  out.reserve(first_guess(in, n));
  s.next_in = in;
  s.avail_in = n;
  lzma_ret r;
  for (;;) {
    s.next_out = out.data() + s.total_out;
    s.avail_out = out.capacity() - s.total_out;
    // The stream is followed by the 4-byte uncompressed size the kernel build appends; the
    // decoder stops at the end of the stream (no LZMA_CONCATENATED) and leaves it alone.
    r = lzma_code(&s, LZMA_FINISH);
    if (r == LZMA_OK && s.avail_out == 0 && out.capacity() < kMaxVmlinux) {
      out.set_size(s.total_out);
      out.reserve(out.capacity() * 2);
      continue;
    }
    break;
  }
  size_t got = s.total_out;
  lzma_end(&s);
  if (r != LZMA_STREAM_END)
    fail(path, fmt::format("the kernel's XZ payload is corrupt or truncated (liblzma error {})", int(r)));
  out.set_size(got);
  return out;
}

UnpackedImage gunzip(const std::string& path, const uint8_t* in, size_t n) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) fail(path, "cannot start the gzip decoder");
  UnpackedImage out;
  out.reserve(first_guess(in, n));
  s.next_in = const_cast<uint8_t*>(in);
  s.avail_in = uInt(n);
  int r;
  for (;;) {
    s.next_out = out.data() + s.total_out;
    s.avail_out = uInt(out.capacity() - s.total_out);
    r = inflate(&s, Z_FINISH);
    if ((r == Z_BUF_ERROR || r == Z_OK) && s.avail_out == 0 && out.capacity() < kMaxVmlinux) {
      out.set_size(s.total_out);
      out.reserve(out.capacity() * 2);
      continue;
    }
    break;
  }
  size_t got = s.total_out;
  inflateEnd(&s);
  if (r != Z_STREAM_END) fail(path, fmt::format("the kernel's gzip payload is corrupt or truncated (zlib error {})", r));
  out.set_size(got);
  return out;
}

// The payload decoded front to back, in pieces (unpack_linux_kernel).
class PayloadStream {
 public:
  virtual ~PayloadStream() = default;
  // Decodes the next n bytes into out; false when the stream ends first.
  virtual bool read(uint8_t* out, size_t n) = 0;
  // Decodes n bytes and drops them (the padding between segments).
  bool skip(size_t n) {
    while (n) {
      const size_t k = std::min(n, sizeof scratch_);
      if (!read(scratch_, k)) return false;
      n -= k;
    }
    return true;
  }
  // Decodes and drops the rest, to the end of the stream (its integrity check included).
  virtual void finish() = 0;

 protected:
  uint8_t scratch_[64 << 10];
};

class XzStream final : public PayloadStream {
 public:
  XzStream(const std::string& path, const uint8_t* in, size_t n) : path_(path) {
    if (lzma_stream_decoder(&s_, kMaxVmlinux, 0) != LZMA_OK) fail(path, "cannot start the XZ decoder");
    s_.next_in = in;
    s_.avail_in = n;
  }
  ~XzStream() override { lzma_end(&s_); }
  bool read(uint8_t* out, size_t n) override {
    s_.next_out = out;
    s_.avail_out = n;
    while (s_.avail_out && !ended_) {
      // (the stream is followed by the 4-byte size the kernel build appends: no
      // LZMA_CONCATENATED, the decoder stops at the end of the stream)
      const lzma_ret r = lzma_code(&s_, LZMA_FINISH);
      if (r == LZMA_STREAM_END) ended_ = true;
      else if (r != LZMA_OK) corrupt(int(r));
    }
    return s_.avail_out == 0;
  }
  void finish() override {
    while (!ended_) read(scratch_, sizeof scratch_);
  }

 private:
  [[noreturn]] void corrupt(int r) {
    fail(path_, fmt::format("the kernel's XZ payload is corrupt or truncated (liblzma error {})", r));
  }
  const std::string& path_;
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool ended_ = false;
};

class GzipStream final : public PayloadStream {
 public:
  GzipStream(const std::string& path, const uint8_t* in, size_t n) : path_(path) {
    if (inflateInit2(&s_, 16 + MAX_WBITS) != Z_OK) fail(path, "cannot start the gzip decoder");
    s_.next_in = const_cast<uint8_t*>(in);
    s_.avail_in = uInt(n);
  }
  ~GzipStream() override { inflateEnd(&s_); }
  bool read(uint8_t* out, size_t n) override {
    while (n && !ended_) {
      const uInt k = uInt(std::min<size_t>(n, 1u << 30));
      s_.next_out = out;
      s_.avail_out = k;
      while (s_.avail_out && !ended_) {
        const int r = inflate(&s_, Z_NO_FLUSH);
        if (r == Z_STREAM_END) ended_ = true;
        else if (r != Z_OK) corrupt(r);  // (Z_BUF_ERROR with room left: the input ran out)
      }
      out += k - s_.avail_out;
      n -= k - s_.avail_out;
    }
    return n == 0;
  }
  void finish() override {
    while (!ended_) read(scratch_, sizeof scratch_);
  }

 private:
  [[noreturn]] void corrupt(int r) {
    fail(path_, fmt::format("the kernel's gzip payload is corrupt or truncated (zlib error {})", r));
  }
  const std::string& path_;
  z_stream s_{};
  bool ended_ = false;
};

// The payload's bytes in the bzImage and its format from the magic bytes (Other: neither).
PayloadFormat payload_of(const std::string& path, const std::vector<uint8_t>& f, uint64_t setup_size,
                         const uint8_t*& in, uint32_t& len) {
  uint32_t off;
  std::memcpy(&off, f.data() + kPayloadOffset, 4);
  std::memcpy(&len, f.data() + kPayloadLength, 4);
  if (len == 0) return PayloadFormat::Other;
  if (setup_size + off + len > f.size())
    fail(path, fmt::format("truncated bzImage: the compressed kernel runs {} bytes past the end of the file",
                           setup_size + off + len - f.size()));
  in = f.data() + setup_size + off;
  static const uint8_t xz_magic[6] = {0xFD, '7', 'z', 'X', 'Z', 0};
  if (len >= 6 && std::memcmp(in, xz_magic, 6) == 0) return PayloadFormat::Xz;
  if (len >= 2 && in[0] == 0x1F && in[1] == 0x8B) return PayloadFormat::Gzip;
  return PayloadFormat::Other;
}

std::unique_ptr<PayloadStream> open_stream(const std::string& path, PayloadFormat format, const uint8_t* in, size_t n) {
  if (format == PayloadFormat::Xz) return std::make_unique<XzStream>(path, in, n);
  return std::make_unique<GzipStream>(path, in, n);
}

}  // namespace

UnpackedImage::~UnpackedImage() {
  if (p_) munmap(p_, cap_);
}

void UnpackedImage::reserve(size_t cap) {
  if (cap <= cap_) return;
  void* p = p_ ? mremap(p_, cap_, cap, MREMAP_MAYMOVE)
               : mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(fmt::format("cannot allocate {} MiB to unpack the kernel", cap >> 20));
  p_ = static_cast<uint8_t*>(p);
  cap_ = cap;
  madvise(p_, cap_, MADV_HUGEPAGE);  // one host fault per 2 MiB while the decoder fills it
}

LinuxPayload unpack_linux_payload(const std::string& path, const std::vector<uint8_t>& f, uint64_t setup_size) {
  LinuxPayload p;
  const uint8_t* in = nullptr;
  uint32_t len = 0;
  p.format = payload_of(path, f, setup_size, in, len);
  if (p.format == PayloadFormat::Xz) p.vmlinux = unxz(path, in, len);
  else if (p.format == PayloadFormat::Gzip) p.vmlinux = gunzip(path, in, len);
  return p;
}

UnpackedKernel unpack_linux_kernel(const std::string& path, const std::vector<uint8_t>& f, uint64_t setup_size,
                                   GuestRam& ram) {
  static constexpr const char* what = "the unpacked vmlinux";
  UnpackedKernel k;
  const uint8_t* in = nullptr;
  uint32_t len = 0;
  k.format = payload_of(path, f, setup_size, in, len);
  if (k.format == PayloadFormat::Other) return k;
  std::unique_ptr<PayloadStream> s = open_stream(path, k.format, in, len);
  // The ELF header, then everything up to the end of the program headers.
  std::vector<uint8_t> head(sizeof(Elf64_Ehdr));
  if (!s->read(head.data(), head.size()) || std::memcmp(head.data(), ELFMAG, SELFMAG) != 0 ||
      head[EI_CLASS] != ELFCLASS64)
    fail(path, fmt::format("{} is not an ELF64 file", what));
  const auto eh = get<Elf64_Ehdr>(head.data(), 0);
  const uint64_t ph_end = eh.e_phoff + uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr);
  // (the program headers follow the ELF header in any vmlinux: a table said to lie megabytes
  // on is corrupt, and is not decoded into a buffer that size)
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff < head.size() || ph_end > (uint64_t(1) << 20))
    fail(path, fmt::format("{} has a corrupt program header table", what));
  head.resize(ph_end);
  if (!s->read(head.data() + sizeof(Elf64_Ehdr), ph_end - sizeof(Elf64_Ehdr)))
    fail(path, fmt::format("{} has a corrupt program header table", what));
  std::vector<Elf64_Phdr> loads;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = get<Elf64_Phdr>(head.data(), eh.e_phoff + uint64_t(i) * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz || ph.p_offset > kMaxVmlinux || ph.p_filesz > kMaxVmlinux)
      fail(path, fmt::format("{} has a corrupt segment {} (beyond the end of the file)", what, i));
    if (!ram.at(ph.p_paddr, ph.p_memsz))
      fail(path, fmt::format("the kernel ({:#x}-{:#x}) does not fit in {} MiB of guest RAM (try -m 128M)", ph.p_paddr,
                             ph.p_paddr + ph.p_memsz, ram.size() >> 20));
    loads.push_back(ph);
  }
  std::vector<Elf64_Phdr> order = loads;
  std::sort(order.begin(), order.end(), [](const Elf64_Phdr& a, const Elf64_Phdr& b) { return a.p_offset < b.p_offset; });
  uint64_t pos = ph_end;
  bool in_order = true;
  for (const Elf64_Phdr& ph : order) {
    in_order = in_order && ph.p_offset >= pos;
    pos = std::max(pos, ph.p_offset + ph.p_filesz);
  }
  if (!in_order) {  // (segments sharing file bytes, or holding the headers: not a Linux vmlinux)
    LinuxPayload p = unpack_linux_payload(path, f, setup_size);
    k.entry = load_elf64_physical(path, what, p.vmlinux.bytes(), ram, k.end);
    k.loaded = true;
    return k;
  }
  pos = ph_end;
  for (const Elf64_Phdr& ph : order) {
    uint8_t* dst = ram.at(ph.p_paddr, ph.p_memsz);
    if (!s->skip(ph.p_offset - pos) || !s->read(dst, ph.p_filesz))
      fail(path, fmt::format("{} has a corrupt segment (beyond the end of the file)", what));
    std::memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    pos = ph.p_offset + ph.p_filesz;
    k.end = std::max(k.end, ph.p_paddr + ph.p_memsz);
  }
  s->finish();
  k.entry = elf64_physical_entry(eh.e_entry, loads);
  if (k.end == 0 || k.entry == 0) fail(path, fmt::format("{} has no loadable segment holding its entry point", what));
  k.loaded = true;
  return k;
}

}  // namespace vireo::machine
