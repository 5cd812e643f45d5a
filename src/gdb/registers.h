// The x86-64 registers gdb sees: the target description (qXfer:features:read target.xml) and
// the g/G/p/P encodings, generated from one table (registers.cpp) so that they cannot
// disagree. User mode adds org.gnu.gdb.i386.linux (orig_rax) and the GNU/Linux OS ABI (gdb's
// $_siginfo and signal-frame unwinding need it); system mode adds the control registers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/cpu_state.h"

namespace vireo::gdb {

class RegisterMap {
 public:
  explicit RegisterMap(bool system_mode);
  size_t count() const;
  std::string target_xml() const;
  // Little-endian bytes of register n (false: no such register).
  bool read(const CpuState& c, size_t n, std::string& bytes) const;
  bool write(CpuState& c, size_t n, const uint8_t* bytes, size_t len) const;
  // All registers in order (the g packet), and back (G: false if the size is wrong).
  std::string read_all(const CpuState& c) const;
  bool write_all(CpuState& c, const std::vector<uint8_t>& bytes) const;

 private:
  bool system_;
};

}  // namespace vireo::gdb
