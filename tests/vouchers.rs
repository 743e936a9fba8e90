//! The signing key (`raas batch keygen`, `raas batch public-key`) read by OpenSSL, the
//! signatures checked by OpenSSL, and `raas voucher verify` on a folder of daily files:
//! all OK, then a flipped byte, a wrong count, a bad signature and a gap each caught with a
//! clear message and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use raas::batch::signing::SigningKey;
use raas::batch::verify::{signature_path, voucher_path, FileName};
use raas::batch::voucher::Voucher;
use raas::domain::FileType;
use sha2::Digest as _;

const RAAS: &str = env!("CARGO_BIN_EXE_raas");
const CBE: &str = "0202239951";

fn raas(dir: &Path, args: &[&str]) -> Output {
    Command::new(RAAS)
        .current_dir(dir)
        .env_remove("RAAS_SIGNING_KEY")
        .env_remove("RAAS_CONFIG")
        .args(args)
        .output()
        .expect("raas runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `raas batch keygen -o key.pem` in `dir`, and the public key `raas batch public-key` prints
/// for it, written to `public.pem`.
fn keys(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("key.pem");
    let made = raas(dir, &["batch", "keygen", "-o", key.to_str().unwrap()]);
    assert!(made.status.success(), "{made:?}");
    let shown = raas(
        dir,
        &[
            "--signing-key",
            key.to_str().unwrap(),
            "batch",
            "public-key",
        ],
    );
    assert!(shown.status.success(), "{shown:?}");
    let public = dir.join("public.pem");
    std::fs::write(&public, &shown.stdout).unwrap();
    // keygen also printed the public key.
    assert_eq!(text(&made.stdout), text(&shown.stdout));
    (key, public)
}

/// A data file of `records` records in the layout of the daily files.
fn data_file(records: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PersonMutations \
         xmlns=\"urn:be:raas:batch:PersonMutations:v1\">\n  <header><sender>raas</sender></header>\n  <records>\n",
    );
    for i in 0..records {
        xml.push_str(&format!(
            "    <identityChange><ssin>85073003328</ssin><seq>{i}</seq></identityChange>\n"
        ));
    }
    xml.push_str(&format!(
        "  </records>\n  <trailer><recordCount>{records}</recordCount></trailer>\n</PersonMutations>\n"
    ));
    xml
}

/// Writes a data file, its voucher (saying `count` records) and the voucher's signature by
/// `key`; gives the data file's path.
fn write_file(
    folder: &Path,
    key: &SigningKey,
    file_type: FileType,
    sequence: u64,
    records: usize,
    count: u64,
) -> PathBuf {
    let name = FileName {
        file_type,
        cbe: CBE.into(),
        reference_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
            + chrono::Duration::days(sequence as i64),
        sequence,
    };
    let data = data_file(records);
    let path = folder.join(name.to_string());
    std::fs::write(&path, &data).unwrap();
    let voucher = Voucher {
        sender: "raas".into(),
        receiver: CBE.into(),
        server_ticket: format!("ticket-{sequence}"),
        file_name: name.to_string(),
        file_type: file_type.to_string(),
        schema_version: "1.0".into(),
        file_sequence_number: sequence,
        reference_date: name.reference_date.to_string(),
        created_at: "2026-12-01T02:00:00Z".into(),
        record_count: count,
        file_size: data.len() as u64,
        sha256: hex(&sha2::Sha256::digest(data.as_bytes())),
    };
    sign_voucher(&path, &voucher.to_xml(), key);
    path
}

fn sign_voucher(data: &Path, voucher: &str, key: &SigningKey) {
    std::fs::write(voucher_path(data), voucher).unwrap();
    std::fs::write(signature_path(data), key.sign(voucher.as_bytes())).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A folder of three person files (sequence 1 to 3) and one Dimona file, signed by a key
/// made by `raas batch keygen`.
struct Folder {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: SigningKey,
    public: PathBuf,
    folder: PathBuf,
    files: Vec<PathBuf>,
}

fn signed_folder() -> Folder {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let (key_path, public) = keys(&root);
    let key = SigningKey::load(&key_path).unwrap();
    let folder = root.join("outbox").join(CBE);
    std::fs::create_dir_all(&folder).unwrap();
    let mut files: Vec<PathBuf> = (1..=3)
        .map(|seq| {
            write_file(
                &folder,
                &key,
                FileType::PersonMutations,
                seq,
                seq as usize + 1,
                seq + 1,
            )
        })
        .collect();
    files.push(write_file(
        &folder,
        &key,
        FileType::DimonaMutations,
        1,
        0,
        0,
    ));
    Folder {
        _dir: dir,
        root,
        key,
        public,
        folder,
        files,
    }
}

impl Folder {
    /// `raas voucher verify --public-key public.pem` on every file of the folder (data files,
    /// vouchers and signatures, as a shell glob would give them).
    fn verify(&self) -> Output {
        let mut args = vec![
            "voucher".to_owned(),
            "verify".to_owned(),
            "--public-key".to_owned(),
            self.public.display().to_string(),
        ];
        let mut entries: Vec<String> = std::fs::read_dir(&self.folder)
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        entries.sort();
        args.extend(entries);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        raas(&self.root, &args)
    }

    fn name(&self, index: usize) -> String {
        self.files[index].display().to_string()
    }
}

#[test]
fn a_key_made_by_raas_is_read_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keys(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is its owner's alone");
    }
    let text_of_key = std::fs::read_to_string(&key).unwrap();
    assert!(text_of_key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    // OpenSSL derives the same public key from the private key raas wrote.
    let derived = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .expect("openssl runs");
    assert!(derived.status.success(), "{derived:?}");
    assert_eq!(
        text(&derived.stdout),
        std::fs::read_to_string(&public).unwrap()
    );
    // And raas reads a key OpenSSL made.
    let openssl_key = dir.path().join("openssl.pem");
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&openssl_key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let loaded = SigningKey::load(&openssl_key).unwrap();
    let derived = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&openssl_key)
        .output()
        .unwrap();
    assert_eq!(loaded.public_key_pem(), text(&derived.stdout));

    // keygen never overwrites.
    let again = raas(
        dir.path(),
        &["batch", "keygen", "-o", key.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        text(&again.stderr),
        format!(
            "error: the key file {} already exists: choose another name or remove it first\n",
            key.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text_of_key);

    // No key configured, a missing key, a file that is not a key: one clear line each.
    let none = raas(dir.path(), &["batch", "public-key"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).starts_with("error: no signing key is configured"),
        "{none:?}"
    );
    let missing = raas(
        dir.path(),
        &["--signing-key", "absent.pem", "batch", "public-key"],
    );
    assert_eq!(
        text(&missing.stderr),
        "error: the key file absent.pem does not exist\n"
    );
    let wrong = raas(
        dir.path(),
        &[
            "--signing-key",
            public.to_str().unwrap(),
            "batch",
            "public-key",
        ],
    );
    assert_eq!(
        text(&wrong.stderr),
        format!(
            "error: the key file {} is not an Ed25519 private key (PEM PRIVATE KEY)\n",
            public.display()
        )
    );
}

#[test]
fn openssl_verifies_the_signatures() {
    let f = signed_folder();
    for file in &f.files {
        let signature = std::fs::read_to_string(signature_path(file)).unwrap();
        assert!(signature.ends_with('\n'));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .unwrap();
        assert_eq!(raw.len(), 64);
        let sig_bin = f.root.join("sig.bin");
        std::fs::write(&sig_bin, raw).unwrap();
        let checked = Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&f.public)
            .arg("-rawin")
            .arg("-in")
            .arg(voucher_path(file))
            .arg("-sigfile")
            .arg(&sig_bin)
            .output()
            .expect("openssl runs");
        assert!(checked.status.success(), "{checked:?}");
        assert!(text(&checked.stdout).contains("Signature Verified Successfully"));
        // A voucher changed by one byte does not verify.
        let mut changed = std::fs::read(voucher_path(file)).unwrap();
        let at = changed.len() - 3;
        changed[at] ^= 1;
        let changed_path = f.root.join("changed.xml");
        std::fs::write(&changed_path, changed).unwrap();
        let refused = Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&f.public)
            .arg("-rawin")
            .arg("-in")
            .arg(&changed_path)
            .arg("-sigfile")
            .arg(&sig_bin)
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{refused:?}");
    }
}

#[test]
fn a_complete_folder_verifies() {
    let f = signed_folder();
    let output = f.verify();
    assert!(output.status.success(), "{output:?}");
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let folder = f.folder.display();
    let mut expected: Vec<String> = Vec::new();
    let mut sorted = f.files.clone();
    sorted.sort();
    for file in &sorted {
        expected.push(format!("OK {}", file.display()));
    }
    expected.push(format!(
        "OK {folder}/PERSON_MUTATIONS_{CBE}: sequence 000001 to 000003 complete (3 files)"
    ));
    expected.push(format!(
        "OK {folder}/DIMONA_MUTATIONS_{CBE}: sequence 000001 to 000001 complete (1 file)"
    ));
    expected.push("4 of 4 files verified, 0 failed; 2 of 2 sequences complete".into());
    let mut got: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let summary = got.pop();
    let mut expected_sorted = expected.clone();
    let expected_summary = expected_sorted.pop();
    got.sort();
    expected_sorted.sort();
    assert_eq!(got, expected_sorted, "{stdout}");
    assert_eq!(summary, expected_summary);

    // One file alone, named by its voucher, with the key taken from the configuration:
    // the sequence is still checked on the whole folder.
    let voucher = voucher_path(&f.files[1]);
    let one = raas(
        &f.root,
        &[
            "--signing-key",
            "key.pem",
            "voucher",
            "verify",
            voucher.to_str().unwrap(),
        ],
    );
    assert!(one.status.success(), "{one:?}");
    assert_eq!(
        text(&one.stdout),
        format!(
            "OK {}\nOK {folder}/PERSON_MUTATIONS_{CBE}: sequence 000001 to 000003 complete \
             (3 files)\n1 of 1 files verified, 0 failed; 1 of 1 sequences complete\n",
            f.name(1)
        )
    );

    // No key at all: a clear refusal.
    let no_key = raas(&f.root, &["voucher", "verify", voucher.to_str().unwrap()]);
    assert_eq!(no_key.status.code(), Some(1));
    assert!(
        text(&no_key.stderr).starts_with("error: no public key to check the signatures with"),
        "{no_key:?}"
    );
}

/// Asserts the verification failed, saying `line` for a file or sequence.
#[track_caller]
fn assert_fails_with(output: &Output, line: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.lines().any(|l| l == line),
        "no line {line:?} in:\n{stdout}"
    );
    assert!(text(&output.stderr).starts_with("error: "), "{output:?}");
}

