//! Synthetic Dimona files for trials and benchmarks (`raas generate dimona`): mostly INs of
//! workers taken from a list of numbers the source knows, with OUTs, UPDATEs and CANCELs of
//! periods the file created earlier, so the file applies to that source. Streamed in constant
//! memory: the later declarations pick their periods among the last [`RECENT`] created that
//! are still active; the workers are a sample of at most [`MAX_WORKERS`] numbers of the list.
//!
//! Realistic profiles (DOMAIN.md §4): students (STU) over days or weeks with planned hours,
//! flexi-jobs (FLX) and occasional horeca workers (EXT) for one shift with hours, ordinary
//! open-ended employments (OTH, some through an interim agency with a using employer), and a
//! few A17 and DWD; employers by enterprise number, some by NSSO number.
//!
//! The periods of seed S are numbered from (S mod 99 999 + 1) × 10⁷ + 1: files of different
//! seeds (below 99 999) never share a period id. Deterministic: the same declarations,
//! workers, seed and `createdAt` give the same bytes.

use std::io::{self, BufRead, Write};

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Hour, DIMONA_NS};
use crate::domain::Niss;
use crate::xml::XmlOut;

/// How many recent active periods the later declarations choose from.
const RECENT: usize = 4096;

/// Declarations before the mix starts: only INs until there are this many periods.
const WARM_UP: usize = 64;

/// The most workers kept from the list (a uniform sample of a longer one).
pub const MAX_WORKERS: usize = 1 << 18;

/// The most declarations of one file: the period ids of a seed.
pub const MAX_DECLARATIONS: u64 = 9_999_999;

/// How many employers the file's declarations spread over.
const EMPLOYERS: usize = 2_000;

/// How many bytes are built before they are handed to the writer.
const CHUNK: usize = 60 * 1024;

/// How many declarations of each kind a file got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DimonaCounts {
    pub declarations: u64,
    pub ins: u64,
    pub outs: u64,
    pub updates: u64,
    pub cancels: u64,
}

/// Reads a list of worker numbers, one a line (blank lines skipped), keeping a uniform
/// sample of at most [`MAX_WORKERS`] of them (the same list and seed keep the same sample).
///
/// # Errors
/// A line that is not a valid NISS (named by its number), an empty list, a read error.
pub fn read_workers(input: impl BufRead, seed: u64) -> Result<Vec<Niss>, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x776f_726b_6572_7321); // "workers!"
    let mut sample: Vec<Niss> = Vec::new();
    let mut seen: u64 = 0;
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read the workers: {e}"))?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let niss = Niss::parse(text, NaiveDate::MAX)
            .map_err(|e| format!("line {}: {text:?} is not a valid NISS: {e}", number + 1))?;
        seen += 1;
        if sample.len() < MAX_WORKERS {
            sample.push(niss);
        } else {
            let at = rng.random_range(0..seen);
            if let Some(slot) = usize::try_from(at).ok().and_then(|at| sample.get_mut(at)) {
                *slot = niss;
            }
        }
    }
    if sample.is_empty() {
        return Err("the list of workers is empty".into());
    }
    Ok(sample)
}

/// A period created earlier in the file and still active.
#[derive(Debug, Clone, Copy)]
struct Open {
    id: u64,
    start: NaiveDate,
    start_hour: Option<Hour>,
    end: Option<NaiveDate>,
}

/// An employer: an enterprise number or an NSSO number.
enum Employer {
    Enterprise(String),
    Nsso(String),
}

/// A valid enterprise number: 0 or 1, 7 more digits, and the check digits.
fn enterprise_number<R: Rng + ?Sized>(rng: &mut R) -> String {
    let base: u64 = rng.random_range(200_000..20_000_000);
    format!("{base:08}{:02}", 97 - base % 97)
}

/// What a worker type comes with.
struct Profile {
    worker_type: &'static str,
    joint_committees: &'static [&'static str],
    /// Works one shift, with start and end hours.
    shift: bool,
    /// The period's length in days (0: the same day), or open-ended.
    days: Option<std::ops::Range<u64>>,
    planned_hours: bool,
}

