// Guest memory in system mode: linear address -> (segment wrap, canonical check) -> softmmu ->
// RAM or MMIO. An access that crosses a page translates both pages before touching either, so
// a fault on the second page leaves memory unchanged (SDM Vol. 3, 4.7: no partial writes).
#include <fmt/format.h>

#include <cstring>

#include "interp/system/system_mode.h"

namespace vireo {

using softmmu::Access;

namespace {

// Outside 64-bit mode linear addresses wrap at 4 GiB; in 64-bit mode they must be canonical
// (SDM Vol. 1, 3.3.7.1), else #GP(0).
uint64_t fix_linear(Exec& x, uint64_t la) {
  if (!in_64bit_mode(*x.cpu)) return uint32_t(la);
  if (uint64_t(int64_t(la << 16) >> 16) != la) x.raise_gp(0);
  return la;
}

uint64_t translate(Exec& x, uint64_t la, Access a, bool user) {
  uint64_t pa;
  uint32_t err;
  if (!x.sys->mmu.translate(la, a, user, pa, err)) [[unlikely]]
    x.raise(VEC_PF, err, true, la, a == Access::Write);
  return pa;
}

void copy_phys(softmmu::Mmu& mmu, uint64_t pa, uint8_t* buf, unsigned n, bool write) {
  if (uint8_t* p = mmu.ram_ptr(pa, n)) {
    write ? std::memcpy(p, buf, n) : std::memcpy(buf, p, n);
    return;
  }
  // MMIO: natural sizes as one access, anything else byte by byte.
  if (n == 1 || n == 2 || n == 4 || n == 8) {
    uint64_t v = 0;
    if (write) {
      std::memcpy(&v, buf, n);
      mmu.write_phys(pa, n, v);
    } else {
      v = mmu.read_phys(pa, n);
      std::memcpy(buf, &v, n);
    }
    return;
  }
  for (unsigned i = 0; i < n; ++i) copy_phys(mmu, pa + i, buf + i, 1, write);
}

void access(Exec& x, uint64_t la, uint8_t* buf, unsigned size, Access a, bool user) {
  la = fix_linear(x, la);
  unsigned first = std::min<unsigned>(size, 4096 - unsigned(la & 4095));
  uint64_t pa0 = translate(x, la, a, user);
  uint64_t pa1 = first < size ? translate(x, fix_linear(x, (la | 4095) + 1), a, user) : 0;
  bool write = a == Access::Write;
  if (write) {  // (code translated from these bytes is dropped first: the JIT's SMC marks)
    x.sys->mmu.note_write(pa0, first);
    if (first < size) x.sys->mmu.note_write(pa1, size - first);
  }
  copy_phys(x.sys->mmu, pa0, buf, first, write);
  if (first < size) copy_phys(x.sys->mmu, pa1, buf + first, size - first, write);
}

uint8_t* bounce(Exec& x, uint64_t la, uint64_t len, bool write, bool user) {
  SystemMode& s = *x.sys;
  if (len > sizeof(SystemMode::Bounce::data) || s.bounces_used == SystemMode::kBounces)
    throw machine::MachineStop(fmt::format("a {}-byte operand at {:#x} on pages that are not physically contiguous "
                                           "(supported up to {} bytes, {} per instruction)",
                                           len, la, sizeof(SystemMode::Bounce::data), SystemMode::kBounces));
  SystemMode::Bounce& b = (*s.bounces)[s.bounces_used++];
  b.la = la;
  b.len = uint32_t(len);
  b.user = user;
  b.write = write;
  for (uint64_t done = 0; done < b.len;) {
    uint64_t at = fix_linear(x, la + done);
    unsigned n = unsigned(std::min<uint64_t>(b.len - done, 4096 - (at & 4095)));
    copy_phys(s.mmu, translate(x, at, write ? Access::Write : Access::Read, user), b.data + done, n, false);
    done += n;
  }
  return b.data;
}

}  // namespace

void Exec::sys_read(uint64_t la, void* dst, unsigned size) {
  access(*this, la, static_cast<uint8_t*>(dst), size, Access::Read, cpl(*cpu) == 3);
}

void Exec::sys_write(uint64_t la, const void* src, unsigned size) {
  uint8_t buf[64];
  std::memcpy(buf, src, size);
  access(*this, la, buf, size, Access::Write, cpl(*cpu) == 3);
}

// Bulk operands (SSE, x87, fxsave) get one host pointer: every page is translated first.
// Pages that are RAM and physically contiguous (always so with identity-mapped kernels) are
// used in place. Pages that are not contiguous (a user buffer across a page boundary) go
// through a bounce buffer (SystemMode::Bounce), written back when the instruction completes.
uint8_t* Exec::sys_host_ptr(uint64_t la, uint64_t len, bool write) {
  la = fix_linear(*this, la);
  Access a = write ? Access::Write : Access::Read;
  bool user = cpl(*cpu) == 3;
  uint64_t pa = translate(*this, la, a, user);
  bool contiguous = true;
  for (uint64_t page = (la | 4095) + 1; len && page < la + len; page += 4096)
    if (translate(*this, fix_linear(*this, page), a, user) != pa + (page - la)) contiguous = false;
  if (!contiguous) return bounce(*this, la, len, write, user);
  if (write) sys->mmu.note_write(pa, len ? len : 1);  // (the JIT's SMC marks)
  if (uint8_t* p = sys->mmu.ram_ptr(pa, len ? len : 1)) return p;
  // Outside RAM (an x87/SSE operand or an fxsave image on MMIO or unassigned addresses): the
  // operand goes through a bounce buffer, read byte by byte from the bus (unassigned reads
  // are all-ones, as QEMU's), so the instruction goes on. A write into it reaches no device:
  // dropped, as QEMU drops writes to unassigned memory.
  thread_local uint8_t bounce[4096];
  if (len > sizeof bounce)
    throw machine::MachineStop(fmt::format("a {}-byte operand at {:#x} outside RAM (supported up to {} bytes)",
                                           len, la, sizeof bounce));
  copy_phys(sys->mmu, pa, bounce, unsigned(len ? len : 1), false);
  return bounce;
}

void commit_bounces(Exec& x, SystemMode& s) {
  unsigned used = s.bounces_used;
  s.bounces_used = 0;
  for (unsigned i = 0; i < used; ++i) {
    SystemMode::Bounce& b = (*s.bounces)[i];
    if (!b.write) continue;
    for (uint64_t done = 0; done < b.len;) {
      uint64_t at = fix_linear(x, b.la + done);
      unsigned n = unsigned(std::min<uint64_t>(b.len - done, 4096 - (at & 4095)));
      const uint64_t pa = translate(x, at, Access::Write, b.user);
      s.mmu.note_write(pa, n);  // (code translated from these bytes is dropped first)
      copy_phys(s.mmu, pa, b.data + done, n, true);
      done += n;
    }
  }
}

void read_linear(Exec& x, uint64_t la, void* dst, unsigned size, bool user) {
  access(x, la, static_cast<uint8_t*>(dst), size, Access::Read, user);
}

void write_linear(Exec& x, uint64_t la, const void* src, unsigned size, bool user) {
  uint8_t buf[64];
  std::memcpy(buf, src, size);
  access(x, la, buf, size, Access::Write, user);
}

uint64_t read_sys(Exec& x, uint64_t la, unsigned size) {
  uint64_t v = 0;
  read_linear(x, la, &v, size, false);
  return v;
}

void write_sys(Exec& x, uint64_t la, unsigned size, uint64_t v) { write_linear(x, la, &v, size, false); }

}  // namespace vireo
