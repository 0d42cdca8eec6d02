"""End-to-end: the rate limit PyGithub (Debian's python3-github, 1.55) is told
through github-proxy (issue 16, docs/contract.md §5 "Rate limits as the client
sees them"): Github.get_rate_limit() and Github.rate_limiting (the last
answer's X-RateLimit-Remaining/-Limit) describe the client's own limit, the
pool's sum or its upstream_budget, not the credential that served a request.

Run by tests/e2e/run_e2e.sh (suite `rate-limit-view`), which starts the fake
GitHub and a proxy with three upstream credentials, upstream-1 … upstream-3,
and passes, in the environment:

  GHP_E2E_PROXY_ORIGIN     http://127.0.0.1:PORT (the proxy; PyGithub gets …/api/v3)
  GHP_E2E_ADMIN_ORIGIN     http://127.0.0.1:PORT (the proxy's /metrics)
  GHP_E2E_FAKE_ORIGIN      http://127.0.0.1:PORT (the fake GitHub, api.github.com layout)
  GHP_E2E_TOKEN            proxy token of client GHP_E2E_CLIENT (no budget)
  GHP_E2E_BUDGET_TOKEN     proxy token of client GHP_E2E_BUDGET_CLIENT, whose
                           upstream_budget is GHP_E2E_BUDGET credits an hour
  GHP_E2E_UPSTREAM_TOKENS  the tokens of upstream-1 … upstream-3, space-separated

Before the tests the fake's core buckets of the three are set to 4000, 20
and 0 (for an hour) of 5000 left, and the proxy is made to hear from each.
"""

import calendar
import json
import time
import unittest
import urllib.request
import warnings

import e2e_support
from e2e_support import env, record_requests
from github import Github

CORE_LIMIT = 5000  # the fake's default per token
LEFT = (4000, 20, 0)  # core credits left of upstream-1, -2, -3


PROXY = env("GHP_E2E_PROXY_ORIGIN")
ADMIN = env("GHP_E2E_ADMIN_ORIGIN")
FAKE = env("GHP_E2E_FAKE_ORIGIN")
TOKEN = env("GHP_E2E_TOKEN")
CLIENT = env("GHP_E2E_CLIENT")
BUDGET_TOKEN = env("GHP_E2E_BUDGET_TOKEN")
BUDGET_CLIENT = env("GHP_E2E_BUDGET_CLIENT")
BUDGET = int(env("GHP_E2E_BUDGET"))
UPSTREAM_TOKENS = env("GHP_E2E_UPSTREAM_TOKENS").split()
CREDENTIALS = [f"upstream-{i + 1}" for i in range(len(UPSTREAM_TOKENS))]
BASE = PROXY + "/api/v3"  # what a GHES user gives PyGithub


RECORDER = record_requests()


def metric(name, **labels):
    return e2e_support.metric(ADMIN, name, **labels)


def eventually_metric(expected, name, **labels):
    return e2e_support.eventually_metric(ADMIN, expected, name, **labels)


def fake(method, path, body=None, token=None):
    """The fake GitHub itself: its control API, or (with `token`) its API."""
    headers = {"Content-Type": "application/json", "User-Agent": "github-proxy-e2e-pygithub"}
    if token:
        headers["Authorization"] = f"token {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(FAKE + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read().decode())


def fake_left(token):
    """What the fake says `token` has left in core (its /rate_limit: no credit,
    but a request of that token in its counters)."""
    return fake("GET", "/rate_limit", token=token)["resources"]["core"]["remaining"]


def credential_state(name):
    """The state whose github_proxy_credential_state sample is 1."""
    states = [s for s in ("ok", "exhausted", "cooling", "broken")
              if metric("github_proxy_credential_state", credential=name, state=s) == 1]
    return ",".join(states)


def client(token):
    return Github(base_url=BASE, login_or_token=token, timeout=15, user_agent="github-proxy-e2e-pygithub")


def reset_seconds(rate):
    # Rate.reset is a naive UTC datetime (datetime.utcfromtimestamp).
    return calendar.timegm(rate.reset.utctimetuple())


def setUpModule():
    for token, left in zip(UPSTREAM_TOKENS, LEFT):
        fake("POST", "/_fake/limits", {"token": token, "resource": "core", "remaining": left, "reset_in": 3600})
    # The proxy learns each credential's bucket from its answers: distinct
    # repositories (misses, each a credit) until it has heard from all three.
    # It picks the one with the most headroom, a credential not heard from
    # counting as a full 5000: upstream-1, -2, then -3, whose 403 (rate
    # limited) sends the request again with another. Bounded.
    g = client(TOKEN)
    for i in range(1, 9):
        g.get_repo(f"octo-org/repo-{i}")
        if all(metric("github_proxy_rate_limit_limit", credential=c, resource="core") > 0 for c in CREDENTIALS) \
                and credential_state(CREDENTIALS[2]) == "exhausted":
            return
    raise AssertionError("the proxy did not hear from every credential: "
                         + ", ".join(f"{c}: {credential_state(c)}" for c in CREDENTIALS))


