//! PersonIdentificationService v1: identifyPerson and updateBisIdentity, their refusals, the
//! grants they need and the audit entries they leave.

#[macro_use]
mod common;

use common::soap::IdentRequest;
use common::{fields, niss, org_a, org_b, Answer, Backend, Feed, PersonData, Security, TestApp};

const SERVICE: &str = "PersonIdentificationService";

/// The numbers of these tests (none of the standard persons).
struct Numbers {
    /// RN, male, 1981-02-03.
    rn: String,
    /// RN, female, born in July 1985 (day unknown).
    rn_month_only: String,
    /// RN, male, born in 1985 (month and day unknown).
    rn_year_only: String,
    /// BIS +20, gender unknown, 1976-04-05.
    bis_20: String,
    /// BIS +40, male, 1990-01-02.
    bis_40: String,
    /// BIS +40, female, 1991-03-04: replaced by `chain_b`, itself by `chain_c`.
    chain_a: String,
    /// BIS +20, 1991-03-04.
    chain_b: String,
    /// RN, female, 1991-03-04.
    chain_c: String,
}

fn numbers() -> Numbers {
    Numbers {
        rn: niss("810203", 101, false),
        rn_month_only: niss("850700", 102, false),
        rn_year_only: niss("850000", 103, false),
        bis_20: niss("762405", 104, false),
        bis_40: niss("904102", 105, false),
        chain_a: niss("914304", 106, false),
        chain_b: niss("912304", 107, false),
        chain_c: niss("910304", 108, false),
    }
}

/// A person with every field of Person.xsd, as a raw feed record.
fn full_person_record(ssin: &str) -> String {
    format!(
        r#"<newPerson id="full"><person><p:ssin>{ssin}</p:ssin><p:lastName>D'Hondt</p:lastName><p:firstName>Jean-Pierre</p:firstName><p:firstName>Émile</p:firstName><p:birthDate>1981-02-03</p:birthDate><p:gender>M</p:gender><p:nationality>BE</p:nationality><p:birthPlace>Liège</p:birthPlace><p:address><p:street>Rue de l'Église</p:street><p:houseNumber>12</p:houseNumber><p:box>3</p:box><p:postalCode>4000</p:postalCode><p:municipality>Liège</p:municipality><p:country>BE</p:country></p:address><p:deceaseDate>2024-05-00</p:deceaseDate></person></newPerson>"#
    )
}

/// A server whose source knows the numbers above; org A is granted both operations, org B
/// none.
fn start(backend: Backend) -> (TestApp, Numbers) {
    let app = TestApp::start(backend);
    let n = numbers();
    let mut bis_20 = PersonData::new(&n.bis_20, "Nowak", &["Ewa"]);
    bis_20.address = None;
    bis_20.nationality = None;
    let feed = Feed::new("IDENT-1")
        .raw(&full_person_record(&n.rn))
        .new_person(&PersonData::new(&n.rn_month_only, "Peeters", &["Marie"]))
        .new_person(&PersonData::new(&n.rn_year_only, "Claes", &["Lucas"]).birth_date("1985-00-00"))
        .new_person(&bis_20)
        .new_person(&PersonData::new(&n.bis_40, "Kowalski", &["Piotr"]))
        .new_person(&PersonData::new(&n.chain_a, "Lewandowska", &["Anna"]))
        .new_person(&PersonData::new(&n.chain_b, "Lewandowska", &["Anna"]))
        .new_person(&PersonData::new(&n.chain_c, "Lewandowska", &["Anna"]))
        .replacement(&n.chain_a, &n.chain_b)
        .replacement(&n.chain_b, &n.chain_c);
    app.apply_feed(&feed);
    for operation in ["identifyPerson", "updateBisIdentity"] {
        app.grant(&org_a().cbe, operation);
    }
    (app, n)
}

/// The person of an answer: (element, text) of each child of `person`, in order, with the
/// address flattened to `address/…`.
fn person(answer: &Answer) -> Vec<(String, String)> {
    let person = answer
        .doc()
        .find(&["person"])
        .unwrap_or_else(|| panic!("no person in {}", answer.body));
    let mut found = Vec::new();
    for child in &person.children {
        if child.children.is_empty() {
            found.push((child.name.clone(), child.text.trim().to_owned()));
        }
        for grandchild in &child.children {
            found.push((
                format!("{}/{}", child.name, grandchild.name),
                grandchild.text.trim().to_owned(),
            ));
        }
    }
    found
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    fields(expected)
}

