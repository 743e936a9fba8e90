//! The `soapenv:Server` faults, provoked: SERVICE_UNAVAILABLE when the database cannot be
//! had in time, INTERNAL_ERROR when an audit entry cannot be written. A consultation
//! answers only once its audit entry is committed; a registration whose entry cannot be
//! written leaves nothing written.

#[macro_use]
mod common;

use std::thread;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use common::{org_a, Answer, Backend, Request, TestApp, NISS_1, NISS_2, NISS_3};

/// Runs SQL on the test's database beside the server.
enum Session {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl Session {
    fn open(app: &TestApp) -> Session {
        match app.backend {
            Backend::Sqlite => Session::Sqlite(
                SqliteConnection::establish(app.database_url()).expect("the SQLite database"),
            ),
            _ => Session::Postgres(
                PgConnection::establish(app.database_url()).expect("the PostgreSQL database"),
            ),
        }
    }

    fn run(&mut self, sql: &str) {
        match self {
            Session::Postgres(c) => c.batch_execute(sql),
            Session::Sqlite(c) => c.batch_execute(sql),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Makes every audit insert fail.
    fn refuse_audit_entries(&mut self) {
        match self {
            Session::Postgres(_) => self.run(
                "CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'audit entry refused'; END $$; \
                 CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_entries \
                 FOR EACH ROW EXECUTE FUNCTION refuse_entry();",
            ),
            Session::Sqlite(_) => self.run(
                "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_entries \
                 BEGIN SELECT RAISE(ABORT, 'audit entry refused'); END;",
            ),
        }
    }

    fn accept_audit_entries(&mut self) {
        self.run("DROP TRIGGER refuse_entry ON audit_entries");
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Asserts a Server fault with this reason code that answers no personal data.
#[track_caller]
fn assert_server_fault(answer: Answer, reason: &str) -> Answer {
    let answer = answer.fault(reason);
    assert_eq!(
        answer.faultcode().as_deref(),
        Some("soapenv:Server"),
        "{}",
        answer.body
    );
    assert!(answer.lines().is_empty(), "{}", answer.body);
    assert!(!answer.body.contains("EMPLOYEE"), "{}", answer.body);
    assert!(!answer.body.contains("2024-01-01"), "{}", answer.body);
    answer
}

fn entry_of<'a>(entries: &'a [Value], server_ticket: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|e| e["serverTicket"].as_str() == Some(server_ticket))
}

/// With every audit insert failing, a consultation answers INTERNAL_ERROR and not its
/// data, and a registration writes nothing.
fn a_failed_audit_write_answers_no_data_and_writes_nothing(backend: Backend) {
    let app = TestApp::start(backend);
    let a = org_a();
    app.call(&Request::register(&a, NISS_1, "EMPLOYEE", "2024-01-01.."))
        .ok();
    let mut session = Session::open(&app);
    session.refuse_audit_entries();

    let consult = assert_server_fault(app.call(&Request::consult(&a, NISS_1)), "INTERNAL_ERROR");
    assert!(!consult.body.contains(NISS_1), "{}", consult.body);
    let register = assert_server_fault(
        app.call(&Request::register(&a, NISS_2, "EMPLOYEE", "2024-01-01..")),
        "INTERNAL_ERROR",
    );
    let unregister = assert_server_fault(
        app.call(&Request::unregister(&a, NISS_1, "EMPLOYEE", None)),
        "INTERNAL_ERROR",
    );

    match &mut session {
        Session::Postgres(_) => session.accept_audit_entries(),
        Session::Sqlite(_) => session.run("DROP TRIGGER refuse_entry"),
    }
    // Nothing was written: NISS_2 has no line, NISS_1 still has its own.
    assert!(app
        .call(&Request::consult(&a, NISS_2))
        .ok()
        .lines()
        .is_empty());
    assert_eq!(
        app.call(&Request::consult(&a, NISS_1)).ok().lines(),
        ["EMPLOYEE 2024-01-01.."]
    );
    // No entry could be written for the failed calls.
    let entries = app.audit(None);
    for answer in [&consult, &register, &unregister] {
        let ticket = answer.server_ticket();
        assert!(entry_of(&entries, &ticket).is_none(), "{ticket} audited");
    }
}

/// On PostgreSQL: both pooled connections held by registrations waiting for a lock the test
/// holds, a consultation cannot get a connection in time: SERVICE_UNAVAILABLE after the
/// pool's short wait, audited with the same outcome (the audit writer has a connection of
/// its own), and the waiting registrations complete once the lock is released.
#[test]
fn no_connection_in_time_is_service_unavailable_and_audited_so() {
    if !Backend::Postgres.available() {
        return;
    }
    let app = TestApp::start_with(Backend::Postgres, &["--db-connections", "2"]);
    let a = org_a();
    // Authenticated once, so the consultation below needs no connection for that.
    app.call(&Request::consult(&a, NISS_1)).ok();
    let mut holder = Session::open(&app);
    holder.run("BEGIN; LOCK TABLE dossier_types IN ACCESS EXCLUSIVE MODE");
    let Session::Postgres(mut watcher) = Session::open(&app) else {
        unreachable!()
    };

    // Nothing is asserted while the lock is held: a failure must not leave the
    // registrations waiting forever.
    let (waiting, consult, waited, entries, registrations) = thread::scope(|scope| {
        let registrations: Vec<_> = [NISS_2, NISS_3]
            .into_iter()
            .map(|ssin| {
                let (app, a) = (&app, a.clone());
                scope.spawn(move || {
                    app.call(&Request::register(&a, ssin, "EMPLOYEE", "2024-01-01.."))
                })
            })
            .collect();
        // Both registrations hold their connection, waiting for the lock.
        let deadline = Instant::now() + Duration::from_secs(30);
        let waiting = loop {
            let waiting = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result::<Count>(&mut watcher)
            .map_or(-1, |c| c.n);
            if waiting == 2 || Instant::now() > deadline {
                break waiting;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let sent = Instant::now();
        let consult = (waiting == 2).then(|| app.call(&Request::consult(&a, NISS_1)));
        let waited = sent.elapsed();
        let entries = app.audit(None);
        holder.run("ROLLBACK");
        let registrations: Vec<_> = registrations.into_iter().map(|r| r.join()).collect();
        (waiting, consult, waited, entries, registrations)
    });
    assert_eq!(waiting, 2, "registrations waiting for the lock");
    let consult = assert_server_fault(consult.expect("sent"), "SERVICE_UNAVAILABLE");
    assert!(
        waited < Duration::from_secs(6),
        "SERVICE_UNAVAILABLE took {waited:?}"
    );
    assert!(!consult.body.contains(NISS_1), "{}", consult.body);
    let entry = entry_of(&entries, &consult.server_ticket()).expect("the refusal audited");
    assert_eq!(entry["outcome"], "SERVICE_UNAVAILABLE", "{entry}");
    for registration in registrations {
        registration.expect("a registration").ok();
    }
    assert_eq!(
        app.call(&Request::consult(&a, NISS_2)).ok().lines(),
        ["EMPLOYEE 2024-01-01.."]
    );
}

/// On SQLite: another process holds the write lock past the busy timeout, so a
/// registration is SERVICE_UNAVAILABLE and writes nothing (its entry cannot be written
/// either while the lock is held).
#[test]
fn a_database_locked_by_another_process_is_service_unavailable() {
    let app = TestApp::start(Backend::Sqlite);
    let a = org_a();
    let mut holder = Session::open(&app);
    holder.run("BEGIN EXCLUSIVE");
    let register = assert_server_fault(
        app.call(&Request::register(&a, NISS_2, "EMPLOYEE", "2024-01-01..")),
        "SERVICE_UNAVAILABLE",
    );
    holder.run("ROLLBACK");
    assert!(app
        .call(&Request::consult(&a, NISS_2))
        .ok()
        .lines()
        .is_empty());
    let entries = app.audit(None);
    if let Some(entry) = entry_of(&entries, &register.server_ticket()) {
        assert_eq!(entry["outcome"], "SERVICE_UNAVAILABLE", "{entry}");
    }
}

backend_tests!(a_failed_audit_write_answers_no_data_and_writes_nothing);
