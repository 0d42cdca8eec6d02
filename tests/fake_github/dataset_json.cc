#include "dataset_json.h"

#include <charconv>

#include <boost/json.hpp>

#include "body_codec.h"
#include "body_template.h"
#include "time_format.h"

namespace fake_github::data {
namespace json = boost::json;
namespace {

constexpr std::int64_t repo_epoch = 1425168000;     // 2015-03-01T00:00:00Z
constexpr std::int64_t updated_epoch = 1714564800;  // 2024-05-01T12:00:00Z
constexpr std::int64_t issue_epoch = 1700000000;    // 2023-11-14T22:13:20Z
constexpr std::int64_t change_step = 60;            // seconds per /_fake/change
constexpr std::size_t large_file_cap = 48u << 20;

std::string api(std::string_view path) {
  std::string out(base_placeholder);
  out += path;
  return out;
}

// Legacy global node ids are base64("<len>:<Type><id>"), e.g.
// MDEwOlJlcG9zaXRvcnkxMDAw for Repository 1000.
std::string node_id(std::string_view type, std::int64_t id) {
  std::string raw = "0";
  raw += std::to_string(type.size());
  raw += ':';
  raw += type;
  raw += std::to_string(id);
  return base64_encode(raw);
}

json::object account_object(std::string_view login, std::int64_t id, std::string_view type) {
  std::string u = "/users/" + std::string(login);
  return json::object{
      {"login", login},
      {"id", id},
      {"node_id", node_id(type, id)},
      {"avatar_url", "https://avatars.githubusercontent.com/u/" + std::to_string(id) + "?v=4"},
      {"gravatar_id", ""},
      {"url", api(u)},
      {"html_url", "https://github.com/" + std::string(login)},
      {"followers_url", api(u + "/followers")},
      {"following_url", api(u + "/following{/other_user}")},
      {"gists_url", api(u + "/gists{/gist_id}")},
      {"starred_url", api(u + "/starred{/owner}{/repo}")},
      {"subscriptions_url", api(u + "/subscriptions")},
      {"organizations_url", api(u + "/orgs")},
      {"repos_url", api(u + "/repos")},
      {"events_url", api(u + "/events{/privacy}")},
      {"received_events_url", api(u + "/received_events")},
      {"type", type},
      {"user_view_type", "public"},
      {"site_admin", false},
  };
}

json::object octocat() { return account_object("octocat", 583231, "User"); }

}  // namespace

std::int64_t repo_updated_at(int repo_index, std::uint64_t version) {
  return updated_epoch + repo_index * 60 + static_cast<std::int64_t>(version) * change_step;
}

std::string repo_json(int repo_index, std::uint64_t version) {
  const std::string name = repo_name(repo_index);
  const std::string full = std::string(org_login) + "/" + name;
  const std::string r = "/repos/" + full;
  const std::int64_t id = repo_id(repo_index);
  const std::int64_t stars = 40 + repo_index + static_cast<std::int64_t>(version);
  const std::string updated = iso8601(repo_updated_at(repo_index, version));
  const std::int64_t open_issues = issues_in_repo(repo_index);
  json::object repo{
      {"id", id},
      {"node_id", node_id("Repository", id)},
      {"name", name},
      {"full_name", full},
      {"private", false},
      {"owner", account_object(org_login, org_id, "Organization")},
      {"html_url", "https://github.com/" + full},
      {"description", "Fake repository " + name + " served by the github-proxy test double"},
      {"fork", false},
      {"url", api(r)},
      {"forks_url", api(r + "/forks")},
      {"keys_url", api(r + "/keys{/key_id}")},
      {"collaborators_url", api(r + "/collaborators{/collaborator}")},
      {"teams_url", api(r + "/teams")},
      {"hooks_url", api(r + "/hooks")},
      {"issue_events_url", api(r + "/issues/events{/number}")},
      {"events_url", api(r + "/events")},
      {"assignees_url", api(r + "/assignees{/user}")},
      {"branches_url", api(r + "/branches{/branch}")},
      {"tags_url", api(r + "/tags")},
      {"blobs_url", api(r + "/git/blobs{/sha}")},
      {"git_tags_url", api(r + "/git/tags{/sha}")},
      {"git_refs_url", api(r + "/git/refs{/sha}")},
      {"trees_url", api(r + "/git/trees{/sha}")},
      {"statuses_url", api(r + "/statuses/{sha}")},
      {"languages_url", api(r + "/languages")},
      {"stargazers_url", api(r + "/stargazers")},
      {"contributors_url", api(r + "/contributors")},
      {"subscribers_url", api(r + "/subscribers")},
      {"subscription_url", api(r + "/subscription")},
      {"commits_url", api(r + "/commits{/sha}")},
      {"git_commits_url", api(r + "/git/commits{/sha}")},
      {"comments_url", api(r + "/comments{/number}")},
      {"issue_comment_url", api(r + "/issues/comments{/number}")},
      {"contents_url", api(r + "/contents/{+path}")},
      {"compare_url", api(r + "/compare/{base}...{head}")},
      {"merges_url", api(r + "/merges")},
      {"archive_url", api(r + "/{archive_format}{/ref}")},
      {"downloads_url", api(r + "/downloads")},
      {"issues_url", api(r + "/issues{/number}")},
      {"pulls_url", api(r + "/pulls{/number}")},
      {"milestones_url", api(r + "/milestones{/number}")},
      {"notifications_url", api(r + "/notifications{?since,all,participating}")},
      {"labels_url", api(r + "/labels{/name}")},
      {"releases_url", api(r + "/releases{/id}")},
      {"deployments_url", api(r + "/deployments")},
      {"created_at", iso8601(repo_epoch + repo_index * 86400)},
      {"updated_at", updated},
      {"pushed_at", updated},
      {"git_url", "git://github.com/" + full + ".git"},
      {"ssh_url", "git@github.com:" + full + ".git"},
      {"clone_url", "https://github.com/" + full + ".git"},
      {"svn_url", "https://github.com/" + full},
      {"homepage", nullptr},
      {"size", 1024 + repo_index * 17},
      {"stargazers_count", stars},
      {"watchers_count", stars},
      {"language", "C++"},
      {"has_issues", true},
      {"has_projects", true},
      {"has_downloads", true},
      {"has_wiki", true},
      {"has_pages", false},
      {"has_discussions", false},
      {"forks_count", 3 + repo_index % 7},
      {"mirror_url", nullptr},
      {"archived", false},
      {"disabled", false},
      {"open_issues_count", open_issues},
      {"license",
       {{"key", "mit"},
        {"name", "MIT License"},
        {"spdx_id", "MIT"},
        {"url", api("/licenses/mit")},
        {"node_id", "MDc6TGljZW5zZTEz"}}},
      {"allow_forking", true},
      {"is_template", false},
      {"web_commit_signoff_required", false},
      {"topics", json::array{"ci", "fake", "github-api"}},
      {"visibility", "public"},
      {"forks", 3 + repo_index % 7},
      {"open_issues", open_issues},
      {"watchers", stars},
      {"default_branch", "main"},
      {"permissions",
       {{"admin", false}, {"maintain", false}, {"push", true}, {"triage", true}, {"pull", true}}},
      {"temp_clone_token", ""},
      {"allow_squash_merge", true},
      {"allow_merge_commit", true},
      {"allow_rebase_merge", true},
      {"allow_auto_merge", false},
      {"delete_branch_on_merge", false},
      {"allow_update_branch", false},
      {"use_squash_pr_title_as_default", false},
      {"squash_merge_commit_message", "COMMIT_MESSAGES"},
      {"squash_merge_commit_title", "COMMIT_OR_PR_TITLE"},
      {"merge_commit_message", "PR_TITLE"},
      {"merge_commit_title", "MERGE_MESSAGE"},
      {"custom_properties", json::object{}},
      {"organization", account_object(org_login, org_id, "Organization")},
      {"security_and_analysis",
       {{"secret_scanning", {{"status", "disabled"}}},
        {"secret_scanning_push_protection", {{"status", "disabled"}}},
        {"dependabot_security_updates", {{"status", "disabled"}}},
        {"secret_scanning_non_provider_patterns", {{"status", "disabled"}}},
        {"secret_scanning_validity_checks", {{"status", "disabled"}}}}},
      {"network_count", 3 + repo_index % 7},
      {"subscribers_count", 5 + repo_index % 11},
  };
  return json::serialize(repo);
}

std::int64_t issue_updated_at(int repo_index, int number, std::uint64_t version) {
  return issue_epoch + number * 3600 + repo_index * 7 + 600 +
         static_cast<std::int64_t>(version) * change_step;
}

std::string issue_json(int repo_index, int number, std::uint64_t version) {
  const std::string r = "/repos/" + std::string(org_login) + "/" + repo_name(repo_index);
  const std::string i = r + "/issues/" + std::to_string(number);
  const std::int64_t id = 2000000 + repo_index * 1000 + number;
  const std::int64_t created = issue_epoch + number * 3600 + repo_index * 7;
  const std::int64_t comments = number % 4 + static_cast<std::int64_t>(version);
  json::array labels;
  if (number % 3 == 0) {
    labels.push_back(json::object{{"id", 5000 + number % 5},
                                  {"node_id", node_id("Label", 5000 + number % 5)},
                                  {"url", api(r + "/labels/bug")},
                                  {"name", "bug"},
                                  {"color", "d73a4a"},
                                  {"default", true},
                                  {"description", "Something isn't working"}});
  }
  json::object issue{
      {"url", api(i)},
      {"repository_url", api(r)},
      {"labels_url", api(i + "/labels{/name}")},
      {"comments_url", api(i + "/comments")},
      {"events_url", api(i + "/events")},
      {"html_url", "https://github.com/" + std::string(org_login) + "/" + repo_name(repo_index) +
                       "/issues/" + std::to_string(number)},
      {"id", id},
      {"node_id", node_id("Issue", id)},
      {"number", number},
      {"title", "Fake issue #" + std::to_string(number) + " in " + repo_name(repo_index)},
      {"user", octocat()},
      {"labels", std::move(labels)},
      {"state", "open"},
      {"locked", false},
      {"assignee", nullptr},
      {"assignees", json::array{}},
      {"milestone", nullptr},
      {"comments", comments},
      {"created_at", iso8601(created)},
      {"updated_at", iso8601(issue_updated_at(repo_index, number, version))},
      {"closed_at", nullptr},
      {"author_association", "MEMBER"},
      {"active_lock_reason", nullptr},
      {"body", "Steps to reproduce issue " + std::to_string(number) +
                   ":\n\n1. Run the job.\n2. Watch it call the API.\n\nExpected a cached answer."},
      {"closed_by", nullptr},
      {"reactions",
       {{"url", api(i + "/reactions")},
        {"total_count", number % 2},
        {"+1", number % 2},
        {"-1", 0},
        {"laugh", 0},
        {"hooray", 0},
        {"confused", 0},
        {"heart", 0},
        {"rocket", 0},
        {"eyes", 0}}},
      {"timeline_url", api(i + "/timeline")},
      {"performed_via_github_app", nullptr},
      {"state_reason", nullptr},
  };
  return json::serialize(issue);
}

std::optional<std::size_t> large_file_size(std::string_view path) {
  std::string_view name = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  constexpr std::string_view prefix = "large-", suffix = ".bin";
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix))
    return std::nullopt;
  std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return std::min(n, large_file_cap);
}

