#include "faults.h"

#include <stdexcept>

#include "json_fields.h"

namespace fake_github {

fault_rule fault_rule::from_json(const boost::json::object& body) {
  fault_rule rule;
  rule.path_prefix = string_field(body, "path_prefix").value_or("");
  rule.method = string_field(body, "method").value_or("");
  rule.count = int_field(body, "count").value_or(1);
  rule.status = static_cast<unsigned>(int_field(body, "status").value_or(0));
  rule.latency_ms = int_field(body, "latency_ms").value_or(0);
  rule.reset = bool_field(body, "reset").value_or(false);
  rule.hang = bool_field(body, "hang").value_or(false);
  rule.secondary_limit = bool_field(body, "secondary_limit").value_or(false);
  rule.retry_after = int_field(body, "retry_after").value_or(0);
  rule.message = string_field(body, "message").value_or("");
  rule.close = bool_field(body, "close").value_or(false);
  rule.gate = string_field(body, "gate").value_or("");
  rule.gate_after_answer = bool_field(body, "gate_after_answer").value_or(false);
  if (rule.gate_after_answer && rule.gate.empty()) throw std::invalid_argument("gate_after_answer needs a gate");
  if (rule.count == 0 || rule.count < -1) throw std::invalid_argument("count must be > 0 or -1");
  if (rule.status != 0 && (rule.status < 200 || rule.status > 599))
    throw std::invalid_argument("status must be within 200..599");
  if (rule.latency_ms < 0 || rule.latency_ms > 600000)
    throw std::invalid_argument("latency_ms must be within 0..600000");
  if (rule.status == 0 && rule.latency_ms == 0 && !rule.reset && !rule.hang && !rule.secondary_limit && !rule.close &&
      rule.gate.empty())
    throw std::invalid_argument("a fault needs status, latency_ms, reset, hang, secondary_limit, close or gate");
  return rule;
}

boost::json::object fault_rule::to_json() const {
  return {{"path_prefix", path_prefix}, {"method", method},     {"count", count},
          {"status", status},           {"latency_ms", latency_ms}, {"reset", reset},
          {"hang", hang},               {"secondary_limit", secondary_limit},
          {"retry_after", retry_after}, {"message", message},     {"close", close},
          {"gate", gate},               {"gate_after_answer", gate_after_answer}};
}

void fault_table::add(fault_rule rule) {
  std::lock_guard lock(mutex_);
  rules_.push_back(std::move(rule));
  any_.store(true, std::memory_order_release);
}

void fault_table::clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
  any_.store(false, std::memory_order_release);
}

fault_decision fault_table::take(std::string_view method, std::string_view target,
                                 std::string_view api_path) {
  if (!any_.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(mutex_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->method.empty() && it->method != method) continue;
    if (!target.starts_with(it->path_prefix) && !api_path.starts_with(it->path_prefix)) continue;
    fault_decision d;
    d.latency = std::chrono::milliseconds(it->latency_ms);
    d.status = it->status;
    d.retry_after = it->retry_after;
    d.message = it->message;
    d.close = it->close;
    d.gate = it->gate;
    d.gate_after_answer = it->gate_after_answer;
    // One behaviour per rule, the most drastic one winning.
    if (it->reset) d.kind = fault_kind::reset;
    else if (it->hang) d.kind = fault_kind::hang;
    else if (it->secondary_limit) d.kind = fault_kind::secondary_limit;
    else if (it->status != 0) d.kind = fault_kind::status;
    if (it->count > 0 && --it->count == 0) rules_.erase(it);
    any_.store(!rules_.empty(), std::memory_order_release);
    return d;
  }
  return {};
}

boost::json::array fault_table::to_json() const {
  std::lock_guard lock(mutex_);
  boost::json::array out;
  for (const auto& r : rules_) out.push_back(r.to_json());
  return out;
}

}  // namespace fake_github
