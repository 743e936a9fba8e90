//! The configuration, through the real binary: each key from its flag, its `RAAS_…`
//! variable, the `--config` TOML file (or `RAAS_CONFIG`) or its default, in that order;
//! unknown keys and invalid values refused naming the key and where the value came from;
//! `--help` listing every key with its variable and default.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const RAAS: &str = env!("CARGO_BIN_EXE_raas");

/// `raas ARGS` in `dir` with only the variables given (and PATH).
fn raas(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(RAAS);
    command.env_clear().current_dir(dir).args(args);
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    raas(dir, env, args)
        .stdin(Stdio::null())
        .output()
        .expect("raas runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// Runs a command expected to succeed; gives its standard output.
#[track_caller]
fn ok(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = run(dir, env, args);
    assert!(
        output.status.success(),
        "raas {args:?} failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs a command expected to fail with exactly `message` (one line) and status 1.
#[track_caller]
fn refused(dir: &Path, env: &[(&str, &str)], args: &[&str], message: &str) {
    let output = run(dir, env, args);
    assert_eq!(output.status.code(), Some(1), "raas {args:?}: {output:?}");
    assert_eq!(text(&output.stdout), "");
    assert_eq!(text(&output.stderr), format!("error: {message}\n"));
}

/// A SQLite database in `dir` holding one organisation named `name`.
fn database_with_org(dir: &Path, file: &str, name: &str) {
    ok(
        dir,
        &[],
        &[
            "--database-url",
            file,
            "admin",
            "org",
            "add",
            "--cbe",
            "0202239951",
            "--name",
            name,
        ],
    );
}

#[test]
fn each_key_comes_from_the_flag_then_the_variables_then_the_file_then_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    for (file, name) in [
        ("raas.db", "Default"),
        ("file.db", "File"),
        ("alias.db", "Alias"),
        ("env.db", "Env"),
        ("flag.db", "Flag"),
    ] {
        database_with_org(dir, file, name);
    }
    std::fs::write(dir.join("raas.toml"), "database_url = \"file.db\"\n").unwrap();
    let list = ["admin", "org", "list"];
    let with_file = [&["--config", "raas.toml"][..], &list].concat();
    let org = |env: &[(&str, &str)], args: &[&str]| ok(dir, env, args);
    assert_eq!(org(&[], &list), "0202239951\tDefault\n");
    assert_eq!(org(&[], &with_file), "0202239951\tFile\n");
    assert_eq!(
        org(&[("RAAS_CONFIG", "raas.toml")], &list),
        "0202239951\tFile\n"
    );
    // DATABASE_URL, as other tools name it, is read after RAAS_DATABASE_URL.
    assert_eq!(
        org(&[("DATABASE_URL", "alias.db")], &with_file),
        "0202239951\tAlias\n"
    );
    let both = [
        ("DATABASE_URL", "alias.db"),
        ("RAAS_DATABASE_URL", "env.db"),
    ];
    assert_eq!(org(&both, &with_file), "0202239951\tEnv\n");
    let flag = [&["--database-url", "flag.db"][..], &with_file].concat();
    assert_eq!(org(&both, &flag), "0202239951\tFlag\n");
}

/// Starts `raas serve` and gives the first line it prints, then stops it.
fn serve_banner(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut child = raas(dir, env, &[&["serve"][..], args].concat())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("raas serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn serve_keys_come_from_the_file_unless_a_variable_or_a_flag_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("raas.toml"),
        "# where to listen\nlisten = \"127.0.0.3:0\"\ndb_connections = 2\nworkers = 1\n",
    )
    .unwrap();
    let config = ["--config", "raas.toml"];
    let host = |env: &[(&str, &str)], args: &[&str]| {
        let banner = serve_banner(dir, env, &[&config[..], args].concat());
        let rest = banner
            .strip_prefix("raas listening on http://")
            .unwrap_or_else(|| panic!("no banner: {banner:?}"));
        rest.rsplit_once(':').unwrap().0.to_owned()
    };
    assert_eq!(host(&[], &[]), "127.0.0.3");
    let env = [("RAAS_LISTEN", "127.0.0.2:0")];
    assert_eq!(host(&env, &[]), "127.0.0.2");
    assert_eq!(host(&env, &["--listen", "127.0.0.1:0"]), "127.0.0.1");
}

#[test]
fn an_unknown_key_of_the_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("raas.toml"),
        "listen = \"127.0.0.1:0\"\nbatch_size = 5000\n",
    )
    .unwrap();
    let keys = "database_url, db_connect_timeout_seconds, listen, tls_cert, tls_key, \
                max_request_bytes, public_url, workers, db_connections, log_format, \
                body_timeout_seconds, outbox, inbox, signing_key, batch_sender, daily_schedule, \
                inbox_schedule, time_zone, delivery_retention, delivery_soap_max_bytes, \
                delivery_schedule, token_issuer, token_audience, token_lifetime_seconds, \
                webhook_allow_private, delivery_unread_reminder_days, delivery_expiry_alert_days, \
                notification_schedule, smtp_url, mail_from, oidc_issuer, oidc_audience, \
                oidc_organisation_claim, oidc_jwks_refresh_seconds";
    refused(
        dir,
        &[],
        &["--config", "raas.toml", "migrate"],
        &format!("raas.toml: unknown key batch_size (the keys are {keys})"),
    );
    // A table is a key too.
    std::fs::write(dir.join("raas.toml"), "[batch]\nsize = 1\n").unwrap();
    refused(
        dir,
        &[("RAAS_CONFIG", "raas.toml")],
        &["migrate"],
        &format!("raas.toml: unknown key batch (the keys are {keys})"),
    );
    // Nothing was created.
    assert!(!dir.join("raas.db").exists());
}

#[test]
fn an_invalid_value_is_refused_naming_the_key_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    refused(
        dir,
        &[],
        &["serve", "--db-connections", "abc"],
        "db_connections: invalid value \"abc\" from the flag --db-connections: invalid digit \
         found in string",
    );
    refused(
        dir,
        &[("RAAS_DB_CONNECTIONS", "0")],
        &["serve"],
        "db_connections: invalid value \"0\" from the environment variable \
         RAAS_DB_CONNECTIONS: at least 1 is expected",
    );
    refused(
        dir,
        &[("RAAS_WORKERS", "0")],
        &["serve"],
        "workers: invalid value \"0\" from the environment variable RAAS_WORKERS: at least 1 \
         is expected",
    );
    refused(
        dir,
        &[("RAAS_DELIVERY_RETENTION", "PERSON_MUTATIONS=30,BROADCAST=0")],
        &["migrate"],
        "delivery_retention: invalid value \"PERSON_MUTATIONS=30,BROADCAST=0\" from the \
         environment variable RAAS_DELIVERY_RETENTION: \"BROADCAST=0\": the days must be a \
         whole number from 1 to 3660",
    );
    let file = dir.join("raas.toml");
    let cases = [
        (
            "log_format = \"yaml\"\n",
            "log_format: invalid value \"yaml\" from the file raas.toml: one of text, json",
        ),
        (
            "workers = \"4\"\n",
            "workers: invalid value \"4\" from the file raas.toml: an integer is expected",
        ),
        (
            "listen = 8080\n",
            "listen: invalid value 8080 from the file raas.toml: a string is expected",
        ),
        (
            "max_request_bytes = -1\n",
            "max_request_bytes: invalid value \"-1\" from the file raas.toml: invalid digit \
             found in string",
        ),
        (
            "listen = \"127.0.0.1:0\"\nworkers = \n",
            "cannot read raas.toml: line 2: string values must be quoted, expected literal \
             string",
        ),
        (
            "tls_cert = \"cert.pem\"\n",
            "tls_cert is set without tls_key: HTTPS needs both",
        ),
    ];
    for (content, message) in cases {
        std::fs::write(&file, content).unwrap();
        refused(dir, &[], &["--config", "raas.toml", "serve"], message);
    }
    refused(
        dir,
        &[],
        &["--config", "missing.toml", "migrate"],
        "cannot read missing.toml: No such file or directory (os error 2)",
    );
    assert!(!dir.join("raas.db").exists());
    // A flag or a variable that gives the key hides the file's wrong value.
    std::fs::write(&file, "log_format = \"yaml\"\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let banner = serve_banner(
        dir,
        &[("RAAS_LOG_FORMAT", "json")],
        &["--config", "raas.toml"],
    );
    assert!(banner.starts_with("raas listening on "), "{banner}");
}

