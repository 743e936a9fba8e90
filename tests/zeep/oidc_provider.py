"""An external OpenID Connect provider for the tests: tests/oidc/provider.mjs (Node.js,
oidc-provider) started on a free port of 127.0.0.1 with keys and clients the test chooses,
restarted on the same port and issuer with another key set (a rotation), stopped at the end.

It issues JWT access tokens (`typ: at+jwt`) with the client-credentials grant, signed with
the FIRST key of its set (the others only published in its JWKS), for the audience
`urn:raas:api` by default or another resource server (`resource="urn:other"`), carrying the
`org` claim of the client (its enterprise number; a client without org gets no such claim).

The test holds the private keys, so it can also sign tokens of its own (`sign`): expired
ones, ones of another issuer, ones naming a key the provider does not publish.

Needs `node` on the PATH and the provider's packages: `npm ci --prefix tests/oidc` (.ci/run
does it); without them the tests fail, they do not skip.
"""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken

REPO_ROOT = Path(__file__).resolve().parents[2]
OIDC_DIR = REPO_ROOT / "tests" / "oidc"
PROVIDER = OIDC_DIR / "provider.mjs"
INSTALL = "npm ci --prefix tests/oidc"

BOTH = "mailbox:read mailbox:download"
RAAS_AUDIENCE = "urn:raas:api"
OTHER_AUDIENCE = "urn:other"
STARTUP_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 10


# --- keys ------------------------------------------------------------------------------------


def rsa_key(kid: str | None = None, alg: str = "RS256", bits: int = 2048) -> dict:
    """A private RSA JWK (alg RS256 or PS256…), with its kid and `use: sig`."""
    key = JsonWebKey.generate_key("RSA", bits, is_private=True).as_dict(is_private=True)
    return dict(key, kid=kid or f"rsa-{uuid.uuid4().hex[:12]}", alg=alg, use="sig")


def ec_key(kid: str | None = None, alg: str = "ES256") -> dict:
    """A private EC JWK (P-256 for ES256, P-384 for ES384)."""
    curve = {"ES256": "P-256", "ES384": "P-384"}[alg]
    key = JsonWebKey.generate_key("EC", curve, is_private=True).as_dict(is_private=True)
    return dict(key, kid=kid or f"ec-{uuid.uuid4().hex[:12]}", alg=alg, use="sig")


def ed_key(kid: str | None = None) -> dict:
    """A private Ed25519 JWK (alg EdDSA)."""
    key = JsonWebKey.generate_key("OKP", "Ed25519", is_private=True).as_dict(is_private=True)
    return dict(key, kid=kid or f"ed-{uuid.uuid4().hex[:12]}", alg="EdDSA", use="sig")


PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def public_jwk(key: dict) -> dict:
    return {name: value for name, value in key.items() if name not in PRIVATE_MEMBERS}


def public_pem(key: dict) -> bytes:
    """The public key in PEM (SubjectPublicKeyInfo), as an HS256 forger would use it."""
    return JsonWebKey.import_key(public_jwk(key)).as_pem(is_private=False)


def sign(key: dict, claims: dict, header: dict | None = None) -> str:
    """A JWT of `claims` signed with the private JWK `key` (its alg, its kid, `typ: at+jwt`
    unless `header` says otherwise)."""
    head = {"alg": key["alg"], "kid": key["kid"], "typ": "at+jwt", **(header or {})}
    head = {name: value for name, value in head.items() if value is not None}
    return JsonWebToken([head["alg"]]).encode(head, claims, imported(key)).decode()


@functools.lru_cache(maxsize=256)
def _import(serialised: str):
    return JsonWebKey.import_key(json.loads(serialised))


