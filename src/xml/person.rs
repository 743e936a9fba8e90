//! The types of `xsd/Person.xsd` (namespace [`PERSON_NS`]): reading a person or identity
//! changes from a tree, and writing a person. Shared by the population file, the
//! authentic-source feed and PersonIdentificationService.
//!
//! Reading checks every value (numbers, dates, names, codes) and names the first offending
//! field by its path below the element read, so the caller can prefix it.

use chrono::NaiveDate;

use super::tree::{Element, NotText};
use super::writer::XmlOut;
use crate::domain::{
    Address, Gender, Identity, IdentityChanges, IncompleteDate, Niss, Person, PersonStatus,
};

/// The namespace of Person.xsd.
pub const PERSON_NS: &str = "urn:be:raas:types:Person:v1";

/// The most first names a person has in a message (Person.xsd).
pub const MAX_FIRST_NAMES: usize = 10;

/// The longest name or text field, in characters (Person.xsd).
pub const MAX_TEXT_CHARS: usize = 100;

/// A value that does not fit Person.xsd or the domain rules: the path of the field below the
/// element read, the value received and why it is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason} (value \"{value}\")")]
pub struct FieldError {
    pub field: String,
    pub value: String,
    pub reason: String,
    /// Whether the value is an invalid number (callers map it to their number reason code).
    pub is_ssin: bool,
}

impl FieldError {
    fn new(field: &str, value: &str, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            value: value.to_string(),
            reason: reason.into(),
            is_ssin: false,
        }
    }

    /// Whether the structure is wrong (a field given twice, an element inside a text field)
    /// rather than a value: callers answer such a message as malformed.
    pub fn is_structural(&self) -> bool {
        self.reason == APPEARS_TWICE || self.reason.starts_with(NOT_TEXT)
    }

    /// The same error with `prefix/` before the field path.
    pub fn under(mut self, prefix: &str) -> FieldError {
        self.field = format!("{prefix}/{}", self.field);
        self
    }
}

type Read<T> = Result<T, FieldError>;

/// The reason of a field given twice where Person.xsd allows it once.
const APPEARS_TWICE: &str = "appears more than once";
/// The start of the reason of an element found inside a text field.
const NOT_TEXT: &str = "must hold text only";

/// Reads a `PersonType`: number, status and identity data. `today` bounds birth dates.
pub fn read_person(element: &Element, today: NaiveDate) -> Read<Person> {
    let ssin = read_ssin(required(element, "ssin")?, "ssin", today)?;
    let replaced_by = single(element, "replacedBy")?
        .map(|e| read_ssin(e, "replacedBy", today))
        .transpose()?;
    let status = match single(element, "status")?
        .map(|e| leaf(e, "status"))
        .transpose()?
    {
        None | Some("ACTIVE") if replaced_by.is_none() => PersonStatus::Active,
        Some("CANCELED") => PersonStatus::Canceled { replaced_by },
        Some(other) => {
            return Err(FieldError::new(
                "status",
                other,
                "must be ACTIVE or CANCELED; only a CANCELED number has replacedBy",
            ))
        }
        None => {
            return Err(FieldError::new(
                "replacedBy",
                &replaced_by
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default(),
                "only a CANCELED number has replacedBy",
            ))
        }
    };
    if status.replaced_by() == Some(ssin) {
        return Err(FieldError::new(
            "replacedBy",
            ssin.as_str(),
            "a number cannot replace itself",
        ));
    }
    let identity = read_identity(element, today)?;
    Ok(Person {
        ssin,
        status,
        identity,
    })
}

/// Reads the identity fields of a person (`person:IdentityGroup`).
pub fn read_identity(element: &Element, today: NaiveDate) -> Read<Identity> {
    let changes = read_fields(element, today)?;
    let first_names = changes.first_names.unwrap_or_default();
    if first_names.is_empty() {
        return Err(FieldError::new("firstName", "", "at least one first name"));
    }
    Ok(Identity {
        last_name: changes
            .last_name
            .ok_or_else(|| FieldError::new("lastName", "", "is missing"))?,
        first_names,
        birth_date: changes
            .birth_date
            .ok_or_else(|| FieldError::new("birthDate", "", "is missing"))?,
        gender: changes.gender,
        nationality: changes.nationality,
        birth_place: changes.birth_place,
        address: changes.address,
        decease_date: changes.decease_date,
    })
}

