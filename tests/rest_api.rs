//! The REST API (`/api/v1/…`) and raas's own OAuth 2.0 authorization server (`/oauth/token`,
//! `/oauth/jwks.json`, the RFC 8414 metadata), black-box: the real `raas serve`, its clients
//! made with `raas admin client add`, its deliveries with `raas admin publish` and
//! `raas batch run`.
//!
//! - The token endpoint: the client-credentials grant, the client authenticated by HTTP Basic
//!   (client_secret_basic) or in the form (client_secret_post); `invalid_client` (401 with a
//!   Basic challenge), `unsupported_grant_type`, `invalid_scope`, `invalid_request` (a
//!   parameter twice, no form); a SOAP credential is no client, and a client's secret is no
//!   SOAP credential.
//! - The access token: a JWT (EdDSA, `at+jwt`, its `kid` in the JWKS, which holds no private
//!   part), its claims, its signature checked here with `ring` (not the server's JWT library).
//! - Every route wants a valid bearer token: none, another scheme, a tampered signature,
//!   forged claims, `alg: none`, HS256, another audience or issuer (from a second server on the
//!   same database, whose keys are the same), an expired token, a revoked client's: 401 with an
//!   RFC 6750 challenge; a token without the route's scope: 403 `insufficient_scope`.
//! - A mailbox is its organisation's alone: another's delivery is answered exactly as one
//!   that does not exist, its events are not seen.
//! - Listings: `{items, totalItems, page, pageSize}`, the filters, pages, and refused
//!   parameters (unknown, twice, out of range) naming the field.
//! - Downloads: exact bytes, `ETag`, `Accept-Ranges`, `Content-Disposition`, `Range`,
//!   `If-None-Match`; the first download is the receipt (by the client id), one event only;
//!   a daily file's voucher and signature as they are in the outbox, a broadcast has none.
//! - The event feed in order, its cursor and its limits.
//! - Every call is audited: `MailboxApi` with the client id and `delivery:<id>`, `OAuth` for
//!   the token requests, refused ones included — also those refused for their parameters.
//! - `raas admin client revoke` acts on OAuth clients only, and `raas admin credential add`
//!   does not turn an OAuth client into a SOAP credential.

#[macro_use]
mod common;

use std::fs::File;
use std::io::BufReader;
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use reqwest::blocking::RequestBuilder;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use common::app::listening;
use common::batch::{days_before, signature_path, today, voucher_path, PERSON_MUTATIONS};
use common::{org_a, org_b, Backend, Org, Request, TestApp};

const READ: &str = "mailbox:read";
const DOWNLOAD: &str = "mailbox:download";
const BOTH: &str = "mailbox:read mailbox:download";
const ISSUER: &str = "urn:raas";
const AUDIENCE: &str = "urn:raas:api";
const BEARER: &str = "Bearer realm=\"raas\"";
const INVALID_TOKEN: &str = "Bearer realm=\"raas\", error=\"invalid_token\"";

// --- HTTP ------------------------------------------------------------------------------------

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Reply {
    fn of(request: RequestBuilder) -> Reply {
        let response = request.send().expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().expect("a readable answer").to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header").to_owned())
    }

    /// Asserts a status, saying what came instead.
    #[track_caller]
    fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "{}: {}", self.status, self.text());
        self
    }

    /// Asserts a JSON success (200, `Cache-Control: no-store`) and gives its body.
    #[track_caller]
    fn ok_json(self) -> Value {
        let reply = self.expect(200);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{:?}",
            reply.headers
        );
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        reply.json()
    }

    /// Asserts an API refusal: its status, its code, and gives its body.
    #[track_caller]
    fn refused(self, status: u16, code: &str) -> Value {
        let reply = self.expect(status);
        let body = reply.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        body
    }

    /// Asserts a 400 INVALID_FIELD naming `name` (and `value`) and gives its body.
    #[track_caller]
    fn invalid_field(self, name: &str, value: &str) -> Value {
        let body = self.refused(400, "INVALID_FIELD");
        assert_eq!(
            body["field"],
            json!({"name": name, "value": value}),
            "{body}"
        );
        body
    }

    /// Asserts a 401 of a protected route with this challenge.
    #[track_caller]
    fn unauthorised(self, challenge: &str) -> Value {
        let reply = self.expect(401);
        assert_eq!(
            reply.header("www-authenticate").as_deref(),
            Some(challenge),
            "{:?}",
            reply.headers
        );
        let body = reply.json();
        assert_eq!(body["code"], "NOT_AUTHENTICATED", "{body}");
        body
    }

    /// Asserts an error of the token endpoint (RFC 6749 §5.2) and gives its body.
    #[track_caller]
    fn oauth_error(self, status: u16, error: &str) -> Value {
        let reply = self.expect(status);
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        if status == 401 {
            assert_eq!(
                reply.header("www-authenticate").as_deref(),
                Some("Basic realm=\"raas\""),
                "{:?}",
                reply.headers
            );
        }
        let body = reply.json();
        assert_eq!(body["error"], error, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        body
    }
}

/// GETs a path of a server with a bearer token (or none) and extra headers.
fn get_with(base: &str, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    let mut request = http().get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::of(request)
}

fn get(base: &str, path: &str, token: &str) -> Reply {
    get_with(base, path, Some(token), &[])
}

// --- OAuth clients and tokens ----------------------------------------------------------------

/// An OAuth client as `raas admin client add` printed it.
#[derive(Debug, Clone)]
struct OAuthClient {
    id: String,
    secret: String,
    cbe: String,
}

/// `raas admin client add --cbe CBE [--scope S]…`.
#[track_caller]
fn add_client(app: &TestApp, cbe: &str, scopes: &[&str]) -> OAuthClient {
    let mut args = vec!["client", "add", "--cbe", cbe];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    let out = app.admin(&args, "");
    let field = |name: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {out:?}"))
            .to_owned()
    };
    let expected_scope = if scopes.is_empty() || scopes.len() == 2 {
        BOTH
    } else {
        scopes[0]
    };
    assert_eq!(field("scope"), expected_scope, "{out}");
    let client = OAuthClient {
        id: field("client_id"),
        secret: field("client_secret"),
        cbe: cbe.to_owned(),
    };
    assert!(client.id.starts_with("client-"), "{out}");
    assert!(client.secret.len() >= 32, "{out}");
    client
}

/// How a token request authenticates its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// client_secret_basic.
    Basic,
    /// client_secret_post.
    Post,
}

