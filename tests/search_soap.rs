//! searchPersonByPhoneticCriteria as an integrator meets it: the real `raas serve`, SOAP over
//! HTTP. Candidates best first, each a whole person with its register; the maximum; NO_RESULT;
//! canceled numbers never candidates while their final number is; incomplete birth dates
//! with a tolerance; one audit entry per candidate answered. Refusals and arbitrary names:
//! `tests/search_refusals.rs`.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::search::{
    candidates, claeys, claeys_search, claeys_swapped, dewulf, dewulf_replacements, maes, mertens,
    numbers, person_fields, start, wouters, Found, Search, CLAEYS_BIRTH, MAES_BIRTH, OPERATION,
};
use common::soap::IdentRequest;
use common::source::standard_persons;
use common::{fields, org_a, Backend, TestApp, NISS_1, NISS_BIS};

const SERVICE: &str = "PersonIdentificationService";

/// The numbers found, in order.
fn ssins(found: &[Found]) -> Vec<String> {
    found.iter().map(|f| f.ssin.clone()).collect()
}

/// The numbers a successful search answers, as a set.
fn found_set(app: &TestApp, search: &Search) -> BTreeSet<String> {
    let answer = app.search(search).ok();
    ssins(&candidates(&answer)).into_iter().collect()
}

fn set_of(numbers: &[&String]) -> BTreeSet<String> {
    numbers.iter().map(|n| n.to_string()).collect()
}

/// The person identifyPerson shows for a number.
fn identified(app: &TestApp, ssin: &str) -> Vec<(String, String)> {
    let answer = app.call_ident(&IdentRequest::identify(&org_a(), ssin)).ok();
    person_fields(answer.doc().find(&["person"]).expect("a person"))
}

#[track_caller]
fn assert_best_first(found: &[Found]) {
    assert!(
        found.windows(2).all(|w| w[0].score >= w[1].score),
        "scores not best first: {:?}",
        found.iter().map(|f| f.score).collect::<Vec<_>>()
    );
    assert!(found.iter().all(|f| f.score <= 100));
    let distinct: BTreeSet<&str> = found.iter().map(|f| f.ssin.as_str()).collect();
    assert_eq!(distinct.len(), found.len(), "a number answered twice");
}

fn finds_candidates_best_first_as_whole_persons(backend: Backend) {
    let app = start(backend);
    let search = claeys_search().set("firstName", "Jan").set("gender", "M");
    let answer = app.search(&search).ok();
    assert_eq!(
        (answer.status(), answer.status_code()),
        ("DATA_FOUND".into(), "MSG00000".into())
    );
    assert!(
        answer
            .body
            .contains("searchPersonByPhoneticCriteriaResponse"),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.text(&["informationCustomer", "ticket"]),
        Some(search.request.ticket.clone())
    );
    let found = candidates(&answer);
    // Fifteen men named Claeys come close; ten are answered when the request does not say.
    assert_eq!(found.len(), 10, "{}", answer.body);
    assert_best_first(&found);
    assert_eq!(
        found[0].ssin,
        claeys()[0].ssin,
        "Jan Claeys born that day first"
    );
    assert!(found[0].score > found[found.len() - 1].score);
    // The day and month swapped is near, not far.
    assert!(ssins(&found).contains(&claeys_swapped().ssin));
    let family: BTreeSet<String> = numbers(&claeys())
        .into_iter()
        .chain([claeys_swapped().ssin])
        .collect();
    for candidate in &found {
        assert!(family.contains(&candidate.ssin), "{}", candidate.ssin);
        // The whole person, as identifyPerson shows it, register included.
        assert_eq!(candidate.person, identified(&app, &candidate.ssin));
        assert!(candidate.person.contains(&("register".into(), "RN".into())));
    }
    // Guy Claeys has no address: none is shown.
    let guy = &claeys()[13].ssin;
    let all = candidates(&app.search(&claeys_search().set("maximum", "80")).ok());
    let guy = all.iter().find(|f| &f.ssin == guy).expect("Guy Claeys");
    assert!(guy
        .person
        .iter()
        .all(|(name, _)| !name.starts_with("address")));

    // A BIS number is a candidate like any other, shown as BIS.
    let kowalski = standard_persons()
        .into_iter()
        .find(|p| p.ssin == NISS_BIS)
        .expect("the BIS person");
    let answer = app
        .search(&Search::new(&org_a(), "Kowalsky", &kowalski.birth_date).set("firstName", "Piotr"))
        .ok();
    let found = candidates(&answer);
    assert_eq!(found[0].ssin, NISS_BIS, "{}", answer.body);
    assert!(found[0].person.contains(&("register".into(), "BIS".into())));
    assert_eq!(found[0].person, identified(&app, NISS_BIS));

    // Particles joined where the source splits them.
    let van_den_berghe = &standard_persons()[0];
    let answer = app
        .search(&Search::new(
            &org_a(),
            "Vandenberghe",
            &van_den_berghe.birth_date,
        ))
        .ok();
    assert_eq!(candidates(&answer)[0].ssin, NISS_1, "{}", answer.body);
}

