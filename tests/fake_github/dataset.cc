#include "dataset.h"

#include <algorithm>
#include <charconv>

#include <boost/url.hpp>

#include "body_codec.h"
#include "dataset_json.h"

namespace fake_github {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string repo_key(int repo_index) {
  return "/repos/" + std::string(data::org_login) + "/" + data::repo_name(repo_index);
}

std::optional<int> parse_int(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

dataset::dataset() {
  repos_.reserve(data::repo_count);
  issues_.resize(data::repo_count);
  for (int r = 0; r < data::repo_count; ++r) {
    repos_.emplace_back(data::repo_json(r, 0));
    for (int n = 1; n <= data::issues_in_repo(r); ++n) issues_[r].emplace_back(data::issue_json(r, n, 0));
  }
  org_ = body_template(data::org_json());
}

std::optional<int> dataset::find_repo(std::string_view owner, std::string_view name) const {
  if (lower(owner) != data::org_login) return std::nullopt;
  std::string n = lower(name);
  if (!n.starts_with("repo-")) return std::nullopt;
  std::string_view digits = std::string_view(n).substr(5);
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  auto index = parse_int(digits);
  if (!index || *index < 0 || *index >= data::repo_count) return std::nullopt;
  return index;
}

std::optional<int> dataset::find_repo_by_id(std::string_view id_text) const {
  auto id = parse_int(id_text);
  if (!id || *id < data::first_repo_id || *id >= data::first_repo_id + data::repo_count) return std::nullopt;
  return static_cast<int>(*id - data::first_repo_id);
}

std::uint64_t dataset::version(const std::string& key) const {
  if (!any_change_.load(std::memory_order_acquire)) return 0;
  std::lock_guard lock(mutex_);
  auto it = versions_.find(key);
  return it == versions_.end() ? 0 : it->second;
}

std::uint64_t dataset::issue_version(int repo_index, int number) const {
  if (!any_change_.load(std::memory_order_acquire)) return 0;
  const std::string list = repo_key(repo_index) + "/issues";
  return version(list) + version(list + "/" + std::to_string(number));
}

dataset::document dataset::repo(int repo_index, std::string_view base) const {
  std::uint64_t v = version(repo_key(repo_index));
  std::string body = v == 0 ? repos_[repo_index].render(base)
                            : body_template(data::repo_json(repo_index, v)).render(base);
  return {std::move(body), data::repo_updated_at(repo_index, v)};
}

void dataset::append_issue(std::string& out, int repo_index, int number, std::string_view base,
                           std::int64_t& updated_at) const {
  std::uint64_t v = issue_version(repo_index, number);
  if (v == 0)
    issues_[repo_index][number - 1].append_to(out, base);
  else
    body_template(data::issue_json(repo_index, number, v)).append_to(out, base);
  updated_at = std::max(updated_at, data::issue_updated_at(repo_index, number, v));
}

dataset::document dataset::issue(int repo_index, int number, std::string_view base) const {
  document doc{{}, 0};
  append_issue(doc.body, repo_index, number, base, doc.updated_at);
  return doc;
}

dataset::document dataset::issue_page(int repo_index, int first, int count, std::string_view base) const {
  document doc{"[", 0};
  const int total = data::issues_in_repo(repo_index);
  if (count > 0) doc.body.reserve(static_cast<std::size_t>(count) * issues_[repo_index][0].rendered_size(base));
  for (int pos = first; pos < first + count && pos < total; ++pos) {
    if (pos != first) doc.body.push_back(',');
    append_issue(doc.body, repo_index, total - pos, base, doc.updated_at);
  }
  doc.body.push_back(']');
  if (doc.updated_at == 0) doc.updated_at = data::repo_updated_at(repo_index, 0);
  return doc;
}

dataset::document dataset::repo_page(int first, int count, std::string_view base) const {
  document doc{"[", 0};
  for (int r = first; r < first + count && r < data::repo_count; ++r) {
    if (r != first) doc.body.push_back(',');
    document one = repo(r, base);
    doc.body += one.body;
    doc.updated_at = std::max(doc.updated_at, one.updated_at);
  }
  doc.body.push_back(']');
  if (doc.updated_at == 0) doc.updated_at = data::repo_updated_at(0, 0);
  return doc;
}

dataset::file dataset::content(int repo_index, std::string_view path, std::string_view base) const {
  std::uint64_t v = version(repo_key(repo_index) + "/contents/" + std::string(path));
  file f;
  f.raw = data::file_content(repo_index, path, v);
  f.sha = git_blob_sha(f.raw);
  f.json = body_template(data::content_json(repo_index, path, f.raw, f.sha)).render(base);
  f.updated_at = data::file_updated_at(repo_index, v);
  return f;
}

std::string dataset::root_listing(int repo_index, std::string_view base) const {
  return body_template(data::root_listing_json(repo_index)).render(base);
}

std::string dataset::user(std::uint64_t user_id, std::string_view base) const {
  return body_template(data::user_json(user_id)).render(base);
}

std::string dataset::org(std::string_view base) const { return org_.render(base); }

std::string dataset::canonical_key(std::string_view target) {
  std::string owned;
  if (!target.starts_with('/')) owned.push_back('/');
  owned += target;
  std::vector<std::string> segs;
  if (auto url = boost::urls::parse_origin_form(owned)) {
    for (auto s : url->segments()) segs.push_back(s);
  } else {
    return owned.substr(0, owned.find('?'));
  }
  if (segs.size() >= 2 && segs[0] == "api" && segs[1] == "v3") segs.erase(segs.begin(), segs.begin() + 2);
  if (segs.size() >= 2 && segs[0] == "repositories") {
    int id = 0;
    auto [end, ec] = std::from_chars(segs[1].data(), segs[1].data() + segs[1].size(), id);
    if (ec == std::errc{} && id >= data::first_repo_id && id < data::first_repo_id + data::repo_count) {
      segs[0] = "repos";
      segs[1] = std::string(data::org_login);
      segs.insert(segs.begin() + 2, data::repo_name(id - static_cast<int>(data::first_repo_id)));
    }
  }
  if (segs.size() >= 3 && segs[0] == "repos") {
    segs[1] = lower(segs[1]);
    segs[2] = lower(segs[2]);
  }
  std::string key;
  for (const auto& s : segs) {
    key += '/';
    key += s;
  }
  return key.empty() ? "/" : key;
}

bool dataset::is_known(std::string_view key) const {
  const std::string prefix = "/repos/" + std::string(data::org_login) + "/";
  if (!key.starts_with(prefix)) return false;
  std::string_view rest = key.substr(prefix.size());
  std::string_view name = rest.substr(0, rest.find('/'));
  auto index = find_repo(data::org_login, name);
  if (!index) return false;
  rest.remove_prefix(name.size());
  if (rest.empty() || rest == "/issues" || rest.starts_with("/contents/")) return true;
  if (rest.starts_with("/issues/")) {
    auto n = parse_int(rest.substr(8));
    return n && *n >= 1 && *n <= data::issues_in_repo(*index);
  }
  return false;
}

dataset::change_result dataset::change(std::string_view target) {
  change_result result{canonical_key(target), 0, false};
  result.known = is_known(result.key);
  std::lock_guard lock(mutex_);
  result.version = ++versions_[result.key];
  any_change_.store(true, std::memory_order_release);
  return result;
}

int dataset::create_issue_number(int repo_index) {
  std::lock_guard lock(mutex_);
  return data::issues_in_repo(repo_index) + ++created_issues_[repo_index];
}

void dataset::reset() {
  std::lock_guard lock(mutex_);
  versions_.clear();
  created_issues_.clear();
  any_change_.store(false, std::memory_order_release);
}

}  // namespace fake_github
