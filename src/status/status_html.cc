// The status page (docs/contract.md §8 "Status page"): one server-rendered
// HTML document, its style inline, no script and no external asset (an
// admin listener is often reached through a port-forward, without the
// internet), refreshed by the browser every 15 s. Every number a test or a
// person may want to pick out carries a data-field attribute.
#include <fmt/format.h>

#include <boost/json/object.hpp>

#include "github_proxy/status/status_board.h"
#include "status/render.h"

namespace github_proxy::status {

namespace json = boost::json;
using render::field;

namespace {

std::string escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

const json::object& object_at(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->get_object() : empty;
}
const json::array& array_at(const json::object& o, std::string_view key) {
  static const json::array empty;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : empty;
}

// <td data-field="name">text</td>
void cell(std::string& out, std::string_view name, std::string_view text, std::string_view css = {}) {
  fmt::format_to(std::back_inserter(out), "<td data-field=\"{}\"{}>{}</td>", name,
                 css.empty() ? std::string() : fmt::format(" class=\"{}\"", css), escape(text));
}

void tile(std::string& out, std::string_view name, std::string_view value, std::string_view caption) {
  fmt::format_to(std::back_inserter(out),
                 "<div class=\"tile\"><div class=\"value\" data-field=\"{}\">{}</div><div>{}</div></div>", name,
                 escape(value), escape(caption));
}

constexpr std::string_view style = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#59636e;margin:.2rem 0 1rem}
.tiles{display:flex;flex-wrap:wrap;gap:.8rem;margin-bottom:.8rem}
.tile{border:1px solid #d1d9e0;border-radius:6px;padding:.6rem .9rem;min-width:10rem}
.tile .value{font-size:1.6rem;font-weight:600}
table{border-collapse:collapse;min-width:40rem}
th,td{border-bottom:1px solid #d1d9e0;padding:.3rem .7rem;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f6f8fa}
.bad{color:#d1242f;font-weight:600}.good{color:#1a7f37}
.note{color:#59636e;max-width:60rem}
)";

void one_token_section(std::string& out, const json::object& t) {
  const double limit = render::number(field(t, "limit_per_hour"));
  out += "<section id=\"one-token\"><h2>What the proxy saves</h2>";
  fmt::format_to(std::back_inserter(out),
                 "<p class=\"note\">The same requests sent straight to GitHub with one shared token of "
                 "<span data-field=\"limit_per_hour\">{}</span> credits per hour (replayed by this process "
                 "with GitHub's hourly windows). Each answer from the cache and each coalesced request would "
                 "have cost a credit there; a 304 to a job's own conditional request would not.</p>",
                 render::count(limit));
  out += "<div class=\"tiles\">";
  tile(out, "outages", render::count(render::number(field(t, "outages"))), "outages avoided since start");
  tile(out, "exhausted", render::span(render::number(field(t, "exhausted_seconds"))),
       "the token would have been empty");
  tile(out, "refused", render::count(render::number(field(t, "refused"))), "requests GitHub would have refused");
  tile(out, "demand", render::count(render::number(field(t, "demand"))), "credits of demand (core)");
  out += "</div>";
  if (const auto* w = field(t, "current_window"); w && w->is_object()) {
    const auto& cw = w->get_object();
    fmt::format_to(std::back_inserter(out),
                   "<p>This hour's window: <span data-field=\"window_demand\">{}</span> of {} credits since {}, "
                   "reset at {}.</p>",
                   render::count(render::number(field(cw, "demand"))), render::count(limit),
                   escape(render::utc(field(cw, "start"))), escape(render::utc(field(cw, "reset"))));
  }
  const auto& outages = array_at(t, "recent_outages");
  if (!outages.empty()) {
    out += "<table id=\"outages\"><tr><th>window</th><th>demand</th><th>empty from</th><th>for</th>"
           "<th>refused</th></tr>";
    for (const auto& v : outages) {
      if (!v.is_object()) continue;
      const auto& o = v.get_object();
      const bool ongoing = o.if_contains("ongoing") && o.at("ongoing").is_bool() && o.at("ongoing").get_bool();
      out += "<tr>";
      cell(out, "start", render::utc(field(o, "start")) + (ongoing ? " (now)" : ""));
      cell(out, "demand", render::count(render::number(field(o, "demand"))));
      cell(out, "exhausted_at", render::utc(field(o, "exhausted_at")));
      cell(out, "exhausted_for", render::span(render::number(field(o, "exhausted_seconds"))), "bad");
      cell(out, "refused", render::count(render::number(field(o, "refused"))));
      out += "</tr>";
    }
    out += "</table>";
  }
  out += "</section>";
}

void clients_section(std::string& out, const json::array& clients) {
  out += "<section id=\"clients\"><h2>Clients</h2><table><tr><th>client</th><th>requests</th>"
         "<th>credits spent</th><th>credits saved</th><th>demand on one token</th><th>budget used</th>"
         "<th>rejected (last hour)</th></tr>";
  for (const auto& v : clients) {
    if (!v.is_object()) continue;
    const auto& c = v.get_object();
    fmt::format_to(std::back_inserter(out), "<tr data-client=\"{}\">", escape(render::text(field(c, "name"))));
    cell(out, "name", render::text(field(c, "name")));
    cell(out, "requests", render::count(render::number(field(c, "requests"))));
    cell(out, "credits_spent", render::count(render::number(field(c, "credits_spent"))));
    cell(out, "credits_saved", render::count(render::number(field(c, "credits_saved"))), "good");
    cell(out, "demand", render::count(render::number(field(c, "demand"))));
    std::string budget = "none";
    std::string css;
    if (const auto* b = field(c, "budget"); b && b->is_object()) {
      const auto& bo = b->get_object();
      const double credits = render::number(field(bo, "credits"));
      const auto* used = field(bo, "used");
      const auto window = render::span(render::number(field(bo, "window_seconds")));
      if (used && !used->is_null()) {
        budget = fmt::format("{} / {} per {}", render::count(render::number(used)), render::count(credits), window);
        if (render::number(used) >= credits) css = "bad";
      } else {
        budget = fmt::format("{} per {} (in Redis)", render::count(credits), window);
      }
    }
    cell(out, "budget", budget, css);
    const double rejected = render::number(field(c, "rejected_last_hour"));
    cell(out, "rejected_last_hour", render::count(rejected), rejected > 0 ? "bad" : "");
    out += "</tr>";
  }
  out += "</table></section>";
}

void credentials_section(std::string& out, const json::array& credentials) {
  out += "<section id=\"credentials\"><h2>Credentials</h2><table><tr><th>credential</th><th>state</th>"
         "<th>resource</th><th>remaining / limit</th><th>resets at</th></tr>";
  for (const auto& v : credentials) {
    if (!v.is_object()) continue;
    const auto& c = v.get_object();
    const auto name = render::text(field(c, "name"));
    const auto state = render::text(field(c, "state"));
    const auto& resources = object_at(c, "resources");
    auto row = [&](std::string_view resource, const json::object* r) {
      fmt::format_to(std::back_inserter(out), "<tr data-credential=\"{}\" data-resource=\"{}\">", escape(name),
                     escape(resource));
      cell(out, "name", name);
      cell(out, "state", state, state == "ok" ? "good" : "bad");
      cell(out, "resource", resource.empty() ? "—" : resource);
      if (r) {
        cell(out, "remaining", fmt::format("{} / {}", render::count(render::number(field(*r, "remaining"))),
                                           render::count(render::number(field(*r, "limit")))));
        cell(out, "reset", render::utc(field(*r, "reset")));
      } else {
        cell(out, "remaining", "not seen yet");
        cell(out, "reset", "—");
      }
      out += "</tr>";
    };
    if (resources.empty()) row({}, nullptr);
    for (const auto& [resource, r] : resources) row(resource, r.is_object() ? &r.get_object() : nullptr);
  }
  out += "</table></section>";
}

void cache_section(std::string& out, const json::object& cache) {
  const bool healthy = !cache.if_contains("healthy") || !cache.at("healthy").is_bool() ||
                       cache.at("healthy").get_bool();
  out += "<section id=\"cache\"><h2>Cache</h2><div class=\"tiles\">";
  tile(out, "hit_ratio", render::percent(field(cache, "hit_ratio")), "of cacheable requests answered from it");
  tile(out, "hits", render::count(render::number(field(cache, "hits"))), "answered without GitHub");
  tile(out, "backend_health", healthy ? "healthy" : "failing", "backend (errors in the last minute)");
  tile(out, "backend_errors", render::count(render::number(field(cache, "backend_errors"))),
       "backend errors since start");
  out += "</div><table><tr><th>store</th><th>entries</th><th>bytes</th></tr>";
  for (const auto& [backend, s] : object_at(cache, "stores")) {
    if (!s.is_object()) continue;
    fmt::format_to(std::back_inserter(out), "<tr data-store=\"{}\">", escape(backend));
    cell(out, "name", backend);
    cell(out, "entries", render::count(render::number(field(s.get_object(), "entries"))));
    cell(out, "bytes", render::bytes(render::number(field(s.get_object(), "bytes"))));
    out += "</tr>";
  }
  out += "</table></section>";
}

}  // namespace

std::string render_status_html(const json::object& report) {
  std::string out;
  out.reserve(16 * 1024);
  out += "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"refresh\" content=\"15\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<title>github-proxy status</title><style>";
  out += style;
  out += "</style></head><body><h1>github-proxy</h1>";
  fmt::format_to(std::back_inserter(out),
                 "<p class=\"meta\">version {} · up since {} · as of {} · "
                 "<a href=\"/status.json\">status.json</a> · <a href=\"/metrics\">metrics</a></p>",
                 escape(render::text(field(report, "version"))), escape(render::utc(field(report, "started_at"))),
                 escape(render::utc(field(report, "generated_at"))));
  one_token_section(out, object_at(report, "one_token"));
  clients_section(out, array_at(report, "clients"));
  credentials_section(out, array_at(report, "credentials"));
  cache_section(out, object_at(report, "cache"));
  out += "</body></html>\n";
  return out;
}

}  // namespace github_proxy::status
