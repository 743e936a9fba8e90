//! The samples of `batch/`: each data file and voucher in `batch/samples/` is valid against
//! its schema (checked by xmllint), each voucher names its data file's SHA-256 and size,
//! and each signature verifies with the test key's public half (checked by openssl); the
//! default schedule file loads and holds the defaults.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::outbox::{self, signature_path, voucher_path};
use sha2::{Digest, Sha256};

#[allow(unused_macros)]
mod common;

const RAAS: &str = env!("CARGO_BIN_EXE_raas");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn samples() -> PathBuf {
    root().join("batch").join("samples")
}

/// The data files of the samples (not their vouchers), by name.
fn data_files() -> Vec<PathBuf> {
    outbox::data_files(&samples())
}

fn schema_of(data: &Path) -> PathBuf {
    let name = data
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.starts_with("PERSON_MUTATIONS_") {
        outbox::schema("PersonMutations")
    } else if name.starts_with("DIMONA_MUTATIONS_") {
        outbox::schema("DimonaMutations")
    } else {
        panic!("{name}: not a file type of ours")
    }
}

/// Whether openssl verifies `signature` (raw bytes) of `message` with the test public key.
fn openssl_verifies(message: &Path, signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sig = dir.path().join("signature.bin");
    std::fs::write(&sig, signature).expect("the signature is written");
    let output = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(samples().join("test-key.pub.pem"))
        .arg("-rawin")
        .arg("-in")
        .arg(message)
        .arg("-sigfile")
        .arg(&sig)
        .output()
        .expect("openssl runs");
    output.status.success()
}

fn signature(data: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(signature_path(data)).expect("the .voucher.sig");
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_else(|e| panic!("{}: not base64: {e}", signature_path(data).display()))
}

#[test]
fn there_is_a_sample_of_each_file_type_with_its_voucher_and_signature() {
    let files = data_files();
    for prefix in ["PERSON_MUTATIONS_", "DIMONA_MUTATIONS_"] {
        let of_type = files
            .iter()
            .filter(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .count();
        assert_eq!(of_type, 1, "{prefix}: {files:?}");
    }
    for data in &files {
        assert!(voucher_path(data).is_file(), "{}", data.display());
        assert!(signature_path(data).is_file(), "{}", data.display());
    }
}

#[test]
fn every_sample_is_valid_against_its_schema() {
    let files = data_files();
    assert!(!files.is_empty());
    for data in &files {
        outbox::assert_valid_xml(data, &schema_of(data));
        outbox::assert_valid_xml(&voucher_path(data), &outbox::schema("Voucher"));
    }
}

#[test]
fn every_voucher_names_its_file_size_and_sha256() {
    let files = data_files();
    assert!(!files.is_empty());
    for data in files {
        let bytes = std::fs::read(&data).expect("the data file");
        let voucher = std::fs::read_to_string(voucher_path(&data)).expect("the voucher");
        let sha256: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            voucher.to_ascii_lowercase().contains(&sha256),
            "{}: {sha256}",
            data.display()
        );
        let name = data.file_name().and_then(|n| n.to_str()).expect("a name");
        assert!(voucher.contains(name), "{name}");
        assert!(
            voucher.contains(&format!(">{}<", bytes.len())),
            "{name}: size {}",
            bytes.len()
        );
    }
}

#[test]
fn every_signature_verifies_with_the_public_test_key_and_a_changed_voucher_does_not() {
    let files = data_files();
    assert!(!files.is_empty());
    for data in &files {
        let signature = signature(data);
        assert_eq!(signature.len(), 64, "an Ed25519 signature");
        let voucher = voucher_path(data);
        assert!(
            openssl_verifies(&voucher, &signature),
            "{}",
            voucher.display()
        );
        // One flipped byte of the voucher: refused.
        let mut changed = std::fs::read(&voucher).expect("the voucher");
        let middle = changed.len() / 2;
        changed[middle] ^= 0x01;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let copy = dir.path().join("changed.voucher.xml");
        std::fs::write(&copy, changed).expect("the copy");
        assert!(
            !openssl_verifies(&copy, &signature),
            "{}",
            voucher.display()
        );
    }
}

#[test]
fn the_public_test_key_is_the_half_of_the_private_one() {
    let output = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(samples().join("test-key.pem"))
        .output()
        .expect("openssl runs");
    assert!(output.status.success());
    let public = std::fs::read_to_string(samples().join("test-key.pub.pem")).expect("the key");
    // The same PEM, whatever its line ends.
    let lines =
        |text: &str| -> Vec<String> { text.lines().map(|l| l.trim_end().to_owned()).collect() };
    assert_eq!(
        lines(&String::from_utf8_lossy(&output.stdout)),
        lines(&public)
    );
}

/// batch/schedule.toml holds the default schedule, and `--config` loads it.
#[test]
fn the_schedule_file_holds_the_defaults_and_loads() {
    let path = root().join("batch").join("schedule.toml");
    let text = std::fs::read_to_string(&path).expect("batch/schedule.toml");
    let table: toml::Table = text.parse().expect("TOML");
    let names: Vec<&str> = table.keys().map(String::as_str).collect();
    assert_eq!(names, ["daily_schedule", "inbox_schedule", "time_zone"]);
    for (name, value) in &table {
        let key = raas::config::KEYS
            .iter()
            .find(|k| k.name == name)
            .expect("a key");
        assert_eq!(value.as_str(), key.default, "{name}");
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(RAAS)
        .env_remove("RAAS_CONFIG")
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .arg("--config")
        .arg(&path)
        .arg("migrate")
        .output()
        .expect("raas runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The receivers' own check of the samples passes.
#[test]
fn raas_voucher_verify_accepts_the_samples() {
    let output = Command::new(RAAS)
        .env_remove("RAAS_CONFIG")
        .arg("voucher")
        .arg("verify")
        .arg("--public-key")
        .arg(samples().join("test-key.pub.pem"))
        .args(data_files())
        .output()
        .expect("raas runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("2 of 2 files verified, 0 failed"),
        "{stdout}"
    );
}
