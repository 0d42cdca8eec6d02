// End-to-end: the proxy's own 429 answers as Octokit's throttling plugin sees
// them. Contract (docs/contract.md §5 Budgets and Errors): 429, `Retry-After: N`,
// `X-RateLimit-Remaining: 0` (and `X-RateLimit-Reset` = the earliest reset
// when the credential pool is exhausted), a GitHub-shaped JSON body.
// These wait for client budgets and the credential pool; octokit.test.mjs
// covers rate-limit answers that GitHub itself gives through the proxy.
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

const CLIENT = { name: "octokit", token: "ghpx_e2e_octokit_client_token_0001" };
// A client with a tiny budget (docs/contract.md §4 upstream_budget).
const BUDGET_CLIENT = {
  name: "octokit-budget",
  token: "ghpx_e2e_octokit_budget_token_0002",
  extraYaml: "    upstream_budget: 3/h\n",
};
const CLIENTS = [CLIENT, BUDGET_CLIENT];

const ws = new Workspace();
const check = checker(ws);
let fake;
let proxy; // for budgets
let proxyExhausted; // its only upstream credential is exhausted by the test
let proxySecondary; // 5 REST points a minute: its credential has room for 4 requests

before(async () => {
  fake = await startFake(ws);
  proxy = await startProxy(ws, { upstreamUrl: fake.url, clients: CLIENTS });
  proxyExhausted = await startProxy(ws, {
    upstreamUrl: fake.url,
    clients: CLIENTS,
    upstreamToken: "ghp_e2e_upstream_token_exhausted",
  });
  proxySecondary = await startProxy(ws, {
    upstreamUrl: fake.url,
    clients: CLIENTS,
    upstreamToken: "ghp_e2e_upstream_token_secondary",
    configYaml: "pool:\n  secondary_limits:\n    rest_points_per_minute: 5\n    pacing_wait: 0s\n",
  });
});

after(async () => {
  await ws.close();
});

check("upstream_budget 3/h: the 4th upstream request gets 429 with Retry-After; onRateLimit fires, its retry is refused too", async () => {
  const { octokit, record } = makeOctokit(proxy.origin, BUDGET_CLIENT.token, {
    retryAfterBaseValue: 0, // retry at once: the budget window is an hour
    onRateLimit: (_retryAfter, _o, _k, retryCount) => retryCount === 0,
  });
  // Repositories nobody else asks for: no answer can come from the cache for free.
  for (const repo of ["repo-11", "repo-12", "repo-13"]) {
    const res = await octokit.rest.repos.get({ owner: OWNER, repo });
    assert.equal(res.status, 200, `${repo} is within the budget`);
  }
  const error = await rejection(octokit.rest.repos.get({ owner: OWNER, repo: "repo-14" }));
  assert.ok(error, "the 4th request of a client with upstream_budget 3/h succeeded: expected 429");
  assert.equal(error.status, 429);
  const headers = error.response.headers;
  assert.match(String(headers["retry-after"] ?? ""), /^[1-9][0-9]*$/, "Retry-After");
  assert.ok(Number(headers["retry-after"]) <= 3600, `Retry-After ${headers["retry-after"]}`);
  assert.equal(headers["x-ratelimit-remaining"], "0");
  assertGithubShapedError(error, 429);

  assert.deepEqual(
    record.rateLimit.map((call) => call.retryCount),
    [0, 1],
    `onRateLimit calls: ${JSON.stringify(record.rateLimit)}`,
  );
  assert.equal(record.secondaryRateLimit.length, 0);
  assert.equal(record.fetched.length, 5); // 3 + the refused one + its retry
  assertOnProxy(record.fetched, proxy);

  const rejected = await eventually(
    () => proxy.metric("github_proxy_rejected_requests_total", { client: BUDGET_CLIENT.name, reason: "budget" }),
    (v) => v >= 2,
  );
  assert.equal(rejected, 2, "github_proxy_rejected_requests_total{reason=budget}");

  // The other client is not affected.
  const other = makeOctokit(proxy.origin, CLIENT.token);
  const res = await other.octokit.rest.repos.get({ owner: OWNER, repo: "repo-15" });
  assert.equal(res.status, 200);
});

