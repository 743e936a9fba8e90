//! The key that signs the vouchers: Ed25519 (RFC 8032), the private key stored as PEM
//! `PRIVATE KEY` (PKCS#8, RFC 8410), the public key shown as PEM `PUBLIC KEY`
//! (SubjectPublicKeyInfo), the signature as standard base64 in a `.voucher.sig` file. Any
//! receiver checks it with OpenSSL (`openssl pkeyutl -verify -rawin`) or a standard library.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ring::rand::SecureRandom as _;
use ring::signature::{self, KeyPair as _};

/// The DER of a PKCS#8 v1 Ed25519 private key before its 32-byte seed (RFC 8410 §7):
/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The DER of an Ed25519 SubjectPublicKeyInfo before its 32-byte key (RFC 8410 §4):
/// SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (no unused bit) key }.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The largest key file read: a PEM Ed25519 key is about 120 bytes.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Why a key could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("the key file {} does not exist", .0.display())]
    Missing(PathBuf),
    #[error("cannot read the key file {}: {}", .0.display(), .1)]
    Read(PathBuf, String),
    #[error("cannot write the key file {}: {}", .0.display(), .1)]
    Write(PathBuf, String),
    #[error("the key file {} already exists: choose another name or remove it first", .0.display())]
    Exists(PathBuf),
    #[error("{0} is not a PEM file")]
    NotPem(String),
    #[error("{what} is not an Ed25519 {kind}")]
    NotEd25519 { what: String, kind: &'static str },
}

/// The private key that signs the vouchers.
pub struct SigningKey {
    pair: signature::Ed25519KeyPair,
}

/// Never shows the secret.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &self.public_key().to_pem())
            .finish()
    }
}

/// Reads a small text file, telling a missing file from another failure.
fn read_small(path: &Path) -> Result<String, SigningError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SigningError::Missing(path.to_owned()),
        _ => SigningError::Read(path.to_owned(), e.to_string()),
    })?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| SigningError::Read(path.to_owned(), e.to_string()))?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(SigningError::Read(
            path.to_owned(),
            format!("larger than {MAX_KEY_FILE_BYTES} bytes: not a key"),
        ));
    }
    Ok(text)
}

/// 32 random bytes from the operating system, for the key to be written to `path`.
fn random_seed(path: &Path) -> Result<[u8; 32], SigningError> {
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| SigningError::Write(path.to_owned(), "no random source".into()))?;
    Ok(seed)
}

/// A PEM text with Unix line ends.
fn pem_text(tag: &str, der: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// The DER content of the one PEM block of `text` tagged `tag`.
fn pem_block(text: &str, tag: &str, what: &str) -> Result<Vec<u8>, SigningError> {
    let block = pem::parse(text).map_err(|_| SigningError::NotPem(what.to_owned()))?;
    if block.tag() != tag {
        return Err(SigningError::NotEd25519 {
            what: what.to_owned(),
            kind: if tag == "PUBLIC KEY" {
                "public key (PEM PUBLIC KEY)"
            } else {
                "private key (PEM PRIVATE KEY)"
            },
        });
    }
    Ok(block.into_contents())
}

impl SigningKey {
    /// A new random key (not written anywhere).
    pub fn generate() -> Result<SigningKey, SigningError> {
        SigningKey::from_seed(&random_seed(Path::new("a new key"))?, "a new key")
    }

    fn from_seed(seed: &[u8], what: &str) -> Result<SigningKey, SigningError> {
        signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| SigningKey { pair })
            .map_err(|_| SigningError::NotEd25519 {
                what: what.to_owned(),
                kind: "private key",
            })
    }

    /// The key in a PEM `PRIVATE KEY` text (PKCS#8 v1, as `openssl genpkey` writes it).
    pub fn from_pem(text: &str, what: &str) -> Result<SigningKey, SigningError> {
        let der = pem_block(text, "PRIVATE KEY", what)?;
        if der.len() == 48 && der.starts_with(&PKCS8_V1_PREFIX) {
            return SigningKey::from_seed(&der[PKCS8_V1_PREFIX.len()..], what);
        }
        // PKCS#8 v2 (with the public key), as some tools write it.
        signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map(|pair| SigningKey { pair })
            .map_err(|_| SigningError::NotEd25519 {
                what: what.to_owned(),
                kind: "private key (PKCS#8)",
            })
    }

    /// A new random key and its PEM `PRIVATE KEY` text (PKCS#8 v1), to keep elsewhere than
    /// in a file (the access tokens' keys are kept in the database).
    pub fn generate_pem() -> Result<(SigningKey, String), SigningError> {
        let seed = random_seed(Path::new("a new key"))?;
        let key = SigningKey::from_seed(&seed, "a new key")?;
        let text = key.to_pem(&seed);
        Ok((key, text))
    }

    /// Reads the key file named in the configuration.
    pub fn load(path: &Path) -> Result<SigningKey, SigningError> {
        let text = read_small(path)?;
        SigningKey::from_pem(&text, &format!("the key file {}", path.display()))
    }

    /// The key as a PEM `PRIVATE KEY` text (PKCS#8 v1, RFC 8410).
    fn to_pem(&self, seed: &[u8; 32]) -> String {
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(seed);
        pem_text("PRIVATE KEY", der)
    }

    /// Writes a new random key to `path` (a file that must not exist), readable by its
    /// owner only, and gives it.
    pub fn generate_to(path: &Path) -> Result<SigningKey, SigningError> {
        use std::io::Write as _;
        let seed = random_seed(path)?;
        let key = SigningKey::from_seed(&seed, "a new key")?;
        let text = key.to_pem(&seed);
        // What is written must read back as the same key.
        let reread = SigningKey::from_pem(&text, "the new key")?;
        if reread.public_key() != key.public_key() {
            return Err(SigningError::Write(
                path.to_owned(),
                "the encoded key does not read back".into(),
            ));
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => SigningError::Exists(path.to_owned()),
            _ => SigningError::Write(path.to_owned(), e.to_string()),
        })?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| SigningError::Write(path.to_owned(), e.to_string()))?;
        Ok(key)
    }

    /// The content of a `.voucher.sig` file: the standard base64 of the 64-byte Ed25519
    /// signature of `message`, and a line feed.
    pub fn sign(&self, message: &[u8]) -> String {
        let signature = self.pair.sign(message);
        let mut text = base64::engine::general_purpose::STANDARD.encode(signature.as_ref());
        text.push('\n');
        text
    }

    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey { key }
    }

    /// The public half as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) text, for the receivers.
    pub fn public_key_pem(&self) -> String {
        self.public_key().to_pem()
    }
}

