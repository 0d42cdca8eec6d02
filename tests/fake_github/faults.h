// Injected failures: the next `count` requests whose target starts with a
// prefix get latency, a status, a TCP reset, a hang or a secondary limit,
// are held at a gate until released (gates.h), and/or have their connection
// closed after the answer.
//
// Thread-safety: all members lock; take() is lock-free while no fault is set.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace fake_github {

struct fault_rule {
  std::string path_prefix;         // matched against the raw target and the /api/v3-less path
  std::string method;              // empty = any method
  std::int64_t count = 1;          // -1 = until DELETE /_fake/faults
  unsigned status = 0;             // 0 = none
  std::int64_t latency_ms = 0;
  bool reset = false;              // close with RST, no answer
  bool hang = false;               // never answer; wait for the client to leave
  bool secondary_limit = false;    // 403 secondary-rate-limit answer
  std::int64_t retry_after = 0;    // Retry-After on the secondary limit, when > 0
  std::string message;             // with status: the body's message (empty: the reason phrase)
  bool close = false;              // answer with Connection: close, then close the connection
  std::string gate;                // non-empty: hold the answer at this gate until released (gates.h)
  // With gate: the answer is worked out first and held already made, as
  // GitHub's answer from the state before a write that lands while it is
  // on its way (false: held before it is worked out).
  bool gate_after_answer = false;

  // Throws std::invalid_argument naming the bad field.
  static fault_rule from_json(const boost::json::object& body);
  boost::json::object to_json() const;
};

enum class fault_kind { none, status, reset, hang, secondary_limit };

struct fault_decision {
  fault_kind kind = fault_kind::none;
  std::chrono::milliseconds latency{0};  // applied first, with a timer
  unsigned status = 0;
  std::int64_t retry_after = 0;
  std::string message;  // fault_rule::message
  bool close = false;   // fault_rule::close
  std::string gate;     // fault_rule::gate: waited at after the latency, before the answer
  bool gate_after_answer = false;  // fault_rule::gate_after_answer: waited at with the answer made
};

class fault_table {
 public:
  void add(fault_rule rule);
  void clear();
  // Consumes one use of the first matching rule.
  fault_decision take(std::string_view method, std::string_view target, std::string_view api_path);
  boost::json::array to_json() const;

 private:
  mutable std::mutex mutex_;
  std::vector<fault_rule> rules_;
  std::atomic<bool> any_{false};
};

}  // namespace fake_github
