//! raas's own OAuth 2.0 authorization server, for the embedded default: the token endpoint
//! (`POST /oauth/token`, the client-credentials grant, RFC 6749 §4.4, the client
//! authenticated by HTTP Basic, by `client_id` and `client_secret` in the form, or by a
//! `private_key_jwt` assertion), the public
//! keys (`GET /oauth/jwks.json`) and the metadata (`GET /.well-known/oauth-authorization-server`,
//! RFC 8414). Clients are made with `raas admin client add`; their secrets go through the
//! same verification, throttling and revocation as the SOAP credentials. Every token request
//! is audited (service `OAuth`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;

use super::body::{OAuthErrorBody, TokenBody};
use super::Api;
use crate::domain::Scopes;
use crate::server::BodyError;
use crate::service::access_token::TokenError;
use crate::service::client_assertion::{self, claimed_client, AssertionError, JWT_BEARER};
use crate::service::{Call, ServiceError};

/// The largest token request body.
const MAX_FORM_BYTES: usize = 4096;

/// An error of the token endpoint (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header(("Cache-Control", "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header(("WWW-Authenticate", "Basic realm=\"raas\""));
    }
    response.json(OAuthErrorBody {
        error: error.to_owned(),
        error_description: description.to_owned(),
    })
}

/// The form's fields, each at most once.
fn form_fields(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| format!("not a form: {e}"))?;
    for (i, (name, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(other, _)| other == name) {
            return Err(format!("the parameter {name} appears more than once"));
        }
    }
    Ok(fields)
}

/// The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: each
/// form-urlencoded, then joined by `:` and base64-encoded).
fn basic_credentials(request: &HttpRequest) -> Option<Result<(String, String), String>> {
    let header = request.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Some(Err(
            "the Basic credentials are not base64 of id:secret".into()
        ));
    };
    let unescape = |text: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, value)| value)
    };
    match (unescape(id), unescape(secret)) {
        (Some(id), Some(secret)) => Some(Ok((id, secret))),
        _ => Some(Err("the Basic credentials are not form-urlencoded".into())),
    }
}

/// How a token request authenticates its client.
enum ClientAuth {
    /// Its id and secret (HTTP Basic or the form).
    Secret(String, String),
    /// `private_key_jwt`: the id the assertion claims, and the assertion.
    Assertion(String, String),
}

impl ClientAuth {
    fn client_id(&self) -> &str {
        match self {
            ClientAuth::Secret(id, _) | ClientAuth::Assertion(id, _) => id,
        }
    }
}

/// The client-credentials grant (RFC 6749 §4.4): the client authenticated by HTTP Basic, by
/// `client_id` and `client_secret` in the form, or by a `private_key_jwt` assertion (RFC
/// 7523 §2.2); `scope` optional (default: all the client's).
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "grant_type=client_credentials[&scope=…][&client_id=…&client_secret=…][&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=…]"),
    responses(
        (status = 200, body = TokenBody),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
    ))]
