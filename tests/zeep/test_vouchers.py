"""The signed vouchers read by an independent Ed25519 implementation (Python `cryptography`):
the key `raas batch keygen` writes and the public key `raas batch public-key` prints, the
signatures of the vouchers `raas batch run` writes, and `raas voucher verify` accepting a
voucher signed by `cryptography` itself.

These tests use a SQLite database of their own (no server)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import sqlite3
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import xmlschema
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from support import CLI_TIMEOUT_S, XSD_DIR, raas_bin

CBE = "0202239951"
VOUCHER_NS = "urn:be:raas:batch:Voucher:v1"


def raas(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(raas_bin()), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        pytest.fail(f"raas {' '.join(args)} exited with {result.returncode}:\n{result.stderr}")
    return result


def make_keys(tmp_path: Path) -> tuple[Path, Ed25519PublicKey]:
    key = tmp_path / "key.pem"
    raas(tmp_path, "batch", "keygen", "-o", str(key))
    printed = raas(tmp_path, "--signing-key", str(key), "batch", "public-key").stdout
    public = serialization.load_pem_public_key(printed.encode())
    assert isinstance(public, Ed25519PublicKey)
    (tmp_path / "public.pem").write_text(printed)
    return key, public


def test_the_key_files_are_standard(tmp_path):
    key, public = make_keys(tmp_path)
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert private.public_key().public_bytes(*raw) == public.public_bytes(*raw)
    # The printed public key is exactly what cryptography writes for it.
    assert (tmp_path / "public.pem").read_bytes() == public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key.stat().st_mode & 0o777 == 0o600


def voucher_xml(name: str, data: bytes, records: int, sequence: int, day: str) -> str:
    fields = [
        ("sender", "raas"),
        ("receiver", CBE),
        ("serverTicket", "python-made"),
        ("fileName", name),
        ("fileType", "PERSON_MUTATIONS"),
        ("schemaVersion", "1.0"),
        ("fileSequenceNumber", str(sequence)),
        ("referenceDate", day),
        ("createdAt", "2026-12-01T02:00:00Z"),
        ("recordCount", str(records)),
        ("fileSize", str(len(data))),
        ("sha256", hashlib.sha256(data).hexdigest()),
    ]
    body = "".join(f"  <{k}>{v}</{k}>\n" for k, v in fields)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Voucher xmlns="{VOUCHER_NS}">\n{body}</Voucher>\n'


def test_raas_accepts_a_voucher_signed_by_cryptography(tmp_path):
    key, _ = make_keys(tmp_path)
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    folder = tmp_path / CBE
    folder.mkdir()
    schema = xmlschema.XMLSchema(str(XSD_DIR / "Voucher.xsd"))
    for sequence in (1, 2):
        day = f"2026-11-{sequence:02d}"
        name = f"PERSON_MUTATIONS_{CBE}_202611{sequence:02d}_{sequence:06d}.xml"
        data = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PersonMutations><header/><records>'
            + "<r/>" * sequence
            + f"</records><trailer><recordCount>{sequence}</recordCount></trailer>"
            "</PersonMutations>\n"
        ).encode()
        (folder / name).write_bytes(data)
        voucher = voucher_xml(name, data, sequence, sequence, day).encode()
        schema.validate(voucher.decode())
        (folder / f"{name}.voucher.xml").write_bytes(voucher)
        signature = base64.b64encode(private.sign(voucher)).decode() + "\n"
        (folder / f"{name}.voucher.sig").write_text(signature)
    files = sorted(str(p) for p in folder.iterdir())
    result = raas(tmp_path, "voucher", "verify", "--public-key", "public.pem", *files)
    lines = result.stdout.splitlines()
    assert lines[-1] == "2 of 2 files verified, 0 failed; 1 of 1 sequences complete", result.stdout

    # One byte of a voucher changed: raas refuses it as cryptography does.
    first = sorted(folder.glob("*.voucher.xml"))[0]
    changed = first.read_bytes().replace(b"python-made", b"python-mad3")
    signature = base64.b64decode((first.parent / (first.name[: -len(".xml")] + ".sig")).read_text())
    with pytest.raises(InvalidSignature):
        private.public_key().verify(signature, changed)
    first.write_bytes(changed)
    refused = raas(tmp_path, "voucher", "verify", "--public-key", "public.pem", *files, check=False)
    assert refused.returncode == 1
    assert "the voucher's signature does not verify" in refused.stdout


def brussels_today() -> datetime.date:
    return datetime.datetime.now(ZoneInfo("Europe/Brussels")).date()


def test_every_signature_of_a_run_verifies(tmp_path):
    """`raas batch run` on a database with one subscription: every voucher it writes is
    signed by the configured key, as cryptography checks it, and valid against the XSD."""
    key, public = make_keys(tmp_path)
    db = tmp_path / "raas.db"
    outbox = tmp_path / "outbox"
    common = ["--database-url", str(db), "--outbox", str(outbox), "--signing-key", str(key)]
    raas(tmp_path, *common, "admin", "org", "add", "--cbe", CBE, "--name", "Org A")
    raas(tmp_path, *common, "admin", "dossier-type", "add", "--cbe", CBE, "--code", "EMPLOYEE")
    subscription = raas(
        tmp_path, *common, "admin", "subscription", "add", "--cbe", CBE,
        "--type", "PERSON_MUTATIONS",
    ).stdout.strip()
    # The subscription starts today; the run makes yesterday's files: start it a week ago.
    week_ago = (brussels_today() - datetime.timedelta(days=7)).isoformat()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE subscriptions SET starts_on = ? WHERE id = ?", (week_ago, int(subscription)))
    raas(tmp_path, *common, "batch", "run", "--quiet")

    signatures = sorted(outbox.rglob("*.voucher.sig"))
    assert signatures, f"no voucher in {outbox}"
    schema = xmlschema.XMLSchema(str(XSD_DIR / "Voucher.xsd"))
    for sig in signatures:
        voucher = sig.with_name(sig.name[: -len(".sig")] + ".xml")
        content = voucher.read_bytes()
        text = sig.read_text()
        assert text.endswith("\n")
        raw = base64.b64decode(text.strip(), validate=True)
        assert len(raw) == 64
        public.verify(raw, content)  # raises InvalidSignature if not
        schema.validate(content.decode())
        data = sig.with_name(sig.name[: -len(".voucher.sig")])
        assert data.is_file(), f"{voucher} has no data file"
        assert hashlib.sha256(data.read_bytes()).hexdigest() in content.decode()
    result = raas(
        tmp_path, *common, "voucher", "verify", *[str(s) for s in signatures]
    )
    assert result.stdout.splitlines()[-1].startswith(
        f"{len(signatures)} of {len(signatures)} files verified, 0 failed"
    )
