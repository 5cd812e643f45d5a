#pragma once
// How the decode pools mapped from now on start (interp/decode_pool.cpp, map_zeroed_huge):
// their first `bytes` on 4 KiB pages, prefaulted as decodes reach them, then transparent huge
// pages; 0: huge pages from the first entry. Set per image before its engine is made
// (linux/process.cpp, load_image): a static program's start-up decodes ~5,000 instructions,
// which fit in Interpreter::kPoolHead without a 2 MiB page to clear; a dynamic one's loader and
// libc start-up ~11,000, past it, where the prefaulted head cost more than the huge page it
// saved (docs/performance-history.md, "Start-up, fifteenth pass").
#include <cstddef>

namespace vireo {

void set_decode_pool_head(size_t bytes);  // a multiple of 4 KiB below 2 MiB

}  // namespace vireo