/// POSTs a token request: the form `fields`, the client id and secret as `auth` says.
fn token_request(base: &str, id: &str, secret: &str, auth: Auth, fields: &[(&str, &str)]) -> Reply {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    let mut request = http().post(format!("{base}/oauth/token"));
    match auth {
        Auth::Basic => request = request.basic_auth(id, Some(secret)),
        Auth::Post => form.extend([("client_id", id), ("client_secret", secret)]),
    }
    Reply::of(request.form(&form))
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

/// A token for `client` (all its scopes, or `scope`), which must be issued.
#[track_caller]
fn token_for(base: &str, client: &OAuthClient, scope: Option<&str>) -> String {
    let mut fields = vec![GRANT];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    let body = token_request(base, &client.id, &client.secret, Auth::Basic, &fields).ok_json();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {body}"))
        .to_owned()
}

/// A JWT's three parts, the first two decoded as JSON.
struct Jwt {
    header: Value,
    claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

#[track_caller]
fn decode_jwt(token: &str) -> Jwt {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWS compact serialisation: {token}");
    for part in &parts {
        assert!(
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not base64url without padding: {part}"
        );
    }
    let json_of = |part: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url");
        serde_json::from_slice(&bytes).expect("a JSON object")
    };
    Jwt {
        header: json_of(parts[0]),
        claims: json_of(parts[1]),
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url"),
    }
}

/// A JWT made of these parts, signed with `signature`.
fn encode_jwt(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// HMAC-SHA-256 (RFC 2104), for the algorithm-confusion token.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The token with one character of its signature changed (in the middle: the last
/// character of an Ed25519 signature also carries padding bits).
fn tampered(token: &str) -> String {
    let signature_start = token.rfind('.').expect("a JWT") + 1;
    let at = signature_start + 20;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

// --- Deliveries ------------------------------------------------------------------------------

/// Writes `bytes` to `name` in the test's directory and broadcasts it to `cbes` with
/// `raas admin publish` (run in the server's directory, so into its outbox); gives the
/// document's id.
#[track_caller]
fn publish(app: &TestApp, cbes: &[&str], name: &str, subject: &str, bytes: &[u8]) -> i64 {
    let path = app.path(name);
    std::fs::write(&path, bytes).expect("the document is written");
    let mut args = vec!["publish"];
    for cbe in cbes {
        args.extend(["--cbe", cbe]);
    }
    let file = path.to_str().expect("a UTF-8 path");
    args.extend(["--subject", subject, "--file", file, "--operator", "ops"]);
    let out = app.admin(&args, "");
    let id = out
        .strip_prefix("document ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("publish printed {out:?}"));
    assert!(
        out.contains(&format!("published to {} mailbox(es)", cbes.len())),
        "{out}"
    );
    id
}

/// `raas admin deliveries --cbe CBE --json`: the sender's ledger, newest first.
fn ledger_of(app: &TestApp, cbe: &str) -> Vec<Value> {
    app.admin(&["deliveries", "--cbe", cbe, "--json"], "")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The whole mailbox as a token lists it (one page of 100), oldest first.
#[track_caller]
fn mailbox(base: &str, token: &str) -> Vec<Value> {
    let body = get(base, "/api/v1/deliveries?pageSize=100", token).ok_json();
    body["items"].as_array().expect("items").clone()
}

/// The delivery of a mailbox whose subject is `subject`.
#[track_caller]
fn by_subject(items: &[Value], subject: &str) -> Value {
    items
        .iter()
        .find(|d| d["subject"] == subject)
        .unwrap_or_else(|| panic!("no delivery {subject:?} in {items:#?}"))
        .clone()
}

fn id_of(delivery: &Value) -> i64 {
    delivery["id"].as_i64().expect("an id")
}

/// The ids of a listing's items.
#[track_caller]
fn ids(listing: &Value) -> Vec<i64> {
    listing["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {listing}"))
        .iter()
        .map(id_of)
        .collect()
}

/// A listing's query, its values percent-encoded.
fn listing(base: &str, token: &str, query: &[(&str, &str)]) -> Reply {
    let request = http()
        .get(format!("{base}/api/v1/deliveries"))
        .header("Authorization", format!("Bearer {token}"))
        .query(query);
    Reply::of(request)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes no text encoding would carry unharmed: every byte value, then some text.
fn binary_document() -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend_from_slice("\r\n<closure> & \u{e9}t\u{e9} ]]>\n".as_bytes());
    bytes
}

/// The routes of the API and the scope each wants, with `id` as the delivery.
fn routes(id: i64) -> Vec<(String, &'static str)> {
    vec![
        ("/api/v1/mailbox".into(), READ),
        ("/api/v1/deliveries".into(), READ),
        (format!("/api/v1/deliveries/{id}"), READ),
        (format!("/api/v1/deliveries/{id}/content"), DOWNLOAD),
        (format!("/api/v1/deliveries/{id}/voucher"), DOWNLOAD),
        (format!("/api/v1/deliveries/{id}/signature"), DOWNLOAD),
        ("/api/v1/events".into(), READ),
    ]
}

/// What a route answers a token that passes: anything but a refusal of the token.
#[track_caller]
fn assert_token_accepted(reply: &Reply, route: &str) {
    assert!(
        reply.status != 401 && reply.status != 403,
        "{route}: {} {}",
        reply.status,
        reply.text()
    );
}

/// Another `raas serve` on the test's database (and directory), with `args` added, killed
/// when dropped.
struct OtherServer {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    base_url: String,
}

impl OtherServer {
    fn start(app: &TestApp, name: &str, args: &[&str]) -> OtherServer {
        let log = app.path(&format!("{name}.log"));
        let child = app
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "1"])
            .args(["--db-connections", "2"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("a log file"))
            .spawn()
            .expect("raas serve starts");
        let (child, stdout, base_url) =
            listening(child, || std::fs::read_to_string(&log).unwrap_or_default());
        OtherServer {
            child,
            _stdout: stdout,
            base_url,
        }
    }
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

// --- 1. The token endpoint -------------------------------------------------------------------

fn the_token_endpoint_issues_tokens_to_clients_only(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let client = add_client(&app, &a.cbe, &[]);
    let reader = add_client(&app, &a.cbe, &[READ]);

    // Both ways of authenticating the client give the same kind of answer.
    for auth in [Auth::Basic, Auth::Post] {
        let reply = token_request(&base, &client.id, &client.secret, auth, &[GRANT]);
        let body = reply.ok_json();
        let mut keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["access_token", "expires_in", "scope", "token_type"],
            "{auth:?}: {body}"
        );
        assert_eq!(body["token_type"], "Bearer", "{auth:?}");
        assert_eq!(body["expires_in"], 300, "{auth:?}");
        assert_eq!(body["scope"], BOTH, "{auth:?}");
        assert_eq!(
            decode_jwt(body["access_token"].as_str().expect("a token")).claims["client_id"],
            client.id.as_str()
        );
        // A narrower scope is granted as asked.
        let narrow = token_request(
            &base,
            &client.id,
            &client.secret,
            auth,
            &[GRANT, ("scope", READ)],
        )
        .ok_json();
        assert_eq!(narrow["scope"], READ, "{auth:?}");
    }
    // Basic with the same client_id in the form too is still one client.
    let reply = Reply::of(
        http()
            .post(format!("{base}/oauth/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[GRANT, ("client_id", client.id.as_str())]),
    );
    reply.ok_json();

    // A wrong secret, an unknown client, no client authentication at all.
    for auth in [Auth::Basic, Auth::Post] {
        token_request(&base, &client.id, "not-the-secret", auth, &[GRANT])
            .oauth_error(401, "invalid_client");
        token_request(&base, "client-unknown", &client.secret, auth, &[GRANT])
            .oauth_error(401, "invalid_client");
    }
    Reply::of(http().post(format!("{base}/oauth/token")).form(&[GRANT]))
        .oauth_error(401, "invalid_client");
    // Two ways at once.
    Reply::of(
        http()
            .post(format!("{base}/oauth/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[GRANT, ("client_secret", client.secret.as_str())]),
    )
    .oauth_error(400, "invalid_request");

    // Grants other than client_credentials, or none.
    for grant in ["password", "authorization_code", "refresh_token"] {
        token_request(
            &base,
            &client.id,
            &client.secret,
            Auth::Basic,
            &[("grant_type", grant)],
        )
        .oauth_error(400, "unsupported_grant_type");
    }
    token_request(&base, &client.id, &client.secret, Auth::Basic, &[])
        .oauth_error(400, "invalid_request");

    // Scopes the client lacks, or that do not exist.
    for auth in [Auth::Basic, Auth::Post] {
        for scope in [DOWNLOAD, BOTH, "mailbox:write", "admin"] {
            let body = token_request(
                &base,
                &reader.id,
                &reader.secret,
                auth,
                &[GRANT, ("scope", scope)],
            )
            .oauth_error(400, "invalid_scope");
            assert!(
                !body.to_string().contains(&reader.secret),
                "the secret is echoed: {body}"
            );
        }
    }
    // The reader's own scope is granted.
    let body = token_request(
        &base,
        &reader.id,
        &reader.secret,
        Auth::Post,
        &[GRANT, ("scope", READ)],
    )
    .ok_json();
    assert_eq!(body["scope"], READ);

    // A parameter twice.
    for fields in [
        vec![GRANT, GRANT],
        vec![GRANT, ("grant_type", "password")],
        vec![GRANT, ("scope", READ), ("scope", DOWNLOAD)],
    ] {
        token_request(&base, &client.id, &client.secret, Auth::Basic, &fields)
            .oauth_error(400, "invalid_request");
    }
    Reply::of(http().post(format!("{base}/oauth/token")).form(&[
        GRANT,
        ("client_id", client.id.as_str()),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ]))
    .oauth_error(400, "invalid_request");
    // Not a form.
    Reply::of(
        http()
            .post(format!("{base}/oauth/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .header("Content-Type", "application/json")
            .body(r#"{"grant_type":"client_credentials"}"#),
    )
    .oauth_error(400, "invalid_request");

    // A SOAP credential is no OAuth client, though its secret is right.
    for auth in [Auth::Basic, Auth::Post] {
        token_request(&base, &a.username, &a.password, auth, &[GRANT])
            .oauth_error(401, "invalid_client");
    }
    // … and a client's secret is no SOAP credential.
    let as_soap = Org {
        username: client.id.clone(),
        password: client.secret.clone(),
        ..org_a()
    };
    app.call(&Request::list_dossier_types(&as_soap))
        .fault("NOT_AUTHENTICATED");
    // The SOAP credential itself still works, and the client still gets tokens.
    app.call(&Request::list_dossier_types(&a)).ok();
    token_for(&base, &client, None);

    // A revoked client gets no token.
    let revoked = add_client(&app, &a.cbe, &[]);
    token_for(&base, &revoked, None);
    let listed = app.admin(&["client", "list", "--cbe", &a.cbe], "");
    assert!(
        listed.contains(&format!("{}\t{BOTH}", revoked.id)),
        "{listed}"
    );
    app.admin(
        &[
            "client",
            "revoke",
            "--cbe",
            &a.cbe,
            "--client-id",
            &revoked.id,
        ],
        "",
    );
    let listed = app.admin(&["client", "list", "--cbe", &a.cbe], "");
    assert!(!listed.contains(&revoked.id), "{listed}");
    assert!(listed.contains(&client.id), "{listed}");
    assert!(
        !listed.contains(&a.username),
        "a SOAP credential is listed as a client: {listed}"
    );
    token_for_refused(&base, &revoked);

    // The metadata document (RFC 8414) names the endpoint and what it supports.
    let metadata = get_with(&base, "/.well-known/oauth-authorization-server", None, &[])
        .expect(200)
        .json();
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(metadata["jwks_uri"], format!("{base}/oauth/jwks.json"));
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(metadata["scopes_supported"], json!([READ, DOWNLOAD]));
}

#[track_caller]
fn token_for_refused(base: &str, client: &OAuthClient) {
    for auth in [Auth::Basic, Auth::Post] {
        token_request(base, &client.id, &client.secret, auth, &[GRANT])
            .oauth_error(401, "invalid_client");
    }
}

// --- 2. The access token ---------------------------------------------------------------------

fn access_tokens_are_eddsa_jwts_signed_with_a_published_key(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let client = add_client(&app, &a.cbe, &[]);
    let before = Utc::now().timestamp();
    let token = token_for(&base, &client, None);
    let narrow = token_for(&base, &client, Some(DOWNLOAD));
    let after = Utc::now().timestamp();

    let jwt = decode_jwt(&token);
    assert_eq!(jwt.header["alg"], "EdDSA", "{}", jwt.header);
    assert_eq!(jwt.header["typ"], "at+jwt", "{}", jwt.header);
    let kid = jwt.header["kid"].as_str().expect("a kid").to_owned();
    assert!(!kid.is_empty());

    let claims = &jwt.claims;
    assert_eq!(claims["iss"], ISSUER, "{claims}");
    assert_eq!(claims["aud"], AUDIENCE, "{claims}");
    assert_eq!(claims["client_id"], client.id.as_str(), "{claims}");
    assert_eq!(claims["sub"], client.id.as_str(), "{claims}");
    assert_eq!(claims["scope"], BOTH, "{claims}");
    assert_eq!(claims["org"], a.cbe.as_str(), "{claims}");
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(
        before <= iat && iat <= after,
        "iat {iat} not in {before}..={after}"
    );
    assert_eq!(exp - iat, 300, "{claims}");
    let narrow = decode_jwt(&narrow);
    assert_eq!(narrow.claims["scope"], DOWNLOAD);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_ne!(claims["jti"], narrow.claims["jti"], "two tokens, one jti");

    // The key set: public Ed25519 keys only, the token's among them.
    let reply = get_with(&base, "/oauth/jwks.json", None, &[]).expect(200);
    let jwks = reply.json();
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for key in keys {
        assert_eq!(key["kty"], "OKP", "{key}");
        assert_eq!(key["crv"], "Ed25519", "{key}");
        assert!(key.get("d").is_none(), "a private key is published: {key}");
    }
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} is not in {jwks}"));
    let x = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().expect("x"))
        .expect("x is base64url");
    assert_eq!(x.len(), 32, "{key}");

    // The signature verifies with ring, over exactly the first two parts.
    let public = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &x);
    assert_eq!(jwt.signature.len(), 64);
    public
        .verify(jwt.signing_input.as_bytes(), &jwt.signature)
        .expect("the token's signature verifies with the published key");
    public
        .verify(narrow.signing_input.as_bytes(), &narrow.signature)
        .expect("the narrow token's signature verifies");
    let forged = jwt.signing_input.replacen('e', "f", 1);
    assert!(
        public.verify(forged.as_bytes(), &jwt.signature).is_err(),
        "the check verifies anything"
    );

    // The token works, and is the client's: the mailbox is its organisation's.
    let summary = get(&base, "/api/v1/mailbox", &token).ok_json();
    assert_eq!(summary["organisation"], a.cbe.as_str(), "{summary}");

    // The key is shared in the database: another server publishes the same one and accepts
    // the first one's tokens (and its tokens are signed with it).
    let other = OtherServer::start(&app, "other", &[]);
    let other_jwks = get_with(&other.base_url, "/oauth/jwks.json", None, &[])
        .expect(200)
        .json();
    assert_eq!(other_jwks, jwks);
    get(&other.base_url, "/api/v1/mailbox", &token).ok_json();
    let from_other = token_for(&other.base_url, &client, None);
    assert_eq!(decode_jwt(&from_other).header["kid"], kid.as_str());
    get(&base, "/api/v1/mailbox", &from_other).ok_json();
}

// --- 3. Bearer tokens on every route ---------------------------------------------------------

fn every_route_wants_a_valid_bearer_token_with_its_scope(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let id = publish(&app, &[&a.cbe], "note.txt", "Note", b"hello");
    let client = add_client(&app, &a.cbe, &[]);
    let reader = add_client(&app, &a.cbe, &[READ]);
    let downloader = add_client(&app, &a.cbe, &[DOWNLOAD]);
    let token = token_for(&base, &client, None);
    let jwt = decode_jwt(&token);

    // Tokens that are no valid token of this server.
    let mut forged_org = jwt.claims.clone();
    forged_org["org"] = json!(org_b().cbe);
    let reader_jwt = decode_jwt(&token_for(&base, &reader, None));
    let mut forged_scope = reader_jwt.claims.clone();
    forged_scope["scope"] = json!(BOTH);
    let mut longer = jwt.claims.clone();
    longer["exp"] = json!(jwt.claims["exp"].as_i64().expect("exp") + 3600);
    let x = {
        let jwks = get_with(&base, "/oauth/jwks.json", None, &[]).json();
        URL_SAFE_NO_PAD
            .decode(jwks["keys"][0]["x"].as_str().expect("x"))
            .expect("base64url")
    };
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": jwt.header["kid"]});
    let hs256_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": jwt.header["kid"]});
    let hs256_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(hs256_header.to_string()),
        URL_SAFE_NO_PAD.encode(jwt.claims.to_string())
    );
    let unknown_kid = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "no-such-key"});
    let invalid = [
        ("a tampered signature", tampered(&token)),
        (
            "another organisation in the claims",
            encode_jwt(&jwt.header, &forged_org, &jwt.signature),
        ),
        (
            "more scopes in the claims",
            encode_jwt(&reader_jwt.header, &forged_scope, &reader_jwt.signature),
        ),
        (
            "a later expiry in the claims",
            encode_jwt(&jwt.header, &longer, &jwt.signature),
        ),
        ("alg none", encode_jwt(&none_header, &jwt.claims, b"")),
        (
            "HS256 keyed with the public key",
            format!(
                "{hs256_input}.{}",
                URL_SAFE_NO_PAD.encode(hmac_sha256(&x, hs256_input.as_bytes()))
            ),
        ),
        (
            "an unknown kid",
            encode_jwt(&unknown_kid, &jwt.claims, &jwt.signature),
        ),
        (
            "the signature cut off",
            token[..token.rfind('.').expect("a JWT")].to_owned(),
        ),
        ("not a JWT", "abc".to_owned()),
    ];

    // Tokens with one scope: each client's, and the full client's narrowed at the token
    // endpoint.
    let one_scope = [
        ("reader", token_for(&base, &reader, None), READ),
        ("downloader", token_for(&base, &downloader, None), DOWNLOAD),
        (
            "client narrowed to read",
            token_for(&base, &client, Some(READ)),
            READ,
        ),
        (
            "client narrowed to download",
            token_for(&base, &client, Some(DOWNLOAD)),
            DOWNLOAD,
        ),
    ];

    for (route, scope) in routes(id) {
        // No token, or another scheme.
        get_with(&base, &route, None, &[]).unauthorised(BEARER);
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", client.id, client.secret))
        );
        get_with(&base, &route, None, &[("Authorization", &basic)]).unauthorised(BEARER);
        get_with(&base, &route, None, &[("Authorization", "Bearer ")]).unauthorised(BEARER);
        // A token in the query is none (and no parameter of the route).
        let in_query = get_with(&base, &format!("{route}?access_token={token}"), None, &[]);
        assert!(
            in_query.status == 401 || in_query.status == 400,
            "{route}: a token in the query: {} {}",
            in_query.status,
            in_query.text()
        );
        assert_ne!(in_query.status / 100, 2, "{route}");

        for (what, bad) in &invalid {
            let body = get(&base, &route, bad).unauthorised(INVALID_TOKEN);
            assert!(
                !body.to_string().contains(&client.secret),
                "{route}, {what}: {body}"
            );
        }

        // The token itself passes; the scheme is case-insensitive.
        assert_token_accepted(&get(&base, &route, &token), &route);
        let lower = get_with(
            &base,
            &route,
            None,
            &[("Authorization", &format!("bearer {token}"))],
        );
        assert_token_accepted(&lower, &route);

        // A token passes where its scope suffices, and is refused with 403 elsewhere.
        for (who, token, has) in &one_scope {
            let reply = get(&base, &route, token);
            if *has == scope {
                assert_token_accepted(&reply, &route);
                continue;
            }
            let reply = reply.expect(403);
            assert_eq!(
                reply.header("www-authenticate"),
                Some(format!(
                    "Bearer realm=\"raas\", error=\"insufficient_scope\", scope=\"{scope}\""
                )),
                "{route}, {who}"
            );
            assert_eq!(reply.json()["code"], "INSUFFICIENT_SCOPE", "{route}, {who}");
        }
    }
    // The refused requests wrote no receipt: the first accepted download was the full
    // token's.
    let one = get(&base, &format!("/api/v1/deliveries/{id}"), &token).ok_json();
    assert_eq!(one["state"], "DOWNLOADED", "{one}");
    assert_eq!(one["firstDownload"]["by"], client.id.as_str(), "{one}");

    // A revoked client's tokens stop working at once, on every route.
    let revoked = add_client(&app, &a.cbe, &[]);
    let revoked_token = token_for(&base, &revoked, None);
    get(&base, "/api/v1/mailbox", &revoked_token).ok_json();
    app.admin(
        &[
            "client",
            "revoke",
            "--cbe",
            &a.cbe,
            "--client-id",
            &revoked.id,
        ],
        "",
    );
    for (route, _) in routes(id) {
        get(&base, &route, &revoked_token).unauthorised(INVALID_TOKEN);
    }
    // The others are not affected.
    get(&base, "/api/v1/mailbox", &token).ok_json();
}

fn tokens_of_another_audience_or_issuer_are_refused(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let id = publish(&app, &[&a.cbe], "note.txt", "Note", b"hello");
    let client = add_client(&app, &a.cbe, &[]);
    let ours = token_for(&base, &client, None);
    let other_audience = OtherServer::start(&app, "other-audience", &["--token-audience", "other"]);
    let other_issuer = OtherServer::start(&app, "other-issuer", &["--token-issuer", "urn:other"]);

    for (server, aud, iss) in [
        (&other_audience, "other", ISSUER),
        (&other_issuer, AUDIENCE, "urn:other"),
    ] {
        let theirs = token_for(&server.base_url, &client, None);
        let jwt = decode_jwt(&theirs);
        assert_eq!(jwt.claims["aud"], aud, "{}", jwt.claims);
        assert_eq!(jwt.claims["iss"], iss, "{}", jwt.claims);
        // Signed with the same key (the database's): only the claim differs.
        assert_eq!(jwt.header["kid"], decode_jwt(&ours).header["kid"]);
        for (route, _) in routes(id) {
            // Each server takes its own tokens and refuses the other's.
            assert_token_accepted(&get(&server.base_url, &route, &theirs), &route);
            get(&base, &route, &theirs).unauthorised(INVALID_TOKEN);
            get(&server.base_url, &route, &ours).unauthorised(INVALID_TOKEN);
        }
        let metadata = get_with(
            &server.base_url,
            "/.well-known/oauth-authorization-server",
            None,
            &[],
        )
        .expect(200)
        .json();
        assert_eq!(metadata["issuer"], iss);
    }
    get(&base, "/api/v1/mailbox", &ours).ok_json();
}

fn an_expired_token_is_refused_after_the_leeway(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[
            "--token-lifetime-seconds",
            "1",
            "--db-connections",
            "4",
            "--workers",
            "2",
        ],
    );
    let base = app.base_url().to_owned();
    let a = org_a();
    let client = add_client(&app, &a.cbe, &[]);
    let body = token_request(&base, &client.id, &client.secret, Auth::Basic, &[GRANT]).ok_json();
    assert_eq!(body["expires_in"], 1, "{body}");
    let token = body["access_token"].as_str().expect("a token").to_owned();
    let exp = decode_jwt(&token).claims["exp"].as_i64().expect("exp");
    assert_eq!(
        exp - decode_jwt(&token).claims["iat"].as_i64().expect("iat"),
        1
    );

    // Within its life and the 30 s of leeway it is taken…
    get(&base, "/api/v1/mailbox", &token).ok_json();
    // … after them it is not, on any route.
    let past = exp + 32;
    while Utc::now().timestamp() <= past {
        std::thread::sleep(Duration::from_millis(500));
    }
    for (route, _) in routes(1) {
        let body = get(&base, &route, &token).unauthorised(INVALID_TOKEN);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.to_lowercase().contains("expired")),
            "{route}: {body}"
        );
    }
    // A new token works again.
    let fresh = token_for(&base, &client, None);
    get(&base, "/api/v1/mailbox", &fresh).ok_json();
}