#[test]
fn help_lists_every_key_with_its_variable_and_default() {
    let dir = tempfile::tempdir().unwrap();
    let help = ok(
        dir.path(),
        &[("RAAS_LISTEN", "127.0.0.9:1")],
        &["serve", "--help"],
    );
    let keys = [
        ("--database-url <URL>", "RAAS_DATABASE_URL", Some("raas.db")),
        ("--config <FILE>", "RAAS_CONFIG", None),
        (
            "--db-connect-timeout-seconds <SECONDS>",
            "RAAS_DB_CONNECT_TIMEOUT_SECONDS",
            Some("2"),
        ),
        (
            "--listen <ADDR:PORT>",
            "RAAS_LISTEN",
            Some("127.0.0.1:8080"),
        ),
        ("--tls-cert <FILE>", "RAAS_TLS_CERT", None),
        ("--tls-key <FILE>", "RAAS_TLS_KEY", None),
        (
            "--max-request-bytes <BYTES>",
            "RAAS_MAX_REQUEST_BYTES",
            Some("65536"),
        ),
        ("--public-url <URL>", "RAAS_PUBLIC_URL", None),
        ("--workers <N>", "RAAS_WORKERS", None),
        ("--db-connections <N>", "RAAS_DB_CONNECTIONS", Some("16")),
        ("--log-format <FORMAT>", "RAAS_LOG_FORMAT", Some("text")),
        (
            "--body-timeout-seconds <SECONDS>",
            "RAAS_BODY_TIMEOUT_SECONDS",
            Some("10"),
        ),
    ];
    let lines: Vec<&str> = help.lines().collect();
    for (flag, env, default) in keys {
        let at = lines
            .iter()
            .position(|l| l.trim() == flag)
            .unwrap_or_else(|| panic!("{flag} missing from:\n{help}"));
        let description = lines[at + 1];
        assert!(
            description.contains(&format!("[env: {env}]")),
            "{flag}: {description}"
        );
        match default {
            Some(default) => assert!(
                description.ends_with(&format!("[default: {default}]")),
                "{flag}: {description}"
            ),
            None => assert!(!description.contains("[default:"), "{flag}: {description}"),
        }
    }
    assert!(help.contains("DATABASE_URL is read too, after RAAS_DATABASE_URL"));
    // The global keys are listed by every command.
    // Without the variables' values: a URL may carry a password.
    let top = ok(
        dir.path(),
        &[("RAAS_DATABASE_URL", "postgres://raas:S3cret@db/raas")],
        &["--help"],
    );
    assert!(top.contains("[env: RAAS_DATABASE_URL]"), "{top}");
    assert!(top.contains("[env: RAAS_CONFIG]"), "{top}");
    assert!(!top.contains("S3cret"), "{top}");
}

/// Starts `raas serve` with its standard error in a file, waits for it, and gives that file.
fn serve_log(dir: &Path, args: &[&str]) -> String {
    let log = dir.join("serve.log");
    let mut child = raas(
        dir,
        &[("RUST_LOG", "info")],
        &[&["serve", "--listen", "127.0.0.1:0"][..], args].concat(),
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(&log).unwrap())
    .spawn()
    .expect("raas serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("raas listening on "), "{line}");
    // The workers log as they start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&log).unwrap_or_default().is_empty()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn logs_are_json_lines_when_asked_and_without_colours_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let text_log = serve_log(dir.path(), &[]);
    assert!(!text_log.trim().is_empty());
    assert!(!text_log.contains('\u{1b}'), "{text_log:?}");
    let json_log = serve_log(dir.path(), &["--log-format", "json"]);
    assert!(!json_log.trim().is_empty());
    for line in json_log.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(
            matches!(value["level"].as_str(), Some("INFO" | "WARN")),
            "{line}"
        );
    }
}
