// End-to-end: the rate limit a client is told through the proxy (issue 16,
// docs/contract.md §5 "Rate limits as the client sees them"). Through the
// proxy a client spends from a pool of credentials within its own budget, so
// its X-RateLimit-* and GET /rate_limit describe that (the pool's sum, capped
// by its upstream_budget), not the one credential that served the request;
// Octokit's throttling plugin then waits when, and only when, the proxy
// would refuse. With `pool.rate_limit_headers: github` GitHub's
// per-credential fields pass and /rate_limit goes upstream.
//
// The tests run in order and share the proxies' state: the warm-up teaches
// the proxy every credential's bucket, the later tests read it.
import assert from "node:assert/strict";
import { after, before } from "node:test";

import {
  OWNER,
  assertGithubShapedError,
  assertNoProxyTokenUpstream,
  assertOnProxy,
  checker,
  eventually,
  makeOctokit,
  rejection,
} from "./client.mjs";
import { Workspace, startFake, startProxy } from "./harness.mjs";

// Three upstream credentials with different headroom in core (POST
// /_fake/limits): the pool is 3 × 5000 credits, of which only A's and B's
// are left, C being spent for the next hour.
const ROOMY = { token: "ghp_e2e_upstream_token_roomy", remaining: 4000 }; // A
const SCARCE = { token: "ghp_e2e_upstream_token_scarce", remaining: 20 }; // B
const SPENT = { token: "ghp_e2e_upstream_token_spent", remaining: 0 }; // C
const BUCKETS = [ROOMY, SCARCE, SPENT];
const CORE_LIMIT = 5000; // the fake's default per token
// The proxy in `github` mode gets fresh credentials of its own: two, so that
// a pool's sum (10000) and one credential's limit (5000) differ.
const GITHUB_MODE_TOKENS = ["ghp_e2e_upstream_token_github_mode_1", "ghp_e2e_upstream_token_github_mode_2"];

const CLIENT = { name: "rlv-pool", token: "ghpx_e2e_rlv_pool_token_0001" };
const BUDGET = 5;
const BUDGET_CLIENT = {
  name: "rlv-budget",
  token: "ghpx_e2e_rlv_budget_token_0002",
  extraYaml: `    upstream_budget: ${BUDGET}/h\n`,
};
// May GET nothing but repo-0: /rate_limit is still answered (any client of
// the registry may ask for its limit, as any token may ask GitHub).
const SCOPED_CLIENT = {
  name: "rlv-scoped",
  token: "ghpx_e2e_rlv_scoped_token_0003",
  extraYaml: "    scopes:\n      - method: GET|HEAD\n        path: '/repos/octo-org/repo-0(/.*)?'\n",
};
const CLIENTS = [CLIENT, BUDGET_CLIENT, SCOPED_CLIENT];
const STATES = ["ok", "exhausted", "cooling", "broken"];

const ws = new Workspace();
const check = checker(ws);
let fake;
let proxy; // pool.rate_limit_headers: client (the default)
let githubMode; // pool.rate_limit_headers: github
let pool; // the unbudgeted client's Octokit, shared by the tests

before(async () => {
  fake = await startFake(ws);
  // Before the proxy starts: its first answer from each credential is then
  // already the one with these numbers.
  for (const bucket of BUCKETS) {
    await fake.control("POST", "/_fake/limits", {
      token: bucket.token,
      resource: "core",
      remaining: bucket.remaining,
      reset_in: 3600,
    });
  }
  proxy = await startProxy(ws, {
    upstreamUrl: fake.url,
    clients: CLIENTS,
    upstreamTokens: BUCKETS.map((b) => b.token),
  });
  githubMode = await startProxy(ws, {
    upstreamUrl: fake.url,
    clients: [CLIENT],
    upstreamTokens: GITHUB_MODE_TOKENS,
    configYaml: "pool:\n  rate_limit_headers: github\n",
  });
  pool = makeOctokit(proxy.origin, CLIENT.token);
});

after(async () => {
  await ws.close();
});

// The five X-RateLimit-* of an answer, as numbers (the resource as text).
function rateHeaders(headers) {
  const number = (name) => {
    const text = headers[`x-ratelimit-${name}`];
    assert.match(String(text ?? ""), /^[0-9]+$/, `X-RateLimit-${name}: ${text}`);
    return Number(text);
  };
  return {
    limit: number("limit"),
    remaining: number("remaining"),
    used: number("used"),
    reset: number("reset"),
    resource: headers["x-ratelimit-resource"],
  };
}