/// Out of 100 INs: 30 students, 15 flexi-jobs, 15 occasional workers, 30 ordinary, 5 A17,
/// 5 DWD.
const PROFILES: [(u32, Profile); 6] = [
    (
        30,
        Profile {
            worker_type: "STU",
            joint_committees: &["302", "200", "201", "311", "118", "140"],
            shift: false,
            days: Some(0..60),
            planned_hours: true,
        },
    ),
    (
        15,
        Profile {
            worker_type: "FLX",
            joint_committees: &["302", "201", "311", "202"],
            shift: true,
            days: Some(0..1),
            planned_hours: false,
        },
    ),
    (
        15,
        Profile {
            worker_type: "EXT",
            joint_committees: &["302"],
            shift: true,
            days: Some(0..1),
            planned_hours: false,
        },
    ),
    (
        30,
        Profile {
            worker_type: "OTH",
            joint_committees: &["200", "124", "111", "140", "322", "330", "118"],
            shift: false,
            days: None,
            planned_hours: false,
        },
    ),
    (
        5,
        Profile {
            worker_type: "A17",
            joint_committees: &["XXX", "329"],
            shift: false,
            days: Some(0..5),
            planned_hours: true,
        },
    ),
    (
        5,
        Profile {
            worker_type: "DWD",
            joint_committees: &["145", "144"],
            shift: false,
            days: Some(0..3),
            planned_hours: false,
        },
    ),
];

fn profile<R: Rng + ?Sized>(rng: &mut R) -> &'static Profile {
    let mut roll = rng.random_range(0..100u32);
    for (weight, profile) in &PROFILES {
        if roll < *weight {
            return profile;
        }
        roll -= weight;
    }
    &PROFILES[0].1
}

fn hour(hours: u16, minutes: u16) -> String {
    Hour::new(hours, minutes)
        .map(|h| h.to_string())
        .unwrap_or_else(|| "00:00".into())
}

fn planned_hours<R: Rng + ?Sized>(rng: &mut R) -> String {
    match rng.random_range(0..3) {
        0 => rng.random_range(3..9u32).to_string(),
        1 => format!("{}.5", rng.random_range(3..8u32)),
        _ => rng.random_range(10..120u32).to_string(),
    }
}

