//! Mailboxes as their owners and the operator meet them: the real `raas batch run`,
//! `raas admin publish / deliveries / expire-deliveries` and DeliveryService over SOAP.
//!
//! - Every daily file is one delivery of its receiver's mailbox, oldest first, with the
//!   file's name, type, reference date, sequence number, record count, size and SHA-256;
//!   getDelivery gives the file's, the voucher's and the signature's exact bytes (and the
//!   signature served verifies with openssl); a date run again delivers nothing more.
//! - The first getDelivery is the proof of receipt (when, by which user); later ones keep it;
//!   `downloaded` selects on it; `raas admin deliveries` shows it to the sender.
//! - A mailbox is its organisation's alone: another's delivery is unknown exactly as a
//!   delivery that does not exist, and no credential reads another organisation's mailbox.
//! - A broadcast is stored once and delivered once to each mailbox it names (`--to all`, a
//!   `--cbe` list, `--registered`); a refused one delivers nothing and leaves no file.
//! - An expired document leaves every mailbox, its files are removed, its ledger rows stay
//!   (EXPIRED, with the receipt); the sweep run again changes nothing; retention per type.
//! - Pages (page, pageSize, totalItems) and filters (fileType, afterSequence, receivedAfter
//!   strictly after, in any zone, downloaded), alone and together.
//! - Refusals name their reason and field, and write no receipt; DELIVERY_TOO_LARGE past
//!   `--delivery-soap-max-bytes`.
//! - Every call has one audit entry (service, operation, outcome, and `delivery:<id>` as the
//!   target of a getDelivery, refused ones included).

#[macro_use]
mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SecondsFormat, SubsecRound, Utc};

use common::answer::Answer;
use common::batch::{
    assert_signature_valid, compact, days_before, enterprise_number, iso, signature_path,
    succeeded, today, voucher_path, BatchCli, DataFile, DIMONA_MUTATIONS, PERSON_MUTATIONS,
};
use common::mailbox::{
    decode, entries, instant, sha256_hex, Delivery, DeliveryRequest, Fetched, BROADCAST,
    DELIVERY_PATH, DELIVERY_SERVICE,
};
use common::refusal::{send_refused, Case};
use common::{fields, org_a, org_b, Backend, Feed, Org, Security, TestApp, NISS_1};

// --- Set-ups ---------------------------------------------------------------------------------

/// Orgs A and B subscribed to PERSON_MUTATIONS (every dossier type) since yesterday, A with a
/// line of NISS_1; yesterday's and today's runs made, NISS_1 renamed in between: A's files
/// hold 0 then 1 record, B's 0 and 0.
fn two_days_delivered(backend: Backend) -> (TestApp, BatchCli) {
    two_days_delivered_on(TestApp::start(backend))
}

fn two_days_delivered_on(app: TestApp) -> (TestApp, BatchCli) {
    let batch = app.batch();
    let d = today();
    app.register_line(&org_a(), NISS_1, "EMPLOYEE", "2020-01-01..");
    for org in [org_a(), org_b()] {
        app.subscribe(&org.cbe, PERSON_MUTATIONS, &[], &[]);
    }
    app.backdate_subscriptions(days_before(d, 1));
    batch.run_ok(days_before(d, 1));
    rename(&app, "F-1", "Vandenberghe");
    batch.run_ok(d);
    (app, batch)
}

fn rename(app: &TestApp, file_id: &str, last_name: &str) {
    app.apply_feed(
        &Feed::new(file_id)
            .identity_change(NISS_1, &format!("<p:lastName>{last_name}</p:lastName>")),
    );
}

/// A third organisation, onboarded with its credential (no dossier type, no subscription).
fn org_c() -> Org {
    Org::new(&enterprise_number(1), "Org C", "carol")
}

/// Another user of org A.
fn alice_2() -> Org {
    Org::new(&org_a().cbe, "Org A", "alice-2")
}

/// Writes a file to broadcast in the test's directory; gives its path as an argument.
fn document(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let path = app.path(name);
    std::fs::write(&path, bytes).expect("the document is written");
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// Bytes no text encoding would carry unharmed: every byte value, then some text.
fn binary_document() -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend_from_slice("\r\n<closure> & \u{e9}t\u{e9} ]]>\n".as_bytes());
    bytes
}

fn ids(deliveries: &[Delivery]) -> Vec<i64> {
    deliveries.iter().map(|d| d.id).collect()
}

/// The whole of a list request's answer, which must succeed.
fn listed(app: &TestApp, request: DeliveryRequest) -> (i64, Vec<i64>) {
    let listing = app.list_deliveries(&request);
    (listing.total_items, listing.ids())
}

#[track_caller]
fn assert_between(at: &str, before: DateTime<Utc>, after: DateTime<Utc>) {
    let at = instant(at);
    assert!(
        before.trunc_subsecs(6) <= at && at <= after,
        "{at} is not between {before} and {after}"
    );
}

/// The paths of a daily file, its voucher and its signature.
fn daily_paths(file: &DataFile) -> [std::path::PathBuf; 3] {
    [
        file.path.clone(),
        voucher_path(&file.path),
        signature_path(&file.path),
    ]
}

/// What a refusal says (HTTP status, fault code, reason, fields, diagnostic), with `id`
/// written `ID`: tickets and times left out.
fn refusal_shape(answer: &Answer, id: &str) -> String {
    let diagnostic = answer
        .text(&["serviceFault", "detail", "diagnostic"])
        .unwrap_or_default();
    format!(
        "{} {:?} {:?} {:?} {diagnostic}",
        answer.http_status,
        answer.faultcode(),
        answer.reason_code(),
        answer.fault_fields()
    )
    .replace(id, "ID")
}

fn ledger_row(ledger: &[serde_json::Value], id: i64) -> &serde_json::Value {
    ledger
        .iter()
        .find(|row| row["id"] == id)
        .unwrap_or_else(|| panic!("delivery {id} is not in the ledger {ledger:#?}"))
}

// --- 1. Daily files ----------------------------------------------------------------------------

