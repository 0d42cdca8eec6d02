// Pure generators of the deterministic data set's JSON documents. Every API
// URL inside starts with `base_placeholder`; body_template swaps in the base.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fake_github::data {

inline constexpr std::string_view org_login = "octo-org";
inline constexpr std::int64_t org_id = 9919;
inline constexpr int repo_count = 100;
inline constexpr std::int64_t first_repo_id = 1000;

inline int issues_in_repo(int repo_index) { return repo_index == 0 ? 250 : 5; }
inline std::int64_t repo_id(int repo_index) { return first_repo_id + repo_index; }
inline std::string repo_name(int repo_index) { return "repo-" + std::to_string(repo_index); }

// Each `version` is the number of /_fake/change calls on that resource; it
// moves `updated_at` (and so Last-Modified) and a counter.
std::string repo_json(int repo_index, std::uint64_t version);
std::int64_t repo_updated_at(int repo_index, std::uint64_t version);

std::string issue_json(int repo_index, int number, std::uint64_t version);
std::int64_t issue_updated_at(int repo_index, int number, std::uint64_t version);

// The size N asked for by a file named "large-N.bin" (capped at 48 MiB).
std::optional<std::size_t> large_file_size(std::string_view path);

// The bytes of file `path`: a small text file, or N bytes for large-N.bin.
std::string file_content(int repo_index, std::string_view path, std::uint64_t version);
std::int64_t file_updated_at(int repo_index, std::uint64_t version);

// GET /repos/{o}/{r}/contents/{path}; `sha` is git_blob_sha(content).
std::string content_json(int repo_index, std::string_view path, std::string_view content,
                         std::string_view sha);
// GET /repos/{o}/{r}/contents (the root directory listing).
std::string root_listing_json(int repo_index);

std::string user_json(std::uint64_t user_id);
std::int64_t user_updated_at();
std::string org_json();

}  // namespace fake_github::data
