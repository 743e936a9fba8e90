//! Reading a Dimona file one record at a time: each record is read as a small tree, checked
//! and handed out, so memory does not grow with the file. The SHA-256 of the bytes read is
//! computed on the way ([`DimonaReader::digest`]), to be compared with the digest computed
//! beforehand (`crate::xml::record_file::digest`): a file that changed in between is refused.
//! The file's frame (root, `fileId`, record ids, digest) is [`crate::xml::record_file`]'s.

use chrono::NaiveDate;

use super::{Declaration, Employer, Hour, Period, PeriodChanges, Record, DIMONA_NS};
use crate::domain::EnterpriseNumber;
use crate::xml::person::{self, FieldError};
pub use crate::xml::record_file::ReadError;
use crate::xml::record_file::{RecordFile, RecordFormat};
use crate::xml::tree::NotText;
use crate::xml::{Element, Limits};

/// The records of a Dimona file, in order, each checked (see [`RecordFile`]).
pub type DimonaReader<R> = RecordFile<R, DimonaFile>;

/// The Dimona file's format (Dimona.xsd).
pub struct DimonaFile;

impl RecordFormat for DimonaFile {
    const NAMESPACE: &'static str = DIMONA_NS;
    const ROOT: &'static str = "dimona";
    /// An IN is 13 elements.
    const LIMITS: Limits = Limits {
        max_depth: 8,
        max_elements: 64,
    };
    type Value = Declaration;
    type Record = Record;

    /// `today` bounds the birth dates of worker numbers.
    fn read(element: &Element, today: NaiveDate) -> Field<Declaration> {
        declaration(element, today)
    }

    fn record(id: String, position: usize, declaration: Declaration) -> Record {
        Record {
            id,
            position,
            declaration,
        }
    }
}

type Field<T> = Result<T, FieldError>;

fn field_error(field: &str, value: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.into(),
        is_ssin: false,
    }
}

/// The elements a record of each kind may hold.
const IN_FIELDS: &[&str] = &[
    "periodId",
    "employer",
    "workerSsin",
    "startDate",
    "startHour",
    "endDate",
    "endHour",
    "jointCommittee",
    "workerType",
    "usingEmployer",
    "plannedHours",
];
const OUT_FIELDS: &[&str] = &["periodId", "endDate", "endHour"];
const UPDATE_FIELDS: &[&str] = &[
    "periodId",
    "startDate",
    "startHour",
    "endDate",
    "endHour",
    "jointCommittee",
    "workerType",
    "plannedHours",
];
const CANCEL_FIELDS: &[&str] = &["periodId"];

/// The fields of one record element, each read once.
struct Fields<'a> {
    element: &'a Element,
    today: NaiveDate,
}

impl<'a> Fields<'a> {
    /// Refuses an element that does not belong in the record (a misspelt field must not
    /// silently change nothing) and text beside the fields.
    fn new(element: &'a Element, allowed: &[&str], today: NaiveDate) -> Field<Fields<'a>> {
        only(element, allowed)?;
        Ok(Fields { element, today })
    }

    fn optional(&self, name: &str) -> Field<Option<&'a Element>> {
        self.element
            .single_child(DIMONA_NS, name)
            .map_err(|_| field_error(name, "", "appears more than once"))
    }