fn every_daily_file_is_a_delivery_of_its_receiver(backend: Backend) {
    let started = Utc::now();
    let (app, batch) = two_days_delivered(backend);
    let finished = Utc::now();
    let (yesterday, d) = (days_before(today(), 1), today());
    // A date run again makes no second file, nor a second delivery.
    assert_eq!(batch.run_ok(d)["files"], 0);

    for (org, records) in [(org_a(), [0, 1]), (org_b(), [0, 0])] {
        let files = batch.files_of(&org.cbe);
        assert_eq!(files.len(), 2, "{}", org.cbe);
        let mailbox = app.mailbox(&org);
        assert_eq!(mailbox.len(), 2, "{}: {mailbox:#?}", org.cbe);
        assert!(mailbox[0].id < mailbox[1].id, "not oldest first");
        let days: [NaiveDate; 2] = [yesterday, d];
        for (n, (delivery, file)) in mailbox.iter().zip(&files).enumerate() {
            let context = format!("{} #{}", org.cbe, n + 1);
            assert_eq!(delivery.file_type, PERSON_MUTATIONS, "{context}");
            assert_eq!(
                delivery.file_name,
                format!(
                    "PERSON_MUTATIONS_{}_{}_{:06}.xml",
                    org.cbe,
                    compact(days[n]),
                    n + 1
                ),
                "{context}"
            );
            assert_eq!(delivery.file_name, file.name, "{context}");
            assert_eq!(
                delivery.reference_date.as_deref(),
                Some(iso(days[n]).as_str())
            );
            assert_eq!(delivery.sequence_number, Some(n as i64 + 1), "{context}");
            assert_eq!(delivery.record_count, Some(records[n]), "{context}");
            assert_eq!(delivery.record_count, Some(file.record_count as i64));
            assert_eq!(delivery.size, file.bytes.len() as u64, "{context}");
            assert_eq!(delivery.sha256, sha256_hex(&file.bytes), "{context}");
            assert_eq!(delivery.subject, None, "{context}");
            assert!(!delivery.registered, "{context}");
            assert_eq!(delivery.state, "AVAILABLE", "{context}");
            assert_eq!(delivery.first_download, None, "{context}");
            assert_between(&delivery.published_at, started, finished);
            assert_eq!(
                instant(&delivery.expires_at) - instant(&delivery.published_at),
                Duration::days(60),
                "{context}: the default retention of a daily file"
            );

            let fetched = app.fetch(&org, delivery.id);
            assert_eq!(fetched.delivery.unread(), *delivery, "{context}");
            assert!(
                fetched.content == file.bytes,
                "{context}: not the file's bytes"
            );
            let voucher = std::fs::read(voucher_path(&file.path)).expect("the voucher");
            assert!(
                fetched.voucher.as_deref() == Some(&voucher[..]),
                "{context}: not the voucher's bytes"
            );
            let signature_text =
                std::fs::read_to_string(signature_path(&file.path)).expect("the signature");
            let signature = decode(signature_text.trim()).expect("base64");
            assert_eq!(signature.len(), 64, "{context}");
            assert_eq!(fetched.signature, Some(signature.clone()), "{context}");

            // What the mailbox served verifies with the sender's public key (openssl).
            let served_voucher = app.path("served.voucher.xml");
            let served_signature = app.path("served.voucher.sig");
            std::fs::write(&served_voucher, fetched.voucher.as_deref().unwrap()).unwrap();
            std::fs::write(&served_signature, format!("{}\n", signature_text.trim())).unwrap();
            assert_signature_valid(&served_voucher, &served_signature, &batch.public_key);
        }
    }
    // One run's files are published at the same moment, in every mailbox.
    assert_eq!(
        app.mailbox(&org_a())[1].published_at,
        app.mailbox(&org_b())[1].published_at
    );
}

// --- 2. Receipt --------------------------------------------------------------------------------

fn the_first_download_is_the_proof_of_receipt(backend: Backend) {
    let (app, _batch) = two_days_delivered(backend);
    app.add_credential(&alice_2());
    let a = org_a();
    let unread = app.mailbox(&a);
    let (first, second) = (unread[0].id, unread[1].id);
    let downloaded = |flag: &str| listed(&app, DeliveryRequest::list(&a).field("downloaded", flag));
    assert_eq!(downloaded("false"), (2, vec![first, second]));
    assert_eq!(downloaded("true"), (0, vec![]));

    let before = Utc::now();
    let fetched = app.fetch(&a, first);
    let after = Utc::now();
    assert_eq!(fetched.delivery.state, "DOWNLOADED");
    let receipt = fetched.delivery.first_download.clone().expect("a receipt");
    assert_eq!(receipt.by, a.username);
    assert_between(&receipt.at, before, after);

    // The list shows it; the other delivery is still unread.
    let mailbox = app.mailbox(&a);
    assert_eq!(mailbox[0], fetched.delivery);
    assert_eq!(mailbox[1], unread[1]);

    // A second download, by another user of the organisation, keeps the first receipt.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = app.fetch(&alice_2(), first);
    assert_eq!(again.delivery.first_download, Some(receipt.clone()));
    assert_eq!(again.delivery.state, "DOWNLOADED");
    assert!(again.content == fetched.content);
    assert_eq!(app.mailbox_events(first, "delivery.downloaded"), 1);
    assert_eq!(app.mailbox_events(second, "delivery.downloaded"), 0);

    assert_eq!(downloaded("true"), (1, vec![first]));
    assert_eq!(downloaded("false"), (1, vec![second]));
    // xs:boolean's other spellings.
    assert_eq!(downloaded("1"), (1, vec![first]));
    assert_eq!(downloaded(" 0 "), (1, vec![second]));

    // The sender sees who downloaded what, and when; newest first.
    let ledger = app.ledger(&a.cbe);
    let ledger_ids: Vec<i64> = ledger.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ledger_ids, [second, first]);
    let row = ledger_row(&ledger, first);
    assert_eq!(row["state"], "DOWNLOADED", "{row}");
    assert_eq!(
        row["firstDownload"],
        serde_json::json!({"at": receipt.at, "by": "alice"}),
        "{row}"
    );
    assert_eq!(row["fileName"], fetched.delivery.file_name.as_str());
    assert_eq!(row["fileType"], PERSON_MUTATIONS);
    assert_eq!(row["sequenceNumber"], 1);
    assert_eq!(row["size"], fetched.delivery.size);
    assert_eq!(row["sha256"], fetched.delivery.sha256.as_str());
    assert_eq!(row["publishedAt"], fetched.delivery.published_at.as_str());
    assert_eq!(row["expiresAt"], fetched.delivery.expires_at.as_str());
    let row = ledger_row(&ledger, second);
    assert_eq!(row["state"], "AVAILABLE", "{row}");
    assert!(row["firstDownload"].is_null(), "{row}");
    // B's mailbox is untouched by A's downloads.
    assert!(app
        .ledger(&org_b().cbe)
        .iter()
        .all(|row| row["state"] == "AVAILABLE" && row["firstDownload"].is_null()));
}

