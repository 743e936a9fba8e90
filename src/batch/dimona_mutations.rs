//! The records of a DIMONA_MUTATIONS file (xsd/DimonaMutations.xsd): each declaration with
//! the Dimona period as it stood after it (a CANCEL: as it was).

use std::io::Write;

use yaserde::YaSerialize;

use super::header::write_element;
use super::person_mutations::timestamp;
use crate::store::batch_run::DeclarationRow;

pub const ROOT: &str = "DimonaMutations";
pub const NAMESPACE: &str = "urn:be:raas:batch:DimonaMutations:v1";

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "employer")]
struct Employer {
    #[yaserde(rename = "enterpriseNumber")]
    enterprise_number: Option<String>,
    #[yaserde(rename = "nssoNumber")]
    nsso_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "declaration")]
struct Declaration {
    seq: i64,
    #[yaserde(rename = "recordedAt")]
    recorded_at: String,
    kind: String,
    #[yaserde(rename = "periodId")]
    period_id: i64,
    employer: Employer,
    worker: String,
    #[yaserde(rename = "startDate")]
    start_date: String,
    #[yaserde(rename = "startHour")]
    start_hour: Option<String>,
    #[yaserde(rename = "endDate")]
    end_date: Option<String>,
    #[yaserde(rename = "endHour")]
    end_hour: Option<String>,
    #[yaserde(rename = "jointCommittee")]
    joint_committee: String,
    #[yaserde(rename = "workerType")]
    worker_type: String,
    #[yaserde(rename = "usingEmployer")]
    using_employer: Option<String>,
    #[yaserde(rename = "plannedHours")]
    planned_hours: Option<String>,
}

/// Writes the record of a declaration (the same for every receiver).
pub fn write_record<W: Write>(out: &mut W, row: &DeclarationRow) -> std::io::Result<()> {
    let record = Declaration {
        seq: row.seq,
        recorded_at: timestamp(row.recorded_at),
        kind: row.kind.clone(),
        period_id: row.period_id,
        employer: Employer {
            enterprise_number: row.employer_cbe.clone(),
            nsso_number: row.employer_nsso.clone(),
        },
        worker: row.worker_ssin.clone(),
        start_date: row.starts_on.to_string(),
        start_hour: row.start_hour.clone(),
        end_date: row.ends_on.map(|d| d.to_string()),
        end_hour: row.end_hour.clone(),
        joint_committee: row.joint_committee.clone(),
        worker_type: row.worker_type.clone(),
        using_employer: row.using_employer_cbe.clone(),
        planned_hours: row.planned_hours.clone(),
    };
    write_element(out, &record)
}