fn the_maximum_is_honoured(backend: Backend) {
    let app = start(backend);
    let all = candidates(&app.search(&claeys_search().set("maximum", "80")).ok());
    let family: BTreeSet<String> = numbers(&claeys())
        .into_iter()
        .chain([claeys_swapped().ssin])
        .collect();
    assert_eq!(ssins(&all).into_iter().collect::<BTreeSet<_>>(), family);
    assert_best_first(&all);
    let default = candidates(&app.search(&claeys_search()).ok());
    assert_eq!(default, all[..10]);
    // The lexical forms of an XSD integer.
    for three in ["+3", " 3 ", "003"] {
        let found = candidates(&app.search(&claeys_search().set("maximum", three)).ok());
        assert_eq!(found, all[..3], "maximum {three:?}");
    }
    // Never more than 80, however many come close.
    let many = Search::new(&org_a(), "Maes", MAES_BIRTH);
    let found = candidates(&app.search(&many.clone().set("maximum", "80")).ok());
    assert_eq!(found.len(), 80);
    let all_maes: BTreeSet<String> = numbers(&maes()).into_iter().collect();
    assert!(found.iter().all(|f| all_maes.contains(&f.ssin)));
    assert_eq!(candidates(&app.search(&many).ok()), found[..10]);
    for maximum in [1, 3, 14, 15] {
        let found = candidates(
            &app.search(&claeys_search().set("maximum", &maximum.to_string()))
                .ok(),
        );
        assert_eq!(found, all[..maximum], "maximum {maximum}");
    }
}

fn nobody_close_is_no_result(backend: Backend) {
    let app = start(backend);
    for search in [
        Search::new(&org_a(), "Xylophonidis", "1931-01-01"),
        // The right name, far from every birth date.
        Search::new(&org_a(), "Claeys", "1931-01-01").set("firstName", "Jan"),
        // A name in a script that folds to no Latin letter.
        Search::new(&org_a(), "王小明", CLAEYS_BIRTH),
    ] {
        let answer = app.search(&search).ok();
        assert_eq!(
            (answer.status(), answer.status_code()),
            ("NO_RESULT".into(), "MSG00002".into()),
            "{}",
            answer.body
        );
        assert!(candidates(&answer).is_empty());
    }
}

