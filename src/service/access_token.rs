//! Access tokens of the REST API, from raas's own token endpoint (OAuth 2.0 client
//! credentials, RFC 6749 §4.4): JWTs in the RFC 9068 profile (`typ` `at+jwt`) signed with
//! Ed25519 (EdDSA) by the newest key of the database's `token_keys`, published as a JWKS, and
//! verified here: `iss`, `aud` and `exp` required, the signing key named by `kid`, the
//! client still active (a revocation takes effect on its next request, whatever its tokens).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::authentication::Caller;
use super::error::ServiceError;
use crate::batch::signing::SigningKey;
use crate::domain::Scopes;
use crate::store::token_key::{self, TokenKeyRow};
use crate::store::{credential, Database, StoreError};

/// What the tokens say of themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    pub lifetime: Duration,
}

impl Default for TokenSettings {
    fn default() -> TokenSettings {
        TokenSettings {
            issuer: "urn:raas".into(),
            audience: "urn:raas:api".into(),
            lifetime: Duration::from_secs(300),
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The client id.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The client's organisation (enterprise number).
    pub org: String,
}

/// A token issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub scopes: Scopes,
}

/// Why a token is not issued or not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The scopes asked are not all the client's (RFC 6749 `invalid_scope`).
    #[error("{0}")]
    InvalidScope(String),
    /// Malformed, badly signed, expired, of another issuer or audience, or of a revoked
    /// client (RFC 6750 `invalid_token`).
    #[error("the access token is not valid: {0}")]
    InvalidToken(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> TokenError {
        TokenError::Service(e.into())
    }
}

struct KeyRing {
    /// The newest key: its `kid` and its encoding.
    signing: (String, EncodingKey),
    /// Every key by `kid`: its decoding and its public `x` (base64url).
    verifying: HashMap<String, (DecodingKey, String)>,
}

/// The token issuer and verifier of a process.
pub struct Tokens {
    db: Database,
    settings: TokenSettings,
    keys: RwLock<KeyRing>,
    /// When the keys were last read from the database: tokens naming unknown keys (a flood
    /// of forged ones) make it read them again at most every [`RELOAD_AT_MOST_EVERY`].
    loaded_at: std::sync::Mutex<std::time::Instant>,
}

/// How often an unknown `kid` may make the keys be read again.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(1);

fn corrupt(kid: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("token key {kid}: {e}"))
}

impl Tokens {
    /// The issuer on `db`: its keys, the first one made if there is none.
    pub fn open(db: Database, settings: TokenSettings) -> Result<Tokens, ServiceError> {
        let keys = load(&db)?;
        Ok(Tokens {
            db,
            settings,
            keys: RwLock::new(keys),
            loaded_at: std::sync::Mutex::new(std::time::Instant::now()),
        })
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// A token for `client` with the scopes asked (`None`: all the client's).
    pub fn issue(&self, client: &Caller, asked: Option<Scopes>) -> Result<Issued, TokenError> {
        let granted: Scopes = client
            .scopes
            .as_deref()
            .ok_or(ServiceError::NotAuthenticated)?
            .parse()
            .map_err(|e: String| ServiceError::Storage(corrupt(&client.username, e)))?;
        let scopes = match asked {
            None => granted,
            Some(asked) if granted.covers(&asked) && !asked.is_empty() => asked,
            Some(asked) => {
                return Err(TokenError::InvalidScope(format!(
                    "the client may ask for {granted}, not {asked}"
                )))
            }
        };
        let now = chrono::Utc::now().timestamp();
        let lifetime = self.settings.lifetime.as_secs();
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: client.username.clone(),
            aud: self.settings.audience.clone(),
            exp: now + lifetime as i64,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client.username.clone(),
            scope: scopes.to_string(),
            org: client.cbe_number.clone(),
        };
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some(keys.signing.0.clone());
        let access_token = jsonwebtoken::encode(&header, &claims, &keys.signing.1)
            .map_err(|e| ServiceError::Internal(format!("cannot sign a token: {e}")))?;
        Ok(Issued {
            access_token,
            expires_in: lifetime,
            scopes,
        })
    }

