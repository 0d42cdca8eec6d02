#!/usr/bin/env node
// Checks the alert and recording rules beyond what promtool checks, on JSON
// that check_deploy.sh gets from kubectl (node has no YAML parser):
//
//   node alert_rules.js rules RULES.json README.md TESTS.json...
//     every alert has a severity (page or ticket), a summary, a description
//     and a runbook_url whose anchor is a heading of the README's
//     "## Runbook" section; every recording rule is named
//     namespace_job[_LABEL...]:METRIC:OPERATION (Prometheus' naming
//     convention, the level naming the labels it keeps); every aggregation
//     keeps `namespace` (`by (namespace, ...)` or a `without` that spares
//     it), every `on (...)` names it, and no scalar() drops it; every alert
//     is tested firing, resolving (firing, then not, in one test group),
//     quiet, and in a "zero traffic" group; every recording rule has a
//     promql_expr_test, and one in a "zero traffic" group.
//   node alert_rules.js operator RULES.json PROMETHEUSRULE.json RENDERED.json
//     the PrometheusRule's groups equal alerts.yaml's; the PodMonitor in the
//     rendered manifests selects the proxy pods, scrapes a port they have,
//     and gives them the job label the rules' up{job="..."} selectors expect.
//
// RULES.json and TESTS.json hold the YAML file under `spec` (check_deploy.sh
// wraps it in an object kubectl accepts). Exit 1 with one line per problem.
"use strict";
const fs = require("fs");

const problems = [];
const expect = (ok, message) => {
  if (!ok) problems.push(message);
};
// kubectl prints one JSON object per YAML document, one after the other.
function readObjects(file) {
  const text = fs.readFileSync(file, "utf8");
  const objects = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" && depth++ === 0) start = i;
    else if (c === "}" && --depth === 0) objects.push(JSON.parse(text.slice(start, i + 1)));
  }
  return objects.flatMap((o) => (o.kind === "List" ? o.items : [o]));
}
const readJson = (file) => readObjects(file)[0];

function alertRules(rulesFile) {
  const groups = readJson(rulesFile).spec.groups || [];
  const rules = [];
  for (const g of groups) for (const r of g.rules || []) rules.push(r);
  return { groups, rules };
}

// --- PromQL text ------------------------------------------------------------

function withoutStringsAndComments(expr) {
  return expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#.*$/gm, "");
}

function labelList(text) {
  return text.split(",").map((l) => l.trim()).filter(Boolean);
}

// The index just past the parenthesis that closes the one at `open`.
function closing(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "(") depth++;
    else if (code[i] === ")" && --depth === 0) return i + 1;
  }
  return code.length;
}

const aggregations = "sum|min|max|avg|group|stddev|stdvar|count|count_values|bottomk|topk|quantile";

function namespaceProblems(where, expr) {
  const code = withoutStringsAndComments(expr);
  const found = [];
  const check = (op, modifier, labels) => {
    if (modifier === "by" && !labels.includes("namespace")) {
      found.push(`${where}: ${op} by (${labels.join(", ")}) drops namespace`);
    } else if (modifier === "without" && labels.includes("namespace")) {
      found.push(`${where}: ${op} without (${labels.join(", ")}) drops namespace`);
    }
  };
  const re = new RegExp(`\\b(${aggregations})\\s*(?:\\b(by|without)\\s*)?\\(`, "g");
  for (let m; (m = re.exec(code)); ) {
    const [, op, modifier] = m;
    const open = m.index + m[0].length - 1;
    const end = closing(code, open);
    if (modifier) {
      check(op, modifier, labelList(code.slice(open + 1, end - 1)));
      continue;
    }
    // `sum (...) by (...)`: the modifier after the operand.
    const after = /^\s*\b(by|without)\s*\(([^)]*)\)/.exec(code.slice(end));
    if (after) check(op, after[1], labelList(after[2]));
    else found.push(`${where}: ${op}(...) without by/without aggregates every namespace together`);
  }
  for (const m of code.matchAll(/\bon\s*\(([^)]*)\)/g)) {
    if (!labelList(m[1]).includes("namespace")) found.push(`${where}: on (${m[1].trim()}) matches across namespaces`);
  }
  if (/\bscalar\s*\(/.test(code)) found.push(`${where}: scalar() drops namespace`);
  return found;
}

// --- README -------------------------------------------------------------------

// GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'.
function slug(heading) {
  return heading
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function runbookAnchors(readme) {
  const anchors = new Set();
  let fenced = false;
  let inRunbook = false;
  let seen = false;
  for (const line of fs.readFileSync(readme, "utf8").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    if (m[1].length <= 2) {
      inRunbook = m[1].length === 2 && m[2] === "Runbook";
      seen = seen || inRunbook;
    } else if (inRunbook) {
      anchors.add(slug(m[2]));
    }
  }
  expect(seen, `${readme}: no "## Runbook" section`);
  return anchors;
}

const runbookBase = "https://github.com/your-org/github-proxy/blob/main/deploy/README.md#";

// --- Tests --------------------------------------------------------------------

function seconds(duration) {
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const m of String(duration).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

function coverage(testFiles) {
  // alert → { fires, quiet, resolves, zero }
  const cover = new Map();
  // recording rule → { tested, zero }: the recorded names a promql_expr_test
  // queries (names with a colon).
  const recorded = new Map();
  const get = (name) => {
    if (!cover.has(name)) cover.set(name, { fires: false, quiet: false, resolves: false, zero: false });
    return cover.get(name);
  };
  for (const file of testFiles) {
    for (const group of readJson(file).spec.tests || []) {
      const zeroTraffic = /^zero traffic/.test(group.name || "");
      for (const t of group.promql_expr_test || []) {
        for (const m of withoutStringsAndComments(t.expr || "").matchAll(/(?<![\w:.])[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*/g)) {
          const c = recorded.get(m[0]) || { tested: false, zero: false };
          c.tested = true;
          c.zero = c.zero || zeroTraffic;
          recorded.set(m[0], c);
        }
      }
      const firing = new Map(); // alert → earliest time it fires in this group
      const quietAt = new Map(); // alert → times it must be quiet
      for (const t of group.alert_rule_test || []) {
        const c = get(t.alertname);
        const at = seconds(t.eval_time);
        if (Array.isArray(t.exp_alerts) && t.exp_alerts.length > 0) {
          c.fires = true;
          firing.set(t.alertname, Math.min(firing.get(t.alertname) ?? Infinity, at));
        } else {
          c.quiet = true;
          if (zeroTraffic) c.zero = true;
          quietAt.set(t.alertname, [...(quietAt.get(t.alertname) || []), at]);
        }
      }
      for (const [name, first] of firing) {
        if ((quietAt.get(name) || []).some((at) => at > first)) get(name).resolves = true;
      }
    }
  }
  return { cover, recorded };
}

// A recording rule's name: level:metric:operation, the level naming the
// labels the result keeps, `namespace` and `job` first.
const recordName = /^namespace_job(_[a-z0-9_]+)?:[a-z0-9_]+:[a-z0-9_]+$/;

function checkRules(rulesFile, readme, testFiles) {
  const { rules } = alertRules(rulesFile);
  const anchors = runbookAnchors(readme);
  const names = new Set();
  const records = new Set();
  for (const r of rules) {
    const where = `${rulesFile}: ${r.alert || r.record}`;
    if (r.record) {
      expect(recordName.test(r.record), `${where}: a recording rule's name must be namespace_job[_LABEL...]:METRIC:OPERATION`);
      expect(!records.has(r.record), `${where}: a second recording rule of that name`);
      records.add(r.record);
      problems.push(...namespaceProblems(where, r.expr || ""));
      continue;
    }
    expect(!names.has(r.alert), `${where}: a second alert of that name`);
    names.add(r.alert);
    const labels = r.labels || {};
    const annotations = r.annotations || {};
    expect(["page", "ticket"].includes(labels.severity), `${where}: severity must be page or ticket, not ${labels.severity}`);
    for (const key of ["summary", "description", "runbook_url"]) {
      expect(typeof annotations[key] === "string" && annotations[key].trim() !== "", `${where}: no ${key} annotation`);
    }
    const url = annotations.runbook_url || "";
    if (!url.startsWith(runbookBase)) {
      problems.push(`${where}: runbook_url ${url} does not start with ${runbookBase}`);
    } else {
      const anchor = url.slice(runbookBase.length);
      expect(anchors.has(anchor), `${where}: runbook_url anchor #${anchor} is no heading of deploy/README.md's "## Runbook"`);
    }
    problems.push(...namespaceProblems(where, r.expr || ""));
  }
  const { cover, recorded } = coverage(testFiles);
  for (const name of names) {
    const c = cover.get(name) || {};
    const missing = ["fires", "resolves", "quiet", "zero"].filter((k) => !c[k]);
    const words = { fires: "firing", resolves: "resolving", quiet: "quiet", zero: "zero traffic" };
    if (missing.length) problems.push(`tests: ${name} has no ${missing.map((k) => words[k]).join(", ")} case`);
  }
  for (const name of cover.keys()) expect(names.has(name), `tests: ${name} is no alert of ${rulesFile}`);
  for (const name of records) {
    const c = recorded.get(name) || {};
    if (!c.tested) problems.push(`tests: recording rule ${name} has no promql_expr_test`);
    else if (!c.zero) problems.push(`tests: recording rule ${name} has no promql_expr_test in a "zero traffic" group`);
  }
  for (const name of recorded.keys()) expect(records.has(name), `tests: ${name} is no recording rule of ${rulesFile}`);
  return `${names.size} alerts, each tested firing, resolving, quiet and at zero traffic; ` +
    `${records.size} recording rules, each tested, at zero traffic too`;
}

// --- The Prometheus Operator component -------------------------------------

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

function checkOperator(rulesFile, prometheusRuleFile, renderedFile) {
  const { groups, rules } = alertRules(rulesFile);
  const prometheusRule = readObjects(prometheusRuleFile).find((o) => o.kind === "PrometheusRule");
  expect(prometheusRule, `${prometheusRuleFile}: no PrometheusRule`);
  if (prometheusRule) {
    expect(
      JSON.stringify(canonical(prometheusRule.spec.groups)) === JSON.stringify(canonical(groups)),
      `${prometheusRuleFile}: its groups differ from deploy/prometheus/alerts.yaml: run ` +
        "deploy/kubernetes/components/monitoring/generate-prometheusrule.sh",
    );
  }

  const objects = readObjects(renderedFile);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const deployment = find("Deployment", "github-proxy");
  const podMonitor = objects.find((o) => o.kind === "PodMonitor");
  expect(deployment, "rendered: no Deployment github-proxy");
  expect(podMonitor, "rendered: no PodMonitor");
  expect(objects.some((o) => o.kind === "PrometheusRule"), "rendered: no PrometheusRule");
  if (!deployment || !podMonitor) return "";
  const template = deployment.spec.template;
  const podLabels = template.metadata.labels || {};
  const container = template.spec.containers.find((c) => c.name === "github-proxy");
  const ports = new Map(((container && container.ports) || []).map((p) => [p.name, p.containerPort]));
  const selector = (podMonitor.spec.selector || {}).matchLabels || {};
  expect(Object.keys(selector).length > 0, "PodMonitor: no selector.matchLabels");
  for (const [key, value] of Object.entries(selector)) {
    expect(podLabels[key] === value, `PodMonitor: selects ${key}=${value}, the proxy pods have ${podLabels[key]}`);
  }
  const endpoints = podMonitor.spec.podMetricsEndpoints || [];
  expect(endpoints.length > 0, "PodMonitor: no podMetricsEndpoints");
  for (const e of endpoints) {
    expect(ports.has(e.port), `PodMonitor: port ${e.port} is not a port of the proxy container (${[...ports.keys()].join(", ")})`);
    expect((e.path || "/metrics") === "/metrics", `PodMonitor: path ${e.path} is not /metrics`);
  }
  // The job label the rules assume.
  const jobs = new Set();
  for (const r of rules) for (const m of (r.expr || "").matchAll(/\bup\s*\{[^}]*\bjob\s*=\s*"([^"]*)"/g)) jobs.add(m[1]);
  expect(jobs.size === 1, `${rulesFile}: up{job="..."} selectors name ${jobs.size} jobs, want one`);
  const job = podLabels[podMonitor.spec.jobLabel];
  for (const want of jobs) {
    expect(job === want, `PodMonitor: jobLabel ${podMonitor.spec.jobLabel} gives job="${job}", the rules select up{job="${want}"}`);
  }
  // The annotations for annotation-based discovery name the same port.
  const annotations = template.metadata.annotations || {};
  if (annotations["prometheus.io/port"]) {
    expect(Number(annotations["prometheus.io/port"]) === ports.get("admin"),
      `Deployment: prometheus.io/port ${annotations["prometheus.io/port"]} is not the admin port ${ports.get("admin")}`);
  }
  return `PrometheusRule equals alerts.yaml; PodMonitor scrapes ${endpoints.map((e) => e.port).join(", ")} as job="${job}"`;
}

const [mode, ...args] = process.argv.slice(2);
let summary;
if (mode === "rules" && args.length >= 3) summary = checkRules(args[0], args[1], args.slice(2));
else if (mode === "operator" && args.length === 3) summary = checkOperator(...args);
else {
  console.error("usage: alert_rules.js rules RULES.json README.md TESTS.json... | operator RULES.json PROMETHEUSRULE.json RENDERED.json");
  process.exit(2);
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(summary);
