#include "linux/sysroot.h"

#include <sys/stat.h>

namespace vireo {

namespace {
std::string g_sysroot;
}

void set_sysroot(const std::string& dir) {
  g_sysroot = dir;
  while (!g_sysroot.empty() && g_sysroot.back() == '/') g_sysroot.pop_back();
}

const std::string& sysroot() { return g_sysroot; }

std::string sysroot_path(const std::string& path) {
  if (g_sysroot.empty() || path.empty() || path[0] != '/') return path;
  std::string inside = g_sysroot + path;
  struct stat st;
  return ::lstat(inside.c_str(), &st) == 0 ? inside : path;
}

}  // namespace vireo
