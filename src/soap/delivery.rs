//! DeliveryService v1: listDeliveries, getDelivery (wsdl/DeliveryService.wsdl,
//! xsd/Delivery.xsd): the mailbox of the caller's organisation.

use base64::Engine as _;
use chrono::NaiveDateTime;

use super::fault::{Fault, ReasonCode};
use super::fields;
use super::kszbcss::Status;
use super::pipeline::{Exchange, Refusal, SoapService};
use super::COMMON_NS;
use crate::domain::delivery::utc_text as utc;
use crate::domain::{Delivery, DeliveryQuery, DocumentType};
use crate::service::delivery::Fetched;
use crate::service::Services;
use crate::xml::{Element, XmlOut};

pub const SERVICE: &str = "DeliveryService";
pub const TYPES_NS: &str = "urn:be:raas:types:Delivery:v1";

/// The service, for the shared pipeline (`pipeline::handle::<DeliveryMailbox>`).
pub struct DeliveryMailbox;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ListDeliveries,
    GetDelivery,
}

impl SoapService for DeliveryMailbox {
    const NAME: &'static str = SERVICE;
    const TYPES_NS: &'static str = TYPES_NS;
    const PREFIX: &'static str = "delivery";
    const NAMESPACES: &'static [(&'static str, &'static str)] =
        &[("common", COMMON_NS), ("delivery", TYPES_NS)];
    const LEGAL_CONTEXT_REQUIRED: bool = false;

    type Operation = Operation;
    const OPERATIONS: &'static [Operation] = &[Operation::ListDeliveries, Operation::GetDelivery];

    fn name(operation: Operation) -> &'static str {
        match operation {
            Operation::ListDeliveries => "listDeliveries",
            Operation::GetDelivery => "getDelivery",
        }
    }

    /// The delivery a `getDelivery` names (for its audit entry): the number it reads as
    /// (`+7` and `007` are delivery 7), or the text sent when it is not one.
    fn target(request: &Element) -> Option<String> {
        let id = request.child(TYPES_NS, "id")?;
        let text = id.value().trim();
        let digits = text.strip_prefix('+').unwrap_or(text);
        let number = digits.bytes().all(|b| b.is_ascii_digit());
        Some(match digits.parse::<i64>() {
            Ok(id) if number => crate::service::delivery::target(id),
            _ => format!("delivery:{}", text.chars().take(24).collect::<String>()),
        })
    }

    async fn answer(
        services: &Services,
        exchange: &mut Exchange<'_>,
        operation: Operation,
    ) -> Result<(), Refusal> {
        let (call, caller) = (exchange.call, exchange.caller);
        match operation {
            Operation::ListDeliveries => {
                let query = delivery_query(exchange.request)?;
                let (page, page_size) = (query.page, query.page_size);
                let (total, found) = services.list_deliveries(call, caller, query).await?;
                let out = &mut *exchange.out;
                if found.is_empty() {
                    Status::NoResult.write(out, "delivery:status");
                } else {
                    Status::DataFound.write(out, "delivery:status");
                }
                out.leaf("delivery:totalItems", &total.to_string());
                out.leaf("delivery:page", &page.to_string());
                out.leaf("delivery:pageSize", &page_size.to_string());
                for delivery in &found {
                    write_delivery(out, delivery);
                }
            }
            Operation::GetDelivery => {
                let id = whole_number(exchange.required("id")?, "id")?;
                let fetched = services.get_delivery(call, caller, id).await?;
                write_fetched(exchange.out, &fetched);
            }
        }
        Ok(())
    }
}

/// The request's filters and page, each checked and named on refusal.
fn delivery_query(request: &Element) -> Result<DeliveryQuery, Fault> {
    let child = |name: &str| fields::optional(request, TYPES_NS, name, name);
    let kind = child("fileType")?
        .map(|e| {
            let text = fields::leaf(e, "fileType")?;
            text.parse::<DocumentType>()
                .map_err(|reason| invalid("fileType", text, reason))
        })
        .transpose()?;
    let received_after = child("receivedAfter")?
        .map(|e| date_time(e, "receivedAfter"))
        .transpose()?;
    let downloaded = child("downloaded")?
        .map(|e| boolean(e, "downloaded"))
        .transpose()?;
    let after_sequence = child("afterSequence")?
        .map(|e| whole_number(e, "afterSequence"))
        .transpose()?;
    // Each with the text sent, which a refusal names.
    let page = |name: &str| -> Result<Option<(u32, &str)>, Fault> {
        child(name)?
            .map(|e| {
                let text = fields::leaf(e, name)?;
                let digits = text.strip_prefix('+').unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(
                        name,
                        text,
                        format!("{name} must be a whole number"),
                    ));
                }
                // A number past u32 is out of range like any other too large.
                Ok((digits.parse::<u32>().unwrap_or(u32::MAX), text))
            })
            .transpose()
    };
    let (page_number, page_size) = (page("page")?, page("pageSize")?);
    DeliveryQuery::filtered(kind, received_after, downloaded, after_sequence)
        .paged(page_number.map(|p| p.0), page_size.map(|p| p.0))
        .map_err(|e| {
            let sent = match e.field {
                "page" => page_number,
                _ => page_size,
            };
            invalid(e.field, sent.map_or("", |p| p.1), e.to_string())
        })
}

