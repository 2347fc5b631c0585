#!/usr/bin/env python3
"""The training load for jwsgi's AOT caches: requests of every common kind, for a few seconds.

The ./jwsgi launcher runs it once per build against a jwsgi that records what it loads, links
and profiles (-XX:AOTCacheOutput); later starts map that cache and reach full speed sooner.
What matters is that the server's own code paths run often: keep-alive and close, GET, HEAD
and POST (sized and chunked), a malformed request. The app is the bundled demo app.

    aot-train.py PORT SECONDS
"""
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def exchange(sock, request):
    """Sends one request and reads until the response's body is complete (Content-Length)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if request.startswith(b"HEAD "):
        length = 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def keep_alive(port, deadline, requests):
    with socket.create_connection((HOST, port)) as sock:
        while time.monotonic() < deadline:
            for request in requests:
                exchange(sock, request)


def one_per_connection(port, deadline, request):
    while time.monotonic() < deadline:
        with socket.create_connection((HOST, port)) as sock:
            exchange(sock, request)
            try:
                sock.recv(1)  # waits for the server's close
            except ConnectionError:
                pass


def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    host = f"Host: {HOST}:{port}\r\n".encode()
    form = b"message=hello+jwsgi"
    get = b"GET /?q=1 HTTP/1.1\r\n" + host + b"Accept: */*\r\n\r\n"
    head = b"HEAD / HTTP/1.1\r\n" + host + b"\r\n"
    post = (b"POST /form HTTP/1.1\r\n" + host + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + b"Content-Length: " + str(len(form)).encode() + b"\r\n\r\n" + form)
    chunked = (b"POST /form HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n"
               + f"{len(form):x}\r\n".encode() + form + b"\r\n0\r\n\r\n")
    close = b"GET / HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n"
    malformed = b"GET / HTTP/1.1\r\n" + host + b"Bad Header\r\n\r\n"

    deadline = time.monotonic() + seconds
    loads = [
        threading.Thread(target=keep_alive, args=(port, deadline, [get, get, get, head, post, chunked])),
        threading.Thread(target=keep_alive, args=(port, deadline, [get])),
        threading.Thread(target=one_per_connection, args=(port, deadline, close)),
        threading.Thread(target=one_per_connection, args=(port, deadline, malformed)),
    ]
    for t in loads:
        t.start()
    for t in loads:
        t.join()


if __name__ == "__main__":
    main()
