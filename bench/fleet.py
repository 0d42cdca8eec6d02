#!/usr/bin/env python3
"""The load generator of bench/fleet.sh: a simulated CI fleet against
github-proxy, and the table of the rows.

  fleet.py run --proxy URL --fake URL --admin URL --client-token T
               --tokens T1,T2 --out FILE [--jobs 24 --duration 60 ...]
      JOBS concurrent jobs for DURATION seconds, each looping over a CI-like
      sequence of GETs (repository, pull requests, one pull request, two
      files, a commit, issues) of one of REPOS hot repositories, with a
      POST /repos/o/r/issues instead of a GET once in WRITE_EVERY requests,
      and a random think time that keeps the offered rate steady. Every
      second a sampler reads the fake's /_fake/counters (each upstream
      token's secondary_points, i.e. its sliding minute as GitHub counts it)
      and the proxy's /metrics (github_proxy_secondary_points_used). One
      JSON object is appended to FILE.
  fleet.py table FILE
      the rows of FILE as one Markdown table.

Standard library only (threading, http.client). Every job has its own
random.Random(seed, job), so each row sees the same sequence of requests.
"""
import argparse
import http.client
import json
import random
import re
import sys
import threading
import time
import urllib.parse

USER_AGENT = "github-proxy-fleet-bench"
ACCEPT = "application/vnd.github+json"
OWNER = "octo-org"


def ci_sequence(rng, repo):
    """The GETs of one CI job's pass over a repository (paths the fake serves)."""
    base = f"/repos/{OWNER}/{repo}"
    return [
        base,
        base + "/pulls?per_page=30",
        base + f"/pulls/{rng.randint(1, 5)}",
        base + "/contents/.github/workflows/ci.yml",
        base + "/contents/package.json",
        # A few head commits per repository (the fake answers any SHA).
        base + f"/commits/{rng.randint(1, 3):040x}",
        base + "/issues?per_page=30",
    ]


class Totals:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.writes = 0
        self.status = {}  # status code → count (0: connection error)
        self.fresh_pressure = 0  # Cache-Status detail=fresh-under-pressure
        self.fresh_window = 0  # Cache-Status detail=confirm-window
        # Non-2xx answers by (method, status, Cache-Status, message) → [count, first path]
        self.refusals = {}

    def add(self, method, path, status, cache_status, body):
        with self.lock:
            self.requests += 1
            if method == "POST":
                self.writes += 1
            self.status[status] = self.status.get(status, 0) + 1
            if "detail=fresh-under-pressure" in cache_status:
                self.fresh_pressure += 1
            elif "detail=confirm-window" in cache_status:
                self.fresh_window += 1
            if not 200 <= status < 300:
                try:
                    message = json.loads(body).get("message", "")
                except ValueError:
                    message = body[:120].decode("utf-8", "replace")
                key = (method, status, cache_status, message)
                if key not in self.refusals:
                    self.refusals[key] = [0, path]
                self.refusals[key][0] += 1


def job(index, args, stop_at, totals):
    rng = random.Random(f"{args.seed}/{index}")
    target = urllib.parse.urlsplit(args.proxy)
    conn = None
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": ACCEPT,
        "Authorization": f"token {args.client_token}",
    }
    # The mean think time that makes JOBS jobs offer RATE requests a second.
    think = args.jobs / args.rate
    writes = 0
    # Staggered starts: the fleet is already running, not 24 jobs at once.
    time.sleep(rng.uniform(0, think))
    while time.monotonic() < stop_at:
        repo = f"repo-{rng.randint(1, args.repos)}"
        for path in ci_sequence(rng, repo):
            method, body = "GET", None
            if rng.randrange(args.write_every) == 0:
                writes += 1
                method = "POST"
                path = f"/repos/{OWNER}/{repo}/issues"
                body = json.dumps({"title": f"fleet job {index} report {writes}",
                                   "body": "simulated CI result"}).encode()
            started = time.monotonic()
            if started >= stop_at:
                break
            status, cache_status, answer = 0, "", b""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=70)
                h = dict(headers)
                if body is not None:
                    h["Content-Type"] = "application/json"
                conn.request(method, path, body=body, headers=h)
                res = conn.getresponse()
                answer = res.read()
                status = res.status
                cache_status = res.getheader("Cache-Status", "")
                if res.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                answer = str(e).encode()
                if conn is not None:
                    conn.close()
                conn = None
            totals.add(method, path, status, cache_status, answer)
            # Think time, uniform in [0.5, 1.5] × the mean, counted from the
            # request's start: a slow (paced) answer does not lower the
            # offered rate unless it takes longer than the think time.
            pause = rng.uniform(0.5, 1.5) * think - (time.monotonic() - started)
            if pause > 0:
                time.sleep(min(pause, max(0.0, stop_at - time.monotonic())))
    if conn is not None:
        conn.close()


