//! The SOAP web services: envelopes, WS-Security, faults, the KSZ-BCSS message conventions,
//! the request pipeline they share (`pipeline`) and one module per service. Only this layer
//! knows the services' XML; it turns requests into domain values at the edge and hands them
//! to `service`.

pub mod delivery;
pub mod envelope;
pub mod fault;
pub mod fields;
pub mod kszbcss;
pub mod person_data;
pub mod person_identification;
pub mod person_register;
pub mod pipeline;
pub mod security;

/// The namespace of the types every raas service shares (xsd/Common.xsd).
pub const COMMON_NS: &str = "urn:be:raas:types:common:v1";

/// An answer ready to be sent: HTTP status (200, or 500 for a fault as SOAP 1.1 wants)
/// and the envelope.
#[derive(Debug)]
pub struct Reply {
    pub http_status: u16,
    pub body: String,
}