// --- 4. Isolation ----------------------------------------------------------------------------

fn a_mailbox_is_its_organisations_alone(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let (a, b) = (org_a(), org_b());
    let a_only = publish(&app, &[&a.cbe], "for-a.txt", "For A", b"only for A");
    let both = publish(&app, &[&a.cbe, &b.cbe], "for-both.txt", "For both", b"both");
    let a_token = token_for(&base, &add_client(&app, &a.cbe, &[]), None);
    let b_client = add_client(&app, &b.cbe, &[]);
    let b_token = token_for(&base, &b_client, None);

    let a_items = mailbox(&base, &a_token);
    let b_items = mailbox(&base, &b_token);
    let a_delivery = id_of(&by_subject(&a_items, "For A"));
    let a_shared = id_of(&by_subject(&a_items, "For both"));
    let b_shared = id_of(&by_subject(&b_items, "For both"));
    assert_eq!(a_items.len(), 2, "{a_items:#?}");
    assert_eq!(b_items.len(), 1, "{b_items:#?}");
    assert_ne!(a_shared, b_shared, "one delivery per mailbox");
    assert!(a_only > 0 && both > 0);
    let b_list = get(&base, "/api/v1/deliveries", &b_token).ok_json();
    assert_eq!(b_list["totalItems"], 1, "{b_list}");
    let b_summary = get(&base, "/api/v1/mailbox", &b_token).ok_json();
    assert_eq!(b_summary["organisation"], b.cbe.as_str());
    assert_eq!(b_summary["totalItems"], 1, "{b_summary}");

    // A's deliveries, asked by B, are answered as deliveries that do not exist.
    let missing = a_items
        .iter()
        .chain(&b_items)
        .map(id_of)
        .max()
        .expect("deliveries")
        + 1000;
    let shape = |reply: Reply, id: i64| {
        let status = reply.status;
        let challenge = reply.header("www-authenticate");
        let body = reply.json();
        let text = body.to_string().replace(&id.to_string(), "ID");
        (status, challenge, text)
    };
    for suffix in ["", "/content", "/voucher", "/signature"] {
        let nothing = shape(
            get(
                &base,
                &format!("/api/v1/deliveries/{missing}{suffix}"),
                &b_token,
            ),
            missing,
        );
        assert_eq!(nothing.0, 404, "{nothing:?}");
        assert!(
            nothing.2.contains("\"code\":\"DELIVERY_UNKNOWN\""),
            "{nothing:?}"
        );
        assert!(
            nothing.2.contains(r#""field":{"name":"id","value":"ID"}"#),
            "{nothing:?}"
        );
        for id in [a_delivery, a_shared] {
            let theirs = shape(
                get(&base, &format!("/api/v1/deliveries/{id}{suffix}"), &b_token),
                id,
            );
            assert_eq!(theirs, nothing, "B asking for A's {id}{suffix}");
        }
    }
    // Nothing B did was a receipt of A's deliveries.
    for item in mailbox(&base, &a_token) {
        assert_eq!(item["state"], "AVAILABLE", "{item}");
        assert_eq!(item["firstDownload"], Value::Null, "{item}");
    }

    // The events: each mailbox sees its own deliveries' only.
    let a_events = get(&base, "/api/v1/events", &a_token).ok_json();
    let b_events = get(&base, "/api/v1/events", &b_token).ok_json();
    let delivery_ids = |events: &Value| -> Vec<i64> {
        events["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["deliveryId"].as_i64().expect("deliveryId"))
            .collect()
    };
    let mut a_seen = delivery_ids(&a_events);
    a_seen.sort_unstable();
    assert_eq!(a_seen, [a_delivery, a_shared], "{a_events}");
    assert_eq!(delivery_ids(&b_events), [b_shared], "{b_events}");

    // B downloads its own copy: A's stays unread.
    let content = get(
        &base,
        &format!("/api/v1/deliveries/{b_shared}/content"),
        &b_token,
    )
    .expect(200);
    assert_eq!(content.bytes, b"both");
    let a_copy = get(&base, &format!("/api/v1/deliveries/{a_shared}"), &a_token).ok_json();
    assert_eq!(a_copy["state"], "AVAILABLE", "{a_copy}");
    let b_copy = get(&base, &format!("/api/v1/deliveries/{b_shared}"), &b_token).ok_json();
    assert_eq!(
        b_copy["firstDownload"]["by"],
        b_client.id.as_str(),
        "{b_copy}"
    );
    let a_events_after = get(&base, "/api/v1/events", &a_token).ok_json();
    assert_eq!(
        a_events_after["items"], a_events["items"],
        "A sees B's download"
    );
}

// --- 5. Listings -----------------------------------------------------------------------------

fn listings_filter_and_page_the_mailbox(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let batch = app.batch();
    let a = org_a();
    let d = today();
    app.subscribe(&a.cbe, PERSON_MUTATIONS, &[], &[]);
    app.backdate_subscriptions(days_before(d, 1));
    batch.run_ok(days_before(d, 1));
    publish(&app, &[&a.cbe], "first.txt", "First", b"first");
    batch.run_ok(d);
    publish(&app, &[&a.cbe], "second.txt", "Second", b"second");
    let client = add_client(&app, &a.cbe, &[]);
    let token = token_for(&base, &client, None);

    // Everything, oldest first, with the default page.
    let all = get(&base, "/api/v1/deliveries", &token).ok_json();
    assert_eq!(all["totalItems"], 4, "{all}");
    assert_eq!(all["page"], 1);
    assert_eq!(all["pageSize"], 20);
    let items = all["items"].as_array().expect("items").clone();
    let all_ids = ids(&all);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");
    let kinds: Vec<(&str, Option<i64>)> = items
        .iter()
        .map(|d| {
            (
                d["fileType"].as_str().expect("fileType"),
                d["sequenceNumber"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (PERSON_MUTATIONS, Some(1)),
            ("BROADCAST", None),
            (PERSON_MUTATIONS, Some(2)),
            ("BROADCAST", None),
        ]
    );
    let (daily_1, first, daily_2, second) = (all_ids[0], all_ids[1], all_ids[2], all_ids[3]);
    assert_eq!(items[1]["subject"], "First");
    assert_eq!(items[1]["size"], 5);
    assert_eq!(items[1]["sha256"], sha256_hex(b"first"));
    assert_eq!(items[0]["referenceDate"], days_before(d, 1).to_string());
    assert_eq!(items[2]["referenceDate"], d.to_string());
    // The API shows what the sender's ledger shows.
    let mut ledger = ledger_of(&app, &a.cbe);
    ledger.reverse();
    assert_eq!(items, ledger);
    // One delivery reads as it is listed.
    for item in &items {
        let one = get(
            &base,
            &format!("/api/v1/deliveries/{}", id_of(item)),
            &token,
        )
        .ok_json();
        assert_eq!(&one, item);
    }

    let select = |query: &[(&str, &str)]| {
        let body = listing(&base, &token, query).ok_json();
        (body["totalItems"].as_i64().expect("totalItems"), ids(&body))
    };
    // fileType.
    assert_eq!(
        select(&[("fileType", "BROADCAST")]),
        (2, vec![first, second])
    );
    assert_eq!(
        select(&[("fileType", PERSON_MUTATIONS)]),
        (2, vec![daily_1, daily_2])
    );
    assert_eq!(select(&[("fileType", "DIMONA_MUTATIONS")]), (0, vec![]));
    listing(&base, &token, &[("fileType", "SPAM")]).invalid_field("fileType", "SPAM");
    listing(&base, &token, &[("fileType", "broadcast")]).invalid_field("fileType", "broadcast");

    // afterSequence: daily files only, whose number is greater.
    assert_eq!(
        select(&[("afterSequence", "0")]),
        (2, vec![daily_1, daily_2])
    );
    assert_eq!(select(&[("afterSequence", "1")]), (1, vec![daily_2]));
    assert_eq!(select(&[("afterSequence", "2")]), (0, vec![]));
    listing(&base, &token, &[("afterSequence", "one")]).invalid_field("afterSequence", "one");

    // receivedAfter: strictly after, in any zone.
    let at = instant(items[1]["publishedAt"].as_str().expect("publishedAt"));
    let utc_text = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let brussels = at
        .with_timezone(&FixedOffset::east_opt(2 * 3600).expect("an offset"))
        .to_rfc3339_opts(SecondsFormat::Micros, false);
    assert!(brussels.ends_with("+02:00"), "{brussels}");
    let just_before =
        (at - chrono::Duration::microseconds(1)).to_rfc3339_opts(SecondsFormat::Micros, true);
    assert_eq!(
        select(&[("receivedAfter", utc_text.as_str())]),
        (2, vec![daily_2, second])
    );
    assert_eq!(
        select(&[("receivedAfter", brussels.as_str())]),
        (2, vec![daily_2, second])
    );
    assert_eq!(
        select(&[("receivedAfter", just_before.as_str())]),
        (3, vec![first, daily_2, second])
    );
    assert_eq!(select(&[("receivedAfter", "2000-01-01T00:00:00Z")]).0, 4);
    for bad in ["yesterday", "2026-12-01", "2026-12-01T08:00:00"] {
        listing(&base, &token, &[("receivedAfter", bad)]).invalid_field("receivedAfter", bad);
    }

    // downloaded, after one download.
    assert_eq!(select(&[("downloaded", "true")]), (0, vec![]));
    get(
        &base,
        &format!("/api/v1/deliveries/{daily_1}/content"),
        &token,
    )
    .expect(200);
    assert_eq!(select(&[("downloaded", "true")]), (1, vec![daily_1]));
    assert_eq!(
        select(&[("downloaded", "false")]),
        (3, vec![first, daily_2, second])
    );
    listing(&base, &token, &[("downloaded", "yes")]).invalid_field("downloaded", "yes");

    // Filters together.
    assert_eq!(
        select(&[("fileType", PERSON_MUTATIONS), ("downloaded", "false")]),
        (1, vec![daily_2])
    );
    assert_eq!(
        select(&[
            ("fileType", "BROADCAST"),
            ("receivedAfter", utc_text.as_str())
        ]),
        (1, vec![second])
    );

    // Pages.
    let page = |page: &str, size: &str| {
        let body = listing(&base, &token, &[("page", page), ("pageSize", size)]).ok_json();
        assert_eq!(body["page"], page.parse::<u32>().expect("a page"));
        assert_eq!(body["pageSize"], size.parse::<u32>().expect("a size"));
        (body["totalItems"].as_i64().expect("totalItems"), ids(&body))
    };
    assert_eq!(page("1", "3"), (4, vec![daily_1, first, daily_2]));
    assert_eq!(page("2", "3"), (4, vec![second]));
    assert_eq!(page("3", "3"), (4, vec![]));
    assert_eq!(page("4", "1"), (4, vec![second]));
    assert_eq!(page("1", "100"), (4, all_ids.clone()));
    assert_eq!(
        listing(
            &base,
            &token,
            &[("fileType", "BROADCAST"), ("page", "2"), ("pageSize", "1")]
        )
        .ok_json()["items"][0]["id"],
        second
    );
    for (name, value) in [
        ("page", "0"),
        ("page", "-1"),
        ("page", "x"),
        ("page", "1000001"),
        ("pageSize", "0"),
        ("pageSize", "101"),
        ("pageSize", "99999999999999999999"),
    ] {
        listing(&base, &token, &[(name, value)]).invalid_field(name, value);
    }

    // Parameters: unknown, or twice.
    listing(&base, &token, &[("sort", "id")]).invalid_field("sort", "id");
    listing(&base, &token, &[("page", "1"), ("page", "2")]).invalid_field("page", "2");
    listing(
        &base,
        &token,
        &[("fileType", "BROADCAST"), ("fileType", "BROADCAST")],
    )
    .invalid_field("fileType", "BROADCAST");
    for path in [
        "/api/v1/mailbox?verbose=1".to_owned(),
        format!("/api/v1/deliveries/{first}?verbose=1"),
        format!("/api/v1/deliveries/{first}/content?verbose=1"),
        "/api/v1/events?verbose=1".to_owned(),
    ] {
        get(&base, &path, &token).invalid_field("verbose", "1");
    }
    get(&base, "/api/v1/events?limit=5&limit=5", &token).invalid_field("limit", "5");
    // An id that is no number.
    get(&base, "/api/v1/deliveries/abc", &token).invalid_field("id", "abc");
}

// --- 6. Downloads ----------------------------------------------------------------------------

fn downloads_stream_the_exact_bytes_and_record_the_receipt(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let bytes = binary_document();
    publish(&app, &[&a.cbe], "payload.bin", "Payload", &bytes);
    let client = add_client(&app, &a.cbe, &[]);
    let other_client = add_client(&app, &a.cbe, &[]);
    let token = token_for(&base, &client, None);
    let other_token = token_for(&base, &other_client, None);
    let id = id_of(&by_subject(&mailbox(&base, &token), "Payload"));
    let path = format!("/api/v1/deliveries/{id}");
    let content_path = format!("{path}/content");

    let unread = get(&base, &path, &token).ok_json();
    assert_eq!(unread["state"], "AVAILABLE", "{unread}");
    assert_eq!(unread["firstDownload"], Value::Null, "{unread}");
    assert_eq!(unread["size"], bytes.len());
    assert_eq!(unread["sha256"], sha256_hex(&bytes));
    assert_eq!(unread["fileName"], "payload.bin");

    // The first download: the exact bytes, and the receipt.
    let before = Utc::now();
    let reply = get(&base, &content_path, &token).expect(200);
    let after = Utc::now();
    assert_eq!(reply.bytes, bytes, "the content is not the file published");
    let etag = reply.header("etag").expect("an ETag");
    assert!(etag.starts_with('"') || etag.starts_with("W/\""), "{etag}");
    assert_eq!(reply.header("accept-ranges").as_deref(), Some("bytes"));
    assert_eq!(
        reply.header("content-disposition").as_deref(),
        Some("attachment; filename=\"payload.bin\"")
    );
    assert_eq!(
        reply.header("content-length"),
        Some(bytes.len().to_string())
    );
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    let read = get(&base, &path, &token).ok_json();
    assert_eq!(read["state"], "DOWNLOADED", "{read}");
    assert_eq!(read["firstDownload"]["by"], client.id.as_str(), "{read}");
    let at = instant(read["firstDownload"]["at"].as_str().expect("at"));
    assert!(
        before - chrono::Duration::milliseconds(1) <= at && at <= after,
        "{at} not between {before} and {after}"
    );

    // A range.
    let part = get_with(
        &base,
        &content_path,
        Some(&token),
        &[("Range", "bytes=2-5")],
    )
    .expect(206);
    assert_eq!(part.bytes, &bytes[2..=5]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 2-5/{}", bytes.len()))
    );
    let tail = get_with(&base, &content_path, Some(&token), &[("Range", "bytes=-4")]).expect(206);
    assert_eq!(tail.bytes, &bytes[bytes.len() - 4..]);
    let beyond = format!("bytes={}-", bytes.len() + 10);
    let reply = get_with(&base, &content_path, Some(&token), &[("Range", &beyond)]);
    assert_eq!(reply.status, 416, "{}", reply.text());

    // Conditional requests.
    let cached = get_with(
        &base,
        &content_path,
        Some(&token),
        &[("If-None-Match", &etag)],
    )
    .expect(304);
    assert!(cached.bytes.is_empty());
    let changed = get_with(
        &base,
        &content_path,
        Some(&token),
        &[("If-None-Match", "\"something-else\"")],
    )
    .expect(200);
    assert_eq!(changed.bytes, bytes);
    assert_eq!(
        changed.header("etag"),
        Some(etag.clone()),
        "the ETag changed"
    );

    // Another client of the organisation downloads it too: the receipt stays the first's.
    let again = get(&base, &content_path, &other_token).expect(200);
    assert_eq!(again.bytes, bytes);
    let still = get(&base, &path, &other_token).ok_json();
    assert_eq!(still["firstDownload"], read["firstDownload"], "{still}");

    // The sender sees the receipt.
    let ledger = ledger_of(&app, &a.cbe);
    let row = ledger
        .iter()
        .find(|row| row["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in the ledger {ledger:#?}"));
    assert_eq!(row["state"], "DOWNLOADED", "{row}");
    assert_eq!(row["firstDownload"]["by"], client.id.as_str(), "{row}");
    assert_eq!(row, &read);

    // One delivery.downloaded event, however many downloads.
    let events = get(&base, "/api/v1/events", &token).ok_json();
    let downloaded: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "delivery.downloaded")
        .collect();
    assert_eq!(downloaded.len(), 1, "{events}");
    assert_eq!(downloaded[0]["deliveryId"], id);

    // A broadcast has no voucher and no signature.
    for part in ["voucher", "signature"] {
        let body = get(&base, &format!("{path}/{part}"), &token).refused(404, "DELIVERY_UNKNOWN");
        assert_eq!(
            body["field"],
            json!({"name": "id", "value": id.to_string()})
        );
    }

    // A daily file: its content, voucher and signature as they are in the outbox.
    let batch = app.batch();
    let d = today();
    app.subscribe(&a.cbe, PERSON_MUTATIONS, &[], &[]);
    app.backdate_subscriptions(days_before(d, 1));
    batch.run_ok(days_before(d, 1));
    let file = batch.file(&a.cbe, PERSON_MUTATIONS, days_before(d, 1));
    let daily = mailbox(&base, &token)
        .into_iter()
        .find(|item| item["fileType"] == PERSON_MUTATIONS)
        .expect("the daily file is delivered");
    assert_eq!(daily["fileName"], file.name.as_str());
    let daily_id = id_of(&daily);
    for (part, on_disk, name, content_type) in [
        ("content", file.path.clone(), file.name.clone(), "text/xml"),
        (
            "voucher",
            voucher_path(&file.path),
            format!("{}.voucher.xml", file.name),
            "text/xml",
        ),
        (
            "signature",
            signature_path(&file.path),
            format!("{}.voucher.sig", file.name),
            "text/plain",
        ),
    ] {
        let reply = get(
            &base,
            &format!("/api/v1/deliveries/{daily_id}/{part}"),
            &token,
        )
        .expect(200);
        let expected = std::fs::read(&on_disk).expect("the outbox's file");
        assert_eq!(reply.bytes, expected, "{part}");
        assert_eq!(
            reply.header("content-disposition"),
            Some(format!("attachment; filename=\"{name}\"")),
            "{part}"
        );
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with(content_type)),
            "{part}: {:?}",
            reply.headers
        );
        assert!(reply.header("etag").is_some(), "{part}");
    }
}

// --- 7. Events -------------------------------------------------------------------------------

fn the_event_feed_follows_the_mailbox_in_order(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let (a, b) = (org_a(), org_b());
    publish(&app, &[&a.cbe], "x.txt", "X", b"x");
    publish(&app, &[&a.cbe, &b.cbe], "y.txt", "Y", b"y");
    let client = add_client(&app, &a.cbe, &[]);
    let token = token_for(&base, &client, None);
    let items = mailbox(&base, &token);
    let (x, y) = (
        id_of(&by_subject(&items, "X")),
        id_of(&by_subject(&items, "Y")),
    );
    get(&base, &format!("/api/v1/deliveries/{x}/content"), &token).expect(200);
    get(&base, &format!("/api/v1/deliveries/{x}/content"), &token).expect(200);

    let feed = get(&base, "/api/v1/events?afterSequence=0", &token).ok_json();
    let events = feed["items"].as_array().expect("items").clone();
    let seen: Vec<(&str, i64)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type"),
                e["deliveryId"].as_i64().expect("deliveryId"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("delivery.available", x),
            ("delivery.available", y),
            ("delivery.downloaded", x),
        ],
        "{feed}"
    );
    let sequences: Vec<i64> = events
        .iter()
        .map(|e| e["sequence"].as_i64().expect("sequence"))
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    assert!(sequences[0] > 0);
    let last = *sequences.last().expect("events");
    assert_eq!(feed["lastSequence"], last);
    for event in &events {
        instant(event["at"].as_str().expect("at"));
    }
    let times: Vec<DateTime<Utc>> = events
        .iter()
        .map(|e| instant(e["at"].as_str().expect("at")))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // The default cursor is 0, and the summary names the last event.
    assert_eq!(get(&base, "/api/v1/events", &token).ok_json(), feed);
    let summary = get(&base, "/api/v1/mailbox", &token).ok_json();
    assert_eq!(summary["lastEventSequence"], last, "{summary}");
    assert_eq!(summary["totalItems"], 2, "{summary}");
    assert_eq!(summary["notDownloaded"], 1, "{summary}");

    // From the last one: nothing, and the cursor stays.
    let nothing = get(
        &base,
        &format!("/api/v1/events?afterSequence={last}"),
        &token,
    )
    .ok_json();
    assert_eq!(nothing, json!({"items": [], "lastSequence": last}));
    // One at a time, following the cursor, gives the same events.
    let mut cursor = 0;
    let mut walked = Vec::new();
    loop {
        let page = get(
            &base,
            &format!("/api/v1/events?afterSequence={cursor}&limit=1"),
            &token,
        )
        .ok_json();
        let page_items = page["items"].as_array().expect("items").clone();
        assert!(page_items.len() <= 1, "{page}");
        if page_items.is_empty() {
            assert_eq!(page["lastSequence"], cursor);
            break;
        }
        cursor = page["lastSequence"].as_i64().expect("lastSequence");
        assert_eq!(page_items[0]["sequence"], cursor);
        walked.extend(page_items);
        assert!(walked.len() <= events.len(), "the walk does not end");
    }
    assert_eq!(walked, events);
    // From the middle.
    let rest = get(
        &base,
        &format!("/api/v1/events?afterSequence={}", sequences[0]),
        &token,
    )
    .ok_json();
    assert_eq!(rest["items"].as_array().expect("items")[..], events[1..]);

    // Limits.
    for limit in ["0", "1001", "-1", "ten"] {
        get(&base, &format!("/api/v1/events?limit={limit}"), &token).invalid_field("limit", limit);
    }
    get(&base, "/api/v1/events?limit=1000", &token).ok_json();
    get(&base, "/api/v1/events?afterSequence=x", &token).invalid_field("afterSequence", "x");

    // A new delivery is a new event after the cursor.
    publish(&app, &[&a.cbe], "z.txt", "Z", b"z");
    let newer = get(
        &base,
        &format!("/api/v1/events?afterSequence={last}"),
        &token,
    )
    .ok_json();
    let z = id_of(&by_subject(&mailbox(&base, &token), "Z"));
    let newer_items = newer["items"].as_array().expect("items");
    assert_eq!(newer_items.len(), 1, "{newer}");
    assert_eq!(newer_items[0]["type"], "delivery.available");
    assert_eq!(newer_items[0]["deliveryId"], z);
    assert!(newer["lastSequence"].as_i64().expect("lastSequence") > last);
}

