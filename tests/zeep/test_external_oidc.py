"""The REST API with access tokens of an external OpenID Connect provider (`oidc_issuer`):
tests/oidc/provider.mjs (oidc-provider, Node.js; see oidc_provider.py) issues JWT access
tokens with the client-credentials grant, each carrying the `org` claim of its client, and
raas — never told about the provider's clients or keys, only its issuer URL — takes them
beside its own tokens from `/oauth/token`.

Per backend: one database (organisations A and B, a broadcast to A, a client of raas's own)
and one `raas serve --oidc-issuer …`; the key rotation and the settings tests start servers
of their own on the same database. The providers do not depend on the backend: one for the
module (and one of another issuer, and one with other settings).

Needs the provider's packages: `npm ci --prefix tests/oidc` (the tests fail without them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import InvalidClaimError

from oidc_provider import (
    BOTH,
    OTHER_AUDIENCE,
    RAAS_AUDIENCE,
    OidcProvider,
    ProviderClient,
    b64url,
    decode_unverified,
    ec_key,
    ed_key,
    hmac_signed,
    new_client,
    plain,
    provider_env_check,
    public_pem,
    rsa_key,
    unsigned,
)
from support import (
    backends,
    database_url_with,
    psql,
    raas_bin,
    run_cli,
    start_server,
    stop_server,
)

CBE_A = "0202239951"
CBE_B = "0403019261"
# A valid enterprise number raas does not know in this module.
CBE_UNKNOWN = "0456973433"
READ = "mailbox:read"
DOWNLOAD = "mailbox:download"
# raas's own token issuer (token_issuer's default).
RAAS_ISSUER = "urn:raas"
DOCUMENT = b"external OIDC test document\n" + bytes(range(256))
DOCUMENT_NAME = "oidc.bin"
HTTP_TIMEOUT_S = 30


# --- the providers (independent of the backend) -----------------------------------------------


@dataclass
class Clients:
    """The provider's clients: `org` is what their tokens' claim names."""

    a: ProviderClient = field(default_factory=lambda: new_client(CBE_A, name="a-full"))
    a_reader: ProviderClient = field(
        default_factory=lambda: new_client(CBE_A, READ, name="a-reader")
    )
    b: ProviderClient = field(default_factory=lambda: new_client(CBE_B, name="b-full"))
    no_org: ProviderClient = field(default_factory=lambda: new_client(None, name="no-org"))
    unknown_org: ProviderClient = field(
        default_factory=lambda: new_client(CBE_UNKNOWN, name="unknown-org")
    )

    def all(self) -> list[ProviderClient]:
        return [self.a, self.a_reader, self.b, self.no_org, self.unknown_org]


@pytest.fixture(scope="module")
def clients() -> Clients:
    return Clients()


# The trusted provider's keys besides its RS256 signing key: published, and used by the tests.
OTHER_KEYS = {
    "PS256": lambda: rsa_key("trusted-ps256", alg="PS256"),
    "ES256": lambda: ec_key("trusted-es256"),
    "ES384": lambda: ec_key("trusted-es384", alg="ES384"),
    "EdDSA": lambda: ed_key("trusted-eddsa"),
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory, clients):
    """The provider raas trusts: it signs with an RS256 key, and publishes keys of the other
    algorithms raas accepts too."""
    provider_env_check()
    keys = [rsa_key("trusted-1")] + [make() for make in OTHER_KEYS.values()]
    with OidcProvider(tmp_path_factory.mktemp("oidc-trusted"), keys, clients.all()) as running:
        yield running


@pytest.fixture(scope="module")
def stranger(tmp_path_factory, clients):
    """Another provider (another issuer, its own key), with the same clients and orgs."""
    provider_env_check()
    with OidcProvider(
        tmp_path_factory.mktemp("oidc-stranger"), [rsa_key("stranger-1")], clients.all()
    ) as running:
        yield running


# --- raas ------------------------------------------------------------------------------------


@dataclass
class Raas:
    """One `raas serve` and the calls of its REST API."""

    base_url: str
    log: Path

    def get(self, path: str, token: str | None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return plain().get(
            f"{self.base_url}{path}", headers=headers, timeout=HTTP_TIMEOUT_S, **kwargs
        )

    def ok(self, path: str, token: str) -> requests.Response:
        answer = self.get(path, token)
        assert (
            answer.status_code == 200
        ), f"GET {path}: {answer.status_code} {answer.text}\n{self.log_tail()}"
        return answer

    def log_tail(self) -> str:
        return f"--- {self.log.name}:\n{self.log.read_text(errors='replace')[-3000:]}"


@dataclass
class World:
    backend: str
    database_url: str
    workdir: Path
    raas: Path
    subject: str
    own_client: tuple[str, str]
    server: Raas | None = None
    _count: int = 0

    @property
    def outbox(self) -> Path:
        return self.workdir / "outbox"

    def cli(self, *args: str) -> str:
        return run_cli(self.raas, self.database_url, "--outbox", str(self.outbox), *args)

    @contextlib.contextmanager
    def serve(self, *serve_args: str):
        """Another `raas serve` on the module's database with these flags (and whatever RAAS_*
        variables the environment holds now)."""
        self._count += 1
        log = self.workdir / f"serve-{self._count}.log"
        proc, base_url = start_server(
            self.raas, self.database_url, log, outbox=self.outbox, serve_args=serve_args
        )
        try:
            yield Raas(base_url, log)
        finally:
            stop_server(proc)


def parse_client(output: str) -> tuple[str, str]:
    fields = dict(line.split(": ", 1) for line in output.strip().splitlines())
    return fields["client_id"], fields["client_secret"]


@pytest.fixture(scope="module", params=backends())
def world(request, tmp_path_factory, provider):
    backend = request.param
    raas = raas_bin()
    workdir = tmp_path_factory.mktemp(f"oidc-{backend}")
    pg_admin_url = pg_name = None
    if backend == "sqlite":
        database_url = str(workdir / "raas.db")
    else:
        pg_admin_url = os.environ["TEST_DATABASE_URL"]
        pg_name = f"raas_oidc_{uuid.uuid4().hex[:16]}"
        psql(pg_admin_url, f'CREATE DATABASE "{pg_name}"')
        database_url = database_url_with(pg_admin_url, pg_name)
    try:
        subject = f"oidc-{uuid.uuid4().hex[:12]}"
        world = World(backend, database_url, workdir, raas, subject, ("", ""))
        for cbe, name in ((CBE_A, "Org A"), (CBE_B, "Org B")):
            world.cli("admin", "org", "add", "--cbe", cbe, "--name", name)
        world.own_client = parse_client(world.cli("admin", "client", "add", "--cbe", CBE_A))
        document = workdir / DOCUMENT_NAME
        document.write_bytes(DOCUMENT)
        printed = world.cli(
            *("admin", "publish", "--cbe", CBE_A, "--subject", subject),
            *("--file", str(document), "--operator", "pytest"),
        )
        assert "published to 1 mailbox(es)" in printed, printed
        with world.serve("--oidc-issuer", provider.issuer) as server:
            world.server = server
            yield world
    finally:
        if pg_name is not None:
            psql(pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def assert_unauthenticated(answer: requests.Response, why: str = "") -> None:
    """A 401 as RFC 6750 says: a Bearer challenge naming invalid_token, and raas's JSON error."""
    assert answer.status_code == 401, f"{why}: {answer.status_code} {answer.text}"
    challenge = answer.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), f"{why}: WWW-Authenticate {challenge!r}"
    assert 'error="invalid_token"' in challenge, f"{why}: WWW-Authenticate {challenge!r}"
    body = answer.json()
    assert body["code"] == "NOT_AUTHENTICATED", f"{why}: {body}"
    assert isinstance(body.get("message"), str)