    fn required(&self, name: &str) -> Field<&'a Element> {
        self.optional(name)?
            .ok_or_else(|| field_error(name, "", "is missing"))
    }

    fn text(&self, name: &str) -> Field<Option<&'a str>> {
        self.optional(name)?.map(|e| leaf(e, name)).transpose()
    }

    fn required_text(&self, name: &str) -> Field<&'a str> {
        leaf(self.required(name)?, name)
    }

    fn period_id(&self) -> Field<i64> {
        let value = self.required_text("periodId")?;
        let valid = (1..=12).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_digit())
            && !value.starts_with('0');
        valid.then(|| value.parse().ok()).flatten().ok_or_else(|| {
            field_error(
                "periodId",
                value,
                "must be 1 to 12 digits without a leading zero",
            )
        })
    }

    fn date(&self, name: &str) -> Field<Option<NaiveDate>> {
        self.text(name)?.map(|value| day(name, value)).transpose()
    }

    fn hour(&self, name: &str) -> Field<Option<Hour>> {
        self.text(name)?
            .map(|value| {
                Hour::parse(value).ok_or_else(|| {
                    field_error(name, value, "must be an hour HH:MM (00:00 to 23:59)")
                })
            })
            .transpose()
    }

    fn joint_committee(&self) -> Field<Option<String>> {
        self.text("jointCommittee")?
            .map(|value| {
                let valid = value == "XXX"
                    || (value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit()));
                valid
                    .then(|| value.to_string())
                    .ok_or_else(|| field_error("jointCommittee", value, "must be 3 digits or XXX"))
            })
            .transpose()
    }

    fn worker_type(&self) -> Field<Option<String>> {
        self.text("workerType")?
            .map(|value| {
                let valid = value.len() == 3
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                valid.then(|| value.to_string()).ok_or_else(|| {
                    field_error(
                        "workerType",
                        value,
                        "must be 3 capital letters or digits (STU, FLX, EXT, A17, …)",
                    )
                })
            })
            .transpose()
    }

    fn planned_hours(&self) -> Field<Option<String>> {
        self.text("plannedHours")?
            .map(|value| {
                let (whole, decimals) = value.split_once('.').unwrap_or((value, "0"));
                let digits = |s: &str, max: usize| {
                    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                };
                (digits(whole, 4) && digits(decimals, 2))
                    .then(|| value.to_string())
                    .ok_or_else(|| {
                        field_error(
                            "plannedHours",
                            value,
                            "must be a number of hours, up to 4 digits and 2 decimals",
                        )
                    })
            })
            .transpose()
    }

    fn enterprise_number(&self, element: &Element, name: &str) -> Field<EnterpriseNumber> {
        let value = leaf(element, name)?;
        EnterpriseNumber::parse(value).map_err(|e| {
            field_error(
                name,
                value,
                format!("is not a valid enterprise number: {e}"),
            )
        })
    }

    fn employer(&self) -> Field<Employer> {
        let employer = self.required("employer")?;
        only(employer, &["enterpriseNumber", "nssoNumber"]).map_err(|e| e.under("employer"))?;
        let inner = Fields {
            element: employer,
            today: self.today,
        };
        let read = || -> Field<Employer> {
            match (
                inner.optional("enterpriseNumber")?,
                inner.optional("nssoNumber")?,
            ) {
                (Some(number), None) => Ok(Employer::Enterprise(
                    inner.enterprise_number(number, "enterpriseNumber")?,
                )),
                (None, Some(number)) => {
                    let value = leaf(number, "nssoNumber")?;
                    let valid = (1..=10).contains(&value.len())
                        && value.bytes().all(|b| b.is_ascii_digit());
                    if !valid {
                        return Err(field_error("nssoNumber", value, "must be 1 to 10 digits"));
                    }
                    Ok(Employer::Nsso(value.to_string()))
                }
                _ => Err(field_error(
                    "enterpriseNumber",
                    "",
                    "exactly one of enterpriseNumber and nssoNumber is needed",
                )),
            }
        };
        read().map_err(|e| e.under("employer"))
    }
}

/// Refuses a child of `element` that is not one of `allowed` in the Dimona namespace, and
/// text beside them.
fn only(element: &Element, allowed: &[&str]) -> Field<()> {
    if let Some(unknown) = element.children.iter().find(|c| {
        !(c.namespace.as_deref() == Some(DIMONA_NS) && allowed.contains(&c.name.as_str()))
    }) {
        return Err(field_error(
            &unknown.name,
            "",
            format!(
                "{} does not belong here (expected {})",
                unknown.expanded_name(),
                allowed.join(", ")
            ),
        ));
    }
    if !element.has_no_text() {
        return Err(field_error(
            &element.name,
            element.value(),
            "text is not allowed beside the fields",
        ));
    }
    Ok(())
}

/// The text of a field holding text only: an element inside it is refused.
fn leaf<'a>(element: &'a Element, field: &str) -> Field<&'a str> {
    element.leaf_value().map_err(|NotText(child)| {
        field_error(
            field,
            &child.name,
            format!(
                "must hold text only, not the element {}",
                child.expanded_name()
            ),
        )
    })
}

/// A day `yyyy-mm-dd`.
fn day(field: &str, value: &str) -> Field<NaiveDate> {
    let shape = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| field_error(field, value, "must be a date yyyy-mm-dd"))
}

