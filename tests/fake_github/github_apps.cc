#include "github_apps.h"

#include <algorithm>

#include <boost/json.hpp>

#include "time_format.h"

namespace fake_github {
namespace json = boost::json;

bool app_registration::matches(std::string_view issuer) const {
  if (app_id.empty() && client_id.empty()) return true;
  return (!app_id.empty() && issuer == app_id) || (!client_id.empty() && issuer == client_id);
}

bool app_registration::owns(std::string_view installation) const {
  return installations.empty() ||
         std::find(installations.begin(), installations.end(), installation) != installations.end();
}

json::object app_registration::to_json() const {
  json::array ids;
  for (const auto& i : installations) ids.emplace_back(i);
  return {{"app_id", app_id}, {"client_id", client_id}, {"installations", std::move(ids)}, {"source", source}};
}

void github_apps::add(app_registration app) {
  std::lock_guard lock(mutex_);
  auto same = [&](const app_registration& a) { return a.app_id == app.app_id && a.client_id == app.client_id; };
  apps_.erase(std::remove_if(apps_.begin(), apps_.end(), same), apps_.end());
  apps_.push_back(std::move(app));
}

bool github_apps::any() const {
  std::lock_guard lock(mutex_);
  return !apps_.empty();
}

std::optional<app_registration> github_apps::find(std::string_view issuer) const {
  std::lock_guard lock(mutex_);
  const app_registration* any_issuer = nullptr;
  for (const auto& a : apps_) {
    if (a.app_id.empty() && a.client_id.empty()) {
      if (any_issuer == nullptr) any_issuer = &a;
    } else if (a.matches(issuer)) {
      return a;
    }
  }
  if (any_issuer != nullptr) return *any_issuer;
  return std::nullopt;
}

namespace {
constexpr std::size_t installation_token_length = 520;
}  // namespace

issued_token github_apps::issue(std::string_view installation, std::int64_t now) {
  std::lock_guard lock(mutex_);
  issued_token t;
  // GitHub's installation tokens were "ghs_" + 36 characters and are
  // becoming ~520-character strings (docs/github-api.md §5): the fake issues
  // the long form, so every test with an App carries one through the pool,
  // the headers and the logs' redaction. The installation and a serial keep
  // ours unique and readable; 'z' pads.
  t.token = "ghs_fake" + std::string(installation) + "x" + std::to_string(++serial_);
  t.token.resize(std::max<std::size_t>(t.token.size(), installation_token_length), 'z');
  t.installation = installation;
  t.expires_at = now + ttl_;
  tokens_[t.token] = t;
  ++issued_per_installation_[t.installation];
  any_tokens_.store(true, std::memory_order_release);
  return t;
}

std::optional<issued_token> github_apps::find_token(std::string_view token) const {
  if (!any_tokens_.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

void github_apps::note_rejected() {
  std::lock_guard lock(mutex_);
  ++rejected_;
}

void github_apps::set_token_ttl(std::int64_t seconds) {
  std::lock_guard lock(mutex_);
  ttl_ = seconds;
}

std::int64_t github_apps::token_ttl() const {
  std::lock_guard lock(mutex_);
  return ttl_;
}

json::object github_apps::to_json(std::int64_t now) const {
  std::lock_guard lock(mutex_);
  json::array apps;
  for (const auto& a : apps_) apps.push_back(a.to_json());
  std::vector<const issued_token*> ordered;
  for (const auto& [_, t] : tokens_) ordered.push_back(&t);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->token < b->token; });
  json::array tokens;
  for (const auto* t : ordered)
    tokens.push_back(json::object{{"token", t->token},
                                  {"installation", t->installation},
                                  {"expires_at", iso8601(t->expires_at)},
                                  {"expires_at_unix", t->expires_at},
                                  {"expired", now >= t->expires_at}});
  return {{"apps", std::move(apps)},
          {"verifying", !apps_.empty()},
          {"token_ttl", ttl_},
          {"tokens", std::move(tokens)}};
}

json::object github_apps::counters_json() const {
  std::lock_guard lock(mutex_);
  json::object issued;
  for (const auto& [installation, n] : issued_per_installation_) issued[installation] = n;
  return {{"installation_tokens_issued", std::move(issued)}, {"installation_token_requests_rejected", rejected_}};
}

void github_apps::reset() {
  std::lock_guard lock(mutex_);
  apps_.erase(std::remove_if(apps_.begin(), apps_.end(), [](const auto& a) { return !a.from_command_line; }),
              apps_.end());
  tokens_.clear();
  issued_per_installation_.clear();
  rejected_ = 0;
  ttl_ = initial_ttl_;
  any_tokens_.store(false, std::memory_order_release);
}

}  // namespace fake_github
