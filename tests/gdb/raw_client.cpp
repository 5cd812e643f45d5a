// A deliberately bad gdb client for the stub's robustness tests: it speaks the remote protocol
// by hand over a Unix socket, sends garbage, truncated packets, bad checksums and
// out-of-range requests, and checks each reply. Modes:
//   raw_client SOCKET bad         the misbehaviour checks, then continues the guest to its end
//   raw_client SOCKET disconnect  connects, waits for the initial stop, and hangs up
//   raw_client SOCKET interrupt   continues the guest, stops it with 0x03, kills it
// Prints one line per check; exits 1 at the first failed check. Every read has a timeout.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int fd = -1;

[[noreturn]] void fail(const std::string& what) {
  std::printf("FAIL: %s\n", what.c_str());
  std::exit(1);
}

void send_raw(const std::string& s) {
  if (::send(fd, s.data(), s.size(), MSG_NOSIGNAL) != ssize_t(s.size())) fail("send: " + s);
}

std::string packet(const std::string& payload) {
  unsigned sum = 0;
  for (unsigned char c : payload) sum += c;
  char cs[3];
  std::snprintf(cs, sizeof cs, "%02x", sum & 0xFF);
  return "$" + payload + "#" + cs;
}

int read_byte(int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return -2;  // timeout
  unsigned char c;
  ssize_t n = ::recv(fd, &c, 1, 0);
  return n == 1 ? c : -1;
}

// Reads one reply packet (acks before it skipped); "<timeout>" / "<closed>" otherwise.
std::string reply(int timeout_ms = 20000) {
  int c;
  do {
    c = read_byte(timeout_ms);
    if (c == -2) return "<timeout>";
    if (c == -1) return "<closed>";
  } while (c != '$');
  std::string s;
  while ((c = read_byte(timeout_ms)) != '#') {
    if (c < 0) return "<closed>";
    s.push_back(char(c));
  }
  read_byte(timeout_ms);
  read_byte(timeout_ms);
  return s;
}

void expect(const std::string& sent, const std::string& got, bool (*ok)(const std::string&), const char* what) {
  if (!ok(got)) fail(sent + " -> '" + got + "' (expected " + what + ")");
  std::printf("ok: %s -> %s\n", sent.c_str(), got.substr(0, 60).c_str());
}

bool is_error(const std::string& r) { return r.size() == 3 && r[0] == 'E'; }
bool is_empty(const std::string& r) { return r.empty(); }
bool is_ok(const std::string& r) { return r == "OK"; }
bool is_stop(const std::string& r) { return !r.empty() && (r[0] == 'T' || r[0] == 'S'); }
bool is_exit0(const std::string& r) { return r == "W00"; }
bool is_hex(const std::string& r) { return !r.empty() && r.find_first_not_of("0123456789abcdef") == std::string::npos; }

