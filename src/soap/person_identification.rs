//! PersonIdentificationService v1: identifyPerson, updateBisIdentity
//! (wsdl/PersonIdentificationService.wsdl, xsd/PersonIdentification.xsd; the person itself is
//! a `PersonType` of xsd/Person.xsd).

use super::fault::{Fault, ReasonCode};
use super::kszbcss::Status;
use super::person_data::field_fault;
use super::pipeline::{today, Exchange, Refusal, SoapService};
use super::COMMON_NS;
use crate::domain::{IdentityChanges, NissKind, Person};
use crate::service::identification::Operation;
use crate::service::Services;
use crate::xml::person::{read_identity_changes, write_person, PERSON_NS};
use crate::xml::XmlOut;

pub const SERVICE: &str = "PersonIdentificationService";
pub const TYPES_NS: &str = "urn:be:raas:types:PersonIdentification:v1";

/// The service, for the shared pipeline (`pipeline::handle::<PersonIdentification>`).
pub struct PersonIdentification;

impl SoapService for PersonIdentification {
    const NAME: &'static str = SERVICE;
    const TYPES_NS: &'static str = TYPES_NS;
    const PREFIX: &'static str = "ident";
    const NAMESPACES: &'static [(&'static str, &'static str)] = &[
        ("common", COMMON_NS),
        ("ident", TYPES_NS),
        ("person", PERSON_NS),
    ];
    /// Identity data are personal data: every request says why it asks.
    const LEGAL_CONTEXT_REQUIRED: bool = true;

    type Operation = Operation;
    const OPERATIONS: &'static [Operation] = &Operation::ALL;

    fn name(operation: Operation) -> &'static str {
        operation.as_str()
    }

    async fn answer(
        services: &Services,
        exchange: &mut Exchange<'_>,
        operation: Operation,
    ) -> Result<(), Refusal> {
        let (call, caller) = (exchange.call, exchange.caller);
        match operation {
            Operation::IdentifyPerson => {
                let ssin = exchange.ssin()?;
                let person = services.identify_person(call, caller, ssin).await?;
                Status::DataFound.write(exchange.out, "ident:status");
                write_identified(exchange.out, &person);
            }
            Operation::UpdateBisIdentity => {
                let ssin = exchange.ssin()?;
                let changes = identity_changes(exchange)?;
                let update = services
                    .update_bis_identity(call, caller, ssin, changes)
                    .await?;
                let out = &mut *exchange.out;
                Status::Ok.write(out, "ident:status");
                for change in &update.changed {
                    out.leaf("ident:changedField", change.field);
                }
                write_identified(out, &update.person);
            }
        }
        Ok(())
    }
}

/// The request's `changes`: at least one field, each checked and named on refusal by its
/// path (`changes/address/postalCode`), with the reason codes of `personData`.
fn identity_changes(exchange: &Exchange<'_>) -> Result<IdentityChanges, Fault> {
    let element = exchange.required("changes")?;
    let changes =
        read_identity_changes(element, today()).map_err(|e| field_fault(e.under("changes")))?;
    if changes.is_empty() {
        return Err(Fault::new(
            ReasonCode::InvalidField,
            "changes must give at least one identity field",
        )
        .field("changes", ""));
    }
    Ok(changes)
}

/// `ident:person`: the person's `PersonType` content and the register of its number.
fn write_identified(out: &mut XmlOut, person: &Person) {
    let register = match person.ssin.kind() {
        NissKind::Rn => "RN",
        NissKind::Bis | NissKind::Ter => "BIS",
    };
    out.open("ident:person");
    write_person(out, "person", person, true);
    out.leaf("ident:register", register);
    out.close("ident:person");
}
