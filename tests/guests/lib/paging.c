#include "guest.h"

/* Tables created by paging_entry. Guests need only a handful. */
static uint64_t table_pool[16][512] __attribute__((aligned(4096)));
static int tables_used;

static uint64_t* new_table(void) {
  CHECK(tables_used < 16);
  uint64_t* t = table_pool[tables_used++];
  for (int i = 0; i < 512; i++) t[i] = 0;
  return t;
}

uint64_t* paging_entry(uint64_t va, int level) {
  uint64_t* table = (uint64_t*)(READ_CR(3) & PTE_ADDR);
  for (int l = 4; l > level; l--) {
    uint64_t* e = &table[(va >> (12 + 9 * (l - 1))) & 511];
    if (!(*e & PTE_P)) {
      *e = (uint64_t)new_table() | PTE_P | PTE_W | PTE_U;
    } else if (*e & PTE_PS) {
      /* Split a 2 MiB page into the same 4 KiB pages. */
      CHECK(l == 2);
      uint64_t* t = new_table();
      uint64_t base = *e & PTE_ADDR & ~0x1FFFFFull, flags = *e & (PTE_W | PTE_U);
      for (int i = 0; i < 512; i++) t[i] = (base + ((uint64_t)i << 12)) | PTE_P | flags;
      *e = (uint64_t)t | PTE_P | PTE_W | flags;
      WRITE_CR(3, READ_CR(3));
    }
    table = (uint64_t*)(*e & PTE_ADDR);
  }
  return &table[(va >> (12 + 9 * (level - 1))) & 511];
}

void paging_allow_user(void) {
  uint64_t* pml4 = (uint64_t*)(READ_CR(3) & PTE_ADDR);
  uint64_t* pdpt = (uint64_t*)(pml4[0] & PTE_ADDR);
  uint64_t* pd = (uint64_t*)(pdpt[0] & PTE_ADDR);
  pml4[0] |= PTE_U;
  pdpt[0] |= PTE_U;
  for (int i = 0; i < 512; i++) {
    pd[i] |= PTE_U;
    if (!(pd[i] & PTE_PS)) {
      uint64_t* pt = (uint64_t*)(pd[i] & PTE_ADDR);
      for (int j = 0; j < 512; j++) pt[j] |= PTE_U;
    }
  }
  WRITE_CR(3, READ_CR(3));
}