const bodyBucket = ({ limit, remaining, used, reset }) => ({ limit, remaining, used, reset });
const nowSeconds = () => Math.floor(Date.now() / 1000);

// What the fake GitHub itself says `token` has left in core (its own
// /rate_limit: not charged, but counted as a request of that token).
async function fakeRemaining(token) {
  const res = await fetch(`${fake.url}/rate_limit`, {
    headers: { authorization: `token ${token}`, "user-agent": "github-proxy-e2e" },
  });
  assert.equal(res.status, 200, `the fake's /rate_limit for ${token}`);
  return (await res.json()).resources.core.remaining;
}

// Every credential of `p` as /metrics shows it for core: its state (the one
// github_proxy_credential_state sample at 1) and its last-seen bucket.
async function credentialMetrics(p) {
  const out = [];
  for (const { name, token } of p.credentials) {
    const labels = { credential: name, resource: "core" };
    const states = [];
    for (const state of STATES) {
      if ((await p.metric("github_proxy_credential_state", { credential: name, state })) === 1) states.push(state);
    }
    out.push({
      name,
      token,
      state: states.join(","),
      limit: await p.metric("github_proxy_rate_limit_limit", labels),
      remaining: await p.metric("github_proxy_rate_limit_remaining", labels),
      used: await p.metric("github_proxy_rate_limit_used", labels),
      reset: await p.metric("github_proxy_rate_limit_reset_timestamp_seconds", labels),
    });
  }
  return out;
}

const sum = (values) => values.reduce((a, b) => a + b, 0);

check("warm-up: the proxy hears from all three credentials; C's 403 never reaches the client", async () => {
  // Distinct repositories, so that each request is a miss that spends a
  // credit. The pool picks the credential with the most headroom, one not
  // heard from yet counting as a full 5000: A, then B, then C, whose 403
  // (rate limited) makes the proxy send the request again with A. Bounded: a
  // few requests more than that, in case the pool picks another order.
  let seen = [];
  for (let i = 1; i <= 8; ++i) {
    const res = await pool.octokit.rest.repos.get({ owner: OWNER, repo: `repo-${i}` });
    assert.equal(res.status, 200, `repo-${i}`);
    seen = await credentialMetrics(proxy);
    if (seen.every((c) => c.limit > 0) && seen[2].state === "exhausted") break;
  }
  assert.deepEqual(
    seen.map((c) => [c.name, c.state, c.limit]),
    [
      ["upstream-1", "ok", CORE_LIMIT],
      ["upstream-2", "ok", CORE_LIMIT],
      ["upstream-3", "exhausted", CORE_LIMIT],
    ],
    `the proxy's credentials after the warm-up: ${JSON.stringify(seen)}`,
  );
  assert.equal(seen[2].remaining, 0, "C's remaining");
  const counters = await fake.control("GET", "/_fake/counters");
  assert.ok(
    (counters.tokens[SPENT.token]?.by_status?.["403"] ?? 0) >= 1,
    `C was never asked (it answers 403): ${JSON.stringify(counters.tokens)}`,
  );
  assert.deepEqual(pool.record.rateLimit, [], "onRateLimit was called: C's 403 reached the client");
  assert.deepEqual(pool.record.secondaryRateLimit, []);
  assertOnProxy(pool.record.fetched, proxy);
});

check("the unbudgeted client's X-RateLimit-* are the pool's: Limit 15000, Remaining what A and B have left", async () => {
  const res = await pool.octokit.rest.repos.get({ owner: OWNER, repo: "repo-9" });
  assert.equal(res.status, 200);
  const view = rateHeaders(res.headers);
  const left = (await fakeRemaining(ROOMY.token)) + (await fakeRemaining(SCARCE.token));
  assert.ok(left < ROOMY.remaining + SCARCE.remaining, `A and B have spent nothing: ${left}`);
  assert.deepEqual(
    { limit: view.limit, remaining: view.remaining, used: view.used, resource: view.resource },
    { limit: 3 * CORE_LIMIT, remaining: left, used: 3 * CORE_LIMIT - left, resource: "core" },
    `X-RateLimit-* ${JSON.stringify(view)}; the fake says A and B have ${left} left`,
  );
  assert.ok(view.reset > nowSeconds(), `X-RateLimit-Reset ${view.reset} is not in the future`);
  const okRemaining = sum((await credentialMetrics(proxy)).filter((c) => c.state === "ok").map((c) => c.remaining));
  assert.equal(view.remaining, okRemaining, "Σ github_proxy_rate_limit_remaining{resource=core} of the ok credentials");
  // Although C is exhausted, this client can go on: its limit is not C's.
  assert.deepEqual(pool.record.rateLimit, [], "onRateLimit was called");
});

