// Starts the fake GitHub and the proxy as child processes on loopback ports
// chosen by the kernel, the way tests/support/processes.cc does, and stops
// them by PID. Paths of the binaries come from the environment:
//   GHP_E2E_PROXY_BINARY   build/github-proxy
//   GHP_E2E_FAKE_BINARY    build/tests/fake_github/fake_github
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const START_TIMEOUT_MS = 20_000;

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through tests/e2e/run_e2e.sh)`);
  if (!existsSync(value)) throw new Error(`${name}=${value}: no such file`);
  return value;
}

export const sha256Hex = (text) => createHash("sha256").update(text).digest("hex");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Every child started here; killed on exit even when a test throws.
const children = new Set();

function killAllSync() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
process.on("exit", killAllSync);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killAllSync();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  });
}

export class Workspace {
  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), "ghp-e2e-octokit-"));
    this.processes = [];
    this.failed = false;
  }

  file(name) {
    return path.join(this.dir, name);
  }

  write(name, text) {
    writeFileSync(this.file(name), text);
    return this.file(name);
  }

  spawn(name, argv, env = {}) {
    const logFile = this.file(`${name}.log`);
    const fd = openSync(logFile, "a");
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ["ignore", fd, fd],
      env: { ...process.env, ...env },
    });
    closeSync(fd);
    children.add(child);
    const entry = { name, child, logFile };
    child.on("exit", () => {
      entry.exited = true;
    });
    this.processes.push(entry);
    return entry;
  }

  // Polls until `file` exists and is non-empty (both programs write it atomically).
  async waitForFile(file, owner) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (existsSync(file)) {
        const text = readFileSync(file, "utf8");
        if (text.trim() !== "") return text;
      }
      if (owner.exited) {
        throw new Error(`${owner.name} exited before it was ready:\n${this.tail(owner)}`);
      }
      await sleep(20);
    }
    throw new Error(`${owner.name}: ${file} did not appear in ${START_TIMEOUT_MS} ms:\n${this.tail(owner)}`);
  }

  tail(entry, lines = 25) {
    try {
      return readFileSync(entry.logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  // SIGTERM, then SIGKILL after 5 s; by PID, children of this workspace only.
  async stopAll() {
    for (const entry of [...this.processes].reverse()) {
      const { child } = entry;
      if (entry.exited) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        process.kill(child.pid, "SIGTERM");
      } catch {
        continue;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
    }
    this.processes = [];
  }

  async close() {
    const entries = [...this.processes];
    await this.stopAll(); // first: the daemons flush their logs on exit
    if (this.failed) {
      for (const entry of entries) {
        process.stderr.write(`---- ${entry.name} (${entry.logFile}), last lines ----\n${this.tail(entry)}\n`);
      }
    }
    if (this.failed || process.env.GHP_E2E_KEEP) {
      process.stderr.write(`e2e: kept ${this.dir}\n`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

let fakeCounter = 0;

// The fake GitHub (tests/fake_github/README.md); `ghes` = the /api/v3 layout.
export async function startFake(ws, { ghes = false, extraArgs = [] } = {}) {
  const id = ++fakeCounter;
  const portFile = ws.file(`fake-${id}.port`);
  const argv = [requiredEnv("GHP_E2E_FAKE_BINARY"), "--address", "127.0.0.1", "--port", "0",
    "--port-file", portFile, "--threads", "2", "--quiet", ...(ghes ? ["--ghes"] : []), ...extraArgs];
  const entry = ws.spawn(`fake-${id}${ghes ? "-ghes" : ""}`, argv);
  const port = Number((await ws.waitForFile(portFile, entry)).trim());
  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    url: origin + (ghes ? "/api/v3" : ""),
    async control(method, controlPath, body) {
      const res = await fetch(origin + controlPath, {
        method,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`fake ${method} ${controlPath} → ${res.status}: ${text}`);
      return text ? JSON.parse(text) : null;
    },
  };
}

let proxyCounter = 0;

// The daemon with a generated config and registry. `clients`:
// [{ name, token, extraYaml }] (extraYaml indented by 4, e.g. "    upstream_budget: 3/h\n").
// The pool has one upstream credential, `upstreamToken`, or with
// `upstreamTokens` one per token: upstream-1 … upstream-N in that order, each
// its own credentials: entry with its own token_env (so each is a bucket of
// its own at the fake GitHub). `configYaml`: more top-level sections, e.g.
// "pool:\n  rate_limit_headers: github\n".
export async function startProxy(
  ws,
  { upstreamUrl, clients, upstreamToken = "ghp_e2e_upstream_token_1", upstreamTokens, configYaml = "" },
) {
  const id = ++proxyCounter;
  const tokens = upstreamTokens ?? [upstreamToken];
  if (tokens.length === 0) throw new Error("startProxy: upstreamTokens is empty");
  const credentials = tokens.map((token, i) => ({
    name: `upstream-${i + 1}`,
    token,
    env: i === 0 ? "GHP_E2E_UPSTREAM_TOKEN" : `GHP_E2E_UPSTREAM_TOKEN_${i + 1}`,
  }));
  let registry = "version: 1\nclients:\n";
  for (const c of clients) {
    registry += `  - name: ${c.name}\n    token_sha256: ${sha256Hex(c.token)}\n${c.extraYaml ?? ""}`;
  }
  const registryFile = ws.write(`registry-${id}.yaml`, registry);
  const config = [
    "listen:",
    "  address: 127.0.0.1",
    "  port: 0",
    "  threads: 2",
    "admin:",
    "  address: 127.0.0.1",
    "  port: 0",
    "upstream:",
    `  url: ${upstreamUrl}`,
    "  connect_timeout: 2s",
    "  request_timeout: 10s",
    "registry:",
    `  file: ${registryFile}`,
    "  reload_interval: 1s",
    "credentials:",
    ...credentials.flatMap((c) => [`  - name: ${c.name}`, "    type: token", `    token_env: ${c.env}`]),
    "logging:",
    "  level: info",
    "  format: json",
    "",
  ].join("\n") + configYaml;
  const configFile = ws.write(`github-proxy-${id}.yaml`, config);
  const readyFile = ws.file(`proxy-${id}.ready`);
  const entry = ws.spawn(
    `proxy-${id}`,
    [requiredEnv("GHP_E2E_PROXY_BINARY"), "serve", "--config", configFile, "--ready-file", readyFile],
    Object.fromEntries(credentials.map((c) => [c.env, c.token])),
  );
  const ready = JSON.parse(await ws.waitForFile(readyFile, entry));
  const origin = `http://127.0.0.1:${ready.port}`;
  const adminOrigin = `http://127.0.0.1:${ready.admin_port}`;
  return {
    port: ready.port,
    adminPort: ready.admin_port,
    origin,
    host: `127.0.0.1:${ready.port}`,
    upstreamToken: tokens[0],
    upstreamTokens: tokens,
    credentials: credentials.map(({ name, token }) => ({ name, token })), // metrics label → token
    entry,
    // Sum of every sample of `name` whose labels include `labels`.
    async metric(name, labels = {}) {
      const text = await (await fetch(`${adminOrigin}/metrics`)).text();
      let total = 0;
      for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const have = {};
        for (const m of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
          have[m[1]] = m[2];
        }
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(match[3]);
      }
      return total;
    },
  };
}
