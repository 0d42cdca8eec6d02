#!/usr/bin/env python3
"""The numbers of the status page, one `key=value` line each, for the
status-page suite of tests/e2e/run_e2e.sh to compare.

    status_fields.py html FILE   the DOM a browser rendered (chromium --dump-dom)
    status_fields.py json FILE   /status.json

From the HTML (src/status/status_html.cc marks every number with a
data-field attribute): the key is the section's id, then the row's
data-client, data-credential and data-resource, or data-store, then the
field. A row of a table without such attributes (the outages) is numbered
from 1 after the table's id:

    clients.status-a.requests=5
    credentials.upstream-1.core.remaining=4,998 / 5,000
    cache.memory.entries=2
    one-token.outages=1              (a tile)
    one-token.outages.1.refused=3    (a row of table#outages)

and `page.tags.TAG=N` for script, link, img, iframe, object, embed (none
is allowed: the page loads no asset, docs/contract.md §8), and
`page.external_refs=N` for src/href attributes that leave the admin
listener.

From the JSON, dotted paths; a list of objects with a "name" is keyed by
name, another list by position from 1; whole numbers print without ".0":

    clients.status-a.requests=5
    credentials.upstream-1.resources.core.remaining=4998
    one_token.current_window.demand=8
"""

import json
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ASSET_TAGS = ("script", "link", "img", "iframe", "object", "embed")
ROW_KEYS = ("data-client", "data-credential", "data-resource", "data-store")


class StatusPage(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, attrs) of the open elements
        self.rows = {}  # id(table attrs) → rows seen in it
        self.capture = None  # [key, text parts] while inside a data-field element
        self.fields = []
        self.tags = {t: 0 for t in ASSET_TAGS}
        self.external_refs = 0

    def key_for(self, field):
        parts = []
        for tag, attrs in self.stack:
            if tag == "section" and attrs.get("id"):
                parts.append(attrs["id"])
            elif tag == "table" and attrs.get("id"):
                parts.append(attrs["id"])
            elif tag == "tr":
                named = [attrs[k] for k in ROW_KEYS if k in attrs]
                if named:
                    parts.extend(named)
                elif attrs.get("_row"):
                    parts.append(str(attrs["_row"]))
        parts.append(field)
        return ".".join(parts)

    def handle_starttag(self, tag, attr_list):
        attrs = dict((k, v or "") for k, v in attr_list)
        if tag in self.tags:
            self.tags[tag] += 1
        for name in ("src", "href"):
            ref = attrs.get(name, "")
            if ref.startswith(("http:", "https:", "//", "data:")):
                self.external_refs += 1
        if tag == "tr":
            # Rows are numbered within the innermost table with an id; the
            # header row (th cells only) is row 0.
            for t, a in reversed(self.stack):
                if t == "table":
                    self.rows[id(a)] = self.rows.get(id(a), -1) + 1
                    attrs["_row"] = self.rows[id(a)] if a.get("id") else 0
                    break
        if tag in VOID:
            return
        self.stack.append((tag, attrs))
        if "data-field" in attrs and self.capture is None:
            self.capture = [self.key_for(attrs["data-field"]), [], len(self.stack)]

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # Pop to the matching element (the browser's serialisation closes
        # every element, so this is exact).
        while self.stack:
            t, _ = self.stack.pop()
            if self.capture is not None and len(self.stack) < self.capture[2]:
                key, text, _ = self.capture
                self.fields.append((key, " ".join("".join(text).split())))
                self.capture = None
            if t == tag:
                break

    def handle_data(self, data):
        if self.capture is not None:
            self.capture[1].append(data)


def html_fields(text):
    page = StatusPage()
    page.feed(text)
    page.close()
    lines = [f"{k}={v}" for k, v in page.fields]
    lines += [f"page.tags.{t}={n}" for t, n in page.tags.items()]
    lines.append(f"page.external_refs={page.external_refs}")
    return lines


def scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, item in v.items():
            flatten(f"{prefix}.{k}" if prefix else k, item, out)
    elif isinstance(v, list):
        for i, item in enumerate(v, 1):
            name = item.get("name") if isinstance(item, dict) else None
            flatten(f"{prefix}.{name if isinstance(name, str) else i}", item, out)
    else:
        out.append(f"{prefix}={scalar(v)}")


def json_fields(text):
    out = []
    flatten("", json.loads(text), out)
    return out


def main(argv):
    if len(argv) != 3 or argv[1] not in ("html", "json"):
        print("usage: status_fields.py html|json FILE", file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as f:
        text = f.read()
    lines = html_fields(text) if argv[1] == "html" else json_fields(text)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
