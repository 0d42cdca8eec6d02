// The last successful write to each path, as this process saw it (RFC 9111
// §4.4: a cache invalidates the target of an unsafe request it relayed).
// An entry GitHub confirmed before the last write to its path is never
// answered without asking GitHub again (docs/contract.md §6 "Fresh under
// pressure", the confirm window): a job that PATCHes an issue and reads it
// back sees its change, pressure or not.
//
// Bounded: a fixed table of slots indexed by a hash of the path (ASCII case
// folded, as GitHub's owner and repository names are); paths sharing a slot
// share their mark, which only makes answers without asking rarer.
// Process-local: a write relayed by another replica is not seen here.
// Threading: any thread, lock-free (relaxed atomics).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace github_proxy::cache {

class write_marks {
 public:
  void mark(std::string_view path, std::chrono::system_clock::time_point at) {
    slot(path).store(std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count(),
                     std::memory_order_relaxed);
  }
  // The last mark of `path`'s slot; the epoch when none.
  std::chrono::system_clock::time_point last(std::string_view path) const {
    return std::chrono::system_clock::time_point(
        std::chrono::microseconds(const_cast<write_marks*>(this)->slot(path).load(std::memory_order_relaxed)));
  }

  static constexpr std::size_t slots = 4096;

 private:
  std::atomic<std::int64_t>& slot(std::string_view path) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (const char c : path) {
      h ^= static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      h *= 1099511628211ull;
    }
    return marks_[h % slots];
  }

  std::array<std::atomic<std::int64_t>, slots> marks_{};
};

}  // namespace github_proxy::cache
