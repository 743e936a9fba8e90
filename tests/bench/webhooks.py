#!/usr/bin/env python3
"""The webhooks benchmark: ORGANISATIONS organisations (default 2 000), each subscribed to
PERSON_MUTATIONS and with one webhook endpoint on a local receiver; one daily run
(`raas batch run`) makes a file for each, hence a delivery and a `delivery.available`
message each. Measured: from the end of the batch run until every webhook has been received
(each verified with the official `standardwebhooks` library, counted once per webhook-id).

    tests/bench/webhooks.py                 # SQLite, release build at target/release/raas
    BACKEND=postgres tests/bench/webhooks.py
    ORGANISATIONS=20000 tests/bench/webhooks.py

Needs .venv with standardwebhooks (tests/zeep/requirements.txt) and sqlite3 / psql."""

from __future__ import annotations

import datetime
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
RAAS = os.environ.get("RAAS_BIN", str(ROOT / "target/release/raas"))
N = int(os.environ.get("ORGANISATIONS", "2000"))
BACKEND = os.environ.get("BACKEND", "sqlite")
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.ids: set[str] = set()
        self.last = 0.0
        self.invalid = 0
        self.verifier = Webhook(SECRET)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k: self.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        try:
            self.server.verifier.verify(body, headers)
            ok = True
        except Exception:
            ok = False
        with self.server.lock:
            if ok:
                self.server.ids.add(headers["webhook-id"])
                self.server.last = time.monotonic()
            else:
                self.server.invalid += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def sql(url: str, text: str) -> None:
    if BACKEND == "sqlite":
        subprocess.run(["sqlite3", url], input=text, text=True, check=True)
    else:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=text, text=True, check=True)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="raas-bench-webhooks-"))
    if BACKEND == "sqlite":
        url = str(work / "raas.db")
    else:
        subprocess.run(["psql", "-q", f"{PG_URL}/postgres", "-c", "DROP DATABASE IF EXISTS raas_bench_webhooks WITH (FORCE)"], check=True)
        subprocess.run(["psql", "-q", f"{PG_URL}/postgres", "-c", "CREATE DATABASE raas_bench_webhooks"], check=True)
        url = f"{PG_URL}/raas_bench_webhooks"
    base = [RAAS, "--database-url", url, "--outbox", str(work / "outbox")]
    subprocess.run(base + ["migrate"], check=True, capture_output=True)
    key = work / "key.pem"
    subprocess.run([RAAS, "batch", "keygen", "-o", str(key)], check=True, capture_output=True)
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    stamp = "2026-01-01 00:00:00.000000"
    orgs = ",".join(
        f"({i}, '{8000000 + i:08d}{97 - (8000000 + i) % 97:02d}', 'Bench {i}', '{stamp}')" for i in range(1, N + 1)
    )
    subs = ",".join(
        f"({i}, 'PERSON_MUTATIONS', NULL, NULL, NULL, '{yesterday}', NULL, '{stamp}')" for i in range(1, N + 1)
    )
    hooks = ",".join(
        f"({i}, '{hook}', ' delivery.available ', '{SECRET}', '{stamp}')" for i in range(1, N + 1)
    )
    sql(url, f"""
        INSERT INTO organisations (id, cbe_number, name, created_at) VALUES {orgs};
        INSERT INTO subscriptions (organisation_id, file_type, authorisation, authorised_from,
            authorised_to, starts_on, ends_on, created_at) VALUES {subs};
        INSERT INTO webhook_endpoints (organisation_id, url, events, secret, created_at) VALUES {hooks};
    """)
    if BACKEND == "postgres":
        sql(url, "SELECT setval('organisations_id_seq', (SELECT max(id) FROM organisations));")
    serve = subprocess.Popen(
        base + ["serve", "--listen", "127.0.0.1:0", "--webhook-allow-private", "true"],
        stdout=subprocess.PIPE, stderr=open(work / "serve.log", "w"), text=True,
    )
    try:
        serve.stdout.readline()  # listening
        started = time.monotonic()
        run = subprocess.run(
            base + ["--signing-key", str(key), "batch", "run", "--date", yesterday, "--quiet"],
            check=True, capture_output=True, text=True,
        )
        ended = time.monotonic()
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        deadline = ended + 120
        while time.monotonic() < deadline:
            with receiver.lock:
                if len(receiver.ids) >= N:
                    break
            time.sleep(0.05)
        with receiver.lock:
            received, last, invalid = len(receiver.ids), receiver.last, receiver.invalid
        result = {
            "backend": BACKEND,
            "organisations": N,
            "files": summary.get("files"),
            "batch_run_s": round(ended - started, 3),
            "webhooks_received": received,
            "invalid_signatures": invalid,
            "batch_end_to_last_webhook_s": round(last - ended, 3) if received else None,
        }
        print(json.dumps(result))
        return 0 if received == N and invalid == 0 else 1
    finally:
        serve.terminate()
        serve.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