def imported(key: dict):
    """The JWK's key material as authlib's key object (cached: importing a private RSA key
    checks it, slowly; the kid is the header's business, not the key's)."""
    material = {name: value for name, value in key.items() if name not in ("kid", "alg", "use")}
    return _import(json.dumps(material, sort_keys=True))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict, header: dict) -> str:
    """A JWT with the header given and an empty signature (`alg: none` and the like)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}."


def hmac_signed(claims: dict, header: dict, secret: bytes) -> str:
    """A JWT signed with HS256 keyed by `secret` (e.g. the provider's public key in PEM)."""
    import hashlib
    import hmac

    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def decode_unverified(token: str) -> tuple[dict, dict]:
    """The header and claims of a JWS, read without verifying anything."""
    head, body, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(head))),
        json.loads(base64.urlsafe_b64decode(pad(body))),
    )


# --- clients ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderClient:
    """A client of the provider: `org` goes into its tokens' organisation claim (None: no such
    claim), `scope` is what it may be granted."""

    client_id: str
    client_secret: str
    org: str | None
    scope: str = BOTH

    def as_json(self) -> dict:
        entry = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
        }
        if self.org is not None:
            entry["org"] = self.org
        return entry


def new_client(org: str | None, scope: str = BOTH, name: str = "client") -> ProviderClient:
    return ProviderClient(
        f"{name}-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex + uuid.uuid4().hex, org, scope
    )


# --- the provider ----------------------------------------------------------------------------


def node_bin() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            f"node is not on the PATH: the OpenID provider of the tests needs Node.js 20+ ({INSTALL})"
        )
    return node


def require_provider_packages() -> None:
    """Fails (never skips) when tests/oidc's packages are not installed."""
    installed = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not installed.is_file():
        pytest.fail(
            f"the OpenID provider's packages are missing ({installed} not found): "
            f"run `{INSTALL}` first"
        )


def plain() -> requests.Session:
    session = requests.Session()
    # REQUESTS_CA_BUNDLE and proxies from the environment must not apply here.
    session.trust_env = False
    return session


