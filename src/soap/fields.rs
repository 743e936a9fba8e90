//! Reading request fields into domain values. Each refusal names the field (its path in the
//! request) and the value received.

use chrono::NaiveDate;

use super::fault::{Fault, ReasonCode};
use crate::domain::{DossierTypeCode, EnterpriseNumber, Niss, Period};
use crate::xml::tree::{Duplicated, NotText};
use crate::xml::Element;

/// A required child element, which may appear once.
pub fn required<'a>(
    parent: &'a Element,
    namespace: &str,
    name: &str,
    path: &str,
) -> Result<&'a Element, Fault> {
    optional(parent, namespace, name, path)?.ok_or_else(|| {
        let hint = match parent.children.iter().find(|c| c.name == name) {
            Some(c) => format!(
                " (an element {name} was found in namespace {}, expected {namespace})",
                c.namespace.as_deref().unwrap_or("none")
            ),
            None => String::new(),
        };
        Fault::new(
            ReasonCode::MalformedRequest,
            format!("the element {path} is missing{hint}"),
        )
        .field(path, "")
    })
}

/// An optional child element, which may appear once: a second one is refused (the first
/// must not silently win).
pub fn optional<'a>(
    parent: &'a Element,
    namespace: &str,
    name: &str,
    path: &str,
) -> Result<Option<&'a Element>, Fault> {
    parent.single_child(namespace, name).map_err(|Duplicated| {
        Fault::new(
            ReasonCode::MalformedRequest,
            format!("the element {path} appears more than once"),
        )
        .field(path, "")
    })
}

/// The text of a field that holds text only (XML white space around it removed): an element
/// inside it is refused, naming the field.
pub fn leaf<'a>(element: &'a Element, path: &str) -> Result<&'a str, Fault> {
    element.leaf_value().map_err(|NotText(child)| {
        Fault::new(
            ReasonCode::MalformedRequest,
            format!(
                "{path} must hold text only, not the element {}",
                child.expanded_name()
            ),
        )
        .field(path, &child.name)
    })
}

/// A container element (informationCustomer, period, …): only white space may stand beside
/// its child elements.
pub fn container<'a>(element: &'a Element, path: &str) -> Result<&'a Element, Fault> {
    if element.has_no_text() {
        return Ok(element);
    }
    Err(Fault::new(
        ReasonCode::MalformedRequest,
        format!("{path} may hold elements only, not text"),
    )
    .field(path, element.value()))
}

/// The text of a required child element, trimmed, with a maximum length.
pub fn required_text<'a>(
    parent: &'a Element,
    namespace: &str,
    name: &str,
    path: &str,
    max_chars: usize,
) -> Result<&'a str, Fault> {
    let value = leaf(required(parent, namespace, name, path)?, path)?;
    checked_text(value, path, max_chars)
}

pub fn checked_text<'a>(value: &'a str, path: &str, max_chars: usize) -> Result<&'a str, Fault> {
    if value.is_empty() || value.chars().count() > max_chars {
        return Err(Fault::new(
            ReasonCode::InvalidField,
            format!("{path} must have 1 to {max_chars} characters"),
        )
        .field(path, value));
    }
    Ok(value)
}

pub fn ssin(element: &Element, path: &str, today: NaiveDate) -> Result<Niss, Fault> {
    let value = leaf(element, path)?;
    Niss::parse(value, today).map_err(|e| {
        Fault::new(
            ReasonCode::InvalidSsin,
            format!("{path} is not a valid NISS: {e}"),
        )
        .field(path, value)
    })
}

pub fn cbe_number(element: &Element, path: &str) -> Result<EnterpriseNumber, Fault> {
    let value = leaf(element, path)?;
    EnterpriseNumber::parse(value).map_err(|e| {
        Fault::new(
            ReasonCode::InvalidCbeNumber,
            format!("{path} is not a valid enterprise number: {e}"),
        )
        .field(path, value)
    })
}

pub fn dossier_type(element: &Element, path: &str) -> Result<DossierTypeCode, Fault> {
    let value = leaf(element, path)?;
    DossierTypeCode::parse(value).map_err(|e| {
        Fault::new(
            ReasonCode::InvalidDossierType,
            format!("{path} is not a valid dossier type code: {e}"),
        )
        .field(path, value)
    })
}

/// An `xs:date` (a timezone suffix is accepted and ignored: dates are whole days).
pub fn date(element: &Element, path: &str) -> Result<NaiveDate, Fault> {
    let value = leaf(element, path)?;
    let day = value
        .strip_suffix('Z')
        .or_else(|| {
            let cut = value.len().checked_sub(6)?;
            let (day, zone) = (value.get(..cut)?, value.get(cut..)?);
            let zone = zone.as_bytes();
            (matches!(zone[0], b'+' | b'-') && zone[3] == b':').then_some(day)
        })
        .unwrap_or(value);
    let parsed = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .filter(|d| day.len() == 10 && (1000..=9999).contains(&chrono::Datelike::year(d)));
    parsed.ok_or_else(|| {
        Fault::new(
            ReasonCode::InvalidDate,
            format!("{path} is not a date of the form YYYY-MM-DD"),
        )
        .field(path, value)
    })
}

/// A `PeriodType`: beginDate and an optional endDate in `namespace`.
pub fn period(element: &Element, namespace: &str, path: &str) -> Result<Period, Fault> {
    container(element, path)?;
    let begin_path = format!("{path}/beginDate");
    let end_path = format!("{path}/endDate");
    let begin = date(
        required(element, namespace, "beginDate", &begin_path)?,
        &begin_path,
    )?;
    let end = optional(element, namespace, "endDate", &end_path)?
        .map(|e| date(e, &end_path))
        .transpose()?;
    Period::new(begin, end).map_err(|e| {
        Fault::new(ReasonCode::EndBeforeBegin, format!("{path}: {e}"))
            .field(&begin_path, &begin.to_string())
            .field(&end_path, &end.map(|d| d.to_string()).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(text: &str) -> Element {
        Element {
            name: "d".into(),
            text: text.into(),
            ..Element::default()
        }
    }

    #[test]
    fn dates_accept_xs_date_forms_and_refuse_impossible_days() {
        let ok = |s: &str| date(&leaf(s), "d").unwrap().to_string();
        assert_eq!(ok("2024-02-29"), "2024-02-29");
        assert_eq!(ok(" 2024-01-31Z "), "2024-01-31");
        assert_eq!(ok("2024-01-31+01:00"), "2024-01-31");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-1",
            "",
            "20240101",
            "0999-01-01",
            "2024-01-01+0100",
            "é",
            "\u{a0}2024-01-31",
            "2024-01-31\u{2003}",
        ] {
            let fault = date(&leaf(bad), "d").unwrap_err();
            assert_eq!(fault.reason, ReasonCode::InvalidDate, "{bad}");
        }
    }
}
