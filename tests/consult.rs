//! consultRegister and listDossierTypes.

#[macro_use]
mod common;

use common::{fields, org_a, Backend, Org, Request, TestApp, NISS_1, NISS_2};

fn register(app: &TestApp, dossier_type: &str, period: &str) {
    app.call(&Request::register(&org_a(), NISS_1, dossier_type, period))
        .ok();
}

/// NISS_1 has EMPLOYEE Jan 2024, Mar 2024 and from June 2024 (open), BENEFICIARY 2023,
/// registered out of order.
fn app_with_lines(backend: Backend) -> TestApp {
    let app = TestApp::start(backend);
    register(&app, "EMPLOYEE", "2024-06-01..");
    register(&app, "BENEFICIARY", "2023-01-01..2023-12-31");
    register(&app, "EMPLOYEE", "2024-03-01..2024-03-31");
    register(&app, "EMPLOYEE", "2024-01-01..2024-01-31");
    app
}

const BENEFICIARY_2023: &str = "BENEFICIARY 2023-01-01..2023-12-31";
const EMPLOYEE_JAN: &str = "EMPLOYEE 2024-01-01..2024-01-31";
const EMPLOYEE_MAR: &str = "EMPLOYEE 2024-03-01..2024-03-31";
const EMPLOYEE_OPEN: &str = "EMPLOYEE 2024-06-01..";

/// Consults and returns (status value, status code, lines).
fn consult(app: &TestApp, request: Request) -> (String, String, Vec<String>) {
    let answer = app.call(&request).ok();
    assert_eq!(
        answer.text(&["consultRegisterResponse", "ssin"]).as_deref(),
        request.ssin.as_deref()
    );
    (answer.status(), answer.status_code(), answer.lines())
}

fn found(lines: &[&str]) -> (String, String, Vec<String>) {
    let lines = lines.iter().map(|l| l.to_string()).collect();
    ("DATA_FOUND".into(), "MSG00000".into(), lines)
}

fn not_found() -> (String, String, Vec<String>) {
    ("NO_DATA_FOUND".into(), "MSG00001".into(), Vec::new())
}

fn consult_lists_all_types_sorted_by_type_then_begin(backend: Backend) {
    let app = app_with_lines(backend);
    assert_eq!(
        consult(&app, Request::consult(&org_a(), NISS_1)),
        found(&[BENEFICIARY_2023, EMPLOYEE_JAN, EMPLOYEE_MAR, EMPLOYEE_OPEN])
    );
}

fn consult_filters_by_dossier_type(backend: Backend) {
    let app = app_with_lines(backend);
    let by_type = |code: &str| consult(&app, Request::consult(&org_a(), NISS_1).dossier_type(code));
    assert_eq!(
        by_type("EMPLOYEE"),
        found(&[EMPLOYEE_JAN, EMPLOYEE_MAR, EMPLOYEE_OPEN])
    );
    assert_eq!(by_type("BENEFICIARY"), found(&[BENEFICIARY_2023]));
    // A type of the organisation without lines for this person.
    app.add_dossier_type(&org_a().cbe, "PROVISIONAL", None);
    assert_eq!(by_type("PROVISIONAL"), not_found());
}

fn consult_filters_by_overlapping_period(backend: Backend) {
    let app = app_with_lines(backend);
    let during = |period: &str| consult(&app, Request::consult(&org_a(), NISS_1).period(period));
    // Touching a line on its last or first day is overlapping it.
    assert_eq!(
        during("2024-01-31..2024-03-01"),
        found(&[EMPLOYEE_JAN, EMPLOYEE_MAR])
    );
    assert_eq!(during("2020-01-01..2023-01-01"), found(&[BENEFICIARY_2023]));
    assert_eq!(during("2024-02-01..2024-02-29"), not_found());
    // An open line overlaps any later period; an open period any later line.
    assert_eq!(during("2030-01-01..2030-12-31"), found(&[EMPLOYEE_OPEN]));
    assert_eq!(during("2024-04-01.."), found(&[EMPLOYEE_OPEN]));
    assert_eq!(
        during("2023-12-31.."),
        found(&[BENEFICIARY_2023, EMPLOYEE_JAN, EMPLOYEE_MAR, EMPLOYEE_OPEN])
    );
    assert_eq!(during("2024-05-31..2024-05-31"), not_found());
    assert_eq!(during("2024-06-01..2024-06-01"), found(&[EMPLOYEE_OPEN]));
    // Both filters at once.
    assert_eq!(
        consult(
            &app,
            Request::consult(&org_a(), NISS_1)
                .dossier_type("EMPLOYEE")
                .period("2023-06-01..2024-03-15")
        ),
        found(&[EMPLOYEE_JAN, EMPLOYEE_MAR])
    );
}

fn consulting_an_unknown_person_finds_no_data(backend: Backend) {
    let app = app_with_lines(backend);
    assert_eq!(
        consult(&app, Request::consult(&org_a(), NISS_2)),
        not_found()
    );
    assert_eq!(
        consult(
            &app,
            Request::consult(&org_a(), NISS_2).dossier_type("EMPLOYEE")
        ),
        not_found()
    );
}

