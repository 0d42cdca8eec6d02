// run_session for boost::beast::tcp_stream (see session_impl.h).
#include "server/session_impl.h"

namespace github_proxy::server {
template boost::asio::awaitable<void> run_session(boost::beast::tcp_stream, session_env, client_endpoint_info);
}  // namespace github_proxy::server