std::string file_content(int repo_index, std::string_view path, std::uint64_t version) {
  std::string head = "# " + repo_name(repo_index) + "\n\nFile " + std::string(path) + " of " +
                     std::string(org_login) + "/" + repo_name(repo_index) + ", version " +
                     std::to_string(version) + ".\n";
  if (auto n = large_file_size(path)) {
    std::string out;
    out.reserve(*n);
    out.append(head, 0, std::min(head.size(), *n));
    static constexpr std::string_view filler = "0123456789abcdefghijklmnopqrstuvwxyz\n";
    while (out.size() < *n) out.append(filler, 0, std::min(filler.size(), *n - out.size()));
    return out;
  }
  for (int line = 1; line <= 24; ++line)
    head += "Line " + std::to_string(line) + ": deterministic text for cache tests.\n";
  return head;
}

std::int64_t file_updated_at(int repo_index, std::uint64_t version) {
  return repo_updated_at(repo_index, version);
}

namespace {

json::object content_entry(int repo_index, std::string_view path, std::string_view type,
                           std::size_t size, std::string_view sha) {
  const std::string full = std::string(org_login) + "/" + repo_name(repo_index);
  const std::string self = "/repos/" + full + "/contents/" + std::string(path) + "?ref=main";
  const std::string git = "/repos/" + full + (type == "dir" ? "/git/trees/" : "/git/blobs/") + std::string(sha);
  const std::string html = "https://github.com/" + full + (type == "dir" ? "/tree/main/" : "/blob/main/") +
                           std::string(path);
  std::string_view name = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  json::value download = nullptr;
  if (type == "file") download = json::string("https://raw.githubusercontent.com/" + full + "/main/" + std::string(path));
  return json::object{
      {"name", name},   {"path", path},     {"sha", sha},           {"size", size},
      {"url", api(self)}, {"html_url", html}, {"git_url", api(git)}, {"download_url", std::move(download)},
      {"type", type},
      {"_links", {{"self", api(self)}, {"git", api(git)}, {"html", html}}},
  };
}

}  // namespace

