// Placeholder: this family is being written; until then its mnemonics execute as #UD.
#include "interp/dispatch.h"

namespace vireo {
void register_sse_fp(DispatchTable&) {}
}  // namespace vireo
