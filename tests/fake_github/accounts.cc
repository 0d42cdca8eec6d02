#include "accounts.h"

#include <boost/beast/core/string.hpp>

#include "body_codec.h"

namespace fake_github {

std::uint64_t user_id_for(std::string_view token) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : token) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return 1 + h % 99999999ull;
}

account identify(std::string_view header) {
  account who;
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  if (header.empty()) return who;
  std::size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view credentials =
      space == std::string_view::npos ? std::string_view{} : header.substr(space + 1);
  while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);

  std::string token;
  if (boost::beast::iequals(scheme, "token") || boost::beast::iequals(scheme, "bearer")) {
    token = credentials;
  } else if (boost::beast::iequals(scheme, "basic")) {
    if (auto decoded = base64_decode(credentials)) {
      std::size_t colon = decoded->find(':');
      if (colon != std::string::npos) token = decoded->substr(colon + 1);
    }
  }
  if (token.empty()) {
    who.malformed = true;
    return who;
  }
  who.user_id = user_id_for(token);
  who.key = std::move(token);
  who.authenticated = true;
  return who;
}

void revocations::revoke(std::string token) {
  std::lock_guard lock(mutex_);
  revoked_.insert(std::move(token));
  any_.store(true, std::memory_order_release);
}

void revocations::reinstate(std::string_view token) {
  std::lock_guard lock(mutex_);
  if (auto it = revoked_.find(token); it != revoked_.end()) revoked_.erase(it);
}

bool revocations::is_revoked(std::string_view token) const {
  if (!any_.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(mutex_);
  return revoked_.find(token) != revoked_.end();
}

void revocations::reset() {
  std::lock_guard lock(mutex_);
  revoked_.clear();
  any_.store(false, std::memory_order_release);
}

}  // namespace fake_github
