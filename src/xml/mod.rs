//! XML shared by the web services and the files raas reads and writes: a strict reader into a
//! small tree and a string builder with escaping.

pub mod person;
pub mod record_file;
pub mod stream;
mod syntax;
pub mod tree;
pub mod writer;

pub use tree::{parse, Element, Limits, XmlError};
pub use writer::XmlOut;
