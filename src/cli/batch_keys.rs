//! `raas batch keygen` and `raas batch public-key`: the key that signs the vouchers.

use std::path::Path;

use anyhow::Context;

use crate::batch::signing::SigningKey;
use crate::config::Config;

/// Writes a new Ed25519 private key to `output` (refused if it exists) and says so on
/// standard error; standard output gets the public key, for the receivers.
pub fn keygen(output: &Path) -> anyhow::Result<()> {
    let key = SigningKey::generate_to(output)?;
    eprintln!(
        "signing key written to {} (keep it secret; set signing_key to use it)",
        output.display()
    );
    print!("{}", key.public_key_pem());
    Ok(())
}

/// The configured signing key, or a clear error naming the setting.
pub fn configured_key(config: &Config) -> anyhow::Result<SigningKey> {
    let path = config.signing_key.as_deref().context(
        "no signing key is configured: set signing_key (--signing-key, RAAS_SIGNING_KEY or \
         the --config file) to a key made by `raas batch keygen`",
    )?;
    Ok(SigningKey::load(path)?)
}

/// Prints the configured key's public key (PEM, SubjectPublicKeyInfo).
pub fn public_key(config: &Config) -> anyhow::Result<()> {
    print!("{}", configured_key(config)?.public_key_pem());
    Ok(())
}
