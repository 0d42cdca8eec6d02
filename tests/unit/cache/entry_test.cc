#include "github_proxy/cache/entry.h"

#include <gtest/gtest.h>

namespace github_proxy::cache {
namespace {

entry sample() {
  entry e;
  e.status = 200;
  e.headers = {{"Server", "GitHub.com"},
               {"Vary", "Accept, Authorization, Cookie, X-GitHub-OTP"},
               {"X-Empty", ""},
               {"Vary", "Accept-Encoding, Accept, X-Requested-With"}};
  e.body = std::string("\x1f\x8b\0binary\0\xff", 11);
  e.encoding = body_encoding::gzip;
  e.etag = "W/\"68ec45d743bb1d53f805ddfd5ce767fe4c6f95f825f45853d143e7429d462251\"";
  e.last_modified = "Sat, 18 Nov 2023 13:36:18 GMT";
  e.credential = "general-app";
  e.authorization_fingerprint = "0123456789abcdef";
  e.accept = "application/vnd.github+json";
  e.vary_accept = true;
  e.vary_authorization = true;
  e.stored_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'343'999'123));
  return e;
}

// Offsets in the version-1 layout (see entry.h).
constexpr std::size_t version_offset = 1;
constexpr std::size_t flags_offset = 5;
constexpr std::size_t etag_length_offset = 14;

TEST(CacheEntry, RoundTrip) {
  const entry e = sample();
  const std::string bytes = encode(e);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), entry_magic);
  EXPECT_EQ(static_cast<unsigned char>(bytes[version_offset]), entry_version);
  const auto decoded = decode(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, e);
}

TEST(CacheEntry, RoundTripOfAnEmptyEntry) {
  const entry e;
  const auto decoded = decode(encode(e));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, e);
}

TEST(CacheEntry, StoredAtKeepsMilliseconds) {
  entry e = sample();
  e.stored_at += std::chrono::microseconds(456);
  const auto decoded = decode(encode(e));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->stored_at, sample().stored_at);
}

TEST(CacheEntry, UnknownVersionOrMagicIsCorrupt) {
  std::string bytes = encode(sample());
  bytes[version_offset] = static_cast<char>(entry_version + 1);
  EXPECT_FALSE(decode(bytes));
  bytes = encode(sample());
  bytes[0] = '{';  // e.g. a JSON value some other writer put there
  EXPECT_FALSE(decode(bytes));
  EXPECT_FALSE(decode(""));
}

TEST(CacheEntry, EveryTruncationIsCorrupt) {
  const std::string bytes = encode(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode(bytes.substr(0, n))) << n;
}

TEST(CacheEntry, TrailingBytesAreCorrupt) { EXPECT_FALSE(decode(encode(sample()) + '\0')); }

TEST(CacheEntry, AbsurdLengthsAreRejected) {
  std::string bytes = encode(sample());
  // The etag's length claims 4 GiB.
  for (std::size_t i = 0; i < 4; ++i) bytes[etag_length_offset + i] = '\xff';
  EXPECT_FALSE(decode(bytes));

  entry e = sample();
  e.etag = std::string(max_entry_field_bytes + 1, 'x');
  EXPECT_FALSE(decode(encode(e)));
  e = sample();
  e.headers.assign(max_entry_headers + 1, {"X", "y"});
  EXPECT_FALSE(decode(encode(e)));
  e.headers.assign(max_entry_headers, {"X", "y"});
  EXPECT_TRUE(decode(encode(e)));
  e.headers = {{"", "nameless"}};
  EXPECT_FALSE(decode(encode(e)));
}

TEST(CacheEntry, UnknownFlagsEncodingsAndStatusesAreCorrupt) {
  std::string bytes = encode(sample());
  bytes[flags_offset] = '\x04';
  EXPECT_FALSE(decode(bytes));
  bytes = encode(sample());
  bytes[flags_offset - 1] = '\x02';  // encoding
  EXPECT_FALSE(decode(bytes));
  entry e = sample();
  e.status = 42;
  EXPECT_FALSE(decode(encode(e)));
}

}  // namespace
}  // namespace github_proxy::cache