// --- 8. Audit --------------------------------------------------------------------------------

/// What an audit entry says, the tickets and times left out: service, operation, username,
/// claimed enterprise number, target, outcome.
type Shape = (String, String, Value, Value, Value, String);

fn audit_shape(entry: &Value) -> Shape {
    (
        entry["service"].as_str().expect("service").to_owned(),
        entry["operation"].as_str().expect("operation").to_owned(),
        entry["username"].clone(),
        entry["claimedCbeNumber"].clone(),
        entry["target"].clone(),
        entry["outcome"].as_str().expect("outcome").to_owned(),
    )
}

/// The entry of a call by a known client (its id and organisation named), or by nobody.
fn by(
    service: &str,
    operation: &str,
    who: Option<&OAuthClient>,
    target: Option<String>,
    outcome: &str,
) -> Shape {
    (
        service.to_owned(),
        operation.to_owned(),
        who.map_or(Value::Null, |c| json!(c.id)),
        who.map_or(Value::Null, |c| json!(c.cbe)),
        target.map_or(Value::Null, Value::from),
        outcome.to_owned(),
    )
}

/// The entry of a token request refused before its client was authenticated: the id as
/// given, no organisation.
fn unauthenticated_token_request(client_id: &str, outcome: &str) -> Shape {
    (
        "OAuth".into(),
        "token".into(),
        json!(client_id),
        Value::Null,
        Value::Null,
        outcome.to_owned(),
    )
}

