//! `raas admin subscription add/list/end`: what an operator subscribes an organisation to,
//! and every refusal, which changes nothing.

#[macro_use]
mod common;

use std::process::Output;

use common::{org_a, org_b, Backend, TestApp};

/// A fresh database with org A (EMPLOYEE, BENEFICIARY, and RETIRED which is retired) and
/// org B (EMPLOYEE).
fn app(backend: Backend) -> TestApp {
    let app = TestApp::empty(backend);
    app.add_org(&org_a());
    app.add_dossier_type(&org_a().cbe, "EMPLOYEE", None);
    app.add_dossier_type(&org_a().cbe, "BENEFICIARY", None);
    app.add_dossier_type(&org_a().cbe, "RETIRED", None);
    app.retire_dossier_type(&org_a().cbe, "RETIRED");
    app.add_org(&org_b());
    app.add_dossier_type(&org_b().cbe, "EMPLOYEE", None);
    app
}

fn subscription(app: &TestApp, args: &[&str]) -> Output {
    app.run(&[&["admin", "subscription"], args].concat(), "")
}

/// Today in Europe/Brussels, as the binary sees it.
fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Brussels)
        .date_naive()
        .to_string()
}

/// `subscription add` that must succeed: the id it printed.
#[track_caller]
fn add(app: &TestApp, args: &[&str]) -> i64 {
    let output = subscription(app, &[&["add"], args].concat());
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "{stdout:?}"
    );
    stdout.trim().parse().expect("the id alone")
}

/// `subscription end` (on `date`, else today) that must succeed.
#[track_caller]
fn end(app: &TestApp, cbe: &str, id: i64, date: Option<&str>) {
    let id = id.to_string();
    let mut args = vec!["end", "--cbe", cbe, "--id", &id];
    if let Some(date) = date {
        args.extend(["--date", date]);
    }
    let output = subscription(app, &args);
    assert!(output.status.success(), "{output:?}");
}

fn list(app: &TestApp, cbe: &str) -> Vec<serde_json::Value> {
    let output = subscription(app, &["list", "--cbe", cbe]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Asserts a refusal: status 1, one `error:` line saying `message`, nothing on stdout.
#[track_caller]
fn assert_refused(output: &Output, message: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(message),
        "{stderr:?} does not say {message:?}"
    );
}

fn adds_lists_and_ends(backend: Backend) {
    let app = app(backend);
    let a = org_a().cbe;
    let person = add_person(&app, &a, &["EMPLOYEE", "BENEFICIARY"]);
    let dimona = add_dimona(
        &app,
        &a,
        &[
            "--authorisation",
            "SCSZG/26/042",
            "--valid-from",
            "2026-01-01",
            "--valid-to",
            "2027-12-31",
        ],
    );
    let b = add_person(&app, &org_b().cbe, &[]);
    assert!(person < dimona && dimona < b);
    let today = today();

    let listed = list(&app, &a);
    assert_eq!(
        listed,
        vec![
            serde_json::json!({
                "id": person, "cbe": a, "type": "PERSON_MUTATIONS",
                "dossier_types": ["BENEFICIARY", "EMPLOYEE"], "authorisation": null,
                "starts_on": today, "ends_on": null, "active_today": true,
            }),
            serde_json::json!({
                "id": dimona, "cbe": a, "type": "DIMONA_MUTATIONS", "dossier_types": [],
                "authorisation": {"reference": "SCSZG/26/042", "valid_from": "2026-01-01",
                                  "valid_to": "2027-12-31"},
                "starts_on": today, "ends_on": null, "active_today": true,
            }),
        ]
    );
    let of_b = list(&app, &org_b().cbe);
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_b[0]["id"], b);
    assert_eq!(of_b[0]["dossier_types"], serde_json::json!([]));

    // Ended today: today still gets its file.
    end(&app, &a, person, None);
    let listed = list(&app, &a);
    assert_eq!(listed[0]["ends_on"], today.as_str());
    assert_eq!(listed[0]["active_today"], true);
    assert_eq!(listed[1]["ends_on"], serde_json::Value::Null);

    // Ended on a later day given.
    let later = "2099-06-30";
    end(&app, &a, dimona, Some(later));
    assert_eq!(list(&app, &a)[1]["ends_on"], later);
    // The other organisation's subscription is untouched.
    assert_eq!(list(&app, &org_b().cbe), of_b);
}

