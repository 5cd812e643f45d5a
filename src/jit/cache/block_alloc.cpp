// Where TranslatedBlock records and ExitSlots come from: one SlabPool each (slab.h says why).
#include "jit/cache/slab.h"
#include "jit/cache/translated_block.h"

namespace vireo::jit {

namespace {
// Never destroyed: a block may be freed by an engine torn down after static destructors ran.
SlabPool& block_pool() {
  static SlabPool& p = *new SlabPool(sizeof(TranslatedBlock));
  return p;
}
SlabPool& exit_pool() {
  static SlabPool& p = *new SlabPool(sizeof(ExitSlot));
  return p;
}
}  // namespace

void* TranslatedBlock::operator new(size_t size) {
  (void)size;  // (no class derives from it: always sizeof(TranslatedBlock))
  return block_pool().allocate();
}
void TranslatedBlock::operator delete(void* p) { block_pool().deallocate(p); }
void* ExitSlot::operator new(size_t) { return exit_pool().allocate(); }
void ExitSlot::operator delete(void* p) { exit_pool().deallocate(p); }
void ExitSlot::allocate(size_t n, void** out) { exit_pool().allocate(n, out); }

}  // namespace vireo::jit
