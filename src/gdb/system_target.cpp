#include "gdb/system_target.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace vireo::gdb {

namespace {

constexpr int64_t kCpuThread = 1;  // gdb's thread id of the one CPU
constexpr uint64_t kPresent = 1, kLarge = 1u << 7;
constexpr uint64_t kCr0Pg = 1ull << 31, kCr4Pse = 1u << 4, kCr4Pae = 1u << 5, kEferLma = 1u << 10;

}  // namespace

// SDM Vol. 3, 4.3 (32-bit), 4.4 (PAE) and 4.5 (4-level): a read-only walk.
std::optional<uint64_t> SystemTarget::translate(const CpuState& c, const uint8_t* ram, uint64_t size, uint64_t va) {
  if (!(c.cr0 & kCr0Pg)) return va & 0xFFFFFFFF;
  auto entry = [&](uint64_t pa, bool wide) -> std::optional<uint64_t> {
    if (pa + (wide ? 8 : 4) > size) return std::nullopt;
    uint64_t e = 0;
    std::memcpy(&e, ram + pa, wide ? 8 : 4);
    if (!(e & kPresent)) return std::nullopt;
    return e;
  };
  if (!(c.cr4 & kCr4Pae)) {  // 32-bit paging: 4 KiB pages, or 4 MiB with CR4.PSE
    auto pde = entry((c.cr3 & 0xFFFFF000) + ((va >> 22) & 0x3FF) * 4, false);
    if (!pde) return std::nullopt;
    if ((*pde & kLarge) && (c.cr4 & kCr4Pse)) return (*pde & 0xFFC00000) | (va & 0x3FFFFF);
    auto pte = entry((*pde & 0xFFFFF000) + ((va >> 12) & 0x3FF) * 4, false);
    if (!pte) return std::nullopt;
    return (*pte & 0xFFFFF000) | (va & 0xFFF);
  }
  constexpr uint64_t kAddr = 0x000FFFFFFFFFF000ull;
  const bool long_mode = c.efer & kEferLma;
  uint64_t table;
  int level;
  if (long_mode) {
    table = c.cr3 & kAddr;
    level = 4;
  } else {  // PAE: CR3 names four PDPTEs
    auto pdpte = entry((c.cr3 & 0xFFFFFFE0) + ((va >> 30) & 3) * 8, true);
    if (!pdpte) return std::nullopt;
    table = *pdpte & kAddr;
    level = 2;
  }
  for (; level >= 1; --level) {
    unsigned shift = 12 + 9 * unsigned(level - 1);
    auto e = entry(table + ((va >> shift) & 0x1FF) * 8, true);
    if (!e) return std::nullopt;
    if (level == 1 || (level <= 3 && (*e & kLarge))) {
      uint64_t mask = (uint64_t(1) << shift) - 1;
      return (*e & kAddr & ~mask) | (va & mask);
    }
    table = *e & kAddr;
  }
  return std::nullopt;
}

size_t SystemTarget::transfer(uint64_t addr, uint8_t* buf, size_t len, bool write) {
  CpuState* c = gate_.cpu(kCpuThread);
  if (!c) return 0;
  size_t done = 0;
  while (done < len) {
    uint64_t va = addr + done;
    auto pa = translate(*c, ram_, ram_size_, va);
    size_t chunk = std::min<uint64_t>(len - done, 4096 - (va & 4095));
    if (!pa || *pa + chunk > ram_size_ || *pa + chunk < *pa) break;
    if (write) std::memcpy(ram_ + *pa, buf + done, chunk);
    else std::memcpy(buf + done, ram_ + *pa, chunk);
    done += chunk;
  }
  return done;
}

size_t SystemTarget::read_memory(int64_t, uint64_t addr, uint8_t* out, size_t len) {
  return transfer(addr, out, len, false);
}

size_t SystemTarget::write_memory(int64_t, uint64_t addr, const uint8_t* in, size_t len) {
  size_t n = transfer(addr, const_cast<uint8_t*>(in), len, true);
  if (n) gate_.invalidate_code(addr, n);
  return n;
}

void SystemTarget::kill() {
  std::fflush(nullptr);
  ::kill(::getpid(), SIGKILL);
  _exit(128 + SIGKILL);
}

SystemDebugger::SystemDebugger(StubOptions opts, bool stop_at_start)
    : target_(gate_), stub_(target_, gate_, std::move(opts)) {
  if (stop_at_start) gate_.start_stopped();
  stub_.start();
}

void SystemDebugger::power_on(Engine& engine, CpuState& cpu, uint8_t* ram, uint64_t ram_size) {
  target_.set_ram(ram, ram_size);
  gate_.join(kCpuThread, &cpu, &engine);
}

void SystemDebugger::power_off() { gate_.leave(kCpuThread, true); }

void SystemDebugger::before_run(CpuState&) { gate_.checkpoint(kCpuThread); }
void SystemDebugger::debug_stop(CpuState&) { gate_.report_debug(kCpuThread); }

void SystemDebugger::machine_exit(int status) {
  StopEvent ev;
  ev.kind = StopEvent::Kind::Exited;
  ev.exit_status = status;
  gate_.process_exit(ev);
}

}  // namespace vireo::gdb