fn rest_calls_and_token_requests_are_audited(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let (a, b) = (org_a(), org_b());
    publish(&app, &[&a.cbe], "note.txt", "Note", b"note");
    let client = add_client(&app, &a.cbe, &[]);
    let reader = add_client(&app, &a.cbe, &[READ]);
    let b_client = add_client(&app, &b.cbe, &[]);
    let mut oauth = Vec::new();
    let mut api = Vec::new();

    // Token requests, issued and refused.
    let token = token_for(&base, &client, None);
    oauth.push(by("OAuth", "token", Some(&client), None, "OK"));
    let reader_token = token_for(&base, &reader, None);
    oauth.push(by("OAuth", "token", Some(&reader), None, "OK"));
    let b_token = token_for(&base, &b_client, None);
    oauth.push(by("OAuth", "token", Some(&b_client), None, "OK"));
    token_request(&base, &client.id, "wrong", Auth::Post, &[GRANT])
        .oauth_error(401, "invalid_client");
    oauth.push(unauthenticated_token_request(
        &client.id,
        "NOT_AUTHENTICATED",
    ));
    let grant = [("grant_type", "password")];
    token_request(&base, &client.id, &client.secret, Auth::Basic, &grant)
        .oauth_error(400, "unsupported_grant_type");
    oauth.push(unauthenticated_token_request(
        &client.id,
        "UNSUPPORTED_GRANT_TYPE",
    ));
    let scope = [GRANT, ("scope", DOWNLOAD)];
    token_request(&base, &reader.id, &reader.secret, Auth::Basic, &scope)
        .oauth_error(400, "invalid_scope");
    oauth.push(by("OAuth", "token", Some(&reader), None, "INVALID_SCOPE"));
    // A SOAP credential's secret at the token endpoint.
    token_request(&base, &a.username, &a.password, Auth::Basic, &[GRANT])
        .oauth_error(401, "invalid_client");
    oauth.push((
        "OAuth".into(),
        "token".into(),
        json!(a.username),
        Value::Null,
        Value::Null,
        "NOT_AUTHENTICATED".into(),
    ));

    // REST calls, answered and refused.
    let api_call = |operation: &str, who: Option<&OAuthClient>, target, outcome: &str| {
        by("MailboxApi", operation, who, target, outcome)
    };
    let items = mailbox(&base, &token);
    api.push(api_call("listDeliveries", Some(&client), None, "OK"));
    let id = id_of(&items[0]);
    let target = || Some(format!("delivery:{id}"));
    get(&base, "/api/v1/mailbox", &token).ok_json();
    api.push(api_call("mailboxSummary", Some(&client), None, "OK"));
    get(&base, &format!("/api/v1/deliveries/{id}"), &token).ok_json();
    api.push(api_call("getDelivery", Some(&client), target(), "OK"));
    for _ in 0..2 {
        get(&base, &format!("/api/v1/deliveries/{id}/content"), &token).expect(200);
        api.push(api_call("downloadContent", Some(&client), target(), "OK"));
    }
    get(&base, &format!("/api/v1/deliveries/{id}/voucher"), &token)
        .refused(404, "DELIVERY_UNKNOWN");
    api.push(api_call(
        "downloadVoucher",
        Some(&client),
        target(),
        "DELIVERY_UNKNOWN",
    ));
    get(&base, "/api/v1/events", &token).ok_json();
    api.push(api_call("listEvents", Some(&client), None, "OK"));
    get(
        &base,
        &format!("/api/v1/deliveries/{id}/content"),
        &reader_token,
    )
    .expect(403);
    api.push(api_call(
        "downloadContent",
        Some(&reader),
        target(),
        "INSUFFICIENT_SCOPE",
    ));
    get(&base, &format!("/api/v1/deliveries/{id}"), &b_token).refused(404, "DELIVERY_UNKNOWN");
    api.push(api_call(
        "getDelivery",
        Some(&b_client),
        target(),
        "DELIVERY_UNKNOWN",
    ));
    get_with(
        &base,
        &format!("/api/v1/deliveries/{id}/signature"),
        None,
        &[],
    )
    .unauthorised(BEARER);
    api.push(api_call(
        "downloadSignature",
        None,
        target(),
        "NOT_AUTHENTICATED",
    ));
    get(&base, "/api/v1/deliveries", &tampered(&token)).unauthorised(INVALID_TOKEN);
    api.push(api_call("listDeliveries", None, None, "NOT_AUTHENTICATED"));

    // Oldest first, each service's entries exactly those.
    let entries = app.audit(None);
    let of = |service: &str| -> Vec<Shape> {
        let mut found: Vec<Shape> = entries
            .iter()
            .filter(|e| e["service"] == service)
            .map(audit_shape)
            .collect();
        found.reverse();
        found
    };
    assert_eq!(of("MailboxApi"), api, "{entries:#?}");
    assert_eq!(of("OAuth"), oauth, "{entries:#?}");
    // The audit never holds a secret or a token.
    let all = serde_json::to_string(&entries).expect("JSON");
    for secret in [&client.secret, &reader.secret, &b_client.secret, &token] {
        assert!(!all.contains(secret.as_str()), "a secret is in the audit");
    }
}

