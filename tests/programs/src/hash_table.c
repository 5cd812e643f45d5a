/* An open-addressing hash table of strings (insert, lookup, delete with tombstones, resize)
 * counting generated words; results printed in sorted order. */
#include <string.h>
#include "common.h"

struct slot { char* key; long count; int state; /* 0 empty, 1 used, 2 deleted */ };
static struct slot* tab;
static size_t cap, used;

static uint64_t hash_str(const char* s) { return fnv1a(s, strlen(s)); }
static void insert(const char* k, long add);
static void grow(void) {
  struct slot* old = tab;
  size_t oldcap = cap;
  cap = cap ? cap * 2 : 16;
  tab = calloc(cap, sizeof *tab);
  used = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].state == 1) { insert(old[i].key, old[i].count); free(old[i].key); }
  free(old);
}
static struct slot* find(const char* k) {
  if (!cap) return NULL;
  for (size_t i = hash_str(k) & (cap - 1), n = 0; n < cap; i = (i + 1) & (cap - 1), n++) {
    if (tab[i].state == 0) return NULL;
    if (tab[i].state == 1 && strcmp(tab[i].key, k) == 0) return &tab[i];
  }
  return NULL;
}
static void insert(const char* k, long add) {
  struct slot* s = find(k);
  if (s) { s->count += add; return; }
  if ((used + 1) * 4 > cap * 3) grow();
  size_t i = hash_str(k) & (cap - 1);
  while (tab[i].state == 1) i = (i + 1) & (cap - 1);
  tab[i].key = strdup(k);
  tab[i].count = add;
  tab[i].state = 1;
  used++;
}
static int erase(const char* k) {
  struct slot* s = find(k);
  if (!s) return 0;
  free(s->key);
  s->key = NULL;
  s->state = 2;
  return 1;
}
static int by_count(const void* a, const void* b) {
  const struct slot *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->key, y->key);
}

int main(void) {
  static const char* syll[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "qu"};
  rng_seed(31337);
  for (int i = 0; i < 30000; i++) {
    char w[16] = {0};
    int parts = 1 + (int)rng_below(3);
    for (int p = 0; p < parts; p++) strcat(w, syll[rng_below(10)]);
    insert(w, 1);
  }
  printf("distinct words %zu, capacity %zu\n", used, cap);
  int removed = 0;
  for (int a = 0; a < 10; a++) { char w[8]; snprintf(w, sizeof w, "%s%s", syll[a], syll[a]); removed += erase(w); }
  printf("removed %d doubled words, lookup after erase: %s\n", removed, find("kaka") ? "found" : "gone");
  struct slot* all = malloc(used * sizeof *all);
  size_t n = 0;
  for (size_t i = 0; i < cap; i++) if (tab[i].state == 1) all[n++] = tab[i];
  qsort(all, n, sizeof *all, by_count);
  long total = 0;
  for (size_t i = 0; i < n; i++) total += all[i].count;
  for (size_t i = 0; i < 12 && i < n; i++) printf("%-8s %ld\n", all[i].key, all[i].count);
  printf("remaining %zu words, %ld occurrences\n", n, total);
  CHECK(n == used - (size_t)removed);
  fprintf(stderr, "hash_table done\n");
  return finish("hash_table");
}
