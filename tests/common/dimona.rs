//! Dimona files of tests (xsd/Dimona.xsd): declarations built as data, written as files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use chrono::{Days, NaiveDate};
use sha2::{Digest, Sha256};

use super::answer::Answer;
use super::app::{answer_of, listening, post_soap, run_with_input, TestApp, RAAS};
use super::db::{query_i64, query_texts};
use super::soap::{Org, Request};
use super::xml::Node;

pub const DIMONA_NS: &str = "urn:be:raas:types:Dimona:v1";

/// One Dimona declaration of a test: IN, OUT, UPDATE or CANCEL of a period.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub kind: &'static str,
    pub period_id: u64,
    pub employer_cbe: String,
    pub worker: String,
    pub start: String,
    pub end: Option<String>,
    pub joint_committee: String,
    pub worker_type: String,
}

impl Declaration {
    /// An IN of a student (joint committee 302) with the organisation A as employer.
    pub fn entry(period_id: u64, worker: &str, start: &str, end: Option<&str>) -> Declaration {
        Declaration {
            kind: "IN",
            period_id,
            employer_cbe: "0202239951".into(),
            worker: worker.into(),
            start: start.into(),
            end: end.map(Into::into),
            joint_committee: "302".into(),
            worker_type: "STU".into(),
        }
    }

    /// The same period declared with another kind (OUT: ended on `end`).
    pub fn with_kind(&self, kind: &'static str, end: Option<&str>) -> Declaration {
        Declaration {
            kind,
            end: end.map(Into::into).or_else(|| self.end.clone()),
            ..self.clone()
        }
    }

    fn element(&self) -> &'static str {
        match self.kind {
            "IN" => "dimonaIn",
            "OUT" => "dimonaOut",
            "UPDATE" => "dimonaUpdate",
            _ => "dimonaCancel",
        }
    }

    /// The record in a Dimona file: an IN gives the whole period, an OUT its end, an UPDATE
    /// its dates, a CANCEL only the period.
    fn xml(&self, id: &str) -> String {
        let element = self.element();
        let mut xml = format!(
            r#"<{element} id="{id}"><periodId>{}</periodId>"#,
            self.period_id
        );
        let end = self
            .end
            .as_ref()
            .map(|end| format!("<endDate>{end}</endDate>"))
            .unwrap_or_default();
        match self.kind {
            "IN" => {
                let _ = write!(
                    xml,
                    "<employer><enterpriseNumber>{}</enterpriseNumber></employer>\
                     <workerSsin>{}</workerSsin><startDate>{}</startDate>{end}\
                     <jointCommittee>{}</jointCommittee><workerType>{}</workerType>",
                    self.employer_cbe,
                    self.worker,
                    self.start,
                    self.joint_committee,
                    self.worker_type
                );
            }
            "OUT" => xml.push_str(&end),
            "UPDATE" => {
                let _ = write!(xml, "<startDate>{}</startDate>{end}", self.start);
            }
            _ => {}
        }
        xml + &format!("</{element}>")
    }

    /// The description [`describe`] gives of this declaration in a DimonaMutations file.
    pub fn described(&self) -> String {
        format!(
            "declaration {} {} {} {}..{} employer={} jc={} type={}",
            self.kind,
            self.period_id,
            self.worker,
            self.start,
            self.end.clone().unwrap_or_default(),
            self.employer_cbe,
            self.joint_committee,
            self.worker_type
        )
    }
}

/// A Dimona file (xsd/Dimona.xsd) under construction.
#[derive(Debug, Clone)]
pub struct DimonaFile {
    pub file_id: String,
    pub declarations: Vec<Declaration>,
}

impl DimonaFile {
    pub fn new(file_id: &str, declarations: &[Declaration]) -> DimonaFile {
        DimonaFile {
            file_id: file_id.into(),
            declarations: declarations.to_vec(),
        }
    }

    pub fn xml(&self) -> String {
        let records: String = self
            .declarations
            .iter()
            .enumerate()
            .map(|(i, d)| d.xml(&format!("r{}", i + 1)))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><dimona xmlns="{DIMONA_NS}" fileId="{}" createdAt="2026-11-30T06:00:00Z">{records}</dimona>"#,
            self.file_id
        )
    }
}

/// A Dimona file (xsd/Dimona.xsd) of `records`.
pub fn dimona_file(file_id: &str, records: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><dimona xmlns="urn:be:raas:types:Dimona:v1" fileId="{file_id}" createdAt="2026-11-21T06:00:00Z">{records}</dimona>"#
    )
}

/// A Dimona IN of `worker` for the employer 0403019261, from `start`, open.
pub fn dimona_in(id: &str, period_id: u64, worker: &str, start: &str) -> String {
    format!(
        "<dimonaIn id=\"{id}\"><periodId>{period_id}</periodId><employer><enterpriseNumber>0403019261</enterpriseNumber></employer><workerSsin>{worker}</workerSsin><startDate>{start}</startDate><jointCommittee>200</jointCommittee><workerType>OTH</workerType></dimonaIn>"
    )
}
