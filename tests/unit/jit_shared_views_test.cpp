// SharedCode's bookkeeping for storms of mappings (docs/performance-history.md, "Mapping storms and
// thread start"): invalidations queued for another thread that meet coalesce instead of
// overflowing into a full flush; a new shared view of a file finds the code of the file's
// other views without walking them; an engine handed on to a new thread takes its exit
// request.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jit/cache/shared_code.h"
#include "jit_harness.h"

namespace vireo::test {
namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(JitSharedViews, SideBySideInvalidationsCoalesceForOtherThreads) {
  Machine m;
  jit::SharedCode shared(m.as.memory());
  volatile uint32_t request_a = 0, request_b = 0;
  jit::SharedCode::Member* a = shared.join(&request_a);
  jit::SharedCode::Member* b = shared.join(&request_b);
  std::vector<uint64_t> aliased;
  // 1,000 mmaps upwards then 1,000 munmaps downwards, 64 KiB each (TestMemmoveOverflow).
  constexpr uint64_t kBase = 0x10'0000'0000, kView = 0x10000;
  for (uint64_t i = 0; i < 1000; ++i) shared.invalidate_range(a, kBase + i * kView, kView, aliased);
  EXPECT_EQ(request_b, 1u);
  EXPECT_EQ(request_a, 0u);
  Ranges ranges;
  EXPECT_FALSE(shared.take(b, ranges)) << "a full flush";
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], std::make_pair(kBase, 1000 * kView));
  for (uint64_t i = 1000; i-- > 0;) shared.invalidate_range(a, kBase + i * kView, kView, aliased);
  EXPECT_FALSE(shared.take(b, ranges));
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], std::make_pair(kBase, 1000 * kView));
  // Overlapping ranges join too; ranges apart stay apart.
  shared.invalidate_range(a, kBase, 3 * kView, aliased);
  shared.invalidate_range(a, kBase + kView, 4 * kView, aliased);
  shared.invalidate_range(a, kBase + 10 * kView, kView, aliased);
  EXPECT_FALSE(shared.take(b, ranges));
  EXPECT_EQ(ranges, (Ranges{{kBase, 5 * kView}, {kBase + 10 * kView, kView}}));
  // Past the queue's bound, ranges apart still make the other thread drop everything.
  for (uint64_t i = 0; i < 1000; ++i) shared.invalidate_range(a, kBase + 2 * i * kView, kView, aliased);
  EXPECT_TRUE(shared.take(b, ranges));
  EXPECT_TRUE(aliased.empty());
  shared.leave(a);
  shared.leave(b);
}

TEST(JitSharedViews, ANewViewFindsOnlyCodeOfTheSameFilesOtherViews) {
  Machine m;
  jit::SharedCode shared(m.as.memory());
  volatile uint32_t request_a = 0, request_b = 0;
  jit::SharedCode::Member* a = shared.join(&request_a);
  jit::SharedCode::Member* b = shared.join(&request_b);
  int code_fd = int(::syscall(SYS_memfd_create, "code", 0));
  int data_fd = int(::syscall(SYS_memfd_create, "data", 0));
  ASSERT_GE(code_fd, 0);
  ASSERT_GE(data_fd, 0);
  ASSERT_EQ(::ftruncate(code_fd, 8192), 0);
  ASSERT_EQ(::ftruncate(data_fd, 65536), 0);
  constexpr uint64_t kRx = 0x40'0000, kRw = 0x50'0000, kStorm = 0x100'0000;
  ASSERT_EQ(m.as.mmap(kRx, 8192, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, code_fd, 0), int64_t(kRx));
  ASSERT_EQ(m.as.mmap(kRw, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, code_fd, 0), int64_t(kRw));
  // b translated code from the executable view's second page (and from private memory).
  EXPECT_FALSE(shared.protect(b, kRx + 4096));
  EXPECT_FALSE(shared.protect(b, kCode));
  // Views of another file find nothing, however many.
  std::vector<uint64_t> code_pages;
  for (uint64_t i = 0; i < 100; ++i) {
    const uint64_t at = kStorm + i * 65536;
    ASSERT_EQ(m.as.mmap(at, 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, data_fd, 0), int64_t(at));
    shared.file_viewed(at, 65536, code_pages);
  }
  EXPECT_TRUE(code_pages.empty());
  // A third view of the code file finds the code page, once (noted again when translated again).
  constexpr uint64_t kThird = 0x60'0000;
  ASSERT_EQ(m.as.mmap(kThird, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, code_fd, 0), int64_t(kThird));
  shared.file_viewed(kThird, 8192, code_pages);
  EXPECT_EQ(code_pages, std::vector<uint64_t>{kRx + 4096});
  code_pages.clear();
  shared.file_viewed(kThird, 8192, code_pages);
  EXPECT_TRUE(code_pages.empty());
  // Translated again, then the view is replaced by private memory: nothing of the file there.
  EXPECT_FALSE(shared.protect(b, kRx + 4096));
  ASSERT_EQ(m.as.mmap(kRx, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), int64_t(kRx));
  shared.file_viewed(kThird, 8192, code_pages);
  EXPECT_TRUE(code_pages.empty());
  ::close(code_fd);
  ::close(data_fd);
  shared.leave(a);
  shared.leave(b);
}

TEST(JitSharedViews, AParkedMembersRequestsGoToItsNewThread) {
  Machine m;
  jit::SharedCode shared(m.as.memory());
  volatile uint32_t request_a = 0, old_thread = 0, parked = 0, new_thread = 0;
  jit::SharedCode::Member* a = shared.join(&request_a);
  jit::SharedCode::Member* b = shared.join(&old_thread);
  std::vector<uint64_t> aliased;
  shared.rebind(b, &parked);  // (b's thread ended: JitEngine::park)
  shared.invalidate_range(a, kCode, 4096, aliased);
  EXPECT_EQ(old_thread, 0u);
  EXPECT_EQ(parked, 1u);
  shared.rebind(b, &new_thread);  // (a new thread runs the engine)
  EXPECT_TRUE(b->pending.load());  // (dropped at its first dispatch)
  shared.invalidate_range(a, kData, 4096, aliased);
  EXPECT_EQ(new_thread, 1u);
  Ranges ranges;
  EXPECT_FALSE(shared.take(b, ranges));
  EXPECT_EQ(ranges, (Ranges{{kCode, 4096}, {kData, 4096}}));
  shared.leave(a);
  shared.leave(b);
}

}  // namespace
}  // namespace vireo::test
