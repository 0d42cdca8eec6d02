// Serialises an HTTP/1.1 message head into one contiguous buffer.
//
// Beast's serializer hands the socket one buffer per header field; GitHub
// responses carry ~25 fields, and walking that buffer sequence was the top
// user-space cost of the proxy under load. One buffer for the head and one
// for the body make a two-element gather write instead.
#pragma once

#include <string>

#include <boost/beast/http/message.hpp>

namespace github_proxy {

// Appends "HTTP/1.1 200 OK\r\n" + "Name: value\r\n"… + "\r\n".
void append_head(std::string& out, const boost::beast::http::response_header<>& head);
// Appends "GET /target HTTP/1.1\r\n" + fields + "\r\n".
void append_head(std::string& out, const boost::beast::http::request_header<>& head);

}  // namespace github_proxy
