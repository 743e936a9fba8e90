//! Client authentication with `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): the
//! client signs a short-lived JWT with its private key, raas checks it with the public key
//! registered with `raas admin client add --public-key`: `iss` and `sub` the client id,
//! `aud` the token endpoint's URL or raas's issuer, `exp` at most
//! [`MAX_LIFETIME_SECONDS`] ahead, a `jti` never seen before (kept until the assertion
//! expires), signed with an asymmetric algorithm of the key's type.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::authentication::Caller;
use super::error::ServiceError;
use crate::store::{client_assertion, credential, Database};

/// `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may be valid: an hour (what client libraries make by default),
/// and a minute of clock skew.
pub const MAX_LIFETIME_SECONDS: i64 = 3660;
/// The algorithms accepted.
pub const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS512,
];

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: i64,
    jti: Option<String>,
}

#[derive(Deserialize)]
struct Unverified {
    iss: Option<String>,
}

/// Why an assertion is refused (the client is told `invalid_client`).
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error("the client assertion is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for AssertionError {
    fn from(e: crate::store::StoreError) -> AssertionError {
        AssertionError::Service(e.into())
    }
}

/// Whether `pem` is a public key assertions can be checked with (RSA, EC P-256/P-384 or
/// Ed25519, PEM `PUBLIC KEY`).
pub fn check_public_key(pem: &str) -> Result<(), String> {
    decoding_keys(pem).map(|_| ()).ok_or_else(|| {
        "not a PEM RSA, EC or Ed25519 public key (-----BEGIN PUBLIC KEY-----)".into()
    })
}

/// The key of `pem` for each algorithm family it can be.
fn decoding_keys(pem: &str) -> Option<Vec<(DecodingKey, &'static [Algorithm])>> {
    const RSA: &[Algorithm] = &[Algorithm::RS256, Algorithm::PS256, Algorithm::RS512];
    const EC: &[Algorithm] = &[Algorithm::ES256, Algorithm::ES384];
    const ED: &[Algorithm] = &[Algorithm::EdDSA];
    let bytes = pem.as_bytes();
    let keys: Vec<(DecodingKey, &'static [Algorithm])> = [
        DecodingKey::from_rsa_pem(bytes).ok().map(|k| (k, RSA)),
        DecodingKey::from_ec_pem(bytes).ok().map(|k| (k, EC)),
        DecodingKey::from_ed_pem(bytes).ok().map(|k| (k, ED)),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!keys.is_empty()).then_some(keys)
}

/// The client id an assertion claims (its `iss`), read without checking anything.
pub fn claimed_client(assertion: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode::<Unverified>(assertion)
        .ok()?
        .claims
        .iss
}

/// The client an assertion authenticates; `audiences`: the values its `aud` may hold.
pub fn verify(
    db: &Database,
    assertion: &str,
    audiences: &[String],
) -> Result<Caller, AssertionError> {
    let invalid = |why: String| AssertionError::Invalid(why);
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| invalid(e.to_string()))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid(format!("{:?} is not accepted", header.alg)));
    }
    let client_id = claimed_client(assertion).ok_or_else(|| invalid("no iss".into()))?;
    let found = credential::find_with_public_key(&mut *db.connection()?, &client_id)?;
    let (client, pem) =
        found.ok_or_else(|| invalid(format!("no active client {client_id} with a public key")))?;
    let keys = decoding_keys(&pem)
        .ok_or_else(|| ServiceError::Internal(format!("the public key of {client_id}")))?;
    let (key, _) = keys
        .iter()
        .find(|(_, algorithms)| algorithms.contains(&header.alg))
        .ok_or_else(|| {
            invalid(format!(
                "{:?} is not the algorithm of the client's key",
                header.alg
            ))
        })?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(audiences);
    validation.set_issuer(&[&client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 30;
    let claims = jsonwebtoken::decode::<Claims>(assertion, key, &validation)
        .map_err(|e| invalid(e.to_string()))?
        .claims;
    if claims.sub != claims.iss {
        return Err(invalid("sub must be the client id, like iss".into()));
    }
    let now = chrono::Utc::now().timestamp();
    if claims.exp > now + MAX_LIFETIME_SECONDS {
        return Err(invalid(format!(
            "the assertion is valid for more than {MAX_LIFETIME_SECONDS} s"
        )));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid("a jti of 1 to 256 characters is required".into()))?;
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0)
        .ok_or_else(|| invalid("exp out of range".into()))?
        .naive_utc();
    let first = db.write(|conn| {
        client_assertion::record_once(conn, &jti, &client_id, expires_at, crate::store::now())
    })?;
    if !first {
        return Err(invalid(format!("the assertion {jti} was used already")));
    }
    Ok(Caller {
        organisation_id: client.organisation_id,
        cbe_number: client.cbe_number,
        username: client.username,
        scopes: client.scopes,
    })
}
