#!/usr/bin/env node
// Reads rendered Kubernetes manifests as JSON (a stream of objects, as
// `kubectl ... -o json` prints several) and checks what docs/contract.md §9,
// deploy/README.md and the proxy need of them, or writes out the files and
// variables a proxy pod would see, for `github-proxy check-config`.
//
//   node manifests.js check LABEL FEATURES RENDERED.json EXAMPLES.json
//   node manifests.js materialise RENDERED.json EXAMPLES.json ROOT
//   node manifests.js extract RENDERED.json CONFIGMAP_NAME_PREFIX KEY > FILE
//
// FEATURES says what the variant must be, comma-separated: `memory` or
// `redis` (the cache backend the pod runs with), `sentinel` (its Redis is a
// Sentinel group, components/redis-sentinel, rather than one Redis), `tls`,
// and the credential types its config lists (`pat`, `app`). EXAMPLES.json
// holds the objects of deploy/kubernetes/examples/: the Secrets and the
// registry ConfigMap that no render may contain but every pod needs.
//
// check exits 1 with one line per problem. materialise writes, under ROOT,
// every file the proxy container mounts (paths in the config and in the
// variables rewritten to ROOT/...), ROOT/pod.env with the container's
// variables resolved as the kubelet would (NAME=VALUE lines), and prints the
// path of the config file the container runs with.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

// `kubectl -o json` prints several objects one after another, not an array.
function parseStream(text) {
  const objects = [];
  let depth = 0, start = -1, inString = false, escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}") {
      if (--depth === 0) objects.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  const items = [];
  for (const o of objects) items.push(...(o.kind === "List" ? o.items : [o]));
  return items;
}

function load(file) {
  return parseStream(fs.readFileSync(file, "utf8"));
}

const problems = [];
function expect(condition, message) {
  if (!condition) problems.push(message);
  return Boolean(condition);
}

function find(objects, kind, name) {
  return objects.find((o) => o.kind === kind && o.metadata && o.metadata.name === name);
}

function configMapByPrefix(objects, prefix) {
  // kustomize appends `-<hash>` to generated names.
  return objects.filter(
    (o) => o.kind === "ConfigMap" && (o.metadata.name === prefix || o.metadata.name.startsWith(`${prefix}-`)),
  );
}

function matches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);
}

// A NetworkPolicy's podSelector (matchLabels only; matchExpressions are not
// used here and would be refused) against a pod's labels. `{}` selects all.
function selects(selector, labels) {
  if (!selector) return false;
  if (selector.matchExpressions) return false;
  return matches(selector.matchLabels, labels);
}

function secretValue(secret, key) {
  if (secret.stringData && key in secret.stringData) return secret.stringData[key];
  if (secret.data && key in secret.data) return Buffer.from(secret.data[key], "base64").toString("utf8");
  return undefined;
}

function secretKeys(secret) {
  return Object.keys({ ...(secret.data || {}), ...(secret.stringData || {}) });
}

// The value of a dotted key (`listen.port`, `cache.memory.max_bytes`) in a
// config file, found by indentation. Enough for the scalars checked here;
// the proxy's own check-config (check_deploy.sh config) validates the file.
function configValue(text, section, key) {
  const want = [section, ...key.split(".")];
  const stack = [];  // [indent, key] of the enclosing mappings
  for (const line of text.split("\n")) {
    const m = /^( *)([A-Za-z0-9_]+):\s*("[^"]*"|[^\s#]+)?/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    while (stack.length > 0 && stack[stack.length - 1][0] >= indent) stack.pop();
    stack.push([indent, m[2]]);
    if (stack.length === want.length && stack.every(([, k], i) => k === want[i])) {
      return m[3] === undefined ? undefined : m[3].replace(/^"|"$/g, "");
    }
  }
  return undefined;
}

function seconds(duration) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(duration || "");
  if (!m) return undefined;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

// Config sizes (256MiB, 64KiB, plain bytes) and Kubernetes quantities
// (768Mi, 1Gi, 500m CPU, "2") in bytes or cores.
function configBytes(size) {
  const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(size || "");
  if (!m) return undefined;
  return Number(m[1]) * { undefined: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2]];
}
function quantity(q) {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(q || ""));
  if (!m) return undefined;
  const unit = { undefined: 1, m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2]];
  return Number(m[1]) * unit;
}
// Redis' maxmemory: 512mb is MiB, 512m is 10^6 (redis.conf "Note on units").
function redisBytes(size) {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(size || "");
  if (!m) return undefined;
  const unit = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[(m[2] || "b").toLowerCase()];
  return Number(m[1]) * unit;
}

// The name GITHUB_PROXY_<SECTION>_<KEY> of a config key's override.
function overrideName(section, key) {
  return `GITHUB_PROXY_${section}_${key}`.toUpperCase().replace(/\./g, "_");
}

// What the proxy runs with: the variable of the Deployment when it sets one
// (before $(VAR) expansion), else the file's value.
function effective(container, configText, section, key) {
  const env = (container.env || []).find((e) => e.name === overrideName(section, key));
  if (env) return env.value;
  return configValue(configText, section, key);
}

function probe(container, kind) {
  return container[kind] && container[kind].httpGet;
}

function portNames(containers) {
  const byName = new Map();
  for (const c of containers) for (const p of c.ports || []) byName.set(p.name, p.containerPort);
  return byName;
}

// A port of a policy, a Service or a probe: declared by the containers, by
// name or by number; the number it means, or undefined.
function resolvePort(port, byName) {
  if (typeof port === "number") return [...byName.values()].includes(port) ? port : undefined;
  return byName.get(port);
}

function workloads(objects) {
  return objects
    .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
    .map((d) => ({ name: d.metadata.name, labels: d.spec.template.metadata.labels, containers: d.spec.template.spec.containers }));
}

// --- the proxy ------------------------------------------------------------

