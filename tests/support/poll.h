// Waiting for a condition the test cannot be told about (another process,
// a server forming), with a deadline. Header-only: both test binaries use it.
#pragma once

#include <chrono>
#include <thread>

namespace ghp_test {

// Polls `condition` until it holds or `within` passes. The assertion is the
// condition; the sleep is only the polling interval.
template <class Condition>
bool poll_until(Condition condition, std::chrono::milliseconds within = std::chrono::seconds(5),
                std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace ghp_test
