//! The command line: one binary, subcommands for serving, migrating, administration and the
//! operators' tools.

pub mod admin;
pub mod batch;
pub mod batch_keys;
pub mod batch_run;
pub mod demo;
pub mod generate;
pub mod import;
pub mod import_dimona;
pub mod import_nr_mutations;
pub mod import_persons;
pub mod mailbox;
pub mod niss_check;
pub mod notification;
pub mod oauth_client;
pub mod search;
pub mod voucher;
pub mod webhook;