function checkProxy(objects, examples, features) {
  const deployment = find(objects, "Deployment", "github-proxy");
  if (!expect(deployment, "no Deployment github-proxy")) return undefined;
  const spec = deployment.spec;
  const pod = spec.template.spec;
  const podLabels = spec.template.metadata.labels;
  expect(matches(spec.selector.matchLabels, podLabels), "Deployment github-proxy: selector does not match its pod labels");
  expect(pod.enableServiceLinks === false,
    "Deployment github-proxy: enableServiceLinks must be false (a Service named github-proxy-<section> would inject GITHUB_PROXY_<SECTION>_PORT, read as a config override)");

  const container = pod.containers.find((c) => c.name === "github-proxy");
  if (!expect(container, "Deployment github-proxy: no container github-proxy")) return undefined;
  const argv = [...(container.command || []), ...(container.args || [])];
  const configFlag = argv.indexOf("--config");
  expect(argv[0] === "/usr/local/bin/github-proxy" && argv.includes("serve") && configFlag > 0,
    `container github-proxy: runs ${JSON.stringify(argv)}, want /usr/local/bin/github-proxy serve --config FILE`);
  const configPath = argv[configFlag + 1];

  const ports = portNames([container]);
  expect(ports.get("http") === 8080, "container github-proxy: port http must be 8080");
  expect(ports.get("admin") === 9090, "container github-proxy: port admin must be 9090");
  const liveness = probe(container, "livenessProbe");
  const readiness = probe(container, "readinessProbe");
  expect(liveness && liveness.path === "/healthz" && resolvePort(liveness.port, ports) === 9090,
    "container github-proxy: livenessProbe must GET /healthz on the admin port");
  expect(readiness && readiness.path === "/readyz" && resolvePort(readiness.port, ports) === 9090,
    "container github-proxy: readinessProbe must GET /readyz on the admin port");

  const podSecurity = pod.securityContext || {};
  const security = container.securityContext || {};
  expect(podSecurity.runAsNonRoot === true || security.runAsNonRoot === true, "github-proxy: runAsNonRoot must be true");
  expect((security.runAsUser ?? podSecurity.runAsUser) === 10001, "github-proxy: runAsUser must be 10001 (the image's user)");
  expect(security.readOnlyRootFilesystem === true, "container github-proxy: readOnlyRootFilesystem must be true");
  expect(security.allowPrivilegeEscalation === false, "container github-proxy: allowPrivilegeEscalation must be false");
  expect(security.capabilities && (security.capabilities.drop || []).includes("ALL"),
    "container github-proxy: capabilities must drop ALL");

  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  const mounts = container.volumeMounts || [];
  const mountAt = (p) => mounts.find((m) => m.mountPath === p);
  const mountOf = (file) => mounts.find((m) => file === m.mountPath || file.startsWith(`${m.mountPath}/`));
  const tmp = mountAt("/tmp");
  expect(tmp && volumes[tmp.name] && volumes[tmp.name].emptyDir, "container github-proxy: /tmp must be an emptyDir");

  // The config file named by --config comes from the generated ConfigMap.
  const configMaps = configMapByPrefix(objects, "github-proxy-config");
  if (!expect(configMaps.length === 1, `want one ConfigMap github-proxy-config(-hash), found ${configMaps.length}`)) return undefined;
  const configMap = configMaps[0];
  const configText = (configMap.data || {})["config.yaml"];
  if (!expect(configText, `ConfigMap ${configMap.metadata.name}: no config.yaml`)) return undefined;
  const configMount = configPath && mountOf(configPath);
  if (expect(configMount, `container github-proxy: nothing mounted at ${configPath}`)) {
    const volume = volumes[configMount.name];
    expect(volume && volume.configMap && volume.configMap.name === configMap.metadata.name,
      `container github-proxy: ${configPath} must come from ConfigMap ${configMap.metadata.name}`);
    const file = configMount.subPath || path.posix.relative(configMount.mountPath, configPath);
    expect(file === "config.yaml", `container github-proxy: ${configPath} is key ${file}, want config.yaml`);
  }

  // The registry (issue 18 item 1): owned by the registry repository's
  // pipeline, so no render may contain it (an apply would put the example
  // clients back); the pod mounts it by its stable name, as a whole
  // directory (a subPath mount never sees an update), and requires it.
  expect(!find(objects, "ConfigMap", "github-proxy-registry"),
    "the render contains ConfigMap github-proxy-registry: an apply would replace the live registry");
  const registryFile = configValue(configText, "registry", "file");
  if (expect(registryFile, "config.yaml: no registry.file")) {
    const dir = path.posix.dirname(registryFile);
    const mount = mountAt(dir);
    if (expect(mount, `container github-proxy: registry directory ${dir} is not a volume mount`)) {
      expect(!mount.subPath, "container github-proxy: the registry mount must not use subPath (no hot reload)");
      const volume = volumes[mount.name];
      const source = volume && volume.configMap;
      expect(source && source.name === "github-proxy-registry",
        `registry volume: ConfigMap ${source && source.name}, want github-proxy-registry (the name the pipeline applies)`);
      expect(source && source.optional !== true,
        "registry volume: must not be optional (a pod without a registry must not start)");
      expect(source && !source.items, "registry volume: no items: every key of the ConfigMap is a file");
      const example = find(examples, "ConfigMap", "github-proxy-registry");
      expect(example && (example.data || {})[path.posix.basename(registryFile)],
        `examples: ConfigMap github-proxy-registry has no key ${path.posix.basename(registryFile)}`);
    }
  }

  // Credentials: files of the Secret, mounted as a whole directory so that an
  // updated value reaches the pod and the proxy reloads it; never variables.
  const credentialSecret = find(examples, "Secret", "github-proxy-credentials");
  if (!expect(credentialSecret, "examples: no Secret github-proxy-credentials")) return undefined;
  expect(!/^\s+token_env:/m.test(configText),
    "config.yaml: a credential uses token_env; read secrets from files (token_file) so that they can rotate");
  for (const e of container.env || []) {
    const ref = e.valueFrom && e.valueFrom.secretKeyRef;
    expect(!ref || ref.name !== credentialSecret.metadata.name,
      `container github-proxy: variable ${e.name} comes from Secret ${ref && ref.name}: mount it as a file instead`);
  }
  for (const m of configText.matchAll(/^\s+(?:private_key_file|token_file):\s*(\S+)/gm)) {
    const file = m[1];
    const mount = mountOf(file);
    if (!expect(mount, `container github-proxy: nothing mounted for ${file}`)) continue;
    const volume = volumes[mount.name];
    const source = volume && volume.secret;
    const key = path.posix.relative(mount.mountPath, file);
    if (!expect(source && source.secretName === credentialSecret.metadata.name,
      `${file}: must come from Secret ${credentialSecret.metadata.name}`)) continue;
    expect(!mount.subPath, `${file}: the secrets mount must not use subPath (an updated Secret would never reach the pod)`);
    expect(!source.items, `${file}: the secrets volume must not filter with items: (mount the Secret as a directory)`);
    expect(source.optional !== true, `${file}: the secrets volume must not be optional`);
    expect(!key.includes("/") && secretKeys(credentialSecret).includes(key),
      `${file}: the example Secret ${credentialSecret.metadata.name} has no key ${key}`);
  }
  const types = new Set([...configText.matchAll(/^\s+type:\s*(\S+)/gm)].map((m) => ({ token: "pat", app: "app" })[m[1]] || m[1]));
  const wantTypes = ["pat", "app"].filter((t) => features.has(t));
  expect([...types].sort().join(",") === wantTypes.sort().join(","),
    `config.yaml: credentials of types ${[...types].join(",") || "none"}, want ${wantTypes.join(",")}`);

  // Shutdown: SIGTERM comes after the preStop hook, and both must fit in the
  // grace period with the proxy's own drain time, which must let an exchange
  // with GitHub begun just before SIGTERM finish.
  const shutdown = seconds(effective(container, configText, "listen", "shutdown_timeout") || "25s");
  const requestTimeout = seconds(effective(container, configText, "upstream", "request_timeout") || "30s");
  const preStop = container.lifecycle && container.lifecycle.preStop;
  let sleep = 0;
  if (preStop && preStop.sleep) sleep = preStop.sleep.seconds;
  else if (preStop && preStop.exec) sleep = Number((preStop.exec.command || []).slice(-1)[0]) || 0;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  expect(grace > shutdown + sleep,
    `terminationGracePeriodSeconds ${grace} must exceed preStop ${sleep}s + listen.shutdown_timeout ${shutdown}s`);
  expect(shutdown >= requestTimeout,
    `listen.shutdown_timeout ${shutdown}s is below upstream.request_timeout ${requestTimeout}s: a request in flight at SIGTERM may be cut`);

  // Resources: memory requested = limit; the worst case fits in it; threads
  // match the CPU limit (0 would be one per core of the node).
  const resources = container.resources || {};
  for (const kind of ["requests", "limits"]) {
    for (const r of ["cpu", "memory"]) {
      expect(resources[kind] && resources[kind][r], `container github-proxy: no resources.${kind}.${r}`);
    }
  }
  const memoryLimit = quantity(resources.limits && resources.limits.memory);
  expect(memoryLimit && quantity(resources.requests && resources.requests.memory) === memoryLimit,
    "container github-proxy: memory request must equal the limit");
  const threads = Number(effective(container, configText, "listen", "threads"));
  expect(threads > 0 && threads === quantity(resources.limits && resources.limits.cpu),
    `listen.threads ${threads} must equal the CPU limit ${resources.limits && resources.limits.cpu}`);
  const maxConnections = Number(effective(container, configText, "listen", "max_connections"));
  expect(maxConnections > 0, "listen.max_connections must be set for the pod (the default, 10000, does not fit its memory)");
  const backend = effective(container, configText, "cache", "backend") || "memory";
  // The body budget is at least 256MiB (server/body_budget.h); each
  // connection may hold max_header_bytes.
  const cacheBytes = backend === "memory" ? configBytes(effective(container, configText, "cache", "memory.max_bytes") || "256MiB") : 0;
  const headerBytes = configBytes(effective(container, configText, "listen", "max_header_bytes") || "64KiB");
  const bodyBytes = Math.max(256 * 1024 ** 2,
    4 * threads * configBytes(effective(container, configText, "listen", "max_body_bytes") || "32MiB"));
  // The front tier holds decoded entries in front of either backend; the
  // allocator keeps up to 16MiB free per arena (src/main.cc), ~4 arenas.
  const frontBytes = configBytes(effective(container, configText, "cache", "front_tier_bytes") || "64MiB");
  const allocatorBytes = 64 * 1024 ** 2;
  // Each connection may hold max_header_bytes of request and keeps up to
  // 20KiB of write buffers (server/session_impl.h).
  const worst = cacheBytes + bodyBytes + maxConnections * (headerBytes + 20 * 1024) + frontBytes + allocatorBytes;
  expect(memoryLimit && worst + 64 * 1024 ** 2 <= memoryLimit,
    `memory limit ${resources.limits && resources.limits.memory}: cache ${cacheBytes / 2 ** 20}MiB + bodies ${bodyBytes / 2 ** 20}MiB + ${maxConnections} connections x ${headerBytes / 1024 + 20}KiB + front tier ${frontBytes / 2 ** 20}MiB + allocator 64MiB + 64MiB for the process do not fit`);

  expect(features.has(backend), `cache backend ${backend}, want ${features.has("redis") ? "redis" : "memory"}`);

  // The admin port (/metrics names every client and credential) is on no
  // Service that selects the proxy pods: every CI job may reach a Service.
  for (const service of objects.filter((o) => o.kind === "Service")) {
    if (!matches(service.spec.selector, podLabels) || !service.spec.selector) continue;
    for (const p of service.spec.ports) {
      const target = resolvePort(p.targetPort ?? p.port, ports);
      expect(target !== undefined, `Service ${service.metadata.name}: targetPort ${p.targetPort} is not a container port`);
      expect(target !== ports.get("admin"), `Service ${service.metadata.name}: publishes the admin port ${p.targetPort}`);
    }
  }
  const service = find(objects, "Service", "github-proxy");
  if (expect(service, "no Service github-proxy")) {
    expect(matches(service.spec.selector, podLabels), "Service github-proxy: selector does not match the proxy pods");
    const want = features.has("tls") ? 443 : 80;
    expect(service.spec.ports.length === 1 && service.spec.ports[0].port === want &&
      resolvePort(service.spec.ports[0].targetPort, ports) === 8080,
      `Service github-proxy: want one port ${want} to the container's http port`);
  }
  const pdb = find(objects, "PodDisruptionBudget", "github-proxy");
  if (expect(pdb, "no PodDisruptionBudget github-proxy")) {
    expect(matches(pdb.spec.selector.matchLabels, podLabels), "PodDisruptionBudget: selector does not match the proxy pods");
    expect(pdb.spec.unhealthyPodEvictionPolicy === "AlwaysAllow",
      "PodDisruptionBudget: unhealthyPodEvictionPolicy must be AlwaysAllow (an unready pod must not block node drains)");
  }

  // Replicas: with the memory backend the cache, the budgets and the
  // concurrency cap are per pod, so one pod and no HPA; with Redis an HPA
  // owns the count and the Deployment must not set one (an apply would reset
  // the HPA's choice).
  const hpas = objects.filter((o) => o.kind === "HorizontalPodAutoscaler");
  for (const hpa of hpas) {
    const target = hpa.spec.scaleTargetRef;
    const scaled = target.kind === "Deployment" && find(objects, "Deployment", target.name);
    if (!expect(scaled, `HorizontalPodAutoscaler ${hpa.metadata.name}: targets ${target.kind} ${target.name}, not in the render`)) continue;
    expect(scaled.spec.replicas === undefined,
      `Deployment ${target.name}: sets replicas ${scaled.spec.replicas} while HorizontalPodAutoscaler ${hpa.metadata.name} owns the count`);
    expect(hpa.apiVersion === "autoscaling/v2", `HorizontalPodAutoscaler: apiVersion ${hpa.apiVersion}, want autoscaling/v2`);
    expect(hpa.spec.minReplicas >= 2, "HorizontalPodAutoscaler: minReplicas must be at least 2");
  }
  const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === "github-proxy");
  if (backend === "memory") {
    expect(!hpa, "memory backend: no HorizontalPodAutoscaler (each pod would have its own cache, budgets and concurrency cap)");
    expect(spec.replicas === 1, `memory backend: replicas ${spec.replicas}, want 1`);
  } else {
    expect(hpa, `cache backend ${backend}: want a HorizontalPodAutoscaler for Deployment github-proxy`);
  }

  return { deployment, container, configText, podLabels, ports, backend };
}

