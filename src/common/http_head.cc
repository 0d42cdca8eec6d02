#include "common/http_head.h"

#include <charconv>

namespace github_proxy {

namespace http = boost::beast::http;

namespace {

void append_fields(std::string& out, const http::fields& fields) {
  for (const auto& field : fields) {
    out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  out.append("\r\n");
}

void append_version(std::string& out, unsigned version) {
  out.append(version == 10 ? "HTTP/1.0" : "HTTP/1.1");
}

}  // namespace

void append_head(std::string& out, const http::response_header<>& head) {
  append_version(out, head.version());
  char code[4];
  std::to_chars(code, code + 3, head.result_int());
  out.push_back(' ');
  out.append(code, 3).push_back(' ');
  const auto reason = head.reason();
  out.append(reason.empty() ? http::obsolete_reason(head.result()) : reason).append("\r\n");
  append_fields(out, head);
}

void append_head(std::string& out, const http::request_header<>& head) {
  out.append(head.method_string()).push_back(' ');
  out.append(head.target()).push_back(' ');
  append_version(out, head.version());
  out.append("\r\n");
  append_fields(out, head);
}

}  // namespace github_proxy