// --- 3. Isolation ------------------------------------------------------------------------------

fn a_mailbox_is_its_organisations_alone(backend: Backend) {
    let (app, _batch) = two_days_delivered(backend);
    let (a, b) = (org_a(), org_b());
    let of_a: BTreeSet<i64> = ids(&app.mailbox(&a)).into_iter().collect();
    let of_b: BTreeSet<i64> = ids(&app.mailbox(&b)).into_iter().collect();
    assert_eq!((of_a.len(), of_b.len()), (2, 2));
    assert!(of_a.is_disjoint(&of_b), "{of_a:?} {of_b:?}");

    let theirs = *of_a.iter().next().unwrap();
    let none = of_a.iter().chain(&of_b).max().unwrap() + 1000;
    let refused = app
        .call_delivery(&DeliveryRequest::get(&b, theirs))
        .fault("DELIVERY_UNKNOWN");
    assert_eq!(
        refused.fault_fields(),
        fields(&[("id", &theirs.to_string())])
    );
    let missing = app
        .call_delivery(&DeliveryRequest::get(&b, none))
        .fault("DELIVERY_UNKNOWN");
    assert_eq!(missing.fault_fields(), fields(&[("id", &none.to_string())]));
    assert_eq!(
        refusal_shape(&refused, &theirs.to_string()),
        refusal_shape(&missing, &none.to_string()),
        "another organisation's delivery is told apart from none"
    );

    // B's credential cannot act for A (nor for an organisation not onboarded).
    for cbe in [a.cbe.as_str(), "0456973433"] {
        for request in [DeliveryRequest::list(&b), DeliveryRequest::get(&b, theirs)] {
            let answer = app
                .call_delivery(&request.with(|r| r.cbe(cbe)))
                .fault("NOT_ALLOWED");
            assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
            assert!(!answer.body.contains("<delivery:id>"), "{}", answer.body);
        }
    }
    // Nor can a wrong password or no credential.
    app.call_delivery(&DeliveryRequest::get(&a, theirs).with(|r| r.password("wrong-secret-000")))
        .fault("NOT_AUTHENTICATED");
    app.call_delivery(&DeliveryRequest::get(&a, theirs).with(|r| r.security(Security::None)))
        .fault("NOT_AUTHENTICATED");

    // None of it was a download.
    assert!(app
        .ledger(&a.cbe)
        .iter()
        .all(|row| row["state"] == "AVAILABLE" && row["firstDownload"].is_null()));
    assert_eq!(app.mailbox_events(theirs, "delivery.downloaded"), 0);
    // And B's mailbox still lists B's deliveries only.
    assert_eq!(
        ids(&app.mailbox(&b)).into_iter().collect::<BTreeSet<_>>(),
        of_b
    );
}

// --- 4. Broadcasts -----------------------------------------------------------------------------

fn a_broadcast_is_stored_once_and_delivered_to_each_mailbox(backend: Backend) {
    let app = TestApp::start(backend);
    app.add_org(&org_c());
    let orgs = [org_a(), org_b(), org_c()];
    let bytes = binary_document();
    let file = document(&app, "closure-2026.pdf", &bytes);
    let subject = "Closure on 24 December";

    let before = Utc::now();
    let output = app.publish(
        &[],
        &[
            "--to",
            "all",
            "--subject",
            subject,
            "--file",
            &file,
            "--operator",
            "ops-anna",
        ],
    );
    let stdout = succeeded("raas admin publish", &output);
    assert!(stdout.contains(" published to 3 mailbox(es): "), "{stdout}");
    assert!(
        stdout.contains(&format!("{} bytes", bytes.len())),
        "{stdout}"
    );
    assert!(stdout.contains(&sha256_hex(&bytes)), "{stdout}");
    let after = Utc::now();

    // Stored once, under broadcasts/<uuid>/<its name>.
    let stored = entries(&app.broadcasts());
    assert_eq!(stored.len(), 2, "{stored:?}");
    let folder = stored[0].trim_end_matches('/');
    assert!(uuid::Uuid::parse_str(folder).is_ok(), "{stored:?}");
    assert_eq!(stored[1], format!("{folder}/closure-2026.pdf"));
    assert!(std::fs::read(app.broadcasts().join(&stored[1])).unwrap() == bytes);

    let mut delivered = BTreeSet::new();
    for org in &orgs {
        let mailbox = app.mailbox(org);
        assert_eq!(mailbox.len(), 1, "{}: {mailbox:#?}", org.cbe);
        let delivery = &mailbox[0];
        assert_eq!(delivery.file_type, BROADCAST);
        assert_eq!(delivery.file_name, "closure-2026.pdf");
        assert_eq!(delivery.subject.as_deref(), Some(subject));
        assert_eq!(delivery.reference_date, None);
        assert_eq!(delivery.sequence_number, None);
        assert_eq!(delivery.record_count, None);
        assert_eq!(delivery.size, bytes.len() as u64);
        assert_eq!(delivery.sha256, sha256_hex(&bytes));
        assert!(!delivery.registered);
        assert_eq!(delivery.state, "AVAILABLE");
        assert_between(&delivery.published_at, before, after);
        assert_eq!(
            instant(&delivery.expires_at) - instant(&delivery.published_at),
            Duration::days(90),
            "the default retention of a broadcast"
        );
        delivered.insert(delivery.id);
    }
    assert_eq!(delivered.len(), 3, "one delivery per mailbox");
    let c_delivery = app.mailbox(&org_c())[0].id;
    let fetched = app.fetch(&org_c(), c_delivery);
    assert!(fetched.content == bytes, "not the document's bytes");
    assert_eq!((fetched.voucher, fetched.signature), (None, None));
    let row = ledger_row(&app.ledger(&org_c().cbe), c_delivery).clone();
    assert_eq!(row["subject"], subject);
    assert_eq!(row["fileType"], BROADCAST);
    assert_eq!(row["firstDownload"]["by"], "carol");

    // To a list of organisations (one named twice: one delivery), registered.
    let circular = document(&app, "circular_7.txt", b"Read me, please.\n");
    let (_, mailboxes) = app.publish_ok(
        &[],
        &[
            "--cbe",
            &org_a().cbe,
            "--cbe",
            &org_c().cbe,
            "--cbe",
            &org_a().cbe,
            "--subject",
            "Circular 7",
            "--file",
            &circular,
            "--registered",
            "--operator",
            "ops-anna",
        ],
    );
    assert_eq!(mailboxes, 2);
    for org in [org_a(), org_c()] {
        let mailbox = app.mailbox(&org);
        assert_eq!(mailbox.len(), 2, "{}", org.cbe);
        assert_eq!(mailbox[1].file_name, "circular_7.txt");
        assert_eq!(mailbox[1].subject.as_deref(), Some("Circular 7"));
        assert!(mailbox[1].registered, "{:?}", mailbox[1]);
        assert!(!mailbox[0].registered);
    }
    assert_eq!(app.mailbox(&org_b()).len(), 1);
    let stored = entries(&app.broadcasts());
    assert_eq!(stored.len(), 4, "{stored:?}");

    // Refused as a whole: an organisation not onboarded, an invalid number, contradictory
    // or missing recipients, no subject. Nothing delivered, no file left.
    let other = document(&app, "other.txt", b"never delivered\n");
    let refusals: [(&[&str], &str); 5] = [
        (
            &["--cbe", &org_a().cbe, "--cbe", "0456973433"],
            "0456973433",
        ),
        (&["--cbe", "0456973434"], "0456973434"),
        (&["--to", "all", "--cbe", &org_a().cbe], "--cbe"),
        (&["--to", "everyone"], "everyone"),
        (&[], "--to"),
    ];
    for (recipients, needle) in refusals {
        let args: Vec<&str> = recipients
            .iter()
            .copied()
            .chain([
                "--subject",
                "Other",
                "--file",
                &other,
                "--operator",
                "ops-anna",
            ])
            .collect();
        let output = app.publish(&[], &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} accepted");
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
    }
    let output = app.publish(
        &[],
        &[
            "--to",
            "all",
            "--subject",
            " ",
            "--file",
            &other,
            "--operator",
            "ops-anna",
        ],
    );
    assert!(!output.status.success(), "an empty subject accepted");
    assert_eq!(
        entries(&app.broadcasts()),
        stored,
        "a refused broadcast left a file"
    );
    for (org, n) in [(org_a(), 2), (org_b(), 1), (org_c(), 2)] {
        assert_eq!(app.mailbox(&org).len(), n, "{}", org.cbe);
        assert_eq!(app.ledger(&org.cbe).len(), n, "{}", org.cbe);
    }
}

