// ELF robustness corpus: builds a few hundred mutated ELF files from a valid static program
// and runs `vireo run` on each. Every file must end one of two ways:
//   rejected — exit status 1 and exactly one stderr line "vireo: <why>";
//   ran      — the guest ran: a normal exit, or "vireo: guest terminated by SIGxxx" and Vireo
//              killed by that same signal (as the guest would be natively);
// and never by another host signal or with "internal error". Mutations with a known answer (wrong
// class, PT_INTERP, truncated headers, ...) must get that answer.
//
// usage: vireo-elf-corpus VIREO SEED_ELF WORKDIR
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

enum class Expect { Reject, RunOk, Any };

struct Case {
  std::string name;
  std::string path;
  Expect expect;
  std::string stderr_must_contain;  // for rejections with a specific reason
};

using Bytes = std::vector<uint8_t>;

Bytes read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  chmod(path.c_str(), 0755);
}

template <class T>
T get(const Bytes& b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}
template <class T>
void put(Bytes& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}

struct Result {
  bool host_signal = false, timed_out = false;
  int status = -1, signo = 0;
  std::string out, err;
};

Result run_vireo(const std::string& vireo, const std::string& file, const std::string& work) {
  std::string out_path = work + "/last.out", err_path = work + "/last.err";
  pid_t pid = fork();
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execl(vireo.c_str(), vireo.c_str(), "run", "--", file.c_str(), (char*)nullptr);
    _exit(127);
  }
  Result r;
  int st = 0;
  // A mutated entry point may make the guest spin forever: that is a guest run, cut short.
  for (int waited_ms = 0;; ++waited_ms) {
    if (waitpid(pid, &st, WNOHANG) == pid) break;
    if (waited_ms == 3000) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r.timed_out = true;
      break;
    }
    timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
  }
  if (!r.timed_out && WIFSIGNALED(st)) {
    r.host_signal = true;
    r.signo = WTERMSIG(st);
  }
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s VIREO SEED_ELF WORKDIR\n", argv[0]);
    return 2;
  }
  const std::string vireo = argv[1], seed_path = argv[2], work = argv[3];
  mkdir(work.c_str(), 0755);
  const Bytes seed = read_all(seed_path);
  if (seed.size() < sizeof(Elf64_Ehdr) || std::memcmp(seed.data(), ELFMAG, SELFMAG) != 0) {
    std::fprintf(stderr, "seed %s is not an ELF file\n", seed_path.c_str());
    return 2;
  }
  const auto eh = get<Elf64_Ehdr>(seed, 0);
  auto ph_off = [&](int i) { return size_t(eh.e_phoff) + size_t(i) * sizeof(Elf64_Phdr); };
  std::vector<int> loads;
  int spare = -1;  // a non-LOAD program header we can turn into something else
  size_t needed = eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr);
  for (int i = 0; i < eh.e_phnum; ++i) {
    auto p = get<Elf64_Phdr>(seed, ph_off(i));
    if (p.p_type == PT_LOAD) {
      loads.push_back(i);
      needed = std::max<size_t>(needed, p.p_offset + p.p_filesz);
    } else if (spare < 0) {
      spare = i;
    }
  }
  if (loads.empty() || spare < 0) {
    std::fprintf(stderr, "seed needs a PT_LOAD and one other program header\n");
    return 2;
  }

  std::vector<Case> cases;
  int serial = 0;
  auto add = [&](const std::string& name, const Bytes& b, Expect e, std::string must = "") {
    std::string path = work + "/" + std::to_string(serial++) + "-" + name;
    write_all(path, b);
    cases.push_back({name, path, e, must});
  };
  auto mutate = [&](const std::string& name, Expect e, const std::function<void(Bytes&)>& f,
                    std::string must = "") {
    Bytes b = seed;
    f(b);
    add(name, b, e, must);
  };

  add("valid", seed, Expect::RunOk);

  // Truncations: every 4 bytes through the headers, then spread over the whole file.
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 400 && n < seed.size(); n += 4) cuts.push_back(n);
  for (int i = 1; i <= 48; ++i) cuts.push_back(seed.size() * size_t(i) / 49);
  for (size_t n : cuts) {
    Bytes b(seed.begin(), seed.begin() + long(n));
    add("trunc" + std::to_string(n), b, n < needed ? Expect::Reject : Expect::Any);
  }

  // Fixed header faults with a known answer.
  mutate("class32", Expect::Reject, [](Bytes& b) { b[EI_CLASS] = ELFCLASS32; }, "64-bit");
  mutate("bigendian", Expect::Reject, [](Bytes& b) { b[EI_DATA] = ELFDATA2MSB; }, "little-endian");
  mutate("machine386", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 18, EM_386); }, "x86-64");
  mutate("machineaarch64", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 18, EM_AARCH64); }, "x86-64");
  mutate("typerel", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 16, ET_REL); });
  mutate("typecore", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 16, ET_CORE); });
  mutate("badmagic", Expect::Reject, [](Bytes& b) { b[1] = 'X'; }, "not an ELF");
  mutate("phentsize", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 54, 32); });
  mutate("phnum0", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 56, 0); });
  mutate("phnumffff", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 56, 0xffff); });
  mutate("phnum500", Expect::Reject, [](Bytes& b) { put<uint16_t>(b, 56, 500); });
  mutate("phoffhuge", Expect::Reject, [](Bytes& b) { put<uint64_t>(b, 32, ~uint64_t(0) - 8); });
  mutate("phoffend", Expect::Reject, [&](Bytes& b) { put<uint64_t>(b, 32, seed.size() - 8); });
  mutate("entry0", Expect::Reject, [](Bytes& b) { put<uint64_t>(b, 24, 0); });
  mutate("entrykernel", Expect::Reject, [](Bytes& b) { put<uint64_t>(b, 24, 0xffffffff81000000ull); });
  mutate("entryhigh", Expect::Reject, [](Bytes& b) { put<uint64_t>(b, 24, 0x7ffff0000000ull); });

  // Segment faults.
  const int L0 = loads.front(), LN = loads.back();
  auto seg = [&](Bytes& b, int i) { return get<Elf64_Phdr>(b, ph_off(i)); };
  auto set_seg = [&](Bytes& b, int i, const Elf64_Phdr& p) { put(b, ph_off(i), p); };
  for (uint64_t memsz : {uint64_t(1) << 46, uint64_t(1) << 63, ~uint64_t(0), uint64_t(1) << 44,
                         uint64_t(1) << 40}) {
    mutate("memsz" + std::to_string(memsz), Expect::Any, [&](Bytes& b) {
      auto p = seg(b, LN);
      p.p_memsz = memsz;
      set_seg(b, LN, p);
    });
  }
  mutate("filesz_gt_memsz", Expect::Reject, [&](Bytes& b) {
    auto p = seg(b, L0);
    p.p_filesz = p.p_memsz + 4096;
    set_seg(b, L0, p);
  });
  // Linux maps such a segment and runs the program (issue 21 item 13); so does Vireo, with
  // the missing bytes read as zero.
  mutate("filesz_past_eof", Expect::RunOk, [&](Bytes& b) {
    auto p = seg(b, L0);
    p.p_filesz = p.p_memsz = seed.size() + 100000;
    set_seg(b, L0, p);
  });
  mutate("offset_huge", Expect::Reject, [&](Bytes& b) {
    auto p = seg(b, L0);
    p.p_offset = ~uint64_t(0) & ~uint64_t(0xfff);
    set_seg(b, L0, p);
  });
  for (uint64_t va : {0xfffffffffffff000ull, 0x7ffffffff000ull, 0x3ffffffff000ull, 0x0ull,
                      0x1000ull, 0xffff800000000000ull}) {
    mutate("vaddr" + std::to_string(va), Expect::Any, [&](Bytes& b) {
      auto p = seg(b, L0);
      p.p_vaddr = p.p_paddr = va + (p.p_offset & 0xfff);
      set_seg(b, L0, p);
    });
  }
  mutate("vaddr_wrap", Expect::Reject, [&](Bytes& b) {
    auto p = seg(b, LN);
    p.p_vaddr = 0xfffffffffffff000ull + (p.p_offset & 0xfff);
    p.p_memsz = 0x10000;
    set_seg(b, LN, p);
  });
  mutate("misaligned", Expect::Reject, [&](Bytes& b) {
    auto p = seg(b, L0);
    p.p_vaddr += 1;
    p.p_align = 4096;
    set_seg(b, L0, p);
  });
  mutate("overlap_all_loads", Expect::Any, [&](Bytes& b) {
    for (int i : loads) {
      auto p = seg(b, i);
      auto first = seg(b, L0);
      p.p_vaddr = first.p_vaddr - (first.p_offset & 0xfff) + (p.p_offset & 0xfff);
      set_seg(b, i, p);
    }
  });
  mutate("duplicate_load", Expect::Any, [&](Bytes& b) { set_seg(b, spare, seg(b, L0)); });
  mutate("no_loads", Expect::Reject, [&](Bytes& b) {
    for (int i : loads) {
      auto p = seg(b, i);
      p.p_type = PT_NOTE;
      set_seg(b, i, p);
    }
  });
  mutate("all_memsz0", Expect::Reject, [&](Bytes& b) {
    for (int i : loads) {
      auto p = seg(b, i);
      p.p_memsz = p.p_filesz = 0;
      set_seg(b, i, p);
    }
  });
  mutate("interp", Expect::Reject, [&](Bytes& b) {
    Elf64_Phdr p{};
    p.p_type = PT_INTERP;
    p.p_offset = 64;  // any bytes: not a NUL-terminated name of an interpreter that exists
    p.p_filesz = p.p_memsz = 16;
    set_seg(b, spare, p);
  }, "ELF interpreter");
  mutate("interp_bad_offset", Expect::Reject, [&](Bytes& b) {
    Elf64_Phdr p{};
    p.p_type = PT_INTERP;
    p.p_offset = ~uint64_t(0) - 4;
    p.p_filesz = p.p_memsz = 4096;
    set_seg(b, spare, p);
  }, "ELF interpreter");
  mutate("stack_exec", Expect::RunOk, [&](Bytes& b) {
    Elf64_Phdr p{};
    p.p_type = PT_GNU_STACK;
    p.p_flags = PF_R | PF_W | PF_X;
    set_seg(b, spare, p);
  });

  // Random byte flips, deterministic: in the ELF header, then in the program headers.
  std::mt19937_64 rng(0x5eed'e1f0);
  for (int i = 0; i < 70; ++i) {
    mutate("ehflip" + std::to_string(i), Expect::Any, [&](Bytes& b) {
      int n = 1 + int(rng() % 3);
      for (int k = 0; k < n; ++k) b[rng() % sizeof(Elf64_Ehdr)] = uint8_t(rng());
    });
  }
  size_t ph_bytes = eh.e_phnum * sizeof(Elf64_Phdr);
  for (int i = 0; i < 110; ++i) {
    mutate("phflip" + std::to_string(i), Expect::Any, [&](Bytes& b) {
      int n = 1 + int(rng() % 4);
      for (int k = 0; k < n; ++k) {
        size_t off = eh.e_phoff + rng() % ph_bytes;
        // Half the time flip one bit (near-valid values), else a random byte.
        if (rng() & 1) b[off] ^= uint8_t(1u << (rng() % 8));
        else b[off] = uint8_t(rng());
      }
    });
  }

  // Not ELF files at all.
  add("empty", {}, Expect::Reject);
  add("text", Bytes{'h', 'e', 'l', 'l', 'o', '\n'}, Expect::Reject, "not an ELF");
  add("script", Bytes{'#', '!', '/', 'b', 'i', 'n', '/', 's', 'h', '\n'}, Expect::Reject);
  add("magic_only", Bytes{0x7f, 'E', 'L', 'F'}, Expect::Reject, "truncated");
  cases.push_back({"directory", work, Expect::Reject, "directory"});
  cases.push_back({"nonexistent", work + "/does/not/exist", Expect::Reject, "No such file"});
  cases.push_back({"devnull", "/dev/null", Expect::Reject, "not a regular file"});
  std::string fifo = work + "/fifo";
  unlink(fifo.c_str());
  if (mkfifo(fifo.c_str(), 0644) == 0) cases.push_back({"fifo", fifo, Expect::Reject, "not a regular file"});
  std::string sparse = work + "/sparse4g";
  {
    Bytes b(seed.begin(), seed.begin() + 64);
    b[EI_CLASS] = ELFCLASS32;  // reject after the header; the size must not matter
    write_all(sparse, b);
    if (truncate(sparse.c_str(), off_t(4) << 30) == 0)
      cases.push_back({"sparse4g", sparse, Expect::Reject, "64-bit"});
  }

  int failures = 0, rejected = 0, ran = 0, terminated = 0, timeouts = 0;
  for (const Case& c : cases) {
    Result r = run_vireo(vireo, c.path, work);
    std::string why;
    bool one_line = count_lines(r.err) == 1 && r.err.rfind("vireo: ", 0) == 0;
    bool is_reject = !r.host_signal && !r.timed_out && r.status == 1 && one_line &&
                     r.err.find("guest terminated") == std::string::npos;
    size_t term = r.err.find("vireo: guest terminated by SIG");
    // A guest killed by a signal ends Vireo by that very signal (so that a parent's waitpid
    // sees it as natively), after the one diagnostic line naming it.
    bool guest_death = r.host_signal && term != std::string::npos && sigabbrev_np(r.signo) &&
                       r.err.compare(term + 30, std::strlen(sigabbrev_np(r.signo)) + 1,
                                     std::string(sigabbrev_np(r.signo)) + " ") == 0;
    if (r.host_signal && !guest_death) why = "vireo died by host signal " + std::to_string(r.signo);
    else if (r.err.find("internal error") != std::string::npos) why = "internal error";
    else if (c.expect == Expect::Reject && !is_reject) why = "expected a one-line rejection with status 1";
    else if (c.expect == Expect::Reject && r.err.find(c.stderr_must_contain) == std::string::npos)
      why = "rejection does not mention '" + c.stderr_must_contain + "'";
    else if (c.expect == Expect::RunOk && (r.status != 0 || r.out != "ok\n"))
      why = "expected the guest to print ok and exit 0";
    else if (term != std::string::npos && !r.host_signal) why = "guest signal line, but vireo did not die by it";
    if (!why.empty()) {
      ++failures;
      std::printf("FAIL %-22s %s (status %d%s)\n  stderr: %s\n", c.name.c_str(), why.c_str(),
                  r.status, r.timed_out ? ", timed out" : "", r.err.substr(0, 400).c_str());
      continue;
    }
    if (r.timed_out) ++timeouts;
    else if (is_reject) ++rejected;
    else if (term != std::string::npos) ++terminated;
    else ++ran;
  }
  unlink(fifo.c_str());
  unlink(sparse.c_str());
  std::printf("%zu files: %d rejected, %d ran, %d guest signals, %d timed out (guest loops), %d failures\n",
              cases.size(), rejected, ran, terminated, timeouts, failures);
  return failures ? 1 : 0;
}
