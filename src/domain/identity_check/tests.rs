//! The verification matrix and properties of the identity check.
use super::*;
use proptest::prelude::*;

fn date(text: &str) -> IncompleteDate {
    IncompleteDate::parse(text).expect("valid test date")
}

fn source(last: &str, first: &[&str], birth: &str, gender: Option<Gender>) -> Identity {
    Identity {
        last_name: last.into(),
        first_names: first.iter().map(|s| s.to_string()).collect(),
        birth_date: date(birth),
        gender,
        nationality: Some("BE".into()),
        birth_place: None,
        address: None,
        decease_date: None,
    }
}

fn claim(last: &str, first: Option<&str>, birth: &str, gender: Option<Gender>) -> ClaimedIdentity {
    ClaimedIdentity {
        last_name: last.into(),
        first_name: first.map(Into::into),
        birth_date: date(birth),
        gender,
    }
}

fn jan() -> Identity {
    source(
        "Van den Berghe",
        &["Jan", "Pieter"],
        "1985-07-30",
        Some(Gender::Male),
    )
}

fn fields(mismatches: &[Mismatch]) -> Vec<&'static str> {
    mismatches.iter().map(|m| m.field).collect()
}

fn assert_same(a: &str, b: &str) {
    assert!(last_names_match(a, b), "{a} / {b} should match");
    assert!(last_names_match(b, a), "{b} / {a} should match");
}

fn assert_different(a: &str, b: &str) {
    assert!(!last_names_match(a, b), "{a} / {b} should differ");
    assert!(!last_names_match(b, a), "{b} / {a} should differ");
}

#[test]
fn the_exact_identity_is_accepted() {
    let claimed = claim(
        "Van den Berghe",
        Some("Jan"),
        "1985-07-30",
        Some(Gender::Male),
    );
    assert_eq!(check(&claimed, &jan()), vec![]);
}

#[test]
fn a_different_person_is_refused_field_by_field_with_the_values_as_sent() {
    let claimed = claim("Peeters", Some("Marc"), "1986-07-00", Some(Gender::Female));
    assert_eq!(
        check(&claimed, &jan()),
        vec![
            Mismatch {
                field: "lastName",
                claimed: "Peeters".into()
            },
            Mismatch {
                field: "firstName",
                claimed: "Marc".into()
            },
            Mismatch {
                field: "birthDate",
                claimed: "1986-07-00".into()
            },
            Mismatch {
                field: "gender",
                claimed: "F".into()
            },
        ]
    );
}

#[test]
fn each_differing_field_is_refused_alone() {
    let person = jan();
    let male = Some(Gender::Male);
    let cases = [
        (
            claim("Van Damme", Some("Jan"), "1985-07-30", male),
            "lastName",
        ),
        (
            claim("Van den Berghe", Some("Piet"), "1985-07-30", male),
            "firstName",
        ),
        (
            claim("Van den Berghe", Some("Jan"), "1984-07-30", male),
            "birthDate",
        ),
        (
            claim("Van den Berghe", Some("Jan"), "1984-00-00", male),
            "birthDate",
        ),
        (
            claim("Van den Berghe", Some("Jan"), "1985-08-00", male),
            "birthDate",
        ),
        (
            claim("Van den Berghe", Some("Jan"), "1985-07-31", male),
            "birthDate",
        ),
        (
            claim(
                "Van den Berghe",
                Some("Jan"),
                "1985-07-30",
                Some(Gender::Female),
            ),
            "gender",
        ),
    ];
    for (claimed, field) in cases {
        assert_eq!(
            fields(&check(&claimed, &person)),
            vec![field],
            "{claimed:?}"
        );
    }
}

#[test]
fn case_accents_and_punctuation_do_not_matter() {
    assert_same("PEETERS", "Peeters");
    assert_same("Lefèvre", "Lefevre");
    assert_same("LEFÈVRE", "lefevre");
    assert_same("Lefèbvre", "Lefebvre");
    assert_same("Noël", "Noel");
    assert_same("Lefe\u{301}vre", "Lefèvre");
    assert_same("Müller", "Muller");
    assert_same("Straße", "Strasse");
    assert_same("Ødegaard", "Odegaard");
    assert_same("Đorđević", "Dordevic");
    assert_same("Dæms", "Daems");
    assert_same("  Peeters. ", "Peeters");
}