class RateLimitView(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        RECORDER.requests.clear()

    def assert_free(self, who, call):
        """`call` (one request of client `who`) sends nothing upstream and
        charges no credit: once the proxy has counted the request, the fake's
        counters and github_proxy_client_upstream_credits_total are as before."""
        counters = fake("GET", "/_fake/counters")
        credits = metric("github_proxy_client_upstream_credits_total", client=who)
        requests = metric("github_proxy_requests_total", client=who)
        result = call()
        self.assertEqual(eventually_metric(requests + 1, "github_proxy_requests_total", client=who), requests + 1)
        self.assertEqual(metric("github_proxy_client_upstream_credits_total", client=who), credits,
                         f"{who}: a credit was charged")
        self.assertEqual(fake("GET", "/_fake/counters"), counters, "the request reached the fake GitHub")
        return result

    def assert_rate_limit_request(self):
        # PyGithub asked the proxy's /api/v3/rate_limit, which answered with core's X-RateLimit-*.
        verb, path, status, headers = self.requests_made()[-1]
        self.assertEqual((verb, path, status), ("GET", "/api/v3/rate_limit", 200))
        self.assertEqual(headers.get("x-ratelimit-resource"), "core", headers)

    def requests_made(self):
        return list(RECORDER.requests)

    def test_client_without_budget_sees_the_pool(self):
        g = client(TOKEN)
        self.assertEqual(g.get_repo("octo-org/repo-40").full_name, "octo-org/repo-40")
        left = fake_left(UPSTREAM_TOKENS[0]) + fake_left(UPSTREAM_TOKENS[1])
        self.assertLess(left, LEFT[0] + LEFT[1], "the warm-up spent nothing")
        # The last answer's X-RateLimit-*: upstream-3 is spent, yet the client
        # has all the pool's credits that are left.
        self.assertEqual(g.rate_limiting, (left, 3 * CORE_LIMIT))
        ok_left = sum(metric("github_proxy_rate_limit_remaining", credential=c, resource="core")
                      for c in CREDENTIALS if credential_state(c) == "ok")
        self.assertEqual(ok_left, left, "Σ github_proxy_rate_limit_remaining{resource=core} of the ok credentials")

        rl = self.assert_free(CLIENT, g.get_rate_limit)
        self.assert_rate_limit_request()
        self.assertEqual((rl.core.limit, rl.core.remaining), (3 * CORE_LIMIT, left))
        self.assertEqual(g.rate_limiting, (rl.core.remaining, rl.core.limit))
        self.assertEqual(g.rate_limiting_resettime, reset_seconds(rl.core))
        self.assertGreater(reset_seconds(rl.core), time.time())
        # Buckets nobody spent from: three fresh windows.
        self.assertEqual((rl.search.limit, rl.search.remaining), (3 * 30, 3 * 30))
        self.assertEqual((rl.graphql.limit, rl.graphql.remaining), (3 * CORE_LIMIT, 3 * CORE_LIMIT))

    def test_client_with_budget_sees_its_budget(self):
        g = client(BUDGET_TOKEN)
        rl = self.assert_free(BUDGET_CLIENT, g.get_rate_limit)
        self.assert_rate_limit_request()
        self.assertEqual((rl.core.limit, rl.core.remaining), (BUDGET, BUDGET), "nothing spent yet")
        self.assertEqual(g.rate_limiting, (BUDGET, BUDGET))

        self.assertEqual(g.get_repo("octo-org/repo-50").full_name, "octo-org/repo-50")
        self.assertEqual(g.rate_limiting, (BUDGET - 1, BUDGET), "one credit spent")
        self.assertEqual(eventually_metric(1, "github_proxy_client_upstream_credits_total", client=BUDGET_CLIENT), 1)
        # Again: the proxy revalidates its entry, GitHub answers 304, which is free.
        g.get_repo("octo-org/repo-50")
        _verb, _path, status, headers = self.requests_made()[-1]
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("cache-status", "").startswith("github-proxy; hit; detail=revalidated"), headers)
        self.assertEqual(g.rate_limiting, (BUDGET - 1, BUDGET), "the revalidation spent from the budget")

        rl = self.assert_free(BUDGET_CLIENT, g.get_rate_limit)
        self.assert_rate_limit_request()
        self.assertEqual((rl.core.limit, rl.core.remaining), (BUDGET, BUDGET - 1))
        self.assertEqual(g.rate_limiting, (BUDGET - 1, BUDGET))
        self.assertEqual(g.rate_limiting_resettime, reset_seconds(rl.core))
        self.assertEqual(metric("github_proxy_client_upstream_credits_total", client=BUDGET_CLIENT), 1)


if __name__ == "__main__":
    print(f"PyGithub via {BASE}, upstream {FAKE} with {len(UPSTREAM_TOKENS)} credentials", flush=True)
    # PyGithub 1.55 has no way to close its connections: silence only the
    # ResourceWarnings about them (warnings=False keeps this filter in place).
    warnings.filterwarnings("ignore", category=ResourceWarning)
    unittest.main(verbosity=2, warnings=False)