/// `--cbe CBE --type DIMONA_MUTATIONS EXTRA…`.
fn dimona_args<'a>(cbe: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [&["--cbe", cbe, "--type", "DIMONA_MUTATIONS"], extra].concat()
}

/// `add --cbe CBE --type DIMONA_MUTATIONS EXTRA…`.
fn dimona_add<'a>(cbe: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [&["add"][..], &dimona_args(cbe, extra)].concat()
}

/// `add --cbe CBE --type DIMONA_MUTATIONS EXTRA…` that must succeed: the id it printed.
#[track_caller]
fn add_dimona(app: &TestApp, cbe: &str, extra: &[&str]) -> i64 {
    add(app, &dimona_args(cbe, extra))
}

/// `add --cbe CBE --type PERSON_MUTATIONS` limited to `dossier_types`, that must succeed:
/// the id it printed.
#[track_caller]
fn add_person(app: &TestApp, cbe: &str, dossier_types: &[&str]) -> i64 {
    let mut args = vec!["--cbe", cbe, "--type", "PERSON_MUTATIONS"];
    for dossier_type in dossier_types {
        args.extend(["--dossier-type", dossier_type]);
    }
    add(app, &args)
}

fn refusals_change_nothing(backend: Backend) {
    let app = app(backend);
    let a = org_a().cbe;
    let b = org_b().cbe;
    let existing = add_person(&app, &a, &[]);
    let id = existing.to_string();
    let before_a = list(&app, &a);
    let before_b = list(&app, &b);
    let dimona = |extra: &[&'static str]| dimona_add(&b, extra);
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["add", "--cbe", "0417497106", "--type", "PERSON_MUTATIONS"],
            "no organisation has the enterprise number 0417497106".into(),
        ),
        (
            vec!["add", "--cbe", "12345", "--type", "PERSON_MUTATIONS"],
            "--cbe 12345".into(),
        ),
        (
            vec![
                "add",
                "--cbe",
                &b,
                "--type",
                "PERSON_MUTATIONS",
                "--dossier-type",
                "BENEFICIARY",
            ],
            "the dossier type BENEFICIARY is not defined for this organisation".into(),
        ),
        (
            vec![
                "add",
                "--cbe",
                &b,
                "--type",
                "PERSON_MUTATIONS",
                "--dossier-type",
                "bad code!",
            ],
            "--dossier-type bad code!".into(),
        ),
        (
            vec![
                "add",
                "--cbe",
                &b,
                "--type",
                "PERSON_MUTATIONS",
                "--dossier-type",
                "EMPLOYEE",
                "--dossier-type",
                "NONE",
            ],
            "the dossier type NONE is not defined".into(),
        ),
        (
            dimona(&[]),
            "a DIMONA_MUTATIONS subscription needs an authorisation".into(),
        ),
        (
            dimona(&["--authorisation", "REF-1"]),
            "--authorisation needs --valid-from".into(),
        ),
        (
            dimona(&["--valid-from", "2026-01-01"]),
            "--valid-from needs --authorisation".into(),
        ),
        (
            dimona(&["--valid-to", "2026-01-01"]),
            "--valid-to needs --authorisation".into(),
        ),
        (
            dimona(&["--authorisation", "REF-1", "--valid-from", "2026-02-30"]),
            "--valid-from 2026-02-30 is not a date (YYYY-MM-DD)".into(),
        ),
        (
            dimona(&["--authorisation", "REF-1", "--valid-from", "1/1/2026"]),
            "--valid-from 1/1/2026 is not a date (YYYY-MM-DD)".into(),
        ),
        (
            dimona(&[
                "--authorisation",
                "REF-1",
                "--valid-from",
                "2026-05-01",
                "--valid-to",
                "2026-04-30",
            ]),
            "the authorisation ends (2026-04-30) before it starts (2026-05-01)".into(),
        ),
        (
            dimona(&["--authorisation", " ", "--valid-from", "2026-05-01"]),
            "the authorisation reference".into(),
        ),
        (
            vec![
                "add",
                "--cbe",
                &b,
                "--type",
                "PERSON_MUTATIONS",
                "--authorisation",
                "REF-1",
                "--valid-from",
                "2026-01-01",
            ],
            "a PERSON_MUTATIONS subscription takes no authorisation".into(),
        ),
        (
            vec!["add", "--cbe", &b, "--type", "PERSON"],
            "unknown file type \"PERSON\" (PERSON_MUTATIONS or DIMONA_MUTATIONS)".into(),
        ),
        (
            vec!["add", "--cbe", &a, "--type", "PERSON_MUTATIONS"],
            format!("{a} already has the PERSON_MUTATIONS subscription {existing} on"),
        ),
        (
            vec!["end", "--cbe", &b, "--id", &id],
            format!("{} has no subscription {existing}", b),
        ),
        (
            vec!["end", "--cbe", &a, "--id", "99999"],
            format!("{a} has no subscription 99999"),
        ),
        (
            vec!["end", "--cbe", &a, "--id", &id, "--date", "2000-01-01"],
            format!(
                "the subscription {existing} starts on {}: it cannot end on 2000-01-01",
                today()
            ),
        ),
        (
            vec!["end", "--cbe", &a, "--id", &id, "--date", "tomorrow"],
            "--date tomorrow is not a date (YYYY-MM-DD)".into(),
        ),
        (
            vec!["list", "--cbe", "0417497106"],
            "no organisation has the enterprise number 0417497106".into(),
        ),
    ];
    for (args, message) in &cases {
        let output = subscription(&app, args);
        if args[0] == "add" && args.contains(&"PERSON") {
            // clap's own refusal of a value: exit 2, its usage lines.
            assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
            assert!(String::from_utf8_lossy(&output.stderr).contains(message.as_str()));
        } else {
            assert_refused(&output, message);
        }
        assert_eq!(list(&app, &a), before_a, "{args:?} changed org A");
        assert_eq!(list(&app, &b), before_b, "{args:?} changed org B");
    }

    // A retired dossier type cannot be subscribed to.
    assert_refused(
        &subscription(
            &app,
            &[
                "add",
                "--cbe",
                &a,
                "--type",
                "DIMONA_MUTATIONS",
                "--dossier-type",
                "RETIRED",
                "--authorisation",
                "REF-1",
                "--valid-from",
                "2026-01-01",
            ],
        ),
        &format!("the dossier type RETIRED of {a} is retired"),
    );
    assert_eq!(list(&app, &a), before_a);

    // Ended once: ending again is refused.
    end(&app, &a, existing, None);
    let after_end = list(&app, &a);
    assert_refused(
        &subscription(&app, &["end", "--cbe", &a, "--id", &id]),
        &format!("the subscription {existing} is already ended"),
    );
    assert_eq!(list(&app, &a), after_end);
    // Ended today, so today is still taken: a new one would overlap.
    assert_refused(
        &subscription(&app, &["add", "--cbe", &a, "--type", "PERSON_MUTATIONS"]),
        "already has the PERSON_MUTATIONS subscription",
    );
    assert_eq!(list(&app, &a), after_end);
    // Another file type is another subscription.
    add_dimona(
        &app,
        &a,
        &["--authorisation", "REF-1", "--valid-from", "2026-01-01"],
    );
    assert_eq!(list(&app, &a).len(), 2);
}