pub async fn token(
    api: web::Data<Api>,
    request: HttpRequest,
    payload: web::Payload,
    base: web::Data<PublicBase>,
) -> HttpResponse {
    let mut call = Call {
        service: "OAuth",
        operation: "token".into(),
        server_ticket: uuid::Uuid::new_v4().to_string(),
        ..Call::default()
    };
    let bad =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    let refused = |call: &Call, response: HttpResponse, outcome: &'static str| {
        let services = api.services.clone();
        let call = call.clone();
        async move {
            services.record_refusal(&call, None, outcome).await;
            response
        }
    };
    // A slow or endless body is cut off like a SOAP one (the head's timeout does not cover it).
    let body = match crate::server::read_body(payload, MAX_FORM_BYTES, api.body_timeout).await {
        Ok(body) => body,
        Err(error) => {
            let (mut response, outcome) = match error {
                BodyError::TooLarge(_) => (bad("the request is too large"), "INVALID_REQUEST"),
                BodyError::Late(deadline) => (
                    oauth_error(
                        StatusCode::REQUEST_TIMEOUT,
                        "invalid_request",
                        &format!(
                            "the request body did not arrive within {} s",
                            deadline.as_secs_f64()
                        ),
                    ),
                    "REQUEST_TIMEOUT",
                ),
                BodyError::Broken(why) => (bad(&why), "INVALID_REQUEST"),
            };
            // A body not read to its end leaves the connection unusable: it is closed.
            response
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            return refused(&call, response, outcome).await;
        }
    };
    let form_type = request
        .headers()
        .get("Content-Type")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return refused(
            &call,
            bad("the body must be application/x-www-form-urlencoded"),
            "INVALID_REQUEST",
        )
        .await;
    }
    let fields = match form_fields(&body) {
        Ok(fields) => fields,
        Err(why) => return refused(&call, bad(&why), "INVALID_REQUEST").await,
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let assertion = match (field("client_assertion_type"), field("client_assertion")) {
        (None, None) => None,
        (Some(JWT_BEARER), Some(assertion)) => Some(assertion),
        (Some(JWT_BEARER), None) => {
            return refused(&call, bad("client_assertion is missing"), "INVALID_REQUEST").await
        }
        (Some(other), _) => {
            let why = format!("client_assertion_type {other}: only {JWT_BEARER} is offered");
            return refused(&call, bad(&why), "INVALID_REQUEST").await;
        }
        (None, Some(_)) => {
            let why = "client_assertion_type is missing";
            return refused(&call, bad(why), "INVALID_REQUEST").await;
        }
    };
    let client_auth = match (
        basic_credentials(&request),
        field("client_id"),
        field("client_secret"),
        assertion,
    ) {
        (None, client_id, None, Some(assertion)) => {
            let claimed = claimed_client(assertion);
            if client_id.is_some() && client_id != claimed.as_deref() {
                let why = "client_id is not the assertion's iss";
                return refused(&call, bad(why), "INVALID_REQUEST").await;
            }
            ClientAuth::Assertion(claimed.unwrap_or_default(), assertion.to_owned())
        }
        (_, _, _, Some(_)) => {
            return refused(
                &call,
                bad("authenticate the client one way only"),
                "INVALID_REQUEST",
            )
            .await
        }
        (Some(Ok(pair)), None, None, None) => ClientAuth::Secret(pair.0, pair.1),
        (Some(Ok((id, secret))), Some(form_id), None, None) if form_id == id => {
            ClientAuth::Secret(id, secret)
        }
        (Some(Err(why)), _, _, _) => return refused(&call, bad(&why), "INVALID_REQUEST").await,
        (Some(Ok(_)), _, _, _) => {
            return refused(
                &call,
                bad("authenticate the client one way only"),
                "INVALID_REQUEST",
            )
            .await
        }
        (None, Some(id), Some(secret), None) => {
            ClientAuth::Secret(id.to_owned(), secret.to_owned())
        }
        (None, _, _, None) => {
            let response = oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate the client (HTTP Basic, client_id and client_secret, or a private_key_jwt client_assertion)",
            );
            return refused(&call, response, "NOT_AUTHENTICATED").await;
        }
    };
    call.username = Some(client_auth.client_id().chars().take(64).collect());
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            api.services
                .record_refusal(&call, None, "UNSUPPORTED_GRANT_TYPE")
                .await;
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("{other}: only client_credentials is offered"),
            );
        }
        None => return refused(&call, bad("grant_type is missing"), "INVALID_REQUEST").await,
    }
    let asked = match field("scope").map(str::parse::<Scopes>).transpose() {
        Ok(asked) => asked,
        Err(why) => {
            api.services
                .record_refusal(&call, None, "INVALID_SCOPE")
                .await;
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &why);
        }
    };
    let client_address = request.peer_addr().map(|peer| peer.ip());
    let authenticated = match client_auth {
        ClientAuth::Secret(id, secret) => {
            api.services
                .authenticator
                .authenticate(&id, &secret, client_address)
                .await
        }
        ClientAuth::Assertion(_, assertion) => {
            let base = base.of(&request);
            let audiences = vec![
                format!("{base}/oauth/token"),
                api.tokens.settings().issuer.clone(),
            ];
            let db = api.services.db.clone();
            let verified = tokio::task::spawn_blocking(move || {
                client_assertion::verify(&db, &assertion, &audiences)
            })
            .await;
            match verified {
                Ok(Ok(client)) => Ok(client),
                Ok(Err(AssertionError::Service(e))) => Err(e),
                Ok(Err(AssertionError::Invalid(why))) => {
                    api.services
                        .record_refusal(&call, None, "NOT_AUTHENTICATED")
                        .await;
                    return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &why);
                }
                Err(e) => Err(ServiceError::Internal(format!(
                    "the assertion check stopped: {e}"
                ))),
            }
        }
    };
    let client = match authenticated {
        Ok(client) if client.scopes.is_some() => client,
        Ok(caller) => {
            // A SOAP credential: its secret is for WS-Security only.
            api.services
                .record_refusal(&call, Some(&caller), "NOT_AUTHENTICATED")
                .await;
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
        Err(error) => {
            api.services
                .record_refusal(&call, None, error.outcome())
                .await;
            return match error {
                ServiceError::Unavailable => oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the service is unavailable, try again later",
                ),
                ServiceError::Throttled { retry_after_secs } => {
                    let mut response = oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        &format!("too many failed attempts: try again in {retry_after_secs} s"),
                    );
                    if let Ok(value) = retry_after_secs.to_string().parse() {
                        response
                            .headers_mut()
                            .insert(actix_web::http::header::RETRY_AFTER, value);
                    }
                    response
                }
                _ => oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "unknown client or wrong secret",
                ),
            };
        }
    };
    call.claimed_cbe_number = Some(client.cbe_number.clone());
    let issued = match api.tokens.issue(&client, asked) {
        Ok(issued) => issued,
        Err(TokenError::InvalidScope(why)) => {
            api.services
                .record_refusal(&call, Some(&client), "INVALID_SCOPE")
                .await;
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &why);
        }
        Err(error) => {
            api.services
                .record_refusal(&call, Some(&client), "INTERNAL_ERROR")
                .await;
            tracing::error!(%error, "no token issued");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "no token issued",
            );
        }
    };
    let entry = call.audit_entry(Some(client.organisation_id), "OK");
    if let Err(error) = api.services.audit.record(entry).await {
        return super::ApiError::from(error).response();
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenBody {
            access_token: issued.access_token,
            token_type: "Bearer".into(),
            expires_in: issued.expires_in,
            scope: issued.scopes.to_string(),
        })
}

/// `GET /oauth/jwks.json`: the keys the access tokens are signed with.
pub async fn jwks(api: web::Data<Api>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300"))
        .json(api.tokens.jwks())
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414), with the base URL the request
/// reached (or `--public-url`).
pub async fn metadata(
    api: web::Data<Api>,
    request: HttpRequest,
    base: web::Data<PublicBase>,
) -> HttpResponse {
    let base = base.of(&request);
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": api.tokens.settings().issuer,
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/oauth/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported":
            client_assertion::ALGORITHMS.map(|a| format!("{a:?}")),
        "scopes_supported": super::scopes_supported(),
        "response_types_supported": [],
    }))
}

/// The base URL links are written with: `--public-url`, or the address the request reached.
#[derive(Debug, Clone)]
pub struct PublicBase(pub Option<String>);

impl PublicBase {
    pub fn of(&self, request: &HttpRequest) -> String {
        match &self.0 {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let info = request.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_given_twice_is_refused() {
        assert!(form_fields(b"grant_type=client_credentials&scope=a").is_ok());
        let error = form_fields(b"grant_type=client_credentials&grant_type=password").unwrap_err();
        assert!(error.contains("grant_type"), "{error}");
    }
}