// --- NetworkPolicies ---------------------------------------------------------

function checkNetworkPolicies(objects, proxy, redis) {
  const policies = objects.filter((o) => o.kind === "NetworkPolicy");
  const deployments = workloads(objects);
  for (const policy of policies) {
    const selected = deployments.filter((d) => selects(policy.spec.podSelector, d.labels));
    expect(selected.length > 0, `NetworkPolicy ${policy.metadata.name}: selects no pod of the render`);
    // Named ports of an ingress rule are the selected pods' own ports.
    for (const rule of policy.spec.ingress || []) {
      expect((rule.from || []).length > 0 && (rule.ports || []).length > 0,
        `NetworkPolicy ${policy.metadata.name}: an ingress rule without from: or ports: admits everyone or every port`);
      for (const p of rule.ports || []) {
        expect(selected.every((d) => resolvePort(p.port, portNames(d.containers)) !== undefined),
          `NetworkPolicy ${policy.metadata.name}: ingress port ${p.port} is not declared by the pods it selects`);
      }
    }
    for (const rule of policy.spec.egress || []) {
      expect((rule.to || []).length > 0 && (rule.ports || []).length > 0,
        `NetworkPolicy ${policy.metadata.name}: an egress rule without to: or ports: allows everything`);
    }
  }

  const mine = policies.filter((p) => selects(p.spec.podSelector, proxy.podLabels));
  const types = new Set(mine.flatMap((p) => p.spec.policyTypes || []));
  expect(types.has("Ingress") && types.has("Egress"),
    "the proxy pods need a NetworkPolicy with policyTypes Ingress and Egress");
  const ingress = mine.flatMap((p) => p.spec.ingress || []);
  const egress = mine.flatMap((p) => p.spec.egress || []);
  const allows = (rule, port) => (rule.ports || []).some((p) => resolvePort(p.port, proxy.ports) === port);
  const fromNamespace = (rule, key, value) => (rule.from || []).length > 0 && rule.from.every((f) =>
    !f.ipBlock && !f.podSelector && f.namespaceSelector && matches({ [key]: value }, f.namespaceSelector.matchLabels));
  const http = proxy.ports.get("http"), admin = proxy.ports.get("admin");
  expect(ingress.some((r) => allows(r, http) && fromNamespace(r, "github-proxy.io/client", "true")),
    "NetworkPolicy: port http must admit namespaces labelled github-proxy.io/client=true");
  const adminRules = ingress.filter((r) => allows(r, admin));
  expect(adminRules.length > 0 && adminRules.every((r) => fromNamespace(r, "kubernetes.io/metadata.name", "monitoring")),
    "NetworkPolicy: port admin must admit the monitoring namespace only");
  const to443 = egress.filter((r) => (r.ports || []).some((p) => p.port === 443));
  const privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];
  expect(to443.length > 0 && to443.every((r) => r.to.every((t) => t.ipBlock &&
    (!t.ipBlock.cidr.includes(".") || privateRanges.every((c) => (t.ipBlock.except || []).includes(c))))),
    `NetworkPolicy: egress 443 (GitHub) must go to public addresses only (0.0.0.0/0 except ${privateRanges.join(", ")})`);
  for (const protocol of ["UDP", "TCP"]) {
    expect(egress.some((r) => (r.ports || []).some((p) => p.port === 53 && p.protocol === protocol) &&
      r.to.every((t) => t.namespaceSelector && matches({ "kubernetes.io/metadata.name": "kube-system" }, t.namespaceSelector.matchLabels) &&
        t.podSelector && matches({ "k8s-app": "kube-dns" }, t.podSelector.matchLabels))),
      `NetworkPolicy: egress to kube-dns on ${protocol} 53 is missing`);
  }
  const toRedisPods = (r) => redis && r.to.every((t) => t.podSelector && !t.namespaceSelector && selects(t.podSelector, redis.labels));
  for (const r of egress) {
    for (const p of r.ports || []) {
      expect([53, 443].includes(p.port) || toRedisPods(r),
        `NetworkPolicy: the proxy may connect to port ${p.port} of ${JSON.stringify(r.to)}; only DNS, GitHub and Redis`);
      if (toRedisPods(r)) {
        expect(redis.servicePorts.includes(resolvePort(p.port, redis.ports)),
          `NetworkPolicy: egress to Redis on port ${p.port}, which is not a port the proxy uses (${redis.servicePorts.join(", ")})`);
      }
    }
  }
  if (redis) {
    // Every port the proxy uses: Redis', and with Sentinel the sentinels'.
    for (const port of redis.servicePorts) {
      expect(egress.some((r) => toRedisPods(r) && (r.ports || []).some((p) => resolvePort(p.port, redis.ports) === port)),
        `NetworkPolicy: the proxy pods may not connect to the Redis pods on port ${port}`);
    }
    const redisPolicies = policies.filter((p) => selects(p.spec.podSelector, redis.labels));
    const redisIngress = redisPolicies.flatMap((p) => p.spec.ingress || []);
    // The proxy pods, and in a Sentinel group the group's own pods
    // (replication, sentinels): nobody else, from no other namespace.
    const admitted = (f) => f.podSelector && !f.namespaceSelector && Object.keys(f.podSelector.matchLabels || {}).length > 0 &&
      (selects(f.podSelector, proxy.podLabels) || (redis.group && selects(f.podSelector, redis.labels)));
    expect(redisPolicies.some((p) => (p.spec.policyTypes || []).includes("Ingress")) && redisIngress.length > 0 &&
      redisIngress.every((r) => r.from.every(admitted)),
    redis.group ? "NetworkPolicy: only the proxy pods and the group's own pods may connect to Redis"
      : "NetworkPolicy: only the proxy pods may connect to Redis");
    const redisEgress = redisPolicies.flatMap((p) => p.spec.egress || []);
    expect(redisPolicies.some((p) => (p.spec.policyTypes || []).includes("Egress")),
      "NetworkPolicy: the Redis pods need policyTypes Egress (they connect nowhere else)");
    if (redis.group) {
      // Replicas to the master, sentinels to every Redis and to each other,
      // and DNS for the names they announce: nothing else.
      expect(redisEgress.every((r) => isKubeDns(r) || (toRedisPods(r) &&
        (r.ports || []).length > 0 && r.ports.every((p) => redis.servicePorts.includes(resolvePort(p.port, redis.ports))))),
      "NetworkPolicy: a Sentinel group may connect only to its own pods (Redis' and the sentinels' ports) and to kube-dns");
      for (const port of redis.servicePorts) {
        expect(redisEgress.some((r) => toRedisPods(r) && r.ports.some((p) => resolvePort(p.port, redis.ports) === port)),
          `NetworkPolicy: the Sentinel group's pods may not connect to each other on port ${port}`);
      }
      expect(redisEgress.some(isKubeDns), "NetworkPolicy: the Sentinel group's pods need DNS (they announce names)");
    } else {
      expect(redisEgress.length === 0, "NetworkPolicy: Redis needs no egress (policyTypes Egress with no rule)");
    }
  }
}

