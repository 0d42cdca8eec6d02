#include "control_api.h"

#include <charconv>
#include <stdexcept>

#include <boost/json.hpp>

#include "json_fields.h"

namespace fake_github {
namespace json = boost::json;
namespace {

outgoing_response ok(json::value body, const request_t& req) {
  return plain_json(200, json::serialize(body), &req);
}

outgoing_response fail(unsigned status, std::string_view message, const request_t& req) {
  return plain_json(status, json::serialize(json::object{{"message", message}}), &req);
}

json::object body_object(const request_t& req) {
  if (req.body().empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec || !v.is_object()) throw std::invalid_argument("body must be a JSON object");
  return std::move(v.as_object());
}

std::size_t limit_param(std::string_view query) {
  // "?limit=N" (the only parameter): default and cap are the ring's size.
  std::size_t n = static_cast<std::size_t>(-1);
  auto at = query.find("limit=");
  if (at != std::string_view::npos) {
    std::string_view digits = query.substr(at + 6);
    digits = digits.substr(0, digits.find('&'));
    std::from_chars(digits.data(), digits.data() + digits.size(), n);
  }
  return n;
}

resource resource_param(const json::object& body) {
  std::string name = string_field(body, "resource").value_or("core");
  auto r = resource_from_name(name);
  if (!r) throw std::invalid_argument("unknown resource \"" + name + "\"");
  return *r;
}

json::object snapshot_json(std::string_view token, const rate_snapshot& s) {
  return {{"token", token},   {"resource", resource_name(s.res)}, {"limit", s.limit},
          {"used", s.used},   {"remaining", s.remaining},        {"reset", s.reset}};
}

outgoing_response dispatch(const request_t& req, fake_state& state, std::int64_t now) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};
  const auto method = req.method();
  using http::verb;

  if (path == "/_fake/health" && method == verb::get) return ok(json::object{{"ok", true}}, req);
  if (path == "/_fake/reset" && method == verb::post) {
    state.reset();
    return ok(json::object{{"reset", true}}, req);
  }
  if (path == "/_fake/change" && method == verb::post) {
    auto target_path = string_field(body_object(req), "path");
    if (!target_path || target_path->empty()) throw std::invalid_argument("\"path\" is required");
    auto result = state.data.change(*target_path);
    return ok(json::object{{"path", result.key}, {"version", result.version}, {"known", result.known}}, req);
  }
  if (path == "/_fake/counters" && method == verb::get) return ok(state.observed.counters_json(), req);
  if (path == "/_fake/limits" && method == verb::post) {
    json::object body = body_object(req);
    auto token = string_field(body, "token");
    if (!token || token->empty()) throw std::invalid_argument("\"token\" is required");
    bucket_update update{int_field(body, "limit"), int_field(body, "remaining"), int_field(body, "reset_in")};
    rate_snapshot s = state.limits.set_bucket(*token, resource_param(body), update, now);
    return ok(snapshot_json(*token, s), req);
  }
  if (path == "/_fake/defaults" && method == verb::post) {
    json::object body = body_object(req);
    json::object applied;
    for (const auto& kv : body) {
      auto r = resource_from_name(kv.key());
      if (!r) throw std::invalid_argument("unknown resource \"" + std::string(kv.key()) + "\"");
      auto limit = int_field(body, kv.key());
      if (!limit) continue;
      state.limits.set_default(*r, *limit);
      applied[kv.key()] = *limit;
    }
    return ok(json::object{{"defaults", std::move(applied)}}, req);
  }
  if (path == "/_fake/revoke" && method == verb::post) {
    auto token = string_field(body_object(req), "token");
    if (!token || token->empty()) throw std::invalid_argument("\"token\" is required");
    state.revoked.revoke(*token);
    return ok(json::object{{"revoked", *token}}, req);
  }
  if (path == "/_fake/faults") {
    if (method == verb::post) {
      fault_rule rule = fault_rule::from_json(body_object(req));
      json::object echo = rule.to_json();
      state.faults.add(std::move(rule));
      return ok(echo, req);
    }
    if (method == verb::delete_) {
      state.faults.clear();
      return ok(json::object{{"cleared", true}}, req);
    }
    if (method == verb::get) return ok(state.faults.to_json(), req);
  }
  if (path == "/_fake/requests") {
    if (method == verb::get) return ok(state.observed.requests_json(limit_param(query)), req);
    if (method == verb::delete_) {
      state.observed.clear_requests();
      return ok(json::object{{"cleared", true}}, req);
    }
  }
  return fail(404, "unknown control endpoint", req);
}

}  // namespace

outgoing_response handle_control(const request_t& req, fake_state& state, std::int64_t now) {
  try {
    return dispatch(req, state, now);
  } catch (const std::exception& e) {
    return fail(400, e.what(), req);
  }
}

}  // namespace fake_github
