#include "gdb/stub.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace vireo::gdb {

namespace {

// Linux number -> gdb number (gdb's include/gdb/signals.def), index = Linux signal.
constexpr int kToGdb[32] = {0,  1,  2,  3,  4,  5,  6,  10, 8,  9,  30, 11, 31, 13, 14, 15,
                            143, 20, 19, 17, 18, 21, 22, 16, 24, 25, 26, 27, 28, 23, 32, 12};

std::string xfer_chunk(const std::string& data, uint64_t off, uint64_t len) {
  if (off >= data.size()) return "l";
  std::string part = data.substr(off, len);
  return (off + part.size() < data.size() ? "m" : "l") + part;
}

// "p1.2" / "2" / "-1" / "0" (gdb's thread-id syntax): the thread, -1 for all, 0 for any.
std::optional<int64_t> parse_thread(std::string s) {
  if (!s.empty() && s[0] == 'p') {
    auto dot = s.find('.');
    s = dot == std::string::npos ? "-1" : s.substr(dot + 1);
  }
  if (s == "-1") return -1;
  auto v = parse_hex(s);
  if (!v) return std::nullopt;
  return int64_t(*v);
}

}  // namespace

static bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// A thread name as an XML attribute value. A name is any bytes but NUL (the kernel keeps what
// prctl was given); gdb's XML parser takes UTF-8 and no control characters, so those become
// '?' and a name that is not UTF-8 has its high bytes as character references (Latin-1).
std::string xml_attribute(const std::string& s) {
  const bool utf8 = valid_utf8(s);
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += '?';
        else if (c >= 0x80 && !utf8) out += fmt::format("&#x{:x};", c);
        else out += ch;
    }
  }
  return out;
}

int to_gdb_signal(int sig) {
  if (sig >= 0 && sig < 32) return kToGdb[sig];
  if (sig == 32) return 77;
  if (sig == 33) return 45;
  if (sig >= 34 && sig <= 63) return 46 + (sig - 34);
  if (sig == 64) return 78;
  return 143;
}

int from_gdb_signal(int g) {
  for (int s = 1; s <= 64; ++s)
    if (to_gdb_signal(s) == g) return s;
  return 0;
}

int listen_endpoint(const std::string& endpoint) {
  const bool port = !endpoint.empty() && endpoint.size() <= 5 &&
                    std::all_of(endpoint.begin(), endpoint.end(), [](char c) { return c >= '0' && c <= '9'; });
  int fd;
  if (port) {
    unsigned n = unsigned(std::stoul(endpoint));
    if (n > 65535) throw std::runtime_error(fmt::format("gdb: port {} out of range", endpoint));
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(n));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // (never beyond this machine)
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0)
      throw std::runtime_error(fmt::format("gdb: cannot listen on 127.0.0.1:{}: {}", n, std::strerror(errno)));
    if (n == 0) {
      socklen_t len = sizeof a;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
      fmt::print(stderr, "vireo: gdb: listening on 127.0.0.1:{}\n", ntohs(a.sin_port));
    }
    return fd;
  }
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (endpoint.empty() || endpoint.size() >= sizeof a.sun_path)
    throw std::runtime_error(fmt::format("gdb: '{}' is neither a port nor a usable socket path", endpoint));
  std::memcpy(a.sun_path, endpoint.c_str(), endpoint.size() + 1);
  // A socket left by an earlier run is replaced; any other file is not touched.
  struct stat st {};
  if (::lstat(endpoint.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(endpoint.c_str());
  fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0)
    throw std::runtime_error(fmt::format("gdb: cannot listen on {}: {}", endpoint, std::strerror(errno)));
  return fd;
}

GdbStub::GdbStub(DebugTarget& target, StopGate& gate, StubOptions opts)
    : target_(target), gate_(gate), opts_(std::move(opts)), regs_(target.system_mode()) {}

GdbStub::~GdbStub() {
  // The stub thread lives as long as the guest; Vireo exits with it running.
  if (thread_.joinable()) thread_.detach();
}

void GdbStub::start() {
  listen_fd_ = listen_endpoint(opts_.endpoint);
  // The stub's host thread takes no signal: they are all the guest's.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] { serve(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void GdbStub::serve() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    session(fd);
    ::close(fd);
    if (exited_) return;
  }
}