// An egress rule to kube-dns on port 53 only.
function isKubeDns(rule) {
  return (rule.to || []).length > 0 && rule.to.every((t) => t.namespaceSelector &&
    matches({ "kubernetes.io/metadata.name": "kube-system" }, t.namespaceSelector.matchLabels) &&
    t.podSelector && matches({ "k8s-app": "kube-dns" }, t.podSelector.matchLabels)) &&
    (rule.ports || []).length > 0 && rule.ports.every((p) => p.port === 53);
}

// --- Redis -----------------------------------------------------------------

// The $(VAR) references of a value, as the kubelet expands them.
function references(value) {
  return [...String(value).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]);
}

// A variable of the container set from a Secret key, defined before `index`
// (the kubelet expands $(VAR) only from earlier entries).
function secretRef(container, name, index = Infinity) {
  const env = container.env || [];
  const at = env.findIndex((e) => e.name === name);
  if (at < 0 || at >= index) return undefined;
  return env[at].valueFrom && env[at].valueFrom.secretKeyRef;
}

// A redis-server container as a cache: the image, non-root, read-only,
// memory requested = limit, protected mode, maxmemory within the limit,
// LRU, and --requirepass from a Secret key. Returns that key's reference
// and the argv lookup.
function checkRedisServer(label, pod, container) {
  expect(/^redis:7/.test(container.image), `${label} image ${container.image}, want redis:7...`);
  const argv = [...(container.command || []), ...(container.args || [])];
  const arg = (flag) => { const i = argv.indexOf(flag); return i >= 0 ? argv[i + 1] : undefined; };
  const limit = checkRedisContainer(label, pod, container);
  expect(arg("--protected-mode") === "yes",
    `${label}: --protected-mode ${arg("--protected-mode")}, want yes (the image's build default is no)`);
  const maxmemory = redisBytes(arg("--maxmemory"));
  expect(maxmemory && limit && maxmemory <= 0.75 * limit,
    `${label}: --maxmemory ${arg("--maxmemory")} must be at most 3/4 of the memory limit ${container.resources && container.resources.limits && container.resources.limits.memory}`);
  expect(arg("--maxmemory-policy") === "allkeys-lru", `${label}: --maxmemory-policy ${arg("--maxmemory-policy")}, want allkeys-lru`);
  const passwordRefs = references(arg("--requirepass") || "");
  const ref = passwordRefs.length === 1 && arg("--requirepass") === `$(${passwordRefs[0]})` &&
    secretRef(container, passwordRefs[0]);
  expect(ref, `${label}: --requirepass must be $(VAR) with VAR set from a Secret key`);
  return { ref, arg };
}

