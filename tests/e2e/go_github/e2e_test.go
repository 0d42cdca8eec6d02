// End-to-end: go-github (Debian's golang-github-google-go-github-dev, v48)
// against github-proxy. Built and run by tests/e2e/run_e2e.sh (suite
// go-github), which starts the fake GitHub and the proxy and passes, in the
// environment:
//
//	GHP_E2E_PROXY_ORIGIN   http://127.0.0.1:PORT (the proxy)
//	GHP_E2E_ADMIN_ORIGIN   http://127.0.0.1:PORT (the proxy's /metrics)
//	GHP_E2E_FAKE_ORIGIN    http://127.0.0.1:PORT (the fake GitHub itself)
//	GHP_E2E_UPSTREAM       "github" (api.github.com layout) or "ghes" (--ghes)
//	GHP_E2E_TOKEN          proxy token of client GHP_E2E_CLIENT (no scopes)
//	GHP_E2E_SCOPED_TOKEN   proxy token of client GHP_E2E_SCOPED_CLIENT, whose
//	                       only scope is GET|HEAD /repos/octo-org/repo-0(/.*)?
//
// go-github v48 has no Client.WithEnterpriseURLs (added in a later major
// version): NewEnterpriseClient is its way to the same URLs.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v48/github"
)

const (
	owner  = "octo-org"
	repo   = "repo-0"
	issues = 250 // octo-org/repo-0 has 250 issues, listed newest first
)

var (
	proxyOrigin  = mustEnv("GHP_E2E_PROXY_ORIGIN")
	adminOrigin  = mustEnv("GHP_E2E_ADMIN_ORIGIN")
	fakeOrigin   = mustEnv("GHP_E2E_FAKE_ORIGIN")
	upstream     = mustEnv("GHP_E2E_UPSTREAM")
	token        = mustEnv("GHP_E2E_TOKEN")
	clientName   = mustEnv("GHP_E2E_CLIENT")
	scopedToken  = mustEnv("GHP_E2E_SCOPED_TOKEN")
	scopedClient = mustEnv("GHP_E2E_SCOPED_CLIENT")
	apiBase      = proxyOrigin + "/api/v3" // what a GHES user gives go-github
)

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "%s is not set (run through tests/e2e/run_e2e.sh)\n", name)
		os.Exit(2)
	}
	return v
}

// proxyTransport adds the proxy token and records every request. It refuses
// to send anything to a host other than the proxy: a URL taken from a body
// that still points at GitHub would otherwise carry the proxy token there.
type proxyTransport struct {
	token string
	host  string
	mu    sync.Mutex
	urls  []*url.URL
}

func (t *proxyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host {
		return nil, fmt.Errorf("refusing to send the proxy token to %s: not the proxy %s", req.URL, t.host)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "token "+t.token)
	t.mu.Lock()
	t.urls = append(t.urls, r.URL)
	t.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (t *proxyTransport) requests() []*url.URL {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*url.URL(nil), t.urls...)
}

func newClient(t *testing.T, tok string) (*github.Client, *proxyTransport) {
	t.Helper()
	origin, err := url.Parse(proxyOrigin)
	if err != nil {
		t.Fatal(err)
	}
	rt := &proxyTransport{token: tok, host: origin.Host}
	c, err := github.NewEnterpriseClient(apiBase+"/", proxyOrigin+"/api/uploads/",
		&http.Client{Transport: rt, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.UserAgent = "github-proxy-e2e-go-github"
	return c, rt
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var sample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var label = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metric: the sum of the samples of name on the proxy's /metrics whose labels include labels.
func metric(t *testing.T, name string, labels map[string]string) int {
	t.Helper()
	res, err := http.Get(adminOrigin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		m := sample.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") || m[1] != name {
			continue
		}
		have := map[string]string{}
		for _, l := range label.FindAllStringSubmatch(m[2], -1) {
			have[l[1]] = l[2]
		}
		ok := true
		for k, v := range labels {
			if have[k] != v {
				ok = false
			}
		}
		if ok {
			v, _ := strconv.ParseFloat(m[3], 64)
			total += v
		}
	}
	return int(total)
}

// eventuallyMetric: counters move once the answer is written; poll a little.
func eventuallyMetric(t *testing.T, expected int, name string, labels map[string]string) int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	v := metric(t, name, labels)
	for v < expected && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		v = metric(t, name, labels)
	}
	return v
}

