#include "pagination.h"

#include <algorithm>
#include <charconv>

namespace fake_github {
namespace {

int param_or(const boost::urls::url_view& url, std::string_view key, int fallback) {
  auto params = url.params();
  auto it = params.find(key);
  if (it == params.end() || !(*it).has_value) return fallback;
  std::string value = (*it).value;
  int n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n < 1) return fallback;
  return n;
}

}  // namespace

page_window paginate(const boost::urls::url_view& request, int total_items) {
  page_window w;
  w.per_page = std::min(param_or(request, "per_page", default_per_page), max_per_page);
  w.page = param_or(request, "page", 1);
  w.last_page = std::max(1, (total_items + w.per_page - 1) / w.per_page);
  long first = static_cast<long>(w.page - 1) * w.per_page;
  if (first >= total_items) {
    w.first_index = total_items;
    w.count = 0;
  } else {
    w.first_index = static_cast<int>(first);
    w.count = std::min(w.per_page, total_items - w.first_index);
  }
  return w;
}

std::string link_header(std::string_view absolute_path, const boost::urls::url_view& request,
                        const page_window& w) {
  if (w.last_page <= 1 && w.page <= 1) return {};
  std::string prefix(absolute_path);
  prefix += '?';
  for (auto p : request.encoded_params()) {
    if (p.key == "page") continue;
    prefix += std::string_view(p.key);
    if (p.has_value) {
      prefix += '=';
      prefix += std::string_view(p.value);
    }
    prefix += '&';
  }
  prefix += "page=";
  std::string out;
  auto add = [&](int page, std::string_view rel) {
    if (!out.empty()) out += ", ";
    out += '<';
    out += prefix;
    out += std::to_string(page);
    out += ">; rel=\"";
    out += rel;
    out += '"';
  };
  if (w.page > 1) add(w.page - 1, "prev");
  if (w.page < w.last_page) {
    add(w.page + 1, "next");
    add(w.last_page, "last");
  }
  if (w.page > 1) add(1, "first");
  return out;
}

}  // namespace fake_github
