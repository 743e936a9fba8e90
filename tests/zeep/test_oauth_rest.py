"""The REST API and raas's own OAuth 2.0 token endpoint, through a client library nobody here
wrote: authlib. Its `OAuth2Session` fetches tokens with the client-credentials grant
(`client_secret_basic` and `client_secret_post`, the endpoint found in the RFC 8414
metadata), `authlib.jose` verifies the JWT against the served JWKS (EdDSA, iss/aud/exp
required), and the session downloads a delivery's content with its bearer token.

The module has its own SQLite database and its own `raas serve` (not the session's seeded
service): an organisation, its OAuth clients (`raas admin client add`) and one broadcast
(`raas admin publish`) into the server's outbox.
"""

from __future__ import annotations

import base64
import hashlib
import time
import warnings

import pytest
import requests
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():
    # authlib.jose still works and is what the project checks against; its successor is
    # another package.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import BadSignatureError, InvalidClaimError, JoseError

from support import raas_bin, run_cli, start_server, stop_server

CBE_A = "0202239951"
CBE_B = "0403019261"
ISSUER = "urn:raas"
AUDIENCE = "urn:raas:api"
BOTH = "mailbox:read mailbox:download"
# Every byte value, then some text: what a text-minded client would damage.
DOCUMENT = bytes(range(256)) + "\r\n<closure> & été ]]>\n".encode()
DOCUMENT_NAME = "payload.bin"