check("one answer's X-RateLimit-*, GET /rate_limit (resources.core and rate) and /metrics say the same", async () => {
  // No traffic between the three reads: the numbers are the same ones.
  const res = await pool.octokit.rest.repos.get({ owner: OWNER, repo: "repo-10" });
  const view = rateHeaders(res.headers);
  const rl = await pool.octokit.rest.rateLimit.get();
  const credentials = await credentialMetrics(proxy);

  assert.equal(rl.status, 200);
  const expected = bodyBucket(view);
  assert.deepEqual(rl.data.resources.core, expected, "resources.core against the last answer's X-RateLimit-*");
  assert.deepEqual(rl.data.rate, expected, "rate (no X-GitHub-Api-Version: 2022-11-28, which keeps it)");
  assert.deepEqual(rateHeaders(rl.headers), view, "/rate_limit's own X-RateLimit-* (core)");

  // The pool view from the per-credential gauges: every credential is
  // usable or comes back by itself (none broken), so Limit is the sum of
  // their limits; Remaining the sum of the ok ones'; each has spent some
  // credits, so Reset is the earliest of their resets.
  assert.equal(view.limit, sum(credentials.map((c) => c.limit)), JSON.stringify(credentials));
  assert.equal(
    view.remaining,
    sum(credentials.filter((c) => c.state === "ok").map((c) => c.remaining)),
    JSON.stringify(credentials),
  );
  assert.equal(view.used, sum(credentials.map((c) => c.used)), JSON.stringify(credentials));
  assert.equal(view.reset, Math.min(...credentials.map((c) => c.reset)), JSON.stringify(credentials));

  // Buckets nobody spent from: each credential counts as a fresh window
  // (search 30 a minute, graphql 5000 an hour), reset a window from now.
  const now = nowSeconds();
  for (const [resource, limit, window] of [["search", 30, 60], ["graphql", 5000, 3600]]) {
    const bucket = rl.data.resources[resource];
    assert.ok(bucket, `no resources.${resource}: ${JSON.stringify(rl.data.resources)}`);
    assert.deepEqual(
      { limit: bucket.limit, remaining: bucket.remaining, used: bucket.used },
      { limit: 3 * limit, remaining: 3 * limit, used: 0 },
      `resources.${resource}`,
    );
    assert.ok(Math.abs(bucket.reset - (now + window)) <= 2, `resources.${resource}.reset ${bucket.reset}, now ${now}`);
  }
});

