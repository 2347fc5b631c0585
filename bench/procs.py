"""Server processes for the benchmark: start, wait until they answer, measure, stop.

A server is a process tree (gunicorn and uWSGI fork workers, jwsgi may run worker JVMs), so
CPU time and memory are summed over the whole tree read from /proc, and stopping a server
signals its main process, then kills whatever is left of the tree by PID.
"""
import http.client
import os
import selectors
import signal
import socket
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    """A loopback port nobody listens on right now."""
    return free_ports(1)[0]


def free_ports(n):
    """n different loopback ports nobody listens on right now (held together while chosen)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree(pid):
    """pid and all its live descendants."""
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, ()))
    return found


def cpu_seconds(pids):
    """utime+stime of each process (all its threads) plus that of its reaped children."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
        total += sum(int(x) for x in fields[11:15])
    return total / CLOCK_TICKS


def memory_mb(pids):
    """(RSS, PSS) summed over the processes, in MB. RSS counts pages shared between forked
    workers once per process; PSS splits them, so it is the fairer total for a pre-fork server."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def http_check(port, method, path, body, headers, timeout=5.0):
    """One request; returns (status, body bytes). Raises OSError when nobody answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def raw_request(method, path, body, headers):
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def keepalive_probe(port, request, connections, seconds):
    """Like wrk, keeps `connections` keep-alive connections busy for `seconds` (each sends its
    next request as soon as its response is complete); returns how many got at least one
    response. A server that serves one keep-alive connection per worker for as long as the
    client keeps sending answers only as many connections as it has workers."""
    socks, answered = [], set()
    sel = selectors.DefaultSelector()
    deadline = time.monotonic() + seconds
    try:
        for i in range(connections):
            s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
            s.sendall(request)
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, (i, bytearray()))
        while time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                i, buf = key.data
                try:
                    data = key.fileobj.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed (e.g. gunicorn sync after each response): done with it
                    sel.unregister(key.fileobj)
                    continue
                buf += data
                while (end := _response_end(buf)) is not None:
                    answered.add(i)
                    del buf[:end]
                    try:
                        key.fileobj.setblocking(True)
                        key.fileobj.sendall(request)
                        key.fileobj.setblocking(False)
                    except OSError:
                        sel.unregister(key.fileobj)
                        break
        return len(answered)
    finally:
        sel.close()
        for s in socks:
            s.close()


def _response_end(buf):
    """The length of the first complete response in buf (Content-Length framing), or None."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    length = 0
    for line in bytes(buf[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    end = head_end + 4 + length
    return end if len(buf) >= end else None


def after_response(port, request, timeout, linger=1.0):
    """What the server does with the connection after answering `request`: {"closed": whether it
    closed it within `linger` seconds of a complete response, "said_close": whether the response
    said "Connection: close", "complete": whether a whole response came}. A client must close
    after a request that says "Connection: close" (RFC 9112, section 9.6); a server that closes
    after a keep-alive request without saying so makes wrk count a read error per response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        got = bytearray()
        deadline = time.monotonic() + timeout
        complete = False
        while time.monotonic() < deadline:
            if not complete and _response_end(got) is not None:
                # The whole response is here: does the connection end right after it?
                complete = True
                s.settimeout(linger)
                deadline = min(deadline, time.monotonic() + linger)
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                data = b""
            if not data:
                whole = complete or _response_end(got) is not None
                return {"closed": whole, "said_close": _says_close(got), "complete": whole}
            got += data
        return {"closed": False, "said_close": _says_close(got), "complete": complete}


def _says_close(buf):
    head = bytes(buf[:max(0, buf.find(b"\r\n\r\n"))]).lower()
    return any(line.startswith(b"connection:") and b"close" in line for line in head.split(b"\r\n"))


def wait_ready(target, check, timeout, poll=0.2, settle=0.3):
    """Polls check() until it returns None (meaning: answered correctly) or timeout; check()
    raising OSError means "not answering yet". `target` has alive() and exit_description().
    After a correct answer it waits `settle` seconds and checks that the target still runs.
    Returns None when ready, else a description of what went wrong."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not target.alive():
            return target.exit_description() + " before answering"
        try:
            problem = check()
        except OSError as e:
            last = f"no answer ({e})"
            time.sleep(poll)
            continue
        if problem is None:
            # Whoever answered must be ours: a server that lost the port race has exited.
            time.sleep(settle)
            return None if target.alive() else target.exit_description()
        return problem
    return f"not ready after {timeout:.0f} s: {last}"


class Server:
    """One running server process tree, started in its own session."""

    def __init__(self, name, argv, cwd, env, log_path, port, stop_signal):
        self.name = name
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.stop_signal = stop_signal
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        self._known = {self.pid}
        self._stop_sent = False

    def alive(self):
        return self.proc.poll() is None

    def pids(self):
        found = tree(self.pid) if self.alive() else []
        self._known.update(found)
        return found

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def exit_description(self):
        return f"exited with code {self.proc.returncode}"

    def front_pids(self):
        """The processes of a proxy in front of the server (none: see nginx.Behind)."""
        return []

    def wait_ready(self, check, timeout, poll=0.2, settle=0.3):
        return wait_ready(self, check, timeout, poll, settle)

    def request_stop(self):
        """Sends the stop signal (once) without waiting, so several servers can stop together."""
        if self._stop_sent:
            return
        self._stop_sent = True
        self.pids()
        if self.alive():
            try:
                os.kill(self.pid, self.stop_signal)
            except ProcessLookupError:
                pass

    def stop(self, grace=10.0):
        """Stops the main process with its stop signal, then kills what is left of the tree."""
        self.request_stop()
        if self.alive():
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # A PID seen earlier may have been reused by now: kill only processes still in our tree
        # or in the session we created for the server.
        leftovers = set(self.pids()) | {p for p in self._known if _session(p) == self.pid}
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the session we created: the tree's group id
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        return sorted(leftovers)


def _session(pid):
    """The session id of a live (non-zombie) process, else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[3])
