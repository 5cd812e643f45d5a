// A watchpoint on memory the guest maps later (issue 18): gdb watches an address in the
// heap's next page and one in a page that a later non-fixed mmap gets, while neither is
// mapped. The stores come from a function called thousands of times, so under the jit they
// run translated: the watched pages must be protected when they are mapped, not at gdb's
// next resume (there is none between the mapping and the store).
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

volatile long scratch;
volatile long* heap_target;
volatile long* map_target;

void ready(void) {}

void store(volatile long* p, long v) { *p = v; }

// Many stores to `scratch` (the jit translates `store`), the last one to `target`.
void stores(volatile long* target, long v) {
  for (int i = 0; i < 5000; i++) store(i < 4999 ? &scratch : target, v);
}

int main(void) {
  // The heap's next page: the first page past the current break, unmapped until sbrk.
  uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
  heap_target = (volatile long*)(end + 64);
  // A page mmap gives, then takes back: asked for as a hint (no MAP_FIXED), it is given again.
  void* hint = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(hint, 4096);
  map_target = (volatile long*)((char*)hint + 128);
  ready();  // gdb watches *heap_target and *map_target here
  if (sbrk(2 * 4096) == (void*)-1) return 1;
  stores(heap_target, 11);
  void* m = mmap(hint, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m != hint) { printf("the hint was not honoured\n"); return 1; }
  stores(map_target, 22);
  printf("heap=%ld map=%ld\n", *heap_target, *map_target);
  return 0;
}