std::string content_json(int repo_index, std::string_view path, std::string_view content,
                         std::string_view sha) {
  json::object obj = content_entry(repo_index, path, "file", content.size(), sha);
  // GitHub places content/encoding between type and _links.
  json::value links = obj["_links"];
  obj.erase("_links");
  obj["content"] = base64_wrapped(content);
  obj["encoding"] = "base64";
  obj["_links"] = std::move(links);
  return json::serialize(obj);
}

std::string root_listing_json(int repo_index) {
  json::array entries;
  for (std::string_view path : {"LICENSE", "README.md"}) {
    std::string content = file_content(repo_index, path, 0);
    entries.push_back(content_entry(repo_index, path, "file", content.size(), git_blob_sha(content)));
  }
  entries.push_back(content_entry(repo_index, "src", "dir", 0, sha256_hex("src").substr(0, 40)));
  return json::serialize(entries);
}

std::int64_t user_updated_at() { return 1714000000; }

std::string user_json(std::uint64_t user_id) {
  json::object user = account_object("octocat", static_cast<std::int64_t>(user_id), "User");
  user["name"] = "The Octocat";
  user["company"] = "@octo-org";
  user["blog"] = "https://github.blog";
  user["location"] = "San Francisco";
  user["email"] = nullptr;
  user["hireable"] = nullptr;
  user["bio"] = nullptr;
  user["twitter_username"] = nullptr;
  user["public_repos"] = 8;
  user["public_gists"] = 8;
  user["followers"] = 1000;
  user["following"] = 9;
  user["created_at"] = "2011-01-25T18:44:36Z";
  user["updated_at"] = iso8601(user_updated_at());
  return json::serialize(user);
}

