"""`private_key_jwt` client authentication at raas's own token endpoint (RFC 7523 §2.2), with a
client library nobody here wrote: authlib's `PrivateKeyJWT` signs the assertions (RS256 and
ES256 keys made here with `cryptography`), raas checks them with the public key registered by
`raas admin client add --public-key`. A replayed, foreign-signed, wrongly addressed or too
long-lived assertion is refused with `invalid_client`; a key client has no secret that works.
"""

from __future__ import annotations

import time
import uuid
import warnings

import pytest
import requests
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.auth import ECKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import jwt

from support import raas_bin, run_cli, start_server, stop_server

CBE = "0202239951"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def pem_pair(kind: str) -> tuple[bytes, bytes]:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def plain() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    raas = raas_bin()
    workdir = tmp_path_factory.mktemp("private-key-jwt")
    database_url = str(workdir / "raas.db")
    run_cli(raas, database_url, "admin", "org", "add", "--cbe", CBE, "--name", "Org A")
    clients = {}
    for alg in ("RS256", "ES256"):
        private, public = pem_pair(alg)
        key_file = workdir / f"{alg}.pub.pem"
        key_file.write_bytes(public)
        out = run_cli(
            raas,
            database_url,
            *("admin", "client", "add", "--cbe", CBE, "--public-key", str(key_file)),
        )
        fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
        assert fields["token_endpoint_auth_method"] == "private_key_jwt"
        assert "client_secret" not in fields
        clients[alg] = (fields["client_id"], private)
    proc, base_url = start_server(raas, database_url, workdir / "serve.log")
    try:
        yield base_url, clients
    finally:
        stop_server(proc)


def token_endpoint(base_url: str) -> str:
    metadata = plain().get(f"{base_url}/.well-known/oauth-authorization-server", timeout=30)
    assert metadata.status_code == 200
    body = metadata.json()
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
    return body["token_endpoint"]


def assertion(client_id: str, private: bytes, alg: str, aud: str, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    return jwt.encode({"alg": alg}, payload, private).decode()


def post_assertion(endpoint: str, signed: str) -> requests.Response:
    return plain().post(
        endpoint,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": signed,
        },
        timeout=30,
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_authlib_authenticates_with_a_signed_assertion(server, alg):
    base_url, clients = server
    endpoint = token_endpoint(base_url)
    client_id, private = clients[alg]
    # authlib reads a PEM as an RSA key: an EC key is given as a key object of its own.
    key = private if alg == "RS256" else ECKey.import_key(private)
    session = OAuth2Session(
        client_id,
        key,
        token_endpoint_auth_method=PrivateKeyJWT(endpoint, alg=alg),
    )
    session.trust_env = False
    token = session.fetch_token(endpoint, grant_type="client_credentials", timeout=30)
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "mailbox:read mailbox:download"
    mailbox = plain().get(
        f"{base_url}/api/v1/mailbox",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=30,
    )
    assert mailbox.status_code == 200, mailbox.text


def test_a_replayed_assertion_is_refused(server):
    base_url, clients = server
    endpoint = token_endpoint(base_url)
    client_id, private = clients["RS256"]
    signed = assertion(client_id, private, "RS256", endpoint)
    assert post_assertion(endpoint, signed).status_code == 200
    again = post_assertion(endpoint, signed)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"
    assert "used already" in again.json()["error_description"]


def test_bad_assertions_are_refused(server):
    base_url, clients = server
    endpoint = token_endpoint(base_url)
    rs_id, rs_private = clients["RS256"]
    es_id, es_private = clients["ES256"]
    stranger, _ = pem_pair("RS256")
    now = int(time.time())
    bad = {
        "signed by another key": assertion(rs_id, stranger, "RS256", endpoint),
        "signed by another client's key": assertion(rs_id, es_private, "ES256", endpoint),
        "another audience": assertion(rs_id, rs_private, "RS256", "https://elsewhere.example/token"),
        "expired": assertion(rs_id, rs_private, "RS256", endpoint, iat=now - 600, exp=now - 300),
        "valid for a day": assertion(rs_id, rs_private, "RS256", endpoint, exp=now + 86400),
        "sub is not iss": assertion(rs_id, rs_private, "RS256", endpoint, sub=es_id),
        "no jti": assertion(rs_id, rs_private, "RS256", endpoint, jti=""),
        "unknown client": assertion("client-nobody", rs_private, "RS256", endpoint),
        "HS256 keyed by a guess": jwt.encode(
            {"alg": "HS256"},
            {"iss": rs_id, "sub": rs_id, "aud": endpoint, "exp": now + 60, "jti": "x"},
            b"secret",
        ).decode(),
    }
    for why, signed in bad.items():
        answer = post_assertion(endpoint, signed)
        assert answer.status_code == 401, (why, answer.text)
        assert answer.json()["error"] == "invalid_client", why


def test_the_form_must_be_unambiguous(server):
    base_url, clients = server
    endpoint = token_endpoint(base_url)
    client_id, private = clients["RS256"]
    signed = assertion(client_id, private, "RS256", endpoint)
    cases = [
        {"client_assertion_type": "urn:other", "client_assertion": signed},
        {"client_assertion_type": JWT_BEARER},
        {"client_assertion": signed},
        {"client_assertion_type": JWT_BEARER, "client_assertion": signed, "client_secret": "x"},
        {"client_assertion_type": JWT_BEARER, "client_assertion": signed, "client_id": "client-other"},
    ]
    for fields in cases:
        answer = plain().post(
            endpoint, data={"grant_type": "client_credentials", **fields}, timeout=30
        )
        assert answer.status_code == 400, (fields, answer.text)
        assert answer.json()["error"] == "invalid_request"
    # None of these used the assertion up.
    assert post_assertion(endpoint, signed).status_code == 200
