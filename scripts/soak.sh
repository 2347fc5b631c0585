#!/usr/bin/env bash
# Soak: 1,000,000 keep-alive requests and 100,000 on new connections to a Flask app, then the
# server's RSS, open file descriptors, Java heap after a full GC and Python's object counts,
# before and after (after a warm-up). Not part of ./test: it takes 10-20 minutes on 2 cores.
#   scripts/soak.sh [KEEPALIVE_REQUESTS [NEW_CONNECTION_REQUESTS [CONCURRENCY]]]
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$home/scripts/env.sh"
find_jdk
ensure_packages apache2-utils python3-flask
keepalive=${1:-1000000}
fresh=${2:-100000}
concurrency=${3:-16}
port=${SOAK_PORT:-18777}
url="http://127.0.0.1:$port"
log="$(mktemp /tmp/jwsgi-soak.XXXXXX.log)"

"$home/jwsgi" soak_flask:app --python /usr/bin/python3 --chdir "$home/src/test/python/apps" -b "127.0.0.1:$port" \
    --backlog 4096 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 120); do grep -q "Using worker" "$log" && break; sleep 0.5; done
grep -q "Using worker" "$log" || { cat "$log"; exit 1; }

snapshot() {
    local rss fds heap py
    "$JAVA_HOME/bin/jcmd" "$pid" GC.run >/dev/null
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    heap=$("$JAVA_HOME/bin/jcmd" "$pid" GC.heap_info | awk '/used/ {for (i = 1; i <= NF; i++) if ($i == "used") {print $(i+1); exit}}')
    py=$(curl -s "$url/stats")
    echo "rss_kb=$rss fds=$fds java_heap_used=$heap python=$py"
}

ab_run() {  # label, ab arguments...
    local label=$1; shift
    local out
    out=$(ab -q -r "$@" 2>&1)
    echo "$label: $(echo "$out" | grep -E '^(Complete requests|Failed requests|Non-2xx responses|Requests per second)' | tr -s ' ' | paste -sd ';')"
}

echo "== warm-up (50,000 keep-alive requests)"
ab_run warm-up -k -n 50000 -c "$concurrency" "$url/"
echo "== before: $(snapshot)"
start=$(date +%s)
ab_run "keep-alive x$keepalive" -k -n "$keepalive" -c "$concurrency" "$url/"
ab_run "new connections x$fresh" -n "$fresh" -c "$concurrency" "$url/"
echo "== after:  $(snapshot)   ($(( $(date +%s) - start )) s)"
grep -E "ERROR|WARN|Exception" "$log" | head -20 || true
echo "server log: $log"
