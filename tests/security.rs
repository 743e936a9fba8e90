//! Who may do what: authentication, one organisation per credential, registers kept apart,
//! defined and retired dossier types.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};

use common::soap::PASSWORD_DIGEST;
use common::{
    fields, org_a, org_b, Answer, Backend, Org, Request, Security, TestApp, NISS_1, NISS_2,
};

fn lines(app: &TestApp, org: &Org, ssin: &str) -> (String, Vec<String>) {
    let answer = app.call(&Request::consult(org, ssin)).ok();
    (answer.status(), answer.lines())
}

fn found(lines: &[&str]) -> (String, Vec<String>) {
    (
        "DATA_FOUND".into(),
        lines.iter().map(|l| l.to_string()).collect(),
    )
}

fn not_found() -> (String, Vec<String>) {
    ("NO_DATA_FOUND".into(), Vec::new())
}

fn an_organisation_sees_and_changes_only_its_own_register(backend: Backend) {
    let app = TestApp::start(backend);
    let (a, b) = (org_a(), org_b());
    app.call(&Request::register(
        &a,
        NISS_1,
        "EMPLOYEE",
        "2024-01-01..2024-06-30",
    ))
    .ok();
    assert_eq!(lines(&app, &b, NISS_1), not_found());

    // B registers the same person under its own EMPLOYEE type: A's line is untouched, and
    // B's answer shows B's line only.
    let answer = app
        .call(&Request::register(
            &b,
            NISS_1,
            "EMPLOYEE",
            "2024-03-01..2024-12-31",
        ))
        .ok();
    assert_eq!(answer.lines(), ["EMPLOYEE 2024-03-01..2024-12-31"]);
    assert_eq!(
        lines(&app, &a, NISS_1),
        found(&["EMPLOYEE 2024-01-01..2024-06-30"])
    );
    assert_eq!(
        lines(&app, &b, NISS_1),
        found(&["EMPLOYEE 2024-03-01..2024-12-31"])
    );

    // B removes everything it has: A keeps its line.
    app.call(&Request::unregister(&b, NISS_1, "EMPLOYEE", None))
        .ok();
    assert_eq!(lines(&app, &b, NISS_1), not_found());
    assert_eq!(
        lines(&app, &a, NISS_1),
        found(&["EMPLOYEE 2024-01-01..2024-06-30"])
    );

    // A's dossier types are not B's.
    let refused = app
        .call(&Request::register(
            &b,
            NISS_1,
            "BENEFICIARY",
            "2024-01-01..",
        ))
        .fault("UNKNOWN_DOSSIER_TYPE");
    assert_eq!(
        refused.fault_fields(),
        fields(&[("dossierType", "BENEFICIARY")])
    );
    app.call(&Request::consult(&b, NISS_1).dossier_type("BENEFICIARY"))
        .fault("UNKNOWN_DOSSIER_TYPE");
}

fn a_credential_acts_only_for_its_own_organisation(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    // Another onboarded organisation, and one that is not onboarded.
    for cbe in [org_b().cbe.as_str(), "0456973433"] {
        let answer = app
            .call(&Request::register(&a, NISS_1, "EMPLOYEE", "2024-01-01..").cbe(cbe))
            .fault("NOT_ALLOWED");
        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
        app.call(&Request::consult(&a, NISS_1).cbe(cbe))
            .fault("NOT_ALLOWED");
        app.call(&Request::list_dossier_types(&a).cbe(cbe))
            .fault("NOT_ALLOWED");
    }
    assert_eq!(lines(&app, &org_b(), NISS_1), not_found());
    assert_eq!(lines(&app, &a, NISS_1), not_found());
}

fn wrong_or_missing_credentials_are_not_authenticated(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    let register = || Request::register(&a, NISS_1, "EMPLOYEE", "2024-01-01..");
    let text = |username: &str, password: &str| Security::Text {
        username: username.into(),
        password: password.into(),
    };
    let refused = [
        register().password("not-the-right-secret"),
        // The secret is taken as sent: white space counts.
        register().password(&format!("{} ", a.password)),
        register().security(text("mallory", &a.password)),
        // Bob's secret with Alice's name.
        register().security(text("alice", &org_b().password)),
        register().security(text("", &a.password)),
        register().security(Security::None),
    ];
    for request in &refused {
        let answer = app.call(request).fault("NOT_AUTHENTICATED");
        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
    }
    // A Security header without a UsernameToken, and a UsernameToken without Password.
    let empty_security = register().security(Security::None).header(&format!(
        r#"<wsse:Security xmlns:wsse="{}"/>"#,
        common::soap::WSSE_NS
    ));
    app.call(&empty_security).fault("NOT_AUTHENTICATED");
    let no_password = register().security(Security::None).header(&format!(
        r#"<wsse:Security xmlns:wsse="{}"><wsse:UsernameToken><wsse:Username>alice</wsse:Username></wsse:UsernameToken></wsse:Security>"#,
        common::soap::WSSE_NS
    ));
    app.call(&no_password).fault("NOT_AUTHENTICATED");

    assert_eq!(lines(&app, &a, NISS_1), not_found());
    // The right secret still works after the failures.
    app.call(&register()).ok();
}

