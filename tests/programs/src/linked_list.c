/* Linked lists: build, reverse, merge sort a singly linked list, a doubly linked list with
 * insertion/removal in the middle, and cycle detection. */
#include "common.h"

struct node { long v; struct node* next; };
struct dnode { int v; struct dnode *prev, *next; };

static struct node* push(struct node* h, long v) { struct node* n = malloc(sizeof *n); n->v = v; n->next = h; return n; }
static struct node* reverse(struct node* h) { struct node* p = NULL; while (h) { struct node* n = h->next; h->next = p; p = h; h = n; } return p; }
static struct node* merge(struct node* a, struct node* b) {
  struct node head, *t = &head;
  while (a && b) { if (a->v <= b->v) { t->next = a; a = a->next; } else { t->next = b; b = b->next; } t = t->next; }
  t->next = a ? a : b;
  return head.next;
}
static struct node* msort(struct node* h) {
  if (!h || !h->next) return h;
  struct node *slow = h, *fast = h->next;
  while (fast && fast->next) { slow = slow->next; fast = fast->next->next; }
  struct node* second = slow->next;
  slow->next = NULL;
  return merge(msort(h), msort(second));
}

int main(void) {
  rng_seed(77);
  struct node* list = NULL;
  for (int i = 0; i < 5000; i++) list = push(list, (long)rng_below(100000));
  list = reverse(list);
  printf("first after reverse %ld\n", list->v);
  list = msort(list);
  long count = 0, prev = -1, sum = 0;
  int sorted = 1;
  for (struct node* n = list; n; n = n->next) { sorted &= n->v >= prev; prev = n->v; count++; sum += n->v; }
  printf("sorted %d count %ld sum %ld min %ld max %ld\n", sorted, count, sum, list->v, prev);
  CHECK(sorted && count == 5000);
  while (list) { struct node* n = list->next; free(list); list = n; }
  struct dnode sentinel = {0, &sentinel, &sentinel};
  for (int i = 1; i <= 10; i++) {
    struct dnode* d = malloc(sizeof *d);
    d->v = i * i;
    d->prev = sentinel.prev; d->next = &sentinel;
    sentinel.prev->next = d; sentinel.prev = d;
  }
  for (struct dnode* d = sentinel.next; d != &sentinel;) {
    struct dnode* nx = d->next;
    if (d->v % 2 == 0) { d->prev->next = d->next; d->next->prev = d->prev; free(d); }
    d = nx;
  }
  printf("odd squares forward:");
  for (struct dnode* d = sentinel.next; d != &sentinel; d = d->next) printf(" %d", d->v);
  printf("\nbackward:");
  for (struct dnode* d = sentinel.prev; d != &sentinel; d = d->prev) printf(" %d", d->v);
  printf("\n");
  struct node cyc[10];
  for (int i = 0; i < 10; i++) { cyc[i].v = i; cyc[i].next = &cyc[(i + 1) % 10 == 0 ? 4 : i + 1]; }
  struct node *t = cyc, *h = cyc;
  int steps = 0;
  do { t = t->next; h = h->next->next; steps++; } while (t != h);
  printf("cycle detected after %d steps\n", steps);
  fprintf(stderr, "linked_list done\n");
  return finish("linked_list");
}
