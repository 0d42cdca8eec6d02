// Where `github-proxy healthcheck` connects for a given admin.address.
#include <gtest/gtest.h>

#include "github_proxy/server/healthcheck.h"

namespace github_proxy::server {
namespace {

TEST(ProbeAddress, AWildcardIsReachedOverLoopbackOfItsFamily) {
  EXPECT_EQ(probe_address("0.0.0.0"), "127.0.0.1");
  EXPECT_EQ(probe_address("::"), "::1");
}

TEST(ProbeAddress, AnyOtherAddressIsProbedAsItIs) {
  EXPECT_EQ(probe_address("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(probe_address("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(probe_address("::1"), "::1");
  EXPECT_EQ(probe_address("fd00::2"), "fd00::2");
}

TEST(ProbeAdmin, ANameIsNotAnAddress) {
  const auto outcome = probe_admin("localhost", 9090, "/healthz", healthcheck_deadline);
  EXPECT_FALSE(outcome.healthy);
  EXPECT_NE(outcome.reason.find("admin.address localhost is not an IP address"), std::string::npos)
      << outcome.reason;
}

}  // namespace
}  // namespace github_proxy::server
