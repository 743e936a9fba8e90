//! SOAP faults: every refusal leaves with a stable reason code, a diagnostic and the
//! offending fields, inside `common:serviceFault`. The reason codes are part of the contract
//! (README, "Reason codes"): never rename one.

use super::COMMON_NS;
use crate::service::ServiceError;
use crate::xml::XmlOut;

/// Who is to blame, as SOAP 1.1 says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    Client,
    Server,
    VersionMismatch,
    MustUnderstand,
}

impl FaultCode {
    fn as_str(self) -> &'static str {
        match self {
            FaultCode::Client => "soapenv:Client",
            FaultCode::Server => "soapenv:Server",
            FaultCode::VersionMismatch => "soapenv:VersionMismatch",
            FaultCode::MustUnderstand => "soapenv:MustUnderstand",
        }
    }
}

/// The stable reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonCode {
    MalformedRequest,
    RequestTooLarge,
    RequestTimeout,
    UnknownOperation,
    SoapVersionMismatch,
    HeaderNotUnderstood,
    NotAuthenticated,
    AuthenticationThrottled,
    UnsupportedPasswordType,
    NotAllowed,
    InvalidCbeNumber,
    InvalidSsin,
    InvalidDossierType,
    UnknownDossierType,
    RetiredDossierType,
    InvalidDate,
    EndBeforeBegin,
    InvalidField,
    SsinUnknown,
    SsinCanceled,
    SsinReplaced,
    IdentityMismatch,
    OperationNotGranted,
    NotABisNumber,
    NumbersExhausted,
    DeliveryUnknown,
    DeliveryExpired,
    DeliveryTooLarge,
    ServiceUnavailable,
    InternalError,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::MalformedRequest => "MALFORMED_REQUEST",
            ReasonCode::RequestTooLarge => "REQUEST_TOO_LARGE",
            ReasonCode::RequestTimeout => "REQUEST_TIMEOUT",
            ReasonCode::UnknownOperation => "UNKNOWN_OPERATION",
            ReasonCode::SoapVersionMismatch => "SOAP_VERSION_MISMATCH",
            ReasonCode::HeaderNotUnderstood => "HEADER_NOT_UNDERSTOOD",
            ReasonCode::NotAuthenticated => "NOT_AUTHENTICATED",
            ReasonCode::AuthenticationThrottled => "AUTHENTICATION_THROTTLED",
            ReasonCode::UnsupportedPasswordType => "UNSUPPORTED_PASSWORD_TYPE",
            ReasonCode::NotAllowed => "NOT_ALLOWED",
            ReasonCode::InvalidCbeNumber => "INVALID_CBE_NUMBER",
            ReasonCode::InvalidSsin => "INVALID_SSIN",
            ReasonCode::InvalidDossierType => "INVALID_DOSSIER_TYPE",
            ReasonCode::UnknownDossierType => "UNKNOWN_DOSSIER_TYPE",
            ReasonCode::RetiredDossierType => "RETIRED_DOSSIER_TYPE",
            ReasonCode::InvalidDate => "INVALID_DATE",
            ReasonCode::EndBeforeBegin => "END_BEFORE_BEGIN",
            ReasonCode::InvalidField => "INVALID_FIELD",
            ReasonCode::SsinUnknown => "SSIN_UNKNOWN",
            ReasonCode::SsinCanceled => "SSIN_CANCELED",
            ReasonCode::SsinReplaced => "SSIN_REPLACED",
            ReasonCode::IdentityMismatch => "IDENTITY_MISMATCH",
            ReasonCode::OperationNotGranted => "OPERATION_NOT_GRANTED",
            ReasonCode::NotABisNumber => "NOT_A_BIS_NUMBER",
            ReasonCode::NumbersExhausted => "NUMBERS_EXHAUSTED",
            ReasonCode::DeliveryUnknown => "DELIVERY_UNKNOWN",
            ReasonCode::DeliveryExpired => "DELIVERY_EXPIRED",
            ReasonCode::DeliveryTooLarge => "DELIVERY_TOO_LARGE",
            ReasonCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ReasonCode::InternalError => "INTERNAL_ERROR",
        }
    }

    fn fault_code(self) -> FaultCode {
        match self {
            ReasonCode::SoapVersionMismatch => FaultCode::VersionMismatch,
            ReasonCode::HeaderNotUnderstood => FaultCode::MustUnderstand,
            ReasonCode::ServiceUnavailable | ReasonCode::InternalError => FaultCode::Server,
            _ => FaultCode::Client,
        }
    }
}

