//! The command line: `niss check` and the administration commands' refusals.

#[macro_use]
mod common;

use std::process::{Command, Output};

use common::app::{run_with_input, RAAS};
use common::{org_a, Backend, TestApp};

fn niss_check(args: &[&str], stdin: &str) -> Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run_with_input(
        Command::new(RAAS)
            .current_dir(dir.path())
            .args(["niss", "check"])
            .args(args),
        stdin,
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    // Checking numbers needs no database.
    assert_eq!(
        std::fs::read_dir(dir.path()).map(Iterator::count).ok(),
        Some(0)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

const RN_LINE: &str = r#"{"input":"85073003328","valid":true,"kind":"RN","birthDate":"1985-07-30","gender":"M","error":null}"#;

#[test]
fn niss_check_prints_one_json_line_per_argument() {
    let output = niss_check(&["85073003328", "12345678901"], "17073003384\n");
    assert_eq!(
        stdout(&output),
        format!(
            "{RN_LINE}\n{}\n",
            r#"{"input":"12345678901","valid":false,"kind":null,"birthDate":null,"gender":null,"error":"check digits do not match"}"#
        )
    );
}

#[test]
fn niss_check_reads_standard_input_when_given_no_argument() {
    let output = niss_check(
        &[],
        // Blank lines are skipped.
        "85.07.30-033.28\r\n  75260898052 \n\n \t\r\n98472899765\n85133000105\n85073000061",
    );
    let expected = [
        r#"{"input":"85.07.30-033.28","valid":true,"kind":"RN","birthDate":"1985-07-30","gender":"M","error":null}"#,
        r#"{"input":"  75260898052 ","valid":true,"kind":"BIS","birthDate":"1975-06-08","gender":null,"error":null}"#,
        r#"{"input":"98472899765","valid":true,"kind":"TER","birthDate":"1998-07-28","gender":"M","error":null}"#,
        r#"{"input":"85133000105","valid":false,"kind":null,"birthDate":null,"gender":null,"error":"month 13 is not a valid month"}"#,
        r#"{"input":"85073000061","valid":false,"kind":null,"birthDate":null,"gender":null,"error":"serial 000 is not allowed"}"#,
    ];
    assert_eq!(stdout(&output), format!("{}\n", expected.join("\n")));
    assert_eq!(stdout(&niss_check(&[], "")), "");
}

#[test]
fn niss_check_stops_quietly_when_its_reader_goes_away() {
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(common::app::RAAS)
        .args(["niss", "check"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("raas starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..200_000 {
            if stdin.write_all(b"85073003328\n").is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("85073003328"));
    // The reader is gone (like `| head -1`).
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `raas admin ARGS`, expects it to fail with exactly `message` on standard error.
#[track_caller]
fn refused(app: &TestApp, args: &[&str], stdin: &str, message: &str) {
    let output = app.run(&[&["admin"], args].concat(), stdin);
    assert!(!output.status.success(), "raas admin {args:?} succeeded");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{args:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("error: {message}\n"),
        "{args:?}"
    );
}

fn admin_commands_refuse_bad_input_with_a_clear_message(backend: Backend) {
    let app = TestApp::empty(backend);
    let a = org_a();
    app.add_org(&a);
    let secret = "a-long-enough-secret\n";
    refused(
        &app,
        &["org", "add", "--cbe", "0431150351", "--name", "X"],
        "",
        "--cbe 0431150351: check digits do not match",
    );
    refused(
        &app,
        &["org", "add", "--cbe", &a.cbe, "--name", "Again"],
        "",
        "the organisation 0202239951 already exists",
    );
    let unknown = "no organisation has the enterprise number 0456973433";
    refused(
        &app,
        &[
            "credential",
            "add",
            "--cbe",
            "0456973433",
            "--username",
            "u",
        ],
        secret,
        unknown,
    );
    refused(
        &app,
        &["dossier-type", "add", "--cbe", "0456973433", "--code", "E"],
        "",
        unknown,
    );
    refused(
        &app,
        &["dossier-type", "list", "--cbe", "0456973433"],
        "",
        unknown,
    );
    refused(
        &app,
        &["credential", "add", "--cbe", &a.cbe, "--username", "u"],
        "short\n",
        "a secret has at least 12 characters",
    );
    refused(
        &app,
        &["credential", "add", "--cbe", &a.cbe, "--username", "u"],
        "",
        "give the secret on standard input",
    );
    refused(
        &app,
        &["credential", "add", "--cbe", &a.cbe, "--username", "u v"],
        secret,
        "a username has 1 to 64 characters and no white space",
    );
    refused(
        &app,
        &[
            "credential",
            "revoke",
            "--cbe",
            &a.cbe,
            "--username",
            "nobody",
        ],
        "",
        "0202239951 has no active credential nobody",
    );
    refused(
        &app,
        &["dossier-type", "add", "--cbe", &a.cbe, "--code", "bad code"],
        "",
        "--code bad code: character ' ' is not allowed (only letters, digits, '_', '.' and '-')",
    );
    refused(
        &app,
        &["dossier-type", "retire", "--cbe", &a.cbe, "--code", "NOPE"],
        "",
        "0202239951 has no active dossier type NOPE",
    );
    // A username belongs to one organisation.
    app.admin(
        &["org", "add", "--cbe", "0403019261", "--name", "Org B"],
        "",
    );
    refused(
        &app,
        &[
            "credential",
            "add",
            "--cbe",
            "0403019261",
            "--username",
            &a.username,
        ],
        secret,
        "the username alice belongs to another organisation",
    );
    // Nothing was created by the refused commands.
    assert_eq!(
        app.admin(&["org", "list"], ""),
        "0202239951\tOrg A\n0403019261\tOrg B\n"
    );
    assert_eq!(
        app.admin(&["dossier-type", "list", "--cbe", &a.cbe], ""),
        ""
    );
}

fn admin_commands_report_what_they_did(backend: Backend) {
    let app = TestApp::empty(backend);
    let cbe = "0202239951";
    let admin = |args: &[&str], stdin: &str| app.admin(args, stdin);
    assert_eq!(
        admin(&["org", "add", "--cbe", cbe, "--name", "Org A"], ""),
        "organisation 0202239951 added: Org A\n"
    );
    assert_eq!(
        admin(
            &["credential", "add", "--cbe", cbe, "--username", "alice"],
            "a-long-enough-secret\n"
        ),
        "credential alice set for 0202239951\n"
    );
    assert_eq!(
        admin(
            &["credential", "revoke", "--cbe", cbe, "--username", "alice"],
            ""
        ),
        "credential alice revoked\n"
    );
    for (code, description) in [("EMPLOYEE", "Employees"), ("ADVISOR", "Advisors")] {
        assert_eq!(
            admin(
                &[
                    "dossier-type",
                    "add",
                    "--cbe",
                    cbe,
                    "--code",
                    code,
                    "--description",
                    description
                ],
                ""
            ),
            format!("dossier type {code} defined for 0202239951\n")
        );
    }
    admin(
        &["dossier-type", "add", "--cbe", cbe, "--code", "PROVISIONAL"],
        "",
    );
    assert_eq!(
        admin(
            &["dossier-type", "retire", "--cbe", cbe, "--code", "ADVISOR"],
            ""
        ),
        "dossier type ADVISOR retired\n"
    );
    assert_eq!(
        admin(&["dossier-type", "list", "--cbe", cbe], ""),
        "ADVISOR\tretired\tAdvisors\nEMPLOYEE\tactive\tEmployees\nPROVISIONAL\tactive\t\n"
    );
    assert_eq!(admin(&["audit"], ""), "");
}

backend_tests!(
    admin_commands_refuse_bad_input_with_a_clear_message,
    admin_commands_report_what_they_did,
);
