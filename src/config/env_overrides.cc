// GITHUB_PROXY_<SECTION>_<KEY> overrides (docs/contract.md §2): every scalar of the
// schema, named by upper-casing its dotted key and joining with `_`
// (cache.redis.url → GITHUB_PROXY_CACHE_REDIS_URL). The credentials list is
// not overridable: its secrets already come from *_env references.
#include <cctype>
#include <deque>

#include "config/load_context.h"

namespace github_proxy::config {
namespace {

std::string variable_for(std::string_view key) {
  std::string name = "GITHUB_PROXY_";
  for (char c : key) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

}  // namespace

const std::vector<env_override>& env_overrides() {
  // Built once from the field table; the names live as long as the program
  // because env_override holds plain pointers (it is printed by --help).
  static const std::deque<std::string> names = [] {
    std::deque<std::string> out;
    for (const auto& field : detail::scalar_fields()) out.push_back(variable_for(field.key));
    return out;
  }();
  static const std::vector<env_override> table = [] {
    std::vector<env_override> out;
    auto fields = detail::scalar_fields();
    for (std::size_t i = 0; i < fields.size(); ++i) {
      // Keys are string literals in the table, so data() is NUL-terminated.
      out.push_back({names[i].c_str(), fields[i].key.data()});
    }
    return out;
  }();
  return table;
}

namespace detail {

void apply_env_overrides(config& out, load_context& ctx) {
  for (const env_override& entry : env_overrides()) {
    const char* value = ctx.getenv(entry.variable);
    // Set but empty is a value: it lets an environment clear, say, public_url.
    if (value == nullptr) continue;
    ctx.set_origin(entry.key, {entry.variable, 0});
    std::string problem = find_scalar_field(entry.key)->assign(out, value);
    if (!problem.empty()) ctx.error(entry.key, problem);
  }
}

}  // namespace detail
}  // namespace github_proxy::config
