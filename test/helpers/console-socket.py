#!/usr/bin/env python3
# An OCI engine's console socket, as conmon and containerd's shim have one: listen on an AF_UNIX
# socket, take the pty master a runtime sends (SCM_RIGHTS), write INPUT to it, and print all the
# terminal's output until it closes. Does I/O.
#
#   python3 test/helpers/console-socket.py SOCKET 'echo hi; exit 3\n' &
#   skiff runtime create --console-socket SOCKET ID ...
#
# Prints one JSON line: {"name": what came with the fd, "output": the terminal's text}. Only the
# standard library (socket.recv_fds: Python 3.9).
import json
import os
import select
import socket
import sys

path, text = sys.argv[1], sys.argv[2].encode().decode('unicode_escape').encode()
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
server.settimeout(60)
conn, _ = server.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
master = fds[0]
os.write(master, text)
out = b''
while True:
    ready, _, _ = select.select([master], [], [], 60)
    if not ready:
        break
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break  # EIO: the terminal's last process closed it
    if not chunk:
        break
    out += chunk
print(json.dumps({'name': msg.decode(errors='replace'), 'output': out.decode(errors='replace')}), flush=True)
