#include "github_proxy/cache/entry.h"

namespace github_proxy::cache {
namespace {

constexpr std::uint8_t flag_vary_accept = 0x01;
constexpr std::uint8_t flag_vary_authorization = 0x02;
constexpr std::uint8_t known_flags = flag_vary_accept | flag_vary_authorization;

class writer {
 public:
  explicit writer(std::size_t reserve) { out_.reserve(reserve); }

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { put_le(v, 2); }
  void u32(std::uint32_t v) { put_le(v, 4); }
  void i64(std::int64_t v) { put_le(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  void put_le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Every read checks the remaining length first: a corrupt length can never
// make decode read past the input or allocate more than the input's size.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  bool u8(std::uint8_t& v) {
    std::uint64_t x = 0;
    if (!get_le(x, 1)) return false;
    v = static_cast<std::uint8_t>(x);
    return true;
  }
  bool u16(std::uint16_t& v) {
    std::uint64_t x = 0;
    if (!get_le(x, 2)) return false;
    v = static_cast<std::uint16_t>(x);
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint64_t x = 0;
    if (!get_le(x, 4)) return false;
    v = static_cast<std::uint32_t>(x);
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t x = 0;
    if (!get_le(x, 8)) return false;
    v = static_cast<std::int64_t>(x);
    return true;
  }
  bool str(std::string& s, std::size_t bound) {
    std::uint32_t n = 0;
    if (!u32(n) || n > bound || n > in_.size()) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  bool get_le(std::uint64_t& v, std::size_t bytes) {
    if (in_.size() < bytes) return false;
    v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v |= std::uint64_t(static_cast<unsigned char>(in_[i])) << (8 * i);
    in_.remove_prefix(bytes);
    return true;
  }
  std::string_view in_;
};

}  // namespace

std::string encode(const entry& e) {
  std::size_t size = 2 + 2 + 1 + 1 + 8 + 4 * 4 + e.etag.size() + e.last_modified.size() +
                     e.credential.size() + e.authorization_fingerprint.size() + e.accept.size() + 4 + 4 + 4 +
                     e.body.size();
  for (const auto& [name, value] : e.headers) size += 8 + name.size() + value.size();

  writer w(size);
  w.u8(entry_magic);
  w.u8(entry_version);
  w.u16(static_cast<std::uint16_t>(e.status));
  w.u8(static_cast<std::uint8_t>(e.encoding));
  w.u8(static_cast<std::uint8_t>((e.vary_accept ? flag_vary_accept : 0) |
                                 (e.vary_authorization ? flag_vary_authorization : 0)));
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(e.stored_at);
  w.i64(ms.time_since_epoch().count());
  w.str(e.etag);
  w.str(e.last_modified);
  w.str(e.credential);
  w.str(e.authorization_fingerprint);
  w.str(e.accept);
  w.u32(static_cast<std::uint32_t>(e.headers.size()));
  for (const auto& [name, value] : e.headers) {
    w.str(name);
    w.str(value);
  }
  w.str(e.body);
  return w.take();
}

std::optional<entry> decode(std::string_view bytes) {
  reader r(bytes);
  entry e;
  std::uint8_t magic = 0, version = 0, encoding = 0, flags = 0;
  std::uint16_t status = 0;
  std::int64_t stored_ms = 0;
  if (!r.u8(magic) || magic != entry_magic || !r.u8(version) || version != entry_version) return std::nullopt;
  if (!r.u16(status) || status < 100 || status > 999) return std::nullopt;
  if (!r.u8(encoding) || encoding > static_cast<std::uint8_t>(body_encoding::gzip)) return std::nullopt;
  if (!r.u8(flags) || (flags & ~known_flags) != 0) return std::nullopt;
  // Bounded so that the conversion to the clock's duration cannot overflow.
  constexpr std::int64_t max_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::duration::max())
                                      .count();
  if (!r.i64(stored_ms) || stored_ms > max_ms || stored_ms < -max_ms) return std::nullopt;
  e.status = status;
  e.encoding = static_cast<body_encoding>(encoding);
  e.vary_accept = (flags & flag_vary_accept) != 0;
  e.vary_authorization = (flags & flag_vary_authorization) != 0;
  e.stored_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::milliseconds(stored_ms)));

  if (!r.str(e.etag, max_entry_field_bytes) || !r.str(e.last_modified, max_entry_field_bytes) ||
      !r.str(e.credential, max_entry_field_bytes) ||
      !r.str(e.authorization_fingerprint, max_entry_field_bytes) || !r.str(e.accept, max_entry_field_bytes))
    return std::nullopt;

  std::uint32_t count = 0;
  if (!r.u32(count) || count > max_entry_headers) return std::nullopt;
  e.headers.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!r.str(name, max_entry_field_bytes) || name.empty() || !r.str(value, max_entry_field_bytes))
      return std::nullopt;
    e.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!r.str(e.body, max_entry_body_bytes) || !r.done()) return std::nullopt;
  return e;
}

}  // namespace github_proxy::cache
