// Vireo's own read-only mappings (its text and read-only data, and those of libc, libZydis and
// ld.so) kept mapped in the child of a host fork.
//
// Linux copies a mapping's page table entries at fork only if the mapping has anonymous pages
// (an anon_vma, mm/memory.c vma_needs_copy); a read-only file mapping has none, so a forked
// child faults in again every page of Vireo's code it runs (16 pages mapped around each
// fault): ~60 faults in each child that execs a small program, ~0.2 ms. Writing one byte of
// each such mapping, unchanged, through /proc/self/mem (as a debugger writes a breakpoint)
// gives it an anon_vma without changing it otherwise (same protection, same single mapping,
// one page now a private copy of the file's), and every later fork copies its entries.
#pragma once

namespace vireo {

// Done once per host process (later calls return at once; a forked child inherits the
// effect). Best effort: if /proc/self/mem cannot be written, forks fault as before.
void keep_text_mapped_across_fork();

}  // namespace vireo
