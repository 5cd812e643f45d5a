// vireo-difftest: runs instruction forms from random edge-biased states natively and on an
// engine, and reports every difference with a one-line replay command (docs/difftest.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <algorithm>
#include <map>
#include <regex>

#include "cpu/cpuid.h"
#include "compare.h"
#include "engine_runner.h"
#include "forms.h"
#include "native_runner.h"
#include "random_code.h"

using namespace vireo;
using namespace vireo::difftest;

namespace {

struct Options {
  std::string engine = "interp";
  uint64_t seed = 1;
  unsigned cases_per_form = 200;
  std::string filter;
  bool sequences = false;
  unsigned sequence_count = 2000;
  // Instructions per sequence, drawn uniformly from [min, max]. The default 2-20 is part of
  // every existing sequence reproducer: it must stay so that they replay identically.
  std::string sequence_length = "2-20";
  unsigned seq_min = 2, seq_max = 20;
  bool avoid_faults = false;
  double seconds = 0;
  bool list = false;
  bool coverage = false;
  bool all_families = false;
  long only_case = -1;
  unsigned max_reports = 40;
  bool verbose = false;
  std::vector<std::string> families;
};

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h;
}

std::string regex_quote(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (std::strchr("\\^$.|?*+()[]{}", c)) r += '\\';
    r += c;
  }
  return r;
}

struct Tally {
  unsigned forms = 0, forms_failing = 0, forms_unimplemented = 0;
  uint64_t cases = 0, mismatches = 0, native_faults = 0;
};

class Runner {
 public:
  Runner(const Options& o) : o_(o), engine_(o.engine) {
    auto [addr, len] = engine_.window();
    native_.unmap_in_child(addr, len);
  }

  // Runs `cases`, compares, reports; returns the number of mismatching cases.
  // `masks_for` gives the masks for a case given the native result.
  template <class MaskFn, class TitleFn>
  unsigned run_batch(std::vector<Case>& cases, MaskFn masks_for, TitleFn title, bool show_xmm,
                     bool show_x87, bool* engine_ud, uint64_t* native_faults = nullptr) {
    results_n_.resize(cases.size());
    results_e_.resize(cases.size());
    unsigned bad = 0;
    for (size_t start = 0; start < cases.size(); start += NativeRunner::kMaxBatch) {
      size_t n = std::min(cases.size() - start, NativeRunner::kMaxBatch);
      native_.run(cases.data() + start, n, results_n_.data() + start);
      for (size_t i = start; i < start + n; ++i) {
        engine_.run(cases[i], results_e_[i]);
        normalize(cases[i], results_n_[i]);
        normalize(cases[i], results_e_[i]);
        if (native_faults && results_n_[i].end != EndKind::Completed) ++*native_faults;
        auto d = compare(cases[i], results_n_[i], results_e_[i], masks_for(cases[i], results_n_[i]));
        if (o_.verbose)
          fmt::print("  case {}: native {} rip=0x{:x}, engine {} rip=0x{:x}{}\n", i, end_name(results_n_[i].end),
                     results_n_[i].state.rip, end_name(results_e_[i].end), results_e_[i].state.rip,
                     d.empty() ? "" : "  MISMATCH");
        if (d.empty()) continue;
        ++bad;
        if (engine_ud && results_e_[i].end == EndKind::Sigill && results_n_[i].end != EndKind::Sigill)
          *engine_ud = true;
        if (reports_ < o_.max_reports && (bad == 1 || o_.only_case >= 0 || o_.sequences)) {
          ++reports_;
          auto [t, replay] = title(i);
          print_report(t.c_str(), cases[i], d, show_xmm, show_x87, replay);
        }
      }
    }
    return bad;
  }

  const Options& o_;
  NativeRunner native_;  // first: its fixed mappings must exist before the AddressSpace
  EngineRunner engine_;
  std::vector<CaseResult> results_n_, results_e_;
  unsigned reports_ = 0;
};

std::string replay_line(const Options& o, const std::string& filter, long k, bool seq) {
  // Sequences draw from the whole selected pool, so its selection is part of the replay.
  std::string sel;
  if (seq && !o.families.empty()) sel += fmt::format(" --families {}", fmt::join(o.families, ","));
  if (seq && o.all_families) sel += " --all-families";
  if (seq && (o.seq_min != 2 || o.seq_max != 20))
    sel += fmt::format(" --sequence-length {}-{}", o.seq_min, o.seq_max);
  if (seq && o.avoid_faults) sel += " --avoid-faults";
  return fmt::format("vireo-difftest --engine {} --seed {}{}{} --filter '{}' --case {}", o.engine,
                     o.seed, seq ? " --sequences" : "", sel, filter, k);
}

