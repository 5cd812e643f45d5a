// GdbStub: the GDB remote serial protocol server (gdb 13's dialect: no-ack mode, qXfer target
// description / auxv / exec-file / siginfo (read and write), vCont, Z0-Z4, thread list, stop replies with
// swbreak/hwbreak/watch). It runs on a host thread of its own, listens on 127.0.0.1:PORT or a
// Unix socket, serves one gdb at a time (another may connect after it leaves), and works the
// guest through a DebugTarget (memory, signals) and a StopGate (run control). It is the only
// code that parses packets.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "gdb/debug_target.h"
#include "gdb/packet_io.h"
#include "gdb/registers.h"
#include "gdb/stop_gate.h"

namespace vireo::gdb {

struct StubOptions {
  std::string endpoint;           // "PORT" (127.0.0.1) or a Unix socket path
  bool kill_on_disconnect = false;  // a gdb that goes away without D: end the guest (else run on)
};

// Opens the listening socket: a TCP port on 127.0.0.1 (0: any free one; its number is printed)
// or a Unix socket path. Throws std::runtime_error with a one-line reason.
int listen_endpoint(const std::string& endpoint);

class GdbStub {
 public:
  GdbStub(DebugTarget& target, StopGate& gate, StubOptions opts);
  ~GdbStub();
  // Listens (throws on failure) and starts serving on the stub's own thread.
  void start();

 private:
  void serve();
  void session(int fd);
  // One packet; false ends the session (D, or k after which the guest is gone).
  bool handle(const std::string& p);
  std::string stop_reply(const StopEvent& ev);
  std::string query(const std::string& p);
  std::string xfer(const std::string& object, const std::string& annex, uint64_t off, uint64_t len);
  std::string threads_xml();
  std::string xfer_write(const std::string& object, const std::string& annex, uint64_t off, const std::string& data);
  std::string memory_read(const std::string& args);
  std::string memory_write(const std::string& args, bool binary);
  std::string breakpoint(const std::string& p, bool insert);
  bool resume(const std::string& actions);  // vCont actions; false if malformed
  int64_t thread_for_regs();
  void disconnect();
  // While running: the stop (its reply sent if `reply`) or the peer gone; false if gone.
  bool wait_stopped(bool reply = true);

  DebugTarget& target_;
  StopGate& gate_;
  StubOptions opts_;
  RegisterMap regs_;
  int listen_fd_ = -1;
  std::thread thread_;
  std::unique_ptr<PacketIo> io_;
  std::optional<StopEvent> last_;
  int64_t g_thread_ = 0;  // Hg (0: the stopped thread)
  std::map<uint64_t, int> breakpoints_;  // pc -> 0 (Z0) or 1 (Z1)
  std::vector<Watchpoint> watchpoints_;
  bool detached_ = false;  // this session ended by D
  bool exited_ = false;
  // Packets that arrived while the guest was running (gdb's first '?' can come before the
  // first CPU has joined and stopped): served, in order, once it has stopped.
  std::deque<std::string> deferred_;
  std::string threads_xml_;  // qXfer:threads:read's document, made at offset 0
};

// A thread name as an XML attribute value (qXfer:threads:read).
std::string xml_attribute(const std::string& s);

// Linux signal numbers <-> gdb's (include/gdb/signals.def): equal below 7, different above.
int to_gdb_signal(int linux_sig);
int from_gdb_signal(int gdb_sig);

}  // namespace vireo::gdb
