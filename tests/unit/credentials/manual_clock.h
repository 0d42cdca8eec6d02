// A clock the test moves by hand (STYLE.md principle 8: no test sleeps).
#pragma once

#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials::testing {

class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start) : now_(start) {}
  time_point now() const override { return now_; }
  void advance(std::chrono::seconds by) { now_ += by; }
  void set(time_point at) { now_ = at; }

 private:
  time_point now_;
};

}  // namespace github_proxy::credentials::testing