// --- 5. Expiry ---------------------------------------------------------------------------------

fn an_expired_delivery_leaves_every_mailbox_but_stays_in_the_ledger(backend: Backend) {
    let app = TestApp::start(backend);
    let batch = app.batch();
    let (a, b) = (org_a(), org_b());
    let d = today();
    for org in [&a, &b] {
        app.subscribe(&org.cbe, PERSON_MUTATIONS, &[], &[]);
    }
    app.backdate_subscriptions(days_before(d, 1));
    batch.run_ok(days_before(d, 1));
    // Retention per file type (a global flag): today's files stay 5 days, the broadcast 2.
    succeeded(
        "raas batch run",
        &common::app::run_with_input(
            batch
                .command()
                .args(["--delivery-retention", "PERSON_MUTATIONS=5"])
                .args(["batch", "run", "--quiet", "--date", &iso(d)]),
            "",
        ),
    );
    let notice = document(&app, "maintenance.txt", b"Maintenance on Sunday.\n");
    app.publish_ok(
        &["--delivery-retention", "BROADCAST=2"],
        &[
            "--to",
            "all",
            "--subject",
            "Maintenance",
            "--file",
            &notice,
            "--operator",
            "ops",
        ],
    );
    let mailbox = app.mailbox(&a);
    assert_eq!(mailbox.len(), 3, "{mailbox:#?}");
    let (old, new, broadcast) = (&mailbox[0], &mailbox[1], &mailbox[2]);
    assert_eq!(broadcast.file_type, BROADCAST);
    let kept_for =
        |delivery: &Delivery| instant(&delivery.expires_at) - instant(&delivery.published_at);
    assert_eq!(
        [kept_for(old), kept_for(new), kept_for(broadcast)],
        [Duration::days(60), Duration::days(5), Duration::days(2)]
    );
    let b_mailbox = app.mailbox(&b);
    let b_broadcast = b_mailbox[2].id;

    let receipt = app
        .fetch(&a, old.id)
        .delivery
        .first_download
        .expect("a receipt");
    let old_file = batch.file(&a.cbe, PERSON_MUTATIONS, days_before(d, 1));
    let b_old_file = batch.file(&b.cbe, PERSON_MUTATIONS, days_before(d, 1));
    let stored = entries(&app.broadcasts());
    assert_eq!(stored.len(), 2, "{stored:?}");

    // A's file of yesterday and the broadcast (one document for every mailbox) are due; the
    // sweep also gives the notices owed: the files kept five days (A's and B's) expire within
    // the alert window.
    app.make_due(&[old.id, broadcast.id]);
    assert_eq!(
        app.expire_deliveries(),
        "2 document(s) expired, 2 document(s)' files removed\n\
         0 unread reminder(s), 2 expiry alert(s), 0 e-mail(s) enqueued"
    );

    assert_eq!(ids(&app.mailbox(&a)), [new.id]);
    assert_eq!(ids(&app.mailbox(&b)), ids(&b_mailbox[..2]));
    for (org, id) in [(&a, old.id), (&a, broadcast.id), (&b, b_broadcast)] {
        let answer = app
            .call_delivery(&DeliveryRequest::get(org, id))
            .fault("DELIVERY_EXPIRED");
        assert_eq!(answer.fault_fields(), fields(&[("id", &id.to_string())]));
    }
    for path in daily_paths(&old_file) {
        assert!(!path.exists(), "{} is still there", path.display());
    }
    assert_eq!(entries(&app.broadcasts()), Vec::<String>::new());
    // What has not expired is untouched, and still served.
    for path in daily_paths(&b_old_file) {
        assert!(path.exists(), "{} was removed", path.display());
    }
    assert!(app.fetch(&b, b_mailbox[0].id).content == b_old_file.bytes);

    // The ledger keeps them, expired, with the receipt.
    let ledger = app.ledger(&a.cbe);
    assert_eq!(ledger.len(), 3, "{ledger:#?}");
    let row = ledger_row(&ledger, old.id);
    assert_eq!(row["state"], "EXPIRED", "{row}");
    assert_eq!(
        row["firstDownload"],
        serde_json::json!({"at": receipt.at, "by": "alice"}),
        "{row}"
    );
    assert_eq!(row["fileName"], old.file_name.as_str());
    let row = ledger_row(&ledger, broadcast.id);
    assert_eq!(row["state"], "EXPIRED", "{row}");
    assert!(row["firstDownload"].is_null(), "{row}");
    assert_eq!(ledger_row(&ledger, new.id)["state"], "AVAILABLE");
    let b_row = ledger_row(&app.ledger(&b.cbe), b_broadcast).clone();
    assert_eq!(b_row["state"], "EXPIRED", "{b_row}");
    assert!(
        b_row["firstDownload"].is_null(),
        "a refused download wrote a receipt"
    );
    for id in [old.id, broadcast.id, b_broadcast] {
        assert_eq!(app.mailbox_events(id, "delivery.expired"), 1, "{id}");
    }

    // The sweep again: nothing more.
    let outbox = batch.snapshot();
    let ledgers = (app.ledger(&a.cbe), app.ledger(&b.cbe));
    assert_eq!(
        app.expire_deliveries(),
        "0 document(s) expired, 0 document(s)' files removed\n\
         0 unread reminder(s), 0 expiry alert(s), 0 e-mail(s) enqueued"
    );
    assert!(batch.snapshot() == outbox, "the outbox changed");
    assert_eq!((app.ledger(&a.cbe), app.ledger(&b.cbe)), ledgers);
    for id in [old.id, broadcast.id, b_broadcast] {
        assert_eq!(app.mailbox_events(id, "delivery.expired"), 1, "{id}");
    }
    assert_eq!(ids(&app.mailbox(&a)), [new.id]);
}

