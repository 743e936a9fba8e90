//! The Dimona source file (xsd/Dimona.xsd): immediate employment declarations IN, OUT,
//! UPDATE and CANCEL about Dimona periods, read here into values one record at a time
//! (`read::DimonaReader`, constant memory), with the rules a period obeys (`Period`).
//! `service::dimona_import` applies a file; [`apply_file`] is the entry point of the CLI and
//! the inbox; `generate` writes synthetic files for trials and the benchmark.

pub mod generate;
pub mod read;

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use chrono::NaiveDate;

use crate::domain::{EnterpriseNumber, Niss};
use crate::service::dimona_import::{self, DimonaError, DimonaReport};
use crate::store::Database;

/// The namespace of Dimona.xsd.
pub const DIMONA_NS: &str = "urn:be:raas:types:Dimona:v1";

/// One record, with what names it in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    /// 1-based position in the file.
    pub position: usize,
    pub declaration: Declaration,
}

impl Record {
    /// `record r3 (#3)`, for messages.
    pub fn name(&self) -> String {
        format!("record {} (#{})", self.id, self.position)
    }
}

/// What a record declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declaration {
    /// A new period.
    In(Period),
    /// The period ends.
    Out {
        period_id: i64,
        end_date: NaiveDate,
        end_hour: Option<Hour>,
    },
    /// Fields of the period change.
    Update {
        period_id: i64,
        changes: PeriodChanges,
    },
    /// The period is canceled.
    Cancel { period_id: i64 },
}

/// The kind of a declaration, as stored (`dimona_declarations.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    In,
    Out,
    Update,
    Cancel,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::In => "IN",
            Kind::Out => "OUT",
            Kind::Update => "UPDATE",
            Kind::Cancel => "CANCEL",
        }
    }
}

impl Declaration {
    pub fn kind(&self) -> Kind {
        match self {
            Declaration::In(_) => Kind::In,
            Declaration::Out { .. } => Kind::Out,
            Declaration::Update { .. } => Kind::Update,
            Declaration::Cancel { .. } => Kind::Cancel,
        }
    }

    /// The period the declaration is about.
    pub fn period_id(&self) -> i64 {
        match self {
            Declaration::In(period) => period.period_id,
            Declaration::Out { period_id, .. }
            | Declaration::Update { period_id, .. }
            | Declaration::Cancel { period_id } => *period_id,
        }
    }

    /// The declaration as JSON: its kind, period id and the fields it gives, by their names
    /// in Dimona.xsd (for the mutation journal).
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::Map::new();
        json.insert("kind".into(), self.kind().as_str().into());
        json.insert("periodId".into(), self.period_id().into());
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                json.insert(name.into(), value.into());
            }
        };
        let text = |v: &dyn fmt::Display| Some(v.to_string());
        match self {
            Declaration::In(p) => {
                match &p.employer {
                    Employer::Enterprise(n) => put("employerEnterpriseNumber", text(n)),
                    Employer::Nsso(n) => put("employerNssoNumber", Some(n.clone())),
                }
                put("workerSsin", text(&p.worker));
                put("startDate", text(&p.start_date));
                put("startHour", p.start_hour.map(|h| h.to_string()));
                put("endDate", p.end_date.map(|d| d.to_string()));
                put("endHour", p.end_hour.map(|h| h.to_string()));
                put("jointCommittee", Some(p.joint_committee.clone()));
                put("workerType", Some(p.worker_type.clone()));
                put("usingEmployer", p.using_employer.map(|n| n.to_string()));
                put("plannedHours", p.planned_hours.clone());
            }
            Declaration::Out {
                end_date, end_hour, ..
            } => {
                put("endDate", text(end_date));
                put("endHour", end_hour.map(|h| h.to_string()));
            }
            Declaration::Update { changes: c, .. } => {
                put("startDate", c.start_date.map(|d| d.to_string()));
                put("startHour", c.start_hour.map(|h| h.to_string()));
                put("endDate", c.end_date.map(|d| d.to_string()));
                put("endHour", c.end_hour.map(|h| h.to_string()));
                put("jointCommittee", c.joint_committee.clone());
                put("workerType", c.worker_type.clone());
                put("plannedHours", c.planned_hours.clone());
            }
            Declaration::Cancel { .. } => {}
        }
        serde_json::Value::Object(json)
    }
}

