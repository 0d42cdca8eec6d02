"""What both PyGithub end-to-end scripts need (test_pygithub.py,
test_rate_limit_view.py): their settings from the environment run_e2e.sh
passes, a record of every request PyGithub's Requester makes, and the
proxy's /metrics. run_e2e.sh copies this file beside them."""

import logging
import os
import re
import sys
import time
import urllib.request


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set (run through tests/e2e/run_e2e.sh)")
    return value


class Recorder(logging.Handler):
    """Every request PyGithub's Requester makes, from its DEBUG log line:
    (verb, path and query, status, response headers in lower case)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.requests = []

    def emit(self, record):
        args = record.args
        if isinstance(args, tuple) and len(args) == 9:
            verb, _scheme, _host, url, _req_headers, _input, status, headers, _output = args
            self.requests.append((verb, url, status, headers))


def record_requests():
    """A Recorder attached to PyGithub's Requester log (and only there)."""
    recorder = Recorder()
    requester_log = logging.getLogger("github.Requester")
    requester_log.setLevel(logging.DEBUG)
    requester_log.addHandler(recorder)
    requester_log.propagate = False
    return recorder


def metric(admin, name, **labels):
    """Sum of the samples of `name` on the proxy's /metrics at `admin` whose labels include `labels`."""
    with urllib.request.urlopen(admin + "/metrics", timeout=10) as res:
        text = res.read().decode()
    total = 0.0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return int(total)


def eventually_metric(admin, expected, name, **labels):
    """Counters move once the answer is written: poll a little."""
    value = metric(admin, name, **labels)
    deadline = time.monotonic() + 3
    while value < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = metric(admin, name, **labels)
    return value