check(`upstream_budget ${BUDGET}/h: Remaining ${BUDGET - 1}…0, a 304 revalidation is free, the next request 429 with onRateLimit`, async () => {
  const { octokit, record } = makeOctokit(proxy.origin, BUDGET_CLIENT.token);
  // Repositories nobody else asked for: each one a miss that spends a credit.
  const repos = ["repo-31", "repo-32", "repo-33", "repo-34", "repo-35"];
  const seen = [];
  for (const [i, repo] of repos.entries()) {
    const res = await octokit.rest.repos.get({ owner: OWNER, repo });
    assert.equal(res.status, 200, repo);
    const view = rateHeaders(res.headers);
    seen.push(view.remaining);
    assert.deepEqual(
      { limit: view.limit, remaining: view.remaining, used: view.used, resource: view.resource },
      { limit: BUDGET, remaining: BUDGET - 1 - i, used: i + 1, resource: "core" },
      `${repo} (spending request ${i + 1}): ${JSON.stringify(view)}`,
    );
    assert.ok(view.reset > nowSeconds(), `${repo}: X-RateLimit-Reset ${view.reset}`);
    if (i === 1) {
      // The first repository again: the proxy revalidates its entry, GitHub
      // answers 304, which costs no credit, so the budget has as much left.
      const counters = await fake.control("GET", "/_fake/counters");
      const again = await octokit.rest.repos.get({ owner: OWNER, repo: repos[0] });
      assert.equal(again.status, 200);
      assert.match(String(again.headers["cache-status"]), /^github-proxy; hit; detail=revalidated/, "revalidated");
      const after304 = await eventually(
        () => fake.control("GET", "/_fake/counters"),
        (c) => c.total.status_304 > counters.total.status_304,
      );
      assert.equal(after304.total.status_304, counters.total.status_304 + 1, "the revalidation's 304 upstream");
      assert.equal(after304.total.credits, counters.total.credits, "the revalidation spent a credit upstream");
      const repeat = rateHeaders(again.headers);
      assert.deepEqual(
        [repeat.limit, repeat.remaining, repeat.used],
        [BUDGET, view.remaining, view.used],
        `the revalidated repeat of ${repos[0]} lowered Remaining: ${JSON.stringify(repeat)}`,
      );
    }
  }
  assert.deepEqual(seen, [4, 3, 2, 1, 0]);
  assert.deepEqual(record.rateLimit, [], "onRateLimit was called before Remaining reached 0");
  const credits = await eventually(
    () => proxy.metric("github_proxy_client_upstream_credits_total", { client: BUDGET_CLIENT.name }),
    (v) => v >= BUDGET,
  );
  assert.equal(credits, BUDGET, "github_proxy_client_upstream_credits_total of the budgeted client");

  // The next request that would spend a credit: the proxy's 429, whose
  // Retry-After and X-RateLimit-Reset say the same wait; the throttling
  // plugin computes its retryAfter from X-RateLimit-Reset (+1 s) and is
  // told not to retry.
  const error = await rejection(octokit.rest.repos.get({ owner: OWNER, repo: "repo-36" }));
  assert.ok(error, `the ${BUDGET + 1}th spending request of a client with upstream_budget ${BUDGET}/h succeeded`);
  assert.equal(error.status, 429);
  const now = nowSeconds();
  const headers = error.response.headers;
  assert.match(String(headers["retry-after"] ?? ""), /^[1-9][0-9]*$/, `Retry-After ${headers["retry-after"]}`);
  const retryAfter = Number(headers["retry-after"]);
  assert.ok(retryAfter <= 3600, `Retry-After ${retryAfter} is more than the budget's window`);
  const view = rateHeaders(headers);
  assert.deepEqual(
    { limit: view.limit, remaining: view.remaining, used: view.used },
    { limit: BUDGET, remaining: 0, used: BUDGET },
    `the 429's X-RateLimit-*: ${JSON.stringify(view)}`,
  );
  assert.ok(
    Math.abs(view.reset - now - retryAfter) <= 1,
    `X-RateLimit-Reset ${view.reset} − now ${now} is not Retry-After ${retryAfter} (±1 s)`,
  );
  assertGithubShapedError(error, 429);
  assert.equal(record.rateLimit.length, 1, `onRateLimit calls: ${JSON.stringify(record.rateLimit)}`);
  assert.ok(
    Math.abs(record.rateLimit[0].retryAfter - 1 - retryAfter) <= 1,
    `onRateLimit got retryAfter ${record.rateLimit[0].retryAfter}, Retry-After was ${retryAfter}`,
  );
  assert.equal(record.secondaryRateLimit.length, 0);
  assert.equal(record.fetched.length, repos.length + 2, "the 5 misses, the repeat and the refused one, no retry");
  assertOnProxy(record.fetched, proxy);

  // Its /rate_limit is still answered (it costs nothing), and says the same.
  const rl = await octokit.rest.rateLimit.get();
  assert.equal(rl.status, 200);
  const core = rl.data.resources.core;
  assert.deepEqual([core.limit, core.remaining, core.used], [BUDGET, 0, BUDGET], JSON.stringify(core));
  assert.ok(Math.abs(core.reset - view.reset) <= 1, `resources.core.reset ${core.reset}, the 429's ${view.reset}`);
  assert.equal(record.rateLimit.length, 1, "onRateLimit was called for /rate_limit");
});

