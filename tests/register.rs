//! registerPerson and unregisterPerson: how periods merge and split, and what the answers say.

#[macro_use]
mod common;

use common::{org_a, Backend, Request, TestApp, NISS_1, NISS_2};

/// Registers and returns the lines the answer lists.
fn register(app: &TestApp, ssin: &str, dossier_type: &str, period: &str) -> Vec<String> {
    let answer = app
        .call(&Request::register(&org_a(), ssin, dossier_type, period))
        .ok();
    assert_eq!(answer.status(), "OK");
    assert_eq!(answer.status_code(), "MSG00000");
    answer.lines()
}

fn consult(app: &TestApp, ssin: &str) -> Vec<String> {
    app.call(&Request::consult(&org_a(), ssin)).ok().lines()
}

fn registers_a_new_line(backend: Backend) {
    let app = TestApp::start(backend);
    let request = Request::register(&org_a(), NISS_1, "EMPLOYEE", "2024-01-01..2024-06-30")
        .ticket("my-ref-0001");
    let answer = app.call(&request).ok();

    assert!(
        answer.content_type.starts_with("text/xml"),
        "{}",
        answer.content_type
    );
    assert_eq!(answer.status(), "OK");
    assert_eq!(answer.status_code(), "MSG00000");
    assert_eq!(
        answer.text(&["registerPersonResponse", "ssin"]).as_deref(),
        Some(NISS_1)
    );
    assert_eq!(answer.lines(), ["EMPLOYEE 2024-01-01..2024-06-30"]);
    // The caller's information comes back as sent.
    let customer = |path: &[&str]| answer.text(&[&["informationCustomer"], path].concat());
    assert_eq!(customer(&["ticket"]).as_deref(), Some("my-ref-0001"));
    assert_eq!(
        customer(&["timestampSent"]).as_deref(),
        Some(common::soap::TIMESTAMP_SENT)
    );
    assert_eq!(
        customer(&["customerIdentification", "cbeNumber"]).as_deref(),
        Some("0202239951")
    );
    // The server adds its own ticket, a UUID, and its timestamps.
    let server_ticket = answer.server_ticket();
    assert!(
        uuid::Uuid::parse_str(&server_ticket).is_ok(),
        "{server_ticket}"
    );
    for stamp in ["timestampReceive", "timestampReply"] {
        let value = answer
            .text(&["informationServer", stamp])
            .unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(&value).is_ok(),
            "{stamp}: {value}"
        );
    }

    assert_eq!(consult(&app, NISS_1), ["EMPLOYEE 2024-01-01..2024-06-30"]);
    // Another call gets another server ticket.
    let again = app.call(&request).ok();
    assert_ne!(again.server_ticket(), server_ticket);
}

fn merges_overlapping_periods(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-03-31");
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-03-01..2024-06-30"),
        ["EMPLOYEE 2024-01-01..2024-06-30"]
    );
    // A period inside a line changes nothing; one sticking out at the front extends it.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-02-01..2024-02-10"),
        ["EMPLOYEE 2024-01-01..2024-06-30"]
    );
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2023-12-15..2024-01-01"),
        ["EMPLOYEE 2023-12-15..2024-06-30"]
    );
    assert_eq!(consult(&app, NISS_1), ["EMPLOYEE 2023-12-15..2024-06-30"]);
}

fn merges_contiguous_periods(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-01-31");
    // end + 1 day = begin, across a month end and a leap day.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-02-01..2024-02-29"),
        ["EMPLOYEE 2024-01-01..2024-02-29"]
    );
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2023-12-01..2023-12-31"),
        ["EMPLOYEE 2023-12-01..2024-02-29"]
    );
    // A gap of one day keeps lines apart.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-03-02..2024-03-31"),
        [
            "EMPLOYEE 2023-12-01..2024-02-29",
            "EMPLOYEE 2024-03-02..2024-03-31"
        ]
    );
    // Filling the gap joins them.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-03-01..2024-03-01"),
        ["EMPLOYEE 2023-12-01..2024-03-31"]
    );
}

