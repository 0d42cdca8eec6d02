// Who a request is: the token from its Authorization header (any non-empty
// token is valid unless revoked through the control API), or anonymous.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace fake_github {

struct account {
  std::string key = "anonymous";  // the raw token, or "anonymous"
  bool authenticated = false;     // a token was presented
  bool malformed = false;         // an Authorization header we cannot read
  std::uint64_t user_id = 0;      // stable per token (GET /user shows it)
};

// Accepts "token T", "Bearer T" (scheme case-insensitive) and "Basic
// base64(user:T)" (GitHub takes the token as the password).
account identify(std::string_view authorization_header);

// A stable pseudo user id per token, in [1, 99999999].
std::uint64_t user_id_for(std::string_view token);

// Thread-safe set of revoked tokens; the hot path is lock-free until the first
// revocation.
class revocations {
 public:
  void revoke(std::string token);
  // Accepts a revoked token again (GitHub restored it, or was wrong).
  void reinstate(std::string_view token);
  bool is_revoked(std::string_view token) const;
  void reset();

 private:
  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> revoked_;
  std::atomic<bool> any_{false};
};

}  // namespace fake_github
