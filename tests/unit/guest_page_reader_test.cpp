// GuestPageReader (execve's argv and envp, one copy per page) answers as copy_from_guest and
// read_guest_string do: the same bytes, the same failures at unmapped pages and at the window's
// end, strings across a page boundary and ending just before an unmapped page.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <string>

#include "empty_process.h"
#include "interp/interpreter.h"
#include "linux/guest_access.h"
#include "linux/process.h"
#include "mem/host_fault.h"

namespace vireo {
namespace {

class GuestPageReaderTest : public ::testing::Test {
 protected:
  // Two read-write pages, a hole, then a read-write page followed by another hole.
  static constexpr uint64_t kRw = 0x10000, kHole = 0x12000, kLone = 0x13000;
  static constexpr uint64_t kOutside = uint64_t(1) << 50;

  void SetUp() override {
    p = empty_interp_process();
    ASSERT_EQ(p->as().mmap(kRw, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kRw));
    ASSERT_EQ(p->as().mmap(kLone, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kLone));
  }
  void put(uint64_t addr, const std::string& s) { std::memcpy(p->as().host(addr), s.data(), s.size()); }
  // What the helpers the reader stands in for answer.
  bool old_string(uint64_t addr, std::string& out, size_t max) { return read_guest_string(*p, addr, out, max); }
  std::unique_ptr<Process> p;
};

TEST_F(GuestPageReaderTest, ReadsAcrossPagesAndFailsWhereCopyFromGuestFails) {
  for (uint64_t i = 0; i < 0x2000; ++i) p->as().host(kRw)[i] = char(i * 7);
  GuestPageReader r(*p);
  char got[64], want[64];
  for (uint64_t addr : {kRw, kRw + 8, kRw + 0xff8, kRw + 0xffc, kRw + 0x1fc0}) {
    ASSERT_TRUE(r.read(addr, got, sizeof got)) << std::hex << addr;
    ASSERT_TRUE(copy_from_guest(*p, want, addr, sizeof want));
    EXPECT_EQ(std::memcmp(got, want, sizeof got), 0) << std::hex << addr;
  }
  uint64_t v = 0;
  EXPECT_FALSE(r.read(kRw + 0x1ffc, &v, 8));  // runs into the hole
  EXPECT_FALSE(copy_from_guest(*p, &v, kRw + 0x1ffc, 8));
  EXPECT_FALSE(r.read(kHole, &v, 8));
  EXPECT_FALSE(r.read(kOutside, &v, 8));
  EXPECT_FALSE(r.read(~uint64_t(0) - 3, &v, 8));
  EXPECT_TRUE(r.read(kRw, &v, 0));
  // A page read once is not read again: a change made meanwhile is not seen (execve's
  // arguments do not change under it), a page read anew is.
  put(kRw + 16, std::string(8, '\x11'));
  ASSERT_TRUE(r.read(kLone, &v, 8));
  ASSERT_TRUE(r.read(kRw + 16, &v, 8));
  EXPECT_EQ(v, 0x1111111111111111u);
}

TEST_F(GuestPageReaderTest, StringsAnswerAsReadGuestString) {
  put(kRw, std::string("argv0\0", 6));
  put(kRw + 0xffa, std::string("across\0", 7));         // crosses into the second page
  put(kLone + 0xff0, std::string(15, 'x') + '\0');     // ends on the page's last byte
  put(kRw + 0x1ff0, std::string(16, 'y'));             // runs into the hole: no NUL
  put(kRw + 0x100, std::string(600, 'z') + '\0');      // longer than a 256-byte piece
  GuestPageReader r(*p);
  for (uint64_t addr : {kRw, kRw + 0xffa, kLone + 0xff0, kRw + 0x1ff0, kRw + 0x100, kHole, kOutside}) {
    for (size_t max : {size_t(4), size_t(300), size_t(128 * 1024)}) {
      std::string got = "junk", want = "junk";
      const bool ok = r.read_string(addr, got, max);
      ASSERT_EQ(ok, old_string(addr, want, max)) << std::hex << addr << " max " << max;
      if (ok) EXPECT_EQ(got, want) << std::hex << addr << " max " << max;
    }
  }
  std::string s;
  ASSERT_TRUE(r.read_string(kRw + 0xffa, s, 4096));
  EXPECT_EQ(s, "across");
  EXPECT_FALSE(r.read_string(kRw + 0x1ff0, s, 4096));
}

}  // namespace
// copy_from_guest and copy_to_guest copy under a guest fault scope: a page the guest may not
// read or write (PROT_NONE, read-only for a write) or a hole makes them fail, where a host
// fault would have ended Vireo, and a copy that runs into such a page fails as a whole.
TEST_F(GuestPageReaderTest, CopiesFailAtPagesTheGuestMayNotTouch) {
  constexpr uint64_t kRo = 0x20000, kNone = 0x21000;
  ASSERT_EQ(p->as().mmap(kRo, 0x1000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kRo));
  ASSERT_EQ(p->as().mmap(kNone, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kNone));
  const uint64_t v = 0x1122334455667788u;
  uint64_t got = 0;
  EXPECT_FALSE(write_guest(*p, kRo, v));
  ASSERT_TRUE(read_guest(*p, kRo, got));
  EXPECT_EQ(got, 0u);  // (nothing written)
  EXPECT_FALSE(read_guest(*p, kNone, got));
  EXPECT_FALSE(write_guest(*p, kNone, v));
  EXPECT_FALSE(read_guest(*p, kHole, got));
  EXPECT_FALSE(write_guest(*p, kHole, v));
  // Across a boundary into a page that refuses the access.
  EXPECT_FALSE(read_guest(*p, kNone - 4, got));
  EXPECT_FALSE(write_guest(*p, kRo - 4, v));
  EXPECT_FALSE(write_guest(*p, kRw + 0x1ffc, v));
  // Where the guest may, the bytes arrive, and the scope is gone again afterwards.
  ASSERT_TRUE(write_guest(*p, kRw + 0x1ffc - 4, v));
  ASSERT_TRUE(read_guest(*p, kRw + 0x1ffc - 4, got));
  EXPECT_EQ(got, v);
  EXPECT_EQ(current_fault_scope(), nullptr);
  std::string s;
  EXPECT_FALSE(read_guest_string(*p, kNone, s));
  EXPECT_EQ(current_fault_scope(), nullptr);
}

}  // namespace vireo
