// What the fake saw: per-account counters and a bounded ring of the last
// requests, both served by the control API so tests can assert on upstream
// traffic.
//
// Thread-safety: all members lock one mutex; callers build records outside.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "rate_limits.h"

namespace fake_github {

struct request_record {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body_sha256;
  std::size_t body_length = 0;
  unsigned status = 0;  // 0 when the connection was reset or left hanging
};

class observations {
 public:
  explicit observations(std::size_t capacity) : capacity_(capacity) {}

  // `secondary_limited`: answered with a secondary-limit refusal (the
  // enforced limits or a secondary_limit fault).
  void record(request_record rec, std::string_view account, resource r, std::int64_t credits,
              bool secondary_limited = false);

  boost::json::object counters_json() const;
  boost::json::array requests_json(std::size_t limit) const;  // most recent last
  void clear_requests();
  void reset();

 private:
  struct counters {
    std::uint64_t requests = 0, status_200 = 0, status_304 = 0, credits = 0, secondary_limited = 0;
    std::array<std::uint64_t, resource_count> requests_by_resource{};
    std::array<std::uint64_t, resource_count> credits_by_resource{};
    std::map<unsigned, std::uint64_t> by_status;
    void add(unsigned status, resource r, std::int64_t credits, bool secondary_limited);
    boost::json::object to_json() const;
  };

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, counters> accounts_;
  counters total_;
  std::deque<request_record> ring_;
};

}  // namespace fake_github
