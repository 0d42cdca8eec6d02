// Label values stay bounded whatever status a client is answered with or
// GitHub sends (docs/contract.md §8 "code"; issue 20).
#include "github_proxy/metrics/request_counters.h"

#include <malloc.h>

#include <cstddef>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace github_proxy::metrics {
namespace {

// The series of one family, each as its `code` label.
std::multiset<std::string> codes_of(prometheus::Family<prometheus::Counter>& family) {
  std::multiset<std::string> codes;
  for (const auto& collected : family.Collect()) {
    for (const auto& metric : collected.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "code") codes.insert(label.value);
      }
    }
  }
  return codes;
}

// Bytes this process holds on the heap (glibc), mmapped blocks included.
std::size_t heap_in_use() {
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Statuses no HTTP response may carry (RFC 9110 §15), many distinct ones.
template <class Each>
void for_each_out_of_range_status(Each each) {
  for (unsigned status = 2; status < 100; ++status) each(status);
  for (unsigned status = 600; status < 20'000; ++status) each(status);
  each(65'535);
  each(4'294'967'295u);
}

TEST(RequestCounters, OutOfRangeStatusesShareOneCodeLabel) {
  families metrics("test");
  request_counters counters(metrics);
  counters.requests("ci", method_label::get, 200, cache_outcome::hit).Increment();
  counters.upstream("pat", "core", 200).Increment();

  const auto before = heap_in_use();
  std::size_t fed = 0;
  for_each_out_of_range_status([&](unsigned status) {
    counters.requests("ci", method_label::get, status, cache_outcome::hit).Increment();
    counters.upstream("pat", "core", status).Increment();
    ++fed;
  });
  const auto after = heap_in_use();

  EXPECT_EQ(codes_of(metrics.requests_total), (std::multiset<std::string>{"200", "599"}));
  EXPECT_EQ(codes_of(metrics.upstream_requests_total), (std::multiset<std::string>{"200", "599"}));
  EXPECT_EQ(counters.requests("ci", method_label::get, 599, cache_outcome::hit).Value(),
            static_cast<double>(fed));
  EXPECT_EQ(counters.upstream("pat", "core", 599).Value(), static_cast<double>(fed));
  // The per-thread cache of children does not grow with them either (it
  // held one more entry per out-of-range request: ~16 bytes each).
  EXPECT_LT(after - std::min(after, before), 64u * 1024) << "bytes retained after " << fed << " requests";
}

TEST(RequestCounters, UpstreamFailuresWithoutAStatusKeepTheirOwnValues) {
  families metrics("test");
  request_counters counters(metrics);
  counters.upstream("pat", "core", upstream_error).Increment();
  counters.upstream("pat", "core", upstream_timeout).Increment();
  counters.upstream("pat", "core", 100).Increment();
  counters.upstream("pat", "core", 599).Increment();
  counters.requests("ci", method_label::get, 100, cache_outcome::miss).Increment();
  counters.requests("ci", method_label::get, 599, cache_outcome::miss).Increment();
  EXPECT_EQ(codes_of(metrics.upstream_requests_total),
            (std::multiset<std::string>{"error", "timeout", "100", "599"}));
  EXPECT_EQ(codes_of(metrics.requests_total), (std::multiset<std::string>{"100", "599"}));
}

}  // namespace
}  // namespace github_proxy::metrics
