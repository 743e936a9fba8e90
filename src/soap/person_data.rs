//! `personData` of registerPerson: the identity a caller claims, read into the domain's
//! [`ClaimedIdentity`]. Its fields follow Person.xsd's rules.

use chrono::NaiveDate;

use super::fault::{Fault, ReasonCode};
use super::fields;
use crate::domain::identity_check::ClaimedIdentity;
use crate::xml::person::{self, FieldError};
use crate::xml::Element;

/// Reads `personData` (in the service's namespace `ns`); a refusal names
/// `personData/<field>`.
pub fn read(element: &Element, ns: &str, today: NaiveDate) -> Result<ClaimedIdentity, Fault> {
    fields::container(element, "personData")?;
    let child = |name: &str| fields::optional(element, ns, name, &format!("personData/{name}"));
    let required = |name: &str| {
        child(name)?.ok_or_else(|| {
            Fault::new(
                ReasonCode::MalformedRequest,
                format!("the element personData/{name} is missing"),
            )
            .field(&format!("personData/{name}"), "")
        })
    };
    let claimed = (|| {
        let birth_date = person::read_date(required("birthDate")?, "birthDate")?;
        if birth_date.is_after(today) {
            return Err(FieldError {
                field: "birthDate".into(),
                value: birth_date.to_string(),
                reason: "is in the future".into(),
                is_ssin: false,
            }
            .into());
        }
        Ok::<_, Refused>(ClaimedIdentity {
            last_name: person::read_name(required("lastName")?, "lastName")?,
            first_name: child("firstName")?
                .map(|e| person::read_name(e, "firstName"))
                .transpose()?,
            birth_date,
            gender: child("gender")?
                .map(|e| person::read_gender(e, "gender"))
                .transpose()?,
        })
    })();
    claimed.map_err(|refused| match refused {
        Refused::Fault(fault) => fault,
        Refused::Field(e) => field_fault(e.under("personData")),
    })
}

/// A field refused by Person.xsd's rules as a fault naming it: dates get INVALID_DATE,
/// numbers INVALID_SSIN, the rest INVALID_FIELD; a field given twice or holding an element
/// makes the message MALFORMED_REQUEST.
pub fn field_fault(error: FieldError) -> Fault {
    let reason = if error.is_structural() {
        ReasonCode::MalformedRequest
    } else if error.is_ssin {
        ReasonCode::InvalidSsin
    } else if error.field.ends_with("Date") {
        ReasonCode::InvalidDate
    } else {
        ReasonCode::InvalidField
    };
    Fault::new(reason, error.to_string()).field(&error.field, &error.value)
}

enum Refused {
    Fault(Fault),
    Field(FieldError),
}

impl From<Fault> for Refused {
    fn from(fault: Fault) -> Self {
        Refused::Fault(fault)
    }
}

impl From<FieldError> for Refused {
    fn from(error: FieldError) -> Self {
        Refused::Field(error)
    }
}
