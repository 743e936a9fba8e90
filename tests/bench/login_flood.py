#!/usr/bin/env python3
"""The measuring side of login_flood.sh: first logins (a credential never used before, each
time) and the calls of a client already logged in, timed one after the other from loopback
addresses of their own, without a flood and then while the flood runs. Prints one JSON line.

usage: login_flood.py PORT PHASE SECONDS  (PHASE: quiet | flood; credentials from the env)
"""

import http.client
import json
import os
import sys
import time

NS = (
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:reg="urn:be:raas:types:PersonRegister:v1" '
    'xmlns:common="urn:be:raas:types:common:v1" '
    'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"'
)
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-username-token-profile-1.0#PasswordText"
)


def envelope(username, password, cbe, ticket):
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope {NS}><soapenv:Header>'
        f"<wsse:Security><wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_TEXT}">{password}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>"
        "<reg:listDossierTypesRequest><reg:informationCustomer>"
        f"<common:ticket>{ticket}</common:ticket>"
        f"<common:timestampSent>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
        "</common:timestampSent><common:customerIdentification>"
        f"<common:cbeNumber>{cbe}</common:cbeNumber></common:customerIdentification>"
        "</reg:informationCustomer></reg:listDossierTypesRequest></soapenv:Body></soapenv:Envelope>"
    ).encode()


class Client:
    """One keep-alive connection from a given loopback address."""

    def __init__(self, port, source):
        self.port, self.source, self.conn = port, source, None

    def call(self, body):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
                )
            start = time.perf_counter()
            try:
                self.conn.request(
                    "POST",
                    "/soap/PersonRegisterService",
                    body,
                    {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                )
                response = self.conn.getresponse()
                answer = response.read().decode()
                break
            except (ConnectionError, http.client.RemoteDisconnected):
                # The server closed an idle keep-alive connection: once more on a new one.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        took = (time.perf_counter() - start) * 1000
        if response.status != 200:
            return took, answer.split("<common:reasonCode>")[-1].split("<")[0]
        return took, None


def percentiles(values):
    values = sorted(values)
    if not values:
        return {"n": 0}
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {
        "n": len(values),
        "p50": round(pick(0.50), 1),
        "p99": round(pick(0.99), 1),
        "max": round(values[-1], 1),
    }


def main():
    port, phase, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    env = os.environ
    cbe, secret = env["BENCH_CBE"], env["FIRST_SECRET"]
    first = int(env["FIRST_FROM"])  # the first fresh credential this phase uses
    sources = {
        "other_address": Client(port, "127.0.0.2"),
        # The flood's own address (wrk sends from 127.0.0.1).
        "flood_address": Client(port, "127.0.0.1"),
    }
    logged_in = Client(port, "127.0.0.3")
    logged_in.call(envelope(env["BENCH_USERNAME"], env["BENCH_PASSWORD"], cbe, "warm"))
    first_logins = {name: [] for name in sources}
    refused = {name: {} for name in [*sources, "logged_in"]}
    remembered = []

    def timed(name, client, body, into):
        took, reason = client.call(body)
        if reason is None:
            into.append(took)
        else:
            refused[name][reason] = refused[name].get(reason, 0) + 1

    deadline = time.monotonic() + seconds
    n = first
    while time.monotonic() < deadline:
        for name, client in sources.items():
            if phase == "quiet" and name == "flood_address":
                continue
            body = envelope(f"first-{n}", secret, cbe, f"first-{n}")
            timed(name, client, body, first_logins[name])
            n += 1
        body = envelope(env["BENCH_USERNAME"], env["BENCH_PASSWORD"], cbe, "again")
        timed("logged_in", logged_in, body, remembered)
        time.sleep(0.05)
    result = {
        "phase": phase,
        "first_login_ms": {k: percentiles(v) for k, v in first_logins.items() if v},
        "logged_in_ms": percentiles(remembered),
        "refused": {k: v for k, v in refused.items() if v},
        "credentials_used": n - first,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
