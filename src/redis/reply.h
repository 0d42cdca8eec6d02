// A Redis reply copied out of hiredis (whose `redisReply` is freed as soon as
// the callback returns), and the outcome of one command.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

struct redisReply;
struct redisReader;

namespace github_proxy::redis {

struct reply {
  enum class kind { nil, string, status, integer, array, error };

  kind type = kind::nil;
  std::string text;  // string, status, error (binary-safe)
  long long integer = 0;
  std::vector<reply> elements;

  bool is_error() const { return type == kind::error; }
  // A status reply equal to `expected` ("OK", "PONG").
  bool is_status(std::string_view expected) const { return type == kind::status && text == expected; }
};

struct command_result {
  // store_error::unavailable (not connected, connection lost, too many in
  // flight), store_error::timeout, or operation_aborted (the caller's
  // coroutine was cancelled). Redis' own error replies are not errors here:
  // they come back as a `reply` of kind `error`.
  boost::system::error_code error;
  reply value;
};

// Deep copy of hiredis' reply tree.
reply copy_reply(const redisReply& r);

// The most elements one array reply may announce. hiredis 0.14 allocates
// the element vector from the announced count before any element arrives
// (it has no maxelements), so `*678901231` alone would allocate 5 GB.
inline constexpr int max_reply_elements = 1 << 20;

// A hiredis reader whose arrays are bounded by max_reply_elements: a larger
// announced count is a protocol error (the link drops), not an allocation.
// Free it with redisReaderFree.
redisReader* make_bounded_reader();

}  // namespace github_proxy::redis
