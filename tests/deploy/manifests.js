#!/usr/bin/env node
// Reads rendered Kubernetes manifests as JSON (a stream of objects, as
// `kubectl ... -o json` prints several) and checks what docs/contract.md §9 and the
// proxy need of them, or extracts a ConfigMap key.
//
//   node manifests.js check base|redis RENDERED.json SECRET_EXAMPLE.json
//   node manifests.js extract RENDERED.json CONFIGMAP_NAME_PREFIX KEY > FILE
//
// check exits 1 with one line per problem.
"use strict";
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

// The top-level section `name:` of a config file, and a `key: value` in it.
// Enough for the few scalars checked here; the proxy's own check-config
// (check_deploy.sh config) validates the whole file.
function configValue(text, section, key) {
  const lines = text.split("\n");
  const begin = lines.findIndex((l) => l.startsWith(`${section}:`));
  if (begin < 0) return undefined;
  for (let i = begin + 1; i < lines.length && !/^\S/.test(lines[i]); i++) {
    const m = new RegExp(`^\\s+${key}:\\s*("[^"]*"|\\S+)`).exec(lines[i]);
    if (m) return m[1].replace(/^"|"$/g, "");
  }
  return undefined;
}

function seconds(duration) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(duration || "");
  if (!m) return undefined;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function probe(container, kind) {
  return container[kind] && container[kind].httpGet;
}

