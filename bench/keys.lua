-- wrk script for bench/run.sh: every request is a GET of one JSON object of
-- the fake GitHub, cycling through BENCH_KEYS distinct URLs (the fake ignores
-- the query, the caches key on it):
--   BENCH_PATH=repo   /repos/octo-org/repo-<k mod 100>?k=<k>, a repository
--                     (~6.8 KB body)
--   BENCH_PATH=issue  /repos/octo-org/repo-<k mod 100>/issues/1?k=<k>, an
--                     issue (~2.1 KB body)
-- Each wrk thread walks its own slice of the key space, so a URL comes back
-- only after the thread has gone through all the others.
--
-- Environment (read by every thread):
--   BENCH_KEYS      number of distinct URLs (1 = one hot URL, no query)
--   BENCH_PATH      repo (default) or issue, as above
--   BENCH_ETAGS     file of "index etag" lines (repo index 0..99): send
--                   If-None-Match with the ETag of that repo's object (of
--                   the BENCH_PATH kind), so the fake answers 304 (the
--                   upstream half of a cache hit)
--   BENCH_HEADERS   extra "Name: value" headers separated by "|"
--   BENCH_THREADS   wrk's -t (the number of slices)
--   BENCH_START     index in its slice at which each thread starts

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local position = 1

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

function init(args)
  local keys = tonumber(os.getenv("BENCH_KEYS") or "1")
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local suffix = ""
  if os.getenv("BENCH_PATH") == "issue" then suffix = "/issues/1" end
  local etags = {}
  local etag_file = os.getenv("BENCH_ETAGS")
  if etag_file and etag_file ~= "" then
    for line in io.lines(etag_file) do
      local i, tag = line:match("^(%d+)%s+(.+)$")
      if i then etags[tonumber(i)] = tag end
    end
  end
  local base = copy(wrk.headers)
  for h in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^|]+") do
    local name, value = h:match("^%s*([^:]+):%s*(.*)$")
    if name then base[name] = value end
  end
  -- This thread's slice: [lo, hi).
  local per = math.ceil(keys / nthreads)
  local lo = id * per
  local hi = math.min(keys, lo + per)
  if keys == 1 then lo, hi = 0, 1 end
  for k = lo, hi - 1 do
    local repo = k % 100
    local path = "/repos/octo-org/repo-" .. repo .. suffix
    if keys > 1 then path = path .. "?k=" .. k end
    local headers = copy(base)
    if etags[repo] then headers["If-None-Match"] = etags[repo] end
    table.insert(requests, wrk.format("GET", path, headers))
  end
  -- Where this thread starts in its slice: BENCH_START (run.sh passes the
  -- number of requests each thread made in the warm-up, so that the measured
  -- run carries on where the warm-up stopped instead of revisiting the URLs
  -- it has just refreshed, which nginx would hold as fresh if its entries
  -- were not stored already expired; see bench/nginx.conf.template).
  local start = tonumber(os.getenv("BENCH_START") or "0")
  position = (start + id * 7919) % #requests + 1
end

function request()
  local r = requests[position]
  position = position + 1
  if position > #requests then position = 1 end
  return r
end
