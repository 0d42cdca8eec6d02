// The request/response types shared by the session and the application.
// Responses are kept as a pre-rendered header block: GitHub's ~25 headers
// per answer made Beast's per-field serializer the hot spot of a benchmark.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace fake_github {

namespace http = boost::beast::http;

using request_t = http::request<http::string_body>;

struct connection_info {
  std::string client_address;   // "127.0.0.1"
  std::string local_authority;  // "127.0.0.1:PORT", used when Host is missing or unsafe
  bool tls = false;
};

enum class response_action {
  respond,  // write the answer
  reset,    // close the socket with RST, no answer
  hang,     // never answer; keep reading until the client goes away
};

struct outgoing_response {
  response_action action = response_action::respond;
  unsigned status = 200;
  std::string headers;      // "Name: value\r\n" lines, in order, framing headers included
  std::string body;         // the bytes after the header block (gzip'd already); empty for HEAD
  bool chunked = false;     // frame `body` as one chunk plus the last chunk
  bool keep_alive = true;
  unsigned version = 11;    // of the request: 10 or 11

  void add_header(std::string_view name, std::string_view value) {
    headers.append(name);
    headers.append(": ");
    headers.append(value);
    headers.append("\r\n");
  }

  // Status line, header block, Connection when it differs from the version's
  // default (RFC 9112 §9.3), and the empty line.
  std::string head_block() const {
    std::string out;
    out.reserve(headers.size() + 64);
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    out.append(std::to_string(status));
    out.push_back(' ');
    out.append(http::obsolete_reason(static_cast<http::status>(status)));
    out.append("\r\n");
    out.append(headers);
    if (version == 11 && !keep_alive) out.append("Connection: close\r\n");
    if (version == 10 && keep_alive) out.append("Connection: keep-alive\r\n");
    out.append("\r\n");
    return out;
  }
};

// A small JSON answer (control API, protocol errors), not a GitHub response.
inline outgoing_response plain_json(unsigned status, std::string body, const request_t* request = nullptr) {
  outgoing_response out;
  out.status = status;
  if (request != nullptr) {
    out.version = request->version() == 10 ? 10 : 11;
    out.keep_alive = request->keep_alive();
  }
  out.add_header("Content-Type", "application/json; charset=utf-8");
  out.add_header("Cache-Control", "no-store");
  out.add_header("Content-Length", std::to_string(body.size()));
  out.body = std::move(body);
  return out;
}

}  // namespace fake_github
