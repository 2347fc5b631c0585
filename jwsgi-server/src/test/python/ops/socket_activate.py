"""Starts a command as systemd's socket activation does: a listening TCP socket on 127.0.0.1 (a
free port) as descriptor 3, LISTEN_FDS=1, LISTEN_FDNAMES=web and LISTEN_PID set to the command's
own process id (this process execs it).

usage: socket_activate.py COMMAND [ARGS...]
"""
import os
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
if s.fileno() == 3:
    os.set_inheritable(3, True)
else:
    os.dup2(s.fileno(), 3, inheritable=True)
os.environ.update(LISTEN_FDS="1", LISTEN_FDNAMES="web", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[1], sys.argv[1:])