// --- 6. Pages and filters ----------------------------------------------------------------------

fn pages_and_filters_select_from_the_mailbox_oldest_first(backend: Backend) {
    let app = TestApp::start(backend);
    let batch = app.batch();
    let a = org_a();
    let d = today();
    app.subscribe(&a.cbe, PERSON_MUTATIONS, &[], &[]);
    app.subscribe_dimona(&a.cbe, &[], "DELIB-A", days_before(d, 5), None);
    app.backdate_subscriptions(days_before(d, 1));
    let publish = |name: &str, subject: &str| {
        let file = document(&app, name, subject.as_bytes());
        app.publish_ok(
            &[],
            &[
                "--cbe",
                &a.cbe,
                "--subject",
                subject,
                "--file",
                &file,
                "--operator",
                "ops",
            ],
        );
    };
    batch.run_ok(days_before(d, 1));
    publish("first.txt", "First");
    batch.run_ok(d);
    publish("second.txt", "Second");

    // The whole mailbox, oldest first: a run's two files, a broadcast, the next run's, the
    // other broadcast.
    let all = app.mailbox(&a);
    assert_eq!(all.len(), 6, "{all:#?}");
    let all_ids = ids(&all);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");
    let kinds = |range: std::ops::Range<usize>| -> BTreeSet<(String, Option<i64>)> {
        all[range]
            .iter()
            .map(|d| (d.file_type.clone(), d.sequence_number))
            .collect()
    };
    let daily = |n: i64| -> BTreeSet<(String, Option<i64>)> {
        [PERSON_MUTATIONS, DIMONA_MUTATIONS]
            .iter()
            .map(|t| (t.to_string(), Some(n)))
            .collect()
    };
    assert_eq!(kinds(0..2), daily(1));
    assert_eq!(all[2].subject.as_deref(), Some("First"));
    assert_eq!(kinds(3..5), daily(2));
    assert_eq!(all[5].subject.as_deref(), Some("Second"));
    let by_type = |t: &str| -> Vec<i64> {
        all.iter()
            .filter(|d| d.file_type == t)
            .map(|d| d.id)
            .collect()
    };

    // Pages.
    let list = || DeliveryRequest::list(&a);
    let page = |page: &str, size: &str| {
        app.list_deliveries(&list().field("page", page).field("pageSize", size))
    };
    let first = page("1", "4");
    assert_eq!(
        (first.total_items, first.page, first.page_size, first.ids()),
        (6, 1, 4, all_ids[..4].to_vec())
    );
    let second = page("2", "4");
    assert_eq!(
        (second.total_items, second.page, second.ids()),
        (6, 2, all_ids[4..].to_vec())
    );
    let beyond = page("3", "4");
    assert_eq!((beyond.total_items, beyond.page), (6, 3));
    assert_eq!(beyond.status, "NO_RESULT");
    assert!(beyond.deliveries.is_empty());
    assert_eq!(page("6", "1").ids(), [all_ids[5]]);
    assert_eq!(page("+2", "3").ids(), all_ids[3..].to_vec());
    let default = app.list_deliveries(&list());
    assert_eq!(
        (default.page, default.page_size, default.ids()),
        (1, 20, all_ids.clone())
    );
    let largest = page("1", "100");
    assert_eq!(largest.page_size, 100);

    // Filters.
    let filtered = |fields: &[(&str, &str)]| {
        let request = fields
            .iter()
            .fold(list(), |request, (name, value)| request.field(name, value));
        listed(&app, request)
    };
    let total = |ids: &[i64]| (ids.len() as i64, ids.to_vec());
    assert_eq!(
        filtered(&[("fileType", BROADCAST)]),
        total(&by_type(BROADCAST))
    );
    assert_eq!(by_type(BROADCAST), [all_ids[2], all_ids[5]]);
    assert_eq!(
        filtered(&[("fileType", DIMONA_MUTATIONS)]),
        total(&by_type(DIMONA_MUTATIONS))
    );
    assert_eq!(
        filtered(&[("fileType", PERSON_MUTATIONS)]),
        total(&by_type(PERSON_MUTATIONS))
    );
    // afterSequence: daily files whose number is greater (broadcasts have none).
    assert_eq!(filtered(&[("afterSequence", "1")]), total(&all_ids[3..5]));
    assert_eq!(
        filtered(&[("afterSequence", "0")]),
        total(&[all_ids[0], all_ids[1], all_ids[3], all_ids[4]])
    );
    assert_eq!(
        filtered(&[("fileType", PERSON_MUTATIONS), ("afterSequence", "1")]),
        total(&by_type(PERSON_MUTATIONS)[1..])
    );
    assert_eq!(filtered(&[("afterSequence", "2")]), (0, vec![]));
    // receivedAfter: published strictly after; a publishedAt given back selects what came
    // later, in any zone, or without one (UTC).
    let first_run_at = &all[0].published_at;
    assert_eq!(all[1].published_at, *first_run_at, "one run, one moment");
    assert_eq!(
        filtered(&[("receivedAfter", first_run_at)]),
        total(&all_ids[2..])
    );
    let broadcast_at = instant(&all[2].published_at);
    let in_brussels = broadcast_at
        .with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::Micros, false);
    let without_zone = broadcast_at
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    for after in [all[2].published_at.as_str(), &in_brussels, &without_zone] {
        assert_eq!(
            filtered(&[("receivedAfter", after)]),
            total(&all_ids[3..]),
            "receivedAfter {after}"
        );
    }
    assert_eq!(
        filtered(&[("receivedAfter", &all[5].published_at)]),
        (0, vec![])
    );
    let earlier =
        (broadcast_at - Duration::microseconds(1)).to_rfc3339_opts(SecondsFormat::Micros, true);
    assert_eq!(
        filtered(&[("receivedAfter", &earlier)]),
        total(&all_ids[2..])
    );
    // Together, with a page.
    let together = app.list_deliveries(
        &list()
            .field("fileType", BROADCAST)
            .field("receivedAfter", first_run_at)
            .field("downloaded", "false")
            .field("pageSize", "1")
            .field("page", "2"),
    );
    assert_eq!(
        (together.total_items, together.ids()),
        (2, vec![all_ids[5]])
    );
    app.fetch(&a, all_ids[2]);
    assert_eq!(
        filtered(&[("fileType", BROADCAST), ("downloaded", "true")]),
        total(&[all_ids[2]])
    );
    assert_eq!(
        filtered(&[("fileType", BROADCAST), ("downloaded", "false")]),
        total(&[all_ids[5]])
    );
    assert_eq!(filtered(&[("downloaded", "false")]).0, 5);
    // Another mailbox has none of it.
    let empty = app.list_deliveries(&DeliveryRequest::list(&org_b()));
    assert_eq!((empty.status.as_str(), empty.total_items), ("NO_RESULT", 0));
}

