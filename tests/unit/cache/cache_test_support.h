// Helpers shared by the cache unit tests: header sets recorded from the fake
// GitHub, field construction, and gzip (zlib) for bodies stored compressed.
#pragma once

#include <zlib.h>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/http/fields.hpp>

namespace github_proxy::cache::test {

inline boost::beast::http::fields make_fields(
    std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  boost::beast::http::fields out;
  for (const auto& [name, value] : list) out.insert(name, value);
  return out;
}

inline std::string gzip(std::string_view bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

// The fake GitHub's ETags for `fake_repo_1_body` (see fake_repo_body.h).
inline constexpr std::string_view etag_abc =
    "\"7e9881f14fb22de146febfae936d4bfb06e1b8f24a9aa66c49ced8aee3bc74f7\"";
inline constexpr std::string_view etag_xyz =
    "\"feaa115c6eb75b46c0bec74dd6b1e12798c9faa03f9859807463fa40ad726950\"";

// The 200 the fake sent for `GET /repos/octo-org/repo-1` with
// `Authorization: token abc` and `Accept: */*`, in its order.
inline boost::beast::http::fields fake_repo_1_ok() {
  return make_fields({
      {"Server", "GitHub.com"},
      {"Date", "Tue, 24 Nov 2026 00:22:54 GMT"},
      {"Content-Type", "application/json; charset=utf-8"},
      {"Content-Length", "6704"},
      {"Cache-Control", "private, max-age=60, s-maxage=60"},
      {"Vary", "Accept, Authorization, Cookie, X-GitHub-OTP"},
      {"ETag", etag_abc},
      {"Last-Modified", "Wed, 01 May 2024 12:01:00 GMT"},
      {"X-OAuth-Scopes", "gist, read:org, repo, workflow"},
      {"X-Accepted-OAuth-Scopes", "repo"},
      {"X-GitHub-Media-Type", "github.v3; format=json"},
      {"x-github-api-version-selected", "2022-11-28"},
      {"X-RateLimit-Limit", "5000"},
      {"X-RateLimit-Remaining", "4999"},
      {"X-RateLimit-Reset", "1795483374"},
      {"X-RateLimit-Used", "1"},
      {"X-RateLimit-Resource", "core"},
      {"Access-Control-Allow-Origin", "*"},
      {"X-Content-Type-Options", "nosniff"},
      {"Vary", "Accept-Encoding, Accept, X-Requested-With"},
      {"X-GitHub-Request-Id", "7DFB:9D1A:0000000:42D6A94:6B04D8DE"},
  });
}

// The 304 the fake sent to `token xyz` revalidating with `etag_xyz`.
inline boost::beast::http::fields fake_repo_1_not_modified() {
  return make_fields({
      {"Server", "GitHub.com"},
      {"Date", "Tue, 24 Nov 2026 00:23:03 GMT"},
      {"Cache-Control", "private, max-age=60, s-maxage=60"},
      {"Vary", "Accept, Authorization, Cookie, X-GitHub-OTP"},
      {"ETag", etag_xyz},
      {"Last-Modified", "Wed, 01 May 2024 12:01:00 GMT"},
      {"x-github-api-version-selected", "2022-11-28"},
      {"X-RateLimit-Limit", "5000"},
      {"X-RateLimit-Remaining", "4998"},
      {"X-RateLimit-Reset", "1795483379"},
      {"X-RateLimit-Used", "2"},
      {"X-RateLimit-Resource", "core"},
      {"Access-Control-Allow-Origin", "*"},
      {"X-Content-Type-Options", "nosniff"},
      {"Vary", "Accept-Encoding, Accept, X-Requested-With"},
      {"X-GitHub-Request-Id", "0058:FC81:0000007:912EB16:6B04D8E7"},
  });
}

}  // namespace github_proxy::cache::test
