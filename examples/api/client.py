#!/usr/bin/env python3
"""A judge's use of mini-isolate's native run API (docs/api.md), in Python.

Run as root while a manager serves the configuration (spare_boxes set, or
`mini-isolate manager` started by a service):

    python3 examples/api/client.py [SOCKET]

It compiles nothing: it puts a shell script into box 0, runs it on three
tests in one batch, reads the reports as they stream in, and cleans up.
"""
import base64
import json
import socket
import sys

SOCKET = sys.argv[1] if len(sys.argv) > 1 else "/run/mini-isolate/locks/manager.sock"


class Manager:
    """One connection to the manager: JSON lines, one reply per request."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lines = self.sock.makefile("rb")

    def send(self, request):
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def reply(self):
        rep = json.loads(self.lines.readline())
        if rep.get("error"):
            raise RuntimeError(rep["error"])
        return rep

    def do(self, request):
        self.send(request)
        return self.reply()


def b64(data):
    return base64.b64encode(data).decode()


def main():
    m = Manager(SOCKET)
    print("box:", m.do({"op": "init", "box": 0, "cg": True})["dir"])
    script = b"#!/bin/sh\nread a b\necho $((a + b))\n"
    m.do({"op": "put", "box": 0, "path": "sum.sh", "data": b64(script), "mode": 0o755})
    tests = [b"1 2\n", b"20 22\n", b"x y\n"]
    runs = [{"args": ["/bin/sh", "./sum.sh"], "stdinData": b64(t), "stdout": "out%d.txt" % i,
             "limits": {"time": 1, "wallTime": 2, "memory": "64MiB", "processes": 4}}
            for i, t in enumerate(tests)]
    # The reports stream in as the runs end; the connection serves one
    # request at a time, so the outputs are fetched after the batch.
    m.send({"op": "batch", "box": 0, "cg": True, "runs": runs})
    reports = {}
    while True:
        rep = m.reply()
        if rep.get("done"):
            break
        reports[rep.get("index", 0)] = rep["report"]
        print("test %d: %s" % (rep.get("index", 0), rep["report"]["status"]))
    for i, r in sorted(reports.items()):
        out = m.do({"op": "get", "box": 0, "path": "out%d.txt" % i})
        print("test %d: %s, %.3f s, output %r" % (i, r["status"], r["time"],
                                                 base64.b64decode(out.get("data", "")).decode()))
    m.do({"op": "cleanup", "box": 0, "cg": True})


if __name__ == "__main__":
    main()
