//! createBisNumber of PersonIdentificationService, through the real `raas serve` on both
//! backends: the number attributed (+40 with the gender and its serial parity, +20 without,
//! incomplete dates, the century of the check digits, a full group continuing in the next
//! one, the whole chain exhausted), likely existing persons answered instead, `force` and
//! its audit entry, the new person found by the very next search and identification, the
//! refusals, and concurrent creations on two processes sharing one database.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::process::{Child, Stdio};

use common::soap::{IdentRequest, IDENT_PERSON_NS};
use common::{niss, org_a, org_b, Answer, Backend, Org, TestApp, NISS_1};

/// An identity as the request's `person` (Person.xsd's IdentityGroup) says it.
#[derive(Clone, Debug)]
struct Identity {
    last_name: String,
    first_names: Vec<String>,
    birth_date: String,
    gender: Option<&'static str>,
}

fn identity(
    last_name: &str,
    first_names: &[&str],
    birth_date: &str,
    gender: Option<&'static str>,
) -> Identity {
    Identity {
        last_name: last_name.into(),
        first_names: first_names.iter().map(|s| s.to_string()).collect(),
        birth_date: birth_date.into(),
        gender,
    }
}

impl Identity {
    fn xml(&self) -> String {
        let mut xml = format!("<p:lastName>{}</p:lastName>", self.last_name);
        for name in &self.first_names {
            xml += &format!("<p:firstName>{name}</p:firstName>");
        }
        xml += &format!("<p:birthDate>{}</p:birthDate>", self.birth_date);
        if let Some(gender) = self.gender {
            xml += &format!("<p:gender>{gender}</p:gender>");
        }
        xml
    }
}

/// The frame of a PersonIdentificationService request (informationCustomer, legalContext)
/// for `operation`, with `content` added to its body element.
fn ident_envelope(org: &Org, operation: &'static str, content: &str) -> String {
    let mut request = IdentRequest::identify(org, NISS_1);
    request.request.operation = operation;
    request.request.ssin = None;
    let end = format!("</reg:{operation}Request>");
    request
        .to_xml()
        .replacen(&end, &format!("{content}{end}"), 1)
}

/// A createBisNumber request: the identity's elements (raw, prefix `p`) and `force` as sent.
fn create_xml(org: &Org, person: &str, force: Option<&str>) -> String {
    let force = force
        .map(|f| format!("<reg:force>{f}</reg:force>"))
        .unwrap_or_default();
    ident_envelope(
        org,
        "createBisNumber",
        &format!(r#"<reg:person xmlns:p="{IDENT_PERSON_NS}">{person}</reg:person>{force}"#),
    )
}

fn create(app: &TestApp, who: &Identity, force: bool) -> Answer {
    app.post_ident(create_xml(&org_a(), &who.xml(), force.then_some("true")))
}

/// Creates and expects a new number: gives it.
#[track_caller]
fn created(app: &TestApp, who: &Identity) -> String {
    new_number(&create(app, who, false))
}

/// The number of a `newPerson` answer (status OK).
#[track_caller]
fn new_number(answer: &Answer) -> String {
    assert_eq!(answer.http_status, 200, "{}", answer.body);
    assert_eq!(answer.status(), "OK", "{}", answer.body);
    assert!(
        answer.body.contains("createBisNumberResponse"),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.text(&["newPerson", "register"]).as_deref(),
        Some("BIS"),
        "{}",
        answer.body
    );
    answer
        .text(&["newPerson", "ssin"])
        .unwrap_or_else(|| panic!("no new number in {}", answer.body))
}

/// The candidates' numbers of an `existingPersons` answer (status DATA_FOUND).
#[track_caller]
fn existing(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.http_status, 200, "{}", answer.body);
    assert_eq!(answer.status(), "DATA_FOUND", "{}", answer.body);
    assert!(answer.text(&["newPerson", "ssin"]).is_none());
    answer
        .doc()
        .all("existingPersons")
        .iter()
        .flat_map(|e| e.all("candidate"))
        .map(|c| c.text_at(&["person", "ssin"]).unwrap_or_default())
        .collect()
}