class OidcProvider:
    """tests/oidc/provider.mjs as a child process. The port is chosen at the first start (any
    free one) and kept by `restart`, so the issuer raas trusts stays the same."""

    def __init__(
        self,
        workdir: Path,
        keys: list[dict],
        clients: list[ProviderClient],
        *,
        audience: str = RAAS_AUDIENCE,
        other_audiences: tuple[str, ...] = (OTHER_AUDIENCE,),
        claim: str = "org",
        ttl: int = 300,
        issuer_path: str = "",
    ):
        require_provider_packages()
        self.node = node_bin()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keys = list(keys)
        self.clients = {c.client_id: c for c in clients}
        self.audience = audience
        self.other_audiences = tuple(other_audiences)
        self.claim = claim
        self.ttl = ttl
        self.issuer_path = issuer_path
        self.port = 0
        self.issuer: str | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._discovery: dict | None = None

    # The life of the process.

    def start(self) -> "OidcProvider":
        assert self.proc is None, "the provider is already running"
        self.starts += 1
        keys_file = self.workdir / f"keys-{self.starts}.json"
        keys_file.write_text(json.dumps({"keys": self.keys}))
        clients_file = self.workdir / "clients.json"
        clients_file.write_text(json.dumps([c.as_json() for c in self.clients.values()]))
        self.log = self.workdir / f"provider-{self.starts}.log"
        args = [
            self.node,
            str(PROVIDER),
            *("--port", str(self.port)),
            *("--issuer", f"http://127.0.0.1:{{port}}{self.issuer_path}"),
            *("--keys", str(keys_file)),
            *("--clients", str(clients_file)),
            *("--audience", self.audience),
            *(arg for other in self.other_audiences for arg in ("--other-audience", other)),
            *("--claim", self.claim),
            *("--ttl", str(self.ttl)),
            "--exit-on-stdin-close",
            "--log-requests",
        ]
        with self.log.open("wb") as log:
            # stdin a pipe: the provider exits when this process goes, however it goes.
            self.proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=OIDC_DIR
            )
        lines: list[bytes] = []
        reader = threading.Thread(
            target=lambda: lines.append(self.proc.stdout.readline()), daemon=True
        )
        reader.start()
        reader.join(STARTUP_TIMEOUT_S)
        ready = None
        try:
            ready = json.loads(lines[0]) if lines and lines[0].strip() else None
        except json.JSONDecodeError:
            pass
        if not (isinstance(ready, dict) and ready.get("ready")):
            self.stop()
            pytest.fail(
                f"the OpenID provider did not start (got {lines[:1]!r});\n"
                f"{self.log.read_text(errors='replace')[-4000:]}"
            )
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        if self.issuer is not None:
            assert ready["issuer"] == self.issuer, "a restart changed the issuer"
        self.port = ready["port"]
        self.issuer = ready["issuer"]
        assert ready["kids"] == [k["kid"] for k in self.keys]
        self._discovery = None
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def restart(self, keys: list[dict] | None = None) -> "OidcProvider":
        """Stops the provider and starts it again on the same port and issuer, with `keys`
        (the first one signs) when given."""
        self.stop()
        if keys is not None:
            self.keys = list(keys)
        return self.start()

    def __enter__(self) -> "OidcProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requests_seen(self, path_suffix: str) -> int:
        """How many requests whose path ends with `path_suffix` this provider's process (since
        its last start) has logged."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(
            1
            for line in lines
            if line.startswith("request: ")
            and line.split(" ")[-1].split("?")[0].endswith(path_suffix)
        )

    def jwks_reads(self) -> int:
        """How many times the JWKS was read since the last start."""
        return self.requests_seen(urlsplit(self.discovery()["jwks_uri"]).path)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if getattr(self, "log", None) else ""

    # What it publishes.

    @property
    def signing_key(self) -> dict:
        return self.keys[0]

    def discovery(self) -> dict:
        if self._discovery is None:
            answer = plain().get(
                f"{self.issuer}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT_S
            )
            assert answer.status_code == 200, answer.text
            self._discovery = answer.json()
        return self._discovery

    @property
    def token_endpoint(self) -> str:
        return self.discovery()["token_endpoint"]

    def jwks(self) -> dict:
        answer = plain().get(self.discovery()["jwks_uri"], timeout=HTTP_TIMEOUT_S)
        assert answer.status_code == 200, answer.text
        return answer.json()

    # Tokens.

    def session(self, client: ProviderClient | str, scope: str | None = None) -> OAuth2Session:
        """An authlib session of the client (client_secret_basic), asking for `scope` (default:
        all the client may get)."""
        if isinstance(client, str):
            client = self.clients[client]
        session = OAuth2Session(
            client.client_id,
            client.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=scope if scope is not None else client.scope,
        )
        session.trust_env = False
        return session

    def fetch(self, session: OAuth2Session, resource: str | None = None) -> dict:
        """Fetches a token into the session (client credentials, `resource=` when given)."""
        extra = {"resource": resource} if resource is not None else {}
        return session.fetch_token(
            self.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT_S, **extra
        )

    def token(
        self, client: ProviderClient | str, scope: str | None = None, resource: str | None = None
    ) -> str:
        """An access token of the client from the token endpoint."""
        return self.fetch(self.session(client, scope), resource)["access_token"]

    def claims(self, client: ProviderClient, **overrides) -> dict:
        """The claims the provider would put in the client's token, now (overrides: None
        removes a claim)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
            "scope": client.scope,
        }
        if client.org is not None:
            claims[self.claim] = client.org
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict, key: dict | None = None, header: dict | None = None) -> str:
        """`claims` signed by one of the test's keys (default: the provider's signing key)."""
        return sign(key or self.signing_key, claims, header)


def provider_env_check() -> None:
    """For a module's first fixture: fail at once, with the install command, when the provider
    cannot run."""
    node_bin()
    require_provider_packages()
    version = subprocess.run(
        [node_bin(), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    major = int(version.lstrip("v").split(".")[0]) if version.startswith("v") else 0
    if major < 20:
        pytest.fail(f"node {version or '?'} is too old for oidc-provider 9 (20.19 or later)")