check("every credential exhausted: 429, Retry-After, X-RateLimit-Remaining: 0, X-RateLimit-Reset; onRateLimit", async () => {
  const bucket = await fake.control("POST", "/_fake/limits", {
    token: proxyExhausted.upstreamToken,
    resource: "core",
    remaining: 0,
    reset_in: 3600,
  });
  const { octokit, record } = makeOctokit(proxyExhausted.origin, CLIENT.token);
  // The first answer may be GitHub's own 403 (the proxy learns the state from
  // it); once the only credential is known to be exhausted, the proxy answers.
  const answers = [];
  for (const repo of ["repo-20", "repo-21", "repo-22"]) {
    const error = await rejection(octokit.rest.repos.get({ owner: OWNER, repo }));
    assert.ok(error, `${repo}: succeeded although the only upstream credential is exhausted`);
    answers.push(error);
  }
  assert.equal(record.rateLimit.length + record.secondaryRateLimit.length, 3);
  assertOnProxy(record.fetched, proxyExhausted);
  const proxied = answers.find((error) => error.status === 429);
  assert.ok(
    proxied,
    `statuses ${answers.map((e) => e.status).join(",")}: expected a 429 from the proxy once every credential is exhausted`,
  );
  const headers = proxied.response.headers;
  assert.match(String(headers["retry-after"] ?? ""), /^[1-9][0-9]*$/, "Retry-After");
  assert.ok(Number(headers["retry-after"]) <= 3601, `Retry-After ${headers["retry-after"]}`);
  assert.equal(headers["x-ratelimit-remaining"], "0");
  assert.ok(
    Math.abs(Number(headers["x-ratelimit-reset"]) - bucket.reset) <= 2,
    `X-RateLimit-Reset ${headers["x-ratelimit-reset"]}, GitHub's reset ${bucket.reset}`,
  );
  assertGithubShapedError(proxied, 429);
  assert.ok(
    record.rateLimit.some((call) => call.retryAfter > 0),
    `onRateLimit got no wait from X-RateLimit-Reset: ${JSON.stringify(record.rateLimit)}`,
  );
});

check("no room under the secondary limits: 429 in GitHub's secondary-limit shape; onSecondaryRateLimit fires", async () => {
  const { octokit, record } = makeOctokit(proxySecondary.origin, CLIENT.token);
  // 90 % of 5 points: four requests, each a repository nobody asked for (no
  // entry to answer from under pressure).
  for (const repo of ["repo-30", "repo-31", "repo-32", "repo-33"]) {
    const res = await octokit.rest.repos.get({ owner: OWNER, repo });
    assert.equal(res.status, 200, `${repo} fits the credential's points`);
  }
  const error = await rejection(octokit.rest.repos.get({ owner: OWNER, repo: "repo-34" }));
  assert.ok(error, "the 5th request fit although the credential had no points left: expected 429");
  assert.equal(error.status, 429);
  assertGithubShapedError(error, 429);
  const headers = error.response.headers;
  assert.match(String(headers["retry-after"] ?? ""), /^[1-9][0-9]*$/, "Retry-After");
  assert.ok(Number(headers["retry-after"]) <= 60, `Retry-After ${headers["retry-after"]}: within the minute`);
  // A secondary limit, not the primary one: the credits are still there.
  assert.ok(Number(headers["x-ratelimit-remaining"]) > 0, `X-RateLimit-Remaining ${headers["x-ratelimit-remaining"]}`);
  assert.equal(record.rateLimit.length, 0, `onRateLimit: ${JSON.stringify(record.rateLimit)}`);
  assert.equal(record.secondaryRateLimit.length, 1, `onSecondaryRateLimit: ${JSON.stringify(record.secondaryRateLimit)}`);
  assert.equal(record.secondaryRateLimit[0].retryAfter, Number(headers["retry-after"]));
  // GitHub (the fake) never answered a secondary limit.
  const counters = await fake.control("GET", "/_fake/counters");
  assert.equal(counters.secondary_limited, 0);
  assert.equal(counters.tokens[proxySecondary.upstreamToken].requests, 4);
});

check("the fake GitHub never saw a proxy token, only the upstream credentials", async () => {
  await assertNoProxyTokenUpstream(
    fake,
    [proxy.upstreamToken, proxyExhausted.upstreamToken, proxySecondary.upstreamToken],
    CLIENTS,
  );
});