/// Dates at the ends of what the format can say, with the widest tolerance: searched (and
/// nobody found) or refused as dates, never an error.
fn extreme_birth_dates_are_searched_or_refused(backend: Backend) {
    let app = start(backend);
    for (date, tolerance) in [
        ("0000-00-00", Some("30")),
        ("0000-01-01", Some("30")),
        ("0001-01-00", Some("30")),
        ("9999-12-31", Some("30")),
        ("9999-12-00", Some("30")),
        ("9999-00-00", Some("30")),
        ("2400-02-29", None),
        ("2100-02-29", None),
    ] {
        let mut search = Search::new(&org_a(), "Claeys", date);
        if let Some(tolerance) = tolerance {
            search = search.set("tolerance", tolerance);
        }
        let answer = app.search(&search);
        match answer.http_status {
            200 => assert_eq!(answer.status(), "NO_RESULT", "{date}: {}", answer.body),
            _ => {
                let answer = answer.fault("INVALID_DATE");
                assert_eq!(
                    answer.fault_fields(),
                    fields(&[("criteria/birthDate", date)])
                );
            }
        }
    }
    app.search(&claeys_search()).ok();
}

fn canceled_numbers_are_never_candidates(backend: Backend) {
    let app = start(backend);
    let [a, b, c] = dewulf();
    let search = Search::new(&org_a(), "Dewulf", "1971-05-06").set("firstName", "Annelies");
    let before = candidates(&app.search(&search).ok());
    assert_eq!(
        ssins(&before).into_iter().collect::<BTreeSet<_>>(),
        set_of(&[&a.ssin, &b.ssin, &c.ssin])
    );
    let register = |found: &[Found], ssin: &str| {
        found
            .iter()
            .find(|f| f.ssin == ssin)
            .and_then(|f| f.person.iter().find(|(n, _)| n == "register"))
            .map(|(_, r)| r.clone())
    };
    assert_eq!(register(&before, &a.ssin).as_deref(), Some("BIS"));
    assert_eq!(register(&before, &b.ssin).as_deref(), Some("BIS"));
    assert_eq!(register(&before, &c.ssin).as_deref(), Some("RN"));

    // A replaced by B, B by C: only the final number remains a candidate.
    app.apply_feed(&dewulf_replacements());
    let after = candidates(&app.search(&search).ok());
    assert_eq!(ssins(&after), std::slice::from_ref(&c.ssin));
    assert_eq!(after[0].person, identified(&app, &c.ssin));
    // Even asked with the gender the first number encoded, or for the maximum.
    let wide = search.set("maximum", "80").set("gender", "F");
    assert_eq!(found_set(&app, &wide), set_of(&[&c.ssin]));
}

/// A deceased person keeps its number: still a candidate, shown with its decease date.
fn a_deceased_person_is_still_a_candidate(backend: Backend) {
    let app = start(backend);
    let sofie = &mertens()[3];
    app.apply_feed(&common::Feed::new("SEARCH-DECEASE").decease(&sofie.ssin, "2024-05-00"));
    let answer = app
        .search(&Search::new(&org_a(), "Mertens", &sofie.birth_date).set("firstName", "Sofie"))
        .ok();
    let found = candidates(&answer);
    assert_eq!(found[0].ssin, sofie.ssin, "{}", answer.body);
    assert!(found[0]
        .person
        .contains(&("deceaseDate".into(), "2024-05-00".into())));
    assert_eq!(found[0].person, identified(&app, &sofie.ssin));
}