// What every container of the Redis pods needs: non-root, no privilege
// escalation, a read-only root, no service account token, memory requested
// = limit. Returns the memory limit in bytes.
function checkRedisContainer(label, pod, container) {
  const security = container.securityContext || {};
  expect((pod.securityContext || {}).runAsNonRoot === true || security.runAsNonRoot === true, `${label}: runAsNonRoot must be true`);
  expect(security.allowPrivilegeEscalation === false && security.readOnlyRootFilesystem === true,
    `${label}: needs allowPrivilegeEscalation false and readOnlyRootFilesystem true`);
  expect(pod.automountServiceAccountToken === false, `${label}: automountServiceAccountToken must be false`);
  const resources = container.resources || {};
  const limit = quantity(resources.limits && resources.limits.memory);
  expect(limit && quantity(resources.requests && resources.requests.memory) === limit, `${label}: memory request must equal the limit`);
  expect(resources.requests && resources.requests.cpu && resources.limits && resources.limits.cpu,
    `${label}: needs resources.requests.cpu and resources.limits.cpu`);
  return limit;
}

// The proxy's GITHUB_PROXY_CACHE_REDIS_URL: its value, and the Secret key
// its $(VAR) password comes from (a variable defined before it), which must
// be the one Redis requires and URL-safe in the example Secret.
function checkProxyPassword(examples, proxy, pattern, want, redisRef) {
  const proxyEnv = proxy.container.env || [];
  const urlIndex = proxyEnv.findIndex((e) => e.name === "GITHUB_PROXY_CACHE_REDIS_URL");
  const url = urlIndex >= 0 ? proxyEnv[urlIndex].value : undefined;
  const m = pattern.exec(url || "");
  const proxyRef = m && secretRef(proxy.container, m[1], urlIndex);
  expect(proxyRef, `GITHUB_PROXY_CACHE_REDIS_URL ${url}: want ${want} with VAR set from a Secret key before it`);
  if (redisRef && proxyRef) {
    expect(redisRef.name === proxyRef.name && redisRef.key === proxyRef.key,
      `the proxy's Redis password (Secret ${proxyRef.name} key ${proxyRef.key}) is not the one Redis requires (Secret ${redisRef.name} key ${redisRef.key})`);
    const secret = find(examples, "Secret", redisRef.name);
    const password = secret && secretValue(secret, redisRef.key);
    expect(password && /^[A-Za-z0-9._~-]+$/.test(password),
      `examples: Secret ${redisRef.name} key ${redisRef.key} missing or not URL-safe (it goes into the URL unescaped)`);
  }
  const fileUrl = configValue(proxy.configText, "cache", "redis.url");
  expect(!fileUrl || !fileUrl.includes("@"), "config.yaml: cache.redis.url has a password in the ConfigMap");
  return m;
}