fn open_end_absorbs_later_periods(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-06-01..");
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2025-01-01..2025-12-31"),
        ["EMPLOYEE 2024-06-01.."]
    );
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-01-31"),
        ["EMPLOYEE 2024-01-01..2024-01-31", "EMPLOYEE 2024-06-01.."]
    );
    // A closed period running into the open line extends it backwards.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-03-01..2024-06-10"),
        ["EMPLOYEE 2024-01-01..2024-01-31", "EMPLOYEE 2024-03-01.."]
    );
    // An open period beginning before everything takes it all.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2023-01-01.."),
        ["EMPLOYEE 2023-01-01.."]
    );
    assert_eq!(consult(&app, NISS_1), ["EMPLOYEE 2023-01-01.."]);
}

fn disjoint_periods_stay_separate_sorted_by_begin(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-09-01..2024-09-30");
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-01-31");
    let lines = register(&app, NISS_1, "EMPLOYEE", "2024-05-01..2024-05-31");
    let expected = [
        "EMPLOYEE 2024-01-01..2024-01-31",
        "EMPLOYEE 2024-05-01..2024-05-31",
        "EMPLOYEE 2024-09-01..2024-09-30",
    ];
    assert_eq!(lines, expected);
    // Another type and another person are kept apart, and the answer lists only the
    // lines of the type registered.
    assert_eq!(
        register(&app, NISS_1, "BENEFICIARY", "2024-01-15..2024-05-15"),
        ["BENEFICIARY 2024-01-15..2024-05-15"]
    );
    assert_eq!(
        register(&app, NISS_2, "EMPLOYEE", "2024-02-01..2024-02-29"),
        ["EMPLOYEE 2024-02-01..2024-02-29"]
    );
    let mut all = vec!["BENEFICIARY 2024-01-15..2024-05-15"];
    all.extend(expected);
    assert_eq!(consult(&app, NISS_1), all);
    // One period spanning several lines merges them all.
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "2024-01-20..2024-09-05"),
        ["EMPLOYEE 2024-01-01..2024-09-30"]
    );
}

/// Unregisters and returns (status value, status code, remaining lines).
fn unregister(app: &TestApp, ssin: &str, period: Option<&str>) -> (String, String, Vec<String>) {
    let answer = app
        .call(&Request::unregister(&org_a(), ssin, "EMPLOYEE", period))
        .ok();
    assert_eq!(
        answer
            .text(&["unregisterPersonResponse", "ssin"])
            .as_deref(),
        Some(ssin)
    );
    (answer.status(), answer.status_code(), answer.lines())
}

fn ok(lines: &[&str]) -> (String, String, Vec<String>) {
    (
        "OK".into(),
        "MSG00000".into(),
        lines.iter().map(|l| l.to_string()).collect(),
    )
}

fn no_result(lines: &[&str]) -> (String, String, Vec<String>) {
    (
        "NO_RESULT".into(),
        "MSG00002".into(),
        lines.iter().map(|l| l.to_string()).collect(),
    )
}

fn unregister_without_period_removes_every_line_of_the_type(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-01-31");
    register(&app, NISS_1, "EMPLOYEE", "2024-06-01..");
    register(&app, NISS_1, "BENEFICIARY", "2024-01-01..2024-12-31");
    register(&app, NISS_2, "EMPLOYEE", "2024-01-01..2024-12-31");

    assert_eq!(unregister(&app, NISS_1, None), ok(&[]));
    assert_eq!(
        consult(&app, NISS_1),
        ["BENEFICIARY 2024-01-01..2024-12-31"]
    );
    assert_eq!(consult(&app, NISS_2), ["EMPLOYEE 2024-01-01..2024-12-31"]);
    // Once nothing is left there is nothing to do.
    assert_eq!(unregister(&app, NISS_1, None), no_result(&[]));
}