// While the guest runs: wait for its stop (sending the stop reply) or gdb's Ctrl-C.
bool GdbStub::wait_stopped(bool reply) {
  for (;;) {
    if (auto ev = gate_.stopped_event()) {
      last_ = *ev;
      g_thread_ = 0;
      bool sent = !reply || io_->send(stop_reply(*ev));
      if (ev->kind != StopEvent::Kind::Signal) {
        exited_ = true;
        gate_.exit_reported();
        return false;
      }
      return sent;
    }
    pollfd p[2] = {{io_->fd(), POLLIN, 0}, {gate_.ready_fd(), POLLIN, 0}};
    if (!io_->readable(0) && ::poll(p, 2, -1) < 0 && errno != EINTR) return false;
    if (io_->readable(0)) {
      auto in = io_->read();
      if (in.kind == PacketIo::Kind::Closed) return false;
      if (in.kind == PacketIo::Kind::Interrupt) gate_.request_stop(SIGINT);
      // (a packet while running waits for the stop: all-stop gdb sends none while the guest
      // runs, but its first '?' may come before the first CPU has stopped)
      if (in.kind == PacketIo::Kind::Packet) deferred_.push_back(std::move(in.payload));
    }
  }
}

void GdbStub::session(int fd) {
  io_ = std::make_unique<PacketIo>(fd);
  deferred_.clear();
  detached_ = false;
  gate_.set_attached();
  gate_.set_memory_reader([this](uint64_t a, void* out, uint64_t n) {
    return target_.read_memory(0, a, static_cast<uint8_t*>(out), n) == n;
  });
  // gdb expects a stopped target when it connects.
  gate_.request_stop(SIGINT);
  if (!wait_stopped(false)) {  // (gdb asks with '?')
    if (!exited_) disconnect();
    return;
  }
  for (;;) {
    PacketIo::Incoming in;
    if (!deferred_.empty()) {
      in = {PacketIo::Kind::Packet, std::move(deferred_.front())};
      deferred_.pop_front();
    } else {
      in = io_->read();
    }
    if (in.kind == PacketIo::Kind::Closed) {
      disconnect();
      return;
    }
    if (in.kind == PacketIo::Kind::Interrupt) continue;  // (already stopped)
    if (!handle(in.payload)) {
      // D detached already; otherwise gdb is gone (a reply could not be sent, or the guest
      // ended while it ran).
      if (!detached_ && !exited_) disconnect();
      return;
    }
  }
}

void GdbStub::disconnect() {
  breakpoints_.clear();
  watchpoints_.clear();
  if (opts_.kill_on_disconnect) target_.kill();
  gate_.detach();
}

int64_t GdbStub::thread_for_regs() {
  if (g_thread_ > 0 && gate_.cpu(g_thread_)) return g_thread_;
  if (last_ && gate_.cpu(last_->thread)) return last_->thread;
  auto t = gate_.threads();
  return t.empty() ? 0 : t.front();
}

std::string GdbStub::stop_reply(const StopEvent& ev) {
  switch (ev.kind) {
    case StopEvent::Kind::Exited: return fmt::format("W{:02x}", ev.exit_status & 0xFF);
    case StopEvent::Kind::Terminated: return fmt::format("X{:02x}", to_gdb_signal(ev.signal));
    case StopEvent::Kind::Signal: break;
  }
  std::string r = fmt::format("T{:02x}thread:{:x};", to_gdb_signal(ev.signal), ev.thread);
  if (ev.debug == DebugControls::Event::Breakpoint) {
    CpuState* c = gate_.cpu(ev.thread);
    auto it = c ? breakpoints_.find(c->rip) : breakpoints_.end();
    r += it != breakpoints_.end() && it->second == 1 ? "hwbreak:;" : "swbreak:;";
  } else if (ev.debug == DebugControls::Event::Watch) {
    const char* kind = ev.watch.kind == WatchKind::Read ? "rwatch" : ev.watch.kind == WatchKind::Access ? "awatch" : "watch";
    r += fmt::format("{}:{:x};", kind, ev.watch.addr);
  }
  return r;
}

