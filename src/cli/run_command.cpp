// `vireo run [options] [--] PROGRAM [ARGS...]`: run a static x86-64 Linux program.
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>

#include "cli/commands.h"
#include "interp/interpreter.h"
#include "linux/elf_loader.h"
#include "linux/process.h"

extern char** environ;

namespace vireo::cli {

namespace {

struct RunArgs {
  std::string engine = "interp";
  bool stats = false;
  bool strace = false;
  std::vector<std::string> set_env;
  std::vector<std::string> unset_env;
  std::string argv0;
  std::vector<std::string> command;  // PROGRAM ARGS...
};

std::unique_ptr<Engine> make_engine(const std::string& name, const GuestMemory& mem) {
  if (name == "interp") return std::make_unique<Interpreter>(mem);
  throw std::runtime_error(fmt::format("unknown engine '{}' (available: interp)", name));
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
  o.program = a.command.front();
  o.argv = a.command;
  if (!a.argv0.empty()) o.argv[0] = a.argv0;
  o.env = guest_environment(a);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  o.vireo_path = n > 0 ? std::string(self, size_t(n)) : "vireo";
  std::string engine = a.engine;
  o.make_engine = [engine](const GuestMemory& m) { return make_engine(engine, m); };
  Process p(std::move(o));
  try {
    p.load();
  } catch (const std::exception& e) {
    fmt::print(stderr, "vireo: {}\n", e.what());
    return 1;
  }
  return p.run();
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run_cmd = app.add_subcommand("run", "Run a static x86-64 Linux program (user mode)");
  run_cmd->add_option("--engine", args->engine, "Execution engine: interp")
      ->check(CLI::IsMember({"interp"}));
  run_cmd->add_flag("--stats", args->stats, "Print execution statistics at exit");
  run_cmd->add_flag("--strace", args->strace, "Print each system call with arguments and result");
  run_cmd->add_option("-E", args->set_env, "Set VAR=VAL in the guest environment")
      ->allow_extra_args(false);
  run_cmd->add_option("-U", args->unset_env, "Remove VAR from the guest environment")
      ->allow_extra_args(false);
  run_cmd->add_option("--argv0", args->argv0, "argv[0] for the guest (default: PROGRAM)");
  // PROGRAM and everything after it belong to the guest, options included: CLI11's prefix
  // mode stops option parsing at the first positional and leaves the rest in remaining().
  run_cmd->prefix_command();
  run_cmd->footer("PROGRAM [ARGS...]: the program and its arguments; everything after PROGRAM "
                  "is passed to the guest.");
  run_cmd->final_callback([args, run_cmd] {
    args->command = run_cmd->remaining();
    if (!args->command.empty() && args->command.front() == "--") args->command.erase(args->command.begin());
    if (args->command.empty()) throw CLI::RequiredError("PROGRAM");
    std::exit(run(*args));
  });
}

}  // namespace vireo::cli
