-- wrk script for bench/bench.py: sets a POST body when BENCH_POST_BYTES is given, and prints
-- one machine-readable line at the end. It defines no request/response function, so wrk
-- keeps sending its prebuilt request at full speed; with BENCH_DELAY_MS, each connection waits
-- that long on average (exponentially distributed) between a response and its next request,
-- which paces the run to a chosen rate. wrk's latency counts from the send, so the wait is not in it.
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

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "lat_mean_us": %.1f, "lat_p50_us": %d, ' ..
    '"lat_p90_us": %d, "lat_p99_us": %d, "lat_max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