/// A searchPersonByPhoneticCriteria request as org A: `criteria`'s elements, raw.
fn search(app: &TestApp, criteria: &str) -> Answer {
    app.post_ident(ident_envelope(
        &org_a(),
        "searchPersonByPhoneticCriteria",
        &format!("<reg:criteria>{criteria}</reg:criteria>"),
    ))
}

/// The `YYMMDD` group, serial and check digits of a number, after checking the check digits
/// follow the century rule for a birth in the 2000s or not.
#[track_caller]
fn parts(number: &str, born_2000s: bool) -> (String, u32) {
    assert_eq!(number.len(), 11, "{number}");
    let serial: u32 = number[6..9].parse().expect("digits");
    assert_eq!(
        niss(&number[..6], serial, born_2000s),
        number,
        "{number}: check digits of a birth in the {}",
        if born_2000s { "2000s" } else { "1900s" }
    );
    (number[..6].to_string(), serial)
}

fn count(app: &TestApp, sql_from: &str) -> i64 {
    common::db::query_i64(
        app.database_url(),
        &format!("SELECT CAST(COUNT(*) AS TEXT) AS value FROM {sql_from}"),
    )
}

fn persons(app: &TestApp) -> i64 {
    count(app, "persons")
}

/// The journal of a number (`raas admin history`): (kind, source) of each entry.
fn history(app: &TestApp, ssin: &str) -> Vec<(String, String)> {
    app.admin(&["history", "--ssin", ssin], "")
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            (
                entry["kind"].as_str().unwrap_or_default().to_owned(),
                entry["source"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The createBisNumber entries of the audit trail about `ssin`: (outcome, server ticket).
fn audited(app: &TestApp, ssin: &str) -> Vec<(String, String)> {
    app.audit(Some(ssin))
        .iter()
        .filter(|e| e["operation"] == "createBisNumber")
        .map(|e| {
            (
                e["outcome"].as_str().unwrap_or_default().to_owned(),
                e["serverTicket"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A server (standard persons known) where org A may create numbers, search and identify.
fn start(backend: Backend) -> TestApp {
    let app = TestApp::start(backend);
    for operation in [
        "createBisNumber",
        "searchPersonByPhoneticCriteria",
        "identifyPerson",
    ] {
        app.grant(&org_a().cbe, operation);
    }
    app
}

fn numbers_follow_gender_and_birth_date(backend: Backend) {
    let app = start(backend);
    // Known gender: month + 40, odd serials for men, even for women.
    let woman = created(
        &app,
        &identity("Kowalczyk", &["Zofia"], "1990-03-04", Some("F")),
    );
    assert_eq!(parts(&woman, false), ("904304".into(), 2));
    let man = created(
        &app,
        &identity("Nguyen", &["Van", "Minh"], "1988-11-23", Some("M")),
    );
    assert_eq!(parts(&man, false), ("885123".into(), 1));
    // A second woman of the same day takes the next even serial.
    let other = created(
        &app,
        &identity("Achterberg", &["Ilse"], "1990-03-04", Some("F")),
    );
    assert_eq!(parts(&other, false), ("904304".into(), 4));
    // Unknown gender: month + 20, any serial.
    let unknown = created(&app, &identity("Okafor", &["Chidi"], "1979-06-15", None));
    assert_eq!(parts(&unknown, false), ("792615".into(), 1));
    let unknown_2 = created(&app, &identity("Haddouchi", &["Nour"], "1979-06-15", None));
    assert_eq!(parts(&unknown_2, false), ("792615".into(), 2));
    // Incomplete dates: day 00, month and day 00.
    let month_only = created(
        &app,
        &identity("Haddad", &["Samir"], "1983-05-00", Some("M")),
    );
    assert_eq!(parts(&month_only, false), ("834500".into(), 1));
    let year_only = created(
        &app,
        &identity("Ivanova", &["Olga"], "1970-00-00", Some("F")),
    );
    assert_eq!(parts(&year_only, false), ("704000".into(), 2));
    let year_only_20 = created(&app, &identity("Mbeki", &["Thabo"], "1970-00-00", None));
    assert_eq!(parts(&year_only_20, false), ("702000".into(), 1));
    // Born in the 2000s: the check digits of `2` + the nine digits.
    let young = created(
        &app,
        &identity("Rossi", &["Giulia"], "2003-02-14", Some("F")),
    );
    assert_eq!(parts(&young, true), ("034214".into(), 2));
    // An entirely unknown birth date: the fictitious groups.
    let nobody_knows = created(&app, &identity("Sadiki", &["Amani"], "0000-00-00", None));
    assert_eq!(parts(&nobody_knows, false).0, "002001");
    let nobody_knows_m = created(
        &app,
        &identity("Tshibanda", &["Yves"], "0000-00-00", Some("M")),
    );
    assert_eq!(parts(&nobody_knows_m, false), ("004001".into(), 1));

    // Each number reads back, through the public checker, as valid with the kind, gender
    // and birth date it was attributed for.
    let null = serde_json::Value::Null;
    let expected = [
        (&woman, "TER", "F".into(), "1990-03-04".into()),
        (&man, "TER", "M".into(), "1988-11-23".into()),
        (&unknown, "BIS", null.clone(), "1979-06-15".into()),
        (&month_only, "TER", "M".into(), "1983-05-00".into()),
        (&year_only, "TER", "F".into(), "1970-00-00".into()),
        (&year_only_20, "BIS", null.clone(), "1970-00-00".into()),
        (&young, "TER", "F".into(), "2003-02-14".into()),
        (&nobody_knows, "BIS", null.clone(), null.clone()),
        (&nobody_knows_m, "TER", "M".into(), null),
    ];
    for (number, kind, gender, birth_date) in expected {
        let output = app.run(&["niss", "check", number], "");
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        let read: serde_json::Value = serde_json::from_str(&text).expect("one JSON line");
        assert_eq!(read["valid"], true, "{text}");
        assert_eq!(read["kind"], kind, "{text}");
        assert_eq!(read["gender"], gender, "{text}");
        assert_eq!(read["birthDate"], birth_date, "{text}");
    }
}

fn the_new_person_is_stored_journaled_audited_and_found(backend: Backend) {
    let app = start(backend);
    let before = persons(&app);
    let who = identity(
        "Wiśniewska",
        &["Agnieszka", "Maria"],
        "1977-09-12",
        Some("F"),
    );
    let answer = create(&app, &who, false);
    let number = new_number(&answer);
    let ticket = answer.server_ticket();
    assert_eq!(persons(&app), before + 1);
    // The answer's person: the identity as sent, active.
    for (path, value) in [
        (vec!["newPerson", "lastName"], "Wiśniewska"),
        (vec!["newPerson", "birthDate"], "1977-09-12"),
        (vec!["newPerson", "gender"], "F"),
        (vec!["newPerson", "status"], "ACTIVE"),
    ] {
        assert_eq!(
            answer.text(&path).as_deref(),
            Some(value),
            "{}",
            answer.body
        );
    }
    // Journaled once, as a new person, naming the organisation and the call.
    assert_eq!(
        history(&app, &number),
        [(
            "PERSON_CREATED".to_string(),
            format!("PersonIdentificationService:{}:{ticket}", org_a().cbe)
        )]
    );
    assert_eq!(audited(&app, &number), [("OK".to_string(), ticket)]);
    // The very next identification and search find it.
    let identified = app
        .call_ident(&IdentRequest::identify(&org_a(), &number))
        .ok();
    assert_eq!(
        identified.text(&["person", "lastName"]).as_deref(),
        Some("Wiśniewska")
    );
    assert_eq!(
        identified.text(&["person", "firstName"]).as_deref(),
        Some("Agnieszka")
    );
    let found = search(
        &app,
        "<reg:lastName>Wisniewska</reg:lastName><reg:firstName>Agnieszka</reg:firstName>\
         <reg:birthDate>1977-09-12</reg:birthDate>",
    )
    .ok();
    assert_eq!(found.status(), "DATA_FOUND", "{}", found.body);
    assert_eq!(
        found.text(&["candidate", "person", "ssin"]).as_deref(),
        Some(number.as_str())
    );
    // The same identity again: the person now exists, nothing more is created.
    let again = create(&app, &who, false);
    assert_eq!(existing(&again), [number]);
    assert_eq!(persons(&app), before + 1);
}

fn likely_existing_persons_are_answered_unless_forced(backend: Backend) {
    let app = start(backend);
    let before = persons(&app);
    let journal = count(&app, "mutation_journal");
    // NISS_1 is Van den Berghe, Jan Pieter, born 1985-07-30, a man: asked joined, first
    // name only.
    let twin = identity("Vandenberghe", &["Jan"], "1985-07-30", Some("M"));
    let answer = create(&app, &twin, false);
    assert_eq!(existing(&answer), [NISS_1.to_string()]);
    assert!(
        answer.text(&["candidate", "score"]).is_some(),
        "{}",
        answer.body
    );
    assert_eq!(persons(&app), before, "nothing created");
    assert_eq!(
        count(&app, "mutation_journal"),
        journal,
        "nothing journaled"
    );
    // The candidate answered is audited as a read of its number.
    let ticket = answer.server_ticket();
    assert_eq!(audited(&app, NISS_1), [("OK".to_string(), ticket)]);

    // Forced: a new number all the same, recorded as such.
    let forced = create(&app, &twin, true);
    let number = new_number(&forced);
    assert_eq!(parts(&number, false), ("854730".into(), 1));
    assert_eq!(persons(&app), before + 1);
    assert_eq!(
        audited(&app, &number),
        [("FORCED".to_string(), forced.server_ticket())]
    );
    // force false is no force.
    let not_forced = app.post_ident(create_xml(&org_a(), &twin.xml(), Some("false")));
    let found: HashSet<String> = existing(&not_forced).into_iter().collect();
    assert_eq!(found, HashSet::from([NISS_1.to_string(), number]));
    assert_eq!(persons(&app), before + 1);
}

fn refusals_name_their_field_and_create_nothing(backend: Backend) {
    let app = start(backend);
    let before = persons(&app);
    let fine = identity("Lambrechts", &["Els"], "1966-10-10", Some("F")).xml();
    // Org B is not granted the operation (org A is, see `start`).
    let answer = app
        .post_ident(create_xml(&org_b(), &fine, None))
        .fault("OPERATION_NOT_GRANTED");
    assert!(answer
        .fault_fields()
        .contains(&("operation".into(), "createBisNumber".into())));
    let cases: Vec<(String, &str, &str)> = vec![
        (
            fine.replace("1966-10-10", "2999-01-01"),
            "INVALID_DATE",
            "person/birthDate",
        ),
        (
            fine.replace("1966-10-10", "1850-03-00"),
            "INVALID_DATE",
            "person/birthDate",
        ),
        (
            fine.replace("1966-10-10", "1966-13-01"),
            "INVALID_DATE",
            "person/birthDate",
        ),
        (
            fine.replace("<p:gender>F</p:gender>", "<p:gender>X</p:gender>"),
            "INVALID_FIELD",
            "person/gender",
        ),
        (
            fine.replace("Lambrechts", "--"),
            "INVALID_FIELD",
            "person/lastName",
        ),
        (
            fine.replace("<p:lastName>Lambrechts</p:lastName>", ""),
            "INVALID_FIELD",
            "person/lastName",
        ),
        (
            format!("{fine}<p:deceaseDate>1960-01-01</p:deceaseDate>"),
            "INVALID_DATE",
            "person/deceaseDate",
        ),
    ];
    for (person, reason, field) in cases {
        let answer = app
            .post_ident(create_xml(&org_a(), &person, None))
            .fault(reason);
        assert!(
            answer.fault_fields().iter().any(|(f, _)| f == field),
            "{field}: {}",
            answer.body
        );
    }
    let answer = app
        .post_ident(create_xml(&org_a(), &fine, Some("maybe")))
        .fault("INVALID_FIELD");
    assert!(answer
        .fault_fields()
        .contains(&("force".into(), "maybe".into())));
    assert_eq!(persons(&app), before);
    // Refusals are audited with their reason code.
    let outcomes: Vec<String> = app
        .audit(None)
        .iter()
        .filter(|e| e["operation"] == "createBisNumber")
        .map(|e| e["outcome"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        outcomes.contains(&"OPERATION_NOT_GRANTED".to_string()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&"INVALID_DATE".to_string()),
        "{outcomes:?}"
    );
}

/// A population file (Population.xsd) of `persons`: (number, birth date, gender).
fn population_file(app: &TestApp, name: &str, persons: &[(String, &str, &str)]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<population \
         xmlns=\"urn:be:raas:types:Population:v1\" xmlns:p=\"urn:be:raas:types:Person:v1\" \
         source=\"bis-creation-test\" createdAt=\"2026-11-21T10:00:00Z\">\n",
    );
    for (i, (ssin, birth_date, gender)) in persons.iter().enumerate() {
        xml += &format!(
            "<person><p:ssin>{ssin}</p:ssin><p:lastName>Vullers{}</p:lastName>\
             <p:firstName>Bram</p:firstName><p:birthDate>{birth_date}</p:birthDate>\
             <p:gender>{gender}</p:gender></person>\n",
            // Distinct names, none like the ones the test creates.
            letters(i)
        );
    }
    xml += "</population>\n";
    let path = app.path(name);
    std::fs::write(&path, xml).expect("the population file is written");
    path.to_str().expect("UTF-8 path").to_string()
}

/// `i` in letters (a, b, …, z, ba, bb, …).
fn letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

fn a_full_group_continues_in_the_next_and_the_chain_ends(backend: Backend) {
    let app = start(backend);
    // Every man's serial of 1961-08-09 (+40: group 614809) taken.
    let own: Vec<(String, &str, &str)> = (1..=997)
        .step_by(2)
        .map(|serial| (niss("614809", serial, false), "1961-08-09", "M"))
        .collect();
    let output = app.run(
        &["import", "persons", &population_file(&app, "own.xml", &own)],
        "",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(count(&app, "persons WHERE ssin LIKE '614809%'"), 499);
    let man = identity("Zeghers", &["Tibo"], "1961-08-09", Some("M"));
    let next = created(&app, &man);
    assert_eq!(
        parts(&next, false),
        ("614000".into(), 1),
        "the year's counter group"
    );
    let woman = identity("Moerman", &["Lotte"], "1961-08-09", Some("F"));
    assert_eq!(parts(&created(&app, &woman), false), ("614809".into(), 2));

    // Every man's serial of the year's counter groups 614000 to 614099 taken too.
    let rest: Vec<(String, &str, &str)> = (0..=99)
        .flat_map(|day| (1..=997).step_by(2).map(move |serial| (day, serial)))
        .map(|(day, serial)| {
            (
                niss(&format!("6140{day:02}"), serial, false),
                "1961-00-00",
                "M",
            )
        })
        .filter(|(ssin, _, _)| *ssin != next)
        .collect();
    let output = app.run(
        &[
            "import",
            "persons",
            &population_file(&app, "rest.xml", &rest),
        ],
        "",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let before = persons(&app);
    let answer = create(
        &app,
        &identity("Desmedt", &["Wout"], "1961-08-09", Some("M")),
        true,
    )
    .fault("NUMBERS_EXHAUSTED");
    assert!(
        answer
            .fault_fields()
            .contains(&("person/birthDate".into(), "1961-08-09".into())),
        "{}",
        answer.body
    );
    assert_eq!(persons(&app), before);
    // Women of that day still have room.
    let another_woman = identity("Verlinden", &["Fien"], "1961-08-09", Some("F"));
    assert_eq!(
        parts(&created(&app, &another_woman), false),
        ("614809".into(), 4)
    );
}

/// A second `raas serve` on the application's database; killed by the caller.
fn second_server(app: &TestApp) -> (Child, std::io::BufReader<std::process::ChildStdout>, String) {
    let child = app
        .command()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db-connections",
            "4",
            "--workers",
            "2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("a second raas serve starts");
    common::app::listening(child, String::new)
}

fn concurrent_creations_on_two_processes_never_share_a_number(backend: Backend) {
    const CALLS: usize = 32;
    let app = start(backend);
    let (mut other, _stdout, other_url) = second_server(&app);
    let urls = [app.base_url().to_string(), other_url];
    let before = persons(&app);
    // 32 different women born on 2003-03-04 at once, half on each process; forced, so that
    // the search does not take them for one another.
    let numbers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLS)
            .map(|i| {
                let url = &urls[i % 2];
                scope.spawn(move || {
                    let who = identity(
                        &format!("Janssens{}", letters(i * 7 + 3)),
                        &["Noor"],
                        "2003-03-04",
                        Some("F"),
                    );
                    let client = reqwest::blocking::Client::builder()
                        .no_proxy()
                        .build()
                        .expect("a client");
                    let response = client
                        .post(format!("{url}{}", common::soap::IDENT_PATH))
                        .header("Content-Type", "text/xml; charset=utf-8")
                        .header("SOAPAction", "\"\"")
                        .body(create_xml(&org_a(), &who.xml(), Some("true")))
                        .send()
                        .expect("the server answers");
                    new_number(&common::app::answer_of(response))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a caller"))
            .collect()
    });
    let distinct: HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), CALLS, "{numbers:?}");
    let mut serials: Vec<u32> = numbers
        .iter()
        .map(|n| {
            let (group, serial) = parts(n, true);
            assert_eq!(group, "034304", "{n}");
            assert_eq!(serial % 2, 0, "{n}: a woman's serial");
            serial
        })
        .collect();
    serials.sort_unstable();
    assert_eq!(
        serials,
        (1..=CALLS as u32).map(|i| 2 * i).collect::<Vec<_>>()
    );
    assert_eq!(persons(&app), before + CALLS as i64);
    assert_eq!(
        count(
            &app,
            "mutation_journal WHERE kind = 'PERSON_CREATED' AND ssin LIKE '034304%'"
        ),
        CALLS as i64
    );

    // 8 calls for one same new person at once, unforced: one number, the others answered it.
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let url = &urls[i % 2];
                scope.spawn(move || {
                    let who = identity("Ouedraogo", &["Salif"], "1972-12-01", Some("M"));
                    let client = reqwest::blocking::Client::builder()
                        .no_proxy()
                        .build()
                        .expect("a client");
                    let response = client
                        .post(format!("{url}{}", common::soap::IDENT_PATH))
                        .header("Content-Type", "text/xml; charset=utf-8")
                        .header("SOAPAction", "\"\"")
                        .body(create_xml(&org_a(), &who.xml(), None))
                        .send()
                        .expect("the server answers");
                    common::app::answer_of(response)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a caller"))
            .collect()
    });
    let created: Vec<String> = answers
        .iter()
        .filter(|a| a.status() == "OK")
        .map(new_number)
        .collect();
    assert_eq!(created.len(), 1, "exactly one creation");
    for answer in answers.iter().filter(|a| a.status() != "OK") {
        assert_eq!(existing(answer), created);
    }
    assert_eq!(count(&app, "persons WHERE last_name = 'Ouedraogo'"), 1);
    let _ = other.kill();
    let _ = other.wait();
}

backend_tests!(
    numbers_follow_gender_and_birth_date,
    the_new_person_is_stored_journaled_audited_and_found,
    likely_existing_persons_are_answered_unless_forced,
    refusals_name_their_field_and_create_nothing,
    a_full_group_continues_in_the_next_and_the_chain_ends,
    concurrent_creations_on_two_processes_never_share_a_number,
);