/// Writes a Dimona file of `declarations` declarations about `workers` with `fileId`
/// `file_id`. Out of 100 declarations after the first [`WARM_UP`]: 70 INs, 15 OUTs,
/// 10 UPDATEs and 5 CANCELs.
///
/// # Errors
/// Those of `out`; no workers; more than [`MAX_DECLARATIONS`] declarations.
pub fn write_dimona(
    mut out: impl Write,
    file_id: &str,
    declarations: u64,
    seed: u64,
    workers: &[Niss],
    created_at: DateTime<Utc>,
) -> io::Result<DimonaCounts> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    if workers.is_empty() {
        return Err(invalid("no workers to declare".into()));
    }
    if declarations > MAX_DECLARATIONS {
        return Err(invalid(format!(
            "at most {MAX_DECLARATIONS} declarations in one file"
        )));
    }
    let today = created_at.date_naive();
    let first_id = (seed % 99_999 + 1) * 10_000_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6469_6d6f_6e61_2121); // "dimona!!"
    let employers: Vec<Employer> = (0..EMPLOYERS)
        .map(|_| {
            if rng.random_bool(0.85) {
                Employer::Enterprise(enterprise_number(&mut rng))
            } else {
                Employer::Nsso(rng.random_range(100_000_000..1_000_000_000u64).to_string())
            }
        })
        .collect();
    let agencies: Vec<String> = (0..20).map(|_| enterprise_number(&mut rng)).collect();
    let mut recent: Vec<Open> = Vec::with_capacity(RECENT);
    let mut counts = DimonaCounts::default();
    let mut xml = XmlOut::fragment();
    xml.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .raw("\n<dimona xmlns=\"")
        .raw(DIMONA_NS)
        .raw("\" fileId=\"")
        .attribute_value(file_id)
        .raw("\" createdAt=\"")
        .attribute_value(&created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .raw("\">\n");
    while counts.declarations < declarations {
        let id = format!("d{}", counts.declarations + 1);
        let roll = if recent.len() < WARM_UP {
            0
        } else {
            rng.random_range(0..100)
        };
        match roll {
            70..85 => {
                let at = rng.random_range(0..recent.len());
                let open = &mut recent[at];
                let end = open.start + Days::new(rng.random_range(0..30));
                xml.raw(&format!("<dimonaOut id=\"{id}\"><periodId>{}", open.id))
                    .raw("</periodId><endDate>")
                    .raw(&end.to_string())
                    .raw("</endDate>");
                // On the start day, an end hour after the start hour.
                if let Some(start) = open.start_hour.filter(|_| end == open.start) {
                    xml.leaf("endHour", &hour((start.hours() + 6).min(23), 59));
                }
                xml.raw("</dimonaOut>\n");
                open.end = Some(end);
                counts.outs += 1;
            }
            85..95 => {
                let at = rng.random_range(0..recent.len());
                let open = &mut recent[at];
                xml.raw(&format!(
                    "<dimonaUpdate id=\"{id}\"><periodId>{}</periodId>",
                    open.id
                ));
                match rng.random_range(0..5) {
                    0 | 1 => {
                        xml.leaf("plannedHours", &planned_hours(&mut rng));
                    }
                    2 => {
                        let profile = profile(&mut rng);
                        let committee = profile.joint_committees
                            [rng.random_range(0..profile.joint_committees.len())];
                        xml.leaf("jointCommittee", committee)
                            .leaf("workerType", profile.worker_type);
                    }
                    _ => {
                        // A later end: past the start day, so no hour can be before it.
                        let from = open.end.unwrap_or(open.start).max(open.start);
                        let end = from + Days::new(rng.random_range(1..15));
                        xml.leaf("endDate", &end.to_string());
                        open.end = Some(end);
                    }
                }
                xml.raw("</dimonaUpdate>\n");
                counts.updates += 1;
            }
            95..100 => {
                let open = recent.swap_remove(rng.random_range(0..recent.len()));
                xml.raw(&format!(
                    "<dimonaCancel id=\"{id}\"><periodId>{}</periodId></dimonaCancel>\n",
                    open.id
                ));
                counts.cancels += 1;
            }
            _ => {
                let open = declare_in(
                    &mut xml,
                    &mut rng,
                    &id,
                    first_id + counts.ins + 1,
                    today,
                    &employers,
                    &agencies,
                    workers,
                );
                if recent.len() < RECENT {
                    recent.push(open);
                } else {
                    let at = rng.random_range(0..RECENT);
                    recent[at] = open;
                }
                counts.ins += 1;
            }
        }
        counts.declarations += 1;
        if xml.len() >= CHUNK {
            out.write_all(xml.take().as_bytes())?;
        }
    }
    xml.raw("</dimona>\n");
    out.write_all(xml.take().as_bytes())?;
    out.flush()?;
    Ok(counts)
}

