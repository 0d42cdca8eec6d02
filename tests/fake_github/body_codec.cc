#include "body_codec.h"

#include <stdexcept>
#include <unordered_map>

#include <boost/json.hpp>
#include <zlib.h>

namespace fake_github {
namespace {

// OpenSSL 3: fetch once instead of the implicit fetch inside every init.
const EVP_MD* fetched(digest::algorithm which) {
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return which == digest::algorithm::sha256 ? sha256 : sha1;
}

constexpr char hex_digits[] = "0123456789abcdef";

}  // namespace

digest::digest(algorithm which) : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, fetched(which), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::runtime_error("EVP digest init failed");
  }
}

digest::~digest() { EVP_MD_CTX_free(ctx_); }

digest& digest::update(std::string_view bytes) {
  EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
  return *this;
}

std::string digest::hex() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, raw, &n);
  std::string out(n * 2, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = hex_digits[raw[i] >> 4];
    out[2 * i + 1] = hex_digits[raw[i] & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  return digest(digest::algorithm::sha256).update(bytes).hex();
}

std::string git_blob_sha(std::string_view content) {
  std::string header = "blob " + std::to_string(content.size());
  header.push_back('\0');
  return digest(digest::algorithm::sha1).update(header).update(content).hex();
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string base64_wrapped(std::string_view bytes) {
  std::string flat = base64_encode(bytes);
  std::string out;
  out.reserve(flat.size() + flat.size() / 60 + 1);
  for (std::size_t i = 0; i < flat.size(); i += 60) {
    out.append(flat, i, 60);
    out.push_back('\n');
  }
  return out;
}

namespace {

std::string deflate_gzip(std::string_view bytes) {
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper (zlib manual, deflateInit2).
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace

std::string gzip_compress(std::string_view bytes) {
  constexpr std::size_t memo_max_body = 256 * 1024;
  constexpr std::size_t memo_max_entries = 64;
  if (bytes.size() > memo_max_body) return deflate_gzip(bytes);
  thread_local std::unordered_map<std::string, std::string> memo;
  if (auto it = memo.find(std::string(bytes)); it != memo.end()) return it->second;
  if (memo.size() >= memo_max_entries) memo.clear();
  std::string compressed = deflate_gzip(bytes);
  memo.emplace(std::string(bytes), compressed);
  return compressed;
}

namespace {

void pretty(const boost::json::value& v, std::string& out, int depth) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(2 * d), ' '); };
  if (v.is_object()) {
    const auto& obj = v.get_object();
    if (obj.empty()) { out += "{}"; return; }
    out += "{\n";
    bool first = true;
    for (const auto& kv : obj) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      out += boost::json::serialize(boost::json::string_view(kv.key()));
      out += ": ";
      pretty(kv.value(), out, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "}";
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    if (arr.empty()) { out += "[]"; return; }
    out += "[\n";
    bool first = true;
    for (const auto& item : arr) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      pretty(item, out, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "]";
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::optional<std::string> pretty_print_json(std::string_view compact) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(compact, ec);
  if (ec) return std::nullopt;
  std::string out;
  out.reserve(compact.size() * 2);
  pretty(v, out, 0);
  out.push_back('\n');
  return out;
}

}  // namespace fake_github
