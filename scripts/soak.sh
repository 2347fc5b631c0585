#!/usr/bin/env bash
# Soak: 1,000,000 keep-alive requests and 100,000 on new connections to a Flask app, then the
# RSS, open file descriptors, threads and Java heap after a full GC of the master and of each
# worker, and Python's object counts, before and after (after a warm-up). Not part of ./test:
# it takes 10-20 minutes on 2 cores. SOAK_WORKERS sets -w (1), SOAK_WARMUP the warm-up's
# requests (50,000).
#   scripts/soak.sh [KEEPALIVE_REQUESTS [NEW_CONNECTION_REQUESTS [CONCURRENCY]]]
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$home/scripts/env.sh"
. "$home/scripts/server-processes.sh"
find_jdk
ensure_packages apache2-utils python3-flask
keepalive=${1:-1000000}
fresh=${2:-100000}
concurrency=${3:-16}
port=${SOAK_PORT:-18777}
url="http://127.0.0.1:$port"
log="$(mktemp /tmp/jwsgi-soak.XXXXXX.log)"

"$home/jwsgi" soak_flask:app --python /usr/bin/python3 --chdir "$home/jwsgi-core/src/test/python/apps" -b "127.0.0.1:$port" \
    --backlog 4096 -w "${SOAK_WORKERS:-1}" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 120); do grep -q "Using worker" "$log" && break; sleep 0.5; done
grep -q "Using worker" "$log" || { cat "$log"; exit 1; }

snapshot() {  # label
    echo "== $1"
    server_processes "$pid" heap
    echo "  python (the worker that answered /stats): $(curl -s "$url/stats")"
}

ab_run() {  # label, ab arguments...
    local label=$1; shift
    local out
    out=$(ab -q -r "$@" 2>&1)
    echo "$label: $(echo "$out" | grep -E '^(Complete requests|Failed requests|Non-2xx responses|Requests per second)' | tr -s ' ' | paste -sd ';')"
}

warmup=${SOAK_WARMUP:-50000}
echo "== warm-up ($warmup keep-alive requests)"
ab_run warm-up -k -n "$warmup" -c "$concurrency" "$url/"
snapshot before
start=$(date +%s)
ab_run "keep-alive x$keepalive" -k -n "$keepalive" -c "$concurrency" "$url/"
ab_run "new connections x$fresh" -n "$fresh" -c "$concurrency" "$url/"
snapshot "after ($(( $(date +%s) - start )) s)"
grep -E "ERROR|WARN|Exception" "$log" | head -20 || true
echo "server log: $log"
