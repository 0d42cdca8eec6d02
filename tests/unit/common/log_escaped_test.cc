#include "common/log_escaped.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/ostream_sink.h>

namespace github_proxy::common {
namespace {

namespace asio = boost::asio;

TEST(LogEscaped, AnExceptionLeavingASpawnedCoroutineIsLoggedWithItsTask) {
  std::ostringstream text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
  auto log = std::make_shared<spdlog::logger>("test", sink);
  asio::io_context ioc;
  asio::co_spawn(
      ioc, []() -> asio::awaitable<void> { throw std::runtime_error("socket exploded"); co_return; },
      log_escaped("TCP accept loop", log));
  EXPECT_NO_THROW(ioc.run());
  EXPECT_NE(text.str().find("TCP accept loop ended by an exception: socket exploded"), std::string::npos)
      << text.str();
}

TEST(LogEscaped, ANormalEndLogsNothing) {
  std::ostringstream text;
  auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  asio::io_context ioc;
  asio::co_spawn(ioc, []() -> asio::awaitable<void> { co_return; }, log_escaped("registry reload", log));
  ioc.run();
  EXPECT_EQ(text.str(), "");
}

}  // namespace
}  // namespace github_proxy::common
