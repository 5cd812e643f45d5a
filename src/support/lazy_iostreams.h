// The standard streams without <iostream>'s static initializer.
//
// With libstdc++ before GCC 13, every translation unit that includes <iostream> holds a static
// std::ios_base::Init, whose constructor builds std::cin/cout/cerr/clog (and their wide twins)
// and the classic locale with all its facets before main: ~50,000 instructions and ~20 page
// faults in every Vireo start (paired on this host: a program with it 0.11 ms slower than
// without, 16 of 16), though Vireo prints with fmt and stdio. Two libraries Vireo includes pull
// <iostream> in: CLI11 (src/cli) and Xbyak (only without NDEBUG, for a message on an undefined
// label). This header defines <iostream>'s include guard and declares the four streams as
// <iostream> does, so that code naming them compiles without the initializer; src/cli includes
// it before CLI11, and CMakeLists.txt puts it first in the files that include Xbyak.
// init_iostreams() builds the streams; main.cpp calls it before CLI11 reads a command line
// (CLI11 prints help and errors with them); a plain `vireo run` never does. (Xbyak's message is
// on a translator bug: there, std::cerr is not built; tests/cli's startup.no_static_iostreams
// checks that no translation unit brings the initializer back.)
#pragma once

#include <version>  // (defines __GLIBCXX__, and nothing with a static initializer)

#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define VIREO_LAZY_IOSTREAMS 1
#define _GLIBCXX_IOSTREAM 1
#include <istream>
#include <ostream>
namespace std {
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
}  // namespace std
#endif

namespace vireo {

// Builds the standard streams once (nothing to do where <iostream> built them before main).
inline void init_iostreams() {
#ifdef VIREO_LAZY_IOSTREAMS
  static std::ios_base::Init init;
#endif
}

}  // namespace vireo
