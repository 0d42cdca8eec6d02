// Octokit side of the end-to-end tests: an instrumented Octokit and assertions.
import assert from "node:assert/strict";
import { test } from "node:test";

import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";

export const OWNER = "octo-org";

const ThrottledOctokit = Octokit.plugin(throttling);
let octokitIds = 0;

// `test`, but a failure keeps the work directory and prints the daemons' logs.
export function checker(ws) {
  return (name, fn) =>
    test(name, async (t) => {
      try {
        await fn(t);
      } catch (error) {
        ws.failed = true;
        throw error;
      }
    });
}

// An Octokit with the throttling plugin that records every URL it asked for
// (the `request` hook: once per octokit.request, so once per page), every
// HTTP request it actually sent (its `fetch`: retries too), and every
// throttling callback. `throttle.onRateLimit`/`onSecondaryRateLimit` decide
// whether to retry (default: no).
export function makeOctokit(baseUrl, token, throttle = {}) {
  const record = { hooked: [], fetched: [], rateLimit: [], secondaryRateLimit: [], log: [] };
  const { onRateLimit, onSecondaryRateLimit, ...throttleOptions } = throttle;
  const octokit = new ThrottledOctokit({
    baseUrl,
    auth: token,
    userAgent: "github-proxy-e2e",
    request: {
      fetch: (url, init) => {
        record.fetched.push(String(url));
        return fetch(url, init);
      },
    },
    log: {
      debug: () => {},
      info: (m) => record.log.push(m),
      warn: (m) => record.log.push(m),
      error: (m) => record.log.push(m),
    },
    throttle: {
      id: `e2e-${++octokitIds}`, // own Bottleneck keys: no waiting behind other tests' writes
      onRateLimit: (retryAfter, options, kit, retryCount) => {
        record.rateLimit.push({ retryAfter, retryCount, url: options.url });
        return onRateLimit ? onRateLimit(retryAfter, options, kit, retryCount) : false;
      },
      onSecondaryRateLimit: (retryAfter, options, kit, retryCount) => {
        record.secondaryRateLimit.push({ retryAfter, retryCount, url: options.url });
        return onSecondaryRateLimit ? onSecondaryRateLimit(retryAfter, options, kit, retryCount) : false;
      },
      ...throttleOptions,
    },
  });
  octokit.hook.before("request", (options) => {
    record.hooked.push(octokit.request.endpoint.parse(options).url);
  });
  return { octokit, record };
}

// Every URL is on the proxy's host:port (plain http), under `pathPrefix`.
export function assertOnProxy(urls, proxy, pathPrefix = "") {
  assert.ok(urls.length > 0, "no request recorded");
  for (const raw of urls) {
    const url = new URL(raw);
    assert.equal(url.protocol, "http:", `${raw}: left the proxy`);
    assert.equal(url.host, proxy.host, `${raw}: not the proxy ${proxy.host}`);
    assert.ok(url.pathname.startsWith(pathPrefix), `${raw}: lost the ${pathPrefix} prefix`);
  }
}

// Counters move once the response is written: poll a little.
export async function eventually(read, predicate, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!predicate(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

// The error a promise rejects with, or null when it resolves.
export async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return null;
}

// {"message":"…","documentation_url":"…"[,"status":"NNN"]}
export function assertGithubShapedError(error, status) {
  const data = error.response?.data;
  assert.equal(typeof data, "object", `body is not JSON: ${JSON.stringify(data)}`);
  assert.equal(typeof data.message, "string");
  assert.ok(data.message.length > 0, "empty message");
  assert.equal(typeof data.documentation_url, "string");
  if (data.status !== undefined) assert.equal(data.status, String(status));
}

// The fake GitHub `upstream` counted requests only with `upstreamTokens`, and
// no proxy token (a client's, or anything shaped ghpx_…) is among the tokens
// it counted or in any header of the requests it logged (its last 1000).
export async function assertNoProxyTokenUpstream(upstream, upstreamTokens, clients) {
  const counters = await upstream.control("GET", "/_fake/counters");
  const seen = Object.keys(counters.tokens);
  assert.ok(seen.length > 0, "the fake GitHub counted no request");
  for (const token of seen) assert.ok(upstreamTokens.includes(token), `unexpected upstream token ${token}`);
  const logged = JSON.stringify(await upstream.control("GET", "/_fake/requests"));
  for (const text of [JSON.stringify(counters), logged]) {
    for (const client of clients) assert.ok(!text.includes(client.token), `${client.name}'s token reached GitHub`);
    assert.ok(!text.includes("ghpx_"), "a proxy token (ghpx_…) reached GitHub");
  }
}