fn incomplete_birth_dates_with_a_tolerance(backend: Backend) {
    let app = start(backend);
    let m = numbers(&mertens()); // 1979-08-20, 1980-06-15, 1981-02-10, 1983-01-01
    let sofie = |date: &str, tolerance: &str| {
        Search::new(&org_a(), "Mertens", date)
            .set("firstName", "Sofie")
            .set("tolerance", tolerance)
    };
    // yyyy-00-00: the tolerance in years.
    assert_eq!(
        found_set(&app, &sofie("1980-00-00", "1")),
        set_of(&[&m[0], &m[1], &m[2]])
    );
    assert_eq!(found_set(&app, &sofie("1980-00-00", "0")), set_of(&[&m[1]]));
    assert_eq!(
        found_set(&app, &sofie("1980-00-00", "3")),
        set_of(&[&m[0], &m[1], &m[2], &m[3]])
    );

    // yyyy-mm-00: the tolerance in months, across a year's end too.
    let w = numbers(&wouters()); // 1989-12-31, 1990-02-03, -04-30, -05-00, -06-28, -07-01
    let lies = |date: &str| Search::new(&org_a(), "Wouters", date).set("firstName", "Lies");
    assert_eq!(
        found_set(&app, &lies("1990-04-00").set("tolerance", "2")),
        set_of(&[&w[1], &w[2], &w[3], &w[4]])
    );
    assert_eq!(
        found_set(&app, &lies("1990-01-00").set("tolerance", "1")),
        set_of(&[&w[0], &w[1]])
    );
    // A complete date finds the person whose day is unknown, and a tolerance in days.
    let may = found_set(&app, &lies("1990-05-17"));
    assert!(may.contains(&w[3]), "{may:?}");
    assert!(!may.contains(&w[4]) && !may.contains(&w[5]), "{may:?}");
    let june = found_set(&app, &lies("1990-06-25").set("tolerance", "3"));
    assert!(june.contains(&w[4]) && !june.contains(&w[5]), "{june:?}");
    let june = found_set(&app, &lies("1990-06-25").set("tolerance", "6"));
    assert!(june.contains(&w[4]) && june.contains(&w[5]), "{june:?}");
}

/// One audit entry per candidate answered (its number), or one NO_RESULT entry; each names
/// the caller, its organisation, the legal context and both tickets.
fn every_candidate_answered_is_audited(backend: Backend) {
    let app = start(backend);
    let search = claeys_search().set("firstName", "Jan").set("maximum", "4");
    let answer = app.search(&search).ok();
    let found = candidates(&answer);
    assert_eq!(found.len(), 4);
    let ticket = answer.server_ticket();
    let audit = app.audit(None);
    let entries: Vec<_> = audit
        .iter()
        .filter(|e| e["serverTicket"] == ticket.as_str())
        .collect();
    let mut audited: Vec<String> = entries
        .iter()
        .map(|e| e["ssin"].as_str().expect("a number").to_string())
        .collect();
    audited.sort();
    let mut answered = ssins(&found);
    answered.sort();
    assert_eq!(audited, answered);
    for entry in &entries {
        assert_eq!(entry["service"], SERVICE);
        assert_eq!(entry["operation"], OPERATION);
        assert_eq!(entry["outcome"], "OK");
        assert_eq!(entry["username"], org_a().username.as_str());
        assert_eq!(entry["claimedCbeNumber"], org_a().cbe.as_str());
        assert_eq!(entry["legalContext"], "PCSA:SOCIAL_INQUIRY");
        assert_eq!(entry["clientTicket"], search.request.ticket.as_str());
    }
    // Found again by the number: the person knows who searched for it.
    let about = app.audit(Some(&found[0].ssin));
    assert!(about.iter().any(|e| e["serverTicket"] == ticket.as_str()));

    let nobody = Search::new(&org_a(), "Xylophonidis", "1931-01-01");
    let answer = app.search(&nobody).ok();
    let ticket = answer.server_ticket();
    let entries: Vec<_> = app
        .audit(None)
        .into_iter()
        .filter(|e| e["serverTicket"] == ticket.as_str())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["outcome"], "NO_RESULT");
    assert_eq!(entries[0]["operation"], OPERATION);
    assert!(entries[0]["ssin"].is_null());
}

backend_tests!(
    finds_candidates_best_first_as_whole_persons,
    the_maximum_is_honoured,
    nobody_close_is_no_result,
    extreme_birth_dates_are_searched_or_refused,
    canceled_numbers_are_never_candidates,
    a_deceased_person_is_still_a_candidate,
    incomplete_birth_dates_with_a_tolerance,
    every_candidate_answered_is_audited,
);
