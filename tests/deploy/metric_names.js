#!/usr/bin/env node
// Checks that the dashboard and the alert rules use only the metrics and
// labels of docs/contract.md §8, so that a renamed metric breaks a test instead of a
// panel or an alert in production.
//
//   node metric_names.js dashboard deploy/grafana/github-proxy.json
//   node metric_names.js rules RULES.json|FILE.yaml...
//
// Every PromQL expression (the dashboard's queries; the `expr` of each rule
// in RULES.json, alerts.yaml as check_deploy.sh converts it) is parsed: every
// identifier that is not a PromQL function, keyword or label must be a
// docs/contract.md §8 metric, one of the few standard metrics below, or a
// series alerts.yaml records, with only its labels. `rules` also checks that
// alerts.yaml records exactly the series listed below. A .yaml file (the
// promtool tests) is scanned as text for github_proxy_* names (recorded ones
// included) and the labels in their selectors (node has no YAML parser;
// promtool checks the syntax).
//
// `dashboard` also checks that every query is filtered by the $namespace and
// $job variables (directly, or for the kubelet's and kube-state-metrics'
// series through a join with the proxy's own), that the other variables are
// too, and that stat panels ask for instant values. Exit 1 with one line per
// problem.
"use strict";
const fs = require("fs");

// docs/contract.md §8: metric → labels. Scrape targets add their own labels (job,
// instance, and Kubernetes service discovery's), which are allowed everywhere.
const counters = {
  github_proxy_requests_total: ["client", "method", "code", "cache"],
  github_proxy_upstream_requests_total: ["credential", "resource", "code"],
  github_proxy_rate_limit_credits_saved_total: ["client"],
  github_proxy_rejected_requests_total: ["client", "reason"],
  github_proxy_client_upstream_credits_total: ["client"],
  github_proxy_cache_backend_errors_total: ["backend", "op"],
  github_proxy_registry_reloads_total: ["result"],
  github_proxy_secret_reloads_total: ["result"],
  github_proxy_etag_derivations_total: ["result"],
  // §8 "Status page": the credits the requests would have cost on GitHub
  // with one shared token.
  github_proxy_direct_demand_credits_total: ["client", "resource"],
};
const gauges = {
  github_proxy_rate_limit_remaining: ["credential", "resource"],
  github_proxy_rate_limit_limit: ["credential", "resource"],
  github_proxy_rate_limit_used: ["credential", "resource"],
  github_proxy_rate_limit_reset_timestamp_seconds: ["credential", "resource"],
  github_proxy_credential_state: ["credential", "state"],
  // §7 "Secondary limits": per credential and kind, used in the window and GitHub's limit.
  github_proxy_secondary_points_used: ["credential", "kind"],
  github_proxy_secondary_points_limit: ["credential", "kind"],
  github_proxy_cache_entries: ["backend"],
  github_proxy_cache_bytes: ["backend"],
  github_proxy_registry_clients: [],
  github_proxy_registry_last_success_timestamp_seconds: [],
  github_proxy_client_connections: [],
  github_proxy_build_info: ["version"],
  // §8 "Status page": that one token's limit per hour (admin.one_token_limit).
  github_proxy_one_token_limit: [],
};
const histograms = {
  github_proxy_request_duration_seconds: ["cache"],
  github_proxy_upstream_duration_seconds: ["resource"],
};
const targetLabels = ["job", "instance", "namespace", "pod", "container", "service", "endpoint", "node"];

// Not github-proxy's: the few standard series the rules and the dashboard
// need for what the proxy cannot say about itself. Their labels besides the
// target labels above.
const external = {
  // Prometheus, for every scrape target.
  up: [],
  // kube-state-metrics v2.
  kube_pod_status_ready: ["condition", "uid"],
  kube_pod_container_resource_limits: ["resource", "unit", "uid"],
  // cAdvisor, scraped from the kubelet's /metrics/cadvisor.
  container_cpu_usage_seconds_total: ["cpu", "id", "image", "name"],
  container_memory_working_set_bytes: ["id", "image", "name"],
};
// The series deploy/prometheus/alerts.yaml records (group
// github-proxy-demand), with their labels besides `namespace` and `job`,
// which they keep from the proxy's own series.
const recorded = {
  "namespace_job:github_proxy_direct_demand_credits:increase1h": [],
  "namespace_job_client:github_proxy_direct_demand_credits:increase1h": ["client"],
  "namespace_job:github_proxy_one_token_exhausted_seconds:1h": [],
};