// --- 7. Refusals -------------------------------------------------------------------------------

/// A refused request: what it is, the request, and its reason code with the field it names
/// (`None`: no field).
type Refused = (
    &'static str,
    DeliveryRequest,
    &'static str,
    Option<(&'static str, &'static str)>,
);

fn case((what, request, reason, field): Refused) -> Case {
    Case {
        what,
        operation: request.request.operation,
        body: request.to_xml().into_bytes(),
        reason,
        faultcode: "soapenv:Client",
        fields: field.map(|pair| fields(&[pair])).unwrap_or_default(),
    }
}

const INVALID: &str = "INVALID_FIELD";
const MALFORMED: &str = "MALFORMED_REQUEST";

fn bad_fields_are_refused_naming_the_field(backend: Backend) {
    let (app, _batch) = two_days_delivered(backend);
    let a = org_a();
    let id = app.mailbox(&a)[0].id;
    let get = |value: &str| DeliveryRequest::get(&a, value);
    let list = |name: &str, value: &str| DeliveryRequest::list(&a).field(name, value);
    let long = "99999999999999999999";
    let id_text = id.to_string();
    let without_id = DeliveryRequest {
        fields: vec![],
        ..get(&id_text)
    };
    let refusals: Vec<Refused> = vec![
        ("id abc", get("abc"), INVALID, Some(("id", "abc"))),
        ("id empty", get(""), INVALID, Some(("id", ""))),
        ("id 1.5", get("1.5"), INVALID, Some(("id", "1.5"))),
        ("id past xs:long", get(long), INVALID, Some(("id", long))),
        ("id missing", without_id, MALFORMED, Some(("id", ""))),
        (
            "id twice",
            get("1").field("id", "1"),
            MALFORMED,
            Some(("id", "")),
        ),
        (
            "pageSize 0",
            list("pageSize", "0"),
            INVALID,
            Some(("pageSize", "0")),
        ),
        (
            "pageSize 101",
            list("pageSize", "101"),
            INVALID,
            Some(("pageSize", "101")),
        ),
        (
            "pageSize ten",
            list("pageSize", "ten"),
            INVALID,
            Some(("pageSize", "ten")),
        ),
        ("page 0", list("page", "0"), INVALID, Some(("page", "0"))),
        ("page -1", list("page", "-1"), INVALID, Some(("page", "-1"))),
        (
            "fileType OTHER",
            list("fileType", "OTHER"),
            INVALID,
            Some(("fileType", "OTHER")),
        ),
        (
            "fileType in lower case",
            list("fileType", "broadcast"),
            INVALID,
            Some(("fileType", "broadcast")),
        ),
        (
            "receivedAfter yesterday",
            list("receivedAfter", "yesterday"),
            INVALID,
            Some(("receivedAfter", "yesterday")),
        ),
        (
            "receivedAfter a date",
            list("receivedAfter", "2026-12-01"),
            INVALID,
            Some(("receivedAfter", "2026-12-01")),
        ),
        (
            "downloaded maybe",
            list("downloaded", "maybe"),
            INVALID,
            Some(("downloaded", "maybe")),
        ),
        (
            "downloaded TRUE",
            list("downloaded", "TRUE"),
            INVALID,
            Some(("downloaded", "TRUE")),
        ),
        (
            "afterSequence x",
            list("afterSequence", "x"),
            INVALID,
            Some(("afterSequence", "x")),
        ),
        (
            "fileType twice",
            list("fileType", BROADCAST).field("fileType", BROADCAST),
            MALFORMED,
            Some(("fileType", "")),
        ),
        (
            "pageSize twice",
            list("pageSize", "5").field("pageSize", "5"),
            MALFORMED,
            Some(("pageSize", "")),
        ),
        (
            "an operation of another service",
            DeliveryRequest::operation(&a, "consultRegister"),
            "UNKNOWN_OPERATION",
            None,
        ),
    ];
    let cases: Vec<Case> = refusals.into_iter().map(case).collect();
    let n = cases.len();
    let tickets = send_refused(&app, DELIVERY_PATH, &cases);
    assert_eq!(tickets.len(), n);

    // One audit entry each, with its outcome; no receipt written.
    let trail: Vec<serde_json::Value> = app
        .audit(None)
        .into_iter()
        .filter(|e| e["service"] == DELIVERY_SERVICE)
        .rev()
        .collect();
    assert_eq!(trail.len(), n + 1, "one entry a refusal (and the listing)");
    for ((case, ticket), entry) in cases.iter().zip(&tickets).zip(&trail[1..]) {
        assert_eq!(entry["serverTicket"], ticket.as_str(), "{}", case.what);
        assert_eq!(entry["outcome"], case.reason, "{}", case.what);
    }
    assert!(app
        .ledger(&a.cbe)
        .iter()
        .all(|row| row["state"] == "AVAILABLE" && row["firstDownload"].is_null()));
    assert_eq!(app.mailbox_events(id, "delivery.downloaded"), 0);
    // A well-formed request still gets the delivery.
    assert_eq!(app.fetch(&a, id).delivery.state, "DOWNLOADED");
}

