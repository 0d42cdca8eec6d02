"""End-to-end: PyGithub (Debian's python3-github, 1.55) against github-proxy.

Run by tests/e2e/run_e2e.sh (suite `pygithub`), which starts the fake GitHub
and the proxy and passes, in the environment:

  GHP_E2E_PROXY_ORIGIN   http://127.0.0.1:PORT (the proxy; PyGithub gets …/api/v3)
  GHP_E2E_ADMIN_ORIGIN   http://127.0.0.1:PORT (the proxy's /metrics)
  GHP_E2E_FAKE_ORIGIN    http://127.0.0.1:PORT (the fake GitHub itself)
  GHP_E2E_UPSTREAM       "github" (api.github.com layout) or "ghes" (--ghes)
  GHP_E2E_TOKEN          proxy token of client GHP_E2E_CLIENT (no scopes)
  GHP_E2E_SCOPED_TOKEN   proxy token of client GHP_E2E_SCOPED_CLIENT, whose
                         only scope is GET|HEAD /repos/octo-org/repo-0(/.*)?

PyGithub builds the URL of every lazy object from the `url` fields of the
bodies and follows `Link: rel="next"`; before each request it asserts that
the URL is on its own base (host, port, /api/v3 prefix), so these tests fail
where the proxy hands out GitHub's URLs instead of its own.

The lazy navigation uses issues (three pages), pull requests (two pages of
the fake's 150), one issue and its repository, and contents.
"""

import unittest
import warnings

import e2e_support
from e2e_support import env, record_requests
from github import Github, GithubException

OWNER_REPO = "octo-org/repo-0"
ISSUES = 250  # octo-org/repo-0 has 250 issues, listed newest first
PER_PAGE = 100


PROXY = env("GHP_E2E_PROXY_ORIGIN")
ADMIN = env("GHP_E2E_ADMIN_ORIGIN")
FAKE = env("GHP_E2E_FAKE_ORIGIN")
UPSTREAM = env("GHP_E2E_UPSTREAM")
TOKEN = env("GHP_E2E_TOKEN")
CLIENT = env("GHP_E2E_CLIENT")
SCOPED_TOKEN = env("GHP_E2E_SCOPED_TOKEN")
SCOPED_CLIENT = env("GHP_E2E_SCOPED_CLIENT")
BASE = PROXY + "/api/v3"  # what a GHES user gives PyGithub


RECORDER = record_requests()


def metric(name, **labels):
    return e2e_support.metric(ADMIN, name, **labels)


def eventually_metric(expected, name, **labels):
    return e2e_support.eventually_metric(ADMIN, expected, name, **labels)


def client(token):
    return Github(base_url=BASE, login_or_token=token, per_page=PER_PAGE, timeout=15,
                  user_agent="github-proxy-e2e-pygithub")


class ProxyTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        RECORDER.requests.clear()

    def requests(self):
        return list(RECORDER.requests)

    def summary(self, requests=None):
        # 'GET path → status' lines, for failure messages.
        return "\n".join(f"{v} {p} → {s}" for v, p, s, _h in (self.requests() if requests is None else requests))

    def assert_on_proxy(self, url, what):
        # A URL the proxy handed out: on the proxy's /api/v3, never GitHub's.
        self.assertTrue(url.startswith(BASE + "/"),
                        f"{what} is {url!r}, not on the proxy {BASE}/ (GitHub's URL was not rewritten)")


