//! PersonRegisterService v1: registerPerson, unregisterPerson, consultRegister,
//! listDossierTypes (wsdl/PersonRegisterService.wsdl, xsd/PersonRegister.xsd).

use chrono::{DateTime, NaiveDate, Utc};

use super::envelope::Envelope;
use super::fault::{Fault, ReasonCode};
use super::fields::{self, required};
use super::kszbcss::{self, InformationCustomer, InformationServer, Status};
use super::security::UsernameToken;
use crate::xml::XmlOut;
use crate::xml::Element;
use super::{Reply, COMMON_NS};
use crate::domain::{Niss, Period};
use crate::service::{Call, Caller, ServiceError, Services};

pub const SERVICE: &str = "PersonRegisterService";
pub const TYPES_NS: &str = "urn:be:raas:types:PersonRegister:v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    RegisterPerson,
    UnregisterPerson,
    ConsultRegister,
    ListDossierTypes,
}

impl Operation {
    fn of(element: &Element) -> Option<Operation> {
        if element.namespace.as_deref() != Some(TYPES_NS) {
            return None;
        }
        match element.name.as_str() {
            "registerPersonRequest" => Some(Operation::RegisterPerson),
            "unregisterPersonRequest" => Some(Operation::UnregisterPerson),
            "consultRegisterRequest" => Some(Operation::ConsultRegister),
            "listDossierTypesRequest" => Some(Operation::ListDossierTypes),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Operation::RegisterPerson => "registerPerson",
            Operation::UnregisterPerson => "unregisterPerson",
            Operation::ConsultRegister => "consultRegister",
            Operation::ListDossierTypes => "listDossierTypes",
        }
    }
}

/// A refusal, and whether the use case already recorded it in the audit trail.
struct Refusal {
    fault: Fault,
    recorded: bool,
}

impl From<Fault> for Refusal {
    fn from(fault: Fault) -> Refusal {
        Refusal {
            fault,
            recorded: false,
        }
    }
}

impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Refusal {
        Refusal {
            fault: Fault::from(error),
            recorded: true,
        }
    }
}

/// Answers one request: an envelope already read within the size limit, or the fault that
/// reading it gave.
pub async fn handle(services: &Services, body: Result<&[u8], Fault>) -> Reply {
    let received = Utc::now();
    let mut call = Call {
        service: SERVICE,
        operation: "unknown".into(),
        server_ticket: uuid::Uuid::new_v4().to_string(),
        ..Call::default()
    };
    let mut caller = None;
    let outcome = match body {
        Ok(body) => process(services, &mut call, &mut caller, body, received).await,
        Err(fault) => Err(fault.into()),
    };
    match outcome {
        Ok(body) => Reply {
            http_status: 200,
            body,
        },
        Err(refusal) => {
            if !refusal.recorded {
                services
                    .record_refusal(&call, caller.as_ref(), refusal.fault.reason.as_str())
                    .await;
            }
            Reply {
                http_status: 500,
                body: refusal
                    .fault
                    .to_xml(&call.server_ticket, &kszbcss::timestamp(Utc::now())),
            }
        }
    }
}

/// Today as far as any caller can be concerned: a birth "today" in Belgium may still be
/// tomorrow in UTC terms for a few hours.
fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(14)).date_naive()
}