fn password_digest_is_refused_as_unsupported(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    let digest =
        Request::register(&a, NISS_1, "EMPLOYEE", "2024-01-01..").security(Security::Digest {
            username: a.username.clone(),
            password: a.password.clone(),
        });
    let answer = app.call(&digest).fault("UNSUPPORTED_PASSWORD_TYPE");
    assert_eq!(
        answer.fault_fields(),
        fields(&[("Security/UsernameToken/Password/@Type", PASSWORD_DIGEST)])
    );
    assert_eq!(lines(&app, &a, NISS_1), not_found());
}

fn a_revoked_credential_is_not_authenticated(backend: Backend) {
    let app = TestApp::start(backend);
    // Revoked before its first use, so the server cannot have remembered it.
    let carol = Org {
        username: "carol".into(),
        password: "carol-first-secret".into(),
        ..org_a()
    };
    app.add_credential(&carol);
    app.admin(
        &[
            "credential",
            "revoke",
            "--cbe",
            &carol.cbe,
            "--username",
            "carol",
        ],
        "",
    );
    app.call(&Request::consult(&carol, NISS_1))
        .fault("NOT_AUTHENTICATED");

    // Setting a new secret brings the credential back; the old secret stays refused.
    let renewed = Org {
        password: "carol-second-secret".into(),
        ..carol.clone()
    };
    app.add_credential(&renewed);
    app.call(&Request::consult(&renewed, NISS_1)).ok();
    app.call(&Request::consult(&carol, NISS_1))
        .fault("NOT_AUTHENTICATED");
}

fn carol() -> Org {
    Org {
        username: "carol".into(),
        password: "carol-first-secret".into(),
        ..org_a()
    }
}

fn revoke(app: &TestApp, org: &Org) {
    app.admin(
        &[
            "credential",
            "revoke",
            "--cbe",
            &org.cbe,
            "--username",
            &org.username,
        ],
        "",
    );
}

/// Used (so the server remembers the verified secret), revoked by the CLI while the server
/// runs, used again: refused on the very next request, and nothing is written.
fn a_credential_used_then_revoked_is_refused_on_the_next_request(backend: Backend) {
    let app = TestApp::start(backend);
    let carol = carol();
    app.add_credential(&carol);
    app.call(&Request::consult(&carol, NISS_1)).ok();
    app.call(&Request::consult(&carol, NISS_1)).ok();

    revoke(&app, &carol);
    let answer = app
        .call(&Request::consult(&carol, NISS_1))
        .fault("NOT_AUTHENTICATED");
    assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
    app.call(&Request::register(
        &carol,
        NISS_2,
        "EMPLOYEE",
        "2024-01-01..",
    ))
    .fault("NOT_AUTHENTICATED");
    assert_eq!(lines(&app, &org_a(), NISS_2), not_found());
    let refused: Vec<_> = app
        .audit(None)
        .into_iter()
        .filter(|e| e["username"] == "carol")
        .map(|e| e["outcome"].as_str().unwrap_or_default().to_owned())
        .collect();
    // Newest first.
    assert_eq!(
        refused,
        ["NOT_AUTHENTICATED", "NOT_AUTHENTICATED", "OK", "OK"]
    );
}

/// A credential given a new secret: the old secret, remembered by the server, is refused on
/// the very next request; the new one works.
fn an_old_secret_is_refused_right_after_a_new_one_is_set(backend: Backend) {
    let app = TestApp::start(backend);
    let first = carol();
    app.add_credential(&first);
    app.call(&Request::consult(&first, NISS_1)).ok();
    let second = Org {
        password: "carol-second-secret".into(),
        ..first.clone()
    };
    app.add_credential(&second);
    app.call(&Request::consult(&first, NISS_1))
        .fault("NOT_AUTHENTICATED");
    app.call(&Request::consult(&second, NISS_1)).ok();
    app.call(&Request::consult(&first, NISS_1))
        .fault("NOT_AUTHENTICATED");
    app.call(&Request::consult(&second, NISS_1)).ok();
}

/// Another `raas serve` on the same database, with its own memory of verified secrets.
struct OtherServer {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    endpoint: String,
    client: reqwest::blocking::Client,
}