fn identify(app: &TestApp, ssin: &str) -> Answer {
    app.call_ident(&IdentRequest::identify(&org_a(), ssin))
}

/// The `changedField`s of an answer, in order.
fn changed(answer: &Answer) -> Vec<String> {
    answer
        .doc()
        .all("changedField")
        .iter()
        .map(|c| c.text.trim().to_owned())
        .collect()
}

/// The number's journal, as `raas admin history --ssin` prints it (JSON lines, oldest
/// first): (kind, source, changes) of each entry.
fn history(app: &TestApp, ssin: &str) -> Vec<(String, String, serde_json::Value)> {
    app.admin(&["history", "--ssin", ssin], "")
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(entry["ssin"], ssin, "{line}");
            (
                entry["kind"].as_str().unwrap_or_default().to_owned(),
                entry["source"].as_str().unwrap_or_default().to_owned(),
                entry["changes"].clone(),
            )
        })
        .collect()
}

/// The `persons.version` of a number, read from the database (no answer carries it).
fn version(app: &TestApp, ssin: &str) -> i64 {
    common::db::query_i64(
        app.database_url(),
        &format!("SELECT CAST(version AS TEXT) AS value FROM persons WHERE ssin = '{ssin}'"),
    )
}

/// The journal's `changes` of one identity change: `(field, before, after)`, None for null.
fn change_list(changes: &[(&str, Option<&str>, Option<&str>)]) -> serde_json::Value {
    changes
        .iter()
        .map(|(field, before, after)| {
            serde_json::json!({"field": field, "before": before, "after": after})
        })
        .collect()
}

fn identifies_a_person_with_all_fields(backend: Backend) {
    let (app, n) = start(backend);
    let request = IdentRequest::identify(&org_a(), &n.rn);
    let answer = app.call_ident(&request).ok();
    assert_eq!(answer.status(), "DATA_FOUND");
    assert_eq!(answer.status_code(), "MSG00000");
    assert_eq!(
        answer.text(&["informationCustomer", "ticket"]),
        Some(request.request.ticket.clone())
    );
    assert!(
        answer.body.contains("identifyPersonResponse"),
        "{}",
        answer.body
    );
    assert_eq!(
        person(&answer),
        pairs(&[
            ("ssin", &n.rn),
            ("status", "ACTIVE"),
            ("lastName", "D'Hondt"),
            ("firstName", "Jean-Pierre"),
            ("firstName", "Émile"),
            ("birthDate", "1981-02-03"),
            ("gender", "M"),
            ("nationality", "BE"),
            ("birthPlace", "Liège"),
            ("address/street", "Rue de l'Église"),
            ("address/houseNumber", "12"),
            ("address/box", "3"),
            ("address/postalCode", "4000"),
            ("address/municipality", "Liège"),
            ("address/country", "BE"),
            ("deceaseDate", "2024-05-00"),
            ("register", "RN"),
        ])
    );
}

fn identifies_incomplete_birth_dates_and_bis_numbers(backend: Backend) {
    let (app, n) = start(backend);
    let address = [
        ("address/street", "Kerkstraat"),
        ("address/houseNumber", "12"),
        ("address/postalCode", "9000"),
        ("address/municipality", "Gent"),
        ("address/country", "BE"),
    ];
    let month_only = identify(&app, &n.rn_month_only).ok();
    let mut expected = vec![
        ("ssin", n.rn_month_only.as_str()),
        ("status", "ACTIVE"),
        ("lastName", "Peeters"),
        ("firstName", "Marie"),
        ("birthDate", "1985-07-00"),
        ("gender", "F"),
        ("nationality", "BE"),
    ];
    expected.extend(address);
    expected.push(("register", "RN"));
    assert_eq!(person(&month_only), pairs(&expected));

    let year_only = identify(&app, &n.rn_year_only).ok();
    assert!(person(&year_only).contains(&("birthDate".into(), "1985-00-00".into())));

    // A BIS (+20) number attributed without gender: no gender element at all.
    let bis = identify(&app, &n.bis_20).ok();
    assert_eq!(
        person(&bis),
        pairs(&[
            ("ssin", &n.bis_20),
            ("status", "ACTIVE"),
            ("lastName", "Nowak"),
            ("firstName", "Ewa"),
            ("birthDate", "1976-04-05"),
            ("register", "BIS"),
        ])
    );
    // +40 numbers are BIS numbers too.
    let ter = identify(&app, &n.bis_40).ok();
    assert!(person(&ter).contains(&("register".into(), "BIS".into())));
    assert!(person(&ter).contains(&("gender".into(), "M".into())));
}

