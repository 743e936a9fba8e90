//! The command line: one binary, subcommands for serving, migrating, administration and the
//! operators' tools.

pub mod admin;
pub mod demo;
pub mod niss_check;