/// Who employs the worker: by enterprise number or by NSSO registration number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Employer {
    Enterprise(EnterpriseNumber),
    /// 1 to 10 digits.
    Nsso(String),
}

/// An hour of the day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour {
    minutes: u16,
}

impl Hour {
    /// `HH:MM`, 00:00 to 23:59, exactly five characters.
    pub fn parse(text: &str) -> Option<Hour> {
        let bytes = text.as_bytes();
        if bytes.len() != 5 || bytes[2] != b':' {
            return None;
        }
        let two = |at: usize| -> Option<u16> {
            let (a, b) = (bytes[at], bytes[at + 1]);
            (a.is_ascii_digit() && b.is_ascii_digit())
                .then(|| u16::from(a - b'0') * 10 + u16::from(b - b'0'))
        };
        let (hours, minutes) = (two(0)?, two(3)?);
        (hours < 24 && minutes < 60).then_some(Hour {
            minutes: hours * 60 + minutes,
        })
    }

    /// The hour `hours:minutes`, if it is one.
    pub fn new(hours: u16, minutes: u16) -> Option<Hour> {
        (hours < 24 && minutes < 60).then_some(Hour {
            minutes: hours * 60 + minutes,
        })
    }
}

impl Hour {
    /// The hours, 0 to 23.
    pub fn hours(self) -> u16 {
        self.minutes / 60
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// The status of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodStatus {
    Active,
    Canceled,
}

impl PeriodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodStatus::Active => "ACTIVE",
            PeriodStatus::Canceled => "CANCELED",
        }
    }
}

/// A Dimona period: what an IN declares, as later declarations change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub period_id: i64,
    pub employer: Employer,
    pub worker: Niss,
    pub start_date: NaiveDate,
    pub start_hour: Option<Hour>,
    pub end_date: Option<NaiveDate>,
    /// Only with an end date.
    pub end_hour: Option<Hour>,
    /// 3 digits or `XXX`.
    pub joint_committee: String,
    /// 3 capital letters or digits.
    pub worker_type: String,
    pub using_employer: Option<EnterpriseNumber>,
    /// Up to 4 digits and 2 decimals, as declared.
    pub planned_hours: Option<String>,
}

/// The fields an UPDATE changes: only those given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodChanges {
    pub start_date: Option<NaiveDate>,
    pub start_hour: Option<Hour>,
    pub end_date: Option<NaiveDate>,
    pub end_hour: Option<Hour>,
    pub joint_committee: Option<String>,
    pub worker_type: Option<String>,
    pub planned_hours: Option<String>,
}

impl PeriodChanges {
    pub fn is_empty(&self) -> bool {
        *self == PeriodChanges::default()
    }
}

impl Period {
    /// Why the period is not coherent: an end hour without an end date, an end before the
    /// start (on the same day, by the hours when both are given).
    pub fn check(&self) -> Result<(), String> {
        let Some(end_date) = self.end_date else {
            return match self.end_hour {
                Some(hour) => Err(format!("the end hour {hour} has no end date")),
                None => Ok(()),
            };
        };
        let before = end_date < self.start_date
            || (end_date == self.start_date
                && matches!((self.start_hour, self.end_hour), (Some(s), Some(e)) if e < s));
        if before {
            return Err(format!(
                "the period would end ({}) before it starts ({})",
                moment(end_date, self.end_hour),
                moment(self.start_date, self.start_hour)
            ));
        }
        Ok(())
    }

    /// The period after an OUT: it ends at `end_date` (and `end_hour`, or no hour).
    pub fn ended(&self, end_date: NaiveDate, end_hour: Option<Hour>) -> Result<Period, String> {
        let period = Period {
            end_date: Some(end_date),
            end_hour,
            ..self.clone()
        };
        period.check()?;
        Ok(period)
    }

