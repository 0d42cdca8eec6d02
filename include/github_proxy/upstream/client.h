// One request to GitHub and its answer (docs/architecture.md "Upstream"):
// `send` writes a prepared request over a keep-alive connection and reads
// the response head; the body comes through a `body_reader`, so the caller
// decides whether to hold it (the cache stores it) or relay it piece by
// piece (a large download). The connection goes back to the pool when the
// body has been read to its end, and is closed when the reader is dropped
// earlier.
//
// Threading: a client belongs to one I/O thread and is used only from
// coroutines on its executor (like the connection pools it owns). Its
// readers too.
// Lifetime: readers must not outlive their client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "github_proxy/common/http.h"
#include "github_proxy/upstream/endpoint.h"

namespace github_proxy::upstream {

// Which of GitHub's two origins a request goes to (they differ on GHES
// only when configured so: upstream.graphql_url).
enum class api : std::uint8_t { rest, graphql };

struct body_chunk {
  boost::system::error_code error;  // beast::error::timeout when a read stalled
  std::size_t size = 0;             // bytes written to the destination
};

class body_reader {
 public:
  virtual ~body_reader() = default;
  // Reads the next bytes of the body into [dest, dest + room), within the
  // request timeout. After an error the reader is finished.
  virtual boost::asio::awaitable<body_chunk> read_some(char* dest, std::size_t room) = 0;
  // The body has been read to its end (at once for HEAD, 204 and 304).
  virtual bool done() const = 0;
  // The body is about to be relayed as it comes, for as long as the client
  // reads: its connection stops counting among those of short requests.
  // False when this thread relays as many long transfers as it may already.
  virtual bool begin_stream() { return true; }
};

struct exchange {
  bool answered = false;   // a response head arrived
  bool timed_out = false;  // without an answer: a deadline passed (else: unreachable)
  response_header head;    // when answered
  std::optional<std::uint64_t> content_length;  // when the answer declares one
  std::unique_ptr<body_reader> body;            // when answered
};

struct client_options {
  std::chrono::milliseconds connect_timeout{5000};
  // For the connection, the request and the response head together, and
  // again for each read of the body.
  std::chrono::milliseconds request_timeout{30000};
  // This thread's share of upstream.max_connections_per_host, per origin,
  // for short requests; as many again may relay long transfers.
  std::size_t max_connections = 64;
};

class client {
 public:
  virtual ~client() = default;
  // Sends `req` as it is: the caller has set the target, Host and every
  // field (Content-Length is set here). A request that fails before any
  // answer on a reused keep-alive connection is sent once more on a new one
  // when it is idempotent: the server may have closed the idle connection.
  virtual boost::asio::awaitable<exchange> send(request& req, api which) = 0;
  // Closes the idle keep-alive connections (at shutdown).
  virtual void close_idle() = 0;
};

// A client over keep-alive connection pools, one per origin (a single pool
// when both APIs share one). `rest`, `graphql` and `tls` must outlive it.
std::unique_ptr<client> make_pooled_client(boost::asio::any_io_executor executor, const endpoint& rest,
                                           const endpoint& graphql, boost::asio::ssl::context* tls,
                                           client_options options);

// Reads the rest of `body` into the end of `out`. `limit` bounds the whole
// of `out`: a longer body fails with boost::beast::http::error::body_limit.
// `content_length`, when known, sizes `out` once.
boost::asio::awaitable<boost::system::error_code> read_whole(body_reader& body, std::string& out,
                                                             std::size_t limit,
                                                             std::optional<std::uint64_t> content_length);

}  // namespace github_proxy::upstream