bool GdbStub::handle(const std::string& p) {
  auto reply = [&](std::string_view s) { return io_->send(s); };
  if (p.empty()) return reply("");
  switch (p[0]) {
    case '?': return reply(last_ ? stop_reply(*last_) : "S05");
    case 'q': return reply(query(p));
    case 'Q':
      if (p == "QStartNoAckMode") {
        bool ok = reply("OK");
        io_->set_no_ack();
        return ok;
      }
      return reply("");
    case 'H': {
      auto t = parse_thread(p.substr(2));
      if (!t || (*t > 0 && !gate_.cpu(*t))) return reply("E01");
      if (p[1] == 'g') g_thread_ = *t;
      return reply("OK");
    }
    case 'T': {
      auto t = parse_thread(p.substr(1));
      return reply(t && *t > 0 && gate_.cpu(*t) ? "OK" : "E01");
    }
    case 'g': {
      CpuState* c = gate_.cpu(thread_for_regs());
      if (!c) return reply("E01");
      std::string all = regs_.read_all(*c);
      return reply(to_hex(all.data(), all.size()));
    }
    case 'G': {
      CpuState* c = gate_.cpu(thread_for_regs());
      std::vector<uint8_t> bytes;
      if (!c || !from_hex(std::string_view(p).substr(1), bytes) || !regs_.write_all(*c, bytes)) return reply("E01");
      return reply("OK");
    }
    case 'p': {
      CpuState* c = gate_.cpu(thread_for_regs());
      auto n = parse_hex(std::string_view(p).substr(1));
      std::string bytes;
      if (!c || !n || !regs_.read(*c, *n, bytes)) return reply("E01");
      return reply(to_hex(bytes.data(), bytes.size()));
    }
    case 'P': {
      CpuState* c = gate_.cpu(thread_for_regs());
      auto eq = p.find('=');
      std::vector<uint8_t> bytes;
      auto n = eq == std::string::npos ? std::nullopt : parse_hex(std::string_view(p).substr(1, eq - 1));
      if (!c || !n || !from_hex(std::string_view(p).substr(eq + 1), bytes) ||
          !regs_.write(*c, *n, bytes.data(), bytes.size()))
        return reply("E01");
      return reply("OK");
    }
    case 'm': return reply(memory_read(p.substr(1)));
    case 'M': return reply(memory_write(p.substr(1), false));
    case 'X': return reply(memory_write(p.substr(1), true));
    case 'Z':
    case 'z': return reply(breakpoint(p, p[0] == 'Z'));
    case 'c':
    case 's':
    case 'C':
    case 'S': {
      // The old resume packets (an address argument is not supported: E01).
      std::string action(1, p[0]);
      if (p[0] == 'C' || p[0] == 'S') action += p.substr(1, p.find(';') == std::string::npos ? std::string::npos : p.find(';') - 1);
      else if (p.size() > 1) return reply("E01");
      if (!resume(";" + action)) return reply("E01");
      return wait_stopped();
    }
    case 'v':
      if (p == "vCont?") return reply("vCont;c;C;s;S;t");
      if (p.rfind("vCont;", 0) == 0) {
        if (!resume(p.substr(5))) return reply("E01");
        return wait_stopped();
      }
      if (p.rfind("vKill", 0) == 0) {
        reply("OK");
        target_.kill();
      }
      return reply("");
    case 'D':
      reply("OK");
      breakpoints_.clear();
      watchpoints_.clear();
      gate_.detach();
      detached_ = true;
      return false;
    case 'k': target_.kill(); return false;  // (kill ends the process)
    default: return reply("");
  }
}

