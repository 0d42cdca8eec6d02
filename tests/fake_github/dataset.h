// The deterministic data set (org octo-org, repos repo-0..repo-99 with ids
// 1000..1099, their issues and files), with bodies precomputed as templates,
// and the per-resource versions that POST /_fake/change bumps.
//
// Thread-safety: all const members may be called concurrently; change() and
// reset() take an internal mutex. Templates are immutable after construction.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "body_template.h"

namespace fake_github {

class dataset {
 public:
  dataset();

  // Case-insensitive like GitHub; nullopt for anything outside the set.
  std::optional<int> find_repo(std::string_view owner, std::string_view name) const;
  std::optional<int> find_repo_by_id(std::string_view id_text) const;

  struct document {
    std::string body;          // compact JSON, base URL substituted
    std::int64_t updated_at;   // Last-Modified
  };
  document repo(int repo_index, std::string_view base) const;
  document issue(int repo_index, int number, std::string_view base) const;
  // Issues are listed newest first (GitHub's default sort=created, desc):
  // positions [first, first+count) of that order.
  document issue_page(int repo_index, int first, int count, std::string_view base) const;
  document repo_page(int first, int count, std::string_view base) const;

  struct file {
    std::string json;          // the contents object
    std::string raw;           // the file bytes (Accept: application/vnd.github.raw)
    std::string sha;           // git blob SHA-1, also the ETag
    std::int64_t updated_at;
  };
  file content(int repo_index, std::string_view path, std::string_view base) const;
  std::string root_listing(int repo_index, std::string_view base) const;
  std::string user(std::uint64_t user_id, std::string_view base) const;
  std::string org(std::string_view base) const;

  // Key under which a request path's version is kept: layout prefix and query
  // removed, /repositories/{id} turned into /repos/octo-org/repo-N.
  static std::string canonical_key(std::string_view target);

  struct change_result {
    std::string key;
    std::uint64_t version;
    bool known;  // the key names a resource of the data set
  };
  change_result change(std::string_view target);

  // POST /repos/{o}/{r}/issues: the next number after the generated issues.
  // Created issues are echoed, not added to the lists.
  int create_issue_number(int repo_index);

  void reset();

 private:
  std::uint64_t version(const std::string& key) const;
  std::uint64_t issue_version(int repo_index, int number) const;
  void append_issue(std::string& out, int repo_index, int number, std::string_view base,
                    std::int64_t& updated_at) const;
  bool is_known(std::string_view key) const;

  std::vector<body_template> repos_;               // version 0 of each repo
  std::vector<std::vector<body_template>> issues_; // [repo][number - 1], version 0
  body_template org_;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::uint64_t> versions_;
  std::unordered_map<int, int> created_issues_;
  std::atomic<bool> any_change_{false};  // hot path skips the lock until a change
};

}  // namespace fake_github