// Series of the proxy's own scrape target, which carry its `job`, and those
// recorded from them.
const ownTarget = (name) => name.startsWith("github_proxy_") || name === "up" || name in recorded;

const metrics = new Map();
for (const [name, labels] of Object.entries({ ...counters, ...gauges, ...external, ...recorded })) metrics.set(name, labels);
for (const [name, labels] of Object.entries(histograms)) {
  metrics.set(`${name}_bucket`, [...labels, "le"]);
  metrics.set(`${name}_sum`, labels);
  metrics.set(`${name}_count`, labels);
}

// The panels docs/contract.md §9 asks for must keep their metric.
const dashboardMustUse = [
  "github_proxy_requests_total",
  "github_proxy_rate_limit_credits_saved_total",
  "github_proxy_rate_limit_remaining",
  "github_proxy_credential_state",
  "github_proxy_rejected_requests_total",
  "github_proxy_request_duration_seconds_bucket",
  "github_proxy_upstream_duration_seconds_bucket",
  "github_proxy_cache_entries",
  "github_proxy_cache_bytes",
  "github_proxy_cache_backend_errors_total",
  // issue 18: connections, pods, resources, ETag derivations
  "github_proxy_client_connections",
  "github_proxy_etag_derivations_total",
  "github_proxy_registry_last_success_timestamp_seconds",
  "up",
  "kube_pod_status_ready",
  "container_cpu_usage_seconds_total",
  "container_memory_working_set_bytes",
  "kube_pod_container_resource_limits",
  // issue 15: what the proxy saves
  "namespace_job:github_proxy_direct_demand_credits:increase1h",
  "namespace_job_client:github_proxy_direct_demand_credits:increase1h",
  "namespace_job:github_proxy_one_token_exhausted_seconds:1h",
  "github_proxy_one_token_limit",
];

const functions = new Set(`abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil
  changes clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
  days_in_month deg delta deriv exp floor histogram_count histogram_fraction histogram_quantile
  histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase irate label_join
  label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month
  pi predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh
  sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector
  year sum min max avg group stddev stdvar count count_values bottomk topk quantile`.split(/\s+/));
const keywords = new Set("and or unless bool offset by without on ignoring group_left group_right inf nan".split(" "));
const grafanaVariables = new Set(["__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"]);

const problems = [];
const used = new Set();
const definedVariables = new Set();

function checkSelector(where, name, matchers) {
  const labels = metrics.get(name);
  if (!labels) {
    problems.push(`${where}: ${name} is not a docs/contract.md §8 metric (nor an allowed standard one)`);
    return;
  }
  used.add(name);
  for (const m of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
    const label = m[1];
    if (label !== "__name__" && !labels.includes(label) && !targetLabels.includes(label)) {
      problems.push(`${where}: ${name} has no label "${label}" (docs/contract.md §8: ${labels.join(", ") || "none"})`);
    }
  }
}

function withoutStrings(text, quotes) {
  const pattern = quotes === "double" ? /"(?:[^"\\\n]|\\.)*"/g : /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
  return text.replace(pattern, '""');
}

// A dashboard query is filtered by the dashboard's namespace and job: every
// selector has namespace=~"$namespace", the proxy's own series also
// job=~"$job", and a query over the kubelet's or kube-state-metrics' series
// (another job) names $job in the proxy series it is joined with.
function checkDashboardFilters(where, expr) {
  const code = expr.replace(/#.*$/gm, "");
  const selectors = new Map(); // the matchers of each metric name
  for (const m of code.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)) {
    if (metrics.has(m[1])) selectors.set(m.index, { name: m[1], matchers: m[2] || "" });
  }
  for (const { name, matchers } of selectors.values()) {
    if (!/\bnamespace\s*=~\s*"\$\{?namespace\}?"/.test(matchers)) {
      problems.push(`${where}: ${name} is not filtered by namespace=~"$namespace"`);
    }
    if (ownTarget(name) && !/\bjob\s*=~\s*"\$\{?job\}?"/.test(matchers)) {
      problems.push(`${where}: ${name} is not filtered by job=~"$job"`);
    }
  }
  if (selectors.size > 0 && ![...selectors.values()].some((s) => ownTarget(s.name))) {
    problems.push(`${where}: no github-proxy series carries job=~"$job" (join the others with one)`);
  }
}