// components/redis: one Redis, a Deployment behind a Service.
function checkRedis(objects, examples, proxy) {
  const deployment = find(objects, "Deployment", "github-proxy-redis");
  const service = find(objects, "Service", "github-proxy-redis");
  if (!expect(deployment, "no Deployment github-proxy-redis") || !expect(service, "no Service github-proxy-redis")) return undefined;
  const pod = deployment.spec.template.spec;
  const labels = deployment.spec.template.metadata.labels;
  expect(matches(service.spec.selector, labels), "Service github-proxy-redis: selector does not match the redis pods");
  expect(!matches(proxy.podLabels, labels), "the redis pods must not match the proxy's selectors (PDB, Service, HPA)");
  const container = pod.containers[0];
  const ports = portNames([container]);
  // The password: one Secret key that Redis requires and the proxy's URL carries.
  const { ref: redisRef } = checkRedisServer("redis", pod, container);
  const m = checkProxyPassword(examples, proxy, /^redis:\/\/:\$\(([A-Za-z_][A-Za-z0-9_]*)\)@([^:/]+):(\d+)\/(\d+)$/,
    "redis://:$(VAR)@HOST:PORT/DB", redisRef);
  if (m) {
    const port = service.spec.ports.find((p) => p.port === Number(m[3]));
    expect(m[2] === service.metadata.name && port && resolvePort(port.targetPort, ports) === 6379,
      `GITHUB_PROXY_CACHE_REDIS_URL: ${m[2]}:${m[3]} is not Service github-proxy-redis's port to Redis`);
  }

  const pdb = objects.find((o) => o.kind === "PodDisruptionBudget" && matches(o.spec.selector.matchLabels, labels));
  expect(pdb, "no PodDisruptionBudget for the redis pods");
  return { labels, ports, servicePorts: [6379], group: false };
}

// A container's variable: its literal value (undefined for a reference).
function envValue(container, name) {
  const e = (container.env || []).find((v) => v.name === name);
  return e && "value" in e ? e.value : undefined;
}

