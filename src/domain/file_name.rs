//! The name of a daily data file: `<TYPE>_<cbe>_<YYYYMMDD>_<sequence, 6 digits>.xml`, with
//! its voucher and signature beside it under the same name and a suffix.

use std::fmt;

use chrono::NaiveDate;

use super::FileType;

/// What a data file's name says: `<TYPE>_<cbe>_<YYYYMMDD>_<sequence, 6 digits>.xml`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileName {
    pub file_type: FileType,
    pub cbe: String,
    pub reference_date: NaiveDate,
    pub sequence: u64,
}

impl FileName {
    /// Reads a data file's name (not a path); `None` if it is not one.
    pub fn parse(name: &str) -> Option<FileName> {
        let stem = name.strip_suffix(".xml")?;
        let mut parts = stem.rsplitn(4, '_');
        let sequence = parts.next()?;
        let date = parts.next()?;
        let cbe = parts.next()?;
        let file_type: FileType = parts.next()?.parse().ok()?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(sequence, 6) || !digits(date, 8) || !digits(cbe, 10) {
            return None;
        }
        Some(FileName {
            file_type,
            cbe: cbe.to_owned(),
            reference_date: NaiveDate::parse_from_str(date, "%Y%m%d").ok()?,
            sequence: sequence.parse().ok().filter(|n| *n > 0)?,
        })
    }
}

/// `<TYPE>_<cbe>_<YYYYMMDD>_<sequence, 6 digits>.xml`.
impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}_{}_{}_{:06}.xml",
            self.file_type,
            self.cbe,
            self.reference_date.format("%Y%m%d"),
            self.sequence
        )
    }
}