fn a_replaced_number_is_shown_canceled_with_the_final_number(backend: Backend) {
    let (app, n) = start(backend);
    for replaced in [&n.chain_a, &n.chain_b] {
        let answer = identify(&app, replaced).ok();
        assert_eq!(answer.status(), "DATA_FOUND");
        let shown = person(&answer);
        assert_eq!(
            shown[..3],
            pairs(&[
                ("ssin", replaced),
                ("status", "CANCELED"),
                ("replacedBy", &n.chain_c),
            ])[..],
            "{replaced}"
        );
        assert!(shown.contains(&("register".into(), "BIS".into())));
    }
    let last = identify(&app, &n.chain_c).ok();
    assert_eq!(
        person(&last)[..3],
        pairs(&[
            ("ssin", &n.chain_c),
            ("status", "ACTIVE"),
            ("lastName", "Lewandowska")
        ])[..]
    );
    assert!(person(&last).contains(&("register".into(), "RN".into())));
}

fn unknown_and_invalid_numbers_are_refused(backend: Backend) {
    let (app, _) = start(backend);
    let unknown = niss("600101", 201, false);
    let answer = identify(&app, &unknown).fault("SSIN_UNKNOWN");
    assert_eq!(answer.fault_fields(), fields(&[("ssin", &unknown)]));
    let unknown_bis = niss("602101", 201, false);
    let answer = app
        .call_ident(&IdentRequest::update_bis(
            &org_a(),
            &unknown_bis,
            "<p:lastName>Janssens</p:lastName>",
        ))
        .fault("SSIN_UNKNOWN");
    assert_eq!(answer.fault_fields(), fields(&[("ssin", &unknown_bis)]));

    for invalid in ["85073003329", "8507300332", "85133000105"] {
        let answer = identify(&app, invalid).fault("INVALID_SSIN");
        assert_eq!(answer.fault_fields(), fields(&[("ssin", invalid)]));
    }
    let answer = app
        .call_ident(&IdentRequest::update_bis(
            &org_a(),
            "98472899766",
            "<p:lastName>Janssens</p:lastName>",
        ))
        .fault("INVALID_SSIN");
    assert_eq!(answer.fault_fields(), fields(&[("ssin", "98472899766")]));
}

fn a_legal_context_is_required(backend: Backend) {
    let (app, n) = start(backend);
    let requests = [
        IdentRequest::identify(&org_a(), &n.rn),
        IdentRequest::update_bis(&org_a(), &n.bis_40, "<p:lastName>Nowak</p:lastName>"),
    ];
    for request in requests {
        let answer = app
            .call_ident(&request.clone().with(|r| r.legal_context(None)))
            .fault("MALFORMED_REQUEST");
        assert_eq!(answer.fault_fields(), fields(&[("legalContext", "")]));
        let long = "x".repeat(65);
        let answer = app
            .call_ident(&request.with(|r| r.legal_context(Some(&long))))
            .fault("INVALID_FIELD");
        assert_eq!(answer.fault_fields(), fields(&[("legalContext", &long)]));
    }
    // Nothing was changed by the refused update.
    let answer = identify(&app, &n.bis_40).ok();
    assert!(person(&answer).contains(&("lastName".into(), "Kowalski".into())));
}

