// fmt's library part, compiled into the vireo executable instead of loaded from libfmt.so
// (issue 22, start-up: every guest execve starts a new Vireo, and libfmt.so would also bring
// in libstdc++.so, which the executable links statically; CMakeLists.txt, target vireo).
//
// In fmt's header-only mode the out-of-line functions the rest of Vireo calls (vprint,
// vformat) are inline; taking their addresses here emits them in this object, where the
// linker finds them before libfmt.so, which --as-needed then leaves out.
#define FMT_HEADER_ONLY
#include <fmt/format.h>

#include <cstdio>
#include <string>

namespace vireo::cli {

extern void (*const fmt_vprint)(std::FILE*, fmt::string_view, fmt::format_args);
[[gnu::used]] void (*const fmt_vprint)(std::FILE*, fmt::string_view, fmt::format_args) = &fmt::vprint;
extern std::string (*const fmt_vformat)(fmt::string_view, fmt::format_args);
[[gnu::used]] std::string (*const fmt_vformat)(fmt::string_view, fmt::format_args) = &fmt::vformat;

}  // namespace vireo::cli
