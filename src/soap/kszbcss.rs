//! The KSZ-BCSS message conventions every raas service follows: `informationCustomer` and
//! `legalContext` in each request; the echo, `informationServer` and `status` in each answer.

use chrono::{DateTime, SecondsFormat, Utc};

use super::fault::{Fault, ReasonCode};
use super::fields::{self, required, required_text};
use super::COMMON_NS;
use crate::domain::EnterpriseNumber;
use crate::xml::Element;
use crate::xml::XmlOut;

/// Who the caller says it is and its own reference for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationCustomer {
    pub ticket: String,
    pub timestamp_sent: String,
    pub cbe_number: EnterpriseNumber,
}

impl InformationCustomer {
    /// Reads `informationCustomer` (itself in the service's namespace) from a request.
    pub fn parse(request: &Element, service_ns: &str) -> Result<InformationCustomer, Fault> {
        let path = "informationCustomer";
        let info = fields::container(required(request, service_ns, path, path)?, path)?;
        let ticket = required_text(info, COMMON_NS, "ticket", "informationCustomer/ticket", 36)?;
        let sent_path = "informationCustomer/timestampSent";
        let timestamp_sent = required_text(info, COMMON_NS, "timestampSent", sent_path, 64)?;
        if !is_xs_date_time(timestamp_sent) {
            return Err(Fault::new(
                ReasonCode::InvalidField,
                format!("{sent_path} is not an xs:dateTime"),
            )
            .field(sent_path, timestamp_sent));
        }
        let identification_path = "informationCustomer/customerIdentification";
        let identification = fields::container(
            required(
                info,
                COMMON_NS,
                "customerIdentification",
                identification_path,
            )?,
            identification_path,
        )?;
        let cbe_path = "informationCustomer/customerIdentification/cbeNumber";
        let cbe_number = fields::cbe_number(
            required(identification, COMMON_NS, "cbeNumber", cbe_path)?,
            cbe_path,
        )?;
        Ok(InformationCustomer {
            ticket: ticket.to_owned(),
            timestamp_sent: timestamp_sent.to_owned(),
            cbe_number,
        })
    }

    /// Echoes it in an answer as `<{prefix}:informationCustomer>`.
    pub fn write(&self, out: &mut XmlOut, tag: &str) {
        out.open(tag)
            .leaf("common:ticket", &self.ticket)
            .leaf("common:timestampSent", &self.timestamp_sent)
            .open("common:customerIdentification")
            .leaf("common:cbeNumber", self.cbe_number.as_str())
            .close("common:customerIdentification")
            .close(tag);
    }
}

/// The optional `legalContext`: why the data is asked.
pub fn legal_context(request: &Element, service_ns: &str) -> Result<Option<String>, Fault> {
    let path = "legalContext";
    fields::optional(request, service_ns, path, path)?
        .map(|e| fields::checked_text(fields::leaf(e, path)?, path, 64).map(str::to_owned))
        .transpose()
}

/// xs:dateTime: a date, `T`, a time with optional fraction, an optional zone.
fn is_xs_date_time(value: &str) -> bool {
    DateTime::parse_from_rfc3339(value).is_ok()
        || chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

/// The server's part of every answer.
#[derive(Debug, Clone)]
pub struct InformationServer {
    pub ticket: String,
    pub received: DateTime<Utc>,
}

impl InformationServer {
    pub fn write(&self, out: &mut XmlOut, tag: &str) {
        out.open(tag)
            .leaf("common:ticket", &self.ticket)
            .leaf("common:timestampReceive", &timestamp(self.received))
            .leaf("common:timestampReply", &timestamp(Utc::now()))
            .close(tag);
    }
}

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `status { value, code, description }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The change was made.
    Ok,
    /// A consultation found data.
    DataFound,
    /// A consultation found nothing.
    NoDataFound,
    /// The request was valid but there was nothing to do.
    NoResult,
}

impl Status {
    pub fn write(self, out: &mut XmlOut, tag: &str) {
        let (value, code, description) = match self {
            Status::Ok => ("OK", "MSG00000", "The request was processed"),
            Status::DataFound => ("DATA_FOUND", "MSG00000", "Data were found"),
            Status::NoDataFound => ("NO_DATA_FOUND", "MSG00001", "No data were found"),
            Status::NoResult => ("NO_RESULT", "MSG00002", "Nothing matched"),
        };
        out.open(tag)
            .leaf("common:value", value)
            .leaf("common:code", code)
            .leaf("common:description", description)
            .close(tag);
    }
}
