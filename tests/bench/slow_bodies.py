#!/usr/bin/env python3
"""Slow bodies against a running server: N connections send a SOAP request's head, then its
body at one byte a second; meanwhile an honest client posts a whole (unauthenticated)
envelope every 0.2 s and times its answer. Prints when the slow connections were cut off,
with what, and the honest client's latencies.

    target/release/raas --database-url /tmp/slow.db serve --listen 127.0.0.1:18940 2>/dev/null &
    python3 tests/bench/slow_bodies.py --url http://127.0.0.1:18940 --connections 2000
"""

from __future__ import annotations

import argparse
import http.client
import selectors
import socket
import statistics
import time
import urllib.parse

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:reg="urn:be:raas:types:personregister:v1"><soapenv:Body>'
    "<reg:listDossierTypesRequest/></soapenv:Body></soapenv:Envelope>"
).encode()
PATH = "/soap/PersonRegisterService"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds before giving up")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port

    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: text/xml; charset=utf-8\r\nSOAPAction: \"\"\r\n"
        f"Content-Length: {len(ENVELOPE)}\r\n\r\n"
    ).encode()
    selector = selectors.DefaultSelector()
    slow = []
    for _ in range(args.connections):
        conn = socket.create_connection((host, port))
        conn.sendall(head)
        conn.setblocking(False)
        state = {"conn": conn, "sent": 0, "answer": b"", "opened": time.monotonic(), "closed": None}
        slow.append(state)
        selector.register(conn, selectors.EVENT_READ, state)
    print(f"{len(slow)} slow connections open")

    honest = []
    start = time.monotonic()
    next_byte = start
    next_honest = start
    while any(s["closed"] is None for s in slow) and time.monotonic() - start < args.limit:
        now = time.monotonic()
        if now >= next_byte:
            for s in slow:
                if s["closed"] is None and s["sent"] < len(ENVELOPE) - 1:
                    try:
                        s["sent"] += s["conn"].send(ENVELOPE[s["sent"] : s["sent"] + 1])
                    except OSError:
                        pass
            next_byte += 1.0
        if now >= next_honest:
            t0 = time.monotonic()
            client = http.client.HTTPConnection(host, port, timeout=30)
            client.request("POST", PATH, ENVELOPE, {"Content-Type": "text/xml; charset=utf-8"})
            response = client.getresponse()
            response.read()
            client.close()
            honest.append(time.monotonic() - t0)
            next_honest += 0.2
        for key, _ in selector.select(timeout=0.05):
            s = key.data
            try:
                data = s["conn"].recv(65536)
            except OSError:
                data = b""
            if data:
                s["answer"] += data
            else:
                s["closed"] = time.monotonic()
                selector.unregister(s["conn"])
                s["conn"].close()

    cut = sorted(s["closed"] - s["opened"] for s in slow if s["closed"] is not None)
    timeouts = sum(b"REQUEST_TIMEOUT" in s["answer"] for s in slow)
    print(f"cut off: {len(cut)}/{len(slow)}, answered REQUEST_TIMEOUT: {timeouts}")
    if cut:
        print(f"cut off after: min {cut[0]:.2f} s, median {statistics.median(cut):.2f} s, "
              f"max {cut[-1]:.2f} s")
    if honest:
        ms = sorted(h * 1000 for h in honest)
        print(f"honest requests: {len(ms)}, median {statistics.median(ms):.1f} ms, "
              f"max {ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
