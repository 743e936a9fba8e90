//! `raas search`: an operator's phonetic search (the SOAP operation's search, recorded in the
//! audit trail under the operator's name), as a table or one JSON object per candidate.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use crate::domain::{Gender, IncompleteDate, SearchCriteria};
use crate::service::phonetic_search::{operator_search, Candidate};
use crate::store::Database;
use crate::xml::person::read_name;
use crate::xml::Element;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The last name, as heard or typed
    #[arg(long)]
    pub last_name: String,
    /// A first name (or an initial)
    #[arg(long)]
    pub first_name: Option<String>,
    /// A middle name (or an initial)
    #[arg(long)]
    pub middle_name: Option<String>,
    /// yyyy-mm-dd, yyyy-mm-00 or yyyy-00-00 (the last two need --tolerance)
    #[arg(long)]
    pub birth_date: String,
    /// Days, months or years around the birth date, as the date gives
    #[arg(long)]
    pub tolerance: Option<u32>,
    /// M or F
    #[arg(long)]
    pub gender: Option<String>,
    /// Candidates at most (1–80, default 10)
    #[arg(long = "max")]
    pub maximum: Option<u32>,
    /// The operator, as recorded in the audit trail (default: $USER, then $LOGNAME)
    #[arg(long, env = "RAAS_OPERATOR")]
    pub operator: Option<String>,
    /// One JSON object per candidate instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Runs the search and prints the candidates (nothing found: a line on standard error).
pub fn run(db: &Database, args: SearchArgs) -> anyhow::Result<()> {
    let birth_date = IncompleteDate::parse(&args.birth_date).with_context(|| {
        format!(
            "--birth-date {}: expected yyyy-mm-dd, yyyy-mm-00 or yyyy-00-00",
            args.birth_date
        )
    })?;
    let gender = match args.gender.as_deref() {
        None => None,
        Some("M") => Some(Gender::Male),
        Some("F") => Some(Gender::Female),
        Some(other) => anyhow::bail!("--gender {other}: expected M or F"),
    };
    let last_name = checked_name("last-name", &args.last_name)?;
    let first_name = args
        .first_name
        .as_deref()
        .map(|n| checked_name("first-name", n))
        .transpose()?;
    let middle_name = args
        .middle_name
        .as_deref()
        .map(|n| checked_name("middle-name", n))
        .transpose()?;
    let criteria = SearchCriteria::new(
        &last_name,
        first_name.as_deref(),
        middle_name.as_deref(),
        birth_date,
        args.tolerance,
        gender,
        args.maximum,
    )
    .map_err(|e| anyhow::anyhow!("--{}: {e}", flag_of(e.field())))?;
    let operator = args
        .operator
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|o| !o.trim().is_empty())
        .context("--operator is required (the audit trail names who searched)")?;
    let found = operator_search(db, &operator, &criteria)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if found.is_empty() {
        eprintln!("no person comes close enough");
    } else if args.json {
        for candidate in &found {
            writeln!(out, "{}", json(candidate))?;
        }
    } else {
        write!(out, "{}", table(&found))?;
    }
    Ok(())
}

/// A name as the SOAP operation accepts it (Person.xsd's NameType: letters, marks, spaces,
/// apostrophes, dots and hyphens, 1 to 100 characters): the operator's search refuses what
/// an integrator's would.
fn checked_name(flag: &str, value: &str) -> anyhow::Result<String> {
    let element = Element {
        name: flag.to_string(),
        text: value.to_string(),
        ..Element::default()
    };
    read_name(&element, flag).map_err(|e| anyhow::anyhow!("--{flag} {value:?}: {}", e.reason))
}

fn flag_of(field: &str) -> &'static str {
    match field {
        "lastName" => "last-name",
        "tolerance" => "tolerance",
        _ => "max",
    }
}

fn json(candidate: &Candidate) -> serde_json::Value {
    let identity = &candidate.person.identity;
    serde_json::json!({
        "score": candidate.score,
        "ssin": candidate.person.ssin.as_str(),
        "lastName": identity.last_name,
        "firstNames": identity.first_names,
        "birthDate": identity.birth_date.to_string(),
        "gender": identity.gender.map(|g| g.as_str()),
        "municipality": identity.address.as_ref().map(|a| a.municipality.as_str()),
    })
}

fn table(found: &[Candidate]) -> String {
    let rows: Vec<[String; 6]> = found
        .iter()
        .map(|c| {
            let identity = &c.person.identity;
            [
                c.score.to_string(),
                c.person.ssin.formatted(),
                format!("{}, {}", identity.last_name, identity.first_names.join(" ")),
                identity.birth_date.to_string(),
                identity.gender.map_or("-", |g| g.as_str()).to_string(),
                identity
                    .address
                    .as_ref()
                    .map_or("-".to_string(), |a| a.municipality.clone()),
            ]
        })
        .collect();
    let header = [
        "SCORE",
        "NUMBER",
        "NAME",
        "BIRTH DATE",
        "GENDER",
        "MUNICIPALITY",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str("  ");
                s.push_str(cell);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(str::to_string));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}