func TestEnterpriseClientURLs(t *testing.T) {
	c, _ := newClient(t, token)
	if got, want := c.BaseURL.String(), apiBase+"/"; got != want {
		t.Errorf("BaseURL = %s, want %s", got, want)
	}
	if got, want := c.UploadURL.String(), proxyOrigin+"/api/uploads/"; got != want {
		t.Errorf("UploadURL = %s, want %s", got, want)
	}
}

func TestRepositoriesGet(t *testing.T) {
	c, rt := newClient(t, token)
	r, resp, err := c.Repositories.Get(ctx(t), owner, repo)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetID() != 1000 || r.GetFullName() != owner+"/"+repo {
		t.Errorf("got repository %d %s", r.GetID(), r.GetFullName())
	}
	if got := r.GetHTMLURL(); got != "https://github.com/"+owner+"/"+repo {
		t.Errorf("html_url = %s", got)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "github-proxy") {
		t.Errorf("Cache-Status = %q, want github-proxy…", cs)
	}
	reqs := rt.requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/v3/repos/"+owner+"/"+repo {
		t.Errorf("requests: %v", reqs)
	}
}

// URLs in bodies point at the proxy's /api/v3 (GitHub's API origin
// rewritten), so a client that follows them stays on the proxy.
func TestBodyURLsPointAtTheProxy(t *testing.T) {
	c, rt := newClient(t, token)
	r, _, err := c.Repositories.Get(ctx(t), owner, repo)
	if err != nil {
		t.Fatal(err)
	}
	repoURL := apiBase + "/repos/" + owner + "/" + repo
	for _, f := range []struct{ field, got, want string }{
		{"url", r.GetURL(), repoURL},
		{"issues_url", r.GetIssuesURL(), repoURL + "/issues{/number}"},
		{"owner.url", r.GetOwner().GetURL(), apiBase + "/users/" + owner},
	} {
		if f.got != f.want {
			t.Errorf("%s = %s, want %s (GitHub's URL not rewritten to the proxy)", f.field, f.got, f.want)
		}
	}
	if strings.Contains(fmt.Sprint(r), strings.TrimPrefix(fakeOrigin, "http://")) {
		t.Errorf("the fake GitHub's origin %s reached the client", fakeOrigin)
	}
	// Follow the body's url as a hypermedia client would (through the same
	// client, so only ever towards the proxy).
	req, err := c.NewRequest("GET", r.GetURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	again := new(github.Repository)
	if _, err := c.Do(ctx(t), req, again); err != nil {
		t.Fatalf("following url %s: %v", r.GetURL(), err)
	}
	if again.GetID() != 1000 {
		t.Errorf("following url: repository %d", again.GetID())
	}
	if n := len(rt.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// listAll pages through ListByRepo with resp.NextPage, as go-github's docs show.
func listAll(t *testing.T, c *github.Client) ([]int, []*github.Response) {
	t.Helper()
	opts := &github.IssueListByRepoOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var numbers []int
	var responses []*github.Response
	for page := 0; page < 10; page++ {
		got, resp, err := c.Issues.ListByRepo(ctx(t), owner, repo, opts)
		if err != nil {
			t.Fatalf("page %d: %v", opts.Page, err)
		}
		responses = append(responses, resp)
		for _, i := range got {
			numbers = append(numbers, i.GetNumber())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return numbers, responses
}

func checkAllIssues(t *testing.T, numbers []int, responses []*github.Response, rt *proxyTransport) {
	t.Helper()
	if len(numbers) != issues {
		t.Fatalf("%d issues, want %d", len(numbers), issues)
	}
	for i, n := range numbers {
		if n != issues-i {
			t.Fatalf("issue %d is #%d, want #%d (newest first)", i, n, issues-i)
		}
	}
	reqs := rt.requests()
	if len(reqs) != 3 || len(responses) != 3 {
		t.Fatalf("%d requests, %d pages, want 3: %v", len(reqs), len(responses), reqs)
	}
	for i, u := range reqs {
		if u.Path != "/api/v3/repos/"+owner+"/"+repo+"/issues" {
			t.Errorf("request %d: %s", i, u)
		}
		if page := u.Query().Get("page"); i > 0 && page != strconv.Itoa(i+1) {
			t.Errorf("request %d: page %q", i, page)
		}
	}
	if responses[0].LastPage != 3 || responses[2].NextPage != 0 {
		t.Errorf("LastPage %d, NextPage of the last page %d", responses[0].LastPage, responses[2].NextPage)
	}
}

// linkNext: the rel="next" URL of a page's Link header.
func linkNext(resp *github.Response) string {
	for _, part := range strings.Split(resp.Header.Get("Link"), ",") {
		segs := strings.Split(strings.TrimSpace(part), ";")
		if len(segs) == 2 && strings.TrimSpace(segs[1]) == `rel="next"` {
			return strings.Trim(segs[0], "<>")
		}
	}
	return ""
}

func TestListByRepoNextPage(t *testing.T) {
	c, rt := newClient(t, token)
	labels := map[string]string{"client": clientName, "method": "GET", "code": "200"}
	counted := metric(t, "github_proxy_requests_total", labels)
	numbers, responses := listAll(t, c)
	checkAllIssues(t, numbers, responses, rt)
	if now := eventuallyMetric(t, counted+3, "github_proxy_requests_total", labels); now-counted != 3 {
		t.Errorf("github_proxy_requests_total counted %d pages, want 3", now-counted)
	}
	// go-github takes only the page number from Link; the links themselves
	// must name the request's path on the proxy.
	t.Run("Link_next_in_the_name_form", func(t *testing.T) {
		for i, resp := range responses[:2] {
			want := fmt.Sprintf("%s/repos/%s/%s/issues?per_page=100&page=%d", apiBase, owner, repo, i+2)
			if got := linkNext(resp); got != want {
				t.Errorf("page %d: Link rel=next %s, want %s", i+1, got, want)
			}
		}
	})
}

func TestScopedClientListByRepo(t *testing.T) {
	c, rt := newClient(t, scopedToken)
	refused := metric(t, "github_proxy_rejected_requests_total", map[string]string{"client": scopedClient})
	numbers, responses := listAll(t, c)
	checkAllIssues(t, numbers, responses, rt)
	if now := metric(t, "github_proxy_rejected_requests_total", map[string]string{"client": scopedClient}); now != refused {
		t.Errorf("the proxy refused %d requests of the scoped client", now-refused)
	}
}

func TestScopedClientOutsideItsScope(t *testing.T) {
	c, _ := newClient(t, scopedToken)
	_, resp, err := c.Repositories.Get(ctx(t), owner, "repo-1")
	var e *github.ErrorResponse
	if !errors.As(err, &e) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("repos/octo-org/repo-1 outside the scope: %v, want a 403", err)
	}
}

// GraphQL through /api/graphql: "../graphql" from the client's /api/v3/ base.
func TestGraphQLThroughAPIGraphQL(t *testing.T) {
	c, rt := newClient(t, token)
	req, err := c.NewRequest("POST", "../graphql", map[string]string{"query": "{ viewer { login } }"})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data struct {
			Viewer struct {
				Login string `json:"login"`
			} `json:"viewer"`
		} `json:"data"`
	}
	if _, err := c.Do(ctx(t), req, &out); err != nil {
		t.Fatal(err)
	}
	if out.Data.Viewer.Login != "octocat" {
		t.Errorf("viewer.login = %q", out.Data.Viewer.Login)
	}
	reqs := rt.requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/graphql" {
		t.Errorf("requests: %v, want one POST to /api/graphql", reqs)
	}
}

func TestMain(m *testing.M) {
	fmt.Printf("go-github v48 via %s, upstream in the %s layout at %s\n", apiBase, upstream, fakeOrigin)
	os.Exit(m.Run())
}