    /// The caller a bearer token stands for, and the scopes it carries: the signature by a
    /// known key, `iss`, `aud`, `exp` (30 s of leeway) and the client still active, of the
    /// organisation the token names.
    pub fn verify(&self, token: &str) -> Result<(Caller, Scopes), TokenError> {
        let invalid = |why: String| TokenError::InvalidToken(why);
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(invalid("not an access token (typ at+jwt)".into()));
        }
        if header.alg != Algorithm::EdDSA {
            return Err(invalid(format!(
                "{:?} is not this issuer's algorithm",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid".into()))?;
        if !self.knows(&kid) && self.may_reload() {
            // Made by another process since this one loaded its keys?
            let reloaded = load(&self.db)?;
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = reloaded;
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;
        let claims = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            let (key, _) = keys
                .verifying
                .get(&kid)
                .ok_or_else(|| invalid(format!("unknown key {kid}")))?;
            jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
                .map_err(|e| invalid(e.to_string()))?
                .claims
        };
        let scopes: Scopes = claims.scope.parse().map_err(invalid)?;
        let mut conn = self.db.connection()?;
        let client = credential::find_active(&mut conn, &claims.client_id)?
            .filter(|row| row.scopes.is_some() && row.cbe_number == claims.org)
            .ok_or_else(|| invalid("the client is revoked".into()))?;
        let caller = Caller {
            organisation_id: client.organisation_id,
            cbe_number: client.cbe_number,
            username: client.username,
            scopes: client.scopes,
        };
        Ok((caller, scopes))
    }

    /// [`Tokens::verify`] off the request's worker (it reads the database).
    pub async fn verify_off(
        tokens: &std::sync::Arc<Tokens>,
        token: &str,
    ) -> Result<(Caller, Scopes), TokenError> {
        let (tokens, token) = (tokens.clone(), token.to_owned());
        let verified = super::execution::off_workers(move || Ok(tokens.verify(&token))).await?;
        verified
    }

    /// Whether the keys may be read again now (and if so, notes that they are).
    fn may_reload(&self) -> bool {
        let mut loaded_at = self.loaded_at.lock().unwrap_or_else(|e| e.into_inner());
        if loaded_at.elapsed() < RELOAD_AT_MOST_EVERY {
            return false;
        }
        *loaded_at = std::time::Instant::now();
        true
    }

    fn knows(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .verifying
            .contains_key(kid)
    }

    /// The public keys, as a JWK Set (RFC 7517).
    pub fn jwks(&self) -> serde_json::Value {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut kids: Vec<&String> = keys.verifying.keys().collect();
        kids.sort();
        let keys: Vec<serde_json::Value> = kids
            .into_iter()
            .map(|kid| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": keys.verifying[kid].1,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// The database's keys, the first one made (and stored) when there is none.
fn load(db: &Database) -> Result<KeyRing, ServiceError> {
    let mut rows = {
        let mut conn = db.connection()?;
        token_key::all(&mut conn)?
    };
    if rows.is_empty() {
        let (_, pem) = SigningKey::generate_pem()
            .map_err(|e| ServiceError::Internal(format!("cannot make a token key: {e}")))?;
        let row = TokenKeyRow {
            kid: uuid::Uuid::new_v4().to_string(),
            private_key: pem,
            created_at: crate::store::now(),
        };
        db.write(|conn| token_key::insert(conn, &row))?;
        let mut conn = db.connection()?;
        rows = token_key::all(&mut conn)?;
    }
    let mut verifying = HashMap::new();
    let mut signing = None;
    for row in &rows {
        let key = SigningKey::from_pem(&row.private_key, &format!("token key {}", row.kid))
            .map_err(|e| corrupt(&row.kid, e))?;
        let x =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.public_key().as_bytes());
        let decoding = DecodingKey::from_ed_components(&x).map_err(|e| corrupt(&row.kid, e))?;
        verifying.insert(row.kid.clone(), (decoding, x));
        if signing.is_none() {
            let encoding = EncodingKey::from_ed_pem(row.private_key.as_bytes())
                .map_err(|e| corrupt(&row.kid, e))?;
            signing = Some((row.kid.clone(), encoding));
        }
    }
    let signing = signing.ok_or_else(|| corrupt("(none)", "no key"))?;
    Ok(KeyRing { signing, verifying })
}