fn declaration(element: &Element, today: NaiveDate) -> Field<Declaration> {
    if element.namespace.as_deref() != Some(DIMONA_NS) {
        return Err(unknown_record(element));
    }
    Ok(match element.name.as_str() {
        "dimonaIn" => {
            let f = Fields::new(element, IN_FIELDS, today)?;
            let period = Period {
                period_id: f.period_id()?,
                employer: f.employer()?,
                worker: person::read_ssin(f.required("workerSsin")?, "workerSsin", f.today)?,
                start_date: day("startDate", f.required_text("startDate")?)?,
                start_hour: f.hour("startHour")?,
                end_date: f.date("endDate")?,
                end_hour: f.hour("endHour")?,
                joint_committee: f
                    .joint_committee()?
                    .ok_or_else(|| field_error("jointCommittee", "", "is missing"))?,
                worker_type: f
                    .worker_type()?
                    .ok_or_else(|| field_error("workerType", "", "is missing"))?,
                using_employer: f
                    .optional("usingEmployer")?
                    .map(|e| f.enterprise_number(e, "usingEmployer"))
                    .transpose()?,
                planned_hours: f.planned_hours()?,
            };
            period
                .check()
                .map_err(|reason| field_error("endDate", "", reason))?;
            Declaration::In(period)
        }
        "dimonaOut" => {
            let f = Fields::new(element, OUT_FIELDS, today)?;
            Declaration::Out {
                period_id: f.period_id()?,
                end_date: day("endDate", f.required_text("endDate")?)?,
                end_hour: f.hour("endHour")?,
            }
        }
        "dimonaUpdate" => {
            let f = Fields::new(element, UPDATE_FIELDS, today)?;
            let period_id = f.period_id()?;
            let changes = PeriodChanges {
                start_date: f.date("startDate")?,
                start_hour: f.hour("startHour")?,
                end_date: f.date("endDate")?,
                end_hour: f.hour("endHour")?,
                joint_committee: f.joint_committee()?,
                worker_type: f.worker_type()?,
                planned_hours: f.planned_hours()?,
            };
            if changes.is_empty() {
                return Err(field_error(
                    "periodId",
                    &period_id.to_string(),
                    "an update must change at least one field",
                ));
            }
            Declaration::Update { period_id, changes }
        }
        "dimonaCancel" => {
            let f = Fields::new(element, CANCEL_FIELDS, today)?;
            Declaration::Cancel {
                period_id: f.period_id()?,
            }
        }
        _ => return Err(unknown_record(element)),
    })
}