async fn process(
    services: &Services,
    call: &mut Call,
    caller_slot: &mut Option<Caller>,
    body: &[u8],
    received: DateTime<Utc>,
) -> Result<String, Refusal> {
    let envelope = Envelope::parse(body)?;
    let request = &envelope.operation;
    let operation = Operation::of(request).ok_or_else(|| {
        Fault::new(
            ReasonCode::UnknownOperation,
            format!(
                "{} is not an operation of {SERVICE} v1",
                request.expanded_name()
            ),
        )
    })?;
    call.operation = operation.name().to_owned();
    if let Some(ssin) = request.child(TYPES_NS, "ssin") {
        call.ssin = Some(ssin.value().chars().take(32).collect());
    }
    let customer = InformationCustomer::parse(request, TYPES_NS)?;
    call.client_ticket = Some(customer.ticket.clone());
    call.claimed_cbe_number = Some(customer.cbe_number.to_string());
    call.legal_context = kszbcss::legal_context(request, TYPES_NS)?;
    let token = UsernameToken::from_header(envelope.header.as_ref())?;
    call.username = Some(token.username.chars().take(64).collect());
    let caller = services
        .authenticator
        .authenticate(&token.username, &token.password)
        .await
        .map_err(|e| Refusal::from(Fault::from(e)))?;
    *caller_slot = Some(caller.clone());
    caller
        .check_acts_for(&customer.cbe_number)
        .map_err(|e| Refusal::from(Fault::from(e)))?;

    let server = InformationServer {
        ticket: call.server_ticket.clone(),
        received,
    };
    let mut out = XmlOut::envelope(&[("common", COMMON_NS), ("reg", TYPES_NS)]);
    let response = format!("reg:{}Response", operation.name());
    out.open(&response);
    customer.write(&mut out, "reg:informationCustomer");
    server.write(&mut out, "reg:informationServer");
    match operation {
        Operation::RegisterPerson => {
            let ssin = ssin_of(request)?;
            let code = fields::dossier_type(
                required(request, TYPES_NS, "dossierType", "dossierType")?,
                "dossierType",
            )?;
            let period = fields::period(
                required(request, TYPES_NS, "period", "period")?,
                TYPES_NS,
                "period",
            )?;
            let lines = services
                .register_person(call, &caller, ssin, code.clone(), period)
                .await?;
            Status::Ok.write(&mut out, "reg:status");
            out.leaf("reg:ssin", ssin.as_str());
            for period in &lines {
                write_relation(&mut out, code.as_str(), period);
            }
        }
        Operation::UnregisterPerson => {
            let ssin = ssin_of(request)?;
            let code = fields::dossier_type(
                required(request, TYPES_NS, "dossierType", "dossierType")?,
                "dossierType",
            )?;
            let period = optional_period(request)?;
            let outcome = services
                .unregister_person(call, &caller, ssin, code.clone(), period)
                .await?;
            let status = if outcome.changed {
                Status::Ok
            } else {
                Status::NoResult
            };
            status.write(&mut out, "reg:status");
            out.leaf("reg:ssin", ssin.as_str());
            for period in &outcome.remaining {
                write_relation(&mut out, code.as_str(), period);
            }
        }
        Operation::ConsultRegister => {
            let ssin = ssin_of(request)?;
            let code = request
                .child(TYPES_NS, "dossierType")
                .map(|e| fields::dossier_type(e, "dossierType"))
                .transpose()?;
            let period = optional_period(request)?;
            let lines = services
                .consult_register(call, &caller, ssin, code, period)
                .await?;
            let status = if lines.is_empty() {
                Status::NoDataFound
            } else {
                Status::DataFound
            };
            status.write(&mut out, "reg:status");
            out.leaf("reg:ssin", ssin.as_str());
            for line in &lines {
                write_relation(&mut out, &line.dossier_type, &line.period);
            }
        }
        Operation::ListDossierTypes => {
            let types = services.list_dossier_types(call, &caller).await?;
            let status = if types.is_empty() {
                Status::NoDataFound
            } else {
                Status::DataFound
            };
            status.write(&mut out, "reg:status");
            for dossier_type in &types {
                out.open("reg:dossierType")
                    .leaf("reg:code", &dossier_type.code)
                    .optional_leaf("reg:description", dossier_type.description.as_deref())
                    .close("reg:dossierType");
            }
        }
    }
    out.close(&response);
    Ok(out.finish())
}

fn ssin_of(request: &Element) -> Result<Niss, Fault> {
    fields::ssin(
        required(request, TYPES_NS, "ssin", "ssin")?,
        "ssin",
        today(),
    )
}

fn optional_period(request: &Element) -> Result<Option<Period>, Fault> {
    request
        .child(TYPES_NS, "period")
        .map(|p| fields::period(p, TYPES_NS, "period"))
        .transpose()
}

fn write_relation(out: &mut XmlOut, dossier_type: &str, period: &Period) {
    let end = period.end().map(|d| d.to_string());
    out.open("reg:relation")
        .leaf("reg:dossierType", dossier_type)
        .open("reg:period")
        .leaf("reg:beginDate", &period.begin().to_string())
        .optional_leaf("reg:endDate", end.as_deref())
        .close("reg:period")
        .close("reg:relation");
}
