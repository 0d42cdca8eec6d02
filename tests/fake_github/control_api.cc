#include "control_api.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <boost/json.hpp>

#include "app_jwt.h"
#include "json_fields.h"
#include "time_format.h"

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

// An id given as a JSON number or string ("app_id": 123 or "123").
std::string id_text(const json::value& v, std::string_view field) {
  if (v.is_int64() && v.get_int64() > 0) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_string() && !v.get_string().empty()) return std::string(v.get_string());
  throw std::invalid_argument("field \"" + std::string(field) + "\" must be a positive number or a non-empty string");
}

app_registration app_from_json(const json::object& body) {
  app_registration app;
  app.source = "control api";
  if (const json::value* id = body.if_contains("app_id"); id && !id->is_null()) {
    app.app_id = id_text(*id, "app_id");
    if (app.app_id.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("\"app_id\" must be digits");
  }
  app.client_id = string_field(body, "client_id").value_or("");
  auto pem = string_field(body, "public_key_pem");
  if (!pem || pem->empty()) throw std::invalid_argument("\"public_key_pem\" is required");
  app.key = load_rsa_public_key(*pem);
  if (const json::value* ids = body.if_contains("installations"); ids && !ids->is_null()) {
    if (!ids->is_array()) throw std::invalid_argument("field \"installations\" must be an array");
    for (const auto& id : ids->get_array()) app.installations.push_back(id_text(id, "installations"));
  }
  return app;
}

json::object clock_json(std::int64_t now, std::int64_t offset) {
  return {{"now", now}, {"offset_seconds", offset}, {"date", http_date(now)}, {"iso8601", iso8601(now)}};
}

json::object graphql_cost_json(const graphql_costs& costs) {
  return {{"query", costs.query.load()}, {"mutation", costs.mutation.load()}};
}

json::object secondary_json(const secondary_limit_settings& s) {
  return {{"rest_points", s.rest_points},
          {"graphql_points", s.graphql_points},
          {"content_per_minute", s.content_per_minute},
          {"content_per_hour", s.content_per_hour},
          {"block_seconds", s.block_seconds}};
}

secondary_settings_update secondary_update_from_json(const json::object& body) {
  static constexpr std::string_view known[] = {"rest_points", "graphql_points", "content_per_minute",
                                               "content_per_hour", "block_seconds"};
  for (const auto& kv : body)
    if (std::find(std::begin(known), std::end(known), kv.key()) == std::end(known))
      throw std::invalid_argument("unknown field \"" + std::string(kv.key()) + "\"");
  auto field = [&](std::string_view key, std::int64_t max) {
    auto n = int_field(body, key);
    if (n && (*n < 0 || *n > max))
      throw std::invalid_argument("\"" + std::string(key) + "\" must be within 0.." + std::to_string(max));
    return n;
  };
  return {field("rest_points", 1'000'000'000), field("graphql_points", 1'000'000'000),
          field("content_per_minute", 1'000'000'000), field("content_per_hour", 1'000'000'000),
          field("block_seconds", 86400)};
}

json::object secondary_usage_json(const secondary_usage& u) {
  return {{"rest", u.rest}, {"graphql", u.graphql}, {"content_minute", u.content_minute},
          {"content_hour", u.content_hour}};
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
  if (path == "/_fake/counters" && method == verb::get) {
    json::object counters = state.observed.counters_json();
    for (auto& [token, per_token] : counters["tokens"].as_object())
      per_token.as_object()["secondary_points"] = secondary_usage_json(state.secondary.usage(token, now));
    for (auto& kv : state.apps.counters_json()) counters[kv.key()] = std::move(kv.value());
    return ok(std::move(counters), req);
  }
  if (path == "/_fake/apps") {
    if (method == verb::post) {
      app_registration app = app_from_json(body_object(req));
      json::object echo = app.to_json();
      state.apps.add(std::move(app));
      return ok(std::move(echo), req);
    }
    if (method == verb::get) return ok(state.apps.to_json(now), req);
  }
  if (path == "/_fake/apps/token_ttl") {
    if (method == verb::post) {
      auto seconds = int_field(body_object(req), "seconds");
      if (!seconds || *seconds < 1 || *seconds > 366 * 24 * 3600)
        throw std::invalid_argument("\"seconds\" must be within 1..31622400");
      state.apps.set_token_ttl(*seconds);
    } else if (method != verb::get) {
      return fail(404, "unknown control endpoint", req);
    }
    return ok(json::object{{"token_ttl", state.apps.token_ttl()}}, req);
  }
  if (path == "/_fake/clock") {
    const std::int64_t before = state.clock_offset.load();
    if (method == verb::post) {
      json::object body = body_object(req);
      auto advance = int_field(body, "advance_seconds");
      auto offset = int_field(body, "offset_seconds");
      if (advance.has_value() == offset.has_value())
        throw std::invalid_argument("give exactly one of \"advance_seconds\" and \"offset_seconds\"");
      const std::int64_t bound = 10LL * 366 * 24 * 3600;
      std::int64_t target = advance ? before + *advance : *offset;
      if (target < -bound || target > bound) throw std::invalid_argument("clock offset beyond ten years");
      state.clock_offset.store(target);
      return ok(clock_json(now - before + target, target), req);
    }
    if (method == verb::get) return ok(clock_json(now, before), req);
  }
  if (path == "/_fake/graphql_cost") {
    if (method == verb::post) {
      json::object body = body_object(req);
      auto query_cost = int_field(body, "query");
      auto mutation_cost = int_field(body, "mutation");
      for (auto cost : {query_cost, mutation_cost})
        if (cost && (*cost < 1 || *cost > 1'000'000)) throw std::invalid_argument("costs must be within 1..1000000");
      if (query_cost) state.graphql.query.store(static_cast<int>(*query_cost));
      if (mutation_cost) state.graphql.mutation.store(static_cast<int>(*mutation_cost));
    } else if (method != verb::get) {
      return fail(404, "unknown control endpoint", req);
    }
    return ok(graphql_cost_json(state.graphql), req);
  }
  if (path == "/_fake/secondary") {
    if (method == verb::post) {
      state.secondary.update(secondary_update_from_json(body_object(req)));
    } else if (method != verb::get) {
      return fail(404, "unknown control endpoint", req);
    }
    return ok(secondary_json(state.secondary.settings()), req);
  }
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
  if (path == "/_fake/reinstate" && method == verb::post) {
    auto token = string_field(body_object(req), "token");
    if (!token || token->empty()) throw std::invalid_argument("\"token\" is required");
    state.revoked.reinstate(*token);
    return ok(json::object{{"reinstated", *token}}, req);
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
  if (path == "/_fake/gates" && method == verb::get) return ok(state.gates.to_json(), req);
  if (path == "/_fake/gates/release" && method == verb::post) {
    auto gate = string_field(body_object(req), "gate");
    if (!gate || gate->empty()) throw std::invalid_argument("\"gate\" is required");
    return ok(json::object{{"gate", *gate}, {"released", state.gates.release(*gate)}}, req);
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
