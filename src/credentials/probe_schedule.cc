#include "github_proxy/credentials/probe_schedule.h"

#include <algorithm>

namespace github_proxy::credentials {

probe_schedule::probe_schedule(probe_policy policy) : policy_(policy), wait_(policy.initial) {}

void probe_schedule::broken(time_point now) {
  if (next_at_) return;
  wait_ = policy_.initial;
  next_at_ = now + wait_;
}

bool probe_schedule::try_begin(time_point now) {
  if (in_flight_ || !next_at_ || now < *next_at_) return false;
  in_flight_ = true;
  return true;
}

void probe_schedule::finished(probe_result result, time_point now) {
  const bool claimed = in_flight_;
  in_flight_ = false;
  if (!claimed || !next_at_) return;
  switch (result) {
    case probe_result::accepted:
      next_at_.reset();
      wait_ = policy_.initial;
      break;
    case probe_result::rejected:
      wait_ = std::min(wait_ * 2, std::max(policy_.max, policy_.initial));
      next_at_ = now + wait_;
      break;
    case probe_result::inconclusive:
      next_at_ = now + wait_;
      break;
  }
}

void probe_schedule::clear() {
  next_at_.reset();
  wait_ = policy_.initial;
}

}  // namespace github_proxy::credentials