/// A refusal on its way to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub reason: ReasonCode,
    pub diagnostic: String,
    /// The offending fields: (field path, value as received).
    pub information: Vec<(String, String)>,
}

impl Fault {
    pub fn new(reason: ReasonCode, diagnostic: impl Into<String>) -> Fault {
        Fault {
            reason,
            diagnostic: diagnostic.into(),
            information: Vec::new(),
        }
    }

    /// Names the offending field and the value received.
    pub fn field(mut self, name: &str, value: &str) -> Fault {
        // A hostile value must not make the fault itself large.
        let value: String = value.chars().take(256).collect();
        self.information.push((name.to_owned(), value));
        self
    }

    pub fn fault_code(&self) -> FaultCode {
        self.reason.fault_code()
    }

    /// The SOAP envelope carrying this fault.
    pub fn to_xml(&self, server_ticket: &str, timestamp: &str) -> String {
        let mut out = XmlOut::envelope(&[("common", COMMON_NS)]);
        out.open("soapenv:Fault")
            .leaf("faultcode", self.fault_code().as_str())
            .leaf("faultstring", &self.diagnostic)
            .open("detail")
            .open("common:serviceFault")
            .leaf("common:ticket", server_ticket)
            .leaf("common:timestamp", timestamp)
            .open("common:detail")
            .leaf("common:severity", "FATAL")
            .leaf("common:reasonCode", self.reason.as_str())
            .leaf("common:diagnostic", &self.diagnostic)
            .leaf("common:authorCode", "raas");
        for (name, value) in &self.information {
            out.open("common:information")
                .leaf("common:fieldName", name)
                .leaf("common:fieldValue", value)
                .close("common:information");
        }
        out.close("common:detail")
            .close("common:serviceFault")
            .close("detail")
            .close("soapenv:Fault");
        out.finish()
    }
}