check("GET /rate_limit costs nothing: nothing upstream, no credit; any client may ask; 2026-03-10 has no `rate`", async () => {
  const counters = await fake.control("GET", "/_fake/counters");
  const credits = {};
  const requests = {};
  for (const c of CLIENTS) {
    credits[c.name] = await proxy.metric("github_proxy_client_upstream_credits_total", { client: c.name });
    requests[c.name] = await proxy.metric("github_proxy_requests_total", { client: c.name });
  }
  const expectRequests = { [CLIENT.name]: 3, [BUDGET_CLIENT.name]: 1, [SCOPED_CLIENT.name]: 1 };

  const plain = await pool.octokit.rest.rateLimit.get();
  const ghes = makeOctokit(`${proxy.origin}/api/v3`, CLIENT.token);
  const prefixed = await ghes.octokit.rest.rateLimit.get();
  const versioned = await pool.octokit.request("GET /rate_limit", {
    headers: { "x-github-api-version": "2026-03-10" },
  });
  const budgeted = await makeOctokit(proxy.origin, BUDGET_CLIENT.token).octokit.rest.rateLimit.get();
  const scoped = await makeOctokit(proxy.origin, SCOPED_CLIENT.token).octokit.rest.rateLimit.get();
  assertOnProxy(ghes.record.fetched, proxy, "/api/v3/");

  for (const [what, res] of Object.entries({ plain, prefixed, versioned, budgeted, scoped })) {
    assert.equal(res.status, 200, what);
    assert.equal(typeof res.data.resources?.core?.limit, "number", `${what}: ${JSON.stringify(res.data)}`);
    assert.deepEqual(bodyBucket(rateHeaders(res.headers)), res.data.resources.core, `${what}: X-RateLimit-* = core`);
  }
  assert.equal(plain.data.resources.core.limit, 3 * CORE_LIMIT, "the pool's core");
  assert.deepEqual(prefixed.data.resources.core, plain.data.resources.core, "/api/v3/rate_limit");
  assert.deepEqual(plain.data.rate, plain.data.resources.core, "rate");
  assert.ok(!("rate" in versioned.data), `X-GitHub-Api-Version 2026-03-10 has a rate: ${JSON.stringify(versioned.data)}`);
  assert.deepEqual(versioned.data.resources.core, plain.data.resources.core, "2026-03-10: resources.core");
  assert.equal(budgeted.data.resources.core.limit, BUDGET, "the budgeted client's core");
  assert.equal(scoped.data.resources.core.limit, 3 * CORE_LIMIT, "the scoped client's core (no budget: the pool)");

  // Once the proxy has counted each request (counters move after the
  // answer), neither GitHub nor a budget was charged for any.
  for (const c of CLIENTS) {
    const now = await eventually(
      () => proxy.metric("github_proxy_requests_total", { client: c.name }),
      (v) => v >= requests[c.name] + expectRequests[c.name],
    );
    assert.equal(now - requests[c.name], expectRequests[c.name], `github_proxy_requests_total{client=${c.name}}`);
    assert.equal(
      await proxy.metric("github_proxy_client_upstream_credits_total", { client: c.name }),
      credits[c.name],
      `github_proxy_client_upstream_credits_total{client=${c.name}} moved`,
    );
  }
  assert.deepEqual(await fake.control("GET", "/_fake/counters"), counters, "the fake GitHub was asked");
});

check("pool.rate_limit_headers: github: the serving credential's X-RateLimit-*, /rate_limit forwarded", async () => {
  const { octokit, record } = makeOctokit(githubMode.origin, CLIENT.token);
  const res = await octokit.rest.repos.get({ owner: OWNER, repo: "repo-60" });
  assert.equal(res.status, 200);
  const counters = await fake.control("GET", "/_fake/counters");
  const served = GITHUB_MODE_TOKENS.filter((t) => (counters.tokens[t]?.requests ?? 0) > 0);
  assert.equal(served.length, 1, `the credentials asked: ${JSON.stringify(counters.tokens)}`);
  const view = rateHeaders(res.headers);
  // One credential's fresh bucket after one credit, not the pool's 10000.
  assert.deepEqual(
    { limit: view.limit, remaining: view.remaining, used: view.used, resource: view.resource },
    { limit: CORE_LIMIT, remaining: CORE_LIMIT - 1, used: 1, resource: "core" },
    JSON.stringify(view),
  );
  assert.equal(view.remaining, await fakeRemaining(served[0]), "the serving credential's remaining");

  const beforeRateLimit = await fake.control("GET", "/_fake/counters");
  const requestsOf = (c) => sum(GITHUB_MODE_TOKENS.map((t) => c.tokens[t]?.requests ?? 0));
  const rl = await octokit.rest.rateLimit.get();
  assert.equal(rl.status, 200);
  assert.equal(rl.data.resources.core.limit, CORE_LIMIT, `GitHub's body: ${JSON.stringify(rl.data.resources.core)}`);
  assert.ok(rl.data.rate, "GitHub's body has rate");
  assert.equal(rateHeaders(rl.headers).limit, CORE_LIMIT, "the /rate_limit answer's X-RateLimit-Limit");
  const forwarded = await eventually(
    () => fake.control("GET", "/_fake/counters"),
    (c) => requestsOf(c) > requestsOf(beforeRateLimit),
  );
  assert.equal(requestsOf(forwarded) - requestsOf(beforeRateLimit), 1, "GET /rate_limit reached the fake GitHub once");
  assert.deepEqual(record.rateLimit, []);
});

check("the fake GitHub never saw a proxy token, only the upstream credentials", async () => {
  await assertNoProxyTokenUpstream(fake, [...BUCKETS.map((b) => b.token), ...GITHUB_MODE_TOKENS], CLIENTS);
});
