//! (minimal until the signing module lands) Ed25519 keys of the vouchers.

use std::path::Path;

use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SigningError(String);

pub struct SigningKey(Ed25519KeyPair);

pub struct PublicKey(Vec<u8>);

impl SigningKey {
    pub fn load(path: &Path) -> Result<SigningKey, SigningError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SigningError(format!("cannot read {}: {e}", path.display())))?;
        let block = pem::parse(text).map_err(|e| SigningError(e.to_string()))?;
        let der = block.contents();
        let seed = der.get(der.len().saturating_sub(32)..).unwrap_or_default();
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(SigningKey)
            .map_err(|e| SigningError(e.to_string()))
    }

    pub fn sign(&self, message: &[u8]) -> String {
        let signature = self.0.sign(message);
        format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
        )
    }

    pub fn public_key_pem(&self) -> String {
        let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        der.extend_from_slice(self.0.public_key().as_ref());
        pem::encode(&pem::Pem::new("PUBLIC KEY", der))
    }
}

impl PublicKey {
    pub fn from_pem(text: &str) -> Result<PublicKey, SigningError> {
        let block = pem::parse(text).map_err(|e| SigningError(e.to_string()))?;
        let der = block.contents();
        Ok(PublicKey(der[der.len().saturating_sub(32)..].to_vec()))
    }

    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, &signature)
            .is_ok()
    }
}
