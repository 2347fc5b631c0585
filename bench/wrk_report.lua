-- wrk script for bench/bench.py: sets a POST body when BENCH_POST_BYTES is given, and prints
-- one machine-readable line at the end. It defines no request/response function, so wrk
-- keeps sending its prebuilt request at full speed; with BENCH_DELAY_MS, each connection waits
-- that long on average (exponentially distributed) between a response and its next request,
-- which paces the run to a chosen rate. wrk's latency counts from the send, so the wait is not in it.
-- With BENCH_T0 (the cold scenarios) it also counts the responses of each second from that
-- moment, which takes a Lua call per response: about 1.5 us of wrk's CPU per response (measured
-- against nginx answering by itself: 9.3-10.6 us without, 11.1-11.9 with), whichever server answers.
local post_bytes = tonumber(os.getenv("BENCH_POST_BYTES") or "0")
if post_bytes > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("b", post_bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  -- Exponential waits with that mean: each connection's next request comes at a random moment,
  -- as independent clients' do. A fixed wait kept the connections in step (they all start
  -- together), so requests came in bursts of one per connection and queued behind each other,
  -- which measured the burst rather than the rate. wrk takes whole milliseconds: the draw is
  -- rounded up as often as its fraction says, so the mean stays exact.
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
  function delay()
    local wait = -delay_ms * math.log(1 - math.random())
    local whole = math.floor(wait)
    if math.random() < wait - whole then
      return whole + 1
    end
    return whole
  end
end

local threads = {}
local t0 = tonumber(os.getenv("BENCH_T0") or "")
if t0 then
  -- Seconds count from BENCH_T0, a CLOCK_MONOTONIC time (Python's time.monotonic()), read here
  -- through LuaJIT's FFI: os.time() has whole wall-clock seconds only.
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local now = ffi.new("bench_timespec")

  function setup(thread)
    table.insert(threads, thread)
  end

  function init(args)
    counts = {}
  end

  function response(status, headers, body)
    ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
    local second = math.floor(tonumber(now.tv_sec) + tonumber(now.tv_nsec) * 1e-9 - t0)
    counts[second] = (counts[second] or 0) + 1
  end
end

local function per_second_line()
  local total = {}
  for _, thread in ipairs(threads) do
    for second, n in pairs(thread:get("counts") or {}) do
      total[second] = (total[second] or 0) + n
    end
  end
  local parts = {}
  for second, n in pairs(total) do
    table.insert(parts, string.format('"%d": %d', second, n))
  end
  io.write('BENCH_SECONDS {' .. table.concat(parts, ", ") .. '}\n')
end

function done(summary, latency, requests)
  if #threads > 0 then
    per_second_line()
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "lat_mean_us": %.1f, "lat_p50_us": %d, ' ..
    '"lat_p90_us": %d, "lat_p99_us": %d, "lat_max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