// components/redis-sentinel: a StatefulSet whose pods each run redis-server
// and a sentinel, a headless Service naming them, and the proxy asking the
// sentinels (redis-sentinel://) where the master is.
function checkRedisSentinel(objects, examples, proxy) {
  const set = find(objects, "StatefulSet", "github-proxy-redis");
  const service = find(objects, "Service", "github-proxy-redis");
  if (!expect(set, "no StatefulSet github-proxy-redis") || !expect(service, "no Service github-proxy-redis")) return undefined;
  expect(!find(objects, "Deployment", "github-proxy-redis"), "both a Redis Deployment and a Sentinel group: include components/redis or components/redis-sentinel, not both");
  const pod = set.spec.template.spec;
  const labels = set.spec.template.metadata.labels;
  const replicas = set.spec.replicas;
  expect(matches(set.spec.selector.matchLabels, labels), "StatefulSet github-proxy-redis: selector does not match its pod labels");
  expect(!matches(proxy.podLabels, labels), "the redis pods must not match the proxy's selectors (PDB, Service, HPA)");
  expect(Number.isInteger(replicas) && replicas >= 3 && replicas % 2 === 1,
    `StatefulSet github-proxy-redis: replicas ${replicas}, want an odd number, at least 3 (a majority of sentinels must survive one pod)`);
  // The pods' stable names come from a headless Service that publishes them
  // before they are ready (a starting sentinel must resolve the master).
  expect(set.spec.serviceName === service.metadata.name, `StatefulSet github-proxy-redis: serviceName ${set.spec.serviceName}, want ${service.metadata.name}`);
  expect(service.spec.clusterIP === "None" && service.spec.publishNotReadyAddresses === true,
    "Service github-proxy-redis: want a headless Service (clusterIP None) with publishNotReadyAddresses");
  expect(matches(service.spec.selector, labels), "Service github-proxy-redis: selector does not match the redis pods");
  expect(pod.enableServiceLinks === false, "redis pods: enableServiceLinks must be false");

  const redis = pod.containers.find((c) => c.name === "redis");
  const sentinel = pod.containers.find((c) => c.name === "sentinel");
  if (!expect(redis && sentinel, "StatefulSet github-proxy-redis: want containers redis and sentinel")) return undefined;
  const ports = portNames(pod.containers);
  expect(ports.get("redis") === 6379 && ports.get("sentinel") === 26379,
    "StatefulSet github-proxy-redis: want ports redis (6379) and sentinel (26379), which the scripts and the URL use");
  for (const p of service.spec.ports) {
    expect(resolvePort(p.targetPort ?? p.port, ports) === p.port,
      `Service github-proxy-redis: port ${p.port} must reach the same container port (the pods' names are used with it)`);
  }

  const { ref: redisRef, arg } = checkRedisServer("redis", pod, redis);
  expect(redisRef && arg("--masterauth") === arg("--requirepass"),
    `redis: --masterauth ${arg("--masterauth")} must be --requirepass's $(VAR): a replica authenticates to the master with it`);
  checkRedisContainer("sentinel", pod, sentinel);
  expect(/^redis:7/.test(sentinel.image) && sentinel.image === redis.image,
    `sentinel image ${sentinel.image}, want the redis container's ${redis.image}`);
  for (const c of [redis, sentinel]) {
    expect(c.livenessProbe && c.readinessProbe, `container ${c.name}: needs a livenessProbe and a readinessProbe`);
  }

  // Each container's settings: the same Secret key, the same group and
  // master name; each pod announces its own stable name.
  const serviceName = service.metadata.name;
  const wantHosts = Array.from({ length: replicas || 0 }, (_, i) => `${set.metadata.name}-${i}.${serviceName}`);
  for (const c of [redis, sentinel]) {
    for (const name of ["REDIS_PASSWORD", "REDISCLI_AUTH"]) {
      const ref = secretRef(c, name);
      expect(ref && redisRef && ref.name === redisRef.name && ref.key === redisRef.key,
        `container ${c.name}: ${name} must come from the Secret key Redis requires`);
    }
    const podName = (c.env || []).find((e) => e.name === "POD_NAME");
    expect(podName && podName.valueFrom && podName.valueFrom.fieldRef && podName.valueFrom.fieldRef.fieldPath === "metadata.name",
      `container ${c.name}: POD_NAME must be the pod's name (fieldRef metadata.name)`);
    const podNameAt = (c.env || []).indexOf(podName);
    const announceAt = (c.env || []).findIndex((e) => e.name === "ANNOUNCE_HOST");
    expect(envValue(c, "ANNOUNCE_HOST") === `$(POD_NAME).${serviceName}` && announceAt > podNameAt,
      `container ${c.name}: ANNOUNCE_HOST ${envValue(c, "ANNOUNCE_HOST")}, want $(POD_NAME).${serviceName} after POD_NAME (the pod's stable name)`);
    const hosts = (envValue(c, "GROUP_HOSTS") || "").split(/\s+/).filter(Boolean);
    expect(hosts.join(" ") === wantHosts.join(" "),
      `container ${c.name}: GROUP_HOSTS ${hosts.join(" ")}, want every pod's name, pod 0 first: ${wantHosts.join(" ")}`);
  }
  const masterName = envValue(sentinel, "MASTER_NAME");
  expect(masterName && envValue(redis, "MASTER_NAME") === masterName,
    `MASTER_NAME: the redis container's ${envValue(redis, "MASTER_NAME")} and the sentinel's ${masterName} differ`);
  const quorum = Number(envValue(sentinel, "SENTINEL_QUORUM"));
  expect(quorum > replicas / 2 && quorum <= replicas,
    `SENTINEL_QUORUM ${envValue(sentinel, "SENTINEL_QUORUM")}: want a majority of the ${replicas} sentinels`);
  for (const name of ["SENTINEL_DOWN_AFTER_MS", "SENTINEL_FAILOVER_TIMEOUT_MS"]) {
    expect(/^[1-9][0-9]*$/.test(envValue(sentinel, name) || ""), `container sentinel: ${name} must be a number of milliseconds`);
  }

  // Every script a container runs (/scripts/NAME in its command, probes and
  // hooks) is a key of the ConfigMap mounted there.
  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  for (const c of pod.containers) {
    const words = [c.command, c.args, ...["livenessProbe", "readinessProbe", "startupProbe"].map((k) => c[k] && c[k].exec && c[k].exec.command),
      c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.exec && c.lifecycle.preStop.exec.command].flat().filter(Boolean);
    for (const mount of c.volumeMounts || []) {
      const map = volumes[mount.name] && volumes[mount.name].configMap;
      if (!map) continue;
      const data = (find(objects, "ConfigMap", map.name) || {}).data;
      if (!expect(data, `container ${c.name}: ConfigMap ${map.name} (${mount.mountPath}) is not in the render`)) continue;
      for (const w of words) {
        for (const m of String(w).matchAll(new RegExp(`${mount.mountPath}/([\\w.-]+)`, "g"))) {
          expect(m[1] in data, `container ${c.name}: runs ${mount.mountPath}/${m[1]}, which ConfigMap ${map.name} does not have`);
        }
      }
    }
  }

  // The proxy asks every sentinel, by its pod's name and the sentinels'
  // port, for the master the sentinels monitor.
  const m = checkProxyPassword(examples, proxy,
    /^redis-sentinel:\/\/:\$\(([A-Za-z_][A-Za-z0-9_]*)\)@([^/]+)\/([^/]+)\/(\d+)$/,
    "redis-sentinel://:$(VAR)@HOST:PORT,.../MASTER/DB", redisRef);
  if (m) {
    const sentinels = m[2].split(",");
    expect(sentinels.join(",") === wantHosts.map((h) => `${h}:${ports.get("sentinel")}`).join(","),
      `GITHUB_PROXY_CACHE_REDIS_URL: sentinels ${m[2]}, want every pod's name with the sentinels' port: ${wantHosts.map((h) => `${h}:${ports.get("sentinel")}`).join(",")}`);
    expect(m[3] === masterName, `GITHUB_PROXY_CACHE_REDIS_URL: master ${m[3]}, but the sentinels monitor ${masterName}`);
  }

  // Drains take one pod at a time: a quorum of sentinels and a replica to
  // promote remain.
  const pdb = objects.find((o) => o.kind === "PodDisruptionBudget" && matches(o.spec.selector.matchLabels, labels));
  if (expect(pdb, "no PodDisruptionBudget for the redis pods")) {
    expect(pdb.spec.maxUnavailable === 1, `PodDisruptionBudget ${pdb.metadata.name}: maxUnavailable ${pdb.spec.maxUnavailable}, want 1`);
  }
  return { labels, ports, servicePorts: [6379, 26379], group: true };
}

// --- TLS ------------------------------------------------------------------

function checkTls(objects, proxy) {
  const certificate = objects.find((o) => o.kind === "Certificate");
  if (!expect(certificate, "tls: no cert-manager Certificate")) return;
  expect(certificate.apiVersion === "cert-manager.io/v1", `Certificate: apiVersion ${certificate.apiVersion}`);
  const secretName = certificate.spec.secretName;
  const volumes = proxy.deployment.spec.template.spec.volumes || [];
  const volume = volumes.find((v) => v.secret && v.secret.secretName === secretName);
  const mount = volume && (proxy.container.volumeMounts || []).find((mm) => mm.name === volume.name);
  if (!expect(mount, `tls: Secret ${secretName} is not mounted in the proxy`)) return;
  expect(!mount.subPath && !volume.secret.items, "tls: mount the certificate's Secret as a directory (renewals replace its files)");
  const cert = effective(proxy.container, proxy.configText, "listen", "tls.cert_file");
  const key = effective(proxy.container, proxy.configText, "listen", "tls.key_file");
  expect(cert === `${mount.mountPath}/tls.crt` && key === `${mount.mountPath}/tls.key`,
    `tls: listen.tls.cert_file ${cert} / key_file ${key}, want ${mount.mountPath}/tls.crt and tls.key`);
  expect((certificate.spec.dnsNames || []).includes("github-proxy"), "Certificate: dnsNames must include the Service name");
}

