//! `raas search` as an operator meets it: a table or one JSON object per candidate, the same
//! candidates as the SOAP operation, refusals in one line with exit code 1, a message when
//! nobody comes close, and every search recorded under the operator's name.

#[macro_use]
mod common;

use std::process::Output;

use common::app::run_with_input;
use common::search::{
    claeys, claeys_swapped, numbers, search_feed, Search, CLAEYS_BIRTH, OPERATION,
};
use common::{org_a, Backend, TestApp};

/// A server whose source knows the search persons, org A granted the SOAP search.
fn start(backend: Backend) -> TestApp {
    let app = TestApp::start(backend);
    app.apply_feed(&search_feed());
    app.grant(&org_a().cbe, OPERATION);
    app
}

/// Environment variables set for a command.
type Env<'a> = &'a [(&'a str, &'a str)];

/// `raas search ARGS` with `env` set and no operator variable inherited.
fn search_with_env(app: &TestApp, args: &[&str], env: Env) -> Output {
    let mut command = app.command();
    command
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("RAAS_OPERATOR")
        .arg("search")
        .args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    run_with_input(&mut command, "")
}

/// `raas search --operator olivia ARGS`, which must succeed: its standard output.
#[track_caller]
fn search(app: &TestApp, args: &[&str]) -> String {
    let output = search_with_env(app, &[&["--operator", "olivia"], args].concat(), &[]);
    assert!(
        output.status.success(),
        "raas search {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The JSON objects of `--json`, one per line.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// A NISS as the table shows it: `YY.MM.DD-SSS.CC`.
fn formatted(ssin: &str) -> String {
    format!(
        "{}.{}.{}-{}.{}",
        &ssin[0..2],
        &ssin[2..4],
        &ssin[4..6],
        &ssin[6..9],
        &ssin[9..11]
    )
}

fn prints_a_table_of_candidates(backend: Backend) {
    let app = start(backend);
    let out = search(
        &app,
        &[
            "--last-name",
            "Claeys",
            "--first-name",
            "Jan",
            "--birth-date",
            CLAEYS_BIRTH,
            "--gender",
            "M",
            "--max",
            "3",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three candidates:\n{out}");
    let header = lines[0];
    for column in [
        "SCORE",
        "NUMBER",
        "NAME",
        "BIRTH DATE",
        "GENDER",
        "MUNICIPALITY",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let jan = &claeys()[0];
    let first = lines[1];
    // Each column starts where its heading does.
    let at = |heading: &str| header.find(heading).expect("a heading");
    assert_eq!(
        first[at("NUMBER")..].split("  ").next(),
        Some(formatted(&jan.ssin).as_str()),
        "{out}"
    );
    assert!(first[at("NAME")..].starts_with("Claeys, Jan "), "{out}");
    assert!(first[at("BIRTH DATE")..].starts_with(CLAEYS_BIRTH), "{out}");
    assert!(first[at("GENDER")..].starts_with("M "), "{out}");
    assert_eq!(&first[at("MUNICIPALITY")..], "Gent", "{out}");
    let scores: Vec<u8> = lines[1..]
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .unwrap()
                .parse()
                .expect("a score")
        })
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{out}");
    assert!(scores[0] <= 100);
}

fn prints_one_json_object_per_candidate(backend: Backend) {
    let app = start(backend);
    let args = [
        "--last-name",
        "Claeys",
        "--birth-date",
        CLAEYS_BIRTH,
        "--max",
        "80",
        "--json",
    ];
    let objects = json_lines(&search(&app, &args));
    let mut expected = numbers(&claeys());
    expected.push(claeys_swapped().ssin);
    expected.sort();
    let mut got: Vec<String> = objects
        .iter()
        .map(|o| o["ssin"].as_str().expect("a number").to_string())
        .collect();
    got.sort();
    assert_eq!(got, expected);
    for object in &objects {
        let mut keys: Vec<&str> = object
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "birthDate",
                "firstNames",
                "gender",
                "lastName",
                "municipality",
                "score",
                "ssin"
            ],
            "{object}"
        );
        assert_eq!(object["lastName"], "Claeys");
        assert_eq!(object["gender"], "M");
        assert!(object["score"].as_u64().expect("a score") <= 100);
    }
    let guy = objects
        .iter()
        .find(|o| o["ssin"] == claeys()[13].ssin.as_str())
        .expect("Guy Claeys");
    assert_eq!(guy["firstNames"], serde_json::json!(["Guy"]));
    assert_eq!(guy["birthDate"], CLAEYS_BIRTH);
    assert!(guy["municipality"].is_null(), "Guy Claeys has no address");
    let jan = objects
        .iter()
        .find(|o| o["ssin"] == claeys()[0].ssin.as_str())
        .expect("Jan Claeys");
    assert_eq!(jan["municipality"], "Gent");

    // The same candidates, in the same order and with the same scores, as over SOAP.
    let soap = common::search::candidates(
        &app.search(
            &Search::new(&org_a(), "Claeys", CLAEYS_BIRTH)
                .set("firstName", "Jan")
                .set("tolerance", "2")
                .set("maximum", "12"),
        )
        .ok(),
    );
    let cli = json_lines(&search(
        &app,
        &[
            "--last-name",
            "Claeys",
            "--first-name",
            "Jan",
            "--birth-date",
            CLAEYS_BIRTH,
            "--tolerance",
            "2",
            "--max",
            "12",
            "--json",
        ],
    ));
    let soap: Vec<(u64, String)> = soap
        .iter()
        .map(|f| (u64::from(f.score), f.ssin.clone()))
        .collect();
    let cli: Vec<(u64, String)> = cli
        .iter()
        .map(|o| {
            (
                o["score"].as_u64().unwrap(),
                o["ssin"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(cli, soap);
}

fn refusals_are_one_line_with_exit_code_1(backend: Backend) {
    let app = start(backend);
    let before = app.audit(None).len();
    let base = ["--operator", "olivia", "--last-name", "Claeys"];
    let cases: [(&[&str], &str); 9] = [
        (&["--birth-date", "1962-13-04"], "--birth-date 1962-13-04"),
        (&["--birth-date", "04/03/1962"], "--birth-date 04/03/1962"),
        (&["--birth-date", "1962-03-00"], "--tolerance"),
        (&["--birth-date", "1962-00-00"], "--tolerance"),
        (
            &["--birth-date", CLAEYS_BIRTH, "--tolerance", "31"],
            "--tolerance",
        ),
        (&["--birth-date", CLAEYS_BIRTH, "--max", "0"], "--max"),
        (&["--birth-date", CLAEYS_BIRTH, "--max", "81"], "--max"),
        (
            &["--birth-date", CLAEYS_BIRTH, "--gender", "X"],
            "--gender X",
        ),
        (
            &["--birth-date", CLAEYS_BIRTH, "--first-name", "J4n"],
            "--first-name",
        ),
    ];
    let mut refused: Vec<(Vec<&str>, &str)> = cases
        .iter()
        .map(|(args, flag)| ([&base[..], args].concat(), *flag))
        .collect();
    // A last name the SOAP operation refuses is refused here too.
    refused.push((
        vec![
            "--operator",
            "olivia",
            "--last-name",
            "Cla3ys",
            "--birth-date",
            CLAEYS_BIRTH,
        ],
        "--last-name",
    ));
    for (args, flag) in &refused {
        let output = search_with_env(&app, args, &[]);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).expect("UTF-8");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    // Nothing was searched, so nothing recorded.
    assert_eq!(app.audit(None).len(), before);
}

fn says_when_nobody_comes_close(backend: Backend) {
    let app = start(backend);
    for json in [false, true] {
        let mut args = vec!["--last-name", "Xylophonidis", "--birth-date", "1931-01-01"];
        if json {
            args.push("--json");
        }
        let output = search_with_env(&app, &args, &[("USER", "olivia")]);
        assert!(output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "no person comes close enough\n"
        );
    }
}

/// Names from other scripts, marks, emoji and controls: a search or a one-line refusal,
/// never a crash.
fn any_name_is_searched_or_refused_in_one_line(backend: Backend) {
    let app = start(backend);
    for name in [
        "王小明",
        "Ōtsuka",
        "Cla\u{301}eys",
        "\u{301}",
        "כהן",
        "عبد الله",
        "\u{202e}syealC",
        "Claeys😀",
        "Cla\u{7}eys",
        "Cla\neys",
        " ",
        "Ǆ-ǅ-ǆ",
        &"Claeys".repeat(40),
    ] {
        let output = search_with_env(
            &app,
            &[
                "--operator",
                "olivia",
                "--last-name",
                name,
                "--birth-date",
                CLAEYS_BIRTH,
                "--json",
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {
                json_lines(&String::from_utf8(output.stdout).expect("UTF-8"));
            }
            Some(1) => assert_eq!(stderr.lines().count(), 1, "{name:?}: {stderr}"),
            other => panic!("{name:?}: exit {other:?}: {stderr}"),
        }
    }
}

/// Every search is recorded under `raas-admin` / `search` with the operator's name: one
/// entry per candidate, or one NO_RESULT entry.
fn searches_are_audited_with_the_operator(backend: Backend) {
    let app = start(backend);
    let newest = |n: usize| {
        let mut audit = app.audit(None);
        audit.truncate(n);
        audit
    };
    let claeys_args = [
        "--last-name",
        "Claeys",
        "--first-name",
        "Jan",
        "--birth-date",
        CLAEYS_BIRTH,
        "--max",
        "2",
        "--json",
    ];
    // (environment, operator arguments, the name recorded)
    let cases: [(Env, Vec<&str>, &str); 4] = [
        (
            &[("USER", "ursula")],
            vec!["--operator", "olivia"],
            "olivia",
        ),
        (&[("USER", "ursula"), ("LOGNAME", "lars")], vec![], "ursula"),
        (&[("LOGNAME", "lars")], vec![], "lars"),
        (
            &[("RAAS_OPERATOR", "rita"), ("USER", "ursula")],
            vec![],
            "rita",
        ),
    ];
    let mut tickets = std::collections::BTreeSet::new();
    for (env, operator, expected) in cases {
        let args = [&operator[..], &claeys_args[..]].concat();
        let output = search_with_env(&app, &args, env);
        assert!(
            output.status.success(),
            "{env:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let found = json_lines(&String::from_utf8(output.stdout).expect("UTF-8"));
        assert_eq!(found.len(), 2);
        let entries = newest(2);
        let mut audited: Vec<&str> = entries
            .iter()
            .map(|e| e["ssin"].as_str().expect("a number"))
            .collect();
        let mut answered: Vec<&str> = found.iter().map(|o| o["ssin"].as_str().unwrap()).collect();
        audited.sort();
        answered.sort();
        assert_eq!(audited, answered, "{env:?}");
        for entry in &entries {
            assert_eq!(entry["service"], "raas-admin");
            assert_eq!(entry["operation"], "search");
            assert_eq!(entry["outcome"], "OK");
            assert_eq!(entry["username"], expected, "{env:?}");
            assert_eq!(
                entry["serverTicket"], entries[0]["serverTicket"],
                "one search, one ticket"
            );
        }
        assert!(
            tickets.insert(entries[0]["serverTicket"].to_string()),
            "each search its own ticket"
        );
    }
    // Nobody found: one entry, without a number.
    let output = search_with_env(
        &app,
        &[
            "--operator",
            "olivia",
            "--last-name",
            "Xylophonidis",
            "--birth-date",
            "1931-01-01",
        ],
        &[],
    );
    assert!(output.status.success());
    let entry = &newest(1)[0];
    assert_eq!(entry["outcome"], "NO_RESULT");
    assert_eq!(entry["username"], "olivia");
    assert!(entry["ssin"].is_null());

    // Nobody to name: refused, nothing searched.
    let before = app.audit(None).len();
    let output = search_with_env(&app, &claeys_args, &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--operator"), "{stderr}");
    let output = search_with_env(
        &app,
        &[&["--operator", " "], &claeys_args[..]].concat(),
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(app.audit(None).len(), before);
}

backend_tests!(
    prints_a_table_of_candidates,
    prints_one_json_object_per_candidate,
    refusals_are_one_line_with_exit_code_1,
    says_when_nobody_comes_close,
    any_name_is_searched_or_refused_in_one_line,
    searches_are_audited_with_the_operator,
);
