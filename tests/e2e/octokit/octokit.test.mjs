// End-to-end: Octokit (@octokit/rest + @octokit/plugin-throttling) against
// github-proxy in front of the fake GitHub, on both URL layouts. Run with
// `node --test` through tests/e2e/run_e2e.sh, which installs the pinned
// packages and sets GHP_E2E_PROXY_BINARY / GHP_E2E_FAKE_BINARY.
// The proxy's own 429 answers are in proxy_429.test.mjs.
import assert from "node:assert/strict";
import { after, before, describe } from "node:test";

import {
  OWNER,
  assertNoProxyTokenUpstream,
  assertOnProxy,
  checker,
  eventually,
  makeOctokit,
  rejection,
} from "./client.mjs";
import { Workspace, startFake, startProxy } from "./harness.mjs";

const CLIENT = { name: "octokit", token: "ghpx_e2e_octokit_client_token_0001" };
// A client that may only read the one repository (docs/contract.md §4 scopes).
const SCOPED_CLIENT = {
  name: "octokit-scoped",
  token: "ghpx_e2e_octokit_scoped_token_0003",
  extraYaml: "    scopes:\n      - method: GET|HEAD\n        path: '/repos/octo-org/repo-0(/.*)?'\n",
};
const CLIENTS = [CLIENT, SCOPED_CLIENT];

const ws = new Workspace();
let fake; // api.github.com layout
let fakeGhes; // GitHub Enterprise Server layout (--ghes)
let proxy; // → fake
let proxyGhes; // → fakeGhes
let proxyExhausted; // → fake, with an upstream credential the tests exhaust

const check = checker(ws);

before(async () => {
  fake = await startFake(ws);
  fakeGhes = await startFake(ws, { ghes: true });
  proxy = await startProxy(ws, { upstreamUrl: fake.url, clients: CLIENTS });
  proxyGhes = await startProxy(ws, { upstreamUrl: fakeGhes.url, clients: CLIENTS });
  proxyExhausted = await startProxy(ws, {
    upstreamUrl: fake.url,
    clients: CLIENTS,
    upstreamToken: "ghp_e2e_upstream_token_exhausted",
  });
});

after(async () => {
  await ws.close();
});

const LAYOUTS = [
  { upstream: "api.github.com layout", prefix: "" },
  { upstream: "api.github.com layout", prefix: "/api/v3" },
  { upstream: "GHES layout (--ghes)", prefix: "" },
  { upstream: "GHES layout (--ghes)", prefix: "/api/v3" },
];

