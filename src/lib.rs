//! raas — a person register offered as a service.
//!
//! Layers (see ARCHITECTURE.md): `domain` (pure rules) ← `store` (SQL) ← `service`
//! (use cases, authorisation, audit) ← `soap` (the web services) ← `server` (HTTP) and `cli`.

pub mod batch;
pub mod cli;
pub mod config;
pub mod dimona;
pub mod domain;
pub mod feed;
pub mod metrics;
pub mod population;
pub mod rest;
pub mod server;
pub mod service;
pub mod soap;
pub mod store;
pub mod telemetry;
pub mod xml;