def http_get(url, timeout=5):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path or "/", headers={"User-Agent": USER_AGENT})
        res = conn.getresponse()
        return res.read().decode("utf-8", "replace")
    finally:
        conn.close()


METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metric_samples(text, name):
    """[(labels dict, value)] of metric `name` in Prometheus text."""
    out = []
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if m and m.group(1) == name:
            out.append((dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


class Sampler(threading.Thread):
    """Every second: each upstream token's secondary points as the fake
    counts them (its sliding minute) and the proxy's own count."""

    def __init__(self, args):
        super().__init__(daemon=True)
        self.args = args
        self.tokens = args.tokens.split(",")
        self.fake_max = {t: 0 for t in self.tokens}
        self.fake_content_max = {t: 0 for t in self.tokens}
        self.proxy_max = {}  # credential → max rest_points used
        self.samples = 0
        self.errors = 0
        self.stop = threading.Event()

    def sample(self):
        try:
            counters = json.loads(http_get(self.args.fake + "/_fake/counters"))
            for t in self.tokens:
                points = counters.get("tokens", {}).get(t, {}).get("secondary_points", {})
                self.fake_max[t] = max(self.fake_max[t], int(points.get("rest", 0)))
                self.fake_content_max[t] = max(self.fake_content_max[t], int(points.get("content_minute", 0)))
            metrics = http_get(self.args.admin + "/metrics")
            for labels, value in metric_samples(metrics, "github_proxy_secondary_points_used"):
                if labels.get("kind") == "rest_points":
                    c = labels.get("credential", "?")
                    self.proxy_max[c] = max(self.proxy_max.get(c, 0), int(value))
            self.samples += 1
        except (OSError, http.client.HTTPException, ValueError):
            self.errors += 1

    def run(self):
        while not self.stop.wait(1.0):
            self.sample()


def run(args):
    totals = Totals()
    sampler = Sampler(args)
    sampler.sample()
    sampler.start()
    started = time.monotonic()
    stop_at = started + args.duration
    threads = [threading.Thread(target=job, args=(i, args, stop_at, totals), daemon=True)
               for i in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    sampler.sample()  # the last window, after every answer

    counters = json.loads(http_get(args.fake + "/_fake/counters"))
    metrics = http_get(args.admin + "/metrics")
    by_cache = {labels.get("cache", "?"): 0 for labels, _ in metric_samples(metrics, "github_proxy_requests_total")}
    for labels, value in metric_samples(metrics, "github_proxy_requests_total"):
        by_cache[labels.get("cache", "?")] += int(value)
    row = {
        "label": args.label,
        "elapsed_s": round(elapsed, 1),
        "jobs": args.jobs,
        "client_requests": totals.requests,
        "client_writes": totals.writes,
        "status": {str(k): v for k, v in sorted(totals.status.items())},
        "fresh_under_pressure": totals.fresh_pressure,
        "confirm_window": totals.fresh_window,
        "proxy_requests_by_cache": by_cache,
        "upstream_requests": counters["total"]["requests"],
        "upstream_by_status": counters["total"].get("by_status", {}),
        "upstream_304": counters["total"].get("status_304", 0),
        "github_secondary_limited": counters.get("secondary_limited", 0),
        "fake_max_rest_points": sampler.fake_max,
        "fake_max_content_minute": sampler.fake_content_max,
        "proxy_max_rest_points": sampler.proxy_max,
        "samples": sampler.samples,
        "sample_errors": sampler.errors,
        "refusals": [{"method": k[0], "status": k[1], "cache_status": k[2], "message": k[3],
                      "count": v[0], "first_path": v[1]}
                     for k, v in sorted(totals.refusals.items(), key=lambda kv: -kv[1][0])],
    }
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {args.label}: {totals.requests} requests in {elapsed:.0f} s, "
          f"statuses {row['status']}, upstream {row['upstream_requests']}, "
          f"GitHub secondary limits {row['github_secondary_limited']}", file=sys.stderr)


def table(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("| row | client requests | answered 2xx | 429 from the proxy | other non-2xx "
          "| fresh answers | upstream requests | upstream per client request "
          "| max points per credential per minute (GitHub's count / the proxy's) "
          "| GitHub's secondary-limit answers |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        status = {int(k): v for k, v in r["status"].items()}
        ok = sum(v for k, v in status.items() if 200 <= k < 300)
        r429 = status.get(429, 0)
        other = sum(v for k, v in status.items() if not 200 <= k < 300 and k != 429)
        fresh = r["fresh_under_pressure"] + r["confirm_window"]
        fresh_text = str(fresh)
        if r["confirm_window"]:
            fresh_text += f" ({r['confirm_window']} confirm-window)"
        n = r["client_requests"]
        fake_max = max(r["fake_max_rest_points"].values() or [0])
        proxy_max = max(r["proxy_max_rest_points"].values() or [0])
        print(f"| {r['label']} | {n} | {ok} | {r429} | {other} | {fresh_text} | {r['upstream_requests']} "
              f"| {r['upstream_requests'] / n if n else 0:.2f} | {fake_max} / {proxy_max} "
              f"| {r['github_secondary_limited']} |")
    notes = []
    for r in rows:
        for f in r.get("refusals", []):
            notes.append(f"{r['label']}: {f['count']} × {f['method']} → {f['status']} "
                         f"(Cache-Status `{f['cache_status']}`) \"{f['message']}\" (first: {f['first_path']})")
        # The proxy's own count of answers from entries, next to the clients'.
        fresh_metric = r.get("proxy_requests_by_cache", {}).get("fresh")
        fresh = r["fresh_under_pressure"] + r["confirm_window"]
        if fresh_metric is not None and fresh_metric != fresh:
            notes.append(f"{r['label']}: github_proxy_requests_total{{cache=\"fresh\"}} is {fresh_metric}, "
                         f"the clients counted {fresh} fresh answers")
        if r.get("sample_errors"):
            notes.append(f"{r['label']}: {r['sample_errors']} of the per-second samples failed")
    if notes:
        print()
        for note in notes:
            print("- " + note.replace("\n", " "))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--proxy", required=True)
    r.add_argument("--fake", required=True)
    r.add_argument("--admin", required=True)
    r.add_argument("--client-token", required=True)
    r.add_argument("--tokens", required=True, help="the upstream tokens, comma-separated")
    r.add_argument("--out", required=True)
    r.add_argument("--label", default="run")
    r.add_argument("--jobs", type=int, default=24)
    r.add_argument("--duration", type=float, default=60)
    r.add_argument("--rate", type=float, required=True, help="offered client requests a second, all jobs")
    r.add_argument("--repos", type=int, default=10)
    r.add_argument("--write-every", type=int, default=20)
    r.add_argument("--seed", default="17")
    t = sub.add_parser("table")
    t.add_argument("file")
    args = p.parse_args()
    if args.command == "run":
        run(args)
    else:
        table(args.file)


if __name__ == "__main__":
    main()
