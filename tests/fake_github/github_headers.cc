#include "github_headers.h"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <random>
#include <thread>

#include "time_format.h"

namespace fake_github {
namespace {

constexpr std::string_view expose_headers =
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, "
    "X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, "
    "X-GitHub-Request-Id, Deprecation, Sunset";

}  // namespace

const std::string& cached_http_date(std::int64_t now) {
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached;
  if (now != cached_second) {
    cached = http_date(now);
    cached_second = now;
  }
  return cached;
}

std::string make_request_id(std::int64_t now) {
  static std::atomic<std::uint32_t> sequence{0};
  thread_local std::minstd_rand rng(static_cast<std::uint32_t>(
      std::hash<std::thread::id>{}(std::this_thread::get_id()) ^ static_cast<std::size_t>(now)));
  std::uint32_t seq = sequence.fetch_add(1, std::memory_order_relaxed);
  char buffer[48];
  int n = std::snprintf(buffer, sizeof buffer, "%04X:%04X:%07X:%07X:%08X",
                        static_cast<unsigned>(rng() & 0xFFFF), static_cast<unsigned>(rng() & 0xFFFF),
                        static_cast<unsigned>(seq & 0xFFFFFFF),
                        static_cast<unsigned>(rng() & 0xFFFFFFF), static_cast<unsigned>(now));
  return std::string(buffer, static_cast<std::size_t>(n));
}

namespace {

void put(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void put(std::string& out, std::string_view name, std::int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  put(out, name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

}  // namespace

void write_headers(std::string& out, const header_plan& p) {
  const bool entity = !p.not_modified;
  put(out, "Server", "GitHub.com");
  put(out, "Date", cached_http_date(p.now));
  if (entity && !p.content_type.empty()) put(out, "Content-Type", p.content_type);
  if (entity && p.chunked) put(out, "Transfer-Encoding", "chunked");
  if (entity && p.content_length) put(out, "Content-Length", static_cast<std::int64_t>(*p.content_length));

  switch (p.cache) {
    case cache_policy::standard:
      put(out, "Cache-Control", p.authenticated ? "private, max-age=60, s-maxage=60"
                                                  : "public, max-age=60, s-maxage=60");
      break;
    case cache_policy::no_cache: put(out, "Cache-Control", "no-cache"); break;
    case cache_policy::redirect_public:
      put(out, "Cache-Control", "public, must-revalidate, max-age=0");
      put(out, "expires", cached_http_date(p.now));
      break;
    case cache_policy::none: break;
  }
  const bool two_vary_lines = p.vary == vary_policy::full && p.authenticated;
  if (two_vary_lines) put(out, "Vary", "Accept, Authorization, Cookie, X-GitHub-OTP");
  else if (p.vary == vary_policy::full) put(out, "Vary", "Accept, Accept-Encoding, Accept, X-Requested-With");
  else put(out, "Vary", "Accept-Encoding, Accept, X-Requested-With");

  if (!p.etag.empty()) put(out, "ETag", p.etag);
  if (p.last_modified) put(out, "Last-Modified", http_date(*p.last_modified));
  if (entity && p.authenticated) {
    put(out, "X-OAuth-Scopes", oauth_scopes);
    put(out, "X-Accepted-OAuth-Scopes", p.accepted_scopes);
  }
  if (!p.location.empty()) put(out, "Location", p.location);
  if (entity && !p.media_type.empty()) put(out, "X-GitHub-Media-Type", p.media_type);
  if (!p.link.empty() && entity) put(out, "Link", p.link);
  for (const auto& [name, value] : p.extra) put(out, name, value);
  put(out, "x-github-api-version-selected", p.api_version);
  if (p.ghes) put(out, "X-GitHub-Enterprise-Version", "3.14.0");
  if (p.rate) {
    put(out, "X-RateLimit-Limit", p.rate->limit);
    put(out, "X-RateLimit-Remaining", p.rate->remaining);
    put(out, "X-RateLimit-Reset", p.rate->reset);
    put(out, "X-RateLimit-Used", p.rate->used);
    put(out, "X-RateLimit-Resource", resource_name(p.rate->res));
  }
  put(out, "Access-Control-Expose-Headers", expose_headers);
  put(out, "Access-Control-Allow-Origin", "*");
  put(out, "Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload");
  put(out, "X-Frame-Options", "deny");
  put(out, "X-Content-Type-Options", "nosniff");
  put(out, "X-XSS-Protection", "0");
  put(out, "Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin");
  put(out, "Content-Security-Policy", "default-src 'none'");
  if (two_vary_lines) put(out, "Vary", "Accept-Encoding, Accept, X-Requested-With");
  if (entity && p.gzip) put(out, "Content-Encoding", "gzip");
  put(out, "X-GitHub-Request-Id", p.request_id);
}

}  // namespace fake_github
