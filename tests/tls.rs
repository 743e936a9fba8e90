//! Native TLS: `serve --tls-cert --tls-key` answers SOAP over HTTPS (rustls), and a client
//! that trusts the certificate registers a person through it; one that does not, or asks for
//! another name, fails the handshake on the certificate; plain HTTP gets no HTTP answer.

#[macro_use]
mod common;

use std::io::{Read, Write};
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

    // A client that does not trust the certificate's issuer gets no answer at all: the
    // handshake fails on the certificate, UnknownIssuer.
    let untrusting = reqwest::blocking::Client::new();
    let error = untrusting
        .get(format!("{}/livez", app.base_url()))
        .send()
        .expect_err("an untrusted certificate is refused");
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(
        tls_error(&error),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        )),
        "{error:?}"
    );

    // A client that trusts the CA but asks for another name: NotValidForName (the
    // certificate names 127.0.0.1 only).
    let port = app
        .base_url()
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();
    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("the CA certificate"))
        .expect("a PEM certificate");
    let by_name = reqwest::blocking::Client::builder()
        .add_root_certificate(trusted)
        .no_proxy()
        .resolve(
            "raas.invalid",
            std::net::SocketAddr::from(([127, 0, 0, 1], port.parse().expect("a port"))),
        )
        .build()
        .expect("an HTTPS client");
    let error = by_name
        .get(format!("https://raas.invalid:{port}/livez"))
        .send()
        .expect_err("a certificate for another name is refused");
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{error:?}"
    );

    // Plain HTTP to the TLS port is not served: no HTTP answer, at most a TLS alert.
    let mut stream =
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("the port accepts");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("a read timeout");
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("the request is sent");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("the server closes the connection");
    assert!(
        !reply.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    // Empty, or TLS records of type alert (21).
    assert!(reply.is_empty() || reply[0] == 21, "{reply:?}");
    // Over reqwest: plain HTTP to the port is an error too, not an answer.
    let error = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/livez"))
        .send()
        .expect_err("plain HTTP is not answered");
    assert!(!error.is_status(), "{error:?}");
}

/// The TLS failure behind a client error, if any: a `rustls::Error` somewhere in its source
/// chain (directly or inside `io::Error`s).
fn tls_error(error: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        // An io::Error's source() skips the error it wraps: look inside it.
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

backend_tests!(registers_over_https);