fn operations_need_a_grant(backend: Backend) {
    let (app, n) = start(backend);
    let b = org_b();
    let identify_as_b = || app.call_ident(&IdentRequest::identify(&b, &n.rn));
    let update_as_b = || {
        app.call_ident(&IdentRequest::update_bis(
            &b,
            &n.bis_40,
            "<p:lastName>Nowak</p:lastName>",
        ))
    };
    let refused = identify_as_b().fault("OPERATION_NOT_GRANTED");
    assert_eq!(
        refused.fault_fields(),
        fields(&[("operation", "identifyPerson")])
    );
    let refused = update_as_b().fault("OPERATION_NOT_GRANTED");
    assert_eq!(
        refused.fault_fields(),
        fields(&[("operation", "updateBisIdentity")])
    );
    assert_eq!(app.admin(&["grants", "--cbe", &b.cbe], ""), "");

    // Granted one operation: that one only.
    let granted = app.admin(
        &["grant", "--cbe", &b.cbe, "--operation", "identifyPerson"],
        "",
    );
    assert_eq!(granted, format!("identifyPerson granted to {}\n", b.cbe));
    identify_as_b().ok();
    update_as_b().fault("OPERATION_NOT_GRANTED");
    // Granting again changes nothing.
    let again = app.admin(
        &["grant", "--cbe", &b.cbe, "--operation", "identifyPerson"],
        "",
    );
    assert_eq!(
        again,
        format!("identifyPerson was already granted to {}\n", b.cbe)
    );
    app.grant(&b.cbe, "updateBisIdentity");
    assert_eq!(
        app.admin(&["grants", "--cbe", &b.cbe], ""),
        "identifyPerson\nupdateBisIdentity\n"
    );
    update_as_b().ok();

    // Revoked: refused again.
    let revoked = app.admin(
        &[
            "grant",
            "--cbe",
            &b.cbe,
            "--operation",
            "identifyPerson",
            "--revoke",
        ],
        "",
    );
    assert_eq!(
        revoked,
        format!("identifyPerson no longer granted to {}\n", b.cbe)
    );
    identify_as_b().fault("OPERATION_NOT_GRANTED");
    assert_eq!(
        app.admin(&["grants", "--cbe", &b.cbe], ""),
        "updateBisIdentity\n"
    );
    // Org A's grants are its own.
    assert_eq!(
        app.admin(&["grants", "--cbe", &org_a().cbe], ""),
        "identifyPerson\nupdateBisIdentity\n"
    );
}

