//! The frame every daily file shares: the XML declaration and root, the header that names
//! the file (the same facts as its voucher), the `records` element, and the trailer with the
//! record count. Written with yaserde, one element at a time, into the file's stream.

use std::io::{self, Write};

use yaserde::YaSerialize;

/// The version of the file schemas (xsd/PersonMutations.xsd, xsd/DimonaMutations.xsd).
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "header")]
pub struct Header {
    pub sender: String,
    pub receiver: String,
    #[yaserde(rename = "fileType")]
    pub file_type: String,
    #[yaserde(rename = "schemaVersion")]
    pub schema_version: String,
    #[yaserde(rename = "fileSequenceNumber")]
    pub file_sequence_number: u64,
    #[yaserde(rename = "referenceDate")]
    pub reference_date: String,
    #[yaserde(rename = "serverTicket")]
    pub server_ticket: String,
    #[yaserde(rename = "createdAt")]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, YaSerialize)]
#[yaserde(rename = "trailer")]
struct Trailer {
    #[yaserde(rename = "recordCount")]
    record_count: u64,
}

/// Serialises one element (a record, the header) without a declaration or indentation.
pub fn write_element<W: Write, T: YaSerialize>(out: &mut W, element: &T) -> io::Result<()> {
    let config = yaserde::ser::Config {
        perform_indent: false,
        write_document_declaration: false,
        indent_string: None,
    };
    yaserde::ser::serialize_with_writer(element, &mut *out, &config)
        .map(|_| ())
        .map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// The start of a file: declaration, root element in its namespace, header, `<records>`.
pub fn write_start<W: Write>(
    out: &mut W,
    root: &str,
    namespace: &str,
    header: &Header,
) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<{root} xmlns="{namespace}">"#)?;
    write_element(out, header)?;
    writeln!(out, "<records>")
}

/// The end of a file: `</records>`, the trailer, the root's end.
pub fn write_end<W: Write>(out: &mut W, root: &str, records: u64) -> io::Result<()> {
    writeln!(out, "</records>")?;
    write_element(
        out,
        &Trailer {
            record_count: records,
        },
    )?;
    writeln!(out, "</{root}>")
}