fn consulting_an_undefined_dossier_type_is_refused(backend: Backend) {
    let app = app_with_lines(backend);
    let answer = app
        .call(&Request::consult(&org_a(), NISS_1).dossier_type("NOPE"))
        .fault("UNKNOWN_DOSSIER_TYPE");
    assert_eq!(answer.fault_fields(), fields(&[("dossierType", "NOPE")]));
}

/// listDossierTypes as (status value, [(code, description)]).
fn list_types(app: &TestApp, org: &Org) -> (String, Vec<(String, Option<String>)>) {
    let answer = app.call(&Request::list_dossier_types(org)).ok();
    let types = answer
        .doc()
        .all("dossierType")
        .into_iter()
        .map(|t| {
            (
                t.child_text("code").unwrap_or_default(),
                t.child_text("description"),
            )
        })
        .collect();
    (answer.status(), types)
}

fn types(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(code, description)| (code.to_string(), description.map(Into::into)))
        .collect()
}

fn list_dossier_types_gives_the_active_ones_sorted_with_descriptions(backend: Backend) {
    let app = TestApp::start(backend);
    let cbe = org_a().cbe;
    app.add_dossier_type(&cbe, "PROVISIONAL", None);
    app.add_dossier_type(&cbe, "ADVISOR", Some("Advisors"));
    app.add_dossier_type(&cbe, "STUDENT", Some("Students"));
    app.retire_dossier_type(&cbe, "ADVISOR");
    app.retire_dossier_type(&cbe, "STUDENT");
    assert_eq!(
        list_types(&app, &org_a()),
        (
            "DATA_FOUND".into(),
            types(&[
                ("BENEFICIARY", Some("Beneficiaries of an allowance")),
                ("EMPLOYEE", Some("Employees")),
                ("PROVISIONAL", None),
            ])
        )
    );
    // Another organisation sees its own types only.
    assert_eq!(
        list_types(&app, &common::org_b()).1,
        types(&[("EMPLOYEE", Some("Employees of B"))])
    );
    // Defining a retired type again brings it back, keeping its description.
    app.add_dossier_type(&cbe, "ADVISOR", None);
    assert_eq!(
        list_types(&app, &org_a()).1,
        types(&[
            ("ADVISOR", Some("Advisors")),
            ("BENEFICIARY", Some("Beneficiaries of an allowance")),
            ("EMPLOYEE", Some("Employees")),
            ("PROVISIONAL", None),
        ])
    );
}

fn list_dossier_types_of_an_organisation_without_types_finds_no_data(backend: Backend) {
    let app = TestApp::start(backend);
    let org_c = Org::new("0456973433", "Org C", "carol");
    app.add_org(&org_c);
    assert_eq!(
        list_types(&app, &org_c),
        ("NO_DATA_FOUND".into(), Vec::new())
    );
}

/// Codes sort by code point on every backend (a PostgreSQL database with a linguistic
/// collation would otherwise put `a-1` next to `A1`, and lower case among upper case).
fn dossier_types_sort_by_code_point(backend: Backend) {
    let app = TestApp::start(backend);
    let cbe = org_a().cbe;
    for code in ["intern", "A_2", "A1", "Z.9", "A-1", "a0"] {
        app.add_dossier_type(&cbe, code, None);
    }
    let codes: Vec<String> = list_types(&app, &org_a())
        .1
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    // By code point ('-' 0x2D < '1' 0x31 < '_' 0x5F; upper case 0x41-0x5A before lower case
    // 0x61-0x7A), written out by hand rather than sorted by the test.
    assert_eq!(
        codes,
        [
            "A-1",
            "A1",
            "A_2",
            "BENEFICIARY",
            "EMPLOYEE",
            "Z.9",
            "a0",
            "intern"
        ]
    );
    // And lines in a consultation follow the same order.
    for code in ["intern", "A_2", "A1", "EMPLOYEE"] {
        register(&app, code, "2024-01-01..2024-01-31");
    }
    let answer = app.call(&Request::consult(&org_a(), NISS_1)).ok();
    assert_eq!(
        answer.lines(),
        [
            "A1 2024-01-01..2024-01-31",
            "A_2 2024-01-01..2024-01-31",
            "EMPLOYEE 2024-01-01..2024-01-31",
            "intern 2024-01-01..2024-01-31",
        ]
    );
}

backend_tests!(
    consult_lists_all_types_sorted_by_type_then_begin,
    consult_filters_by_dossier_type,
    consult_filters_by_overlapping_period,
    consulting_an_unknown_person_finds_no_data,
    consulting_an_undefined_dossier_type_is_refused,
    list_dossier_types_gives_the_active_ones_sorted_with_descriptions,
    list_dossier_types_of_an_organisation_without_types_finds_no_data,
    dossier_types_sort_by_code_point,
);

/// The same on a database whose default collation is linguistic.
#[test]
fn dossier_types_sort_by_code_point_with_a_linguistic_collation() {
    if Backend::PostgresLinguistic.available() {
        dossier_types_sort_by_code_point(Backend::PostgresLinguistic);
    }
}
