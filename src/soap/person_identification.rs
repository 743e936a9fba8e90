//! PersonIdentificationService v1: identifyPerson, updateBisIdentity,
//! searchPersonByPhoneticCriteria, createBisNumber
//! (wsdl/PersonIdentificationService.wsdl, xsd/PersonIdentification.xsd; the person itself is
//! a `PersonType` of xsd/Person.xsd).

use super::fault::{Fault, ReasonCode};
use super::fields;
use super::kszbcss::Status;
use super::person_data::field_fault;
use super::pipeline::{today, Exchange, Refusal, SoapService};
use super::COMMON_NS;
use crate::domain::search_criteria::{MAX_CANDIDATES, MAX_TOLERANCE};
use crate::domain::{IdentityChanges, NissKind, Person, SearchCriteria};
use crate::service::bis_creation::BisCreation;
use crate::service::identification::Operation;
use crate::service::phonetic_search::Candidate;
use crate::service::Services;
use crate::xml::person::{
    read_date, read_gender, read_identity, read_identity_changes, read_name, write_person,
    PERSON_NS,
};
use crate::xml::{Element, XmlOut};

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
            Operation::SearchPersonByPhoneticCriteria => {
                let criteria = search_criteria(exchange.required("criteria")?)?;
                let found = services.search_persons(call, caller, criteria).await?;
                let out = &mut *exchange.out;
                if found.is_empty() {
                    Status::NoResult.write(out, "ident:status");
                } else {
                    Status::DataFound.write(out, "ident:status");
                    write_candidates(out, &found);
                }
            }
            Operation::CreateBisNumber => {
                let identity = read_identity(exchange.required("person")?, today())
                    .map_err(|e| field_fault(e.under("person")))?;
                let force = match exchange.optional("force") {
                    None => false,
                    Some(element) => match fields::leaf(element, "force")? {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(Fault::new(
                                ReasonCode::InvalidField,
                                "force must be true or false",
                            )
                            .field("force", other)
                            .into())
                        }
                    },
                };
                let created = services
                    .create_bis_number(call, caller, identity, force)
                    .await?;
                let out = &mut *exchange.out;
                match created {
                    BisCreation::Existing(found) => {
                        Status::DataFound.write(out, "ident:status");
                        out.open("ident:existingPersons");
                        write_candidates(out, &found);
                        out.close("ident:existingPersons");
                    }
                    BisCreation::Created(person) => {
                        let person = *person;
                        Status::Ok.write(out, "ident:status");
                        out.open("ident:newPerson");
                        write_person(out, "person", &person, true);
                        out.leaf("ident:register", "BIS");
                        out.close("ident:newPerson");
                    }
                }
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

/// The elements of a `PhoneticCriteriaType`.
const CRITERIA_FIELDS: [&str; 7] = [
    "lastName",
    "firstName",
    "middleName",
    "birthDate",
    "tolerance",
    "gender",
    "maximum",
];

/// The request's `criteria`, each field checked and named on refusal (`criteria/tolerance`).
/// An element that is not a criterion is refused: a misspelt `gender` or `maximum` must not
/// silently widen the search.
fn search_criteria(element: &Element) -> Result<SearchCriteria, Fault> {
    fields::container(element, "criteria")?;
    if let Some(unknown) = element
        .children
        .iter()
        .find(|c| !CRITERIA_FIELDS.iter().any(|name| c.is(TYPES_NS, name)))
    {
        return Err(Fault::new(
            ReasonCode::InvalidField,
            format!("{} is not a search criterion", unknown.expanded_name()),
        )
        .field(&format!("criteria/{}", unknown.name), ""));
    }
    let child = |name: &str| fields::optional(element, TYPES_NS, name, &format!("criteria/{name}"));
    let name = |name: &str| -> Result<Option<String>, Fault> {
        child(name)?
            .map(|e| read_name(e, name).map_err(|e| field_fault(e.under("criteria"))))
            .transpose()
    };
    // A whole number within `range`, in the lexical form of the XSD's integers (digits, an
    // optional `+`); a number too large for u32 is refused like any other out of range.
    let number = |name: &str, range: (u32, u32)| -> Result<Option<u32>, Fault> {
        let Some(e) = child(name)? else {
            return Ok(None);
        };
        let text = fields::leaf(e, &format!("criteria/{name}"))?;
        let digits = text.strip_prefix('+').unwrap_or(text);
        let digits_only = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match digits.parse::<u32>() {
            Ok(n) if digits_only && (range.0..=range.1).contains(&n) => Ok(Some(n)),
            _ => Err(Fault::new(
                ReasonCode::InvalidField,
                format!(
                    "{name} must be a whole number from {} to {}",
                    range.0, range.1
                ),
            )
            .field(&format!("criteria/{name}"), text)),
        }
    };
    let last_name = fields::required(element, TYPES_NS, "lastName", "criteria/lastName")?;
    let last_name =
        read_name(last_name, "lastName").map_err(|e| field_fault(e.under("criteria")))?;
    let birth_date = fields::required(element, TYPES_NS, "birthDate", "criteria/birthDate")?;
    let birth_date =
        read_date(birth_date, "birthDate").map_err(|e| field_fault(e.under("criteria")))?;
    let gender = child("gender")?
        .map(|e| read_gender(e, "gender").map_err(|e| field_fault(e.under("criteria"))))
        .transpose()?;
    let (first_name, middle_name) = (name("firstName")?, name("middleName")?);
    let tolerance = number("tolerance", (0, MAX_TOLERANCE))?;
    let maximum = number("maximum", (1, u32::from(MAX_CANDIDATES)))?;
    SearchCriteria::new(
        &last_name,
        first_name.as_deref(),
        middle_name.as_deref(),
        birth_date,
        tolerance,
        gender,
        maximum,
    )
    .map_err(|e| {
        let field = format!("criteria/{}", e.field());
        let value = match e.field() {
            "tolerance" => tolerance.map(|t| t.to_string()).unwrap_or_default(),
            "maximum" => maximum.map(|m| m.to_string()).unwrap_or_default(),
            _ => last_name.clone(),
        };
        Fault::new(ReasonCode::InvalidField, e.to_string()).field(&field, &value)
    })
}

/// `ident:candidate` elements: score and person, in the order found (best first).
fn write_candidates(out: &mut XmlOut, found: &[Candidate]) {
    for candidate in found {
        out.open("ident:candidate");
        out.leaf("ident:score", &candidate.score.to_string());
        write_identified(out, &candidate.person);
        out.close("ident:candidate");
    }
}
