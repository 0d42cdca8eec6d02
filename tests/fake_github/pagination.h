// Pagination of list endpoints: per_page/page parsing and the Link header in
// GitHub's exact form (docs/github-api.md §2.3). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include <boost/url/url_view.hpp>

namespace fake_github {

inline constexpr int default_per_page = 30;
inline constexpr int max_per_page = 100;

struct page_window {
  int per_page = default_per_page;
  int page = 1;         // 1-based, as requested (may be past the last page)
  int last_page = 1;    // at least 1
  int first_index = 0;  // index of the first item on this page
  int count = 0;        // items on this page (0 past the end)
};

// Reads `per_page` (default 30, capped at 100) and `page` (default 1) from the
// query; invalid values fall back to the defaults.
page_window paginate(const boost::urls::url_view& request, int total_items);

// `Link: <…&page=2>; rel="prev", <…>; rel="next", <…>; rel="last", <…>; rel="first"`.
// `absolute_path` is the canonical list URL (e.g. base + /repositories/1000/issues).
// Every query parameter the client sent except `page` is kept verbatim and in
// order; `page=N` goes last. Empty when everything fits on one page.
std::string link_header(std::string_view absolute_path, const boost::urls::url_view& request,
                        const page_window& window);

}  // namespace fake_github