fn invalid(field: &str, value: &str, reason: impl Into<String>) -> Fault {
    Fault::new(ReasonCode::InvalidField, reason).field(field, value)
}

/// An `xs:long` (digits, an optional sign).
fn whole_number(element: &Element, path: &str) -> Result<i64, Fault> {
    let text = fields::leaf(element, path)?;
    let digits = text
        .strip_prefix('+')
        .or_else(|| text.strip_prefix('-'))
        .unwrap_or(text);
    let well_formed = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match text.strip_prefix('+').unwrap_or(text).parse::<i64>() {
        Ok(n) if well_formed => Ok(n),
        _ => Err(invalid(
            path,
            text,
            format!("{path} must be a whole number (xs:long)"),
        )),
    }
}

/// An `xs:boolean`.
fn boolean(element: &Element, path: &str) -> Result<bool, Fault> {
    match fields::leaf(element, path)? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(invalid(
            path,
            other,
            format!("{path} must be true or false"),
        )),
    }
}

/// An `xs:dateTime`, in UTC: with a zone it is converted, without one it is taken as UTC.
fn date_time(element: &Element, path: &str) -> Result<NaiveDateTime, Fault> {
    let text = fields::leaf(element, path)?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .map_err(|_| {
            invalid(
                path,
                text,
                format!("{path} must be a date and time (xs:dateTime, e.g. 2026-12-01T08:00:00Z)"),
            )
        })
}

/// `delivery:delivery`, a DeliveryType.
fn write_delivery(out: &mut XmlOut, delivery: &Delivery) {
    let tag = "delivery:delivery";
    out.open(tag);
    out.leaf("delivery:id", &delivery.id.to_string());
    out.leaf("delivery:fileType", delivery.kind.as_str());
    out.leaf("delivery:fileName", &delivery.file_name);
    out.optional_leaf("delivery:subject", delivery.subject.as_deref());
    if let Some(day) = delivery.reference_date {
        out.leaf("delivery:referenceDate", &day.to_string());
    }
    if let Some(sequence) = delivery.sequence_number {
        out.leaf("delivery:sequenceNumber", &sequence.to_string());
    }
    if let Some(records) = delivery.records {
        out.leaf("delivery:recordCount", &records.to_string());
    }
    out.leaf("delivery:size", &delivery.size.to_string());
    out.leaf("delivery:sha256", &delivery.sha256);
    out.leaf(
        "delivery:registered",
        if delivery.registered { "true" } else { "false" },
    );
    out.leaf("delivery:publishedAt", &utc(delivery.published_at));
    out.leaf("delivery:expiresAt", &utc(delivery.expires_at));
    out.leaf("delivery:state", delivery.state().as_str());
    if let Some(receipt) = &delivery.receipt {
        out.open("delivery:firstDownload")
            .leaf("delivery:at", &utc(receipt.at))
            .leaf("delivery:by", &receipt.by)
            .close("delivery:firstDownload");
    }
    out.close(tag);
}

fn write_fetched(out: &mut XmlOut, fetched: &Fetched) {
    let base64 = base64::engine::general_purpose::STANDARD;
    Status::DataFound.write(out, "delivery:status");
    write_delivery(out, &fetched.delivery);
    out.leaf("delivery:content", &base64.encode(&fetched.content));
    if let Some(voucher) = &fetched.voucher {
        out.leaf("delivery:voucher", &base64.encode(voucher));
    }
    if let Some(signature) = &fetched.signature {
        // The signature file is already the base64 text of the 64-byte signature.
        out.leaf("delivery:signature", signature);
    }
}
