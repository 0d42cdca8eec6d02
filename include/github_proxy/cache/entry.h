// What the proxy keeps in a cache store for one cached GitHub response, and
// its binary encoding. The store sees only the encoded bytes (STYLE
// principle 5); everything here is a pure value.
//
// Encoding (version 1; all integers little-endian):
//   u8  magic 0xCE, u8 version 0x01
//   u16 status, u8 encoding, u8 flags (bit 0: Vary has Accept,
//                                      bit 1: Vary has Authorization)
//   i64 stored_at (milliseconds since the Unix epoch)
//   str etag, str last_modified, str credential, str authorization_fingerprint,
//   str accept
//   u32 header count, then per header: str name, str value
//   str body
// where `str` is a u32 length followed by that many bytes. Decoding rejects
// (nullopt, which the caller treats as `store_error::corrupt`, i.e. a miss):
// another magic or version, a length over its bound below or past the end of
// the input, unknown flag bits or encodings, and trailing bytes.
// Change the layout only together with the version byte.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace github_proxy::cache {

// How the stored body is encoded. The ETag is always over the identity bytes.
enum class body_encoding : std::uint8_t { identity = 0, gzip = 1 };

// When GitHub last confirmed an entry to this process (a 304 to a
// revalidation): a process-local note, neither encoded nor compared, that
// any thread may update on a shared const entry (one relaxed atomic store).
// Read under secondary-limit pressure (policy.h `confirmed_within`).
class confirmation_note {
 public:
  confirmation_note() = default;
  confirmation_note(const confirmation_note& other) : us_(other.us_.load(std::memory_order_relaxed)) {}
  confirmation_note& operator=(const confirmation_note& other) {
    us_.store(other.us_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
  void note(std::chrono::system_clock::time_point at) const {
    us_.store(std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count(),
              std::memory_order_relaxed);
  }
  // The last note; the epoch when none.
  std::chrono::system_clock::time_point last() const {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(us_.load(std::memory_order_relaxed)));
  }
  friend bool operator==(const confirmation_note&, const confirmation_note&) { return true; }

 private:
  mutable std::atomic<std::int64_t> us_{0};
};

struct entry {
  unsigned status = 200;
  // End-to-end response fields to replay, in the order received (hop-by-hop
  // fields are never stored). Repeated names (GitHub's two Vary lines) stay
  // separate.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // in `encoding`
  body_encoding encoding = body_encoding::identity;

  std::string etag;           // the validator as received ("\"hex\"" or "W/\"hex\""); may be empty
  std::string last_modified;  // as received; may be empty
  // The pool credential (its configured name, never its secret) that `etag`
  // was issued to: GitHub's ETags are per credential (docs/github-api.md §8).
  std::string credential;
  // Which token of that credential: `authorization_fingerprint()` of the
  // Authorization value `etag` was issued for (empty: unknown). App
  // installation tokens rotate hourly and each token gets its own ETags, so
  // the same credential name alone does not make the stored ETag valid.
  std::string authorization_fingerprint;
  // The request values GitHub folded into the ETag: the Accept sent upstream
  // (empty: none was sent) and whether the response's Vary listed Accept and
  // Authorization. Cookie never contributes: requests with a Cookie are not
  // cached (see policy.h).
  std::string accept;
  bool vary_accept = false;
  bool vary_authorization = false;

  std::chrono::system_clock::time_point stored_at{};  // millisecond resolution once encoded
  // GitHub's confirmations since `stored_at` seen by this process.
  confirmation_note confirmed;

  bool operator==(const entry&) const = default;
};

inline constexpr std::uint8_t entry_magic = 0xCE;
inline constexpr std::uint8_t entry_version = 1;

// Bounds enforced by `decode` (and assumed by `encode`'s callers: responses
// over them are not storable, see `response_storable`).
inline constexpr std::size_t max_entry_headers = 512;
inline constexpr std::size_t max_entry_field_bytes = 64 * 1024;  // one name, value or metadata string
inline constexpr std::size_t max_entry_body_bytes = 1024ull * 1024 * 1024;

std::string encode(const entry& e);
std::optional<entry> decode(std::string_view bytes);

}  // namespace github_proxy::cache