class Repository(ProxyTestCase):
    def test_get_repo(self):
        repo = client(TOKEN).get_repo(OWNER_REPO)
        self.assertEqual(repo.full_name, OWNER_REPO)
        self.assertEqual(repo.id, 1000)
        self.assertEqual(repo.owner.login, "octo-org")
        self.assertEqual(repo.html_url, "https://github.com/" + OWNER_REPO)
        self.assertEqual(len(self.requests()), 1, self.summary())
        [(verb, path, status, headers)] = self.requests()
        self.assertEqual((verb, path, status), ("GET", "/api/v3/repos/" + OWNER_REPO, 200))
        self.assertTrue(headers.get("cache-status", "").startswith("github-proxy"), headers)

    def test_body_urls_point_at_the_proxy(self):
        repo = client(TOKEN).get_repo(OWNER_REPO)
        self.assertEqual(repo.url, f"{BASE}/repos/{OWNER_REPO}")
        self.assertEqual(repo.issues_url, f"{BASE}/repos/{OWNER_REPO}/issues{{/number}}")
        self.assertEqual(repo.contents_url, f"{BASE}/repos/{OWNER_REPO}/contents/{{+path}}")
        self.assertEqual(repo.owner.url, f"{BASE}/users/octo-org")
        self.assertEqual(repo.html_url, "https://github.com/" + OWNER_REPO)
        raw = repr(repo.raw_data)
        self.assertNotIn(FAKE.split("//", 1)[1], raw, "the fake GitHub's origin reached the client")

    def test_conditional_reread_gets_304(self):
        # repo.update() re-reads repo.url with If-None-Match (its ETag) and
        # If-Modified-Since: the proxy answers 304 and PyGithub reports 'unchanged'.
        repo = client(TOKEN).get_repo(OWNER_REPO)
        self.assertTrue(repo.etag, "no ETag")
        self.assert_on_proxy(repo.url, "repo.url")
        counted = metric("github_proxy_requests_total", client=CLIENT, code="304")
        self.assertFalse(repo.update(), "repo.update() saw a change: no 304")
        verb, path, status, headers = self.requests()[-1]
        self.assertEqual((verb, path, status), ("GET", "/api/v3/repos/" + OWNER_REPO, 304))
        self.assertTrue(headers.get("cache-status", "").startswith("github-proxy"), headers)
        self.assertEqual(headers.get("etag"), repo.etag)
        now = eventually_metric(counted + 1, "github_proxy_requests_total", client=CLIENT, code="304")
        self.assertEqual(now - counted, 1, "the 304 is not counted for the client")

    def test_conditional_request_by_path_gets_304(self):
        # The same conditional request on a path PyGithub builds itself (not a
        # URL from a body), through PyGithub's requester.
        g = client(TOKEN)
        repo = g.get_repo(OWNER_REPO)
        requester = g._Github__requester  # PyGithub's own HTTP layer (no public way to send a raw GET)
        status, headers, body = requester.requestJson(
            "GET", "/repos/" + OWNER_REPO, headers={"If-None-Match": repo.etag})
        self.assertEqual(status, 304, body)
        self.assertEqual(body, "")
        self.assertTrue(headers.get("cache-status", "").startswith("github-proxy"), headers)