function checkProxy(objects, secret) {
  const deployment = find(objects, "Deployment", "github-proxy");
  if (!expect(deployment, "no Deployment github-proxy")) return;
  const spec = deployment.spec;
  const pod = spec.template.spec;
  const podLabels = spec.template.metadata.labels;
  expect(spec.replicas >= 2, `Deployment github-proxy: replicas ${spec.replicas}, want at least 2`);
  expect(matches(spec.selector.matchLabels, podLabels), "Deployment github-proxy: selector does not match its pod labels");

  const container = pod.containers.find((c) => c.name === "github-proxy");
  if (!expect(container, "Deployment github-proxy: no container github-proxy")) return;
  const argv = [...(container.command || []), ...(container.args || [])];
  const configFlag = argv.indexOf("--config");
  expect(argv[0] === "/usr/local/bin/github-proxy" && argv.includes("serve") && configFlag > 0,
    `container github-proxy: runs ${JSON.stringify(argv)}, want /usr/local/bin/github-proxy serve --config FILE`);
  const configPath = argv[configFlag + 1];

  const ports = Object.fromEntries((container.ports || []).map((p) => [p.name, p.containerPort]));
  expect(ports.http === 8080, "container github-proxy: port http must be 8080");
  expect(ports.admin === 9090, "container github-proxy: port admin must be 9090");
  const liveness = probe(container, "livenessProbe");
  const readiness = probe(container, "readinessProbe");
  expect(liveness && liveness.path === "/healthz" && (liveness.port === "admin" || liveness.port === 9090),
    "container github-proxy: livenessProbe must GET /healthz on the admin port");
  expect(readiness && readiness.path === "/readyz" && (readiness.port === "admin" || readiness.port === 9090),
    "container github-proxy: readinessProbe must GET /readyz on the admin port");

  const resources = container.resources || {};
  for (const kind of ["requests", "limits"]) {
    for (const r of ["cpu", "memory"]) {
      expect(resources[kind] && resources[kind][r], `container github-proxy: no resources.${kind}.${r}`);
    }
  }

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
  const tmp = mountAt("/tmp");
  expect(tmp && volumes[tmp.name] && volumes[tmp.name].emptyDir, "container github-proxy: /tmp must be an emptyDir");

  // The config file named by --config comes from the generated ConfigMap.
  const configMaps = configMapByPrefix(objects, "github-proxy-config");
  if (!expect(configMaps.length === 1, `want one ConfigMap github-proxy-config(-hash), found ${configMaps.length}`)) return;
  const configMap = configMaps[0];
  const configText = (configMap.data || {})["config.yaml"];
  if (!expect(configText, `ConfigMap ${configMap.metadata.name}: no config.yaml`)) return;
  const configMount = mounts.find((m) => configPath === m.mountPath ||
    (configPath && configPath.startsWith(`${m.mountPath}/`)));
  if (expect(configMount, `container github-proxy: nothing mounted at ${configPath}`)) {
    const volume = volumes[configMount.name];
    expect(volume && volume.configMap && volume.configMap.name === configMap.metadata.name,
      `container github-proxy: ${configPath} must come from ConfigMap ${configMap.metadata.name}`);
    const file = configMount.subPath || path.posix.relative(configMount.mountPath, configPath);
    expect(file === "config.yaml", `container github-proxy: ${configPath} is key ${file}, want config.yaml`);
  }

  // The registry: a whole-directory mount of a ConfigMap with a stable name,
  // so that updates reach the pod (the kubelet swaps `..data`) and the proxy
  // hot-reloads them. A subPath mount never sees an update.
  const registryFile = configValue(configText, "registry", "file");
  if (expect(registryFile, "config.yaml: no registry.file")) {
    const dir = path.posix.dirname(registryFile);
    const mount = mountAt(dir);
    if (expect(mount, `container github-proxy: registry directory ${dir} is not a volume mount`)) {
      expect(!mount.subPath, `container github-proxy: the registry mount must not use subPath (no hot reload)`);
      const volume = volumes[mount.name];
      const name = volume && volume.configMap && volume.configMap.name;
      expect(name === "github-proxy-registry",
        `registry volume: ConfigMap ${name}, want github-proxy-registry without a hash suffix (updated in place)`);
      const registryMap = find(objects, "ConfigMap", "github-proxy-registry");
      expect(registryMap && (registryMap.data || {})[path.posix.basename(registryFile)],
        `ConfigMap github-proxy-registry: no key ${path.posix.basename(registryFile)}`);
    }
  }

  // Every secret the config references is provided.
  const secretName = secret.metadata.name;
  const secretKeys = Object.keys({ ...(secret.data || {}), ...(secret.stringData || {}) });
  for (const m of configText.matchAll(/^\s+token_env:\s*(\S+)/gm)) {
    const env = (container.env || []).find((e) => e.name === m[1]);
    const ref = env && env.valueFrom && env.valueFrom.secretKeyRef;
    if (expect(ref, `container github-proxy: variable ${m[1]} (token_env) is not set from a Secret`)) {
      expect(ref.name === secretName && secretKeys.includes(ref.key),
        `variable ${m[1]}: Secret ${ref.name} key ${ref.key} is not in the example Secret ${secretName}`);
    }
  }
  for (const m of configText.matchAll(/^\s+(?:private_key_file|token_file):\s*(\S+)/gm)) {
    const file = m[1];
    const mount = mounts.find((mm) => file.startsWith(`${mm.mountPath}/`));
    if (!expect(mount, `container github-proxy: nothing mounted for ${file}`)) continue;
    const volume = volumes[mount.name];
    const key = path.posix.relative(mount.mountPath, file);
    const items = volume && volume.secret && volume.secret.items;
    const item = items ? items.find((i) => i.path === key) : { key };
    expect(volume && volume.secret && volume.secret.secretName === secretName && item && secretKeys.includes(item.key),
      `${file}: must come from Secret ${secretName}, which has no such key`);
  }

  // Shutdown: SIGTERM comes after the preStop hook, and both must fit in the
  // grace period with the proxy's own drain time.
  const shutdown = seconds(configValue(configText, "listen", "shutdown_timeout") || "25s");
  const preStop = container.lifecycle && container.lifecycle.preStop;
  let sleep = 0;
  if (preStop && preStop.sleep) sleep = preStop.sleep.seconds;
  else if (preStop && preStop.exec) sleep = Number((preStop.exec.command || []).slice(-1)[0]) || 0;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  expect(grace > shutdown + sleep,
    `terminationGracePeriodSeconds ${grace} must exceed preStop ${sleep}s + listen.shutdown_timeout ${shutdown}s`);

  const service = find(objects, "Service", "github-proxy");
  if (expect(service, "no Service github-proxy")) {
    expect(matches(service.spec.selector, podLabels), "Service github-proxy: selector does not match the proxy pods");
    for (const p of service.spec.ports) {
      expect(p.targetPort in ports || Object.values(ports).includes(p.targetPort),
        `Service github-proxy: targetPort ${p.targetPort} is not a container port`);
    }
  }
  const pdb = find(objects, "PodDisruptionBudget", "github-proxy");
  if (expect(pdb, "no PodDisruptionBudget github-proxy")) {
    expect(matches(pdb.spec.selector.matchLabels, podLabels), "PodDisruptionBudget: selector does not match the proxy pods");
    expect(pdb.spec.unhealthyPodEvictionPolicy === "AlwaysAllow",
      "PodDisruptionBudget: unhealthyPodEvictionPolicy must be AlwaysAllow (an unready pod must not block node drains)");
  }
  const hpa = find(objects, "HorizontalPodAutoscaler", "github-proxy");
  if (expect(hpa, "no HorizontalPodAutoscaler github-proxy")) {
    expect(hpa.apiVersion === "autoscaling/v2", `HorizontalPodAutoscaler: apiVersion ${hpa.apiVersion}, want autoscaling/v2`);
    expect(hpa.spec.scaleTargetRef.kind === "Deployment" && hpa.spec.scaleTargetRef.name === "github-proxy",
      "HorizontalPodAutoscaler: must scale Deployment github-proxy");
    expect(hpa.spec.minReplicas >= 2, "HorizontalPodAutoscaler: minReplicas must be at least 2");
  }
  return { configText, podLabels };
}