impl OtherServer {
    fn start(app: &TestApp) -> OtherServer {
        let mut child = app
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "1"])
            .args(["--db-connections", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("raas serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the server's output");
        let base = first
            .trim()
            .strip_prefix("raas listening on ")
            .unwrap_or_else(|| panic!("raas serve did not start: {first:?}"))
            .to_owned();
        OtherServer {
            child,
            _stdout: stdout,
            endpoint: format!("{base}/soap/PersonRegisterService"),
            client: reqwest::blocking::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
        }
    }

    fn call(&self, request: &Request) -> Answer {
        let response = self
            .client
            .post(&self.endpoint)
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(request.to_xml())
            .send()
            .expect("the other server answers");
        let status = response.status().as_u16();
        Answer::new(
            status,
            "text/xml".into(),
            response.text().expect("an answer"),
        )
    }
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two servers share the database: a revocation, and then a new secret, are seen by both on
/// their next request.
fn every_server_on_the_database_sees_a_revocation_at_once(backend: Backend) {
    let app = TestApp::start(backend);
    let other = OtherServer::start(&app);
    let first = carol();
    app.add_credential(&first);
    app.call(&Request::consult(&first, NISS_1)).ok();
    other.call(&Request::consult(&first, NISS_1)).ok();

    revoke(&app, &first);
    app.call(&Request::consult(&first, NISS_1))
        .fault("NOT_AUTHENTICATED");
    other
        .call(&Request::consult(&first, NISS_1))
        .fault("NOT_AUTHENTICATED");

    let second = Org {
        password: "carol-second-secret".into(),
        ..first.clone()
    };
    app.add_credential(&second);
    other.call(&Request::consult(&second, NISS_1)).ok();
    app.call(&Request::consult(&second, NISS_1)).ok();
    app.call(&Request::consult(&first, NISS_1))
        .fault("NOT_AUTHENTICATED");
    other
        .call(&Request::consult(&first, NISS_1))
        .fault("NOT_AUTHENTICATED");
}

fn a_retired_dossier_type_refuses_registrations_only(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    app.call(&Request::register(
        &a,
        NISS_1,
        "EMPLOYEE",
        "2024-01-01..2024-12-31",
    ))
    .ok();
    app.retire_dossier_type(&a.cbe, "EMPLOYEE");

    let refused = app
        .call(&Request::register(&a, NISS_2, "EMPLOYEE", "2024-01-01.."))
        .fault("RETIRED_DOSSIER_TYPE");
    assert_eq!(
        refused.fault_fields(),
        fields(&[("dossierType", "EMPLOYEE")])
    );
    assert_eq!(lines(&app, &a, NISS_2), not_found());

    // Existing lines can still be consulted and removed.
    let employee = Request::consult(&a, NISS_1).dossier_type("EMPLOYEE");
    assert_eq!(
        app.call(&employee).ok().lines(),
        ["EMPLOYEE 2024-01-01..2024-12-31"]
    );
    let answer = app
        .call(&Request::unregister(
            &a,
            NISS_1,
            "EMPLOYEE",
            Some("2024-07-01.."),
        ))
        .ok();
    assert_eq!(answer.status(), "OK");
    assert_eq!(answer.lines(), ["EMPLOYEE 2024-01-01..2024-06-30"]);
    assert_eq!(
        lines(&app, &a, NISS_1),
        found(&["EMPLOYEE 2024-01-01..2024-06-30"])
    );
}

fn an_undefined_dossier_type_is_refused_naming_the_field(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    for request in [
        Request::register(&a, NISS_1, "NOPE", "2024-01-01.."),
        Request::unregister(&a, NISS_1, "NOPE", None),
        // Codes are case-sensitive.
        Request::register(&a, NISS_1, "employee", "2024-01-01.."),
    ] {
        let answer = app.call(&request).fault("UNKNOWN_DOSSIER_TYPE");
        let code = request.dossier_type.as_deref().unwrap_or_default();
        assert_eq!(answer.fault_fields(), fields(&[("dossierType", code)]));
    }
    // A code that cannot exist at all.
    let answer = app
        .call(&Request::register(&a, NISS_1, "EMP LOYEE", "2024-01-01.."))
        .fault("INVALID_DOSSIER_TYPE");
    assert_eq!(
        answer.fault_fields(),
        fields(&[("dossierType", "EMP LOYEE")])
    );
    assert_eq!(lines(&app, &a, NISS_1), not_found());
}

backend_tests!(
    an_organisation_sees_and_changes_only_its_own_register,
    a_credential_acts_only_for_its_own_organisation,
    wrong_or_missing_credentials_are_not_authenticated,
    password_digest_is_refused_as_unsupported,
    a_revoked_credential_is_not_authenticated,
    a_credential_used_then_revoked_is_refused_on_the_next_request,
    an_old_secret_is_refused_right_after_a_new_one_is_set,
    every_server_on_the_database_sees_a_revocation_at_once,
    a_retired_dossier_type_refuses_registrations_only,
    an_undefined_dossier_type_is_refused_naming_the_field,
);