class LazyNavigation(ProxyTestCase):
    def test_get_issues_over_three_pages(self):
        counted = metric("github_proxy_requests_total", client=CLIENT, method="GET", code="200")
        repo = client(TOKEN).get_repo(OWNER_REPO)
        self.assert_on_proxy(repo.url, "repo.url")
        issues = list(repo.get_issues())
        self.assertEqual([i.number for i in issues], list(range(ISSUES, 0, -1)))
        pages = [r for r in self.requests() if "/issues" in r[1]]
        self.assertEqual([r[2] for r in pages], [200, 200, 200], self.summary())
        for path in [r[1] for r in pages]:
            self.assertTrue(path.startswith(f"/api/v3/repos/{OWNER_REPO}/issues?"), path)
        # requests 1 (the repository) + 3 pages, each counted for the client
        now = eventually_metric(counted + 4, "github_proxy_requests_total", client=CLIENT, method="GET", code="200")
        self.assertEqual(now - counted, 4)
        for issue in (issues[0], issues[-1]):
            self.assert_on_proxy(issue.url, f"issue #{issue.number}.url")
            self.assert_on_proxy(issue.raw_data["repository_url"], f"issue #{issue.number}: repository_url")
            self.assertEqual(issue.html_url, f"https://github.com/{OWNER_REPO}/issues/{issue.number}")

    def test_get_pulls_over_two_pages(self):
        repo = client(TOKEN).get_repo(OWNER_REPO)
        pulls = list(repo.get_pulls(state="open"))
        self.assertEqual([p.number for p in pulls], list(range(150, 0, -1)))
        pages = [r for r in self.requests() if "/pulls" in r[1]]
        self.assertEqual([r[2] for r in pages], [200, 200], self.summary())
        for path in [r[1] for r in pages]:
            self.assertTrue(path.startswith(f"/api/v3/repos/{OWNER_REPO}/pulls"), path)
        for pull in (pulls[0], pulls[-1]):
            self.assert_on_proxy(pull.url, f"pull #{pull.number}.url")
            self.assert_on_proxy(pull.raw_data["_links"]["self"]["href"], f"pull #{pull.number}: _links.self")
            self.assertEqual(pull.html_url, f"https://github.com/{OWNER_REPO}/pull/{pull.number}")
        one = repo.get_pull(3)
        self.assertEqual(one.title, "Fake pull request #3 in repo-0")
        self.assertEqual(one.head.ref, "feature-3")

    def test_get_issue_then_its_repository(self):
        repo = client(TOKEN).get_repo(OWNER_REPO)
        self.assert_on_proxy(repo.url, "repo.url")
        issue = repo.get_issue(7)
        self.assertEqual(issue.title, "Fake issue #7 in repo-0")
        self.assert_on_proxy(issue.url, "issue.url")
        # Issue.repository is a lazy Repository on the issue's URL: reading it fetches it.
        self.assertEqual(issue.repository.id, 1000)
        paths = [r[1] for r in self.requests()]
        self.assertEqual(paths, ["/api/v3/repos/" + OWNER_REPO, f"/api/v3/repos/{OWNER_REPO}/issues/7",
                                 "/api/v3/repos/" + OWNER_REPO])

    def test_get_contents(self):
        repo = client(TOKEN).get_repo(OWNER_REPO)
        self.assert_on_proxy(repo.url, "repo.url")
        readme = repo.get_contents("README.md")
        self.assertEqual(readme.path, "README.md")
        self.assertRegex(readme.sha, r"^[0-9a-f]{40}$")
        self.assertIn(b"File README.md of octo-org/repo-0", readme.decoded_content)
        self.assert_on_proxy(readme.url, "content.url")
        self.assertEqual(readme.html_url, f"https://github.com/{OWNER_REPO}/blob/main/README.md")
        self.assertEqual([r[1] for r in self.requests()],
                         ["/api/v3/repos/" + OWNER_REPO, f"/api/v3/repos/{OWNER_REPO}/contents/README.md"])

    def test_search_issues_paginates_on_the_proxys_links(self):
        # A PaginatedList on a path PyGithub builds itself: pages 2 and 3 come
        # from the proxy's Link headers.
        results = client(TOKEN).search_issues("repo:octo-org/repo-0")
        self.assertEqual(results.totalCount, ISSUES)
        self.assertEqual(len(list(results)), ISSUES)
        # totalCount asks for one item (per_page=1) first; then the 3 pages of 100.
        pages = [r for r in self.requests() if r[1].startswith("/api/v3/search/issues?") and "per_page=100" in r[1]]
        self.assertEqual([r[2] for r in pages], [200, 200, 200], self.summary())


class ScopedClient(ProxyTestCase):
    """A client whose only scope is GET|HEAD /repos/octo-org/repo-0(/.*)?."""

    def test_outside_its_scope_is_refused(self):
        with self.assertRaises(GithubException) as raised:
            client(SCOPED_TOKEN).get_repo("octo-org/repo-1")
        self.assertEqual(raised.exception.status, 403)

    def test_paginates_every_issue_within_its_scope(self):
        refused = metric("github_proxy_rejected_requests_total", client=SCOPED_CLIENT)
        repo = client(SCOPED_TOKEN).get_repo(OWNER_REPO)
        self.assert_on_proxy(repo.url, "repo.url")
        issues = list(repo.get_issues())
        self.assertEqual(len({i.number for i in issues}), ISSUES)
        pages = [r for r in self.requests() if "/issues" in r[1]]
        self.assertEqual([r[2] for r in pages], [200, 200, 200], self.summary())
        for page, (_verb, path, _status, _headers) in enumerate(pages[1:], start=2):
            self.assertEqual(path, f"/api/v3/repos/{OWNER_REPO}/issues?per_page={PER_PAGE}&page={page}")
        self.assertEqual(metric("github_proxy_rejected_requests_total", client=SCOPED_CLIENT), refused,
                         "the proxy refused a request of the scoped client")


if __name__ == "__main__":
    print(f"PyGithub via {BASE}, upstream in the {UPSTREAM} layout at {FAKE}", flush=True)
    # PyGithub 1.55 has no way to close its connections: silence only the
    # ResourceWarnings about them (warnings=False keeps this filter in place).
    warnings.filterwarnings("ignore", category=ResourceWarning)
    unittest.main(verbosity=2, warnings=False)