#[test]
fn particles_can_be_written_apart_or_glued() {
    for variant in [
        "Vandenberghe",
        "VAN DEN BERGHE",
        "van den berghe",
        "Van Den Berghe",
        "Vanden Berghe",
        "Van-den-Berghe",
    ] {
        assert_same("Van den Berghe", variant);
    }
    assert_same("D'Hondt", "Dhondt");
    assert_same("D’Hondt", "D'hondt");
    assert_same("D' Hondt", "DHONDT");
    assert_same("De Smet", "Desmet");
    assert_same("Le Roy", "Leroy");
    assert_same("Van de Velde", "Vandevelde");
    assert_same("'t Kint", "T'Kint");
    assert_same("Op de Beeck", "Opdebeeck");
}

#[test]
fn the_dutch_ij_is_read_as_y() {
    assert_same("De Schrijver", "De Schryver");
    assert_same("Thijs", "Thys");
    assert_same("Nijs", "Nys");
    assert_same("Matthijs", "Matthys");
}

#[test]
fn typos_and_spelling_variants_are_accepted() {
    for (a, b) in [
        ("De Smet", "De Smedt"),
        ("Desmet", "De Smedt"),
        ("Claes", "Claeys"),
        ("Peeters", "Pieters"),
        ("Peeters", "Peters"),
        ("Mertens", "Martens"),
        ("Mertens", "Maertens"),
        ("Hendrickx", "Hendrikx"),
        ("Hendrickx", "Hendriks"),
        ("Lefebvre", "Lefevre"),
        ("Müller", "Mueller"),
        ("Vermeulen", "Vermeulem"),
        ("Goossens", "Gossens"),
        ("Verstraete", "Verstraeten"),
        ("Van den Berghe", "Vandenbergh"),
        ("Van den Berghe", "Van den Bergeh"),
        ("D'Hondt", "Dhont"),
        ("Wouters", "Wauters"),
    ] {
        assert_same(a, b);
    }
}

#[test]
fn different_family_names_are_refused() {
    for (a, b) in [
        ("Van Damme", "Van den Berghe"),
        ("Vandamme", "Vandenberghe"),
        ("Van den Bosch", "Van den Broeck"),
        ("Vandaele", "Vandewalle"),
        ("Peeters", "Janssens"),
        ("Vermeulen", "Vermeiren"),
        ("Bauer", "Sauer"),
        ("Janssens", "Hanssens"),
        ("Dupont", "Dumont"),
        ("Michel", "Michielsen"),
        ("Brichard", "Richard"),
        ("Jans", "Jansen"),
    ] {
        assert_different(a, b);
    }
}

#[test]
fn a_missing_added_or_different_particle_is_another_name() {
    for (a, b) in [
        ("Smet", "De Smet"),
        ("Smet", "Desmet"),
        ("Van den Berghe", "Berghe"),
        ("Van den Berghe", "Van Berghe"),
        ("Van den Berghe", "Van der Berghe"),
        ("Van der Linden", "Vandenlinden"),
        ("Dumortier", "Mortier"),
        ("Dhondt", "Hondt"),
        ("Vanhove", "Hove"),
    ] {
        assert_different(a, b);
    }
}

#[test]
fn short_names_must_be_equal() {
    assert_different("Vos", "Voss");
    assert_different("De Vos", "De Voss");
    assert_different("Maes", "Maas");
    assert_different("Cox", "Cok");
    assert_same("Vos", "VOS");
    assert_same("De Vos", "Devos");
}

#[test]
fn a_first_name_matches_any_first_name_a_compound_part_or_several_together() {
    let person = |names: &[&str]| source("Peeters", names, "1985-07-30", None);
    let accepted = [
        (&["Jan", "Pieter"][..], "Jan"),
        (&["Jan", "Pieter"], "Pieter"),
        (&["Jan", "Pieter"], "jan pieter"),
        (&["Jean", "Pierre"], "Jean-Pierre"),
        (&["Jean", "Pierre"], "Jean Pierre"),
        (&["Jean", "Pierre"], "Jeanpierre"),
        (&["Jean-Pierre"], "Jean Pierre"),
        (&["Jean Pierre"], "Jean-Pierre"),
        (&["Marie-Claire"], "Marie"),
        (&["Marie-Claire"], "Claire"),
        (&["Marie-Claire", "Anne"], "Marie Claire Anne"),
        (&["Frédéric"], "Frederik"),
        (&["Pieter"], "Peter"),
        (&["Jan", "Pieter", "Marie"], "Jan Pieter"),
    ];
    for (names, first) in accepted {
        let claimed = claim("Peeters", Some(first), "1985-07-30", None);
        assert_eq!(
            check(&claimed, &person(names)),
            vec![],
            "{first} / {names:?}"
        );
    }
    let refused = [
        (&["Jan", "Pieter"][..], "Piet"),
        (&["Jan", "Pieter"], "Jen"),
        (&["Jan", "Pieter"], "Pieter Jan"),
        (&["Jan", "Pieter", "Marie"], "Jan Marie"),
        (&["Marie-Claire"], "Marianne"),
        (&["Anne"], "Ann"),
        (&["Marc"], "Luc"),
        (&["Jan"], ""),
        (&["Pieter"], "Pieter Jan"),
        (&["Marc"], "Mark"),
    ];
    for (names, first) in refused {
        let claimed = claim("Peeters", Some(first), "1985-07-30", None);
        assert_eq!(
            fields(&check(&claimed, &person(names))),
            vec!["firstName"],
            "{first} / {names:?}"
        );
    }
}

