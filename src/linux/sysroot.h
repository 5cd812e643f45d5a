// The guest's sysroot (`vireo run -L DIR`, or VIREO_LD_PREFIX): where absolute paths the guest
// names are looked up first, as qemu-user's -L does. A guest path /lib/x.so names DIR/lib/x.so
// when that exists and /lib/x.so otherwise, so a sysroot holding only the libraries still sees
// the host's /tmp, /proc and /dev. The default is "/": no translation (host and guest are both
// x86-64 Linux, so the host's own libraries fit).
//
// One process-wide setting: a Vireo process runs one guest, and execve passes it on (-L).
#pragma once

#include <string>

namespace vireo {

// Sets the sysroot; "" or "/" means none.
void set_sysroot(const std::string& dir);
// The sysroot without trailing '/', or "" when there is none.
const std::string& sysroot();
// The host path for the guest path `path`: DIR + path if path is absolute and that exists
// (without following a final symlink, so that lstat/readlink see the link), else `path`.
std::string sysroot_path(const std::string& path);

}  // namespace vireo
