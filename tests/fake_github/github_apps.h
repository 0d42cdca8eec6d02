// GitHub Apps as the fake knows them: the registered Apps (issuer → RSA
// public key, optionally the installations each owns), the lifetime of the
// installation tokens it issues, and every token issued with its expiry, so
// an expired one gets 401 Bad credentials (docs/github-api.md §5).
//
// Thread-safety: every member locks one mutex, except that find_token() is
// lock-free while no token has been issued (the benchmark path).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "app_jwt.h"

namespace fake_github {

struct app_registration {
  std::string app_id;                      // digits; empty: not matched by id
  std::string client_id;                   // "Iv1.…"; empty: not matched by client id
  std::vector<std::string> installations;  // empty: any installation id
  public_key key;
  std::string source;                      // "command line: PATH" or "control api"
  bool from_command_line = false;          // survives POST /_fake/reset

  // `iss` names this App: its id or its client id; an App with neither
  // (`--app-key PATH`) answers to any issuer.
  bool matches(std::string_view issuer) const;
  bool owns(std::string_view installation) const;
  boost::json::object to_json() const;
};

struct issued_token {
  std::string token;
  std::string installation;
  std::int64_t expires_at = 0;
};

class github_apps {
 public:
  explicit github_apps(std::int64_t token_ttl) : initial_ttl_(token_ttl), ttl_(token_ttl) {}

  // Replaces an App with the same app_id and client_id.
  void add(app_registration app);
  bool any() const;
  // The App whose id or client id is `issuer`, else the first App that
  // answers to any issuer (a copy sharing the key).
  std::optional<app_registration> find(std::string_view issuer) const;

  // A fresh "ghs_" token for `installation`, valid for the current TTL.
  issued_token issue(std::string_view installation, std::int64_t now);
  std::optional<issued_token> find_token(std::string_view token) const;
  void note_rejected();  // a token request refused with 401/404

  void set_token_ttl(std::int64_t seconds);
  std::int64_t token_ttl() const;

  boost::json::object to_json(std::int64_t now) const;  // GET /_fake/apps
  // {"installation_tokens_issued":{"<id>":n,…},"installation_token_requests_rejected":n}
  boost::json::object counters_json() const;
  // Drops control-API Apps, issued tokens and counters; TTL back to start-up.
  void reset();

 private:
  mutable std::mutex mutex_;
  const std::int64_t initial_ttl_;
  std::int64_t ttl_;
  std::vector<app_registration> apps_;
  std::unordered_map<std::string, issued_token> tokens_;
  std::map<std::string, std::uint64_t> issued_per_installation_;
  std::uint64_t rejected_ = 0;
  std::uint64_t serial_ = 0;  // never reset: a token string is never handed out twice
  std::atomic<bool> any_tokens_{false};
};

}  // namespace fake_github
