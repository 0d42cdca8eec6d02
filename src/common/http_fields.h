// Field-level HTTP helpers shared by the cache policy and the proxy: which
// fields are hop-by-hop, the option names a `Connection` field lists, OWS
// trimming and the Accept-Encoding reading the cache keys on. Pure
// functions; nothing here allocates per call except `connection_options`,
// which holds at most `max_options` names.
#pragma once

#include <cstddef>
#include <string_view>
#include <boost/beast/http/fields.hpp>
#include <boost/container/small_vector.hpp>

namespace github_proxy::common {

// Removes optional whitespace (SP / HTAB, RFC 9110 §5.6.3) at both ends.
std::string_view trim(std::string_view s);

// The connection-specific fields of RFC 9110 §7.6.1 plus the legacy ones
// (Keep-Alive, Proxy-Connection, …), case-insensitively.
bool is_hop_by_hop(std::string_view name);

// The field names listed by the `Connection` lines of a message (RFC 9110
// §7.6.1), which are hop-by-hop too. Views into `fields`: valid while the
// message is unchanged. Lookups are case-insensitive. A message naming more
// than `max_options` distinct options is not HTTP anyone sends: `overflow()`
// says so, and callers refuse it.
class connection_options {
 public:
  static constexpr std::size_t max_options = 32;

  explicit connection_options(const boost::beast::http::fields& fields);
  bool contains(std::string_view name) const;
  bool empty() const { return names_.empty(); }
  bool overflow() const { return overflow_; }

  // Hop-by-hop by itself or named here.
  bool hop_by_hop(std::string_view name) const { return is_hop_by_hop(name) || contains(name); }

 private:
  // Inline: `Connection: keep-alive` on every request allocates nothing.
  boost::container::small_vector<std::string_view, 4> names_;
  bool overflow_ = false;
};

// Whether a Content-Type names `type` ("application/json"), parameters
// aside; type and subtype compare without case (RFC 9110 §8.3.1).
bool media_type_is(std::string_view content_type, std::string_view type);

// Whether a Content-Type is JSON: `application/json` or `application/…+json`.
bool is_json_media_type(std::string_view content_type);

// Whether an Accept-Encoding value accepts gzip (RFC 9110 §12.5.3: `gzip`
// or `x-gzip` listed without `q=0`). Parsed with Beast's ext_list.
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace github_proxy::common
