#!/usr/bin/env python3
# Drive a command on a pseudo-terminal, as a person at a terminal would. Does I/O.
#
#   echo '[{"expect": "# "}, {"send": "echo hi\r"}, {"expect": "hi"}, {"send": "exit 3\r"}]' |
#     python3 test/helpers/pty-drive.py --rows 24 --cols 80 --timeout 30 -- skiff run -it busybox sh
#   → {"status": 3, "signal": null, "timedOut": false, "error": null, "output_b64": "..."}
#
# The script (JSON on stdin) is a list of steps, run in order:
#   {"expect": "text"}                  wait until the output (since the last match) contains text
#   {"expect": "re", "regex": true}     ... or matches a Python regular expression
#       optional "timeout": seconds (default 10)
#   {"send": "text"}                    write to the terminal (after "delay" s, default 0.05)
#   {"sleep": 0.5}                      keep reading output for that long
#   {"resize": [rows, cols]}            set the window size (the kernel sends SIGWINCH)
#   {"signal": "INT"}                   signal the command's process
#   {"eof": true}                       send ^D
# After the last step it reads until the command exits and the terminal closes, then prints one
# JSON object: exit status or signal name, whether the overall --timeout killed it, the first
# failed expect (with the output at that point), and everything the command wrote, base64.
#
# Only the standard library: Debian's python3 has pty. The command is the session leader of the
# pty (pty.fork does setsid and TIOCSCTTY), like a login shell in a terminal emulator.
import base64
import errno
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def parse_args(argv):
    opts = {"rows": 24, "cols": 80, "timeout": 60.0}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return opts, argv[i + 1 :]
        if a in ("--rows", "--cols", "--timeout") and i + 1 < len(argv):
            opts[a[2:]] = float(argv[i + 1]) if a == "--timeout" else int(argv[i + 1])
            i += 2
            continue
        break
    sys.stderr.write("usage: pty-drive.py [--rows N] [--cols N] [--timeout S] -- COMMAND [ARG...] < script.json\n")
    sys.exit(2)


class Session:
    def __init__(self, pid, fd, deadline):
        self.pid, self.fd, self.deadline = pid, fd, deadline
        self.out = bytearray()
        self.mark = 0  # expect searches output after the previous match
        self.closed = False  # the slave side is closed by everyone (read gave EIO)
        self.wait_status = None

    def pump(self, timeout):
        """Read what the command writes for up to `timeout` seconds (returns early on data)."""
        if self.closed:
            time.sleep(max(0.0, min(timeout, 0.05)))
            return
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # Linux reports a hung-up pty as EIO
                raise
            data = b""
        if data:
            self.out += data
        else:
            self.closed = True

    def reap(self, block=False):
        if self.wait_status is None:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            if pid == self.pid:
                self.wait_status = status
        return self.wait_status is not None

    def write(self, data):
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def expect(self, pattern, is_regex, timeout):
        rx = re.compile(pattern.encode() if is_regex else re.escape(pattern.encode()))
        until = min(time.monotonic() + timeout, self.deadline)
        while True:
            m = rx.search(self.out, self.mark)
            if m:
                self.mark = m.end()
                return True
            if time.monotonic() >= until or (self.closed and self.reap()):
                return False
            self.pump(until - time.monotonic())


def main():
    opts, command = parse_args(sys.argv[1:])
    if not command:
        parse_args([])
    steps = json.load(sys.stdin)
    deadline = time.monotonic() + opts["timeout"]

    pid, fd = pty.fork()
    if pid == 0:
        # Size the terminal before exec so the command never sees 0x0.
        set_winsize(0, opts["rows"], opts["cols"])
        try:
            os.execvp(command[0], command)
        except OSError as e:
            os.write(2, ("pty-drive: cannot run %s: %s\n" % (command[0], e.strerror)).encode())
            os._exit(127)

    s = Session(pid, fd, deadline)
    error = None
    for step in steps:
        if "expect" in step:
            if not s.expect(step["expect"], step.get("regex", False), float(step.get("timeout", 10))):
                shown = s.out[s.mark :].decode("utf-8", "replace")
                error = "did not see %r; output since the last match: %r" % (step["expect"], shown[-2000:])
                break
        elif "send" in step or "eof" in step:
            end = time.monotonic() + float(step.get("delay", 0.05))
            while time.monotonic() < end:
                s.pump(end - time.monotonic())
            try:
                s.write(b"\x04" if "eof" in step else step["send"].encode())
            except OSError as e:
                error = "write to the terminal failed: %s" % e.strerror
                break
        elif "sleep" in step:
            end = time.monotonic() + float(step["sleep"])
            while time.monotonic() < end:
                s.pump(end - time.monotonic())
        elif "resize" in step:
            rows, cols = step["resize"]
            set_winsize(fd, rows, cols)
        elif "signal" in step:
            name = step["signal"].upper()
            os.kill(pid, getattr(signal, name if name.startswith("SIG") else "SIG" + name))
        else:
            error = "unknown step %r" % (step,)
            break

    timed_out = False
    if error is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it ended already (the expect failed because it did)
    # Read until the command has exited and nobody holds the terminal any more; a process left in
    # the background holding it open must not hang the test, so stop 0.5 s after the exit.
    exited_at = None
    while True:
        if s.reap():
            exited_at = exited_at or time.monotonic()
            if s.closed or time.monotonic() - exited_at > 0.5:
                break
        elif time.monotonic() >= deadline:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            s.reap(block=True)
            break
        s.pump(0.05)
    while not s.closed:  # drain what is already buffered
        ready, _, _ = select.select([fd], [], [], 0)
        if not ready:
            break
        s.pump(0)
    os.close(fd)

    status = s.wait_status
    result = {
        "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None,
        "timedOut": timed_out,
        "error": error,
        "output_b64": base64.b64encode(bytes(s.out)).decode(),
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
