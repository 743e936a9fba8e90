//! Reading the service's answers: status, lines, tickets, fault details.

use super::xml::Node;

/// An HTTP answer from the service, parsed when it is XML.
#[derive(Debug)]
pub struct Answer {
    pub http_status: u16,
    pub content_type: String,
    pub body: String,
    pub doc: Option<Node>,
}

impl Answer {
    pub fn new(http_status: u16, content_type: String, body: String) -> Answer {
        let doc = Node::parse(&body).ok();
        Answer {
            http_status,
            content_type,
            body,
            doc,
        }
    }

    pub fn doc(&self) -> &Node {
        self.doc
            .as_ref()
            .unwrap_or_else(|| panic!("the answer is not XML: {}", self.body))
    }

    /// The trimmed text at a path of local names (see `Node::find`).
    pub fn text(&self, path: &[&str]) -> Option<String> {
        self.doc().text_at(path)
    }

    /// Asserts a successful SOAP answer (HTTP 200, no fault) and returns it.
    #[track_caller]
    pub fn ok(self) -> Answer {
        assert_eq!(self.http_status, 200, "expected success, got {}", self.body);
        assert!(self.doc().all("Fault").is_empty(), "{}", self.body);
        self
    }

    /// Asserts a SOAP fault (HTTP 500, text/xml) with this reason code and returns it.
    #[track_caller]
    pub fn fault(self, reason: &str) -> Answer {
        assert_eq!(self.http_status, 500, "expected a fault, got {}", self.body);
        assert!(
            self.content_type.starts_with("text/xml"),
            "content type {}",
            self.content_type
        );
        assert_eq!(self.reason_code().as_deref(), Some(reason), "{}", self.body);
        self
    }

    /// `status/value`.
    pub fn status(&self) -> String {
        self.text(&["status", "value"]).unwrap_or_default()
    }

    /// `status/code`.
    pub fn status_code(&self) -> String {
        self.text(&["status", "code"]).unwrap_or_default()
    }

    /// The relations of the answer as `TYPE begin..end` (or `TYPE begin..` when open).
    pub fn lines(&self) -> Vec<String> {
        self.doc()
            .all("relation")
            .into_iter()
            .map(|relation| {
                let text = |path: &[&str]| relation.text_at(path).unwrap_or_default();
                format!(
                    "{} {}..{}",
                    text(&["dossierType"]),
                    text(&["period", "beginDate"]),
                    text(&["period", "endDate"]),
                )
            })
            .collect()
    }

    /// `informationServer/ticket`, or the ticket of a fault.
    pub fn server_ticket(&self) -> String {
        self.text(&["informationServer", "ticket"])
            .or_else(|| self.text(&["serviceFault", "ticket"]))
            .unwrap_or_else(|| panic!("no server ticket in {}", self.body))
    }

    pub fn faultcode(&self) -> Option<String> {
        self.text(&["Fault", "faultcode"])
    }

    pub fn reason_code(&self) -> Option<String> {
        self.text(&["serviceFault", "detail", "reasonCode"])
    }

    /// The fault's `information` pairs (fieldName, fieldValue).
    pub fn fault_fields(&self) -> Vec<(String, String)> {
        self.doc()
            .find(&["serviceFault", "detail"])
            .map(|detail| {
                detail
                    .children
                    .iter()
                    .filter(|c| c.name == "information")
                    .map(|i| {
                        (
                            i.child_text("fieldName").unwrap_or_default(),
                            i.child_text("fieldValue").unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Owned (fieldName, fieldValue) pairs, to compare with [`Answer::fault_fields`].
pub fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}