fn the_grant_commands_refuse_what_cannot_be_granted(backend: Backend) {
    let (app, _) = start(backend);
    let refused = |args: &[&str]| {
        let output = app.run(&[&["admin"], args].concat(), "");
        assert!(!output.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let a = org_a().cbe;
    let message = refused(&["grant", "--cbe", &a, "--operation", "registerPerson"]);
    assert!(
        message.contains("registerPerson is not an operation that can be granted")
            && message.contains("identifyPerson, updateBisIdentity, searchPersonByPhoneticCriteria, createBisNumber"),
        "{message}"
    );
    let message = refused(&["grant", "--cbe", &a, "--operation", "identifyperson"]);
    assert!(message.contains("identifyperson"), "{message}");
    // Not granted: nothing to revoke.
    let b = org_b().cbe;
    let message = refused(&[
        "grant",
        "--cbe",
        &b,
        "--operation",
        "updateBisIdentity",
        "--revoke",
    ]);
    assert!(
        message.contains("is not granted updateBisIdentity"),
        "{message}"
    );
    // Unknown or invalid organisations.
    let message = refused(&[
        "grant",
        "--cbe",
        "0456973433",
        "--operation",
        "identifyPerson",
    ]);
    assert!(message.contains("0456973433"), "{message}");
    let message = refused(&["grants", "--cbe", "0456973434"]);
    assert!(message.contains("0456973434"), "{message}");
}

fn a_caller_acts_only_for_its_own_organisation(backend: Backend) {
    let (app, n) = start(backend);
    let answer = app
        .call_ident(&IdentRequest::identify(&org_a(), &n.rn).with(|r| r.cbe(&org_b().cbe)))
        .fault("NOT_ALLOWED");
    assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
    let update = IdentRequest::update_bis(&org_a(), &n.bis_40, "<p:lastName>Nowak</p:lastName>");
    app.call_ident(&update.with(|r| r.cbe(&org_b().cbe)))
        .fault("NOT_ALLOWED");
    let answer = app
        .call_ident(&IdentRequest::identify(&org_a(), &n.rn).with(|r| r.security(Security::None)))
        .fault("NOT_AUTHENTICATED");
    assert!(answer.fault_fields().is_empty());
    let still = identify(&app, &n.bis_40).ok();
    assert!(person(&still).contains(&("lastName".into(), "Kowalski".into())));
}

fn updates_a_bis_identity(backend: Backend) {
    let (app, n) = start(backend);
    let changes = "<p:lastName>Kowalska</p:lastName><p:firstName>Piotr</p:firstName>\
                   <p:firstName>Jan</p:firstName><p:birthPlace>Kraków</p:birthPlace>\
                   <p:address><p:street>Rue Haute</p:street><p:houseNumber>5</p:houseNumber>\
                   <p:postalCode>1000</p:postalCode><p:municipality>Bruxelles</p:municipality>\
                   <p:country>BE</p:country></p:address>";
    let version_before = version(&app, &n.bis_40);
    let journal_before = history(&app, &n.bis_40);
    let update = IdentRequest::update_bis(&org_a(), &n.bis_40, changes);
    let answer = app.call_ident(&update).ok();
    assert_eq!(
        (answer.status(), answer.status_code()),
        ("OK".into(), "MSG00000".into())
    );
    assert_eq!(
        changed(&answer),
        ["lastName", "firstName", "birthPlace", "address"]
    );
    // Journaled once, with the values before and after, and the version counted up.
    let journal = history(&app, &n.bis_40);
    assert_eq!(journal[..journal_before.len()], journal_before[..]);
    assert_eq!(
        journal[journal_before.len()..],
        [(
            "IDENTITY_CHANGED".to_owned(),
            // Who changed it: the service, the caller and the ticket it was given.
            format!(
                "PersonIdentificationService:{}:{}",
                org_a().cbe,
                answer.server_ticket()
            ),
            change_list(&[
                ("lastName", Some("Kowalski"), Some("Kowalska")),
                ("firstName", Some("Piotr"), Some("Piotr Jan")),
                ("birthPlace", None, Some("Kraków")),
                (
                    "address",
                    Some("Kerkstraat 12, 9000 Gent, BE"),
                    Some("Rue Haute 5, 1000 Bruxelles, BE")
                ),
            ])
        )]
    );
    assert_eq!(version(&app, &n.bis_40), version_before + 1);
    let expected = pairs(&[
        ("ssin", &n.bis_40),
        ("status", "ACTIVE"),
        ("lastName", "Kowalska"),
        ("firstName", "Piotr"),
        ("firstName", "Jan"),
        ("birthDate", "1990-01-02"),
        ("gender", "M"),
        ("nationality", "BE"),
        ("birthPlace", "Kraków"),
        ("address/street", "Rue Haute"),
        ("address/houseNumber", "5"),
        ("address/postalCode", "1000"),
        ("address/municipality", "Bruxelles"),
        ("address/country", "BE"),
        ("register", "BIS"),
    ]);
    assert_eq!(person(&answer), expected);
    // Read back.
    assert_eq!(person(&identify(&app, &n.bis_40).ok()), expected);

    // A +20 number was attributed without gender: giving it one is an identity change.
    let answer = app
        .call_ident(&IdentRequest::update_bis(
            &org_a(),
            &n.bis_20,
            "<p:gender>F</p:gender><p:birthDate>1976-04-05</p:birthDate>",
        ))
        .ok();
    assert_eq!(changed(&answer), ["gender"]);
    assert!(person(&identify(&app, &n.bis_20).ok()).contains(&("gender".into(), "F".into())));
    let changes: Vec<serde_json::Value> = history(&app, &n.bis_20)
        .into_iter()
        .filter(|(kind, _, _)| kind == "IDENTITY_CHANGED")
        .map(|(_, _, changes)| changes)
        .collect();
    assert_eq!(changes, [change_list(&[("gender", None, Some("F"))])]);
}

fn the_same_update_twice_changes_once(backend: Backend) {
    let (app, n) = start(backend);
    let update =
        IdentRequest::update_bis(&org_a(), &n.bis_20, "<p:lastName>Nowakowska</p:lastName>");
    let version_before = version(&app, &n.bis_20);
    let journal_before = history(&app, &n.bis_20);
    let first = app.call_ident(&update).ok();
    let journal_after_first = history(&app, &n.bis_20);
    let second = app
        .call_ident(&IdentRequest::update_bis(
            &org_a(),
            &n.bis_20,
            "<p:lastName>Nowakowska</p:lastName>",
        ))
        .ok();
    assert_eq!(changed(&first), ["lastName"]);
    // One journal entry and one version more after the first; nothing after the second.
    assert_eq!(journal_after_first.len(), journal_before.len() + 1);
    let (kind, _, changes) = &journal_after_first[journal_before.len()];
    assert_eq!(kind, "IDENTITY_CHANGED");
    assert_eq!(
        *changes,
        change_list(&[("lastName", Some("Nowak"), Some("Nowakowska"))])
    );
    assert_eq!(history(&app, &n.bis_20), journal_after_first);
    assert_eq!(version(&app, &n.bis_20), version_before + 1);
    assert!(changed(&second).is_empty(), "{}", second.body);
    assert_eq!(second.status(), "OK");
    assert_eq!(person(&first), person(&second));
    assert_eq!(person(&identify(&app, &n.bis_20).ok()), person(&first));
    // Both calls are recorded, as successes (beside the history reads of this test).
    let audit = app.audit(Some(&n.bis_20));
    let outcomes: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e["service"] == SERVICE)
        .map(|e| {
            (
                e["operation"].as_str().unwrap_or_default(),
                e["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("identifyPerson", "OK"),
            ("updateBisIdentity", "OK"),
            ("updateBisIdentity", "OK")
        ]
    );
}

fn updates_are_refused_for_rn_and_replaced_numbers(backend: Backend) {
    let (app, n) = start(backend);
    let change = "<p:lastName>Janssens</p:lastName>";
    let answer = app
        .call_ident(&IdentRequest::update_bis(&org_a(), &n.rn, change))
        .fault("NOT_A_BIS_NUMBER");
    assert_eq!(answer.fault_fields(), fields(&[("ssin", &n.rn)]));
    for replaced in [&n.chain_a, &n.chain_b] {
        let answer = app
            .call_ident(&IdentRequest::update_bis(&org_a(), replaced, change))
            .fault("SSIN_REPLACED");
        assert_eq!(
            answer.fault_fields(),
            fields(&[("ssin", replaced), ("replacedBy", &n.chain_c)])
        );
    }
    // Nothing changed.
    let shown = person(&identify(&app, &n.chain_a).ok());
    assert!(shown.contains(&("lastName".into(), "Lewandowska".into())));
    let shown = person(&identify(&app, &n.rn).ok());
    assert!(shown.contains(&("lastName".into(), "D'Hondt".into())));
}

/// The (fieldName, fieldValue) pairs a fault must name.
type FieldPairs<'a> = &'a [(&'a str, &'a str)];

fn invalid_changes_are_refused_naming_the_field(backend: Backend) {
    let (app, n) = start(backend);
    let cases: [(&str, &str, FieldPairs); 7] = [
        (
            "<p:address><p:street>Kerkstraat</p:street><p:houseNumber>1</p:houseNumber>\
             <p:postalCode>9000</p:postalCode><p:municipality>Gent</p:municipality>\
             <p:country>Belgium</p:country></p:address>",
            "INVALID_FIELD",
            &[("changes/address/country", "Belgium")],
        ),
        (
            "<p:address><p:street>Kerkstraat</p:street></p:address>",
            "INVALID_FIELD",
            &[("changes/address/houseNumber", "")],
        ),
        (
            "<p:lastName>Robert'); DROP</p:lastName>",
            "INVALID_FIELD",
            &[("changes/lastName", "Robert'); DROP")],
        ),
        (
            "<p:birthDate>1990-13-02</p:birthDate>",
            "INVALID_DATE",
            &[("changes/birthDate", "1990-13-02")],
        ),
        (
            "<p:lastName>Nowak</p:lastName><p:lastname>x</p:lastname>",
            "INVALID_FIELD",
            &[("changes/lastname", "")],
        ),
        ("", "INVALID_FIELD", &[("changes", "")]),
        // A +40 number carries its gender and birth date.
        (
            "<p:gender>F</p:gender><p:birthDate>1990-02-01</p:birthDate>",
            "IDENTITY_MISMATCH",
            &[("changes/gender", "F"), ("changes/birthDate", "1990-02-01")],
        ),
    ];
    for (changes, reason, expected) in cases {
        let answer = app
            .call_ident(&IdentRequest::update_bis(&org_a(), &n.bis_40, changes))
            .fault(reason);
        assert_eq!(answer.fault_fields(), fields(expected), "{changes}");
    }
    let mut missing = IdentRequest::update_bis(&org_a(), &n.bis_40, "");
    missing.changes = None;
    let answer = app.call_ident(&missing).fault("MALFORMED_REQUEST");
    assert_eq!(answer.fault_fields(), fields(&[("changes", "")]));

    // Nothing was changed; the +40 number still identifies as before.
    let shown = person(&identify(&app, &n.bis_40).ok());
    assert!(shown.contains(&("lastName".into(), "Kowalski".into())));
    assert!(shown.contains(&("birthDate".into(), "1990-01-02".into())));
}

/// Every call leaves one entry: service, operation, the number, legal context, both tickets
/// and the outcome, refusals included.
fn every_call_is_audited(backend: Backend) {
    let (app, n) = start(backend);
    let (a, b) = (org_a(), org_b());
    let unknown = niss("600101", 201, false);
    let requests = [
        (IdentRequest::identify(&a, &n.rn), "OK"),
        (IdentRequest::identify(&a, &n.chain_a), "OK"),
        (IdentRequest::identify(&a, &unknown), "SSIN_UNKNOWN"),
        (IdentRequest::identify(&b, &n.rn), "OPERATION_NOT_GRANTED"),
        (
            IdentRequest::identify(&a, &n.rn).with(|r| r.cbe(&b.cbe)),
            "NOT_ALLOWED",
        ),
        (
            IdentRequest::identify(&a, &n.rn).with(|r| r.legal_context(None)),
            "MALFORMED_REQUEST",
        ),
        (
            IdentRequest::identify(&a, &n.rn).with(|r| r.security(Security::None)),
            "NOT_AUTHENTICATED",
        ),
        (
            IdentRequest::update_bis(&a, &n.bis_40, "<p:lastName>Nowak</p:lastName>"),
            "OK",
        ),
        (
            IdentRequest::update_bis(&a, &n.rn, "<p:lastName>Nowak</p:lastName>"),
            "NOT_A_BIS_NUMBER",
        ),
        (
            IdentRequest::update_bis(&a, &n.chain_b, "<p:lastName>Nowak</p:lastName>"),
            "SSIN_REPLACED",
        ),
        (
            IdentRequest::update_bis(&a, &n.bis_40, "<p:gender>F</p:gender>"),
            "IDENTITY_MISMATCH",
        ),
        (
            IdentRequest::update_bis(&a, &n.bis_40, "<p:lastName>1</p:lastName>"),
            "INVALID_FIELD",
        ),
        (
            IdentRequest::update_bis(&b, &n.bis_40, "<p:lastName>Nowak</p:lastName>"),
            "OPERATION_NOT_GRANTED",
        ),
    ];
    let before = app.audit(None).len();
    let mut expected = Vec::new();
    for (ident, outcome) in &requests {
        let answer = app.call_ident(ident);
        let request = &ident.request;
        let got = answer.reason_code().unwrap_or_else(|| "OK".into());
        assert_eq!(&got, outcome, "{}", answer.body);
        // A request refused on its fields before its security header is read names nobody.
        let username = match &request.security {
            Security::Text { username, .. } | Security::Digest { username, .. }
                if *outcome != "MALFORMED_REQUEST" =>
            {
                Some(username.clone())
            }
            _ => None,
        };
        expected.push(serde_json::json!({
            "service": SERVICE,
            "operation": request.operation,
            "claimedCbeNumber": request.cbe,
            "username": username,
            "ssin": request.ssin,
            "target": null,
            "legalContext": request.legal_context,
            "clientTicket": request.ticket,
            "serverTicket": answer.server_ticket(),
            "outcome": outcome,
        }));
    }
    let mut entries = app.audit(None);
    entries.truncate(entries.len() - before);
    entries.reverse();
    let entries: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|mut e| {
            let e = e.as_object_mut().expect("an object");
            e.remove("recordedAt");
            e.remove("organisationId");
            serde_json::Value::Object(e.clone())
        })
        .collect();
    assert_eq!(entries, expected);
}

backend_tests!(
    identifies_a_person_with_all_fields,
    identifies_incomplete_birth_dates_and_bis_numbers,
    a_replaced_number_is_shown_canceled_with_the_final_number,
    unknown_and_invalid_numbers_are_refused,
    a_legal_context_is_required,
    operations_need_a_grant,
    the_grant_commands_refuse_what_cannot_be_granted,
    a_caller_acts_only_for_its_own_organisation,
    updates_a_bis_identity,
    the_same_update_twice_changes_once,
    updates_are_refused_for_rn_and_replaced_numbers,
    invalid_changes_are_refused_naming_the_field,
    every_call_is_audited,
);