fn unregistering_a_middle_period_leaves_two_lines(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-12-31");
    assert_eq!(
        unregister(&app, NISS_1, Some("2024-04-01..2024-06-30")),
        ok(&[
            "EMPLOYEE 2024-01-01..2024-03-31",
            "EMPLOYEE 2024-07-01..2024-12-31"
        ])
    );
    assert_eq!(
        consult(&app, NISS_1),
        [
            "EMPLOYEE 2024-01-01..2024-03-31",
            "EMPLOYEE 2024-07-01..2024-12-31"
        ]
    );
    // The same inside an open line: the part after the hole stays open.
    register(&app, NISS_2, "EMPLOYEE", "2024-01-01..");
    assert_eq!(
        unregister(&app, NISS_2, Some("2024-02-01..2024-02-29")),
        ok(&["EMPLOYEE 2024-01-01..2024-01-31", "EMPLOYEE 2024-03-01.."])
    );
    // Cutting the edges: the first day, then an open tail.
    assert_eq!(
        unregister(&app, NISS_2, Some("2024-01-01..2024-01-01")),
        ok(&["EMPLOYEE 2024-01-02..2024-01-31", "EMPLOYEE 2024-03-01.."])
    );
    assert_eq!(
        unregister(&app, NISS_2, Some("2024-01-15..")),
        ok(&["EMPLOYEE 2024-01-02..2024-01-14"])
    );
}

fn unregistering_nothing_that_overlaps_is_no_result(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-03-31");
    register(&app, NISS_1, "EMPLOYEE", "2024-05-01..2024-05-31");
    let lines = [
        "EMPLOYEE 2024-01-01..2024-03-31",
        "EMPLOYEE 2024-05-01..2024-05-31",
    ];
    // Between the lines, after them, and a person without lines.
    assert_eq!(
        unregister(&app, NISS_1, Some("2024-04-01..2024-04-30")),
        no_result(&lines)
    );
    assert_eq!(
        unregister(&app, NISS_1, Some("2024-06-01..")),
        no_result(&lines)
    );
    assert_eq!(
        unregister(&app, NISS_2, Some("2024-01-01..")),
        no_result(&[])
    );
    assert_eq!(consult(&app, NISS_1), lines);
}

fn unregistering_a_period_covering_everything_leaves_no_line(backend: Backend) {
    let app = TestApp::start(backend);
    register(&app, NISS_1, "EMPLOYEE", "2024-01-01..2024-03-31");
    register(&app, NISS_1, "EMPLOYEE", "2024-05-01..");
    assert_eq!(unregister(&app, NISS_1, Some("2023-12-31..")), ok(&[]));
    let answer = app.call(&Request::consult(&org_a(), NISS_1)).ok();
    assert_eq!(answer.status(), "NO_DATA_FOUND");
    assert!(answer.lines().is_empty());
}

fn registers_bis_numbers_and_extreme_dates(backend: Backend) {
    let app = TestApp::start(backend);
    for ssin in [common::NISS_BIS, common::NISS_BIS_20] {
        assert_eq!(
            register(&app, ssin, "EMPLOYEE", "2024-01-01.."),
            ["EMPLOYEE 2024-01-01.."]
        );
    }
    register(&app, NISS_1, "EMPLOYEE", "9999-12-31..9999-12-31");
    register(&app, NISS_1, "EMPLOYEE", "1000-01-01..1000-01-01");
    assert_eq!(
        consult(&app, NISS_1),
        [
            "EMPLOYEE 1000-01-01..1000-01-01",
            "EMPLOYEE 9999-12-31..9999-12-31"
        ]
    );
    assert_eq!(
        register(&app, NISS_1, "EMPLOYEE", "1000-01-02..9999-12-30"),
        ["EMPLOYEE 1000-01-01..9999-12-31"]
    );
    assert_eq!(
        unregister(&app, NISS_1, Some("1000-01-02..9999-12-30")),
        ok(&[
            "EMPLOYEE 1000-01-01..1000-01-01",
            "EMPLOYEE 9999-12-31..9999-12-31"
        ])
    );
}

backend_tests!(
    registers_a_new_line,
    registers_bis_numbers_and_extreme_dates,
    merges_overlapping_periods,
    merges_contiguous_periods,
    open_end_absorbs_later_periods,
    disjoint_periods_stay_separate_sorted_by_begin,
    unregister_without_period_removes_every_line_of_the_type,
    unregistering_a_middle_period_leaves_two_lines,
    unregistering_nothing_that_overlaps_is_no_result,
    unregistering_a_period_covering_everything_leaves_no_line,
);