function checkExpression(where, expr) {
  const code = withoutStrings(expr, "all").replace(/#.*$/gm, "");
  for (const m of code.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    if (!functions.has(m[1]) && !keywords.has(m[1])) checkSelector(where, m[1], m[2]);
  }
  const stripped = code
    .replace(/\{[^}]*\}/g, " ")                 // label matchers
    .replace(/\[[^\]]*\]/g, " ")                // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, " ")  // Grafana variables
    .replace(/(?<![\w.:])\d[\w.]*/g, " ");      // numbers, durations (offset 1d); not a name's :1h
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, word, call] = m;
    if (call) {
      if (!functions.has(word) && !keywords.has(word)) problems.push(`${where}: unknown PromQL function ${word}()`);
    } else if (!keywords.has(word)) {
      if (metrics.has(word)) used.add(word);
      else problems.push(`${where}: ${word} is not a docs/contract.md §8 metric`);
    }
  }
  for (const m of expr.matchAll(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)/g)) {
    if (!grafanaVariables.has(m[1]) && !definedVariables.has(m[1])) {
      problems.push(`${where}: undefined dashboard variable $${m[1]}`);
    }
  }
}

function checkDashboard(file) {
  const dashboard = JSON.parse(fs.readFileSync(file, "utf8"));
  const variables = (dashboard.templating && dashboard.templating.list) || [];
  for (const v of variables) definedVariables.add(v.name);

  if (!(dashboard.schemaVersion >= 36)) problems.push(`${file}: schemaVersion ${dashboard.schemaVersion} is older than 36`);
  if (!dashboard.uid || !dashboard.title) problems.push(`${file}: needs a uid and a title`);
  const datasourceVar = variables.find((v) => v.type === "datasource" && v.query === "prometheus");
  if (!datasourceVar) problems.push(`${file}: no datasource variable of type prometheus`);
  const queryOf = (v) => String(v && (v.definition || (v.query && v.query.query) || v.query));
  const wantVariables = {
    namespace: ["github_proxy_build_info", "namespace"],
    job: ["github_proxy_build_info", "job"],
    client: ["github_proxy_requests_total", "client"],
  };
  for (const [name, [metric, label]] of Object.entries(wantVariables)) {
    const v = variables.find((x) => x.name === name);
    const pattern = new RegExp(`label_values\\(\\s*${metric}\\s*(\\{[^}]*\\})?\\s*,\\s*${label}\\s*\\)`);
    if (!v || !pattern.test(queryOf(v))) problems.push(`${file}: needs a '${name}' variable from label_values(${metric}{...}, ${label})`);
  }
  for (const v of variables) {
    if (v.type !== "query") continue;
    const query = queryOf(v);
    const m = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/.exec(query);
    if (!m) {
      problems.push(`${file}: variable ${v.name}: expected label_values(METRIC{...}, LABEL), got ${query}`);
      continue;
    }
    checkSelector(`${file}: variable ${v.name}`, m[1], `${(m[2] || "").slice(1, -1)},${m[3]}=""`);
    // Each variable lists the values of the namespaces and jobs selected above it.
    const above = v.name === "namespace" ? [] : v.name === "job" ? ["namespace"] : ["namespace", "job"];
    for (const outer of above) {
      if (!new RegExp(`\\b${outer}\\s*=~\\s*"\\$\\{?${outer}\\}?"`).test(m[2] || "")) {
        problems.push(`${file}: variable ${v.name} is not filtered by ${outer}=~"$${outer}"`);
      }
    }
  }

  const panels = [];
  (function collect(list) {
    for (const p of list || []) {
      panels.push(p);
      collect(p.panels);
    }
  })(dashboard.panels);
  const ids = new Set();
  const cells = new Map();
  let expressions = 0;
  for (const p of panels) {
    const where = `${file}: panel ${p.id} "${p.title}"`;
    if (ids.has(p.id)) problems.push(`${where}: duplicate panel id`);
    ids.add(p.id);
    const g = p.gridPos;
    if (!g || g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1) {
      problems.push(`${where}: gridPos ${JSON.stringify(g)} is outside the 24-column grid`);
    } else {
      for (let y = g.y; y < g.y + g.h; y++) {
        for (let x = g.x; x < g.x + g.w; x++) {
          const key = `${x},${y}`;
          if (cells.has(key)) problems.push(`${where}: overlaps panel ${cells.get(key)}`);
          cells.set(key, p.id);
        }
      }
    }
    if (p.type === "row") continue;
    const uid = p.datasource && p.datasource.uid;
    if (uid !== "${datasource}" && uid !== "$datasource") problems.push(`${where}: datasource is not the \${datasource} variable`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) problems.push(`${where}: no queries`);
    // A stat shows one number, now: an instant query, not the last point of
    // a range (which Grafana may take from a step before the end).
    const single = ["stat", "gauge", "bargauge"].includes(p.type);
    const refIds = new Set();
    for (const t of p.targets || []) {
      if (single && (t.instant !== true || t.range === true)) {
        problems.push(`${where}: ${p.type} panel query ${t.refId} must be instant ("instant": true, "range": false)`);
      }
      if (refIds.has(t.refId)) problems.push(`${where}: duplicate refId ${t.refId}`);
      refIds.add(t.refId);
      if (typeof t.expr !== "string" || t.expr.trim() === "") {
        problems.push(`${where}: query ${t.refId} has no expr`);
        continue;
      }
      expressions++;
      checkExpression(`${where} query ${t.refId}`, t.expr);
      checkDashboardFilters(`${where} query ${t.refId}`, t.expr);
    }
  }
  if (expressions === 0) problems.push(`${file}: no expressions found`);
  for (const name of dashboardMustUse) {
    if (!used.has(name)) problems.push(`${file}: no panel uses ${name}`);
  }
  return `${panels.length} panels, ${expressions} expressions`;
}

