//! Native TLS: `serve --tls-cert --tls-key` answers SOAP over HTTPS (rustls), and a client
//! that trusts the certificate registers a person through it.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::answer::Answer;
use common::soap::Request;
use common::{org_a, Backend, TestApp, NISS_1};

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command runs");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, made with openssl:
/// (CA certificate, server certificate, server key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let new_key = ["-newkey", "rsa:2048", "-nodes"];
    openssl(
        dir,
        &[
            &["req", "-x509", "-days", "1"][..],
            &new_key,
            &[
                "-subj",
                "/CN=raas test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req", "-subj", "/CN=127.0.0.1"][..],
            &new_key,
            &["-keyout", "key.pem", "-out", "server.csr"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("the extensions file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "cert.pem",
        ],
    );
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

fn registers_over_https(backend: Backend) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (ca, cert, key) = certificates(dir.path());
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    let app = TestApp::start_with(backend, &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(
        app.base_url().starts_with("https://127.0.0.1:"),
        "{}",
        app.base_url()
    );

    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("the CA certificate"))
        .expect("a PEM certificate");
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(trusted)
        .build()
        .expect("an HTTPS client");
    let request = Request::register(&org_a(), NISS_1, "EMPLOYEE", "2024-01-01..2024-12-31");
    let response = client
        .post(app.endpoint())
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(request.to_xml())
        .send()
        .expect("the server answers over TLS");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let answer = Answer::new(status, content_type, response.text().expect("a body")).ok();
    assert_eq!(answer.lines(), ["EMPLOYEE 2024-01-01..2024-12-31"]);

    // A client that does not trust the certificate gets no answer at all.
    let untrusting = reqwest::blocking::Client::new();
    assert!(untrusting
        .get(format!("{}/livez", app.base_url()))
        .send()
        .is_err());
}

backend_tests!(registers_over_https);
