// A JSON body generated once with a placeholder where the absolute API base
// URL goes ("http://HOST[/api/v3]"), so each request only concatenates.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fake_github {

// The placeholder generators write instead of the base URL. It contains no
// character JSON escapes, so it survives serialisation verbatim.
inline constexpr std::string_view base_placeholder = "@@BASE@@";

class body_template {
 public:
  body_template() = default;
  explicit body_template(std::string_view text) {
    std::size_t start = 0;
    for (;;) {
      std::size_t hit = text.find(base_placeholder, start);
      if (hit == std::string_view::npos) {
        parts_.emplace_back(text.substr(start));
        return;
      }
      parts_.emplace_back(text.substr(start, hit - start));
      start = hit + base_placeholder.size();
    }
  }

  std::size_t rendered_size(std::string_view base) const {
    std::size_t n = (parts_.empty() ? 0 : parts_.size() - 1) * base.size();
    for (const auto& p : parts_) n += p.size();
    return n;
  }

  // `base` must be JSON-safe (the session validates the Host header).
  void append_to(std::string& out, std::string_view base) const {
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      if (i != 0) out.append(base);
      out.append(parts_[i]);
    }
  }

  std::string render(std::string_view base) const {
    std::string out;
    out.reserve(rendered_size(base));
    append_to(out, base);
    return out;
  }

 private:
  std::vector<std::string> parts_;
};

}  // namespace fake_github