#[test]
fn an_absent_first_name_or_gender_is_not_compared() {
    let claimed = claim("Vandenberghe", None, "1985-07-30", None);
    assert_eq!(check(&claimed, &jan()), vec![]);
    let unknown_gender = source("Van den Berghe", &["Jan"], "1985-07-30", None);
    for gender in [Gender::Male, Gender::Female] {
        let claimed = claim("Van den Berghe", Some("Jan"), "1985-07-30", Some(gender));
        assert_eq!(check(&claimed, &unknown_gender), vec![]);
    }
}

#[test]
fn birth_dates_compare_only_the_parts_known_on_both_sides() {
    let accepted = [
        ("1985-00-00", "1985-07-30"),
        ("1985-07-00", "1985-07-30"),
        ("1985-07-30", "1985-07-00"),
        ("1985-07-30", "1985-00-00"),
        ("1985-00-00", "1985-00-00"),
        ("1985-07-00", "1985-00-00"),
    ];
    for (claimed, source) in accepted {
        assert!(
            birth_dates_match(date(claimed), date(source)),
            "{claimed} / {source}"
        );
    }
    let refused = [
        ("1986-00-00", "1985-07-30"),
        ("1984-07-30", "1985-07-30"),
        ("1985-08-00", "1985-07-30"),
        ("1985-07-30", "1985-08-00"),
        ("1985-07-29", "1985-07-30"),
        ("1985-03-04", "1985-04-03"),
        ("1986-00-00", "1985-00-00"),
    ];
    for (claimed, source) in refused {
        assert!(
            !birth_dates_match(date(claimed), date(source)),
            "{claimed} / {source}"
        );
    }
}

#[test]
fn normalise_name_folds_to_ascii_words() {
    for (input, expected) in [
        ("  Van  den--Berghe. ", "van den berghe"),
        ("D'Hondt", "d hondt"),
        ("D’Hondt", "d hondt"),
        ("Jean-Pierre", "jean pierre"),
        ("Straße", "strasse"),
        ("Æbeltoft", "aebeltoft"),
        ("Œuvrard", "oeuvrard"),
        ("Ødegaard", "odegaard"),
        ("Đurić", "duric"),
        ("Lefe\u{301}vre", "lefevre"),
        ("Müller", "muller"),
        ("Jan 😀", "jan"),
        ("", ""),
        ("- ' .", ""),
    ] {
        assert_eq!(normalise_name(input), expected, "{input:?}");
    }
}

#[test]
fn name_key_splits_particles_from_the_core() {
    for (name, particles, core) in [
        ("Van den Berghe", "vanden", "berghe"),
        ("Vandenberghe", "vanden", "berghe"),
        ("Vanden Berghe", "vanden", "berghe"),
        ("Vandevelde", "vande", "velde"),
        ("Vanhove", "van", "hove"),
        ("D'Hondt", "d", "hondt"),
        ("Dhondt", "", "dhondt"),
        ("De Schrijver", "de", "schryver"),
        ("Op de Beeck", "opde", "beeck"),
        ("Van Der", "van", "der"),
        ("Van", "", "van"),
        ("Peeters", "", "peeters"),
        ("Peeters Van den Berghe", "", "peetersvandenberghe"),
        ("", "", ""),
    ] {
        let key = NameKey::new(name);
        assert_eq!((key.particles(), key.core()), (particles, core), "{name}");
    }
}

#[test]
fn one_letter_apart_needs_the_same_first_letter() {
    let apart = |a: &str, b: &str| one_letter_apart(a.as_bytes(), b.as_bytes());
    assert!(apart("peeters", "pieters"));
    assert!(apart("peeters", "peters"));
    assert!(apart("peters", "peeters"));
    assert!(apart("martens", "matrens"));
    assert!(apart("claes", "claesx"));
    assert!(!apart("bauer", "sauer"));
    assert!(!apart("peeters", "peeters"));
    assert!(!apart("peeters", "pietres"));
    assert!(!apart("peeters", "pieter"));
    assert!(!apart("", "a"));
}