std::string GdbStub::query(const std::string& p) {
  if (p.rfind("qSupported", 0) == 0) {
    std::string s = "PacketSize=4000;QStartNoAckMode+;qXfer:features:read+;vContSupported+;swbreak+;hwbreak+";
    if (!target_.system_mode())
      s += ";qXfer:auxv:read+;qXfer:exec-file:read+;qXfer:siginfo:read+;qXfer:siginfo:write+;qXfer:threads:read+";
    return s;
  }
  if (p == "qAttached" || p.rfind("qAttached:", 0) == 0) return "0";  // (gdb kills, not detaches, when it quits)
  if (p == "qC") return fmt::format("QC{:x}", last_ ? last_->thread : thread_for_regs());
  if (p == "qfThreadInfo") {
    std::string s = "m";
    for (int64_t t : gate_.threads()) s += fmt::format("{}{:x}", s.size() > 1 ? "," : "", t);
    return s.size() > 1 ? s : "l";
  }
  if (p == "qsThreadInfo") return "l";
  if (p.rfind("qSymbol", 0) == 0) return "OK";
  if (p.rfind("qXfer:", 0) == 0) {
    // qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH
    std::string rest = p.substr(6);
    auto c1 = rest.find(':'), c2 = rest.find(':', c1 + 1), c3 = rest.find(':', c2 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos || c3 == std::string::npos) return "E00";
    const std::string op = rest.substr(c1 + 1, c2 - c1 - 1);
    if (op == "write") {
      // qXfer:OBJECT:write:ANNEX:OFFSET:DATA (DATA binary, unescaped already)
      const std::string tail = rest.substr(c3 + 1);
      auto colon = tail.find(':');
      auto off = colon == std::string::npos ? std::nullopt : parse_hex(tail.substr(0, colon));
      if (!off) return "E00";
      return xfer_write(rest.substr(0, c1), rest.substr(c2 + 1, c3 - c2 - 1), *off, tail.substr(colon + 1));
    }
    if (op != "read") return "";
    std::string range = rest.substr(c3 + 1);
    auto comma = range.find(',');
    auto off = parse_hex(range.substr(0, comma)), len = comma == std::string::npos ? std::nullopt : parse_hex(range.substr(comma + 1));
    if (!off || !len) return "E00";
    return xfer(rest.substr(0, c1), rest.substr(c2 + 1, c3 - c2 - 1), *off, *len);
  }
  return "";
}

std::string GdbStub::xfer(const std::string& object, const std::string& annex, uint64_t off, uint64_t len) {
  if (object == "features") return annex == "target.xml" ? xfer_chunk(regs_.target_xml(), off, len) : "E00";
  if (target_.system_mode()) return "";
  if (object == "auxv") return xfer_chunk(target_.auxv(), off, len);
  if (object == "exec-file") return xfer_chunk(target_.exec_file(), off, len);
  if (object == "threads") {
    if (!annex.empty()) return "E00";
    // gdb reads the list in pieces; the first piece makes it, the others read that one (the
    // guest is stopped meanwhile, but a name could change under a running stub thread).
    if (off == 0) threads_xml_ = threads_xml();
    return xfer_chunk(threads_xml_, off, len);
  }
  if (object == "siginfo") {
    std::string si = target_.siginfo(thread_for_regs());
    return si.empty() ? "E01" : xfer_chunk(si, off, len);
  }
  return "";
}

// qXfer:threads:read (gdb's "Thread List Format"): each thread's id and name, as `info threads`
// shows them ("Thread 1234 \"name\"").
std::string GdbStub::threads_xml() {
  std::string x = "<?xml version=\"1.0\"?>\n<threads>\n";
  for (int64_t t : gate_.threads()) {
    x += fmt::format("<thread id=\"{:x}\"", t);
    if (std::string name = target_.thread_name(t); !name.empty()) x += " name=\"" + xml_attribute(name) + "\"";
    x += "/>\n";
  }
  return x + "</threads>\n";
}

std::string GdbStub::xfer_write(const std::string& object, const std::string& annex, uint64_t off,
                                const std::string& data) {
  if (object != "siginfo" || target_.system_mode()) return "";
  if (!annex.empty()) return "E00";
  int64_t n = target_.write_siginfo(thread_for_regs(), off, data);
  return n < 0 ? "E01" : fmt::format("{:x}", n);
}