function checkRules(file) {
  if (file.endsWith(".json")) {
    // alerts.yaml as JSON (check_deploy.sh): every rule's expression parsed,
    // and the recorded series those listed above.
    let count = 0;
    const records = new Set();
    for (const g of JSON.parse(fs.readFileSync(file, "utf8")).spec.groups || []) {
      for (const r of g.rules || []) {
        count++;
        checkExpression(`${file}: ${r.alert || r.record}`, r.expr || "");
        if (r.record) {
          records.add(r.record);
          if (!(r.record in recorded)) problems.push(`${file}: records ${r.record}, which metric_names.js does not list`);
        }
      }
    }
    for (const name of Object.keys(recorded)) {
      if (!records.has(name)) problems.push(`${file}: no rule records ${name}, which metric_names.js lists`);
    }
    if (count === 0) problems.push(`${file}: no rules found`);
    return `${count} rule expressions, ${records.size} recorded series`;
  }
  const text = withoutStrings(fs.readFileSync(file, "utf8"), "double");
  let count = 0;
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    // Whole names: a recorded one (namespace_job:github_proxy_...:increase1h)
    // is not read as the github_proxy_ name inside it.
    for (const m of line.matchAll(/(?<![\w:])((?:[a-z0-9_]+:)?github_proxy_[a-z0-9_:]+)(\s*\{([^}]*)\})?/g)) {
      count++;
      checkSelector(`${file}:${i + 1}`, m[1], m[3] || "");
    }
  });
  if (count === 0) problems.push(`${file}: no github_proxy_ metric found`);
  return `${count} metric references`;
}

const [mode, ...files] = process.argv.slice(2);
if (!["dashboard", "rules"].includes(mode) || files.length === 0) {
  console.error("usage: metric_names.js dashboard FILE.json | rules RULES.json|FILE.yaml...");
  process.exit(2);
}
for (const file of files) {
  const summary = mode === "dashboard" ? checkDashboard(file) : checkRules(file);
  console.log(`${file}: ${summary}`);
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
