//! What is known of a call, for its audit entry.

use crate::store::audit::AuditEntry;

/// One call of a web service operation, as the audit trail records it.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub service: &'static str,
    pub operation: String,
    pub server_ticket: String,
    pub client_ticket: Option<String>,
    pub claimed_cbe_number: Option<String>,
    pub username: Option<String>,
    pub legal_context: Option<String>,
    pub ssin: Option<String>,
}

impl Call {
    pub fn audit_entry(&self, organisation_id: Option<i32>, outcome: &str) -> AuditEntry {
        AuditEntry {
            recorded_at: crate::store::now(),
            service: self.service.to_owned(),
            operation: self.operation.clone(),
            organisation_id,
            claimed_cbe_number: self.claimed_cbe_number.clone(),
            username: self.username.clone(),
            ssin: self.ssin.clone(),
            legal_context: self.legal_context.clone(),
            client_ticket: self.client_ticket.clone(),
            server_ticket: self.server_ticket.clone(),
            outcome: outcome.to_owned(),
        }
    }
}