fn a_file_larger_than_the_soap_limit_is_refused(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[
            "--delivery-soap-max-bytes",
            "10",
            "--db-connections",
            "4",
            "--workers",
            "2",
        ],
    );
    let a = org_a();
    for (name, bytes) in [
        ("ten.txt", &b"0123456789"[..]),
        ("eleven.txt", b"0123456789A"),
    ] {
        let file = document(&app, name, bytes);
        app.publish_ok(
            &[],
            &[
                "--cbe",
                &a.cbe,
                "--subject",
                name,
                "--file",
                &file,
                "--operator",
                "ops",
            ],
        );
    }
    let (app, _batch) = two_days_delivered_on(app);
    let mailbox = app.mailbox(&a);
    assert_eq!(mailbox.len(), 4, "{mailbox:#?}");
    let (ten, eleven) = (&mailbox[0], &mailbox[1]);
    assert_eq!((ten.size, eleven.size), (10, 11));
    // At the limit: served.
    assert!(app.fetch(&a, ten.id).content == b"0123456789");
    // Past it: refused, the broadcast and the daily files alike, with no receipt.
    for delivery in &mailbox[1..] {
        let answer = app
            .call_delivery(&DeliveryRequest::get(&a, delivery.id))
            .fault("DELIVERY_TOO_LARGE");
        assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
        assert_eq!(
            answer.fault_fields(),
            fields(&[("id", &delivery.id.to_string())])
        );
        assert!(!answer.body.contains("<delivery:content>"));
    }
    let listed = app.mailbox(&a);
    assert_eq!(listed[0].state, "DOWNLOADED");
    assert!(listed[1..]
        .iter()
        .all(|d| d.state == "AVAILABLE" && d.first_download.is_none()));
    let outcomes: Vec<String> = app
        .audit(None)
        .iter()
        .filter(|e| e["operation"] == "getDelivery")
        .map(|e| e["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        [
            "DELIVERY_TOO_LARGE",
            "DELIVERY_TOO_LARGE",
            "DELIVERY_TOO_LARGE",
            "OK"
        ]
    );
}

// --- 8. Audit ----------------------------------------------------------------------------------

/// A call made and what its audit entry must say.
struct Audited {
    ticket: String,
    operation: &'static str,
    username: Option<&'static str>,
    claimed: String,
    target: Option<String>,
    outcome: &'static str,
}

fn every_call_has_one_audit_entry_naming_its_delivery(backend: Backend) {
    let (app, _batch) = two_days_delivered(backend);
    let (a, b) = (org_a(), org_b());
    let mailbox = app.mailbox(&a);
    let (x, y) = (mailbox[0].id, mailbox[1].id);
    app.make_due(&[y]);
    app.expire_deliveries();
    let before: usize = app
        .audit(None)
        .iter()
        .filter(|e| e["service"] == DELIVERY_SERVICE)
        .count();

    let target = |id: &str| Some(format!("delivery:{id}"));
    let mut calls: Vec<Audited> = Vec::new();
    let mut send = |request: DeliveryRequest,
                    username: Option<&'static str>,
                    target: Option<String>,
                    outcome: &'static str| {
        let answer = app.call_delivery(&request);
        let answer = if outcome == "OK" {
            answer.ok()
        } else {
            answer.fault(outcome)
        };
        calls.push(Audited {
            ticket: answer.server_ticket(),
            operation: request.request.operation,
            username,
            claimed: request.request.cbe.clone(),
            target,
            outcome,
        });
    };
    let xs = x.to_string();
    send(
        DeliveryRequest::list(&a).with(|r| r.legal_context(Some("PCSA:MAILBOX"))),
        Some("alice"),
        None,
        "OK",
    );
    send(
        DeliveryRequest::get(&a, x),
        Some("alice"),
        target(&xs),
        "OK",
    );
    send(
        DeliveryRequest::get(&a, x),
        Some("alice"),
        target(&xs),
        "OK",
    );
    send(
        DeliveryRequest::get(&a, 999_999),
        Some("alice"),
        target("999999"),
        "DELIVERY_UNKNOWN",
    );
    send(
        DeliveryRequest::get(&b, x),
        Some("bob"),
        target(&xs),
        "DELIVERY_UNKNOWN",
    );
    send(
        DeliveryRequest::get(&a, "abc"),
        Some("alice"),
        target("abc"),
        "INVALID_FIELD",
    );
    send(
        DeliveryRequest::get(&b, x).with(|r| r.cbe(&a.cbe)),
        Some("bob"),
        target(&xs),
        "NOT_ALLOWED",
    );
    send(
        DeliveryRequest::get(&a, x).with(|r| r.password("wrong-secret-000")),
        Some("alice"),
        target(&xs),
        "NOT_AUTHENTICATED",
    );
    send(
        DeliveryRequest::list(&a).field("pageSize", "0"),
        Some("alice"),
        None,
        "INVALID_FIELD",
    );
    send(
        DeliveryRequest::get(&a, y),
        Some("alice"),
        target(&y.to_string()),
        "DELIVERY_EXPIRED",
    );

    let trail: Vec<serde_json::Value> = app
        .audit(None)
        .into_iter()
        .filter(|e| e["service"] == DELIVERY_SERVICE)
        .rev()
        .skip(before)
        .collect();
    assert_eq!(trail.len(), calls.len(), "one entry a call: {trail:#?}");
    for (n, (expected, entry)) in calls.iter().zip(&trail).enumerate() {
        let context = format!("call {n}: {entry}");
        assert_eq!(entry["serverTicket"], expected.ticket.as_str(), "{context}");
        assert_eq!(entry["operation"], expected.operation, "{context}");
        assert_eq!(entry["outcome"], expected.outcome, "{context}");
        assert_eq!(
            entry["claimedCbeNumber"],
            expected.claimed.as_str(),
            "{context}"
        );
        assert_eq!(entry["username"].as_str(), expected.username, "{context}");
        assert_eq!(
            entry["target"].as_str(),
            expected.target.as_deref(),
            "{context}"
        );
        assert!(entry["ssin"].is_null(), "{context}");
    }
    assert_eq!(trail[0]["legalContext"], "PCSA:MAILBOX");
    assert!(trail[1]["legalContext"].is_null());
    // The caller's organisation, once authenticated; none otherwise.
    let org_of = |n: usize| trail[n]["organisationId"].clone();
    assert!(org_of(0).is_number());
    assert_eq!(org_of(1), org_of(0));
    assert_ne!(org_of(4), org_of(0), "bob's calls are org B's");
    assert_eq!(org_of(6), org_of(4));
    assert!(org_of(7).is_null(), "{}", trail[7]);
}