def with_claims(token: str, **changes) -> str:
    """The token with some claims changed and its signature kept as it was."""
    head, _, signature = token.split(".")
    claims = decode_unverified(token)[1] | changes
    return f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"


def delivery_of(server: Raas, token: str, subject: str) -> dict:
    listing = server.ok("/api/v1/deliveries?pageSize=100", token).json()
    found = [d for d in listing["items"] if d["subject"] == subject]
    assert len(found) == 1, listing
    return found[0]


# --- the provider itself (no raas) ------------------------------------------------------------


def test_the_provider_issues_jwt_access_tokens_as_described(provider, clients):
    discovery = provider.discovery()
    assert discovery["issuer"] == provider.issuer
    assert "client_credentials" in discovery["grant_types_supported"]
    assert set(discovery["scopes_supported"]) >= {READ, DOWNLOAD}
    jwks = provider.jwks()
    assert [(k["kid"], k["alg"]) for k in jwks["keys"]] == [
        (k["kid"], k["alg"]) for k in provider.keys
    ]
    assert jwks["keys"][0]["alg"] == "RS256"
    for key in jwks["keys"]:
        assert not {"d", "p", "q"} & set(key), "the JWKS publishes private members"
        assert key["use"] == "sig"
    keys = JsonWebKey.import_key_set(jwks)
    required = {
        "iss": {"essential": True, "value": provider.issuer},
        "aud": {"essential": True, "value": RAAS_AUDIENCE},
        "exp": {"essential": True},
    }

    session = provider.session(clients.a)
    answer = provider.fetch(session)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 300
    token = answer["access_token"]
    claims = JsonWebToken(["RS256"]).decode(token, keys, claims_options=required)
    claims.validate(leeway=5)
    assert claims.header == {"alg": "RS256", "typ": "at+jwt", "kid": "trusted-1"}
    assert claims["org"] == CBE_A
    assert claims["scope"] == BOTH
    assert claims["client_id"] == claims["sub"] == clients.a.client_id
    assert claims["exp"] - claims["iat"] == 300
    # The verification is real: another audience does not pass for raas's.
    other = dict(required, aud={"essential": True, "value": OTHER_AUDIENCE})
    with pytest.raises(InvalidClaimError):
        JsonWebToken(["RS256"]).decode(token, keys, claims_options=other).validate(leeway=5)

    # A narrower scope, another resource, a client without an organisation.
    reader = decode_unverified(provider.token(clients.a_reader))[1]
    assert (reader["scope"], reader["org"]) == (READ, CBE_A)
    narrow = decode_unverified(provider.token(clients.a, scope=READ))[1]
    assert narrow["scope"] == READ
    elsewhere = provider.token(clients.a, resource=OTHER_AUDIENCE)
    claims = JsonWebToken(["RS256"]).decode(
        elsewhere,
        keys,
        claims_options=dict(required, aud={"essential": True, "value": OTHER_AUDIENCE}),
    )
    claims.validate(leeway=5)
    assert claims["org"] == CBE_A
    assert "org" not in decode_unverified(provider.token(clients.no_org))[1]
    # What a client may not get, it is refused.
    with pytest.raises(OAuthError) as refused:
        provider.token(clients.a_reader, scope=DOWNLOAD)
    assert refused.value.error == "invalid_scope"
    with pytest.raises(OAuthError) as refused:
        provider.token(clients.a, resource="urn:nobody")
    assert refused.value.error == "invalid_target"
    wrong = OAuth2Session(
        clients.a.client_id, "not-the-secret", token_endpoint_auth_method="client_secret_basic"
    )
    wrong.trust_env = False
    with pytest.raises(OAuthError) as refused:
        provider.fetch(wrong)
    assert refused.value.error == "invalid_client"

    # The tokens the tests sign themselves verify the same way.
    mine = provider.sign(provider.claims(clients.a))
    JsonWebToken(["RS256"]).decode(mine, keys, claims_options=required).validate(leeway=5)