fn unknown_record(element: &Element) -> FieldError {
    field_error(
        &element.name,
        "",
        format!(
            "{} is not a record: expected dimonaIn, dimonaOut, dimonaUpdate or dimonaCancel in {DIMONA_NS}",
            element.expanded_name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn file(records: &str) -> String {
        format!(
            r#"<dimona xmlns="{DIMONA_NS}" fileId="D-1" createdAt="2026-12-01T06:00:00Z">{records}</dimona>"#
        )
    }

    fn read(xml: &str) -> Result<Vec<Record>, ReadError> {
        let mut reader = DimonaReader::new(xml.as_bytes(), today())?;
        let records = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
        assert_eq!(
            reader.digest(),
            crate::xml::record_file::digest(xml.as_bytes()).unwrap()
        );
        Ok(records)
    }

    const IN: &str = concat!(
        r#"<dimonaIn id="a"><periodId>123456789012</periodId>"#,
        r#"<employer><enterpriseNumber>0202239951</enterpriseNumber></employer>"#,
        r#"<workerSsin>85073003328</workerSsin><startDate>2026-12-01</startDate>"#,
        r#"<startHour>08:00</startHour><endDate>2026-12-01</endDate><endHour>17:30</endHour>"#,
        r#"<jointCommittee>302</jointCommittee><workerType>STU</workerType>"#,
        r#"<usingEmployer>0403019261</usingEmployer><plannedHours>7.5</plannedHours></dimonaIn>"#
    );

    #[test]
    fn reads_every_kind_of_record() {
        let xml = file(&format!(
            "{IN}{}{}{}",
            r#"<dimonaOut id="b"><periodId>123456789012</periodId><endDate>2026-12-02</endDate></dimonaOut>"#,
            r#"<dimonaUpdate id="c"><periodId>123456789012</periodId><workerType>FLX</workerType></dimonaUpdate>"#,
            r#"<dimonaCancel id="d"><periodId>123456789012</periodId></dimonaCancel>"#,
        ));
        let records = read(&xml).unwrap();
        let Declaration::In(period) = &records[0].declaration else {
            panic!("{records:?}")
        };
        assert_eq!(period.period_id, 123_456_789_012);
        assert_eq!(period.worker.as_str(), "85073003328");
        assert_eq!(period.end_hour.unwrap().to_string(), "17:30");
        assert_eq!(period.planned_hours.as_deref(), Some("7.5"));
        assert_eq!(
            period.using_employer.map(|n| n.to_string()).as_deref(),
            Some("0403019261")
        );
        let kinds: Vec<&str> = records
            .iter()
            .map(|r| r.declaration.kind().as_str())
            .collect();
        assert_eq!(kinds, ["IN", "OUT", "UPDATE", "CANCEL"]);
        assert_eq!(records[3].name(), "record d (#4)");
    }

    #[track_caller]
    fn refused(records: &str, expected: &str) {
        let e = read(&file(records)).unwrap_err().to_string();
        assert!(e.contains(expected), "expected {expected:?} in {e}");
    }

    #[test]
    fn errors_name_the_record_and_field() {
        // Each field spoilt in turn, in the IN: (what, replaced by, the error says).
        for (what, by, expected) in [
            (
                "0202239951",
                "0202239952",
                "record a (#1): employer/enterpriseNumber: is not a valid enterprise number",
            ),
            (
                "85073003328",
                "85073003329",
                "record a (#1): workerSsin: is not a valid NISS",
            ),
            (
                "2026-12-01</startDate>",
                "2026-02-30</startDate>",
                "startDate: must be a date",
            ),
            ("17:30", "25:00", "endHour: must be an hour"),
            (">302<", ">30<", "jointCommittee: must be 3 digits"),
            (">STU<", ">stu<", "workerType: must be 3 capital"),
            (">7.5<", ">7.555<", "plannedHours: must be"),
            ("123456789012", "0123", "periodId: must be 1 to 12 digits"),
            (
                "17:30",
                "07:30",
                "the period would end (2026-12-01 07:30) before it starts (2026-12-01 08:00)",
            ),
            (
                "<startDate>",
                "<startDate>2026-12-01</startDate><startDate>",
                "startDate: appears more than once",
            ),
            (
                "<workerType>",
                "<workerTyp>X</workerTyp><workerType>",
                "does not belong here",
            ),
            (
                "<enterpriseNumber>0202239951</enterpriseNumber>",
                "<enterpriseNumber>0202239951</enterpriseNumber><nssoNumber>1</nssoNumber>",
                "exactly one of enterpriseNumber and nssoNumber",
            ),
            (
                "<periodId>123456789012</periodId>",
                "",
                "periodId: is missing",
            ),
            (
                "<endDate>2026-12-01</endDate>",
                "",
                "the end hour 17:30 has no end date",
            ),
        ] {
            refused(&IN.replace(what, by), expected);
        }
        refused(
            r#"<dimonaUpdate id="u"><periodId>5</periodId></dimonaUpdate>"#,
            "record u (#1): periodId: an update must change at least one field",
        );
        refused(r#"<dimonaBirth id="x"/>"#, "is not a record");
        refused(&IN.repeat(2), "record a (#2): the id is used twice");
        refused(
            &IN.replace("<startHour>08:00", "<startHour><b/>08:00"),
            "must hold text only",
        );
    }

    #[test]
    fn hostile_documents_are_refused() {
        for xml in [
            format!("<!DOCTYPE dimona [<!ENTITY x 'y'>]>{}", file("")),
            file(&IN.replace("STU", "S\u{0}U")),
            file(&IN.replace("STU", "&x;")),
            file(&format!("{IN}<dimonaCancel")),
            "<dimona".to_string(),
            String::new(),
            r#"<population xmlns="urn:be:raas:types:Population:v1"/>"#.to_string(),
            format!(r#"<dimona xmlns="{DIMONA_NS}" createdAt="x"/>"#),
        ] {
            assert!(read(&xml).is_err(), "accepted: {xml}");
        }
    }
}
