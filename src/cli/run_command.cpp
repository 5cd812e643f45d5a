// `vireo run [options] [--] PROGRAM [ARGS...]`: run an x86-64 Linux program (static or dynamic).
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "gdb/user_target.h"
#include "interp/interpreter.h"
#include "cpu/cpuid.h"
#include "jit/jit_engine.h"
#include "linux/elf_loader.h"
#include "linux/process.h"
#include "linux/sysroot.h"
#include "support/diag_stream.h"

extern char** environ;

namespace vireo::cli {

namespace {

struct RunArgs {
  std::string engine = "jit";  // the default engine (issue 4); interp is the reference
  std::string cpu = "default";  // --cpu or VIREO_CPU: the CPUID model (cpu/cpuid.h)
  bool stats = false;
  bool strace = false;
  std::vector<std::string> set_env;
  std::vector<std::string> unset_env;
  std::string argv0;
  std::string execfn;
  int32_t altstack_flags = 0;
  std::string sysroot;  // -L DIR (default: $VIREO_LD_PREFIX, else none)
  std::vector<std::string> command;  // PROGRAM ARGS...
  // jit
  uint64_t tc_size_mib = 16;
  bool no_chain = false, no_jump_cache = false, no_follow_calls = false;
  std::string debug;     // -d in_asm,op,out_asm,exec
  std::string log_file;  // -D FILE
  bool perfmap = false;  // --perfmap
  // --translate-after N: a block runs in the interpreter tier for its first N entries
  // (jit/tiering.h; chosen by measurement, docs/performance.md "Tiers"); 0: always translated.
  uint32_t translate_after = 8;
  bool translate_after_given = false;  // --translate-after or VIREO_TRANSLATE_AFTER: N is fixed
  // --startup-translate-after N: N during a thread's start-up phase: its first 300,000
  // interpreter-tier instructions, then until its first translation, at most 1,200,000
  // (jit/tiering.h; docs/jit.md "Tiers"); 0: no start-up phase.
  uint32_t startup_translate_after = 256;
  // --blocks-per-doubling N: without --translate-after, N doubles for every this many blocks
  // in the translation cache, up to 8 times (jit/tiering.h); 0: it stays.
  uint32_t blocks_per_doubling = 8192;
  // --startup-translate-insns N: in the start-up phase a due block is translated once its
  // entries times its length reach N instructions (jit/tiering.h); 0: when due.
  uint32_t startup_translate_insns = 32768;
  // gdb: -g PORT|PATH waits for gdb before the first instruction; what a vanished gdb leaves
  std::string gdb;
  std::string gdb_disconnect = "run";
  std::string exec = "inplace";  // --exec: how a guest execve replaces the image
};

// The jit's options, with the -D log and the perf map opened once for all guest threads.
jit::JitOptions jit_options(const RunArgs& a) {
  jit::JitOptions o;
  o.tc_size = size_t(a.tc_size_mib) << 20;
  o.chain = !a.no_chain;
  o.jump_cache = !a.no_jump_cache;
  o.follow_calls = !a.no_follow_calls;
  o.count_insns = a.stats;  // the count is only reported by --stats
  o.time_translation = a.stats;  // (likewise the translation time)
  o.tiers.translate_after = a.translate_after;
  if (!a.translate_after_given) {
    o.tiers.startup_translate_after = a.startup_translate_after;
    o.tiers.blocks_per_doubling = a.blocks_per_doubling;
    o.tiers.startup_translate_insns = a.startup_translate_insns;
    o.tiers.startup_uncounted_insns = a.startup_translate_after ? 16384 : 0;  // (jit/tiering.h)
  }
  for (size_t pos = 0; pos <= a.debug.size() && !a.debug.empty();) {
    size_t comma = a.debug.find(',', pos);
    std::string item = a.debug.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item == "in_asm") o.log_in_asm = true;
    else if (item == "op") o.log_op = true;
    else if (item == "out_asm") o.log_out_asm = true;
    else if (item == "exec") o.log_exec = true;
    else throw std::runtime_error(fmt::format("unknown -d item '{}' (in_asm, op, out_asm, exec)", item));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (!a.log_file.empty()) {
    o.log = std::fopen(a.log_file.c_str(), "w");
    if (!o.log) throw std::runtime_error(fmt::format("cannot open log file {}", a.log_file));
    o.log = keep_fd_high(o.log);
  } else if (o.log_in_asm || o.log_op || o.log_out_asm || o.log_exec) {
    o.log = diag_stream();  // the guest may close its stderr (support/diag_stream.h)
  }
  if (a.perfmap) {
    // perf's convention for JIT symbols: /tmp/perf-PID.map, read when `perf report` runs.
    std::string path = fmt::format("/tmp/perf-{}.map", getpid());
    o.perfmap = std::fopen(path.c_str(), "w");
    if (!o.perfmap) throw std::runtime_error(fmt::format("cannot open {}", path));
    o.perfmap = keep_fd_high(o.perfmap);
  }
  return o;
}

// The engine factory of one guest process: an engine per guest thread, all jit engines of
// the process sharing one SharedCode (self-modifying code and invalidation across threads).
std::function<std::unique_ptr<Engine>(const GuestMemory&)> engine_factory(const RunArgs& a) {
  if (a.engine == "interp")
    return [](const GuestMemory& mem) -> std::unique_ptr<Engine> { return std::make_unique<Interpreter>(mem); };
  if (a.engine != "jit")
    throw std::runtime_error(fmt::format("unknown engine '{}' (available: interp, jit)", a.engine));
  auto o = std::make_shared<jit::JitOptions>(jit_options(a));
  return [o](const GuestMemory& mem) -> std::unique_ptr<Engine> {
    // No engine left holding the shared code (a new process image after an in-place execve,
    // linux/exec_in_place.cpp): its memory is gone, so is its code; start afresh.
    if (!o->shared || o->shared.use_count() == 1) o->shared = std::make_shared<jit::SharedCode>(mem);
    return std::make_unique<jit::JitEngine>(mem, *o);
  };
}

std::vector<std::string> guest_environment(const RunArgs& a) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  auto drop = [&](const std::string& name) {
    std::erase_if(env, [&](const std::string& kv) { return kv.compare(0, name.size() + 1, name + "=") == 0; });
  };
  for (auto& u : a.unset_env) drop(u);
  for (auto& s : a.set_env) {
    auto eq = s.find('=');
    drop(s.substr(0, eq));
    env.push_back(eq == std::string::npos ? s + "=" : s);
  }
  return env;
}

int run(const RunArgs& a) {
  RunOptions o;
  o.engine = a.engine;
  o.stats = a.stats;
  o.strace = a.strace;
  if (o.strace || o.stats) diag_stream();  // held from before the guest runs (support/diag_stream.h)
  o.exec_in_place = a.exec == "inplace";
  o.program = a.command.front();
  o.argv = a.command;
  if (!a.argv0.empty()) o.argv[0] = a.argv0;
  o.execfn = a.execfn;
  o.altstack_flags = a.altstack_flags;
  o.env = guest_environment(a);
  // (o.vireo_path stays empty: an execve that re-executes vireo reads /proc/self/exe then,
  // most processes never do)
  // VIREO_CPU stands for --cpu when the option is absent, as QEMU_CPU does for qemu-x86_64.
  std::string cpu = a.cpu;
  if (const char* env = std::getenv("VIREO_CPU"); env && *env && cpu == "default") cpu = env;
  if (std::string error; !select_cpu_model(cpu, error)) {
    diag_print(stderr, "vireo: {}\n", error);
    return 1;
  }
  if (cpu != "default") o.reexec_options.push_back("--cpu=" + cpu);
  try {
    o.make_engine = engine_factory(a);
  } catch (const std::exception& e) {
    diag_print(stderr, "vireo: {}\n", e.what());
    return 1;
  }
  // Engine tuning is repeated when the guest's execve re-executes vireo.
  if (a.tc_size_mib != 16) o.reexec_options.push_back(fmt::format("--tc-size={}", a.tc_size_mib));
  if (a.no_chain) o.reexec_options.push_back("--no-chain");
  if (a.perfmap) o.reexec_options.push_back("--perfmap");
  if (a.no_jump_cache) o.reexec_options.push_back("--no-jump-cache");
  if (a.no_follow_calls) o.reexec_options.push_back("--no-follow-calls");
  if (!o.exec_in_place) o.reexec_options.push_back("--exec=reexec");
  if (a.translate_after_given)
    o.reexec_options.push_back(fmt::format("--translate-after={}", a.translate_after));
  if (a.startup_translate_after != RunArgs{}.startup_translate_after)
    o.reexec_options.push_back(fmt::format("--startup-translate-after={}", a.startup_translate_after));
  if (a.startup_translate_insns != RunArgs{}.startup_translate_insns)
    o.reexec_options.push_back(fmt::format("--startup-translate-insns={}", a.startup_translate_insns));
  if (a.blocks_per_doubling != RunArgs{}.blocks_per_doubling)
    o.reexec_options.push_back(fmt::format("--blocks-per-doubling={}", a.blocks_per_doubling));
  if (!a.sysroot.empty()) set_sysroot(a.sysroot);
  else if (const char* env = std::getenv("VIREO_LD_PREFIX")) set_sysroot(env);
  Process p(std::move(o));
  try {
    p.load();
  } catch (const ElfFatalSegv& e) {
    // Linux gets this far into execve and then kills the new process with SIGSEGV.
    diag_print(stderr, "vireo: guest terminated by SIGSEGV ({})\n", e.what());
    std::fflush(stderr);
    ::signal(SIGSEGV, SIG_DFL);
    ::raise(SIGSEGV);
    return 128 + SIGSEGV;
  } catch (const std::exception& e) {
    diag_print(stderr, "vireo: {}\n", e.what());
    return 1;
  }
  std::unique_ptr<gdb::UserDebugger> debugger;
  if (!a.gdb.empty()) {
    try {
      debugger = std::make_unique<gdb::UserDebugger>(p, gdb::StubOptions{a.gdb, a.gdb_disconnect == "kill"});
    } catch (const std::exception& e) {
      diag_print(stderr, "vireo: {}\n", e.what());
      return 1;
    }
    p.debugger = debugger.get();
  }
  int status = p.run();
  if (debugger) return status;
  // The guest has exited: what is left is freeing the engine's blocks, the decode cache, the
  // guest window, one by one, which the kernel does at once at exit (issue 22: the jit's
  // destructor was ~1% of an exec-heavy run). Files are flushed first, as exit(3) would.
  std::fflush(nullptr);
  ::_exit(status);
}

// RunArgs before any option: the defaults, and VIREO_TRANSLATE_AFTER's.
RunArgs initial_run_args() {
  RunArgs a;
  // (the tests of the translator itself run every block translated: VIREO_TRANSLATE_AFTER=0)
  if (const char* e = std::getenv("VIREO_TRANSLATE_AFTER"); e && *e) {
    a.translate_after = uint32_t(std::atoi(e));
    a.translate_after_given = true;
  }
  return a;
}

// `vireo run [--engine interp|jit] [--] PROGRAM ARGS...`, as people type it: no option of
// vireo's but the engine, so nothing for CLI11 to read but which engine and where PROGRAM
// starts. Fills `a` and says whether the command line was that form; anything else (any other
// option, --help, no PROGRAM, a PROGRAM named like an option, an engine other than the two) is
// CLI11's, with its answers and errors. (Other options are read by CLI11 only: a second reader
// of them would have to stay in step with its rules, ranges and errors. `--engine` is the one
// the bench and the tests give every run, and its rule is the two names: CLI11 with it cost
// ~54,000 instructions and 5 page faults a start, issue 22.)
bool parse_plain(int argc, char** argv, RunArgs& a) {
  int i = 2;
  auto engine = [&](const char* name) {
    const bool known = std::strcmp(name, "interp") == 0 || std::strcmp(name, "jit") == 0;
    if (known) a.engine = name;
    return known;
  };
  if (i + 1 < argc && std::strcmp(argv[i], "--engine") == 0) {
    if (!engine(argv[i + 1])) return false;
    i += 2;
  } else if (i < argc && std::strncmp(argv[i], "--engine=", 9) == 0) {
    if (!engine(argv[i] + 9)) return false;
    ++i;
  }
  if (i < argc && std::strcmp(argv[i], "--") == 0) ++i;  // (main.cpp: the first "--" ends vireo's options)
  // PROGRAM, and everything after it the guest's (CLI11's prefix mode)
  if (i >= argc || argv[i][0] == '\0' || argv[i][0] == '-') return false;
  a.command.assign(argv + i, argv + argc);
  return true;
}

}  // namespace

