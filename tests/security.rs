//! Who may do what: authentication, one organisation per credential, registers kept apart,
//! defined and retired dossier types.

#[macro_use]
mod common;

use common::soap::PASSWORD_DIGEST;
use common::{fields, org_a, org_b, Backend, Org, Request, Security, TestApp, NISS_1, NISS_2};

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
    a_retired_dossier_type_refuses_registrations_only,
    an_undefined_dossier_type_is_refused_naming_the_field,
);
