//! PersonRegisterService v1: registerPerson, unregisterPerson, consultRegister,
//! listDossierTypes (wsdl/PersonRegisterService.wsdl, xsd/PersonRegister.xsd).

use super::fault::Fault;
use super::fields;
use super::kszbcss::Status;
use super::person_data;
use super::pipeline::{Exchange, Refusal, SoapService};
use super::COMMON_NS;
use crate::domain::{DossierTypeCode, Period};
use crate::service::Services;
use crate::xml::{Element, XmlOut};

pub const SERVICE: &str = "PersonRegisterService";
pub const TYPES_NS: &str = "urn:be:raas:types:PersonRegister:v1";

/// The service, for the shared pipeline (`pipeline::handle::<PersonRegister>`).
pub struct PersonRegister;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    RegisterPerson,
    UnregisterPerson,
    ConsultRegister,
    ListDossierTypes,
}

impl SoapService for PersonRegister {
    const NAME: &'static str = SERVICE;
    const TYPES_NS: &'static str = TYPES_NS;
    const PREFIX: &'static str = "reg";
    const NAMESPACES: &'static [(&'static str, &'static str)] =
        &[("common", COMMON_NS), ("reg", TYPES_NS)];
    const LEGAL_CONTEXT_REQUIRED: bool = false;

    type Operation = Operation;
    const OPERATIONS: &'static [Operation] = &[
        Operation::RegisterPerson,
        Operation::UnregisterPerson,
        Operation::ConsultRegister,
        Operation::ListDossierTypes,
    ];

    fn name(operation: Operation) -> &'static str {
        match operation {
            Operation::RegisterPerson => "registerPerson",
            Operation::UnregisterPerson => "unregisterPerson",
            Operation::ConsultRegister => "consultRegister",
            Operation::ListDossierTypes => "listDossierTypes",
        }
    }

    async fn answer(
        services: &Services,
        exchange: &mut Exchange<'_>,
        operation: Operation,
    ) -> Result<(), Refusal> {
        let (call, caller) = (exchange.call, exchange.caller);
        match operation {
            Operation::RegisterPerson => {
                let ssin = exchange.ssin()?;
                let code = dossier_type(exchange)?;
                let period = fields::period(exchange.required("period")?, TYPES_NS, "period")?;
                let claimed = optional(exchange, "personData")?
                    .map(|e| person_data::read(e, TYPES_NS, chrono::Utc::now().date_naive()))
                    .transpose()?;
                let lines = services
                    .register_person(call, caller, ssin, code.clone(), period, claimed)
                    .await?;
                let out = &mut *exchange.out;
                Status::Ok.write(out, "reg:status");
                out.leaf("reg:ssin", ssin.as_str());
                for period in &lines {
                    write_relation(out, code.as_str(), period);
                }
            }
            Operation::UnregisterPerson => {
                let ssin = exchange.ssin()?;
                let code = dossier_type(exchange)?;
                let period = optional_period(exchange)?;
                let outcome = services
                    .unregister_person(call, caller, ssin, code.clone(), period)
                    .await?;
                let status = if outcome.changed {
                    Status::Ok
                } else {
                    Status::NoResult
                };
                let out = &mut *exchange.out;
                status.write(out, "reg:status");
                out.leaf("reg:ssin", ssin.as_str());
                for period in &outcome.remaining {
                    write_relation(out, code.as_str(), period);
                }
            }
            Operation::ConsultRegister => {
                let ssin = exchange.ssin()?;
                let code = optional(exchange, "dossierType")?
                    .map(|e| fields::dossier_type(e, "dossierType"))
                    .transpose()?;
                let period = optional_period(exchange)?;
                let lines = services
                    .consult_register(call, caller, ssin, code, period)
                    .await?;
                let out = &mut *exchange.out;
                found(!lines.is_empty()).write(out, "reg:status");
                out.leaf("reg:ssin", ssin.as_str());
                for line in &lines {
                    write_relation(out, &line.dossier_type, &line.period);
                }
            }
            Operation::ListDossierTypes => {
                let types = services.list_dossier_types(call, caller).await?;
                let out = &mut *exchange.out;
                found(!types.is_empty()).write(out, "reg:status");
                for dossier_type in &types {
                    out.open("reg:dossierType")
                        .leaf("reg:code", &dossier_type.code)
                        .optional_leaf("reg:description", dossier_type.description.as_deref())
                        .close("reg:dossierType");
                }
            }
        }
        Ok(())
    }
}

/// DATA_FOUND, or NO_DATA_FOUND when a consultation found nothing.
fn found(any: bool) -> Status {
    if any {
        Status::DataFound
    } else {
        Status::NoDataFound
    }
}

fn dossier_type(exchange: &Exchange<'_>) -> Result<DossierTypeCode, Fault> {
    fields::dossier_type(exchange.required("dossierType")?, "dossierType")
}

fn optional_period(exchange: &Exchange<'_>) -> Result<Option<Period>, Fault> {
    optional(exchange, "period")?
        .map(|p| fields::period(p, TYPES_NS, "period"))
        .transpose()
}

/// An optional child of the request, which may appear once.
fn optional<'a>(exchange: &'a Exchange<'_>, name: &str) -> Result<Option<&'a Element>, Fault> {
    fields::optional(exchange.request, TYPES_NS, name, name)
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