std::string org_json() {
  const std::string o = "/orgs/" + std::string(org_login);
  json::object org{
      {"login", org_login},
      {"id", org_id},
      {"node_id", node_id("Organization", org_id)},
      {"url", api(o)},
      {"repos_url", api(o + "/repos")},
      {"events_url", api(o + "/events")},
      {"hooks_url", api(o + "/hooks")},
      {"issues_url", api(o + "/issues")},
      {"members_url", api(o + "/members{/member}")},
      {"public_members_url", api(o + "/public_members{/member}")},
      {"avatar_url", "https://avatars.githubusercontent.com/u/" + std::to_string(org_id) + "?v=4"},
      {"description", "The organisation of the fake GitHub data set"},
      {"name", "Octo Org"},
      {"company", nullptr},
      {"blog", ""},
      {"location", nullptr},
      {"email", nullptr},
      {"is_verified", false},
      {"has_organization_projects", true},
      {"has_repository_projects", true},
      {"public_repos", repo_count},
      {"public_gists", 0},
      {"followers", 0},
      {"following", 0},
      {"html_url", "https://github.com/" + std::string(org_login)},
      {"created_at", iso8601(repo_epoch)},
      {"updated_at", iso8601(updated_epoch)},
      {"type", "Organization"},
  };
  return json::serialize(org);
}

}  // namespace fake_github::data
