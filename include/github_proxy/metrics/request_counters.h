// Per-I/O-thread cache of metric children, so that the request path finds
// its counter with a hash lookup on the client name and array indexing,
// without building a label map or taking a family's lock.
//
// Threading: one instance per I/O thread; not thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "github_proxy/credentials/resource.h"
#include "github_proxy/metrics/metrics.h"

namespace github_proxy::metrics {

// The `method` label: the methods GitHub serves, everything else is OTHER,
// so a client cannot create series with made-up methods.
enum class method_label { get, head, post, patch, put, del, options, other };
inline constexpr std::size_t method_label_count = 8;
method_label classify_method(std::string_view method);
std::string_view to_string(method_label method);

// `code` label values for upstream exchanges that got no HTTP status.
inline constexpr unsigned upstream_error = 0;    // connection failed or broke
inline constexpr unsigned upstream_timeout = 1;  // no answer in time

class request_counters {
 public:
  explicit request_counters(families& families);

  prometheus::Counter& requests(std::string_view client, method_label method, unsigned status,
                                cache_outcome cache);
  // The same counter, and with `demand` also one credit of
  // github_proxy_direct_demand_credits_total{client,resource} counted:
  // one lookup of the client for both.
  prometheus::Counter& count_request(std::string_view client, method_label method, unsigned status,
                                     cache_outcome cache, const credentials::resource* demand);
  prometheus::Counter& rejected(std::string_view client, reject_reason reason);
  // github_proxy_rate_limit_credits_saved_total{client}.
  prometheus::Counter& credits_saved(std::string_view client);
  // github_proxy_client_upstream_credits_total{client}.
  prometheus::Counter& client_credits(std::string_view client);
  // github_proxy_direct_demand_credits_total{client,resource}.
  prometheus::Counter& direct_demand(std::string_view client, credentials::resource r);
  // github_proxy_upstream_requests_total{credential,resource,code}.
  prometheus::Counter& upstream(std::string_view credential, std::string_view resource,
                                unsigned status);

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct per_client {
    // [method][cache] → small list of (status, counter); statuses per cell are few.
    std::array<std::array<std::vector<std::pair<unsigned, prometheus::Counter*>>, cache_outcome_count>,
               method_label_count>
        requests;
    std::array<prometheus::Counter*, 4> rejected{};
    prometheus::Counter* credits_saved = nullptr;
    prometheus::Counter* client_credits = nullptr;
    std::array<prometheus::Counter*, credentials::resource_count> direct_demand{};
  };
  per_client& client_entry(std::string_view client);
  prometheus::Counter& requests_of(per_client& entry, std::string_view client, method_label method,
                                   unsigned status, cache_outcome cache);
  prometheus::Counter& direct_demand_of(per_client& entry, std::string_view client, credentials::resource r);
  using code_list = std::vector<std::pair<unsigned, prometheus::Counter*>>;

  families& families_;
  std::unordered_map<std::string, per_client, string_hash, std::equal_to<>> clients_;
  // credential + '\n' + resource → codes
  std::unordered_map<std::string, code_list, string_hash, std::equal_to<>> upstream_;
  std::string key_scratch_;
};

}  // namespace github_proxy::metrics
