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
    /// What the call is about beyond a person (`delivery:42`).
    pub target: Option<String>,
}

impl Call {
    /// The entry recording this call. What the caller sent is recorded as sent, except that
    /// control characters (which XML 1.0 forbids and PostgreSQL refuses, such as NUL) are
    /// replaced by U+FFFD: they never reach the store.
    pub fn audit_entry(&self, organisation_id: Option<i32>, outcome: &str) -> AuditEntry {
        let outside = |value: &Option<String>| value.as_deref().map(without_control_characters);
        AuditEntry {
            recorded_at: crate::store::now(),
            service: self.service.to_owned(),
            operation: without_control_characters(&self.operation),
            organisation_id,
            claimed_cbe_number: outside(&self.claimed_cbe_number),
            username: outside(&self.username),
            ssin: outside(&self.ssin),
            legal_context: outside(&self.legal_context),
            client_ticket: outside(&self.client_ticket),
            server_ticket: self.server_ticket.clone(),
            outcome: outcome.to_owned(),
            target: outside(&self.target),
        }
    }
}

fn without_control_characters(text: &str) -> String {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_outside_never_reach_the_entry() {
        let call = Call {
            service: "PersonRegisterService",
            operation: "consultRegister".into(),
            server_ticket: "s".into(),
            client_ticket: Some("a\u{0}b".into()),
            claimed_cbe_number: Some("0202\u{7}239951".into()),
            username: Some("al\u{1b}ice".into()),
            legal_context: Some("PCSA\u{0}".into()),
            ssin: Some("8507\u{9f}3003328".into()),
            target: Some("delivery:\u{0}1".into()),
        };
        let entry = call.audit_entry(None, "NOT_AUTHENTICATED");
        assert_eq!(entry.client_ticket.as_deref(), Some("a\u{fffd}b"));
        assert_eq!(
            entry.claimed_cbe_number.as_deref(),
            Some("0202\u{fffd}239951")
        );
        assert_eq!(entry.username.as_deref(), Some("al\u{fffd}ice"));
        assert_eq!(entry.legal_context.as_deref(), Some("PCSA\u{fffd}"));
        assert_eq!(entry.ssin.as_deref(), Some("8507\u{fffd}3003328"));
        assert_eq!(entry.target.as_deref(), Some("delivery:\u{fffd}1"));
        assert_eq!(entry.operation, "consultRegister");
    }
}