fn a_subscription_ended_before_today_leaves_room_for_a_new_one(backend: Backend) {
    let app = app(backend);
    let b = org_b().cbe;
    let first = add_person(&app, &b, &[]);
    // Only the database can make a subscription start before today: move it back a week.
    let db = app.database_url();
    let week_ago = (chrono::NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap()
        - chrono::Duration::days(7))
    .to_string();
    let yesterday = (chrono::NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap()
        - chrono::Duration::days(1))
    .to_string();
    set_starts_on(db, first, &week_ago);
    end(&app, &b, first, Some(&yesterday));
    let second = add_person(&app, &b, &[]);
    let listed = list(&app, &b);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], first);
    assert_eq!(listed[0]["active_today"], false);
    assert_eq!(listed[0]["ends_on"], yesterday.as_str());
    assert_eq!(listed[1]["id"], second);
    assert_eq!(listed[1]["active_today"], true);
}

/// Moves a subscription's first day (what the CLI cannot do).
fn set_starts_on(url: &str, id: i64, day: &str) {
    execute(
        url,
        &format!("UPDATE subscriptions SET starts_on = '{day}' WHERE id = {id}"),
    );
}

fn the_time_zone_decides_today(backend: Backend) {
    let app = app(backend);
    // Kiritimati is 14 hours ahead of UTC, Pago Pago 11 behind: their todays always differ.
    let ahead = app
        .command()
        .args(["--time-zone", "Pacific/Kiritimati"])
        .args([
            "admin",
            "subscription",
            "add",
            "--cbe",
            &org_b().cbe,
            "--type",
            "PERSON_MUTATIONS",
        ])
        .output()
        .unwrap();
    assert!(ahead.status.success(), "{ahead:?}");
    let expected = chrono::Utc::now()
        .with_timezone(&chrono_tz::Pacific::Kiritimati)
        .date_naive();
    let listed = list(&app, &org_b().cbe);
    let starts_on: chrono::NaiveDate = listed[0]["starts_on"].as_str().unwrap().parse().unwrap();
    // Allow for midnight passing between the two readings of the clock.
    assert!(
        starts_on == expected || starts_on + chrono::Duration::days(1) == expected,
        "{starts_on} vs {expected}"
    );
    let behind = app
        .command()
        .args(["--time-zone", "Pacific/Pago_Pago"])
        .args(["admin", "subscription", "list", "--cbe", &org_b().cbe])
        .output()
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&behind.stdout).trim()).unwrap();
    // A subscription starting tomorrow there is not active there today.
    assert_eq!(line["active_today"], false, "{line}");
}

