// `github-proxy status --admin URL`: /status.json as plain-text tables for a
// terminal (docs/contract.md §8 "Status page").
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include <boost/json/object.hpp>

#include "github_proxy/status/status_board.h"
#include "status/render.h"

namespace github_proxy::status {

namespace json = boost::json;
using render::field;

namespace {

using row = std::vector<std::string>;

// The report may come from anywhere (--admin URL): no byte of it reaches
// the terminal as a control character.
std::string printable(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Columns padded to their widest cell; the first left-aligned, the others
// right-aligned, as numbers read best.
void table(std::string& out, const row& header, const std::vector<row>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const row& r) {
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) {
      // Display width: the UTF-8 dash counts as one column.
      std::size_t w = 0;
      for (const unsigned char c : r[i]) w += (c & 0xC0) != 0x80;
      width[i] = std::max(width[i], w);
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  auto line = [&](const row& raw) {
    row r;
    for (const auto& cell : raw) r.push_back(printable(cell));
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) {
      std::size_t w = 0;
      for (const unsigned char c : r[i]) w += (c & 0xC0) != 0x80;
      const std::string pad(width[i] - w, ' ');
      out += i == 0 ? r[i] + pad : pad + r[i];
      out += i + 1 < r.size() ? "  " : "\n";
    }
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string num(const json::object& o, std::string_view key) { return render::count(render::number(field(o, key))); }

}  // namespace

std::string render_status_table(const json::object& report) {
  std::string out;
  fmt::format_to(std::back_inserter(out), "github-proxy {}, up since {}, as of {}\n\n",
                 printable(render::text(field(report, "version"))), render::utc(field(report, "started_at")),
                 render::utc(field(report, "generated_at")));

  if (const auto* t = field(report, "one_token"); t && t->is_object()) {
    const auto& o = t->get_object();
    fmt::format_to(std::back_inserter(out),
                   "ONE SHARED TOKEN ({} credits/hour)\n"
                   "  demand {} credits, outages avoided {}, token empty for {}, requests GitHub would have "
                   "refused {}\n",
                   num(o, "limit_per_hour"), num(o, "demand"), num(o, "outages"),
                   render::span(render::number(field(o, "exhausted_seconds"))), num(o, "refused"));
    std::vector<row> rows;
    if (const auto* list = field(o, "recent_outages"); list && list->is_array()) {
      for (const auto& v : list->get_array()) {
        if (!v.is_object()) continue;
        const auto& w = v.get_object();
        rows.push_back({render::utc(field(w, "start")), num(w, "demand"), render::utc(field(w, "exhausted_at")),
                        render::span(render::number(field(w, "exhausted_seconds"))), num(w, "refused")});
      }
    }
    if (!rows.empty()) {
      out += "\n";
      table(out, {"window", "demand", "empty from", "for", "refused"}, rows);
    }
    out += "\n";
  }

  if (const auto* list = field(report, "clients"); list && list->is_array()) {
    std::vector<row> rows;
    for (const auto& v : list->get_array()) {
      if (!v.is_object()) continue;
      const auto& c = v.get_object();
      std::string budget = "-";
      if (const auto* b = field(c, "budget"); b && b->is_object()) {
        const auto& bo = b->get_object();
        const auto* used = field(bo, "used");
        budget = (used && !used->is_null() ? render::count(render::number(used)) : std::string("(redis)")) + "/" +
                 num(bo, "credits");
      }
      rows.push_back({std::string(render::text(field(c, "name"))), num(c, "requests"), num(c, "credits_spent"),
                      num(c, "credits_saved"), num(c, "demand"), budget, num(c, "rejected_last_hour")});
    }
    out += "CLIENTS\n";
    table(out, {"client", "requests", "spent", "saved", "demand", "budget used", "rejected 1h"}, rows);
    out += "\n";
  }

  if (const auto* list = field(report, "credentials"); list && list->is_array()) {
    std::vector<row> rows;
    for (const auto& v : list->get_array()) {
      if (!v.is_object()) continue;
      const auto& c = v.get_object();
      const std::string name(render::text(field(c, "name")));
      const std::string state(render::text(field(c, "state")));
      const auto* resources = field(c, "resources");
      if (!resources || !resources->is_object() || resources->get_object().empty()) {
        rows.push_back({name, state, "-", "not seen yet", "-"});
        continue;
      }
      for (const auto& [resource, r] : resources->get_object()) {
        if (!r.is_object()) continue;
        rows.push_back({name, state, std::string(resource),
                        num(r.get_object(), "remaining") + "/" + num(r.get_object(), "limit"),
                        render::utc(field(r.get_object(), "reset"))});
      }
    }
    out += "CREDENTIALS\n";
    table(out, {"credential", "state", "resource", "remaining", "resets at"}, rows);
    out += "\n";
  }

  if (const auto* c = field(report, "cache"); c && c->is_object()) {
    const auto& o = c->get_object();
    const auto* healthy = field(o, "healthy");
    fmt::format_to(std::back_inserter(out), "CACHE  hit ratio {} ({} of {} cacheable), backend {}\n",
                   render::percent(field(o, "hit_ratio")), num(o, "hits"), num(o, "cacheable"),
                   healthy && healthy->is_bool() && !healthy->get_bool() ? "FAILING" : "healthy");
    std::vector<row> rows;
    if (const auto* stores = field(o, "stores"); stores && stores->is_object()) {
      for (const auto& [name, s] : stores->get_object()) {
        if (!s.is_object()) continue;
        rows.push_back({std::string(name), num(s.get_object(), "entries"),
                        render::bytes(render::number(field(s.get_object(), "bytes")))});
      }
    }
    table(out, {"store", "entries", "bytes"}, rows);
  }
  return out;
}

}  // namespace github_proxy::status