/// Writes one IN and gives its period.
#[allow(clippy::too_many_arguments)]
fn declare_in(
    xml: &mut XmlOut,
    rng: &mut ChaCha8Rng,
    id: &str,
    period_id: u64,
    today: NaiveDate,
    employers: &[Employer],
    agencies: &[String],
    workers: &[Niss],
) -> Open {
    let profile = profile(rng);
    let committee = profile.joint_committees[rng.random_range(0..profile.joint_committees.len())];
    let worker = workers[rng.random_range(0..workers.len())];
    let start = today
        .checked_sub_days(Days::new(3))
        .unwrap_or(today)
        .checked_add_days(Days::new(rng.random_range(0..17)))
        .unwrap_or(today);
    xml.raw(&format!(
        "<dimonaIn id=\"{id}\"><periodId>{period_id}</periodId><employer>"
    ));
    // An interim agency employs the worker for a using employer.
    let using = (committee == "322").then(|| &employers[rng.random_range(0..employers.len())]);
    match using {
        Some(_) => {
            xml.leaf(
                "enterpriseNumber",
                &agencies[rng.random_range(0..agencies.len())],
            );
        }
        None => match &employers[rng.random_range(0..employers.len())] {
            Employer::Enterprise(number) => {
                xml.leaf("enterpriseNumber", number);
            }
            Employer::Nsso(number) => {
                xml.leaf("nssoNumber", number);
            }
        },
    }
    xml.raw("</employer>")
        .leaf("workerSsin", worker.as_str())
        .leaf("startDate", &start.to_string());
    let mut start_hour = None;
    let mut end = None;
    if profile.shift {
        let hours = rng.random_range(6..17u16);
        let minutes = [0, 15, 30, 45][rng.random_range(0..4)];
        start_hour = Hour::new(hours, minutes);
        xml.leaf("startHour", &hour(hours, minutes))
            .leaf("endDate", &start.to_string())
            .leaf("endHour", &hour(hours + rng.random_range(3..7u16), minutes));
        end = Some(start);
    } else if let Some(days) = &profile.days {
        let end_date = start + Days::new(rng.random_range(days.clone()));
        xml.leaf("endDate", &end_date.to_string());
        end = Some(end_date);
    }
    xml.leaf("jointCommittee", committee)
        .leaf("workerType", profile.worker_type);
    if let Some(Employer::Enterprise(number)) = using {
        xml.leaf("usingEmployer", number);
    }
    if profile.planned_hours {
        xml.leaf("plannedHours", &planned_hours(rng));
    }
    xml.raw("</dimonaIn>\n");
    Open {
        id: period_id,
        start,
        start_hour,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dimona::read::DimonaReader;
    use crate::dimona::Declaration;

    fn created_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn workers() -> Vec<Niss> {
        let list = "85073003328\n\n17073003384\n75060898009\n";
        read_workers(list.as_bytes(), 1).unwrap()
    }

    fn generate(declarations: u64, seed: u64) -> (Vec<u8>, DimonaCounts) {
        let mut out = Vec::new();
        let counts = write_dimona(
            &mut out,
            "GEN",
            declarations,
            seed,
            &workers(),
            created_at(),
        )
        .unwrap();
        (out, counts)
    }

    #[test]
    fn the_file_reads_back_with_every_kind_in_the_mix() {
        let (bytes, counts) = generate(5_000, 7);
        assert_eq!(counts.declarations, 5_000);
        assert_eq!(
            counts.ins + counts.outs + counts.updates + counts.cancels,
            5_000
        );
        for (count, low, high) in [
            (counts.ins, 3_300, 3_700),
            (counts.outs, 600, 900),
            (counts.updates, 380, 620),
            (counts.cancels, 160, 340),
        ] {
            assert!((low..=high).contains(&count), "{counts:?}");
        }
        let reader = DimonaReader::new(bytes.as_slice(), created_at().date_naive()).unwrap();
        let records: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 5_000);
        let mut created = std::collections::HashSet::new();
        for record in &records {
            match &record.declaration {
                Declaration::In(period) => {
                    assert!(created.insert(period.period_id), "{record:?}");
                    assert_eq!(period.period_id / 10_000_000, 8);
                    period.check().unwrap();
                }
                other => assert!(created.contains(&other.period_id()), "{record:?}"),
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        assert_eq!(generate(500, 3).0, generate(500, 3).0);
        assert_ne!(generate(500, 3).0, generate(500, 4).0);
    }

    #[test]
    fn a_bad_worker_list_is_refused_naming_the_line() {
        let e = read_workers("85073003328\n85073003329\n".as_bytes(), 1).unwrap_err();
        assert!(e.starts_with("line 2: \"85073003329\""), "{e}");
        assert!(read_workers("\n \n".as_bytes(), 1).is_err());
        let mut out = Vec::new();
        assert!(write_dimona(&mut out, "G", 10, 1, &[], created_at()).is_err());
    }
}