for (const layout of LAYOUTS) {
  describe(`baseUrl http://127.0.0.1:PORT${layout.prefix}, upstream ${layout.upstream}`, () => {
    const target = () => (layout.upstream.startsWith("GHES") ? proxyGhes : proxy);
    const baseUrl = () => target().origin + layout.prefix;

    check("repos.get, then a conditional request gets 304", async () => {
      const { octokit, record } = makeOctokit(baseUrl(), CLIENT.token);
      const res = await octokit.rest.repos.get({ owner: OWNER, repo: "repo-0" });
      assert.equal(res.status, 200);
      assert.equal(res.data.full_name, "octo-org/repo-0");
      assert.equal(res.data.id, 1000);
      assert.match(res.headers["cache-status"] ?? "", /^github-proxy/);
      const etag = res.headers.etag;
      assert.ok(etag, "no ETag");

      const notModified = await rejection(
        octokit.rest.repos.get({ owner: OWNER, repo: "repo-0", headers: { "if-none-match": etag } }),
      );
      assert.ok(notModified, "conditional request with the ETag did not get 304");
      assert.equal(notModified.status, 304);

      assert.equal(record.fetched.length, 2);
      assertOnProxy(record.fetched, target(), layout.prefix);
      assertOnProxy(record.hooked, target(), layout.prefix);
    });

    check("repos.get: the body's API URLs point at the proxy in the client's layout, html_url at github.com", async () => {
      const { octokit } = makeOctokit(baseUrl(), CLIENT.token);
      const { data } = await octokit.rest.repos.get({ owner: OWNER, repo: "repo-0" });
      assert.equal(data.url, `${baseUrl()}/repos/octo-org/repo-0`);
      assert.equal(data.issues_url, `${baseUrl()}/repos/octo-org/repo-0/issues{/number}`);
      assert.equal(data.owner.url, `${baseUrl()}/users/octo-org`);
      assert.equal(data.html_url, "https://github.com/octo-org/repo-0");
      const upstream = layout.upstream.startsWith("GHES") ? fakeGhes : fake;
      const upstreamHost = new URL(upstream.origin).host;
      assert.ok(!JSON.stringify(data).includes(upstreamHost), `${upstreamHost} (the fake GitHub) in the body`);
    });

    check("paginate over 250 issues: 3 pages of 100, every page through the proxy", async () => {
      const { octokit, record } = makeOctokit(baseUrl(), CLIENT.token);
      const labels = { client: CLIENT.name, method: "GET", code: "200" };
      const counted = await target().metric("github_proxy_requests_total", labels);

      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
        owner: OWNER,
        repo: "repo-0",
        per_page: 100,
      });
      assert.equal(issues.length, 250);
      assert.deepEqual(
        issues.map((issue) => issue.number),
        Array.from({ length: 250 }, (_, i) => 250 - i),
      );

      assert.equal(record.hooked.length, 3, `pages: ${record.hooked.join(" ")}`);
      assert.equal(record.fetched.length, 3, `requests: ${record.fetched.join(" ")}`);
      assertOnProxy(record.hooked, target(), layout.prefix);
      assertOnProxy(record.fetched, target(), layout.prefix);
      // Pages 2 and 3 come from the rewritten Link header, in the name form
      // of the request (not GitHub's /repositories/1000/issues).
      assert.equal(new URL(record.fetched[0]).pathname, `${layout.prefix}/repos/octo-org/repo-0/issues`);
      for (const [i, page] of [[1, 2], [2, 3]]) {
        const url = new URL(record.fetched[i]);
        assert.equal(url.pathname, `${layout.prefix}/repos/octo-org/repo-0/issues`);
        assert.equal(url.searchParams.get("page"), String(page));
        assert.equal(url.searchParams.get("per_page"), "100");
      }

      const now = await eventually(
        () => target().metric("github_proxy_requests_total", labels),
        (v) => v >= counted + 3,
      );
      assert.equal(now - counted, 3, "github_proxy_requests_total did not count the 3 pages");
    });

    check("scoped client (GET /repos/octo-org/repo-0(/.*)? only): paginate over 250 issues within its scope", async () => {
      const { octokit, record } = makeOctokit(baseUrl(), SCOPED_CLIENT.token);
      const refused = await target().metric("github_proxy_rejected_requests_total", { client: SCOPED_CLIENT.name });
      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
        owner: OWNER,
        repo: "repo-0",
        per_page: 100,
      });
      assert.equal(new Set(issues.map((issue) => issue.number)).size, 250);
      assert.equal(record.fetched.length, 3, `requests: ${record.fetched.join(" ")}`);
      assertOnProxy(record.fetched, target(), layout.prefix);
      for (const raw of record.fetched) {
        assert.equal(new URL(raw).pathname, `${layout.prefix}/repos/octo-org/repo-0/issues`, raw);
      }
      assert.equal(
        await target().metric("github_proxy_rejected_requests_total", { client: SCOPED_CLIENT.name }),
        refused,
        "the proxy refused a request of the scoped client",
      );
    });

    check("scoped client: a repository outside its scope is 403", async () => {
      const { octokit } = makeOctokit(baseUrl(), SCOPED_CLIENT.token);
      const error = await rejection(octokit.rest.repos.get({ owner: OWNER, repo: "repo-1" }));
      assert.ok(error, "the scoped client read octo-org/repo-1");
      assert.equal(error.status, 403);
    });

    check("graphql { viewer { login } }", async () => {
      const { octokit, record } = makeOctokit(baseUrl(), CLIENT.token);
      const data = await octokit.graphql("{ viewer { login } }");
      assert.deepEqual(data, { viewer: { login: "octocat" } });
      assert.equal(record.fetched.length, 1);
      // Octokit maps a .../api/v3 baseUrl to .../api/graphql.
      const url = new URL(record.fetched[0]);
      assert.equal(url.host, target().host);
      assert.equal(url.pathname, layout.prefix ? "/api/graphql" : "/graphql");
    });
  });
}