/// The public half of a signing key: what a receiver checks the signatures with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: [u8; 32],
}

impl PublicKey {
    /// The 32 bytes of the key (RFC 8032), as a JWK's `x` holds them.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) text of an Ed25519 key.
    pub fn from_pem(text: &str) -> Result<PublicKey, SigningError> {
        let what = "the public key";
        let der = pem_block(text, "PUBLIC KEY", what)?;
        match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(key) if key.len() == 32 => {
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(key);
                Ok(PublicKey { key: bytes })
            }
            _ => Err(SigningError::NotEd25519 {
                what: what.to_owned(),
                kind: "public key (SubjectPublicKeyInfo)",
            }),
        }
    }

    /// Reads a PEM public key file.
    pub fn load(path: &Path) -> Result<PublicKey, SigningError> {
        let text = read_small(path)?;
        PublicKey::from_pem(&text).map_err(|e| match e {
            SigningError::NotPem(_) => SigningError::NotPem(format!("{}", path.display())),
            SigningError::NotEd25519 { kind, .. } => SigningError::NotEd25519 {
                what: format!("{}", path.display()),
                kind,
            },
            other => other,
        })
    }

    /// The PEM `PUBLIC KEY` text.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.key);
        pem_text("PUBLIC KEY", der)
    }

    /// Whether `sig_file_content` (a `.voucher.sig` file: base64, white space around it
    /// ignored) is a valid signature of `message` by this key.
    pub fn verify(&self, message: &[u8], sig_file_content: &str) -> bool {
        let Ok(signature_bytes) =
            base64::engine::general_purpose::STANDARD.decode(sig_file_content.trim())
        else {
            return false;
        };
        signature_bytes.len() == 64
            && signature::UnparsedPublicKey::new(&signature::ED25519, &self.key)
                .verify(message, &signature_bytes)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_reads_back_and_its_signatures_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let key = SigningKey::generate_to(&path).unwrap();
        let loaded = SigningKey::load(&path).unwrap();
        assert_eq!(key.public_key(), loaded.public_key());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            SigningKey::generate_to(&path),
            Err(SigningError::Exists(_))
        ));

        let signature = loaded.sign(b"voucher bytes");
        assert!(signature.ends_with('\n'));
        let public = PublicKey::from_pem(&key.public_key_pem()).unwrap();
        assert!(public.verify(b"voucher bytes", &signature));
        assert!(!public.verify(b"voucher bytes!", &signature));
        assert!(!public.verify(b"voucher bytes", "not base64"));
        let other = SigningKey::generate().unwrap();
        assert!(!other.public_key().verify(b"voucher bytes", &signature));
    }

    #[test]
    fn known_answer_of_rfc_8032() {
        // RFC 8032 §7.1, TEST 1: the empty message.
        let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let key = SigningKey::from_seed(&seed, "test").unwrap();
        let public = key.public_key();
        assert_eq!(
            public.key.to_vec(),
            hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        let expected = hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
        let sig = key.sign(b"");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(sig.trim())
                .unwrap(),
            expected
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        let e = SigningKey::load(&missing).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let not_pem = dir.path().join("text.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let e = SigningKey::load(&not_pem).unwrap_err().to_string();
        assert!(e.ends_with("is not a PEM file"), "{e}");
        let public = dir.path().join("public.pem");
        std::fs::write(&public, SigningKey::generate().unwrap().public_key_pem()).unwrap();
        let e = SigningKey::load(&public).unwrap_err().to_string();
        assert!(e.contains("is not an Ed25519 private key"), "{e}");
        // An RSA-like PKCS#8 header: not Ed25519.
        let other = pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            vec![0x30, 0x03, 0x02, 0x01, 0x00],
        ));
        let e = SigningKey::from_pem(&other, "k").unwrap_err().to_string();
        assert_eq!(e, "k is not an Ed25519 private key (PKCS#8)");
        let e = PublicKey::from_pem(&other).unwrap_err().to_string();
        assert!(e.contains("not an Ed25519 public key"), "{e}");
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