/// Reads an `IdentityChangesType`: only the elements present. An element that does not
/// belong there is refused (a misspelt field must not silently change nothing).
pub fn read_identity_changes(element: &Element, today: NaiveDate) -> Read<IdentityChanges> {
    if let Some(unknown) = element.children.iter().find(|c| {
        !(c.namespace.as_deref() == Some(PERSON_NS)
            && [
                "lastName",
                "firstName",
                "birthDate",
                "gender",
                "nationality",
                "birthPlace",
                "address",
            ]
            .contains(&c.name.as_str()))
    }) {
        return Err(FieldError::new(
            &unknown.name,
            "",
            format!("{} is not an identity field", unknown.expanded_name()),
        ));
    }
    read_fields(element, today)
}

/// The identity elements present below `element`, each checked.
fn read_fields(element: &Element, today: NaiveDate) -> Read<IdentityChanges> {
    let first_name_elements: Vec<&Element> = element
        .children
        .iter()
        .filter(|c| c.is(PERSON_NS, "firstName"))
        .collect();
    if first_name_elements.len() > MAX_FIRST_NAMES {
        return Err(FieldError::new(
            "firstName",
            "",
            format!("at most {MAX_FIRST_NAMES} first names"),
        ));
    }
    let first_names = first_name_elements
        .iter()
        .map(|e| read_name(e, "firstName"))
        .collect::<Read<Vec<String>>>()?;
    let birth_date = single(element, "birthDate")?
        .map(|e| read_date(e, "birthDate"))
        .transpose()?;
    if let Some(date) = birth_date.filter(|d| d.is_after(today)) {
        return Err(FieldError::new(
            "birthDate",
            &date.to_string(),
            "is in the future",
        ));
    }
    let decease_date = single(element, "deceaseDate")?
        .map(|e| read_date(e, "deceaseDate"))
        .transpose()?;
    Ok(IdentityChanges {
        last_name: single(element, "lastName")?
            .map(|e| read_name(e, "lastName"))
            .transpose()?,
        first_names: (!first_names.is_empty()).then_some(first_names),
        birth_date,
        gender: single(element, "gender")?
            .map(|e| read_gender(e, "gender"))
            .transpose()?,
        nationality: single(element, "nationality")?
            .map(|e| read_country(e, "nationality"))
            .transpose()?,
        birth_place: single(element, "birthPlace")?
            .map(|e| read_text(e, "birthPlace"))
            .transpose()?,
        address: single(element, "address")?
            .map(read_address)
            .transpose()
            .map_err(|e| e.under("address"))?,
        decease_date,
    })
}

fn read_address(element: &Element) -> Read<Address> {
    Ok(Address {
        street: read_text(required(element, "street")?, "street")?,
        house_number: read_text(required(element, "houseNumber")?, "houseNumber")?,
        post_box: single(element, "box")?
            .map(|e| read_text(e, "box"))
            .transpose()?,
        postal_code: read_text(required(element, "postalCode")?, "postalCode")?,
        municipality: read_text(required(element, "municipality")?, "municipality")?,
        country: read_country(required(element, "country")?, "country")?,
    })
}

fn required<'a>(element: &'a Element, name: &str) -> Read<&'a Element> {
    single(element, name)?.ok_or_else(|| FieldError::new(name, "", "is missing"))
}

/// A child that may appear once: a second one is refused, not ignored.
fn single<'a>(element: &'a Element, name: &str) -> Read<Option<&'a Element>> {
    element
        .single_child(PERSON_NS, name)
        .map_err(|_| FieldError::new(name, "", APPEARS_TWICE))
}

/// The text of a field holding text only: an element inside it is refused.
fn leaf<'a>(element: &'a Element, field: &str) -> Read<&'a str> {
    element.leaf_value().map_err(|NotText(child)| {
        FieldError::new(
            field,
            &child.name,
            format!("{NOT_TEXT}, not the element {}", child.expanded_name()),
        )
    })
}

/// A number, checked.
pub fn read_ssin(element: &Element, field: &str, today: NaiveDate) -> Read<Niss> {
    let value = leaf(element, field)?;
    Niss::parse(value, today).map_err(|e| FieldError {
        is_ssin: true,
        ..FieldError::new(field, value, format!("is not a valid NISS: {e}"))
    })
}