std::string ask(const std::string& payload) {
  send_raw(packet(payload));
  return reply();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: raw_client SOCKET bad|disconnect|interrupt\n");
    return 2;
  }
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
  fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("connect");
  std::string mode = argv[2];

  expect("?", ask("?"), is_stop, "a stop reply");
  if (mode == "disconnect") {
    ::close(fd);
    std::printf("ok: hung up\n");
    return 0;
  }
  if (mode == "interrupt") {
    // The guest runs (no reply while it does); 0x03 stops it with SIGINT (gdb's 2); k ends it.
    send_raw(packet("vCont;c"));
    std::string early = reply(300);
    if (early != "<timeout>") fail("a running guest replied: " + early);
    send_raw("\x03");
    expect("0x03", reply(), [](const std::string& r) { return r.rfind("T02", 0) == 0; }, "T02 (SIGINT)");
    expect("g", ask("g"), is_hex, "hex registers");
    send_raw(packet("k"));
    std::printf("ok: k\n");
    return 0;
  }
  // Garbage between packets is skipped; the next packet is answered.
  send_raw("garbage!!+-#99 \x01\x02\xff");
  expect("garbage, then ?", ask("?"), is_stop, "a stop reply");
  // A bad checksum is NAKed ('-') and not acted on.
  send_raw("$qC#00");
  int c = read_byte(20000);
  if (c != '-') fail("bad checksum: expected '-', got " + std::to_string(c));
  std::printf("ok: bad checksum -> -\n");
  // A truncated packet ($ then a new $) is dropped: the second is served.
  send_raw("$m4000");
  expect("truncated packet, then qC", ask("qC"), [](const std::string& r) { return r.rfind("QC", 0) == 0; }, "QC");
  // A packet longer than any gdb sends (over 1 MiB) is NAKed and dropped, whatever its checksum.
  send_raw(packet(std::string((1 << 20) + 100, 'm')));
  c = read_byte(20000);
  if (c != '-') fail("over-long packet: expected '-', got " + std::to_string(c));
  std::printf("ok: over-long packet -> -\n");
  expect("over-long packet, then qC", ask("qC"), [](const std::string& r) { return r.rfind("QC", 0) == 0; }, "QC");
  // Out-of-range and malformed requests: E.. replies.
  expect("m0,8", ask("m0,8"), is_error, "an error");
  expect("mffffffffffff0000,10", ask("mffffffffffff0000,10"), is_error, "an error");
  expect("m7ffffffffffffff0,100", ask("m7ffffffffffffff0,100"), is_error, "an error");
  expect("mzz,8", ask("mzz,8"), is_error, "an error");
  expect("M0,4:00000000", ask("M0,4:00000000"), is_error, "an error");
  expect("M0,4:0", ask("M0,4:0"), is_error, "an error");
  expect("p9999", ask("p9999"), is_error, "an error");
  expect("P10=00", ask("P10=00"), is_error, "an error");
  expect("G00", ask("G00"), is_error, "an error");
  expect("Hg12345678", ask("Hg12345678"), is_error, "an error");
  expect("Z2,1000,0", ask("Z2,1000,0"), is_error, "an error");
  expect("vCont;x", ask("vCont;x"), is_error, "an error");
  expect("qXfer:features:read:nope.xml:0,100", ask("qXfer:features:read:nope.xml:0,100"), is_error, "an error");
  // (no signal stopped the guest: there is no siginfo to write; a write with no offset)
  expect("qXfer:siginfo:write::0:ab", ask("qXfer:siginfo:write::0:ab"), is_error, "an error");
  expect("qXfer:siginfo:write::zz", ask("qXfer:siginfo:write::zz"), is_error, "an error");
  expect("Z9,0,0", ask("Z9,0,0"), is_empty, "empty (unsupported)");
  // Huge or wrapping lengths and offsets
  expect("Z2,1000,100000", ask("Z2,1000,100000"), is_error, "an error");
  expect("Z2,1000,ffffffffffffffff", ask("Z2,1000,ffffffffffffffff"), is_error, "an error");
  expect("Z2,fffffffffffffffc,8", ask("Z2,fffffffffffffffc,8"), is_ok, "OK");  // (wraps: watches nothing mapped)
  expect("z2,fffffffffffffffc,8", ask("z2,fffffffffffffffc,8"), is_ok, "OK");
  expect("Z2,1000,10000000000000000", ask("Z2,1000,10000000000000000"), is_error, "an error");
  expect("X0,4:ab", ask("X0,4:ab"), is_error, "an error");
  expect("Xffffffffffffffff,1:a", ask("Xffffffffffffffff,1:a"), is_error, "an error");
  expect("mffffffffffffffff,ffffffffffffffff", ask("mffffffffffffffff,ffffffffffffffff"), is_error, "an error");
  expect("qXfer:threads:read:x:0,100", ask("qXfer:threads:read:x:0,100"), is_error, "an error");
  expect("qXfer:threads:read::0,ffffffffffffffff", ask("qXfer:threads:read::0,ffffffffffffffff"),
         [](const std::string& r) { return r.rfind("l<?xml", 0) == 0 && r.find("</threads>") != std::string::npos; },
         "the whole thread list");
  expect("qXfer:threads:read::ffffffffffffffff,10", ask("qXfer:threads:read::ffffffffffffffff,10"),
         [](const std::string& r) { return r == "l"; }, "l (past the end)");
  expect("qXfer:auxv:read::ffffffffffff0000,ffff", ask("qXfer:auxv:read::ffffffffffff0000,ffff"),
         [](const std::string& r) { return r == "l"; }, "l (past the end)");
  expect("vCont;s:zz", ask("vCont;s:zz"), is_error, "an error");
  expect("vCont;c:", ask("vCont;c:"), is_error, "an error");
  expect("p", ask("p"), is_error, "an error");
  expect("Pffffffffffffffffff=00", ask("Pffffffffffffffffff=00"), is_error, "an error");
  expect("qNoSuchThing", ask("qNoSuchThing"), is_empty, "empty (unsupported)");
  // The stub still works: registers read, and the guest runs to its normal end.
  expect("g", ask("g"), is_hex, "hex registers");
  expect("Z0,0,1 z0,0,1", ask("Z0,0,1") == "OK" ? ask("z0,0,1") : "", is_ok, "OK");
  expect("QStartNoAckMode", ask("QStartNoAckMode"), is_ok, "OK");
  // The guest's SIGSEGVs are passed on (vCont;C0b, gdb's number), as gdb's `continue` would.
  std::string r = ask("vCont;c");
  for (int n = 0; n < 4 && r.rfind("T0b", 0) == 0; ++n) r = ask("vCont;C0b");
  expect("vCont;c (SIGSEGVs passed on)", r, is_exit0, "W00, the guest's normal exit");
  return 0;
}
