// System mode's memory-access interface (memory_softmmu.cpp): what the engine sets up once
// per translation cache besides the blocks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vireo::jit::x64 {

// The TLB-fill thunk every slow path of an inline TLB lookup calls (Runtime::tlb_fill_thunk):
// r11 = the guest address, r15d = how (size | write << 8 | user << 9), rbx = CpuState*. It
// saves the caller-saved GPRs and the sixteen XMM registers, calls `helper` (Runtime::
// tlb_fill_helper) and returns its answer in r11d; every other register is preserved. One
// copy per cache, instead of that save/restore sequence (about 150 bytes) at every access.
// Emits it at `at` (room: the bytes free there) and returns its size.
size_t emit_tlb_fill_thunk(uint8_t* at, size_t room, void* helper);

}  // namespace vireo::jit::x64