    /// The period after an UPDATE.
    pub fn updated(&self, changes: &PeriodChanges) -> Result<Period, String> {
        let mut period = self.clone();
        let c = changes.clone();
        period.start_date = c.start_date.unwrap_or(period.start_date);
        period.start_hour = c.start_hour.or(period.start_hour);
        period.end_date = c.end_date.or(period.end_date);
        period.end_hour = c.end_hour.or(period.end_hour);
        period.joint_committee = c.joint_committee.unwrap_or(period.joint_committee);
        period.worker_type = c.worker_type.unwrap_or(period.worker_type);
        period.planned_hours = c.planned_hours.or(period.planned_hours);
        period.check()?;
        Ok(period)
    }
}

/// `2026-12-01 08:00` or `2026-12-01`.
fn moment(date: NaiveDate, hour: Option<Hour>) -> String {
    match hour {
        Some(hour) => format!("{date} {hour}"),
        None => date.to_string(),
    }
}

/// Applies the Dimona file at `path`, whole or not at all: its SHA-256 first (a file applied
/// already is recognised without reading a record), then its records, streamed. `today`
/// bounds the birth dates of worker numbers.
pub fn apply_file(
    db: &Database,
    path: &Path,
    today: NaiveDate,
) -> Result<DimonaReport, DimonaError> {
    const READ_BUFFER: usize = 1 << 20;
    let unreadable = |error: std::io::Error| DimonaError::Unreadable {
        path: path.display().to_string(),
        error: error.to_string(),
    };
    let open = || {
        File::open(path)
            .map(|f| BufReader::with_capacity(READ_BUFFER, f))
            .map_err(unreadable)
    };
    let digest = crate::xml::record_file::digest(open()?).map_err(unreadable)?;
    let reader = read::DimonaReader::new(open()?, today)?;
    dimona_import::apply(db, &digest, reader, today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn period() -> Period {
        Period {
            period_id: 1,
            employer: Employer::Nsso("123".into()),
            worker: Niss::parse("85073003328", day("2026-12-01")).unwrap(),
            start_date: day("2026-12-01"),
            start_hour: Hour::parse("08:00"),
            end_date: None,
            end_hour: None,
            joint_committee: "302".into(),
            worker_type: "STU".into(),
            using_employer: None,
            planned_hours: None,
        }
    }

    #[test]
    fn hours_read_and_print_as_hh_mm() {
        assert_eq!(Hour::parse("08:05").unwrap().to_string(), "08:05");
        assert_eq!(Hour::parse("23:59"), Hour::new(23, 59));
        for bad in ["24:00", "8:00", "08:60", "08-00", "08:0a", "", "008:00"] {
            assert_eq!(Hour::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_period_never_ends_before_it_starts() {
        let p = period();
        assert!(p.ended(day("2026-12-01"), Hour::parse("08:00")).is_ok());
        assert!(p.ended(day("2026-12-01"), None).is_ok());
        let e = p
            .ended(day("2026-12-01"), Hour::parse("07:59"))
            .unwrap_err();
        assert_eq!(
            e,
            "the period would end (2026-12-01 07:59) before it starts (2026-12-01 08:00)"
        );
        assert!(p.ended(day("2026-11-30"), None).is_err());
        let changes = PeriodChanges {
            end_hour: Hour::parse("17:00"),
            ..PeriodChanges::default()
        };
        assert_eq!(
            p.updated(&changes).unwrap_err(),
            "the end hour 17:00 has no end date"
        );
        let ended = p.ended(day("2026-12-31"), None).unwrap();
        let later_start = PeriodChanges {
            start_date: Some(day("2027-01-01")),
            ..PeriodChanges::default()
        };
        assert!(ended.updated(&later_start).is_err());
    }

    #[test]
    fn the_journal_json_names_the_fields_given() {
        let json = Declaration::Out {
            period_id: 12,
            end_date: day("2026-12-31"),
            end_hour: None,
        }
        .to_json();
        assert_eq!(
            json,
            serde_json::json!({"kind": "OUT", "periodId": 12, "endDate": "2026-12-31"})
        );
        let json = Declaration::In(period()).to_json();
        assert_eq!(json["employerNssoNumber"], "123");
        assert_eq!(json["startHour"], "08:00");
        assert!(json.get("endDate").is_none());
    }
}
