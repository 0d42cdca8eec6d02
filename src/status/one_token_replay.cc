#include "github_proxy/status/one_token_replay.h"

#include <algorithm>

namespace github_proxy::status {

one_token_replay::one_token_replay(std::uint64_t limit, std::chrono::seconds window)
    : limit_(limit), window_(std::max(window, std::chrono::seconds(1))) {}

void one_token_replay::add(time_point at, std::uint64_t credits) {
  if (credits == 0) return;
  at = std::max(at, latest_);
  latest_ = at;
  advance(at);
  if (!current_) current_ = one_token_window{at, at + window_, 0, std::nullopt};
  current_->demand += credits;
  if (!current_->exhausted_at && current_->demand > limit_) current_->exhausted_at = at;
}

void one_token_replay::advance(time_point now) {
  if (current_ && now >= current_->end) close_current();
}

void one_token_replay::close_current() {
  const auto& w = *current_;
  closed_.demand += w.demand;
  ++closed_.windows;
  if (w.exhausted_at) {
    ++closed_.outages;
    closed_.refused += w.refused(limit_);
    closed_.exhausted += w.exhausted_for();
    past_outages_.push_back(w);
    if (past_outages_.size() > max_kept_outages) past_outages_.pop_front();
  }
  current_.reset();
}

one_token_totals one_token_replay::totals() const {
  auto out = closed_;
  if (current_) {
    out.demand += current_->demand;
    ++out.windows;
    if (current_->exhausted_at) {
      ++out.outages;
      out.refused += current_->refused(limit_);
      out.exhausted += current_->exhausted_for();
    }
  }
  return out;
}

}  // namespace github_proxy::status