/// Latin-script names with particles and separators.
fn latin_name() -> impl Strategy<Value = String> {
    let word = "[a-zA-ZàáâäæçèéêëìíîïñòóôöøœùúûüýÿßÀÁÂÄÆÇÈÉÊËÌÍÎÏÑÒÓÔÖØŒÙÚÛÜÝĐđŁł]{1,12}";
    (
        prop::sample::select(vec!["", "Van ", "van den ", "De ", "D'", "Le ", "'t "]),
        prop::collection::vec(word, 1..4),
        prop::sample::select(vec![" ", "-", "'", ". ", "  "]),
    )
        .prop_map(|(particle, words, sep)| format!("{particle}{}", words.join(sep)))
}

/// Anything, with a bias to what breaks text handling.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a\u{301}\u{308}\u{200d}\u{fe0f}😀👨‍👩‍👧中ß'’ -]{0,20}",
        latin_name(),
        Just(String::new()),
    ]
}

fn incomplete_date() -> impl Strategy<Value = IncompleteDate> {
    (0..=9999i32, 0..=12u32, 0..=31u32).prop_map(|(y, m, d)| {
        IncompleteDate::new(
            y,
            Some(m).filter(|&m| m > 0),
            Some(d).filter(|&d| d > 0 && m > 0),
        )
        .or_else(|| IncompleteDate::new(y, Some(m).filter(|&m| m > 0), None))
        .unwrap_or_else(|| IncompleteDate::new(y, None, None).expect("valid year"))
    })
}

fn gender() -> impl Strategy<Value = Option<Gender>> {
    prop::option::of(prop::sample::select(vec![Gender::Male, Gender::Female]))
}

proptest! {
    #[test]
    fn a_name_matches_itself_upper_cased_and_without_accents(name in latin_name()) {
        prop_assert!(last_names_match(&name, &name));
        prop_assert!(last_names_match(&name.to_uppercase(), &name));
        prop_assert!(last_names_match(&name, &name.to_lowercase()));
        prop_assert!(last_names_match(&deunicode::deunicode(&name), &name));
        let names = vec![name.clone()];
        prop_assert!(first_name_matches(&name, &names));
        prop_assert!(first_name_matches(&name.to_uppercase(), &names));
        prop_assert!(first_name_matches(&deunicode::deunicode(&name), &names));
    }

    #[test]
    fn several_first_names_match_each_and_all_together(
        names in prop::collection::vec(latin_name(), 1..4),
        pick in any::<prop::sample::Index>(),
    ) {
        prop_assert!(first_name_matches(pick.get::<String>(&names), &names));
        prop_assert!(first_name_matches(&names.join(" "), &names));
        prop_assert!(first_name_matches(&names.join("-"), &names));
    }

    #[test]
    fn an_identity_matches_itself(
        last in latin_name(),
        first in prop::collection::vec(latin_name(), 1..3),
        birth in incomplete_date(),
        gender in gender(),
    ) {
        let identity = Identity {
            last_name: last.clone(),
            first_names: first.clone(),
            birth_date: birth,
            gender,
            nationality: None,
            birth_place: None,
            address: None,
            decease_date: None,
        };
        let claimed = ClaimedIdentity {
            last_name: last.to_uppercase(),
            first_name: Some(first.join(" ")),
            birth_date: birth,
            gender,
        };
        prop_assert_eq!(check(&claimed, &identity), vec![]);
    }

    #[test]
    fn matching_is_symmetric_for_last_names(a in latin_name(), b in latin_name()) {
        prop_assert_eq!(last_names_match(&a, &b), last_names_match(&b, &a));
    }

    #[test]
    fn check_never_panics(
        last in any_text(),
        first in prop::option::of(any_text()),
        source_last in any_text(),
        source_first in prop::collection::vec(any_text(), 0..4),
        birth in incomplete_date(),
        source_birth in incomplete_date(),
        gender in gender(),
        source_gender in gender(),
    ) {
        let claimed = ClaimedIdentity { last_name: last.clone(), first_name: first, birth_date: birth, gender };
        let identity = Identity {
            last_name: source_last,
            first_names: source_first,
            birth_date: source_birth,
            gender: source_gender,
            nationality: None,
            birth_place: None,
            address: None,
            decease_date: None,
        };
        let mismatches = check(&claimed, &identity);
        prop_assert!(mismatches.len() <= 4);
        let normalised = normalise_name(&last);
        prop_assert!(normalised.is_ascii());
        prop_assert!(!normalised.starts_with(' ') && !normalised.ends_with(' ') && !normalised.contains("  "));
    }
}
