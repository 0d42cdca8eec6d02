#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials {

namespace {

class system_clock_impl final : public clock {
 public:
  time_point now() const override {
    return std::chrono::time_point_cast<std::chrono::seconds>(wall_clock::now());
  }
};

}  // namespace

const clock& system_clock_source() {
  static const system_clock_impl instance;
  return instance;
}

}  // namespace github_proxy::credentials