backend_tests!(
    every_daily_file_is_a_delivery_of_its_receiver,
    the_first_download_is_the_proof_of_receipt,
    a_mailbox_is_its_organisations_alone,
    a_broadcast_is_stored_once_and_delivered_to_each_mailbox,
    an_expired_delivery_leaves_every_mailbox_but_stays_in_the_ledger,
    pages_and_filters_select_from_the_mailbox_oldest_first,
    bad_fields_are_refused_naming_the_field,
    a_file_larger_than_the_soap_limit_is_refused,
    every_call_has_one_audit_entry_naming_its_delivery,
    a_refused_broadcast_leaves_no_folder_nor_partial_copy,
    an_out_of_range_page_is_refused_with_the_value_sent,
    a_download_is_audited_under_the_delivery_served,
    serve_expires_deliveries_with_the_batch_engine_off,
);

/// `raas serve` without a signing key (the batch engine off) still takes expired broadcasts
/// out of the mailboxes, on its `delivery_schedule`.
fn serve_expires_deliveries_with_the_batch_engine_off(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &["--workers", "1", "--delivery-schedule", "* * * * * *"],
    );
    let notice = app.path("notice.txt");
    std::fs::write(&notice, "maintenance on Saturday\n").unwrap();
    let notice = notice.to_str().unwrap();
    app.publish_ok(
        &[],
        &[
            "--cbe",
            &org_a().cbe,
            "--subject",
            "S",
            "--file",
            notice,
            "--operator",
            "ops",
        ],
    );
    let id = app.mailbox(&org_a())[0].id;
    app.make_due(&[id]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app.mailbox(&org_a()).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the expired delivery is still in the mailbox: {}",
            app.server_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(app.ledger(&org_a().cbe)[0]["state"], "EXPIRED");
    assert!(app.server_log().contains("batch engine off"));
}

// --- Refusals that leave nothing behind, values named as sent, targets as served ----------

/// A refused broadcast leaves nothing under the outbox: neither the partial copy of a source
/// that cannot be read (a directory) nor the folder made for a source that does not exist.
fn a_refused_broadcast_leaves_no_folder_nor_partial_copy(backend: Backend) {
    let app = TestApp::start(backend);
    let folder = app.path("docs");
    std::fs::create_dir_all(&folder).unwrap();
    let missing = app.path("missing.pdf");
    for source in [&folder, &missing] {
        let source = source.to_str().unwrap();
        let output = app.publish(
            &[],
            &[
                "--to",
                "all",
                "--subject",
                "S",
                "--file",
                source,
                "--operator",
                "ops",
            ],
        );
        assert!(!output.status.success(), "{source} published");
        assert_eq!(
            entries(&app.broadcasts()),
            Vec::<String>::new(),
            "refused broadcast of {source} left this under outbox/broadcasts"
        );
    }
    for org in [org_a(), org_b()] {
        assert!(app.mailbox(&org).is_empty());
    }
}

/// A page or page size out of range is refused naming the value received, as every other
/// field (soap/fields.rs: "Each refusal names the field ... and the value received").
fn an_out_of_range_page_is_refused_with_the_value_sent(backend: Backend) {
    let app = TestApp::start(backend);
    for (name, value) in [
        ("pageSize", "99999999999"),
        ("page", "99999999999"),
        ("pageSize", "+0"),
        ("page", "00"),
    ] {
        let answer = app
            .call_delivery(&DeliveryRequest::list(&org_a()).field(name, value))
            .fault("INVALID_FIELD");
        assert_eq!(
            answer.fault_fields(),
            fields(&[(name, value)]),
            "{name} {value}"
        );
    }
}

/// A delivery served is audited under the delivery it served (`delivery:<id>`), however
/// its id was spelled in the request (`+7`, `007` are the xs:long 7).
fn a_download_is_audited_under_the_delivery_served(backend: Backend) {
    let (app, _batch) = two_days_delivered(backend);
    let a = org_a();
    let id = app.mailbox(&a)[0].id;
    for spelling in [format!("00{id}"), format!("+{id}")] {
        let fetched = Fetched::read(&app.call_delivery(&DeliveryRequest::get(&a, &spelling)).ok());
        assert_eq!(fetched.delivery.id, id);
        let trail = app.audit(None);
        assert_eq!(trail[0]["operation"], "getDelivery");
        assert_eq!(
            trail[0]["target"],
            format!("delivery:{id}"),
            "delivery {id} fetched as {spelling:?}"
        );
    }
}