#[test]
fn a_flipped_byte_in_a_data_file_fails() {
    let f = signed_folder();
    let mut bytes = std::fs::read(&f.files[1]).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&f.files[1], &bytes).unwrap();
    let actual = hex(&sha2::Sha256::digest(&bytes));
    let output = f.verify();
    let voucher =
        Voucher::from_xml(&std::fs::read_to_string(voucher_path(&f.files[1])).unwrap()).unwrap();
    assert_fails_with(
        &output,
        &format!(
            "FAILED {}: the data file's SHA-256 is {actual}, the voucher says {}",
            f.name(1),
            voucher.sha256
        ),
    );
    assert!(text(&output.stdout).contains(&format!("OK {}\n", f.name(0))));
    assert!(text(&output.stdout)
        .ends_with("3 of 4 files verified, 1 failed; 2 of 2 sequences complete\n"));

    // A byte more: the size tells it first.
    bytes.push(b'\n');
    std::fs::write(&f.files[1], &bytes).unwrap();
    assert_fails_with(
        &f.verify(),
        &format!(
            "FAILED {}: the data file has {} bytes, the voucher says {}",
            f.name(1),
            bytes.len(),
            bytes.len() - 1
        ),
    );
}

#[test]
fn a_wrong_count_fails_even_when_signed() {
    let f = signed_folder();
    // File 3 has 4 records; its voucher, signed again, says 5.
    let path = voucher_path(&f.files[2]);
    let mut voucher = Voucher::from_xml(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(voucher.record_count, 4);
    voucher.record_count = 5;
    sign_voucher(&f.files[2], &voucher.to_xml(), &f.key);
    assert_fails_with(
        &f.verify(),
        &format!(
            "FAILED {}: the data file has 4 records, the voucher says 5",
            f.name(2)
        ),
    );
}

#[test]
fn a_bad_signature_fails() {
    let f = signed_folder();
    // A voucher changed without the key: its signature no longer matches.
    let path = voucher_path(&f.files[0]);
    let changed = std::fs::read_to_string(&path)
        .unwrap()
        .replace("<sender>raas</sender>", "<sender>evil</sender>");
    std::fs::write(&path, changed).unwrap();
    let expected = format!(
        "FAILED {}: the voucher's signature does not verify with the sender's public key",
        f.name(0)
    );
    assert_fails_with(&f.verify(), &expected);

    // Signed by another key: the same.
    let other = SigningKey::generate().unwrap();
    let voucher = std::fs::read_to_string(voucher_path(&f.files[3])).unwrap();
    sign_voucher(&f.files[3], &voucher, &other);
    let output = f.verify();
    assert_fails_with(&output, &expected);
    assert_fails_with(
        &output,
        &format!(
            "FAILED {}: the voucher's signature does not verify with the sender's public key",
            f.name(3)
        ),
    );
    // A signature file that is not base64, or missing.
    std::fs::write(signature_path(&f.files[1]), "not a signature\n").unwrap();
    std::fs::remove_file(signature_path(&f.files[2])).unwrap();
    let output = f.verify();
    assert_fails_with(
        &output,
        &format!(
            "FAILED {}: the voucher's signature does not verify with the sender's public key",
            f.name(1)
        ),
    );
    let sig_name = signature_path(&f.files[2]);
    assert_fails_with(
        &output,
        &format!(
            "FAILED {}: its signature {} is missing",
            f.name(2),
            sig_name.file_name().unwrap().to_string_lossy()
        ),
    );
}

#[test]
fn a_gap_or_a_duplicate_fails() {
    let f = signed_folder();
    let middle = &f.files[1];
    for path in [middle.clone(), voucher_path(middle), signature_path(middle)] {
        std::fs::remove_file(path).unwrap();
    }
    let output = f.verify();
    let folder = f.folder.display();
    assert_fails_with(
        &output,
        &format!(
            "FAILED {folder}/PERSON_MUTATIONS_{CBE}: sequence number 000002 is missing \
             (000001 is followed by 000003)"
        ),
    );
    // Every file left is fine in itself.
    let stdout = text(&output.stdout);
    assert!(stdout.ends_with("3 of 3 files verified, 0 failed; 1 of 2 sequences complete\n"));

    // The same number on another day: a file too many.
    let f = signed_folder();
    let folder = f.folder.display();
    let extra = write_file(&f.folder, &f.key, FileType::PersonMutations, 2, 1, 1);
    // Same sequence number 2 as files[1], under another reference date.
    let moved = f
        .folder
        .join(format!("PERSON_MUTATIONS_{CBE}_20261225_000002.xml"));
    for (from, to) in [
        (extra.clone(), moved.clone()),
        (voucher_path(&extra), voucher_path(&moved)),
        (signature_path(&extra), signature_path(&moved)),
    ] {
        assert_ne!(from, to);
        std::fs::rename(from, to).unwrap();
    }
    // files[1] was overwritten by write_file: make it again.
    write_file(&f.folder, &f.key, FileType::PersonMutations, 2, 3, 3);
    let output = f.verify();
    assert_fails_with(
        &output,
        &format!(
            "FAILED {folder}/PERSON_MUTATIONS_{CBE}: sequence number 000002 is used by more \
             than one file: {}, PERSON_MUTATIONS_{CBE}_20261225_000002.xml",
            f.files[1].file_name().unwrap().to_string_lossy()
        ),
    );
    // The moved file's voucher names another file.
    assert_fails_with(
        &output,
        &format!(
            "FAILED {}: the voucher's fileName is {}, the file's name says \
             PERSON_MUTATIONS_{CBE}_20261225_000002.xml",
            moved.display(),
            f.files[1].file_name().unwrap().to_string_lossy()
        ),
    );
}

#[test]
fn a_missing_data_file_or_voucher_fails() {
    let f = signed_folder();
    std::fs::remove_file(&f.files[0]).unwrap();
    std::fs::remove_file(voucher_path(&f.files[3])).unwrap();
    let output = f.verify();
    assert_fails_with(
        &output,
        &format!("FAILED {}: the data file is missing", f.name(0)),
    );
    assert_fails_with(
        &output,
        &format!(
            "FAILED {}: its voucher {} is missing",
            f.name(3),
            voucher_path(&f.files[3])
                .file_name()
                .unwrap()
                .to_string_lossy()
        ),
    );
    // A file whose name is not a daily file's.
    let stray = f.folder.join("notes.xml");
    std::fs::write(&stray, "<notes/>").unwrap();
    assert_fails_with(
        &f.verify(),
        &format!(
            "FAILED {}: the name is not <TYPE>_<cbe>_<YYYYMMDD>_<sequence, 6 digits>.xml",
            stray.display()
        ),
    );
}