// Parses --sequence-length: "N" or "MIN-MAX", within 1..kMaxInsns.
bool parse_sequence_length(const std::string& s, unsigned& lo, unsigned& hi) {
  unsigned a = 0, b = 0;
  int used = 0;
  bool range = std::sscanf(s.c_str(), "%u-%u%n", &a, &b, &used) == 2 && size_t(used) == s.size();
  if (!range) {
    if (std::sscanf(s.c_str(), "%u%n", &a, &used) != 1 || size_t(used) != s.size()) return false;
    b = a;
  }
  if (a < 1 || a > b || b > unsigned(kMaxInsns)) return false;
  lo = a;
  hi = b;
  return true;
}

// --strict-flags: undefined flags are compared too (the engines follow this host's rules for
// them; docs/difftest.md, "Undefined flags").
bool g_strict_flags = false;

Masks single_masks(const Case& c, const CaseResult&) {
  FlagInfo fi = flag_info(c.code, c.code_len);
  Masks m;
  m.flags = kFlagsCompared & ~(g_strict_flags ? 0 : fi.undefined);
  m.fsw = uint16_t(~fi.fsw_undefined);
  m.result_undefined = result_undefined(c.code, c.code_len, &c.in.gpr[RCX]);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vireo-difftest: instruction forms natively vs on a Vireo engine"};
  app.add_option("--engine", o.engine, "engine under test (interp, jit)");
  app.add_option("--seed", o.seed, "random seed");
  app.add_option("--cases-per-form", o.cases_per_form, "cases per form");
  app.add_option("--filter", o.filter, "regex over form names (e.g. '^add r64, m64$')");
  app.add_flag("--sequences", o.sequences, "random straight-line runs of instructions");
  app.add_option("--sequence-count", o.sequence_count, "sequences to run with --sequences");
  app.add_option("--sequence-length", o.sequence_length,
                 fmt::format("instructions per sequence, MIN-MAX or N (default 2-20, at most {})",
                             kMaxInsns));
  app.add_option("--seconds", o.seconds, "stop starting new forms/batches after S seconds");
  app.add_flag("--avoid-faults", o.avoid_faults,
               "sequences leave out instances that fault predictably (div, bt m,r, misaligned m128)");
  app.add_flag("--strict-flags", g_strict_flags,
               "compare the flags the manual leaves undefined too (single instructions)");
  app.add_flag("--list", o.list, "list the forms and exit");
  app.add_flag("--coverage", o.coverage, "print a Markdown coverage table per family");
  app.add_flag("--all-families", o.all_families,
               "also run families the engine's CPUID does not advertise");
  app.add_option("--case", o.only_case, "run only case K (replay)");
  app.add_option("--max-reports", o.max_reports, "reproducers printed at most");
  app.add_option("--families", o.families, "only these families (alu,shift,...,x87)")->delimiter(',');
  app.add_flag("-v,--verbose", o.verbose, "one line per case: how each side ended");
  bool random_code = false;
  uint64_t random_count = 1000;
  app.add_flag("--random-code", random_code,
               "random instruction bytes instead of forms (docs/difftest.md, \"Random code\")");
  app.add_option("--random-count", random_count, "cases with --random-code");
  std::string cpu_model;
  app.add_option("--cpu", cpu_model, "CPU model the engines advertise (as vireo run --cpu: default, max, ...)");
  CLI11_PARSE(app, argc, argv);
  if (!cpu_model.empty()) {
    std::string error;
    if (!select_cpu_model(cpu_model, error)) {
      fmt::print(stderr, "vireo-difftest: {}\n", error);
      return 2;
    }
  }
  if (!EngineRunner::known(o.engine)) {
    fmt::print(stderr, "vireo-difftest: unknown engine '{}'\n", o.engine);
    return 2;
  }
  if (random_code) {
    RandomCodeOptions ro;
    ro.engine = o.engine;
    ro.seed = o.seed;
    ro.count = random_count;
    ro.only_case = o.only_case;
    ro.max_reports = o.max_reports;
    ro.verbose = o.verbose;
    return run_random_code(ro) == 0 ? 0 : 1;
  }
  if (!parse_sequence_length(o.sequence_length, o.seq_min, o.seq_max)) {
    fmt::print(stderr, "vireo-difftest: --sequence-length wants N or MIN-MAX with 1 <= MIN <= MAX <= {}, not '{}'\n",
               kMaxInsns, o.sequence_length);
    return 2;
  }
  if (o.coverage) o.all_families = true;

  std::regex re(o.filter);
  std::vector<Form> forms;
  for (Form& f : enumerate_forms(o.all_families))
    if ((o.filter.empty() || std::regex_search(f.name, re)) &&
        (o.families.empty() || std::find(o.families.begin(), o.families.end(),
                                         family_name(f.family)) != o.families.end()))
      forms.push_back(std::move(f));
  if (o.list) {
    for (auto& f : forms) fmt::print("{:<9} {}\n", family_name(f.family), f.name);
    fmt::print("forms {}, cases 0, mismatches 0\n", forms.size());
    return 0;
  }

  Runner r(o);
  auto t0 = std::chrono::steady_clock::now();
  auto out_of_time = [&] {
    return o.seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > o.seconds;
  };
  std::map<Family, Tally> tally;
  uint64_t total_cases = 0, total_bad = 0;
  unsigned total_forms = 0;

  if (!o.sequences) {
    std::vector<Case> cases;
    for (const Form& f : forms) {
      if (out_of_time()) break;
      cases.clear();
      long first = o.only_case >= 0 ? o.only_case : 0;
      long last = o.only_case >= 0 ? o.only_case + 1 : long(o.cases_per_form);
      std::vector<long> ids;
      for (long k = first; k < last; ++k) {
        Rng rng(mix(mix(o.seed, hash(f.name)), uint64_t(k)));
        Case c{};
        random_state(f.family, rng, c.in, c.scratch);
        size_t len = instantiate(f, Mode::Single, rng, kCodeAddr, c.in, c.scratch, c.code);
        if (len == 0) continue;
        c.code_len = uint32_t(len);
        c.ninsns = 1;
        c.insn_off[0] = 0;
        c.insn_off[1] = uint16_t(len);
        cases.push_back(c);
        ids.push_back(k);
      }
      bool engine_ud = false;
      std::string fq = "^" + regex_quote(f.name) + "$";
      unsigned bad = r.run_batch(
          cases, single_masks,
          [&](size_t i) {
            return std::make_pair(fmt::format("[{}] {}  case {}", family_name(f.family), f.name, ids[i]),
                                  replay_line(o, fq, ids[i], false));
          },
          (f.family >= Family::SseMove && f.family <= Family::Sse41) || f.family >= Family::Fma,
          f.family == Family::X87,
          &engine_ud, &tally[f.family].native_faults);
      Tally& t = tally[f.family];
      ++t.forms;
      t.cases += cases.size();
      t.mismatches += bad;
      if (bad) ++t.forms_failing;
      if (engine_ud) ++t.forms_unimplemented;
      ++total_forms;
      total_cases += cases.size();
      total_bad += bad;
    }
  } else {
    std::vector<const Form*> pool;
    for (auto& f : forms)
      if (f.in_sequences && (!f.sequences_on_request || !o.families.empty())) pool.push_back(&f);
    total_forms = unsigned(pool.size());
    bool pool_has_avx = false;  // then the YMM upper halves start random too
    for (const Form* f : pool) pool_has_avx |= is_avx_family(f->family);
    if (pool.empty()) {
      fmt::print("forms 0, cases 0, mismatches 0\n");
      return 0;
    }
    std::vector<Case> cases;
    std::vector<std::vector<uint64_t>> undef;  // per case: undefined flags before each insn, then at end
    std::vector<long> ids;
    long first = o.only_case >= 0 ? o.only_case : 0;
    long last = o.only_case >= 0 ? o.only_case + 1 : long(o.sequence_count);
    uint64_t seq_native_faults = 0, seq_insns = 0;
    for (long base = first; base < last && !out_of_time(); base += 256) {
      cases.clear();
      undef.clear();
      ids.clear();
      for (long k = base; k < std::min(last, base + 256); ++k) {
        Rng rng(mix(mix(o.seed, hash("sequence")), uint64_t(k)));
        Case c{};
        random_state(Family::Alu, rng, c.in, c.scratch);
        if (pool_has_avx) random_ymm_hi(rng, c.in);
        c.in.gpr[kSeqBase] = kSeqBaseValue;
        unsigned n = o.seq_min + unsigned(rng() % (o.seq_max - o.seq_min + 1));
        uint64_t U = 0;
        std::vector<uint64_t> u;
        uint32_t off = 0;
        for (unsigned i = 0; i < n; ++i) {
          // Never let an instruction consume a flag an earlier one left undefined.
          for (int tries = 0; tries < 64; ++tries) {
            const Form& f = *pool[rng() % pool.size()];
            uint8_t buf[16];
            CaseState probe = c.in;
            size_t len = instantiate(f, Mode::Sequence, rng, kCodeAddr + off, probe, c.scratch, buf);
            if (len == 0) continue;
            FlagInfo fi = flag_info(buf, len);
            if (fi.tested & U) continue;
            if (result_undefined(buf, len, nullptr)) continue;
            if (o.avoid_faults && faults_predictably(buf, len, kCodeAddr + off)) continue;
            u.push_back(U);
            c.in = probe;
            std::memcpy(c.code + off, buf, len);
            c.insn_off[c.ninsns++] = uint16_t(off);
            off += uint32_t(len);
            U = fi.keeps_old_when_count_zero ? (U | fi.undefined) : ((U & ~fi.defined) | fi.undefined);
            break;
          }
        }
        c.code_len = off;
        c.insn_off[c.ninsns] = uint16_t(off);
        u.push_back(U);
        c.in.gpr[kSeqBase] = kSeqBaseValue;
        cases.push_back(c);
        undef.push_back(u);
        ids.push_back(k);
      }
      unsigned bad = r.run_batch(
          cases,
          [&](const Case& c, const CaseResult& nat) {
            // The flags undefined at the point the native run stopped.
            size_t ci = size_t(&c - cases.data());
            const auto& u = undef[ci];
            uint64_t U = u.back();
            for (uint32_t i = 0; i < c.ninsns; ++i)
              if (nat.state.rip == kCodeAddr + c.insn_off[i]) U = u[i];
            Masks m;
            m.flags = kFlagsCompared & ~U;
            return m;
          },
          [&](size_t i) {
            return std::make_pair(fmt::format("[sequence] {} instructions  case {}", cases[i].ninsns, ids[i]),
                                  replay_line(o, o.filter, ids[i], true));
          },
          true, false, nullptr, &seq_native_faults);
      // How deep the sequences got natively: a fault ends a sequence early, which is what
      // limits how much a long sequence really tests.
      for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        uint32_t done = c.ninsns;
        for (uint32_t j = 0; j < c.ninsns; ++j)
          if (r.results_n_[i].state.rip == kCodeAddr + c.insn_off[j]) done = j;
        seq_insns += done;
      }
      total_cases += cases.size();
      total_bad += bad;
    }
    if (total_cases)
      fmt::print("sequences of {}-{} instructions: {} natively ran to the end, {} stopped at a fault; "
                 "{:.1f} instructions run natively per sequence\n",
                 o.seq_min, o.seq_max, total_cases - seq_native_faults, seq_native_faults,
                 double(seq_insns) / double(total_cases));
  }

  if (!o.sequences) {
    fmt::print("\n| family | forms | cases | natively faulting | mismatching cases | failing forms | engine #UD forms |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|---:|\n");
    for (auto& [fam, t] : tally)
      fmt::print("| {} | {} | {} | {} | {} | {} | {} |\n", family_name(fam), t.forms, t.cases,
                 t.native_faults, t.mismatches, t.forms_failing, t.forms_unimplemented);
    if (o.coverage) {
      fmt::print("\n| family | advertised | forms covered | implemented (no spurious #UD) | passing |\n");
      fmt::print("|---|---|---:|---:|---:|\n");
      for (auto& [fam, t] : tally)
        fmt::print("| {} | {} | {} | {} | {} |\n", family_name(fam),
                   family_advertised(fam) ? "yes" : "no", t.forms, t.forms - t.forms_unimplemented,
                   t.forms - t.forms_failing);
    }
    fmt::print("\n");
  }
  fmt::print("forms {}, cases {}, mismatches {}\n", total_forms, total_cases, total_bad);
  return total_bad == 0 ? 0 : 1;
}
