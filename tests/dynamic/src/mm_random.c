// The mm differential test: a seeded random sequence of mmap, munmap, mremap, mprotect,
// madvise and brk inside an arena of this program's own, printing every result (addresses as
// offsets into the arena) and, every few steps, what each page of the arena holds: mapped or
// not, readable or not, and a checksum of its bytes. Natively and under Vireo the output must be
// identical. mremap is called in every way (in place, MREMAP_MAYMOVE, MREMAP_FIXED,
// MREMAP_DONTUNMAP, and with arguments Linux refuses); where the kernel chooses the new address,
// the moved pages are printed and unmapped, since native and Vireo choose differently. Usage: mm_random SEED STEPS [OPS], OPS the operations to use: m mmap, u munmap,
// p mprotect, r mremap, a madvise, b brk (default: all of them).
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 256
#define PAGE 4096
static uint8_t* arena;
static uint64_t rng;
static sigjmp_buf probe_env;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static unsigned pick(unsigned n) { return (unsigned)(next() % n); }
// No PROT_EXEC alone: whether an execute-only page can be read depends on the CPU. Where it
// has protection keys, Linux backs PROT_EXEC alone with one that forbids reads (execute-only
// memory); without them PROT_EXEC implies PROT_READ. Vireo's virtual CPU has no protection
// keys (CPUID.7.0:ECX.PKU = 0, as qemu-x86_64's), so it does the latter, and a native run on
// a host with them (an Intel Xeon of this project's CI) reads such pages as unreadable.
static int prot_of(unsigned r) {
  static const int p[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
                          PROT_READ | PROT_WRITE | PROT_EXEC, PROT_WRITE | PROT_EXEC};
  return p[r % 6];
}
static void on_segv(int s) { siglongjmp(probe_env, 1); }

static void report(const char* op, long r) {
  if (r == -1) printf("%s = -%s\n", op, strerrorname_np(errno));
  else printf("%s = %+ld\n", op, r);
}
static long rel(void* p) { return p == MAP_FAILED ? -1 : (long)((uint8_t*)p - arena) / PAGE; }

// One letter per page ('.' unmapped, 'n' not readable, 'z' zeros, 'D' data) and a summary.
static void pages(uint8_t* base, int n) {
  unsigned char vec;
  uint32_t summary = 0;
  for (int i = 0; i < n; ++i) {
    uint8_t* p = base + (size_t)i * PAGE;
    int mapped = mincore(p, PAGE, &vec) == 0;
    int readable = 0;
    uint32_t sum = 0;
    if (mapped && sigsetjmp(probe_env, 1) == 0) {
      volatile uint8_t* q = p;
      for (int k = 0; k < PAGE; k += 64) sum = sum * 31 + q[k] + q[k + 7];
      readable = 1;
    }
    summary = summary * 131 + (uint32_t)(mapped * 2 + readable) * 7 + sum;
    printf("%c", !mapped ? '.' : !readable ? 'n' : sum ? 'D' : 'z');
  }
  printf(" %08x\n", summary);
}
static void dump(void) { pages(arena, PAGES); }

