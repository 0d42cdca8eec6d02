#include "redis/client.h"

#include <utility>

#include "redis/cluster.h"

namespace github_proxy::redis {

namespace asio = boost::asio;

namespace {

// A standalone or Sentinel-managed server: one connection does it all.
class single_client final : public client {
 public:
  single_client(asio::any_io_executor executor, connection_options options)
      : connection_(std::make_shared<connection>(std::move(executor), std::move(options))) {}

  asio::awaitable<command_result> command(std::string_view, std::span<const std::string_view> argv) override {
    auto conn = connection_;  // the client may go while the command waits
    co_return co_await conn->command(argv);
  }

  asio::awaitable<std::vector<command_result>> on_every_master(std::span<const std::string_view> argv) override {
    auto conn = connection_;
    std::vector<command_result> results;
    results.push_back(co_await conn->command(argv));
    co_return results;
  }

 private:
  std::shared_ptr<connection> connection_;
};

}  // namespace

std::shared_ptr<client> make_client(asio::any_io_executor executor, connection_options options) {
  if (options.target.mode == topology::cluster) return make_cluster_client(std::move(executor), std::move(options));
  return std::make_shared<single_client>(std::move(executor), std::move(options));
}

}  // namespace github_proxy::redis