function checkRedis(objects, proxy) {
  const backend = configValue(proxy.configText, "cache", "backend");
  expect(backend === "redis", `config.yaml: cache.backend is ${backend}, want redis`);
  expect(proxy.configText.includes("url: redis://github-proxy-redis:6379/0"),
    "config.yaml: cache.redis.url must be redis://github-proxy-redis:6379/0");
  const deployment = find(objects, "Deployment", "github-proxy-redis");
  const service = find(objects, "Service", "github-proxy-redis");
  if (!expect(deployment, "no Deployment github-proxy-redis") || !expect(service, "no Service github-proxy-redis")) return;
  const pod = deployment.spec.template.spec;
  const labels = deployment.spec.template.metadata.labels;
  expect(matches(service.spec.selector, labels), "Service github-proxy-redis: selector does not match the redis pods");
  expect(service.spec.ports.some((p) => p.port === 6379), "Service github-proxy-redis: no port 6379");
  expect(!matches(proxy.podLabels, labels), "the redis pods must not match the proxy's selectors (PDB, Service, HPA)");
  const container = pod.containers[0];
  expect(/^redis:7/.test(container.image), `redis image ${container.image}, want redis:7...`);
  const security = container.securityContext || {};
  expect((pod.securityContext || {}).runAsNonRoot === true || security.runAsNonRoot === true, "redis: runAsNonRoot must be true");
  expect(security.allowPrivilegeEscalation === false && security.readOnlyRootFilesystem === true,
    "redis: needs allowPrivilegeEscalation false and readOnlyRootFilesystem true");
  const resources = container.resources || {};
  expect(resources.requests && resources.limits && resources.limits.memory, "redis: needs resource requests and a memory limit");
}

function check(variant, renderedFile, secretFile) {
  const objects = load(renderedFile);
  const secrets = load(secretFile).filter((o) => o.kind === "Secret");
  if (!expect(secrets.length === 1, `${secretFile}: want one Secret`)) return;
  for (const o of objects) {
    expect(o.kind !== "Secret", `the ${variant} renders Secret ${o.metadata.name}: an apply would overwrite the real one`);
  }
  const proxy = checkProxy(objects, secrets[0]);
  if (variant === "redis" && proxy) checkRedis(objects, proxy);
  if (variant === "base") {
    expect(!find(objects, "Deployment", "github-proxy-redis"), "the base must not contain Redis");
  }
  console.log(`${variant}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(" ")}`);
}

const [command, ...args] = process.argv.slice(2);
if (command === "check" && args.length === 3 && ["base", "redis"].includes(args[0])) {
  check(...args);
} else if (command === "extract" && args.length === 3) {
  const [file, prefix, key] = args;
  const maps = configMapByPrefix(load(file), prefix);
  if (maps.length !== 1 || !(maps[0].data || {})[key]) {
    console.error(`${file}: want one ConfigMap ${prefix} with key ${key}, found ${maps.length} ConfigMaps`);
    process.exit(1);
  }
  process.stdout.write(maps[0].data[key]);
} else {
  console.error("usage: manifests.js check base|redis RENDERED.json SECRET.json | extract RENDERED.json PREFIX KEY");
  process.exit(2);
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
