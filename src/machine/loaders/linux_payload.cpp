#include "machine/loaders/linux_payload.h"

#include <lzma.h>
#include <sys/mman.h>
#include <zlib.h>

#include <cstring>
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
  uint32_t off, len;
  std::memcpy(&off, f.data() + kPayloadOffset, 4);
  std::memcpy(&len, f.data() + kPayloadLength, 4);
  if (len == 0) return p;
  if (setup_size + off + len > f.size())
    fail(path, fmt::format("truncated bzImage: the compressed kernel runs {} bytes past the end of the file",
                           setup_size + off + len - f.size()));
  const uint8_t* in = f.data() + setup_size + off;
  static const uint8_t xz_magic[6] = {0xFD, '7', 'z', 'X', 'Z', 0};
  if (len >= 6 && std::memcmp(in, xz_magic, 6) == 0) {
    p.format = PayloadFormat::Xz;
    p.vmlinux = unxz(path, in, len);
  } else if (len >= 2 && in[0] == 0x1F && in[1] == 0x8B) {
    p.format = PayloadFormat::Gzip;
    p.vmlinux = gunzip(path, in, len);
  }
  return p;
}

}  // namespace vireo::machine