/// Runs `sql` on the test database.
fn execute(url: &str, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    if url.starts_with("postgres") {
        let mut conn = diesel::pg::PgConnection::establish(url).unwrap();
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(url).unwrap();
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

/// What the daily run reads: `store::subscription::active_on`, every organisation's
/// subscriptions of a day with their dossier types.
fn the_daily_run_reads_the_subscriptions_of_a_day(backend: Backend) {
    use raas::domain::FileType;
    let app = app(backend);
    let a = org_a().cbe;
    let b = org_b().cbe;
    let person_a = add_person(&app, &a, &["EMPLOYEE", "BENEFICIARY"]);
    let dimona_a = add_dimona(
        &app,
        &a,
        &[
            "--authorisation",
            "REF-9",
            "--valid-from",
            "2026-01-01",
            "--valid-to",
            "2026-12-31",
            "--dossier-type",
            "EMPLOYEE",
        ],
    );
    let person_b = add_person(&app, &b, &[]);
    let url = app.database_url();
    execute(url, "UPDATE subscriptions SET starts_on = '2026-03-01'");
    execute(
        url,
        &format!("UPDATE subscriptions SET ends_on = '2026-06-30' WHERE id = {person_b}"),
    );
    let db = raas::store::Database::open_existing(url, 1).unwrap();
    let mut conn = db.connection().unwrap();
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let active = |on: &str, conn: &mut raas::store::DbConnection| {
        raas::store::subscription::active_on(conn, day(on)).unwrap()
    };
    assert!(active("2026-02-28", &mut conn).is_empty());
    let first_day = active("2026-03-01", &mut conn);
    let ids: Vec<i64> = first_day.iter().map(|s| i64::from(s.id)).collect();
    assert_eq!(ids, vec![person_a, dimona_a, person_b]);
    assert_eq!(first_day[0].file_type, FileType::PersonMutations);
    assert_eq!(first_day[0].dossier_type_ids.len(), 2);
    assert!(first_day[0]
        .dossier_type_ids
        .windows(2)
        .all(|w| w[0] < w[1]));
    assert_eq!(first_day[1].dossier_type_ids.len(), 1);
    assert!(first_day[0]
        .dossier_type_ids
        .contains(&first_day[1].dossier_type_ids[0]));
    assert!(first_day[2].dossier_type_ids.is_empty());
    assert_ne!(first_day[0].organisation_id, first_day[2].organisation_id);
    let authorisation = first_day[1].authorisation.as_ref().unwrap();
    assert_eq!(authorisation.reference, "REF-9");
    assert_eq!(authorisation.valid_to, Some(day("2026-12-31")));
    assert!(first_day[1].dimona_authorised_on(day("2026-03-01")));
    // B's last day is 2026-06-30.
    assert_eq!(active("2026-06-30", &mut conn).len(), 3);
    let after = active("2026-07-01", &mut conn);
    let ids: Vec<i64> = after.iter().map(|s| i64::from(s.id)).collect();
    assert_eq!(ids, vec![person_a, dimona_a]);
    assert_eq!(after[0].dossier_type_ids, first_day[0].dossier_type_ids);
}

backend_tests!(
    the_daily_run_reads_the_subscriptions_of_a_day,
    adds_lists_and_ends,
    refusals_change_nothing,
    a_subscription_ended_before_today_leaves_room_for_a_new_one,
    the_time_zone_decides_today,
);