void run_if_plain(int argc, char** argv) {
  // Building the run command's option table in CLI11 and parsing with it was half of vireo's
  // instructions before the guest's first, ~0.15 ms (issue 22, "Start-up, thirteenth pass"); a
  // command line without options needs none of it.
  RunArgs a = initial_run_args();
  if (parse_plain(argc, argv, a)) std::exit(run(a));
}

namespace {

// `vireo run`'s options, in the order `vireo run --help` lists them: each one's CLI11 name and
// how it is added to the command (its type, help and check). CLI11 alone reads them. Adding an
// option to a CLI11 command costs ~15,000 instructions (two Option objects, their names split
// and compared with every earlier option's), ~380,000 for all 24, 45% of vireo's instructions
// before the guest's first: the command gets only those its command line names
// (add_run_command; issue 22, docs/performance-history.md "Start-up, fourteenth pass").
struct RunOption {
  const char* name;
  CLI::Option* (*add)(CLI::App& cmd, RunArgs& a, const char* name);
};

constexpr RunOption kRunOptions[] = {
    {"--engine",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.engine, "Execution engine: jit (default), interp")->check(CLI::IsMember({"interp", "jit"}));
     }},
    {"--cpu",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.cpu,
                           "CPU model the guest sees (or VIREO_CPU): default (= max: every feature Vireo "
                           "implements), max, x86-64-v3, x86-64-v2, x86-64");
     }},
    {"--tc-size",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.tc_size_mib, "jit: translation cache size in MiB (default 16)")->check(CLI::Range(1, 1024));
     }},
    {"--no-chain",
     [](CLI::App& c, RunArgs& a, const char* n) { return c.add_flag(n, a.no_chain, "jit: no direct block chaining"); }},
    {"--no-jump-cache",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_flag(n, a.no_jump_cache, "jit: no jump cache for indirect branches");
     }},
    {"--no-follow-calls",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_flag(n, a.no_follow_calls, "jit: end a block at a direct call instead of translating the callee into it");
     }},
    {"--translate-after",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c
           .add_option(n, a.translate_after,
                       "jit: interpret a block's first N entries, then translate it (default 8; 0: translate "
                       "at once; env VIREO_TRANSLATE_AFTER sets the default)")
           ->check(CLI::Range(0, 1 << 30));
     }},
    {"--startup-translate-after",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c
           .add_option(n, a.startup_translate_after,
                       "jit: without --translate-after, translate at the Nth entry during a thread's or forked child's "
                       "start-up: its first 300,000 interpreter-tier instructions, then until its first translation, "
                       "at most 1,200,000 (default 256; 0: no start-up phase)")
           ->check(CLI::Range(0, 1 << 30));
     }},
    {"--startup-translate-insns",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c
           .add_option(n, a.startup_translate_insns,
                       "jit: without --translate-after, translate a block due in the start-up phase once its "
                       "entries times its length reach N instructions (default 32768; 0: when due)")
           ->check(CLI::Range(0, 1 << 30));
     }},
    {"--blocks-per-doubling",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c
           .add_option(n, a.blocks_per_doubling,
                       "jit: without --translate-after, N doubles for every this many blocks in the "
                       "translation cache, up to 8 times N (default 8192; 0: N stays)")
           ->check(CLI::Range(0, 1 << 30));
     }},
    {"-d",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.debug, "jit: log items, comma-separated: in_asm,op,out_asm,exec");
     }},
    {"-D",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.log_file, "jit: write the -d log to FILE instead of stderr");
     }},
    {"--perfmap",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_flag(n, a.perfmap, "jit: write /tmp/perf-PID.map (each block's host code, named guest:PC) for perf report");
     }},
    {"-g",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.gdb,
                           "Wait for gdb on 127.0.0.1:PORT (0: any free port, printed) or a Unix socket PATH "
                           "before the first instruction");
     }},
    {"--gdb-disconnect",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.gdb_disconnect, "What a gdb that disconnects without detaching leaves: run (default) or kill")
           ->check(CLI::IsMember({"run", "kill"}));
     }},
    {"--exec",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c
           .add_option(n, a.exec,
                       "How a guest execve replaces the program: inplace (default: in this process; "
                       "vfork children and multi-threaded processes re-execute vireo) or reexec (always "
                       "re-execute vireo, for comparison)")
           ->check(CLI::IsMember({"inplace", "reexec"}));
     }},
    {"--stats",
     [](CLI::App& c, RunArgs& a, const char* n) { return c.add_flag(n, a.stats, "Print execution statistics at exit"); }},
    {"--strace",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_flag(n, a.strace, "Print each system call with arguments and result");
     }},
    {"-E",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.set_env, "Set VAR=VAL in the guest environment")->allow_extra_args(false);
     }},
    {"-U",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.unset_env, "Remove VAR from the guest environment")->allow_extra_args(false);
     }},
    {"--argv0",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.argv0, "argv[0] for the guest (default: PROGRAM)");
     }},
    {"--execfn",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.execfn, "AT_EXECFN for the guest, the name its execve was given (default: PROGRAM)");
     }},
    // (internal: an execve that re-executes vireo carries the thread's sigaltstack flags, which
    // Linux keeps across execve)
    {"--altstack-flags",
     [](CLI::App& c, RunArgs& a, const char* n) { return c.add_option(n, a.altstack_flags)->group(""); }},
    {"-L",
     [](CLI::App& c, RunArgs& a, const char* n) {
       return c.add_option(n, a.sysroot,
                           "Sysroot: absolute paths the guest names (its ELF interpreter, libraries, "
                           "files) are looked up under DIR first (default: $VIREO_LD_PREFIX, else /)");
     }},
};
constexpr size_t kRunOptionCount = sizeof kRunOptions / sizeof kRunOptions[0];

}  // namespace

