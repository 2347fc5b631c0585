#!/usr/bin/env bash
# 10,000 idle keep-alive connections plus normal traffic: the normal traffic's latency (wrk)
# without and with them, and what the idle ones cost the server: RSS, threads, descriptors and
# Java heap of the master and of each worker (which holds the connections). Not part of ./test:
# it needs 20,000 file descriptors and a few minutes. IDLE_WORKERS sets -w (1), IDLE_WARMUP the
# seconds of traffic before each measurement (5).
#   scripts/idle-connections.sh [IDLE_CONNECTIONS [SECONDS_OF_TRAFFIC]]
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$home/scripts/env.sh"
. "$home/scripts/server-processes.sh"
find_jdk
ensure_packages wrk python3-flask
idle=${1:-10000}
seconds=${2:-20}
port=${IDLE_PORT:-18778}
url="http://127.0.0.1:$port"
# The server and the process holding the idle connections each need one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $(( idle + 1000 )) ]; then
    echo "needs $(( idle + 1000 )) open files per process; the hard limit is $(ulimit -Hn)" >&2
    exit 1
fi
log="$(mktemp /tmp/jwsgi-idle.XXXXXX.log)"

# Keep-alive long enough that the idle connections stay for the whole run.
"$home/jwsgi" soak_flask:app --python /usr/bin/python3 --chdir "$home/jwsgi-core/src/test/python/apps" -b "127.0.0.1:$port" \
    --keep-alive 600 -w "${IDLE_WORKERS:-1}" >"$log" 2>&1 &
pid=$!
holder=""
trap 'kill $holder "$pid" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 120); do grep -q "Using worker" "$log" && break; sleep 0.5; done
grep -q "Using worker" "$log" || { cat "$log"; exit 1; }

server_state() {  # label
    echo "== $1: established=$(ss -tnH state established "sport = :$port" | wc -l)"
    server_processes "$pid" heap
}

traffic() {  # label
    wrk -t2 -c16 -d"${IDLE_WARMUP:-5}s" "$url/" >/dev/null  # warm
    local out
    out=$(wrk -t2 -c16 -d"${seconds}s" --latency "$url/")
    echo "$1: $(echo "$out" | awk '/Requests\/sec/ {print "req/s=" $2} /^ +(50|90|99)%/ {print "p" $1 "=" $2} /Socket errors|Non-2xx/ {print}' | paste -sd ' ')"
}

server_state "server idle"
traffic "without idle connections"

# Each idle connection makes one request, reads the answer, and then stays open, sending nothing.
python3 - "$port" "$idle" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
request = b"GET / HTTP/1.1\r\nHost: idle\r\n\r\n"
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"}\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit(f"connection {i} closed by the server")
        data += chunk
    conns.append(s)
print(f"{n} idle keep-alive connections open", flush=True)
time.sleep(3600)
PY
holder=$!
for _ in $(seq 600); do
    [ "$(ss -tnH state established "sport = :$port" | wc -l)" -ge "$idle" ] && break
    kill -0 "$holder" 2>/dev/null || { echo "the idle-connection holder failed"; exit 1; }
    sleep 0.5
done
sleep 2
server_state "server with $idle idle connections"
traffic "with $idle idle connections"
server_state "after the traffic"
kill "$holder"; wait "$holder" 2>/dev/null || true; holder=""
sleep 3
server_state "idle connections closed"
traffic "without idle connections, again"
echo "server log: $log"