std::string GdbStub::memory_read(const std::string& args) {
  auto comma = args.find(',');
  auto addr = parse_hex(args.substr(0, comma));
  auto len = comma == std::string::npos ? std::nullopt : parse_hex(args.substr(comma + 1));
  if (!addr || !len) return "E01";
  std::vector<uint8_t> buf(std::min<uint64_t>(*len, 0x1000));  // (gdb asks again for the rest)
  size_t n = target_.read_memory(thread_for_regs(), *addr, buf.data(), buf.size());
  if (n == 0 && !buf.empty()) return "E14";  // EFAULT
  return to_hex(buf.data(), n);
}

std::string GdbStub::memory_write(const std::string& args, bool binary) {
  auto colon = args.find(':');
  auto comma = args.find(',');
  if (colon == std::string::npos || comma == std::string::npos || comma > colon) return "E01";
  auto addr = parse_hex(args.substr(0, comma));
  auto len = parse_hex(args.substr(comma + 1, colon - comma - 1));
  if (!addr || !len) return "E01";
  std::vector<uint8_t> data;
  if (binary) data.assign(args.begin() + long(colon) + 1, args.end());
  else if (!from_hex(std::string_view(args).substr(colon + 1), data)) return "E01";
  if (data.size() != *len) return "E01";
  if (data.empty()) return "OK";
  return target_.write_memory(thread_for_regs(), *addr, data.data(), data.size()) == data.size() ? "OK" : "E14";
}

std::string GdbStub::breakpoint(const std::string& p, bool insert) {
  // Z<type>,<addr>,<kind or length>
  if (p.size() < 4 || p[2] != ',') return "E01";
  int type = p[1] - '0';
  auto comma = p.find(',', 3);
  auto addr = parse_hex(p.substr(3, comma == std::string::npos ? std::string::npos : comma - 3));
  auto len = comma == std::string::npos ? std::nullopt : parse_hex(p.substr(comma + 1, p.find(';') == std::string::npos ? std::string::npos : p.find(';') - comma - 1));
  if (!addr || !len) return "E01";
  if (type == 0 || type == 1) {
    if (insert) breakpoints_[*addr] = type;
    else breakpoints_.erase(*addr);
    std::vector<uint64_t> pcs;
    for (auto& [pc, t] : breakpoints_) pcs.push_back(pc);
    gate_.set_breakpoints(std::move(pcs));
    return "OK";
  }
  if (type < 2 || type > 4) return "";  // (unsupported type: empty, as the protocol says)
  if (*len == 0 || *len > 4096) return "E22";
  Watchpoint w{*addr, *len, WatchKind(type)};
  auto same = [&](const Watchpoint& o) { return o.addr == w.addr && o.len == w.len && o.kind == w.kind; };
  if (insert) {
    if (std::none_of(watchpoints_.begin(), watchpoints_.end(), same)) watchpoints_.push_back(w);
  } else {
    std::erase_if(watchpoints_, same);
  }
  gate_.set_watchpoints(watchpoints_);
  return "OK";
}

bool GdbStub::resume(const std::string& actions) {
  std::map<int64_t, ResumeAction> per_thread;
  std::optional<ResumeAction> others;
  size_t pos = 0;
  while (pos < actions.size()) {
    if (actions[pos] != ';') return false;
    size_t end = actions.find(';', pos + 1);
    std::string a = actions.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    pos = end == std::string::npos ? actions.size() : end;
    if (a.empty()) return false;
    auto colon = a.find(':');
    std::string verb = a.substr(0, colon);
    ResumeAction r;
    switch (verb[0]) {
      case 'c': break;
      case 's': r.step = true; break;
      case 'C':
      case 'S': {
        auto sig = parse_hex(verb.substr(1));
        if (!sig || *sig > 255) return false;
        r.signal = from_gdb_signal(int(*sig));
        r.step = verb[0] == 'S';
        break;
      }
      case 't': continue;  // (all-stop: already stopped)
      default: return false;
    }
    if (colon == std::string::npos) {
      if (!others) others = r;
      continue;
    }
    auto t = parse_thread(a.substr(colon + 1));
    if (!t) return false;
    if (*t <= 0) {
      if (!others) others = r;
    } else if (!per_thread.count(*t)) {
      per_thread[*t] = r;
    }
  }
  if (per_thread.empty() && !others) return false;
  gate_.resume(per_thread, others ? &*others : nullptr);
  return true;
}

}  // namespace vireo::gdb
