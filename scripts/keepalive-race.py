#!/usr/bin/env python3
"""Reproduces a Jetty race found by the mutation campaign: while other connections each send a
valid request followed by garbage and half-close, a request on a kept-alive connection now and
then gets "400 Bad Request" (URI: its own request) or a stray extra response: its bytes were
parsed together with bytes another connection sent. The connection's request buffer is
released while still in use (compare jetty/jetty.project#12939), and Jetty's pool hands it to
another connection at once. Plain Jetty 12.1.10 to 12.1.14 (bench/RawJetty.java, no jwsgi code)
fails within a few hundred connections; jwsgi delays buffer reuse (DelayedReuseBufferPool) and
runs this clean.

    java -cp 'target/lib/*' bench/RawJetty.java 18502 &
    scripts/keepalive-race.py 18502 120

    ./jwsgi hardening --chdir jwsgi-core/src/test/python/apps --python /usr/bin/python3 -b 127.0.0.1:18501 --threads 4 &
    scripts/keepalive-race.py 18501 120
"""
import re
import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
INPUTS = [b"GET /echo/%d?q=1 HTTP/1.1\r\nHost: h\r\n\r\n: 10.0.0.1\r\n\r\n",
          b"GET /echo/%d HTTP/1.1\r\nHost: h\r\n\r\nGET /echo/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
          b"GET /echo/%d HTTP/1.1\r\nHost: h\r\n\r\nG(T / HTTP/1.1\r\n\r\n"]


def read_response(s, buf):
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise EOFError
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(rest) < n:
        data = s.recv(65536)
        if not data:
            raise EOFError
        rest += data
    return head, rest[:n], rest[n:]


kept = socket.create_connection(("127.0.0.1", port))
pending = b""
start = time.time()
i = 0
while time.time() - start < seconds:
    i += 1
    other = socket.create_connection(("127.0.0.1", port))
    other.sendall(INPUTS[i % 3] % i)
    other.shutdown(socket.SHUT_WR)
    while other.recv(65536):
        pass
    other.close()
    try:
        kept.sendall(b"GET /seen HTTP/1.1\r\nHost: h\r\n\r\n")
        head, body, pending = read_response(kept, pending)
    except (EOFError, ConnectionError):
        kept, pending = socket.create_connection(("127.0.0.1", port)), b""
        continue
    if not head.startswith(b"HTTP/1.1 200"):
        print(f"after {i} connections the kept-alive one got:\n{head.decode('latin-1')}\n{body.decode('latin-1')}")
        sys.exit(1)
print(f"{i} connections, no wrong answer")
