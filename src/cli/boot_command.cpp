// `vireo boot [--engine kvm|jit|interp] [-m SIZE] [--stats] [-d ITEMS] [-D FILE] [--check interp]
// [--initrd FILE] [--append CMDLINE] [--no-reboot] KERNEL`: system mode.
// Boots a Linux bzImage or a Multiboot kernel on the PC board (src/machine/) under an engine;
// the exit status is the guest's debug-exit status, 0 when the guest powers the machine off,
// or 1 with a one-line reason when the machine cannot go on. A guest reset boots the kernel
// again on a fresh board (or, with --no-reboot, ends Vireo as a power-off does).
#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

#include <unistd.h>

#include "cli/commands.h"
#include "cpu/cpuid.h"
#include "gdb/system_target.h"
#include "interp/interpreter.h"
#include "interp/system/system_mode.h"
#include "jit/system/system_jit_engine.h"
#include "kvm/kvm_engine.h"
#include "kvm/kvm_error.h"
#include "machine/board.h"
#include "machine/host_clock.h"
#include "machine/host_terminal.h"
#include "machine/loaders/kernel_loader.h"
#include "machine/system_loop.h"

namespace vireo::cli {

namespace {

struct BootArgs {
  std::string engine;  // empty: default_engine()
  std::string memory = "128M";
  bool stats = false;
  std::string debug;     // -d: interp logs `int`; jit also in_asm,op,out_asm,exec
  std::string check;     // --check interp (jit: lockstep self-check)
  std::string log_file;  // -D FILE
  std::string append;
  std::string initrd;
  bool no_reboot = false;
  bool guest_decompress = false;
  std::string cpu = "max";   // --cpu MODEL[,-kvmclock]
  uint64_t tc_size_mib = 256;  // jit: a booting kernel translates tens of MiB of code
  // jit: a block start runs in the interpreter for its first N entries (docs/system-mode.md,
  // "The jit engine": a kernel's boot runs most of its code a few times only).
  uint32_t translate_after = 16;
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

// Sized by its length and read in one go: an istreambuf_iterator copies a character at a
// time (a 100 MiB initrd took 0.1 s that way).
std::vector<uint8_t> read_file(const std::string& path, const char* what = "kernel") {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::runtime_error(fmt::format("{}: is a directory, not the {} file", path, what));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open {} file", path, what));
  std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error(fmt::format("{}: cannot read {} file", path, what));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw std::runtime_error(fmt::format("{}: cannot read {} file", path, what));
  return bytes;
}

// Without --engine: kvm where it can run any guest (a usable /dev/kvm on a VT-x/AMD-V back end),
// else the jit. A PVM back end (the kvm_pvm module) cannot deliver events across privilege
// changes (docs/system-mode.md, "PVM hosts"), so a guest with user mode would stop there.
std::string default_engine() {
  if (access("/dev/kvm", R_OK | W_OK) != 0 || access("/sys/module/kvm_pvm", F_OK) == 0) return "jit";
  return "kvm";
}

// The -d items (QEMU's names): `int` (interp, jit), `unimp` (any engine: unknown I/O ports,
// MSRs and unassigned MMIO, once each), and the jit's `in_asm`, `op`, `out_asm`, `exec`.
struct DebugItems {
  bool int_ = false, unimp = false, in_asm = false, op = false, out_asm = false, exec = false;
  bool any() const { return int_ || unimp || in_asm || op || out_asm || exec; }
};

DebugItems parse_debug_items(const BootArgs& a) {
  DebugItems d;
  for (size_t i = 0; i < a.debug.size();) {
    size_t j = a.debug.find(',', i);
    std::string item = a.debug.substr(i, j == std::string::npos ? std::string::npos : j - i);
    i = j == std::string::npos ? a.debug.size() : j + 1;
    bool jit_item = true;
    if (item == "int") d.int_ = true, jit_item = false;
    else if (item == "unimp") d.unimp = true, jit_item = false;
    else if (item == "in_asm") d.in_asm = true;
    else if (item == "op") d.op = true;
    else if (item == "out_asm") d.out_asm = true;
    else if (item == "exec") d.exec = true;
    else throw std::runtime_error(fmt::format("-d {}: unknown item (int, unimp; jit also in_asm, op, out_asm, exec)", item));
    if (jit_item && a.engine != "jit")
      throw std::runtime_error(fmt::format("-d {}: the {} engine logs only 'int' and 'unimp' (jit also in_asm, op, out_asm, exec)",
                                           item, a.engine));
  }
  if (d.int_ && a.engine == "kvm")
    throw std::runtime_error("-d int: only the interp and jit engines log interrupts (kvm delivers them in hardware)");
  return d;
}

// The engine `a.engine` names, on this board; `log` is the -d log (null without -d).
std::unique_ptr<Engine> make_engine(const BootArgs& a, machine::Board& board, std::FILE* log) {
  const DebugItems d = parse_debug_items(a);
  if (a.engine == "kvm") {
    // KvmUnavailable propagates: no /dev/kvm is one line and status 1, before the guest starts.
    return std::make_unique<kvm::KvmEngine>(board, board.ram().host(), board.ram().size());
  }
  if (a.engine == "interp") {
    auto e = std::make_unique<Interpreter>(board, board.ram().host(), board.ram().size(), d.int_ ? log : nullptr);
    e->system_mode()->unimp_log = d.unimp ? log : nullptr;
    return e;
  }
  if (a.engine == "jit") {
    jit::SystemJitOptions o;
    o.count_insns = a.stats;
    o.tc_size = size_t(a.tc_size_mib) << 20;
    o.translate_after = a.translate_after;
    o.check = !a.check.empty();
    o.log = log ? log : stderr;
    o.int_log = d.int_ ? log : nullptr;
    o.unimp_log = d.unimp ? log : nullptr;
    o.log_in_asm = d.in_asm;
    o.log_op = d.op;
    o.log_out_asm = d.out_asm;
    o.log_exec = d.exec;
    return std::make_unique<jit::SystemJitEngine>(board, board.ram().host(), board.ram().size(), o);
  }
  throw std::runtime_error(fmt::format("--engine {}: system mode runs under kvm, jit or interp", a.engine));
}

// The -d log (stderr, or -D FILE): opened when any item is asked for.
std::FILE* open_int_log(const BootArgs& a) {
  if (!parse_debug_items(a).any()) return nullptr;
  if (a.log_file.empty()) return stderr;
  std::FILE* f = std::fopen(a.log_file.c_str(), "w");
  if (!f) throw std::runtime_error(fmt::format("-D {}: cannot open for writing", a.log_file));
  return f;
}

// One power cycle: a fresh board and CPU, the kernel loaded, the engine run to the end.
// `nvram` carries the CMOS bytes a reset keeps from one power cycle to the next.
// `debugger` (gdb, made by the first power cycle) outlives it: a reset keeps the session.
machine::SystemRunResult boot_once(const BootArgs& a, const machine::BoardConfig& cfg, const std::vector<uint8_t>& image,
                                   const std::vector<uint8_t>* initrd, std::FILE* int_log,
                                   std::vector<uint8_t>& nvram, std::unique_ptr<gdb::SystemDebugger>& debugger) {
  machine::Board board(cfg);
  CpuState cpu{};
  machine::KernelFormat format =
      machine::load_kernel({a.kernel, &image, initrd, a.append, a.guest_decompress}, board.ram(), cpu);
  // Linux takes timer interrupts and page faults from its first milliseconds: on a PVM host it
  // would run into the back end's limit at some unknown point, so say so before starting.
  if (a.engine == "kvm" && format != machine::KernelFormat::Multiboot && kvm::pvm_back_end_loaded())
    return {1, "host KVM cannot deliver events to this guest (PVM back end?): a Linux kernel needs interrupts and "
               "exceptions delivered; use --engine jit or --engine interp"};
  uint64_t t0 = machine::monotonic_ns();
  std::unique_ptr<Engine> engine_ptr = make_engine(a, board, int_log);
  Engine& engine = *engine_ptr;
  std::string endpoint = !a.gdb.empty() ? a.gdb : a.gdb_default || a.gdb_stop ? "1234" : "";
  if (!endpoint.empty()) {
    DebugControls probe;
    if (std::string why; !engine.set_debug(&probe, &why)) throw std::runtime_error(fmt::format("gdb: {}", why));
    engine.set_debug(nullptr);
    if (!debugger)
      debugger = std::make_unique<gdb::SystemDebugger>(gdb::StubOptions{endpoint, a.gdb_disconnect == "kill"}, a.gdb_stop);
    debugger->power_on(engine, cpu, board.ram().host(), board.ram().size());
  }
  machine::SystemRunResult res;
  try {
    res = machine::run_system(board, engine, cpu, debugger.get());
  } catch (const kvm::KvmError& e) {
    res = {1, e.what()};
  } catch (const machine::MachineStop& e) {
    res = {1, e.what()};
  }
  if (debugger) debugger->power_off();
  std::fflush(stdout);
  uint64_t t1 = machine::monotonic_ns();
  double seconds = double(t1 - t0) / 1e9;
  const uint8_t* keep = board.cmos().nvram();
  nvram.assign(keep, keep + machine::CmosRtc::kNvramCount);
  if (a.stats) {
    fmt::print(stderr, "vireo: engine {}, {} MiB RAM, exit status {}, {:.3f} s from start to {}\n", engine.name(),
               cfg.ram_size >> 20, res.exit_status, seconds, res.reset ? "reset" : "exit");
    if (auto first = board.console().first_byte_ns())
      fmt::print(stderr, "  first serial byte:    {:.3f} s after start\n", double(*first - t0) / 1e9);
    fmt::print(stderr, "  halted:               {:.3f} s (HLT, waiting for an interrupt)\n", double(board.halted_ns()) / 1e9);
    engine.print_stats(stderr, seconds);
  }
  return res;
}

// --cpu MODEL[,-kvmclock]: the CPU model as `vireo run --cpu` takes it; `-kvmclock` hides the
// paravirtual clock (CPUID's hypervisor leaves and their MSRs), as QEMU's `-cpu ...,-kvmclock`.
void select_boot_cpu(const std::string& spec) {
  size_t comma = spec.find(',');
  std::string error;
  if (!select_cpu_model(spec.substr(0, comma), error)) throw std::runtime_error(error);
  bool kvm_clock = true;
  while (comma != std::string::npos) {
    size_t next = spec.find(',', comma + 1);
    std::string item = spec.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
    if (item == "-kvmclock") kvm_clock = false;
    else if (item == "+kvmclock") kvm_clock = true;
    else throw std::runtime_error(fmt::format("--cpu {}: unknown feature '{}' (+kvmclock or -kvmclock)", spec, item));
    comma = next;
  }
  set_kvm_clock(kvm_clock);
}

int boot(BootArgs a) {
  if (a.engine.empty()) a.engine = default_engine();
  select_boot_cpu(a.cpu);
  if (!a.check.empty() && (a.check != "interp" || a.engine != "jit"))
    throw std::runtime_error(fmt::format("--check {}: the jit engine checks against 'interp' only", a.check));
  machine::BoardConfig cfg;
  cfg.ram_size = parse_memory_size(a.memory);
  std::vector<uint8_t> image = read_file(a.kernel);
  std::vector<uint8_t> initrd_bytes;
  if (!a.initrd.empty()) {
    // Refused before reading it: an initrd as large as RAM can never fit beside the kernel.
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(a.initrd, ec);
    if (!ec && size >= cfg.ram_size)
      throw std::runtime_error(fmt::format("{}: the initrd ({} KiB) does not fit in guest RAM ({} MiB; try a larger -m)",
                                           a.initrd, size >> 10, cfg.ram_size >> 20));
    initrd_bytes = read_file(a.initrd, "initrd");
  }
  const std::vector<uint8_t>* initrd = a.initrd.empty() ? nullptr : &initrd_bytes;

  std::FILE* int_log = open_int_log(a);
  // Unknown ports and unassigned MMIO (the probes of any kernel) are -d unimp's, not stderr's.
  cfg.report = parse_debug_items(a).unimp ? int_log : nullptr;
  machine::HostTerminal terminal(cfg.serial_in_fd);
  cfg.console_escape = terminal.is_terminal();
  std::unique_ptr<gdb::SystemDebugger> debugger;  // (gdb: one session for every power cycle)
  machine::SystemRunResult res;
  std::vector<uint8_t> nvram;
  for (;;) {
    res = boot_once(a, cfg, image, initrd, int_log, nvram, debugger);
    cfg.cmos_nvram = nvram.data();
    if (!res.reset) break;
    if (a.no_reboot) {
      res.message = "guest reset the machine (--no-reboot: stopping)";
      break;
    }
  }
  if (debugger) debugger->machine_exit(res.exit_status);
  if (int_log && int_log != stderr) std::fclose(int_log);
  if (!res.message.empty()) fmt::print(stderr, "vireo: {}\n", res.message);
  return res.exit_status;
}

}  // namespace

void add_boot_command(CLI::App& app) {
  auto args = std::make_shared<BootArgs>();
  CLI::App* cmd = app.add_subcommand("boot", "Boot a Linux or Multiboot kernel on a PC board (system mode)");
  cmd->add_option("--engine", args->engine,
                  "Execution engine: kvm, jit or interp (default: kvm where /dev/kvm is usable and not PVM, else jit)");
  cmd->add_option("-m,--memory", args->memory, "Guest RAM, e.g. 128M or 1G (a bare number is MiB)")->capture_default_str();
  cmd->add_flag("--stats", args->stats, "At exit: kvm, vmexits by reason and port; interp, instructions, MIPS, exceptions and interrupts by vector, TLB");
  cmd->add_option("-d", args->debug, "Log items: int (each interrupt and exception, one line; interp, jit), unimp (unknown I/O ports, MSRs and unassigned MMIO, once each); jit also in_asm,op,out_asm,exec");
  cmd->add_option("--check", args->check, "jit: replay each block under 'interp' and stop at the first difference");
  cmd->add_option("-D", args->log_file, "interp: write the -d log to FILE instead of stderr");
  cmd->add_option("--append", args->append, "Kernel command line (Multiboot: after the kernel's path, as QEMU passes it)");
  cmd->add_option("--initrd", args->initrd, "Linux: initial ramdisk (an initramfs cpio archive, compressed or not)");
  cmd->add_option("--cpu", args->cpu,
                  "CPU model: max (default), x86-64-v2 or x86-64; ',-kvmclock' hides the paravirtual clock "
                  "(the kernel then calibrates its TSC against the PIT)")
      ->capture_default_str();
  // (the guest tests of the translator run every block translated: VIREO_TRANSLATE_AFTER=0)
  if (const char* e = std::getenv("VIREO_TRANSLATE_AFTER"); e && *e) args->translate_after = uint32_t(std::atoi(e));
  cmd->add_option("--translate-after", args->translate_after,
                  "jit: a block runs in the interpreter for its first N entries, then is translated (0: at once)")
      ->capture_default_str();
  cmd->add_option("--tc-size", args->tc_size_mib, "jit: translation cache size in MiB (default 256)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--no-reboot", args->no_reboot, "A guest reset ends Vireo instead of booting again");
  cmd->add_flag("--guest-decompress", args->guest_decompress,
                "Linux: let the bzImage decompress itself in the guest (with KASLR) instead of unpacking it on the host");
  cmd->add_flag("-s", args->gdb_default, "Wait for gdb on 127.0.0.1:1234 (as QEMU's -s)");
  cmd->add_flag("-S", args->gdb_stop, "With gdb: stop before the first instruction until gdb continues");
  cmd->add_option("-g", args->gdb, "Wait for gdb on 127.0.0.1:PORT (0: any free port, printed) or a Unix socket PATH");
  cmd->add_option("--gdb-disconnect", args->gdb_disconnect,
                  "What a gdb that disconnects without detaching leaves: run (default) or kill")
      ->check(CLI::IsMember({"run", "kill"}));
  cmd->add_option("KERNEL", args->kernel, "Linux bzImage or Multiboot v1 kernel (ELF32, or a.out-kludge image); "
                                          "recognised by content")->required();
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