void add_run_command(CLI::App& app, std::vector<char*>* words) {
  auto args = std::make_shared<RunArgs>(initial_run_args());
  CLI::App* run_cmd = app.add_subcommand("run", "Run an x86-64 Linux program (user mode)");
  CLI::Option* added[kRunOptionCount] = {};
  auto add = [&](size_t i) {
    if (!added[i]) added[i] = kRunOptions[i].add(*run_cmd, *args, kRunOptions[i].name);
    return added[i];
  };
  bool all = true;
  if (words) {
    // `vireo run [opts] [--] PROGRAM ...`: the options named before PROGRAM are added, and only
    // they, unless a word there is not one of the table's (-h, --help) or there is no PROGRAM,
    // or one named like an option: then all of them, for CLI11's help and errors. Which option
    // takes a value (`--engine jit`, `-d in_asm`; `--name=value` and `-dvalue` carry theirs) is
    // asked of the option itself.
    // `run` parses in CLI11's prefix mode (the first positional ends option parsing), where a
    // literal "--" would instead turn PROGRAM into an unexpected positional: the first "--"
    // after `run` is dropped, it means nothing more here.
    std::vector<char*>& w = *words;
    bool other = false;
    size_t j = 2;
    for (; j < w.size(); ++j) {
      if (std::strcmp(w[j], "--") == 0) {
        w.erase(w.begin() + long(j));
        break;
      }
      if (w[j][0] != '-') break;  // PROGRAM: a later "--" is the guest's
      const std::string_view arg = w[j];
      const std::string name(arg.starts_with("--") ? arg.substr(0, arg.find('=')) : arg.substr(0, 2));
      size_t i = 0;
      while (i < kRunOptionCount && name != kRunOptions[i].name) ++i;
      const CLI::Option* opt = i < kRunOptionCount ? add(i) : run_cmd->get_option_no_throw(name);
      // (prefix mode would take an unknown option for the program to run)
      if (!opt) throw CLI::ExtrasError({std::string(arg)});
      other = other || i == kRunOptionCount;
      if (name.size() == arg.size() && opt->get_type_size() > 0 && opt->get_expected_min() > 0) ++j;
    }
    all = other || j >= w.size() || w[j][0] == '-';
  }
  if (all) {
    for (size_t i = 0; i < kRunOptionCount; ++i) {
      if (added[i]) run_cmd->remove_option(added[i]);  // (again, in the table's order)
      added[i] = nullptr;
      add(i);
    }
  }
  // PROGRAM and everything after it belong to the guest, options included: CLI11's prefix
  // mode stops option parsing at the first positional and leaves the rest in remaining().
  run_cmd->prefix_command();
  run_cmd->footer("PROGRAM [ARGS...]: the program and its arguments; everything after PROGRAM "
                  "is passed to the guest.");
  run_cmd->final_callback([args, run_cmd] {
    if (const CLI::Option* o = run_cmd->get_option_no_throw("--translate-after"); o && o->count())
      args->translate_after_given = true;
    args->command = run_cmd->remaining();
    if (!args->command.empty() && args->command.front() == "--") args->command.erase(args->command.begin());
    if (args->command.empty()) throw CLI::RequiredError("PROGRAM");
    std::exit(run(*args));
  });
}

}  // namespace vireo::cli
