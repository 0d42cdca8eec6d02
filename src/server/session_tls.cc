// run_session for tls_stream (see session_impl.h).
#include "server/session_impl.h"

namespace github_proxy::server {
template boost::asio::awaitable<void> run_session(tls_stream, session_env, client_endpoint_info);
}  // namespace github_proxy::server