/// The one place where use-case errors become faults.
impl From<ServiceError> for Fault {
    fn from(error: ServiceError) -> Fault {
        let diagnostic = error.to_string();
        match error {
            ServiceError::NotAuthenticated => Fault::new(ReasonCode::NotAuthenticated, diagnostic),
            ServiceError::Throttled { .. } => {
                Fault::new(ReasonCode::AuthenticationThrottled, diagnostic)
            }
            ServiceError::NotAllowed(_) => Fault::new(ReasonCode::NotAllowed, diagnostic),
            ServiceError::UnknownDossierType(code) => {
                Fault::new(ReasonCode::UnknownDossierType, diagnostic).field("dossierType", &code)
            }
            ServiceError::RetiredDossierType(code) => {
                Fault::new(ReasonCode::RetiredDossierType, diagnostic).field("dossierType", &code)
            }
            ServiceError::UnknownSsin(ssin) => {
                Fault::new(ReasonCode::SsinUnknown, diagnostic).field("ssin", &ssin)
            }
            ServiceError::CanceledSsin(ssin) => {
                Fault::new(ReasonCode::SsinCanceled, diagnostic).field("ssin", &ssin)
            }
            ServiceError::ReplacedSsin { ssin, replaced_by } => {
                Fault::new(ReasonCode::SsinReplaced, diagnostic)
                    .field("ssin", &ssin)
                    .field("replacedBy", &replaced_by)
            }
            ServiceError::IdentityMismatch(fields) => fields.iter().fold(
                Fault::new(ReasonCode::IdentityMismatch, diagnostic),
                |fault, (name, value)| fault.field(name, value),
            ),
            ServiceError::NotGranted(operation) => {
                Fault::new(ReasonCode::OperationNotGranted, diagnostic)
                    .field("operation", &operation)
            }
            ServiceError::NotABisNumber(ssin) => {
                Fault::new(ReasonCode::NotABisNumber, diagnostic).field("ssin", &ssin)
            }
            ServiceError::InvalidIdentity { field, value, .. } => {
                let reason = if field.ends_with("Date") {
                    ReasonCode::InvalidDate
                } else {
                    ReasonCode::InvalidField
                };
                Fault::new(reason, diagnostic).field(&field, &value)
            }
            ServiceError::NumbersExhausted { birth_date, .. } => {
                Fault::new(ReasonCode::NumbersExhausted, diagnostic)
                    .field("person/birthDate", &birth_date)
            }
            ServiceError::DeliveryUnknown(id) => {
                Fault::new(ReasonCode::DeliveryUnknown, diagnostic).field("id", &id.to_string())
            }
            ServiceError::NoSuchPart(id, _) => {
                Fault::new(ReasonCode::DeliveryUnknown, diagnostic).field("id", &id.to_string())
            }
            ServiceError::DeliveryExpired(id) => {
                Fault::new(ReasonCode::DeliveryExpired, diagnostic).field("id", &id.to_string())
            }
            ServiceError::DeliveryTooLarge { id, .. } => {
                Fault::new(ReasonCode::DeliveryTooLarge, diagnostic).field("id", &id.to_string())
            }
            ServiceError::Unavailable => Fault::new(ReasonCode::ServiceUnavailable, diagnostic),
            other => {
                tracing::error!(error = %other, "request failed");
                Fault::new(
                    ReasonCode::InternalError,
                    "an internal error occurred; quote the ticket to the service desk",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    /// The audit trail records `ServiceError::outcome`, the caller gets the fault's reason
    /// code: they must be the same word for every refusal.
    #[test]
    fn the_audit_outcome_is_the_reason_code_of_the_fault() {
        // UnknownOrganisation, Conflict and InvalidInput are refusals of the administration
        // commands only, which print them and write no audit entry.
        let errors = vec![
            ServiceError::NotAuthenticated,
            ServiceError::NotAllowed("x".into()),
            ServiceError::UnknownDossierType("X".into()),
            ServiceError::RetiredDossierType("X".into()),
            ServiceError::UnknownSsin("85073003328".into()),
            ServiceError::CanceledSsin("85073003328".into()),
            ServiceError::ReplacedSsin {
                ssin: "85073003328".into(),
                replaced_by: "17073003384".into(),
            },
            ServiceError::IdentityMismatch(vec![("lastName".into(), "X".into())]),
            ServiceError::NotGranted("identifyPerson".into()),
            ServiceError::NotABisNumber("85073003328".into()),
            ServiceError::InvalidIdentity {
                field: "person/birthDate".into(),
                value: "1850-01-01".into(),
                reason: "x".into(),
            },
            ServiceError::InvalidIdentity {
                field: "person/lastName".into(),
                value: "--".into(),
                reason: "x".into(),
            },
            ServiceError::NumbersExhausted {
                birth_date: "1985-00-00".into(),
                kind: "TER",
            },
            ServiceError::DeliveryUnknown(7),
            ServiceError::DeliveryExpired(7),
            ServiceError::DeliveryTooLarge {
                id: 7,
                size: 20,
                limit: 10,
            },
            ServiceError::Unavailable,
            ServiceError::from(StoreError::Connect("refused".into())),
            ServiceError::from(StoreError::Corrupt("x".into())),
            ServiceError::Internal("x".into()),
        ];
        for error in errors {
            let outcome = error.outcome();
            let debug = format!("{error:?}");
            assert_eq!(Fault::from(error).reason.as_str(), outcome, "{debug}");
        }
    }

    #[test]
    fn a_database_out_of_reach_is_a_server_fault_saying_unavailable() {
        let fault = Fault::from(ServiceError::from(StoreError::Connect("refused".into())));
        assert_eq!(fault.reason, ReasonCode::ServiceUnavailable);
        assert_eq!(fault.fault_code(), FaultCode::Server);
        let fault = Fault::from(ServiceError::from(StoreError::Corrupt("x".into())));
        assert_eq!(fault.reason, ReasonCode::InternalError);
    }
}
