# Sourced by scripts/soak.sh and scripts/idle-connections.sh: what a jwsgi server holds, process
# by process. The connections and the app live in the workers (the master's child processes);
# the master only supervises, so its numbers alone say nothing about a worker that grows.

# The pids of the worker processes of master $1, oldest first.
worker_pids() {
    ps -o pid= --ppid "$1" --sort=start_time | tr -d ' '
}

# One line for the master $1 and one per worker: pid, RSS, threads, open descriptors, and with
# a second argument "heap" also the Java heap in use after a full collection (jcmd).
server_processes() {
    local master=$1 with_heap=${2:-} pid role status line heap
    for pid in "$master" $(worker_pids "$master"); do
        role=worker
        [ "$pid" = "$master" ] && role=master
        # A worker replaced meanwhile is gone: say so rather than stop the script.
        if ! status="$(cat "/proc/$pid/status" 2>/dev/null)"; then
            echo "  $role pid=$pid gone"
            continue
        fi
        line="$role pid=$pid rss_kb=$(awk '/^VmRSS/ {print $2}' <<<"$status") threads=$(awk '/^Threads/ {print $2}' <<<"$status")"
        line="$line fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)"
        if [ "$with_heap" = heap ]; then
            "$JAVA_HOME/bin/jcmd" "$pid" GC.run >/dev/null 2>&1 || true
            # Every generation's "total ..., used NK" (the serial collector's two, G1's one heap).
            heap=$("$JAVA_HOME/bin/jcmd" "$pid" GC.heap_info 2>/dev/null \
                | awk '/ total [0-9]+K, used [0-9]+K/ {sub(/K.*/, "", $5); used += $5} END {if (used != "") print used "K"}')
            line="$line java_heap_used=${heap:-?}"
        fi
        echo "  $line"
    done
}