class Rest:
    """The module's server, its clients and its delivery."""

    def __init__(self, base_url: str, clients: dict[str, tuple[str, str]]):
        self.base_url = base_url
        self.clients = clients

    def metadata(self) -> dict:
        answer = plain().get(f"{self.base_url}/.well-known/oauth-authorization-server", timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def jwks(self) -> dict:
        answer = plain().get(self.metadata()["jwks_uri"], timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def session(self, client: str, method: str = "client_secret_basic", **kwargs) -> OAuth2Session:
        client_id, secret = self.clients[client]
        session = OAuth2Session(
            client_id, secret, token_endpoint_auth_method=method, **kwargs
        )
        # REQUESTS_CA_BUNDLE and proxies from the environment must not apply here.
        session.trust_env = False
        return session

    def fetch(self, session: OAuth2Session, **kwargs) -> dict:
        return session.fetch_token(
            self.metadata()["token_endpoint"], grant_type="client_credentials", timeout=30, **kwargs
        )


def plain() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def parse_client(output: str) -> tuple[str, str]:
    fields = dict(line.split(": ", 1) for line in output.strip().splitlines())
    return fields["client_id"], fields["client_secret"]


@pytest.fixture(scope="module")
def rest(tmp_path_factory):
    raas = raas_bin()
    workdir = tmp_path_factory.mktemp("oauth-rest")
    database_url = str(workdir / "raas.db")
    outbox = workdir / "outbox"
    for cbe, name in ((CBE_A, "Org A"), (CBE_B, "Org B")):
        run_cli(raas, database_url, "admin", "org", "add", "--cbe", cbe, "--name", name)
    clients = {
        "full": parse_client(run_cli(raas, database_url, "admin", "client", "add", "--cbe", CBE_A)),
        "reader": parse_client(
            run_cli(
                raas,
                database_url,
                *("admin", "client", "add", "--cbe", CBE_A, "--scope", "mailbox:read"),
            )
        ),
        "b": parse_client(run_cli(raas, database_url, "admin", "client", "add", "--cbe", CBE_B)),
    }
    document = workdir / DOCUMENT_NAME
    document.write_bytes(DOCUMENT)
    run_cli(
        raas,
        database_url,
        *("--outbox", str(outbox), "admin", "publish", "--cbe", CBE_A),
        *("--subject", "Payload", "--file", str(document), "--operator", "pytest"),
    )
    proc, base_url = start_server(raas, database_url, workdir / "serve.log", outbox=outbox)
    try:
        yield Rest(base_url, clients)
    finally:
        stop_server(proc)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_fetches_a_token_both_ways(rest, method):
    session = rest.session("full", method)
    sent = []
    session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    token = rest.fetch(session)

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 300
    assert token["scope"] == BOTH
    assert token["expires_at"] == pytest.approx(time.time() + 300, abs=30)
    # The method asked for is the one that was used.
    (request,) = sent
    body = request.body if isinstance(request.body, str) else request.body.decode()
    client_id, secret = rest.clients["full"]
    if method == "client_secret_basic":
        expected = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        assert request.headers["Authorization"] == f"Basic {expected}"
        assert "client_secret" not in body
    else:
        assert "Authorization" not in request.headers
        assert f"client_secret={secret}" in body
    assert "grant_type=client_credentials" in body

    # A narrower scope is granted as asked.
    narrow = rest.fetch(rest.session("full", method, scope="mailbox:read"))
    assert narrow["scope"] == "mailbox:read"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_sees_the_token_endpoints_refusals(rest, method):
    client_id, _ = rest.clients["full"]
    wrong = OAuth2Session(client_id, "not-the-secret", token_endpoint_auth_method=method)
    wrong.trust_env = False
    with pytest.raises(OAuthError) as refused:
        rest.fetch(wrong)
    assert refused.value.error == "invalid_client"
    with pytest.raises(OAuthError) as refused:
        rest.fetch(rest.session("reader", method, scope="mailbox:download"))
    assert refused.value.error == "invalid_scope"


def test_the_token_verifies_with_authlib_jose(rest):
    token = rest.fetch(rest.session("full"))["access_token"]
    keys = JsonWebKey.import_key_set(rest.jwks())
    required = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": AUDIENCE},
        "exp": {"essential": True},
    }
    claims = JsonWebToken(["EdDSA"]).decode(token, keys, claims_options=required)
    claims.validate(leeway=5)
    assert claims.header["alg"] == "EdDSA"
    assert claims.header["typ"] == "at+jwt"
    assert claims["client_id"] == claims["sub"] == rest.clients["full"][0]
    assert claims["org"] == CBE_A
    assert claims["scope"] == BOTH
    assert claims["exp"] - claims["iat"] == 300
    assert claims["exp"] > time.time()
    # The JWKS publishes public Ed25519 keys only.
    for key in rest.jwks()["keys"]:
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
        assert "d" not in key

    # The verification is real: another audience is refused, a changed signature too, and a
    # verifier that does not allow EdDSA does not take the token.
    other = dict(required, aud={"essential": True, "value": "urn:someone-else"})
    with pytest.raises(InvalidClaimError):
        JsonWebToken(["EdDSA"]).decode(token, keys, claims_options=other).validate(leeway=5)
    head, payload, signature = token.split(".")
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    with pytest.raises(BadSignatureError):
        JsonWebToken(["EdDSA"]).decode(f"{head}.{payload}.{flipped}", keys)
    with pytest.raises(JoseError):
        JsonWebToken(["RS256"]).decode(token, keys)


def test_the_authlib_session_downloads_the_content(rest):
    session = rest.session("full")
    rest.fetch(session)
    listing = session.get(f"{rest.base_url}/api/v1/deliveries", timeout=30)
    assert listing.status_code == 200, listing.text
    assert set(listing.json()) == {"items", "totalItems", "page", "pageSize"}
    (delivery,) = [d for d in listing.json()["items"] if d["subject"] == "Payload"]
    assert delivery["fileName"] == DOCUMENT_NAME
    assert delivery["size"] == len(DOCUMENT)
    assert delivery["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    url = f"{rest.base_url}/api/v1/deliveries/{delivery['id']}"

    content = session.get(f"{url}/content", timeout=30)
    assert content.status_code == 200, content.text
    assert content.content == DOCUMENT
    assert content.headers["Content-Disposition"] == f'attachment; filename="{DOCUMENT_NAME}"'
    assert content.headers["Accept-Ranges"] == "bytes"
    etag = content.headers["ETag"]
    part = session.get(f"{url}/content", headers={"Range": "bytes=2-5"}, timeout=30)
    assert part.status_code == 206
    assert part.content == DOCUMENT[2:6]
    assert part.headers["Content-Range"] == f"bytes 2-5/{len(DOCUMENT)}"
    cached = session.get(f"{url}/content", headers={"If-None-Match": etag}, timeout=30)
    assert cached.status_code == 304

    # The download is the receipt, by this client.
    after = session.get(url, timeout=30).json()
    assert after["state"] == "DOWNLOADED"
    assert after["firstDownload"]["by"] == rest.clients["full"][0]

    # Another organisation's client does not see it; a read-only client may not download it.
    b = rest.session("b")
    rest.fetch(b)
    assert b.get(url, timeout=30).status_code == 404
    assert b.get(f"{url}/content", timeout=30).json()["code"] == "DELIVERY_UNKNOWN"
    reader = rest.session("reader")
    rest.fetch(reader)
    assert reader.get(url, timeout=30).status_code == 200
    refused = reader.get(f"{url}/content", timeout=30)
    assert refused.status_code == 403
    assert refused.json()["code"] == "INSUFFICIENT_SCOPE"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    # Without the session's token there is nothing.
    anonymous = plain().get(f"{url}/content", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="raas"'
