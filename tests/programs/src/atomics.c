/* __atomic and __sync builtins, single-threaded: fetch-ops on 1/2/4/8-byte objects (lock xadd,
 * lock cmpxchg loops, xchg), compare-exchange success and failure, test-and-set, fences. */
#include <stdatomic.h>
#include "common.h"

static unsigned char b8;
static unsigned short b16;
static int i32;
static long i64;
static _Atomic long counter;

int main(void) {
  for (int i = 0; i < 1000; i++) {
    __atomic_fetch_add(&b8, 3, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&b16, 7, __ATOMIC_RELAXED);
    __atomic_add_fetch(&i32, i, __ATOMIC_ACQ_REL);
    __sync_fetch_and_add(&i64, (long)i * 1000000007L);
  }
  printf("after adds: %u %u %d %ld\n", b8, b16, i32, i64);
  int old_or = __atomic_fetch_or(&i32, 0xF0000, __ATOMIC_SEQ_CST);
  int new_and = __atomic_and_fetch(&i32, 0xFFFF0F, __ATOMIC_SEQ_CST);
  int old_xor = __atomic_fetch_xor(&i32, 0x55, __ATOMIC_SEQ_CST);
  int nand = __atomic_nand_fetch(&i32, 0xFF, __ATOMIC_SEQ_CST);
  printf("or %d and %d xor %d nand %d\n", old_or, new_and, old_xor, nand);
  long expected = i64;
  int ok = __atomic_compare_exchange_n(&i64, &expected, 42, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  long wrong = 7;
  int fail = __atomic_compare_exchange_n(&i64, &wrong, 99, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
  printf("cas success %d value %ld, cas failure %d observed %ld\n", ok, i64, fail, wrong);
  CHECK(ok && !fail && wrong == 42);
  printf("sync cas bool %d val %ld\n", __sync_bool_compare_and_swap(&i64, 42, 43), __sync_val_compare_and_swap(&i64, 43, 44));
  short sh = 5;
  printf("exchange old %d new %d\n", __atomic_exchange_n(&sh, (short)-9, __ATOMIC_SEQ_CST), sh);
  unsigned char flag = 0;
  int first = __atomic_test_and_set(&flag, __ATOMIC_SEQ_CST);
  int second = __atomic_test_and_set(&flag, __ATOMIC_SEQ_CST);
  __atomic_clear(&flag, __ATOMIC_SEQ_CST);
  printf("test_and_set %d %d cleared %d\n", first, second, flag);
  printf("lock_test_and_set %d\n", __sync_lock_test_and_set(&i32, 77));
  __sync_lock_release(&i32);
  __sync_synchronize();
  atomic_thread_fence(memory_order_seq_cst);
  for (int i = 0; i < 500; i++) atomic_fetch_add(&counter, 2);
  long v = atomic_load(&counter);
  atomic_store(&counter, v * 3);
  printf("stdatomic counter %ld lock-free %d\n", atomic_load(&counter), atomic_is_lock_free(&counter));
  CHECK(atomic_load(&counter) == 3000);
  unsigned long long big = 0;
  for (int i = 0; i < 64; i++) __atomic_fetch_or(&big, 1ull << i, __ATOMIC_SEQ_CST);
  printf("bits %llx\n", big);
  fprintf(stderr, "atomics done\n");
  return finish("atomics");
}
