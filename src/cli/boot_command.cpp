// `vireo boot [--engine kvm|interp] [-m SIZE] [--stats] [-d int] [-D FILE] [--append CMDLINE] KERNEL`:
// system mode.
// Boots a Multiboot kernel on the PC board (src/machine/) under an engine; the exit status is
// the guest's debug-exit status, or 1 with a one-line reason when the machine cannot go on.
#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

#include "cli/commands.h"
#include "gdb/system_target.h"
#include "interp/interpreter.h"
#include "kvm/kvm_engine.h"
#include "kvm/kvm_error.h"
#include "machine/board.h"
#include "machine/host_clock.h"
#include "machine/loaders/multiboot.h"
#include "machine/system_loop.h"

namespace vireo::cli {

namespace {

struct BootArgs {
  std::string engine = "kvm";
  std::string memory = "128M";
  bool stats = false;
  std::string debug;     // -d: interp logs `int`
  std::string log_file;  // -D FILE
  std::string append;
  std::string kernel;
  // gdb: -s (port 1234), -g PORT|PATH, -S (stop before the first instruction)
  bool gdb_default = false, gdb_stop = false;
  std::string gdb;
  std::string gdb_disconnect = "run";
};

// "128M", "1G", "65536K", or a bare number of MiB as QEMU's -m takes it.
uint64_t parse_memory_size(const std::string& s) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + uint64_t(s[i++] - '0');
  if (i == 0) throw std::runtime_error(fmt::format("-m {}: not a size (try 128M or 1G)", s));
  std::string unit = s.substr(i);
  for (auto& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && (unit.substr(1) == "B" || unit.substr(1) == "IB")) unit = unit.substr(0, 1);
  uint64_t bytes;
  if (unit.empty() || unit == "M") bytes = v << 20;
  else if (unit == "K") bytes = v << 10;
  else if (unit == "G") bytes = v << 30;
  else throw std::runtime_error(fmt::format("-m {}: unknown unit '{}' (K, M or G)", s, unit));
  // Below 2 MiB there is no room above the 1 MiB line for a kernel; above 3 GiB RAM would
  // have to split around the PCI hole, which this board does not model.
  if (bytes < (2ull << 20) || bytes > (3ull << 30))
    throw std::runtime_error(fmt::format("-m {}: guest RAM must be between 2M and 3G", s));
  return (bytes + 0xFFF) & ~0xFFFull;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open kernel file", path));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The engine `a.engine` names, on this board.
std::unique_ptr<Engine> make_engine(const BootArgs& a, machine::Board& board, std::FILE* int_log) {
  if (a.engine == "kvm") {
    if (int_log) throw std::runtime_error("-d int: only the interp engine logs interrupts (kvm delivers them in hardware)");
    // KvmUnavailable propagates: no /dev/kvm is one line and status 1, before the guest starts.
    return std::make_unique<kvm::KvmEngine>(board, board.ram().host(), board.ram().size());
  }
  if (a.engine == "interp") return std::make_unique<Interpreter>(board, board.ram().host(), board.ram().size(), int_log);
  throw std::runtime_error(fmt::format("--engine {}: system mode runs under kvm or interp (jit will follow)", a.engine));
}

std::FILE* open_int_log(const BootArgs& a) {
  if (a.debug.empty()) return nullptr;
  if (a.debug != "int") throw std::runtime_error(fmt::format("-d {}: vireo boot logs only 'int'", a.debug));
  if (a.log_file.empty()) return stderr;
  std::FILE* f = std::fopen(a.log_file.c_str(), "w");
  if (!f) throw std::runtime_error(fmt::format("-D {}: cannot open for writing", a.log_file));
  return f;
}

int boot(const BootArgs& a) {
  machine::BoardConfig cfg;
  cfg.ram_size = parse_memory_size(a.memory);
  std::vector<uint8_t> image = read_file(a.kernel);
  machine::Board board(cfg);
  CpuState cpu{};
  machine::load_multiboot(a.kernel, image, a.append, board.ram(), cpu);

  std::FILE* int_log = open_int_log(a);
  uint64_t t0 = machine::monotonic_ns();
  std::unique_ptr<Engine> engine_ptr = make_engine(a, board, int_log);
  Engine& engine = *engine_ptr;
  std::unique_ptr<gdb::SystemDebugger> debugger;
  std::string endpoint = !a.gdb.empty() ? a.gdb : a.gdb_default || a.gdb_stop ? "1234" : "";
  if (!endpoint.empty()) {
    DebugControls probe;
    if (std::string why; !engine.set_debug(&probe, &why)) throw std::runtime_error(fmt::format("gdb: {}", why));
    engine.set_debug(nullptr);
    debugger = std::make_unique<gdb::SystemDebugger>(engine, cpu, board.ram().host(), board.ram().size(),
                                                     gdb::StubOptions{endpoint, a.gdb_disconnect == "kill"}, a.gdb_stop);
  }
  machine::SystemRunResult res;
  try {
    res = machine::run_system(board, engine, cpu, debugger.get());
  } catch (const kvm::KvmError& e) {
    res = {1, e.what()};
  } catch (const machine::MachineStop& e) {
    res = {1, e.what()};
  }
  if (debugger) debugger->machine_exit(res.exit_status);
  if (int_log && int_log != stderr) std::fclose(int_log);
  std::fflush(stdout);
  double seconds = double(machine::monotonic_ns() - t0) / 1e9;
  if (!res.message.empty()) fmt::print(stderr, "vireo: {}\n", res.message);
  if (a.stats) {
    fmt::print(stderr, "vireo: engine {}, {} MiB RAM, exit status {}, {:.3f} s from start to exit\n", engine.name(),
               cfg.ram_size >> 20, res.exit_status, seconds);
    engine.print_stats(stderr, seconds);
  }
  return res.exit_status;
}

}  // namespace

void add_boot_command(CLI::App& app) {
  auto args = std::make_shared<BootArgs>();
  CLI::App* cmd = app.add_subcommand("boot", "Boot a Multiboot kernel on a PC board (system mode)");
  cmd->add_option("--engine", args->engine, "Execution engine: kvm or interp")->capture_default_str();
  cmd->add_option("-m,--memory", args->memory, "Guest RAM, e.g. 128M or 1G (a bare number is MiB)")->capture_default_str();
  cmd->add_flag("--stats", args->stats, "At exit: kvm, vmexits by reason and port; interp, instructions, MIPS, exceptions and interrupts by vector, TLB");
  cmd->add_option("-d", args->debug, "interp: log items: int (each interrupt and exception, one line)");
  cmd->add_option("-D", args->log_file, "interp: write the -d log to FILE instead of stderr");
  cmd->add_option("--append", args->append, "Kernel command line (after the kernel's path, as QEMU passes it)");
  cmd->add_flag("-s", args->gdb_default, "Wait for gdb on 127.0.0.1:1234 (as QEMU's -s)");
  cmd->add_flag("-S", args->gdb_stop, "With gdb: stop before the first instruction until gdb continues");
  cmd->add_option("-g", args->gdb, "Wait for gdb on 127.0.0.1:PORT (0: any free port, printed) or a Unix socket PATH");
  cmd->add_option("--gdb-disconnect", args->gdb_disconnect,
                  "What a gdb that disconnects without detaching leaves: run (default) or kill")
      ->check(CLI::IsMember({"run", "kill"}));
  cmd->add_option("KERNEL", args->kernel, "Multiboot v1 kernel (ELF32, or a.out-kludge image)")->required();
  cmd->callback([args] {
    int status;
    try {
      status = boot(*args);
    } catch (const std::exception& e) {
      std::fflush(stdout);
      fmt::print(stderr, "vireo: {}\n", e.what());
      status = 1;
    }
    std::fflush(stdout);
    if (status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace vireo::cli