int main(int argc, char** argv) {
  rng = argc > 1 ? strtoull(argv[1], NULL, 0) * 2654435761u + 1 : 1;
  int steps = argc > 2 ? atoi(argv[2]) : 300;
  const char* ops = argc > 3 ? argv[3] : "muprab";
  signal(SIGSEGV, on_segv);
  signal(SIGBUS, on_segv);
  // The arena: reserved, then handed out page range by page range.
  arena = mmap(NULL, (size_t)PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (arena == MAP_FAILED) return 1;
  munmap(arena, (size_t)PAGES * PAGE);
  long brk_pages = 0;
  char op[160];
  for (int s = 0; s < steps; ++s) {
    unsigned at = pick(PAGES - 8), len = 1 + pick(12);
    if (at + len > PAGES) len = PAGES - at;
    uint8_t* p = arena + (size_t)at * PAGE;
    unsigned kind = pick(8);
    static const char letter[] = "mmuprabd";
    if (kind < 7 && !strchr(ops, letter[kind])) kind = 7;
    switch (kind) {
      case 0:
      case 1: {
        int prot = prot_of(pick(6)), noreplace = pick(3) == 0;
        void* r = mmap(p, (size_t)len * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | (noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED), -1, 0);
        snprintf(op, sizeof op, "mmap(%u, %u, %d, %s)", at, len, prot, noreplace ? "NOREPLACE" : "FIXED");
        report(op, rel(r));
        if (r != MAP_FAILED && (prot & PROT_WRITE)) memset(r, (int)(s & 0xff) | 1, (size_t)len * PAGE / 2);
        break;
      }
      case 2:
        snprintf(op, sizeof op, "munmap(%u, %u)", at, len);
        report(op, munmap(p, (size_t)len * PAGE));
        break;
      case 3: {
        int prot = prot_of(pick(6));
        snprintf(op, sizeof op, "mprotect(%u, %u, %d)", at, len, prot);
        report(op, mprotect(p, (size_t)len * PAGE, prot));
        break;
      }
      case 4: {
        unsigned nlen = 1 + pick(16);
        if (at + nlen > PAGES) nlen = PAGES - at;
        unsigned to = pick(PAGES - 16);
        uint8_t* q = arena + (size_t)to * PAGE;
        size_t ol = (size_t)len * PAGE, nl = (size_t)nlen * PAGE;
        void* r;
        const char* how;
        switch (pick(8)) {
          case 0: how = "in place"; r = mremap(p, ol, nl, 0); break;
          case 1: how = "MAYMOVE"; r = mremap(p, ol, nl, MREMAP_MAYMOVE); break;
          case 2: case 3: how = "FIXED"; r = mremap(p, ol, nl, MREMAP_MAYMOVE | MREMAP_FIXED, q); break;
          case 4: how = "DONTUNMAP FIXED"; r = mremap(p, ol, ol, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, q); break;
          case 5: how = "DONTUNMAP"; r = mremap(p, ol, ol, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL); break;
          case 6: how = "same size FIXED"; r = mremap(p, ol, ol, MREMAP_MAYMOVE | MREMAP_FIXED, q); break;
          default: {
            // Arguments Linux refuses: each error as Linux gives it.
            static const char* bad[] = {"bad flag", "unaligned", "FIXED alone", "zero length",
                                        "unaligned target", "DONTUNMAP resize", "huge"};
            unsigned k = pick(7);
            how = bad[k];
            r = k == 0 ? mremap(p, ol, nl, MREMAP_MAYMOVE | 8)
                : k == 1 ? mremap(p + 1, ol, nl, MREMAP_MAYMOVE)
                : k == 2 ? mremap(p, ol, nl, MREMAP_FIXED, q)
                : k == 3 ? mremap(p, ol, 0, MREMAP_MAYMOVE)
                : k == 4 ? mremap(p, ol, nl, MREMAP_MAYMOVE | MREMAP_FIXED, q + 1)
                : k == 5 ? mremap(p, ol, ol + PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, q)
                         : mremap(p, ol, (size_t)1 << 62, MREMAP_MAYMOVE);
          }
        }
        snprintf(op, sizeof op, "mremap(%u, %u, %u, %s to %u)", at, len, nlen, how, to);
        long off = rel(r);
        int chosen = (strcmp(how, "MAYMOVE") == 0 && r != p) || strcmp(how, "DONTUNMAP") == 0;
        if (r != MAP_FAILED && chosen) {
          // Moved where the kernel chose (its choice differs from Vireo's): the pages must have
          // come along; then the mapping is dropped.
          size_t n = strstr(how, "DONTUNMAP") ? ol : nl;
          printf("%s = moved ", op);
          pages((uint8_t*)r, (int)(n / PAGE));
          munmap(r, n);
        } else {
          report(op, off);
        }
        break;
      }
      case 5:
        snprintf(op, sizeof op, "madvise(%u, %u, DONTNEED)", at, len);
        report(op, madvise(p, (size_t)len * PAGE, MADV_DONTNEED));
        break;
      case 6: {
        long want = (long)pick(40) - 8;
        if (brk_pages + want < 0) want = -brk_pages;
        void* old = sbrk(want * PAGE);
        if (old != (void*)-1) {
          brk_pages += want;
          if (want > 0) memset((uint8_t*)old, 0x5a, (size_t)want * PAGE);
        }
        snprintf(op, sizeof op, "sbrk(%ld pages) -> brk at +%ld", want, brk_pages);
        report(op, old == (void*)-1 ? -1 : 0);
        break;
      }
      default:
        if (s % 4 == 0) dump();
        break;
    }
  }
  dump();
  printf("brk moved %ld pages\n", brk_pages);
  return 0;
}