// --- 9. Refusals the audit misses, and the client commands ------------------------------------

/// Every call is audited, refused ones included (README: "Every call, refused ones included,
/// is recorded in the audit trail"; the REST API: "Every call is audited"): also those
/// refused for their parameters, at the API and at the token endpoint.
fn calls_refused_for_their_parameters_are_audited_too(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let client = add_client(&app, &a.cbe, &[]);
    let token = token_for(&base, &client, None);

    // The API, with a valid token, then without one.
    listing(&base, &token, &[("sort", "id")]).invalid_field("sort", "id");
    get(&base, "/api/v1/deliveries/abc", &token).invalid_field("id", "abc");
    get(&base, "/api/v1/events?limit=0", &token).invalid_field("limit", "0");
    let anonymous = get_with(&base, "/api/v1/deliveries?sort=id", None, &[]);
    assert!(
        anonymous.status == 400 || anonymous.status == 401,
        "{} {}",
        anonymous.status,
        anonymous.text()
    );
    // The token endpoint.
    token_request(
        &base,
        &client.id,
        &client.secret,
        Auth::Basic,
        &[GRANT, GRANT],
    )
    .oauth_error(400, "invalid_request");
    token_request(&base, &client.id, &client.secret, Auth::Basic, &[])
        .oauth_error(400, "invalid_request");
    Reply::of(http().post(format!("{base}/oauth/token")).form(&[GRANT]))
        .oauth_error(401, "invalid_client");
    Reply::of(
        http()
            .post(format!("{base}/oauth/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .header("Content-Type", "application/json")
            .body(r#"{"grant_type":"client_credentials"}"#),
    )
    .oauth_error(400, "invalid_request");

    let entries = app.audit(None);
    let of = |service: &str| -> Vec<Shape> {
        let mut found: Vec<Shape> = entries
            .iter()
            .filter(|e| e["service"] == service)
            .map(audit_shape)
            .collect();
        found.reverse();
        found
    };
    let api = of("MailboxApi");
    let operations: Vec<&str> = api.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        operations,
        [
            "listDeliveries",
            "getDelivery",
            "listEvents",
            "listDeliveries"
        ],
        "the API's refusals for their parameters are not all audited: {api:#?}"
    );
    for (entry, expected_user) in api.iter().zip([true, true, true, false]) {
        assert_ne!(entry.5, "OK", "{entry:?}");
        if expected_user {
            assert_eq!(entry.2, json!(client.id), "{entry:?}");
        }
    }
    let oauth = of("OAuth");
    assert_eq!(
        oauth.len(),
        5,
        "the token endpoint's refusals are not all audited (one token issued, four \
         requests refused): {oauth:#?}"
    );
    assert!(oauth[1..].iter().all(|e| e.5 != "OK"), "{oauth:#?}");
}

/// `raas admin client revoke` acts on OAuth clients only: a SOAP credential's username is
/// refused ("… has no active client …") and the credential keeps working.
fn client_revoke_leaves_soap_credentials_alone(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    add_client(&app, &a.cbe, &[]);
    app.call(&Request::list_dossier_types(&a)).ok();
    let revoke = app.run(
        &[
            "admin",
            "client",
            "revoke",
            "--cbe",
            &a.cbe,
            "--client-id",
            &a.username,
        ],
        "",
    );
    let soap = app.call(&Request::list_dossier_types(&a));
    assert!(
        !revoke.status.success(),
        "`raas admin client revoke --client-id {}` (a SOAP credential) succeeded, printing \
         {:?}; the credential over SOAP now answers {} {:?}",
        a.username,
        String::from_utf8_lossy(&revoke.stdout).trim(),
        soap.http_status,
        soap.reason_code()
    );
    soap.ok();
}

/// `raas admin credential add` with an OAuth client's id does not turn the client into a SOAP
/// credential: it is refused, the client keeps its scopes, its tokens and its listing, and
/// no SOAP password is set for it.
fn credential_add_does_not_turn_a_client_into_a_soap_credential(backend: Backend) {
    let app = TestApp::start(backend);
    let base = app.base_url().to_owned();
    let a = org_a();
    let client = add_client(&app, &a.cbe, &[]);
    let token = token_for(&base, &client, None);
    let added = app.run(
        &[
            "admin",
            "credential",
            "add",
            "--cbe",
            &a.cbe,
            "--username",
            &client.id,
        ],
        "a-soap-password-0123456789\n",
    );
    let as_soap = Org {
        username: client.id.clone(),
        password: "a-soap-password-0123456789".into(),
        ..org_a()
    };
    let soap = app.call(&Request::list_dossier_types(&as_soap));
    let listed = app.admin(&["client", "list", "--cbe", &a.cbe], "");
    let still_valid = get(&base, "/api/v1/mailbox", &token).status;
    assert!(
        !added.status.success(),
        "`raas admin credential add --username {}` (an OAuth client's id) succeeded, printing \
         {:?}; now the client is listed: {}, its token answers {still_valid}, and the new \
         password over SOAP answers {} {:?}",
        client.id,
        String::from_utf8_lossy(&added.stdout).trim(),
        listed.contains(&client.id),
        soap.http_status,
        soap.reason_code()
    );
    assert!(listed.contains(&client.id), "{listed}");
    assert_eq!(still_valid, 200);
    soap.fault("NOT_AUTHENTICATED");
    token_for(&base, &client, None);
}

backend_tests!(
    the_token_endpoint_issues_tokens_to_clients_only,
    access_tokens_are_eddsa_jwts_signed_with_a_published_key,
    every_route_wants_a_valid_bearer_token_with_its_scope,
    tokens_of_another_audience_or_issuer_are_refused,
    an_expired_token_is_refused_after_the_leeway,
    a_mailbox_is_its_organisations_alone,
    listings_filter_and_page_the_mailbox,
    downloads_stream_the_exact_bytes_and_record_the_receipt,
    the_event_feed_follows_the_mailbox_in_order,
    rest_calls_and_token_requests_are_audited,
    calls_refused_for_their_parameters_are_audited_too,
    client_revoke_leaves_soap_credentials_alone,
    credential_add_does_not_turn_a_client_into_a_soap_credential,
);