/// A date of Person.xsd: `yyyy-mm-dd` with `00` for an unknown month or day.
pub fn read_date(element: &Element, field: &str) -> Read<IncompleteDate> {
    let value = leaf(element, field)?;
    IncompleteDate::parse(value).ok_or_else(|| {
        FieldError::new(
            field,
            value,
            "must be a date yyyy-mm-dd (00 for an unknown month or day)",
        )
    })
}

/// `M` or `F`.
pub fn read_gender(element: &Element, field: &str) -> Read<Gender> {
    match leaf(element, field)? {
        "M" => Ok(Gender::Male),
        "F" => Ok(Gender::Female),
        other => Err(FieldError::new(field, other, "must be M or F")),
    }
}

/// A name: letters, marks, spaces, apostrophes, dots and hyphens, 1 to 100 characters.
pub fn read_name(element: &Element, field: &str) -> Read<String> {
    let value = leaf(element, field)?;
    let allowed = |c: char| c.is_alphabetic() || matches!(c, ' ' | '\'' | '.' | '-') || is_mark(c);
    if value.is_empty() || value.chars().count() > MAX_TEXT_CHARS || !value.chars().all(allowed) {
        return Err(FieldError::new(
            field,
            value,
            "must be 1 to 100 letters, spaces, apostrophes, dots or hyphens",
        ));
    }
    Ok(value.to_string())
}

/// Combining marks (a decomposed accent) are part of names.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF)
}

/// Free text without control characters, 1 to 100 characters.
pub fn read_text(element: &Element, field: &str) -> Read<String> {
    let value = leaf(element, field)?;
    if value.is_empty()
        || value.chars().count() > MAX_TEXT_CHARS
        || value.chars().any(char::is_control)
    {
        return Err(FieldError::new(
            field,
            value,
            "must be 1 to 100 characters without control characters",
        ));
    }
    Ok(value.to_string())
}

/// An ISO 3166-1 alpha-2 code.
pub fn read_country(element: &Element, field: &str) -> Read<String> {
    let value = leaf(element, field)?;
    if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(FieldError::new(
            field,
            value,
            "must be an ISO 3166-1 alpha-2 code (two capital letters)",
        ));
    }
    Ok(value.to_string())
}

