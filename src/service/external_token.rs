//! Access tokens of an external OpenID Connect provider, configured by its issuer URL: its
//! discovery document (`{issuer}/.well-known/openid-configuration`, whose `issuer` must be
//! the one configured) names its JWKS, read when first needed, again every
//! [`ExternalSettings::jwks_refresh`] and at once (at most every [`REFETCH_AT_MOST_EVERY`])
//! when a token names a key it does not hold — a rotation is followed without a restart, and
//! a key removed from the set stops being accepted at the next refresh. A token is accepted
//! when signed by one of those keys with an asymmetric algorithm, of this `iss`, for this
//! `aud`, not expired (`exp` required, 30 s of leeway), naming in the configured claim an
//! organisation raas knows; its scopes are those of its `scope` claim that raas knows.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::access_token::TokenError;
use super::authentication::Caller;
use super::error::ServiceError;
use crate::domain::{EnterpriseNumber, Scope, Scopes};
use crate::store::{organisation, Database};

/// How often an unknown `kid` may make the JWKS be read again.
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// The largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// The provider trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSettings {
    /// Its issuer URL (`iss` of its tokens).
    pub issuer: String,
    /// The `aud` its tokens must carry.
    pub audience: String,
    /// The claim holding the caller's enterprise number.
    pub organisation_claim: String,
    /// How often its JWKS is read again, whatever the tokens say.
    pub jwks_refresh: Duration,
}

/// The algorithms accepted: asymmetric only (never `none`, never an HMAC keyed by the
/// public key).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The provider's keys as last read.
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    read_at: Instant,
}

/// The verifier of one provider's tokens.
pub struct ExternalIssuer {
    settings: ExternalSettings,
    client: reqwest::Client,
    /// The keys; the lock is held across a fetch, so that concurrent requests wait for one
    /// fetch rather than make many.
    keys: tokio::sync::Mutex<Option<Keys>>,
    db: Database,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// The claims read (the standard ones are checked by the validation).
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

/// The `iss` a token claims, read without checking anything (to tell which issuer is to
/// verify it).
pub fn claimed_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    #[derive(Deserialize)]
    struct Issuer {
        iss: Option<String>,
    }
    serde_json::from_slice::<Issuer>(&bytes).ok()?.iss
}

impl ExternalIssuer {
    pub fn new(db: Database, settings: ExternalSettings) -> Result<ExternalIssuer, ServiceError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::Internal(format!("oidc_issuer: {e}")))?;
        Ok(ExternalIssuer {
            settings,
            client,
            keys: tokio::sync::Mutex::new(None),
            db,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The caller a token of the provider stands for, and its scopes.
    pub async fn verify(&self, token: &str) -> Result<(Caller, Scopes), TokenError> {
        let invalid = |why: String| TokenError::InvalidToken(why);
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(format!(
                "{:?} is not an algorithm accepted from {}",
                header.alg, self.settings.issuer
            )));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid".into()))?;
        let claims = {
            let key = self.key(&kid).await?;
            let mut validation = Validation::new(header.alg);
            validation.algorithms = vec![header.alg];
            validation.set_issuer(&[&self.settings.issuer]);
            validation.set_audience(&[&self.settings.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.leeway = 30;
            validation.validate_nbf = true;
            jsonwebtoken::decode::<Claims>(token, &key, &validation)
                .map_err(|e| invalid(e.to_string()))?
                .claims
        };
        let claim = &self.settings.organisation_claim;
        let cbe = claims
            .rest
            .get(claim)
            .and_then(|v| v.as_str())
            .ok_or_else(|| invalid(format!("no {claim} claim naming the organisation")))?;
        let cbe =
            EnterpriseNumber::parse(cbe).map_err(|e| invalid(format!("the {claim} claim: {e}")))?;
        let who = claims
            .client_id
            .or(claims.sub)
            .ok_or_else(|| invalid("no sub nor client_id".into()))?;
        let scopes = Scopes::new(
            claims
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|s| s.parse::<Scope>().ok()),
        );
        let db = self.db.clone();
        let number = cbe.to_string();
        let found = super::execution::off_workers(move || {
            Ok(organisation::find_by_cbe(&mut *db.connection()?, &number)?)
        })
        .await?;
        let organisation =
            found.ok_or_else(|| invalid(format!("the organisation {cbe} is not known")))?;
        let caller = Caller {
            organisation_id: organisation.id,
            cbe_number: organisation.cbe_number,
            username: format!("oidc:{}", who.chars().take(59).collect::<String>()),
            scopes: Some(scopes.to_string()),
        };
        Ok((caller, scopes))
    }

    /// The key `kid`, the JWKS read first when it is stale, or when it lacks `kid` and was
    /// not read in the last [`REFETCH_AT_MOST_EVERY`].
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let mut keys = self.keys.lock().await;
        let stale = keys
            .as_ref()
            .is_none_or(|k| k.read_at.elapsed() >= self.settings.jwks_refresh);
        let lacking = keys.as_ref().is_some_and(|k| {
            !k.by_kid.contains_key(kid) && k.read_at.elapsed() >= REFETCH_AT_MOST_EVERY
        });
        if stale || lacking {
            match self.fetch().await {
                Ok(by_kid) => {
                    *keys = Some(Keys {
                        by_kid,
                        read_at: Instant::now(),
                    })
                }
                Err(e) => {
                    tracing::warn!(issuer = %self.settings.issuer, error = %e, "oidc: the provider's keys cannot be read");
                    if keys.is_none() {
                        return Err(TokenError::Service(ServiceError::Unavailable));
                    }
                }
            }
        }
        keys.as_ref()
            .and_then(|k| k.by_kid.get(kid).cloned())
            .ok_or_else(|| {
                TokenError::InvalidToken(format!(
                    "the key {kid} is not one of {}",
                    self.settings.issuer
                ))
            })
    }

    /// The provider's keys, read through its discovery document.
    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let issuer = self.settings.issuer.trim_end_matches('/');
        let discovery: Discovery = self
            .get_json(&format!("{issuer}/.well-known/openid-configuration"))
            .await?;
        if discovery.issuer != self.settings.issuer {
            return Err(format!(
                "the discovery document names the issuer {:?}, not {:?}",
                discovery.issuer, self.settings.issuer
            ));
        }
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        let mut by_kid = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = &jwk.common.key_id else {
                continue;
            };
            let signing = !matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            );
            if !signing {
                continue;
            }
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    by_kid.insert(kid.clone(), key);
                }
                Err(e) => {
                    tracing::warn!(%kid, error = %e, "oidc: a key of the provider is not usable")
                }
            }
        }
        Ok(by_kid)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let answer = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("{url}: answered {}", answer.status()));
        }
        if answer
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(format!("{url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        let bytes = answer.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{url}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_issuer_is_read_without_checking() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"https://idp.example","sub":"x"}"#);
        assert_eq!(
            claimed_issuer(&format!("e30.{payload}.sig")).as_deref(),
            Some("https://idp.example")
        );
        assert_eq!(claimed_issuer("garbage"), None);
        assert_eq!(claimed_issuer("a.b.c"), None);
    }
}
