#!/usr/bin/env python3
"""Idle FTP control connections for scripts/bench-idle-ftp.sh.

    bench-idle-ftp.py PORT N

Opens N connections to 127.0.0.1:PORT, BATCH at a time, and reads each
one's 220 greeting before opening the next batch (so the server's listen
backlog never overflows). Then prints "ready N SECONDS" and keeps them all
open, sending nothing, until a line arrives on stdin; then it opens one
more connection, prints "late 220" if it is greeted within 10 s (the
server still answers with N sessions held) or "late FAIL", and closes
everything. Exits non-zero if any of the N got no 220.
"""
import resource
import selectors
import socket
import sys
import time

BATCH = 500
TIMEOUT = 30.0


def greet_all(socks):
    """Reads a whole 220 line on each socket; returns how many got one."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        bufs[s] = b""
    ok = 0
    deadline = time.monotonic() + TIMEOUT
    while bufs and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                del bufs[s]
                continue
            bufs[s] += data
            if b"\n" in bufs[s]:
                line = bufs[s].split(b"\n", 1)[0]
                sel.unregister(s)
                del bufs[s]
                if line.startswith(b"220"):
                    ok += 1
    sel.close()
    return ok


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if n + 16 > hard:
        sys.exit("RLIMIT_NOFILE hard limit %d is too low for %d connections" % (hard, n))
    held = []
    ok = 0
    t0 = time.perf_counter()
    while len(held) < n:
        batch = []
        for _ in range(min(BATCH, n - len(held))):
            s = socket.socket()
            s.settimeout(TIMEOUT)
            s.connect(("127.0.0.1", port))
            batch.append(s)
        ok += greet_all(batch)
        held.extend(batch)
    elapsed = time.perf_counter() - t0
    print("ready %d %.2f" % (ok, elapsed), flush=True)
    sys.stdin.readline()
    try:
        late = socket.create_connection(("127.0.0.1", port), timeout=10)
        line = late.makefile("rb").readline()
        print("late %s" % ("220" if line.startswith(b"220") else "FAIL"), flush=True)
        late.close()
    except OSError:
        print("late FAIL", flush=True)
    for s in held:
        s.close()
    sys.exit(0 if ok == n else 1)


if __name__ == "__main__":
    main()
