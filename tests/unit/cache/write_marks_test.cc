#include "github_proxy/cache/write_marks.h"

#include <gtest/gtest.h>

#include "github_proxy/cache/policy.h"

namespace github_proxy::cache {
namespace {

using std::chrono::seconds;
using clock_point = std::chrono::system_clock::time_point;

TEST(WriteMarks, TheLastWriteOfAPathCaseFoldedAndNoneElsewhere) {
  write_marks marks;
  const clock_point t(seconds(1'700'000'000));
  EXPECT_EQ(marks.last("/repos/octo-org/repo-1/issues/1"), clock_point{});
  marks.mark("/repos/Octo-Org/Repo-1/issues/1", t);
  EXPECT_EQ(marks.last("/repos/octo-org/repo-1/issues/1"), t);
  EXPECT_EQ(marks.last("/repos/octo-org/repo-1/issues/2"), clock_point{});
  marks.mark("/repos/octo-org/repo-1/issues/1", t + seconds(5));
  EXPECT_EQ(marks.last("/repos/octo-org/repo-1/issues/1"), t + seconds(5));
}

TEST(WriteMarks, AnEntryConfirmedBeforeTheLastWriteIsNotAnsweredWithoutAsking) {
  entry e;
  e.headers.emplace_back("Cache-Control", "private, max-age=60, s-maxage=60");
  e.stored_at = clock_point(seconds(1'700'000'000));
  const auto now = e.stored_at + seconds(10);
  EXPECT_TRUE(confirmed_within(e, seconds(60), now, e.stored_at - seconds(1)));
  EXPECT_FALSE(confirmed_within(e, seconds(60), now, e.stored_at)) << "written at the same instant";
  EXPECT_FALSE(confirmed_within(e, seconds(60), now, e.stored_at + seconds(5)));
  // GitHub confirmed it after the write: answered again.
  e.confirmed.note(e.stored_at + seconds(6));
  EXPECT_TRUE(confirmed_within(e, seconds(60), now, e.stored_at + seconds(5)));
}

}  // namespace
}  // namespace github_proxy::cache
