//! (minimal until the voucher module lands) The voucher beside each data file.

use yaserde::{YaDeserialize, YaSerialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, YaSerialize, YaDeserialize)]
#[yaserde(rename = "Voucher", namespaces = { "" = "urn:be:raas:batch:Voucher:v1" })]
pub struct Voucher {
    pub sender: String,
    pub receiver: String,
    #[yaserde(rename = "serverTicket")]
    pub server_ticket: String,
    #[yaserde(rename = "fileName")]
    pub file_name: String,
    #[yaserde(rename = "fileType")]
    pub file_type: String,
    #[yaserde(rename = "schemaVersion")]
    pub schema_version: String,
    #[yaserde(rename = "fileSequenceNumber")]
    pub file_sequence_number: u64,
    #[yaserde(rename = "referenceDate")]
    pub reference_date: String,
    #[yaserde(rename = "createdAt")]
    pub created_at: String,
    #[yaserde(rename = "recordCount")]
    pub record_count: u64,
    #[yaserde(rename = "fileSize")]
    pub file_size: u64,
    pub sha256: String,
}

impl Voucher {
    pub fn to_xml(&self) -> String {
        let config = yaserde::ser::Config {
            perform_indent: true,
            write_document_declaration: true,
            indent_string: None,
        };
        yaserde::ser::to_string_with_config(self, &config).unwrap_or_default()
    }

    pub fn from_xml(text: &str) -> Result<Voucher, String> {
        yaserde::de::from_str(text).map_err(|e| e.to_string())
    }
}
