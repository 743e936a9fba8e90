//! The REST API under `/api/v1/` (JSON, shaped after the e-Box Message Registry: `page` and
//! `pageSize`, filters in the query, `{items, totalItems}`, error bodies with a stable
//! `code`), secured with OAuth 2.0 bearer tokens from raas's own token endpoint
//! (`/oauth/token`, the client-credentials grant) or from the external OpenID Connect
//! provider configured (`oidc_issuer`), told apart by their `iss`. Only this layer knows HTTP and JSON of the
//! API; it turns requests into domain values at the edge and hands them to `service`, like
//! `soap` does for the SOAP services.

pub mod body;
pub mod mailbox;
pub mod openapi;
pub mod token;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::domain::Scope;
use crate::service::access_token::{TokenError, Tokens};
use crate::service::external_token::{claimed_issuer, ExternalIssuer};
use crate::service::{Call, Caller, ServiceError, Services};

/// The service name of the REST API's audit entries.
pub const AUDIT_SERVICE: &str = "MailboxApi";

/// What the API's handlers share.
#[derive(Clone)]
pub struct Api {
    pub services: Services,
    pub tokens: Arc<Tokens>,
    /// The external OpenID Connect provider whose tokens are accepted too (`oidc_issuer`).
    pub external: Option<Arc<ExternalIssuer>>,
    /// How long a request's body may take to arrive (`body_timeout_seconds`).
    pub body_timeout: std::time::Duration,
}

/// An error answer: its status and `{code, message, field?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<(String, String)>,
    /// `WWW-Authenticate` of a 401 or 403 (RFC 6750 §3).
    pub challenge: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            challenge: None,
        }
    }

    /// A parameter out of its bounds, named with the value received.
    pub fn invalid(field: &str, value: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some((field.to_owned(), value.to_owned())),
            ..ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", message)
        }
    }

    pub fn response(&self) -> HttpResponse {
        let body = body::ErrorBody {
            code: self.code.to_owned(),
            message: self.message.clone(),
            field: self.field.as_ref().map(|(name, value)| body::FieldBody {
                name: name.clone(),
                value: value.clone(),
            }),
        };
        let mut response = HttpResponse::build(self.status);
        if let Some(challenge) = &self.challenge {
            response.insert_header(("WWW-Authenticate", challenge.as_str()));
        }
        response.json(body)
    }
}

/// A use case's refusal, with the status its reason code calls for.
impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        let code = error.outcome();
        let status = match &error {
            ServiceError::DeliveryUnknown(_) | ServiceError::NoSuchPart(..) => {
                StatusCode::NOT_FOUND
            }
            ServiceError::DeliveryExpired(_) => StatusCode::GONE,
            ServiceError::NotAuthenticated => StatusCode::UNAUTHORIZED,
            ServiceError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Storage(_) | ServiceError::Internal(_) => {
                tracing::error!(%error, "request failed");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "an internal error occurred; quote the X-Request-Id to the service desk",
                );
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let field = match &error {
            ServiceError::DeliveryUnknown(id)
            | ServiceError::DeliveryExpired(id)
            | ServiceError::NoSuchPart(id, _) => Some(("id".to_owned(), id.to_string())),
            _ => None,
        };
        ApiError {
            field,
            ..ApiError::new(status, code, error.to_string())
        }
    }
}

/// A request to the API, authenticated: its caller, its token's scopes and its audit call.
pub struct Authorised {
    pub caller: Caller,
    pub call: Call,
}

/// The caller of a request with a valid bearer token carrying `scope`: 401 without one or
/// with an invalid one, 403 without the scope (RFC 6750 §3.1). The audit call is made here,
/// and a refusal of a known caller is recorded.
pub async fn authorise(
    api: &Api,
    request: &HttpRequest,
    operation: &str,
    scope: Scope,
    target: Option<String>,
) -> Result<Authorised, ApiError> {
    let mut call = Call {
        service: AUDIT_SERVICE,
        operation: operation.to_owned(),
        server_ticket: uuid::Uuid::new_v4().to_string(),
        target,
        ..Call::default()
    };
    let unauthorised = |message: String, error: Option<&str>| {
        let challenge = match error {
            Some(error) => format!("Bearer realm=\"raas\", error=\"{error}\""),
            None => "Bearer realm=\"raas\"".to_owned(),
        };
        ApiError {
            challenge: Some(challenge),
            ..ApiError::new(StatusCode::UNAUTHORIZED, "NOT_AUTHENTICATED", message)
        }
    };
    let header = request
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok());
    let Some(token) = header.and_then(bearer_token) else {
        api.services
            .record_refusal(&call, None, "NOT_AUTHENTICATED")
            .await;
        return Err(unauthorised(
            "an OAuth 2.0 bearer token is required (Authorization: Bearer …, from /oauth/token)"
                .into(),
            None,
        ));
    };
    let external = api
        .external
        .as_ref()
        .filter(|e| claimed_issuer(token).as_deref() == Some(e.issuer()));
    let verified = match external {
        Some(external) => external.verify(token).await,
        None => Tokens::verify_off(&api.tokens, token).await,
    };
    let (caller, scopes) = match verified {
        Ok(found) => found,
        Err(TokenError::Service(error)) => {
            api.services
                .record_refusal(&call, None, error.outcome())
                .await;
            return Err(error.into());
        }
        Err(invalid) => {
            api.services
                .record_refusal(&call, None, "NOT_AUTHENTICATED")
                .await;
            return Err(unauthorised(invalid.to_string(), Some("invalid_token")));
        }
    };
    call.username = Some(caller.username.clone());
    call.claimed_cbe_number = Some(caller.cbe_number.clone());
    if !scopes.contains(scope) {
        api.services
            .record_refusal(&call, Some(&caller), "INSUFFICIENT_SCOPE")
            .await;
        return Err(ApiError {
            challenge: Some(format!(
                "Bearer realm=\"raas\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                "INSUFFICIENT_SCOPE",
                format!("the token's scopes ({scopes}) do not include {scope}"),
            )
        });
    }
    Ok(Authorised { caller, call })
}

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The scopes a client may be given, for the metadata document.
pub fn scopes_supported() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_their_header() {
        assert_eq!(bearer_token("Bearer abc.def"), Some("abc.def"));
        assert_eq!(bearer_token("bearer  abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