/// Writes the content of a `PersonType` (not its own element) with `prefix` bound to
/// [`PERSON_NS`]. `with_status` also writes status and replacedBy (answers and files that
/// describe canceled numbers); a population file of active persons may leave them out.
pub fn write_person(out: &mut XmlOut, prefix: &str, person: &Person, with_status: bool) {
    let p = prefix;
    out.leaf_ns(p, "ssin", Some(person.ssin.as_str()));
    if with_status {
        out.leaf_ns(p, "status", Some(person.status.as_str()));
        let replaced_by = person.status.replaced_by();
        out.leaf_ns(p, "replacedBy", replaced_by.as_ref().map(Niss::as_str));
    }
    let identity = &person.identity;
    out.leaf_ns(p, "lastName", Some(&identity.last_name));
    for first_name in &identity.first_names {
        out.leaf_ns(p, "firstName", Some(first_name));
    }
    out.leaf_ns(p, "birthDate", Some(&identity.birth_date.to_string()));
    out.leaf_ns(p, "gender", identity.gender.map(|g| g.as_str()));
    out.leaf_ns(p, "nationality", identity.nationality.as_deref());
    out.leaf_ns(p, "birthPlace", identity.birth_place.as_deref());
    if let Some(address) = &identity.address {
        out.open_ns(p, "address")
            .leaf_ns(p, "street", Some(&address.street))
            .leaf_ns(p, "houseNumber", Some(&address.house_number))
            .leaf_ns(p, "box", address.post_box.as_deref())
            .leaf_ns(p, "postalCode", Some(&address.postal_code))
            .leaf_ns(p, "municipality", Some(&address.municipality))
            .leaf_ns(p, "country", Some(&address.country))
            .close_ns(p, "address");
    }
    let decease_date = identity.decease_date.map(|d| d.to_string());
    out.leaf_ns(p, "deceaseDate", decease_date.as_deref());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, Limits};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    fn person() -> Person {
        Person {
            ssin: Niss::parse("85073003328", today()).unwrap(),
            status: PersonStatus::Canceled {
                replaced_by: Some(Niss::parse("75060898009", today()).unwrap()),
            },
            identity: Identity {
                last_name: "D'Hondt".into(),
                first_names: vec!["Jean-Pierre".into(), "Émile".into()],
                birth_date: IncompleteDate::new(1985, Some(7), None).unwrap(),
                gender: Some(Gender::Male),
                nationality: Some("BE".into()),
                birth_place: Some("Liège".into()),
                address: Some(Address {
                    street: "Rue de l'Église".into(),
                    house_number: "12".into(),
                    post_box: Some("3".into()),
                    postal_code: "4000".into(),
                    municipality: "Liège".into(),
                    country: "BE".into(),
                }),
                decease_date: None,
            },
        }
    }

    fn round_trip(person: &Person) -> Read<Person> {
        let mut out = XmlOut::fragment();
        out.raw(&format!(r#"<p:person xmlns:p="{PERSON_NS}">"#));
        write_person(&mut out, "p", person, true);
        out.raw("</p:person>");
        let tree = parse(&out.take(), Limits::default()).unwrap();
        read_person(&tree, today())
    }

    #[test]
    fn a_person_reads_back_as_written() {
        assert_eq!(round_trip(&person()).unwrap(), person());
    }

    #[test]
    fn offending_fields_are_named() {
        let mut bad = person();
        bad.identity.address.as_mut().unwrap().country = "Belgium".into();
        let e = round_trip(&bad).unwrap_err();
        assert_eq!(e.field, "address/country");
        let mut bad = person();
        bad.identity.last_name = "Robert'); DROP".into();
        assert_eq!(round_trip(&bad).unwrap_err().field, "lastName");
        let mut bad = person();
        bad.identity.first_names.clear();
        assert_eq!(round_trip(&bad).unwrap_err().field, "firstName");
    }

    #[test]
    fn replaced_by_needs_canceled() {
        let xml = format!(
            r#"<p:person xmlns:p="{PERSON_NS}"><p:ssin>85073003328</p:ssin><p:replacedBy>75060898009</p:replacedBy><p:lastName>A</p:lastName><p:firstName>B</p:firstName><p:birthDate>1985-07-30</p:birthDate></p:person>"#
        );
        let tree = parse(&xml, Limits::default()).unwrap();
        assert_eq!(read_person(&tree, today()).unwrap_err().field, "replacedBy");
    }

    #[test]
    fn duplicates_elements_in_text_and_other_spaces_are_refused() {
        let read = |inner: &str| {
            let xml = format!(r#"<p:person xmlns:p="{PERSON_NS}">{inner}</p:person>"#);
            read_person(&parse(&xml, Limits::default()).unwrap(), today())
        };
        let rest = "<p:lastName>A</p:lastName><p:firstName>B</p:firstName><p:birthDate>1985-07-30</p:birthDate>";
        assert!(read(&format!("<p:ssin>\n 85073003328\t</p:ssin>{rest}")).is_ok());
        let twice = read(&format!(
            "<p:ssin>85073003328</p:ssin><p:ssin>75060898009</p:ssin>{rest}"
        ))
        .unwrap_err();
        assert_eq!(
            (twice.field.as_str(), twice.is_structural()),
            ("ssin", true)
        );
        let mixed = read(&format!("<p:ssin>85073<p:b/>003328</p:ssin>{rest}")).unwrap_err();
        assert_eq!((mixed.field.as_str(), mixed.value.as_str()), ("ssin", "b"));
        assert!(mixed.is_structural());
        let nbsp = read(&format!("<p:ssin>\u{a0}85073003328</p:ssin>{rest}")).unwrap_err();
        assert_eq!((nbsp.field.as_str(), nbsp.is_ssin), ("ssin", true));
        assert!(!nbsp.is_structural());
        let name = read(&format!(
            "<p:ssin>85073003328</p:ssin><p:lastName>A</p:lastName>{rest}"
        ))
        .unwrap_err();
        assert_eq!(name.field, "lastName");
        let date = rest.replace(">1985", ">\u{2007}1985");
        let date = read(&format!("<p:ssin>85073003328</p:ssin>{date}")).unwrap_err();
        assert_eq!(date.field, "birthDate");
    }

    #[test]
    fn changes_refuse_unknown_elements() {
        let xml = format!(
            r#"<p:changes xmlns:p="{PERSON_NS}"><p:lastName>Peeters</p:lastName><p:lastname>x</p:lastname></p:changes>"#
        );
        let tree = parse(&xml, Limits::default()).unwrap();
        assert_eq!(
            read_identity_changes(&tree, today()).unwrap_err().field,
            "lastname"
        );
    }
}
