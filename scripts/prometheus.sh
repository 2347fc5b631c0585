#!/usr/bin/env bash
# A real Prometheus (Debian's package, installed when missing) scrapes a jwsgi server on loopback
# for a bounded time while a few requests go to it, then prints what it scraped, from its own
# query API: the series it stored and a few values.
#   scripts/prometheus.sh [SECONDS]     (default 15)
# Everything lives in a temp directory; both servers are stopped by their PID at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/env.sh
find_jdk
ensure_packages prometheus curl
seconds=${1:-15}
dir="$(mktemp -d "${TMPDIR:-/tmp}/jwsgi-prometheus.XXXXXX")"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
metrics=$(free_port)
prom=$(free_port)
jwsgi_pid=""
prom_pid=""
cleanup() {
    for pid in $prom_pid $jwsgi_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $prom_pid $jwsgi_pid; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

./jwsgi -w 2 -b "127.0.0.1:$port" --metrics-bind "127.0.0.1:$metrics" --no-control-socket >"$dir/jwsgi.log" 2>&1 &
jwsgi_pid=$!
for _ in $(seq 600); do
    grep -q "Using worker:" "$dir/jwsgi.log" && break
    kill -0 "$jwsgi_pid" 2>/dev/null || { cat "$dir/jwsgi.log"; exit 1; }
    sleep 0.1
done

cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: jwsgi
    static_configs:
      - targets: ["127.0.0.1:$metrics"]
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$prom" >"$dir/prometheus.log" 2>&1 &
prom_pid=$!

echo "jwsgi on 127.0.0.1:$port (metrics on :$metrics), Prometheus on 127.0.0.1:$prom, for $seconds s; files in $dir"
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null "http://127.0.0.1:$port/" || true
    sleep 0.05
done

# Prints the result of PromQL query $1 as samples, one a line.
query() {
    curl -s --get "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["data"]["result"]:
    metric = s["metric"]
    labels = ",".join(k + "=\"" + v + "\"" for k, v in sorted(metric.items()) if k not in ("__name__", "instance", "job"))
    print("  " + metric.get("__name__", "") + "{" + labels + "} " + s["value"][1])'
}
echo "Target health:"
curl -s "http://127.0.0.1:$prom/api/v1/targets" | python3 -c 'import json, sys
for t in json.load(sys.stdin)["data"]["activeTargets"]: print("  ", t["scrapeUrl"], t["health"], t["lastError"] or "")'
echo "Series Prometheus stored:"
curl -s "http://127.0.0.1:$prom/api/v1/label/__name__/values" | python3 -c 'import json, sys
print("\n".join("  " + n for n in json.load(sys.stdin)["data"] if n.startswith("jwsgi_")))'
echo "sum by (worker, method, status) (jwsgi_requests_total):"
query 'sum by (worker, method, status) (jwsgi_requests_total)'
echo "Requests per second over the last 10 s, by worker:"
query 'sum by (worker) (rate(jwsgi_requests_total[10s]))'
echo "p99 request duration and GIL wait (seconds):"
query 'histogram_quantile(0.99, sum by (le) (rate(jwsgi_request_duration_seconds_bucket[10s])))'
query 'histogram_quantile(0.99, sum by (le) (rate(jwsgi_gil_wait_seconds_bucket[10s])))'
echo "Workers by state:"
query 'jwsgi_workers'