function check(label, featureList, renderedFile, examplesFile) {
  const features = new Set(featureList.split(","));
  const objects = load(renderedFile);
  const examples = load(examplesFile);
  for (const o of objects) {
    expect(o.kind !== "Secret", `renders Secret ${o.metadata.name}: an apply would overwrite the real one`);
  }
  const proxy = checkProxy(objects, examples, features);
  if (proxy) {
    const redis = features.has("sentinel") ? checkRedisSentinel(objects, examples, proxy)
      : features.has("redis") ? checkRedis(objects, examples, proxy) : undefined;
    if (!features.has("redis")) expect(!find(objects, "Deployment", "github-proxy-redis"), "Redis in a variant without it");
    if (!features.has("sentinel")) expect(!find(objects, "StatefulSet", "github-proxy-redis"), "a Sentinel group in a variant without it");
    checkNetworkPolicies(objects, proxy, redis);
    if (features.has("tls")) checkTls(objects, proxy);
    else expect(!objects.some((o) => o.kind === "Certificate"), "a Certificate in a variant without tls");
  }
  if (problems.length > 0) console.error(`${label}:`);
  else console.log(`${label}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(" ")}`);
}

// --- the files of a pod ------------------------------------------------------

// Kubernetes' $(VAR) expansion: earlier variables only; $$ is a literal $.
function expand(value, vars) {
  return String(value).replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
    (all, name) => (all === "$$" ? "$" : name in vars ? vars[name] : all));
}

function placeholderPem(key) {
  // A real key: check-config only checks that the file is readable today,
  // but the pod would have a real one.
  return crypto.generateKeyPairSync("rsa", { modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" } }).privateKey;
}

function materialise(renderedFile, examplesFile, root) {
  const objects = load(renderedFile);
  const examples = load(examplesFile);
  const deployment = find(objects, "Deployment", "github-proxy");
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "github-proxy");
  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  const mounts = container.volumeMounts || [];
  // Every mount path, longest first, becomes ROOT/<path> in file contents
  // and variables.
  const prefixes = mounts.map((m) => m.mountPath).sort((a, b) => b.length - a.length);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const rooted = (text) => prefixes.length === 0 ? text : text.replace(
    new RegExp(`(?<![\\w/.-])(?:${prefixes.map(escape).join("|")})(?=/|\\b|$)`, "g"), (p) => path.join(root, p));
  const certificateSecrets = objects.filter((o) => o.kind === "Certificate").map((c) => c.spec.secretName);

  const secretData = (name) => {
    const secret = find(examples, "Secret", name);
    if (secret) {
      return Object.fromEntries(secretKeys(secret).map((k) => {
        const v = secretValue(secret, k);
        return [k, k.endsWith(".pem") && v.includes("REPLACE") ? placeholderPem(k) : v];
      }));
    }
    if (certificateSecrets.includes(name)) {
      // What cert-manager writes; check-config only reads the files.
      return { "tls.crt": "-----BEGIN CERTIFICATE-----\n(issued by cert-manager)\n-----END CERTIFICATE-----\n",
        "tls.key": "-----BEGIN EC PRIVATE KEY-----\n(issued by cert-manager)\n-----END EC PRIVATE KEY-----\n" };
    }
    throw new Error(`Secret ${name}: not in the examples and not issued by a Certificate of the render`);
  };
  const configMapData = (name) => {
    const map = find(objects, "ConfigMap", name) || find(examples, "ConfigMap", name);
    if (!map) throw new Error(`ConfigMap ${name}: not in the render nor in the examples`);
    return Object.fromEntries(Object.entries(map.data || {}).map(([k, v]) => [k, rooted(v)]));
  };

  for (const m of mounts) {
    const volume = volumes[m.name];
    const target = path.join(root, m.mountPath);
    let data;
    if (volume.emptyDir) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    } else if (volume.secret) {
      data = secretData(volume.secret.secretName);
    } else if (volume.configMap) {
      data = configMapData(volume.configMap.name);
    } else {
      throw new Error(`volume ${m.name}: not an emptyDir, Secret or ConfigMap`);
    }
    const items = (volume.secret || volume.configMap).items;
    const files = items ? items.map((i) => [i.path, data[i.key]]) : Object.entries(data);
    if (m.subPath) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, Object.fromEntries(files)[m.subPath]);
    } else {
      for (const [file, content] of files) {
        fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
        fs.writeFileSync(path.join(target, file), content);
      }
    }
  }

  const vars = {};
  for (const e of container.env || []) {
    let value;
    if ("value" in e) value = expand(e.value, vars);
    else if (e.valueFrom && e.valueFrom.secretKeyRef) value = secretData(e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key];
    else if (e.valueFrom && e.valueFrom.configMapKeyRef) value = configMapData(e.valueFrom.configMapKeyRef.name)[e.valueFrom.configMapKeyRef.key];
    else throw new Error(`variable ${e.name}: only value, secretKeyRef and configMapKeyRef are understood here`);
    if (value === undefined || value.includes("\n")) throw new Error(`variable ${e.name}: no value, or a multi-line one`);
    vars[e.name] = rooted(value);
  }
  fs.writeFileSync(path.join(root, "pod.env"), Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(""));
  const argv = [...(container.command || []), ...(container.args || [])];
  process.stdout.write(`${rooted(argv[argv.indexOf("--config") + 1])}\n`);
}

const [command, ...args] = process.argv.slice(2);
if (command === "check" && args.length === 4) {
  check(...args);
} else if (command === "materialise" && args.length === 3) {
  materialise(...args);
} else if (command === "extract" && args.length === 3) {
  const [file, prefix, key] = args;
  const maps = configMapByPrefix(load(file), prefix);
  if (maps.length !== 1 || !(maps[0].data || {})[key]) {
    console.error(`${file}: want one ConfigMap ${prefix} with key ${key}, found ${maps.length} ConfigMaps`);
    process.exit(1);
  }
  process.stdout.write(maps[0].data[key]);
} else {
  console.error("usage: manifests.js check LABEL FEATURES RENDERED.json EXAMPLES.json | materialise RENDERED.json EXAMPLES.json ROOT | extract RENDERED.json PREFIX KEY");
  process.exit(2);
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