describe("throttling plugin", () => {
  check("secondary limit from GitHub (429, Retry-After: 1): the throttling plugin is called, waits, retries through the proxy, 200", async () => {
    await fake.control("POST", "/_fake/faults", {
      path_prefix: "/repos/octo-org/repo-50",
      count: 1,
      secondary_limit: true,
      status: 429,
      retry_after: 1,
    });
    const { octokit, record } = makeOctokit(`${proxy.origin}/api/v3`, CLIENT.token, {
      // Retry (a proxy that parks the credential for Retry-After may answer
      // the first retry itself), but only after short waits: never an hour.
      onSecondaryRateLimit: (retryAfter, _o, _k, retryCount) => retryCount < 3 && retryAfter <= 5,
      onRateLimit: (retryAfter, _o, _k, retryCount) => retryCount < 3 && retryAfter <= 5,
    });
    const res = await octokit.rest.repos.get({ owner: OWNER, repo: "repo-50" });
    assert.equal(res.status, 200);
    assert.equal(res.data.name, "repo-50");
    const calls = record.secondaryRateLimit.length + record.rateLimit.length;
    assert.ok(calls >= 1, `no throttling callback: ${JSON.stringify(record)}`);
    assert.equal(record.fetched.length, calls + 1);
    assertOnProxy(record.fetched, proxy, "/api/v3");
  });

  check("onRateLimit: a rate-limited answer through the proxy (only credential exhausted upstream)", async () => {
    await fake.control("POST", "/_fake/limits", {
      token: proxyExhausted.upstreamToken,
      resource: "core",
      remaining: 0,
      reset_in: 3600,
    });
    const { octokit, record } = makeOctokit(proxyExhausted.origin, CLIENT.token);
    const error = await rejection(octokit.rest.repos.get({ owner: OWNER, repo: "repo-0" }));
    assert.ok(error, "request succeeded although the only upstream credential is exhausted");
    // GitHub's own 403, or the proxy's 429 once it knows the pool is exhausted.
    assert.ok([403, 429].includes(error.status), `status ${error.status}`);
    assert.equal(error.response.headers["x-ratelimit-remaining"], "0");
    assert.equal(record.rateLimit.length, 1, `throttling callbacks: ${JSON.stringify(record)}`);
    assertOnProxy(record.fetched, proxyExhausted);
  });
});

// actions/github-script (v7 and later) builds its client with
// @actions/github's getOctokit(token, { baseUrl }), baseUrl from its
// `base-url` input. A workflow cannot overwrite the runner's GITHUB_API_URL
// (GitHub's variables reference: "You can't overwrite the value of the
// default environment variables named GITHUB_* and RUNNER_*"), and
// @actions/github takes its default baseUrl from that variable when it is
// loaded; so in GitHub Actions `base-url` is the way to the proxy (README "Use
// it from CI"). Here GITHUB_API_URL names a stand-in for api.github.com that
// records what reaches it.
describe("actions/github-script's form: @actions/github getOctokit(token, { baseUrl })", () => {
  let githubCom; // what the runner's GITHUB_API_URL points at
  const reachedGithubCom = [];
  let getOctokit;

  before(async () => {
    const http = await import("node:http");
    githubCom = http.createServer((req, res) => {
      reachedGithubCom.push(req.url);
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"message":"Bad credentials"}');
    });
    await new Promise((resolve) => githubCom.listen(0, "127.0.0.1", resolve));
    process.env.GITHUB_API_URL = `http://127.0.0.1:${githubCom.address().port}`;
    ({ getOctokit } = await import("@actions/github"));
  });

  after(async () => {
    delete process.env.GITHUB_API_URL;
    await new Promise((resolve) => githubCom.close(resolve));
  });

  check("with base-url: repos.get and paginate go through the proxy, not to GITHUB_API_URL", async () => {
    const baseUrl = `${proxy.origin}/api/v3`;
    const github = getOctokit(CLIENT.token, { baseUrl });
    const hooked = [];
    github.hook.before("request", (options) => {
      hooked.push(github.request.endpoint.parse(options).url);
    });
    const repo = await github.rest.repos.get({ owner: OWNER, repo: "repo-0" });
    assert.equal(repo.status, 200);
    assert.equal(repo.data.url, `${baseUrl}/repos/octo-org/repo-0`);
    const issues = await github.paginate(github.rest.issues.listForRepo, {
      owner: OWNER,
      repo: "repo-0",
      per_page: 100,
    });
    assert.equal(issues.length, 250);
    assert.equal(hooked.length, 4, `requests: ${hooked.join(" ")}`);
    assertOnProxy(hooked, proxy, "/api/v3");
    assert.deepEqual(reachedGithubCom, [], "a request went to GITHUB_API_URL instead of the proxy");
  });

  check("without base-url: the client follows the runner's GITHUB_API_URL and never reaches the proxy", async () => {
    const counted = await proxy.metric("github_proxy_requests_total", { client: CLIENT.name });
    const github = getOctokit(CLIENT.token);
    const error = await rejection(github.rest.repos.get({ owner: OWNER, repo: "repo-0" }));
    assert.ok(error, "the request succeeded although GITHUB_API_URL does not name the proxy");
    assert.equal(error.status, 401);
    assert.deepEqual(reachedGithubCom, ["/repos/octo-org/repo-0"]);
    assert.equal(await proxy.metric("github_proxy_requests_total", { client: CLIENT.name }), counted);
  });
});

describe("upstream side", () => {
  check("the fake GitHub never saw a proxy token, only the upstream credentials", async () => {
    await assertNoProxyTokenUpstream(fake, [proxy.upstreamToken, proxyExhausted.upstreamToken], CLIENTS);
    await assertNoProxyTokenUpstream(fakeGhes, [proxyGhes.upstreamToken], CLIENTS);
  });
});
