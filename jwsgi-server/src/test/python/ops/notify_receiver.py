"""Stands in for systemd's notification socket: binds a datagram Unix socket (a path, or @name
for an abstract one), creates READY_FILE once bound, then appends every datagram it receives
to OUT_FILE, each followed by a blank line.

usage: notify_receiver.py ADDRESS OUT_FILE READY_FILE
"""
import socket
import sys

address, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + address[1:] if address.startswith("@") else address)
open(ready, "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        f.write(s.recv(65536).decode() + "\n\n")
