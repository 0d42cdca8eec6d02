// The body budget of the sessions: a total bound and a share per client.
#include "server/body_budget.h"

#include <gtest/gtest.h>

namespace github_proxy::server {
namespace {

using verdict = body_budget::verdict;

TEST(BodyBudget, OneClientHoldsAtMostItsShare) {
  body_budget budget({100, 40});
  EXPECT_EQ(budget.take("hog", 30), verdict::taken);
  EXPECT_EQ(budget.take("hog", 10), verdict::taken);
  EXPECT_EQ(budget.take("hog", 1), verdict::over_client_share);
  EXPECT_EQ(budget.in_flight("hog"), 40u);
  // The others still have the rest of the total.
  EXPECT_EQ(budget.take("ci", 40), verdict::taken);
  EXPECT_EQ(budget.take("other", 20), verdict::taken);
  EXPECT_EQ(budget.take("third", 1), verdict::over_total);
  EXPECT_EQ(budget.in_flight(), 100u);
  EXPECT_EQ(budget.in_flight("third"), 0u) << "a refusal reserves nothing";
}

TEST(BodyBudget, GivingBackFreesTheShareAndTheTotal) {
  body_budget budget({100, 40});
  ASSERT_EQ(budget.take("hog", 40), verdict::taken);
  budget.give_back("hog", 15);
  EXPECT_EQ(budget.in_flight("hog"), 25u);
  EXPECT_EQ(budget.take("hog", 15), verdict::taken);
  budget.give_back("hog", 40);
  EXPECT_EQ(budget.in_flight("hog"), 0u);
  EXPECT_EQ(budget.in_flight(), 0u);
  budget.give_back("nobody", 0);  // an empty reservation
  EXPECT_EQ(budget.in_flight(), 0u);
}

TEST(BodyBudget, TheServerBoundsKeepRoomForOneLargestBody) {
  // 256 MiB at least; four bodies of the largest size per thread otherwise.
  const auto small = body_budget::for_server(1 << 20, 2);
  EXPECT_EQ(small.total, 256u << 20);
  EXPECT_EQ(small.per_client, 64u << 20);
  const auto large = body_budget::for_server(32u << 20, 4);
  EXPECT_EQ(large.total, 512u << 20);
  EXPECT_EQ(large.per_client, 128u << 20);
  // A share is never smaller than one body of the largest size.
  body_budget budget({100, 10});
  EXPECT_EQ(body_budget::for_server(200u << 20, 1).per_client, 200u << 20);
  EXPECT_EQ(budget.per_client_limit(), 10u);
  EXPECT_EQ(body_budget({10, 100}).per_client_limit(), 10u) << "a share is at most the total";
}

}  // namespace
}  // namespace github_proxy::server
