// Unit tests of the gdb stub's parts: packet framing, the register map and target
// description, and the engines' side of the debug interface (cpu/debug_target.h) — a
// breakpoint stops before its instruction, a single-step after one, watchpoints after the
// accessing instruction — under interp and jit alike.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gdb/packet_io.h"
#include "gdb/registers.h"
#include "gdb/stub.h"
#include "interp/interpreter.h"
#include "jit/jit_engine.h"
#include "mem/address_space.h"

namespace vireo::gdb {
namespace {

struct SocketPair {
  int fd[2];
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~SocketPair() {
    ::close(fd[0]);
    if (fd[1] >= 0) ::close(fd[1]);
  }
  void put(const std::string& s) { ASSERT_EQ(::write(fd[1], s.data(), s.size()), ssize_t(s.size())); }
  std::string get() {
    char buf[256];
    ssize_t n = ::read(fd[1], buf, sizeof buf);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
  }
};

std::string framed(const std::string& body) {
  unsigned sum = 0;
  for (unsigned char c : body) sum += c;
  char cs[3];
  std::snprintf(cs, sizeof cs, "%02x", sum & 0xFF);
  return "$" + body + "#" + cs;
}

TEST(GdbPacket, ReadsAcksAndUnescapes) {
  SocketPair s;
  PacketIo io(s.fd[0]);
  s.put("+junk$X1,2:}]#00");  // (bad checksum first: NAKed)
  s.put(framed("m10,4"));
  auto in = io.read();
  EXPECT_EQ(s.get(), "-+");
  ASSERT_EQ(in.kind, PacketIo::Kind::Packet);
  EXPECT_EQ(in.payload, "m10,4");
  // '}' escapes the next byte (xor 0x20): "}]" is '}'.
  s.put(framed("X1,1:}]"));
  in = io.read();
  EXPECT_EQ(s.get(), "+");
  ASSERT_EQ(in.kind, PacketIo::Kind::Packet);
  EXPECT_EQ(in.payload, "X1,1:}");
  s.put("\x03");
  EXPECT_EQ(io.read().kind, PacketIo::Kind::Interrupt);
  ::close(s.fd[1]);
  s.fd[1] = -1;
  EXPECT_EQ(io.read().kind, PacketIo::Kind::Closed);
}

TEST(GdbPacket, SendsWithChecksumAndEscapes) {
  SocketPair s;
  PacketIo io(s.fd[0]);
  io.set_no_ack();
  ASSERT_TRUE(io.send("OK"));
  EXPECT_EQ(s.get(), "$OK#9a");
  ASSERT_TRUE(io.send("a#b"));
  EXPECT_EQ(s.get(), "$a}\x03" "b#" + [] {
    unsigned sum = 'a' + '}' + 0x03 + 'b';
    char cs[3];
    std::snprintf(cs, sizeof cs, "%02x", sum & 0xFF);
    return std::string(cs);
  }());
}

TEST(GdbPacket, HexHelpers) {
  std::vector<uint8_t> b;
  EXPECT_TRUE(from_hex("00ff7A", b));
  EXPECT_EQ(b, (std::vector<uint8_t>{0x00, 0xFF, 0x7A}));
  EXPECT_EQ(to_hex(b.data(), b.size()), "00ff7a");
  EXPECT_FALSE(from_hex("0", b));
  EXPECT_FALSE(from_hex("zz", b));
  EXPECT_EQ(parse_hex("401000"), 0x401000u);
  EXPECT_FALSE(parse_hex(""));
  EXPECT_FALSE(parse_hex("12345678901234567"));  // more than 64 bits
}

TEST(GdbSignals, LinuxAndGdbNumbers) {
  EXPECT_EQ(to_gdb_signal(11), 11);  // SIGSEGV
  EXPECT_EQ(to_gdb_signal(10), 30);  // SIGUSR1
  EXPECT_EQ(to_gdb_signal(7), 10);   // SIGBUS
  EXPECT_EQ(to_gdb_signal(17), 20);  // SIGCHLD
  for (int s = 1; s <= 64; ++s)
    if (s != 16) EXPECT_EQ(from_gdb_signal(to_gdb_signal(s)), s) << s;  // (SIGSTKFLT has none)
}

// qXfer:threads:read: a thread name is any bytes but NUL; the XML gdb parses must stay valid.
TEST(GdbThreads, NameAsXmlAttribute) {
  EXPECT_EQ(xml_attribute("worker-1"), "worker-1");
  EXPECT_EQ(xml_attribute("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xml_attribute("tab\there\n"), "tab?here?");
  EXPECT_EQ(xml_attribute("w\xc3\xb6rker"), "w\xc3\xb6rker");     // UTF-8 as is
  EXPECT_EQ(xml_attribute("w\xf6rker"), "w&#xf6;rker");            // not UTF-8: Latin-1
  EXPECT_EQ(xml_attribute("cut\xc3"), "cut&#xc3;");                // a truncated sequence
}

TEST(GdbRegisters, LayoutAndRoundTrip) {
  RegisterMap user(false), sys(true);
  std::string xml = user.target_xml();
  EXPECT_NE(xml.find("<osabi>GNU/Linux</osabi>"), std::string::npos);
  EXPECT_NE(xml.find("name=\"orig_rax\""), std::string::npos);
  EXPECT_EQ(xml.find("name=\"cr3\""), std::string::npos);
  EXPECT_NE(sys.target_xml().find("name=\"cr3\""), std::string::npos);
  CpuState c{};
  reset_user_state(c);
  for (int i = 0; i < 16; ++i) c.gpr[i] = 0x1111111111111111ull * uint64_t(i);
  c.rip = 0x401000;
  c.xmm[3].u64[0] = 0xDEADBEEF;
  std::string bytes;
  ASSERT_TRUE(user.read(c, 1, bytes));  // gdb's register 1 is rbx
  uint64_t v;
  std::memcpy(&v, bytes.data(), 8);
  EXPECT_EQ(v, c.gpr[RBX]);
  ASSERT_TRUE(user.read(c, 16, bytes));
  std::memcpy(&v, bytes.data(), 8);
  EXPECT_EQ(v, 0x401000u);
  std::string all = user.read_all(c);
  CpuState d{};
  ASSERT_TRUE(user.write_all(d, std::vector<uint8_t>(all.begin(), all.end())));
  EXPECT_EQ(std::memcmp(d.gpr, c.gpr, sizeof c.gpr), 0);
  EXPECT_EQ(d.rip, c.rip);
  EXPECT_EQ(d.xmm[3].u64[0], 0xDEADBEEFu);
  EXPECT_EQ(d.mxcsr, c.mxcsr);
  EXPECT_EQ(d.x87.fcw, c.x87.fcw);
  EXPECT_FALSE(user.write_all(d, std::vector<uint8_t>(3)));
  EXPECT_FALSE(user.read(c, 999, bytes));
}

// A guest page of code and a page of data, run under interp or jit with debug controls.
class EngineDebug : public ::testing::TestWithParam<const char*> {
 protected:
  static constexpr uint64_t kCode = 0x10000, kData = 0x20000;
  void SetUp() override {
    as_.mmap(kCode, 0x1000, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    as_.mmap(kData, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    reset_user_state(cpu_);
    cpu_.gpr[RSP] = kData + 0x800;
    if (std::string(GetParam()) == "interp") engine_ = std::make_unique<Interpreter>(as_.memory());
    else engine_ = std::make_unique<jit::JitEngine>(as_.memory(), jit::JitOptions{});
    ctl_.read_memory = [this](uint64_t a, void* out, uint64_t n) {
      if (!as_.contains(a, n)) return false;
      std::memcpy(out, as_.host(a), n);
      return true;
    };
  }
  void load(const std::vector<uint8_t>& code) {
    ::mprotect(as_.host(kCode), 0x1000, PROT_READ | PROT_WRITE);
    std::memcpy(as_.host(kCode), code.data(), code.size());
    ::mprotect(as_.host(kCode), 0x1000, PROT_READ | PROT_EXEC);
    cpu_.rip = kCode;
  }
  StopReason run() {
    EXPECT_TRUE(engine_->set_debug(&ctl_));
    return engine_->run(cpu_);
  }
  AddressSpace as_;
  CpuState cpu_{};
  std::unique_ptr<Engine> engine_;
  DebugControls ctl_;
};

// mov ecx, 5 / loop: add eax, 1 / dec ecx / jnz loop / mov [kData], eax / mov ebx, [kData] / syscall
std::vector<uint8_t> loop_code() {
  return {0xB9, 0x05, 0x00, 0x00, 0x00,        // 0: mov ecx, 5
          0x83, 0xC0, 0x01,                    // 5: add eax, 1
          0xFF, 0xC9,                          // 8: dec ecx
          0x75, 0xF9,                          // a: jnz 5
          0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00,  // c: mov [0x20000], eax
          0x8B, 0x1C, 0x25, 0x00, 0x00, 0x02, 0x00,  // 13: mov ebx, [0x20000]
          0x0F, 0x05};                         // 1a: syscall
}

TEST_P(EngineDebug, BreakpointStopsBeforeItsInstructionEachTime) {
  load(loop_code());
  ctl_.breakpoints = {kCode + 8};  // inside the loop body, mid-block
  for (int i = 1; i <= 5; ++i) {
    ASSERT_EQ(run(), StopReason::Debug) << i;
    EXPECT_EQ(ctl_.event, DebugControls::Event::Breakpoint);
    EXPECT_EQ(cpu_.rip, kCode + 8);
    EXPECT_EQ(cpu_.gpr[RAX], uint64_t(i));  // the add before it ran, the dec not yet
    // Step over it as gdb does: without the breakpoint, one instruction.
    ctl_.breakpoints.clear();
    ctl_.single_step = true;
    ASSERT_EQ(run(), StopReason::Debug);
    EXPECT_EQ(ctl_.event, DebugControls::Event::Step);
    EXPECT_EQ(cpu_.rip, kCode + 10);
    ctl_.single_step = false;
    ctl_.breakpoints = {kCode + 8};
  }
  EXPECT_EQ(run(), StopReason::Syscall);
  EXPECT_EQ(cpu_.gpr[RBX], 5u);
}

TEST_P(EngineDebug, WatchpointsStopAfterTheAccess) {
  load(loop_code());
  ctl_.watchpoints = {{kData, 4, WatchKind::Write}};
  ASSERT_EQ(run(), StopReason::Debug);
  EXPECT_EQ(ctl_.event, DebugControls::Event::Watch);
  EXPECT_EQ(ctl_.hit.addr, kData);
  EXPECT_EQ(cpu_.rip, kCode + 0x13);  // after the store
  uint32_t v;
  std::memcpy(&v, as_.host(kData), 4);
  EXPECT_EQ(v, 5u);
  ctl_.watchpoints = {{kData, 4, WatchKind::Read}};
  ASSERT_EQ(run(), StopReason::Debug);
  EXPECT_EQ(ctl_.hit.kind, WatchKind::Read);
  EXPECT_EQ(cpu_.rip, kCode + 0x1a);  // after the load
  EXPECT_EQ(cpu_.gpr[RBX], 5u);
  ctl_.watchpoints.clear();
  EXPECT_EQ(run(), StopReason::Syscall);
}

TEST_P(EngineDebug, NoControlsNoStops) {
  load(loop_code());
  EXPECT_TRUE(engine_->set_debug(nullptr));
  EXPECT_EQ(engine_->run(cpu_), StopReason::Syscall);
  EXPECT_EQ(cpu_.gpr[RBX], 5u);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineDebug, ::testing::Values("interp", "jit"));

// The jit watches by page protection: the loop runs translated, the store to the watched page
// faults and runs in the interpreter, which reports it; the protection goes with the watch.
TEST(JitWatch, ProtectedPageTrapsOnlyItsAccesses) {
  AddressSpace as;
  constexpr uint64_t kCode = 0x10000, kData = 0x20000;
  as.mmap(kCode, 0x1000, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  as.mmap(kData, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ::mprotect(as.host(kCode), 0x1000, PROT_READ | PROT_WRITE);
  std::vector<uint8_t> code = loop_code();
  std::memcpy(as.host(kCode), code.data(), code.size());
  ::mprotect(as.host(kCode), 0x1000, PROT_READ | PROT_EXEC);
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.rip = kCode;
  cpu.gpr[RSP] = kData + 0x800;
  jit::JitEngine jit(as.memory(), jit::JitOptions{});
  DebugControls ctl;
  ctl.read_memory = [&](uint64_t a, void* out, uint64_t n) {
    std::FILE* f = std::fopen("/proc/self/mem", "rb");  // (reads a PROT_NONE page, as gdb's does)
    bool ok = f && ::pread(fileno(f), out, n, off_t(uintptr_t(as.host(a)))) == ssize_t(n);
    if (f) std::fclose(f);
    return ok;
  };
  ctl.watchpoints = {{kData, 4, WatchKind::Access}};
  ASSERT_TRUE(jit.set_debug(&ctl));
  // The page is PROT_NONE on the host now (an access watch), though the guest may read it.
  EXPECT_EQ(as.prot_at(kData), PROT_READ | PROT_WRITE);
  ASSERT_EQ(jit.run(cpu), StopReason::Debug);
  EXPECT_EQ(ctl.event, DebugControls::Event::Watch);
  EXPECT_EQ(cpu.rip, kCode + 0x13);  // after the store
  EXPECT_EQ(jit.stats().watch_faults, 1u);
  EXPECT_GE(jit.stats().translated_insns, 10u);  // the loop ran translated
  ctl.watchpoints.clear();
  ASSERT_TRUE(jit.set_debug(&ctl));
  EXPECT_EQ(jit.run(cpu), StopReason::Syscall);
  EXPECT_EQ(cpu.gpr[RBX], 5u);
  EXPECT_EQ(jit.stats().watch_faults, 1u);  // (the load ran unwatched, the page readable again)
  jit.set_debug(nullptr);
}

// A read watch on a page the guest executes: the page is protected like any other. Code on
// other pages runs translated; each instruction fetched from the watched page runs alone in the
// interpreter (its fetch faults, step_watched lifts the page for it), and the interpreter's
// check sees the read. (Before, such a set ran the whole guest in the interpreter.)
TEST(JitWatch, ReadWatchOnCodeInterpretsOnlyThatPage) {
  AddressSpace as;
  constexpr uint64_t kCode = 0x10000, kCode2 = 0x11000, kData = 0x20000;
  as.mmap(kCode, 0x2000, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  as.mmap(kData, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  const std::vector<uint8_t> code = {
      0xB9, 0xE8, 0x03, 0x00, 0x00,  // 0: mov ecx, 1000
      0x83, 0xC0, 0x01,              // 5: add eax, 1
      0xFF, 0xC9,                    // 8: dec ecx
      0x75, 0xF9,                    // a: jnz 5
      0xBA, 0x00, 0x10, 0x01, 0x00,  // c: mov edx, kCode2
      0xFF, 0xD2,                    // 11: call rdx
      0x0F, 0x05};                   // 13: syscall
  const std::vector<uint8_t> code2 = {
      0x8B, 0x1C, 0x25, 0x00, 0x11, 0x01, 0x00,  // 0: mov ebx, [kCode2 + 0x100]
      0xC3};                                     // 7: ret
  const uint32_t value = 42;
  ::mprotect(as.host(kCode), 0x2000, PROT_READ | PROT_WRITE);
  std::memcpy(as.host(kCode), code.data(), code.size());
  std::memcpy(as.host(kCode2), code2.data(), code2.size());
  std::memcpy(as.host(kCode2 + 0x100), &value, 4);
  ::mprotect(as.host(kCode), 0x2000, PROT_READ | PROT_EXEC);
  CpuState cpu{};
  reset_user_state(cpu);
  cpu.rip = kCode;
  cpu.gpr[RSP] = kData + 0x800;
  jit::JitEngine jit(as.memory(), jit::JitOptions{});
  DebugControls ctl;
  ctl.read_memory = [&](uint64_t a, void* out, uint64_t n) {
    std::memcpy(out, as.host(a), n);
    return true;
  };
  ctl.watchpoints = {{kCode2 + 0x100, 4, WatchKind::Read}};
  ASSERT_TRUE(jit.set_debug(&ctl));
  ASSERT_EQ(jit.run(cpu), StopReason::Debug);  // (the load, run by the interpreter)
  EXPECT_EQ(ctl.event, DebugControls::Event::Watch);
  EXPECT_EQ(ctl.hit.addr, kCode2 + 0x100);
  EXPECT_EQ(cpu.rip, kCode2 + 7);  // after the load
  EXPECT_EQ(cpu.gpr[RBX], 42u);
  EXPECT_GE(jit.stats().translated_insns, 900u);  // the loop ran translated
  EXPECT_GE(jit.stats().watch_faults, 1u);
  EXPECT_LE(jit.stats().watch_faults, 4u);  // only the watched page's instructions
  EXPECT_EQ(jit.run(cpu), StopReason::Syscall);  // (ret, fetched from the watched page)
  EXPECT_EQ(cpu.rip, kCode + 0x15);
  EXPECT_EQ(cpu.gpr[RAX], 1000u);
  jit.set_debug(nullptr);
}

}  // namespace
}  // namespace vireo::gdb