def test_the_provider_rotates_keys_and_signs_with_the_first(tmp_path, clients):
    provider_env_check()
    old, new = rsa_key("old"), ec_key("new")
    with OidcProvider(tmp_path, [old], [clients.a]) as rotating:
        issuer, port = rotating.issuer, rotating.port
        assert decode_unverified(rotating.token(clients.a))[0]["kid"] == "old"
        rotating.restart([new, old])
        assert (rotating.issuer, rotating.port) == (issuer, port)
        assert [k["kid"] for k in rotating.jwks()["keys"]] == ["new", "old"]
        token = rotating.token(clients.a)
        assert decode_unverified(token)[0] == {"alg": "ES256", "typ": "at+jwt", "kid": "new"}
        JsonWebToken(["ES256"]).decode(token, JsonWebKey.import_key_set(rotating.jwks())).validate(
            leeway=5
        )
        rotating.restart([new])
        assert [k["kid"] for k in rotating.jwks()["keys"]] == ["new"]


# --- raas with the provider's tokens ----------------------------------------------------------


def test_a_provider_token_reads_its_own_organisations_mailbox_only(world, provider, clients):
    server = world.server
    token_a = provider.token(clients.a)
    mailbox = server.ok("/api/v1/mailbox", token_a).json()
    assert mailbox["totalItems"] >= 1
    delivery = delivery_of(server, token_a, world.subject)
    assert delivery["fileName"] == DOCUMENT_NAME
    assert delivery["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    url = f"/api/v1/deliveries/{delivery['id']}"
    assert server.ok(url, token_a).json()["subject"] == world.subject
    server.ok("/api/v1/events?afterSequence=0&limit=100", token_a)

    # Organisation B's client, with a token just as valid, sees none of it.
    token_b = provider.token(clients.b)
    listing_b = server.ok("/api/v1/deliveries?pageSize=100", token_b).json()
    assert world.subject not in [d["subject"] for d in listing_b["items"]]
    for path in (url, f"{url}/content"):
        refused = server.get(path, token_b)
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "DELIVERY_UNKNOWN"
    assert server.ok("/api/v1/mailbox", token_b).json()["totalItems"] == 0

    # A's client downloads it: the receipt, by that client, and the audit names it too.
    content = server.ok(f"{url}/content", token_a)
    assert content.content == DOCUMENT
    after = server.ok(url, token_a).json()
    assert after["state"] == "DOWNLOADED"
    caller = f"oidc:{clients.a.client_id}"
    assert after["firstDownload"]["by"] == caller
    entries = [
        json.loads(line)
        for line in world.cli("admin", "audit", "--limit", "500").splitlines()
        if line.strip()
    ]
    downloads = [
        e
        for e in entries
        if (e["service"], e["operation"], e["outcome"]) == ("MailboxApi", "downloadContent", "OK")
        and e["username"] == caller
    ]
    assert len(downloads) == 1, f"the audit of {caller}'s download: {entries[:5]}"
    assert downloads[0]["claimedCbeNumber"] == CBE_A
    assert downloads[0]["target"].endswith(f":{delivery['id']}")


def test_the_scopes_of_the_token_are_what_the_caller_may_do(world, provider, clients):
    server = world.server
    token_a = provider.token(clients.a)
    delivery = delivery_of(server, token_a, world.subject)
    content = f"/api/v1/deliveries/{delivery['id']}/content"
    for token in (provider.token(clients.a_reader), provider.token(clients.a, scope=READ)):
        assert decode_unverified(token)[1]["scope"] == READ
        server.ok("/api/v1/mailbox", token)
        server.ok(f"/api/v1/deliveries/{delivery['id']}", token)
        refused = server.get(content, token)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "INSUFFICIENT_SCOPE"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    # No scope at all: a valid caller who may do nothing.
    unscoped = provider.token(clients.a, scope="")
    assert "scope" not in decode_unverified(unscoped)[1]
    for path in ("/api/v1/mailbox", content):
        refused = server.get(path, unscoped)
        assert refused.status_code == 403, f"{path}: {refused.text}"
        assert refused.json()["code"] == "INSUFFICIENT_SCOPE"
    # Download only: the content, not the lists.
    download_only = provider.token(clients.a, scope=DOWNLOAD)
    assert server.ok(content, download_only).content == DOCUMENT
    for path in ("/api/v1/mailbox", "/api/v1/deliveries", "/api/v1/events?afterSequence=0"):
        refused = server.get(path, download_only)
        assert refused.status_code == 403, f"{path}: {refused.text}"
        assert refused.json()["code"] == "INSUFFICIENT_SCOPE"


def test_a_token_the_test_signs_with_the_providers_key_is_accepted(world, provider, clients):
    """The control of the forged tokens below: signed here, with the provider's key and the
    provider's claims, a token is as good as one of the provider's."""
    token = provider.sign(provider.claims(clients.a))
    server = world.server
    server.ok("/api/v1/mailbox", token)
    assert delivery_of(server, token, world.subject)["subject"] == world.subject
    # Not its typ, not its jti, not iat are needed; exp, iss, aud, the org claim and scope are.
    lean = provider.claims(clients.a, jti=None, iat=None, sub=None)
    server.ok("/api/v1/mailbox", provider.sign(lean, header={"typ": "JWT"}))
    # An audience among others is the audience (RFC 7519 §4.1.3).
    several = provider.claims(clients.a, aud=["urn:someone-else", RAAS_AUDIENCE])
    server.ok("/api/v1/mailbox", provider.sign(several))


@pytest.mark.parametrize("alg", list(OTHER_KEYS))
def test_a_token_signed_by_another_published_key_is_accepted(world, provider, clients, alg):
    (key,) = [k for k in provider.keys if k["alg"] == alg]
    token = provider.sign(provider.claims(clients.a), key=key)
    assert decode_unverified(token)[0]["alg"] == alg
    assert delivery_of(world.server, token, world.subject)["subject"] == world.subject


def refusals():
    """name -> a function of (provider, stranger, clients) giving a token raas must refuse."""
    now = int(time.time())

    def tampered(p, s, c):
        # A's valid token with the organisation changed to B, the signature kept.
        return with_claims(p.token(c.a), org=CBE_B)

    def flipped(p, s, c):
        head, body, signature = p.token(c.a).split(".")
        middle = len(signature) // 2
        changed = "A" if signature[middle] != "A" else "B"
        return f"{head}.{body}.{signature[:middle]}{changed}{signature[middle + 1:]}"

    def forged_alg(p, c, alg):
        claims = p.claims(c.a)
        header = {"alg": alg, "typ": "at+jwt", "kid": p.signing_key["kid"]}
        if alg == "none":
            return unsigned(claims, header)
        return hmac_signed(claims, header, public_pem(p.signing_key))

    return {
        "wrong audience (a resource server of its own)": lambda p, s, c: p.token(
            c.a, resource=OTHER_AUDIENCE
        ),
        "wrong audience (signed here)": lambda p, s, c: p.sign(
            p.claims(c.a, aud="urn:someone-else")
        ),
        "expired ten minutes ago": lambda p, s, c: p.sign(
            p.claims(c.a, iat=now - 900, exp=now - 600)
        ),
        "not valid before ten minutes from now": lambda p, s, c: p.sign(
            p.claims(c.a, nbf=now + 600)
        ),
        "no exp": lambda p, s, c: p.sign(p.claims(c.a, exp=None)),
        "signed by a key the provider does not publish": lambda p, s, c: p.sign(
            p.claims(c.a), key=rsa_key("not-published")
        ),
        "another key under the provider's kid": lambda p, s, c: p.sign(
            p.claims(c.a), key=rsa_key(p.signing_key["kid"])
        ),
        "the signature changed": flipped,
        "the claims changed (org A to B)": tampered,
        "another provider's token": lambda p, s, c: s.token(c.a),
        "another issuer, signed with the provider's key": lambda p, s, c: p.sign(
            p.claims(c.a, iss=s.issuer)
        ),
        "raas's own issuer, signed with the provider's key": lambda p, s, c: p.sign(
            p.claims(c.a, iss=RAAS_ISSUER)
        ),
        "the provider's issuer with a trailing slash": lambda p, s, c: p.sign(
            p.claims(c.a, iss=p.issuer + "/")
        ),
        "alg none": lambda p, s, c: forged_alg(p, c, "none"),
        "HS256 keyed with the provider's public key": lambda p, s, c: forged_alg(p, c, "HS256"),
        "no org claim (the provider's token)": lambda p, s, c: p.token(c.no_org),
        "an organisation raas does not know": lambda p, s, c: p.token(c.unknown_org),
        "an org claim that is not an enterprise number": lambda p, s, c: p.sign(
            p.claims(c.a, org="12345")
        ),
        "the org claim a number, not a string": lambda p, s, c: p.sign(
            p.claims(c.a, org=int(CBE_B))
        ),
    }


@pytest.mark.parametrize("case", list(refusals()))
def test_a_token_raas_must_not_take_is_401(world, provider, stranger, clients, case):
    token = refusals()[case](provider, stranger, clients)
    for path in ("/api/v1/mailbox", "/api/v1/deliveries", "/api/v1/events?afterSequence=0"):
        assert_unauthenticated(world.server.get(path, token), f"{case}: {path}")
    delivery = f"/api/v1/deliveries/{1}/content"
    assert_unauthenticated(world.server.get(delivery, token), f"{case}: {delivery}")


def test_raas_own_tokens_work_beside_the_providers(world, provider, clients):
    server = world.server
    metadata = plain().get(f"{server.base_url}/.well-known/oauth-authorization-server", timeout=30)
    assert metadata.status_code == 200, metadata.text
    client_id, secret = world.own_client
    session = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic")
    session.trust_env = False
    own = session.fetch_token(
        metadata.json()["token_endpoint"], grant_type="client_credentials", timeout=30
    )["access_token"]
    assert decode_unverified(own)[1]["iss"] == RAAS_ISSUER
    external = provider.token(clients.a)
    # Both, interleaved: each verifier keeps to its own tokens.
    for token in (own, external, own, external):
        assert delivery_of(server, token, world.subject)["subject"] == world.subject
    # raas's own token with its claims copied under the provider's issuer is not one.
    forged = with_claims(own, iss=provider.issuer)
    assert_unauthenticated(server.get("/api/v1/mailbox", forged), "raas's token re-issued")


def test_a_flood_of_unknown_kids_does_not_flood_the_provider(world, provider, clients):
    server = world.server
    server.ok("/api/v1/mailbox", provider.token(clients.a))  # the keys are read by now
    # A second since they were last read: the first unknown kid makes raas read them again.
    time.sleep(1.1)
    before = provider.jwks_reads()
    started = time.monotonic()
    foreign = rsa_key()
    for i in range(30):
        kid = f"flood-{i}-{uuid.uuid4().hex[:6]}"
        token = provider.sign(provider.claims(clients.a), key=dict(foreign, kid=kid))
        assert_unauthenticated(server.get("/api/v1/mailbox", token), f"forged kid {i}")
    took = time.monotonic() - started
    reads = provider.jwks_reads() - before
    # At once, then at most once a second.
    assert 1 <= reads <= int(took) + 2, f"{reads} JWKS reads for 30 unknown kids in {took:.2f} s"
    # And a good token is still taken at once.
    server.ok("/api/v1/mailbox", provider.token(clients.a))


# --- key rotation -----------------------------------------------------------------------------


def test_key_rotation_new_key_first_then_old_key_removed(world, clients, tmp_path):
    provider_env_check()
    old, new = rsa_key("rotation-old"), ec_key("rotation-new")
    with contextlib.ExitStack() as stack:
        rotating = stack.enter_context(OidcProvider(tmp_path / "provider", [old], [clients.a]))
        # raas with the default refresh (300 s): only an unknown kid makes it read the keys.
        slow = stack.enter_context(world.serve("--oidc-issuer", rotating.issuer))
        # raas reading the keys every 2 s.
        fast = stack.enter_context(
            world.serve("--oidc-issuer", rotating.issuer, "--oidc-jwks-refresh-seconds", "2")
        )
        old_token = rotating.token(clients.a)
        assert decode_unverified(old_token)[0]["kid"] == "rotation-old"
        slow.ok("/api/v1/mailbox", old_token)
        fast.ok("/api/v1/mailbox", old_token)
        last_read = time.monotonic()

        # The new key first, the old one kept.
        rotating.restart([new, old])
        new_token = rotating.token(clients.a)
        assert decode_unverified(new_token)[0] == {
            "alg": "ES256",
            "typ": "at+jwt",
            "kid": "rotation-new",
        }
        # An unknown kid makes raas read the keys again at most once a second.
        time.sleep(max(0.0, last_read + 1.2 - time.monotonic()))
        slow.ok("/api/v1/mailbox", new_token)
        fast.ok("/api/v1/mailbox", new_token)
        slow.ok("/api/v1/mailbox", old_token)
        fast.ok("/api/v1/mailbox", old_token)
        assert delivery_of(slow, new_token, world.subject)["subject"] == world.subject

        # The old key removed.
        rotating.restart([new])
        removed_at = time.monotonic()
        deadline = removed_at + 2 + 4
        while True:
            answer = fast.get("/api/v1/mailbox", old_token)
            if answer.status_code != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert_unauthenticated(answer, "an old-key token after the refresh")
        fast.ok("/api/v1/mailbox", new_token)
        # The server reading the keys every 300 s still holds the old one (a removed key lives
        # until the refresh): what the fast server refused, it refused because it read again.
        slow.ok("/api/v1/mailbox", old_token)
        slow.ok("/api/v1/mailbox", new_token)


# --- the settings -----------------------------------------------------------------------------


def test_audience_claim_and_an_issuer_with_a_path_from_the_environment(
    world, clients, tmp_path, monkeypatch
):
    """RAAS_OIDC_AUDIENCE and RAAS_OIDC_ORGANISATION_CLAIM, an issuer with a path (as
    Keycloak's realms have), an ES256 key."""
    provider_env_check()
    partner = "urn:partner:raas"
    with contextlib.ExitStack() as stack:
        custom = stack.enter_context(
            OidcProvider(
                tmp_path / "provider",
                [ec_key("custom-1")],
                [clients.a, clients.b],
                other_audiences=(partner,),
                claim="enterprise_number",
                issuer_path="/realms/raas",
            )
        )
        assert custom.issuer.endswith("/realms/raas")
        monkeypatch.setenv("RAAS_OIDC_ISSUER", custom.issuer)
        monkeypatch.setenv("RAAS_OIDC_AUDIENCE", partner)
        monkeypatch.setenv("RAAS_OIDC_ORGANISATION_CLAIM", "enterprise_number")
        server = stack.enter_context(world.serve())
        token = custom.token(clients.a, resource=partner)
        header, claims = decode_unverified(token)
        assert header["alg"] == "ES256"
        assert (claims["aud"], claims["enterprise_number"]) == (partner, CBE_A)
        assert "org" not in claims
        assert delivery_of(server, token, world.subject)["subject"] == world.subject
        token_b = custom.token(clients.b, resource=partner)
        assert world.subject not in [
            d["subject"] for d in server.ok("/api/v1/deliveries", token_b).json()["items"]
        ]
        # token_audience's default is not what this server asks of the provider's tokens.
        assert_unauthenticated(
            server.get("/api/v1/mailbox", custom.token(clients.a)), "aud urn:raas:api"
        )
        # The organisation under `org` is not under the claim configured.
        org_only = custom.claims(clients.a, aud=partner, enterprise_number=None, org=CBE_A)
        assert_unauthenticated(
            server.get("/api/v1/mailbox", custom.sign(org_only)), "org, not enterprise_number"
        )
        # The module's server (issuer: the trusted provider) takes none of this provider's.
        assert_unauthenticated(world.server.get("/api/v1/mailbox", token), "another issuer")


def test_an_unset_oidc_issuer_takes_no_external_token(world, provider, clients):
    with world.serve() as server:
        assert_unauthenticated(
            server.get("/api/v1/mailbox", provider.token(clients.a)), "no oidc_issuer"
        )
        assert_unauthenticated(
            server.get("/api/v1/mailbox", provider.sign(provider.claims(clients.a))),
            "no oidc_issuer",
        )


def test_a_provider_that_cannot_be_reached(world, clients, tmp_path):
    """Before its keys were ever read: 503 with a stable code, raas's own tokens unaffected.
    Once read, the keys outlive the provider's outages (refreshes that fail keep them)."""
    provider_env_check()
    with contextlib.ExitStack() as stack:
        flaky = stack.enter_context(
            OidcProvider(tmp_path / "provider", [rsa_key("flaky-1")], [clients.a])
        )
        server = stack.enter_context(
            world.serve("--oidc-issuer", flaky.issuer, "--oidc-jwks-refresh-seconds", "1")
        )
        token = flaky.token(clients.a)
        flaky.stop()
        answer = server.get("/api/v1/mailbox", token)
        assert answer.status_code == 503, f"{answer.status_code} {answer.text}"
        assert answer.json()["code"] == "SERVICE_UNAVAILABLE", answer.text
        # The provider is not raas's own endpoint: a client of raas's still gets in.
        session = OAuth2Session(*world.own_client, token_endpoint_auth_method="client_secret_basic")
        session.trust_env = False
        own = session.fetch_token(
            f"{server.base_url}/oauth/token", grant_type="client_credentials", timeout=30
        )["access_token"]
        server.ok("/api/v1/mailbox", own)

        flaky.start()
        server.ok("/api/v1/mailbox", token)
        flaky.stop()
        time.sleep(1.5)  # past oidc_jwks_refresh_seconds: the refresh fails, the keys stay
        assert delivery_of(server, token, world.subject)["subject"] == world.subject
