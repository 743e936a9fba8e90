//! `raas admin …`: onboarding organisations, credentials, dossier types and grants.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::domain::{DossierTypeCode, EnterpriseNumber};
use crate::service::admin;
use crate::service::identification::Operation;
use crate::store::Database;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations (users of the register)
    #[command(subcommand)]
    Org(OrgCommand),
    /// Credentials of an organisation (the secret is read from standard input)
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Dossier types of an organisation
    #[command(subcommand, name = "dossier-type")]
    DossierType(DossierTypeCommand),
    /// Grants an operation of PersonIdentificationService to an organisation (or, with
    /// --revoke, withdraws it)
    Grant {
        #[arg(long)]
        cbe: String,
        /// The operation: identifyPerson or updateBisIdentity
        #[arg(long, value_name = "OP", value_parser = grantable_operation)]
        operation: Operation,
        /// Withdraw the grant instead
        #[arg(long)]
        revoke: bool,
    },
    /// Lists the operations an organisation is granted
    Grants {
        #[arg(long)]
        cbe: String,
    },
    /// Prints the history of a number in the authentic source (its mutation journal entries,
    /// oldest first) as JSON lines; the access is recorded in the audit trail
    History {
        #[arg(long)]
        ssin: String,
    },
    /// Prints audit trail entries as JSON lines, newest first
    Audit {
        /// Only the entries about this NISS
        #[arg(long)]
        ssin: Option<String>,
        /// At most this many entries
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Adds an organisation
    Add {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        name: String,
    },
    /// Lists the organisations
    List,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Adds a credential, or sets a new secret for an existing one; the secret is the first
    /// line of standard input
    Add {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        username: String,
    },
    /// Revokes a credential
    Revoke {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DossierTypeCommand {
    /// Defines a dossier type (or brings a retired one back)
    Add {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Lists an organisation's dossier types
    List {
        #[arg(long)]
        cbe: String,
    },
    /// Retires a dossier type: no new registrations, existing lines stay
    Retire {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        code: String,
    },
}

fn cbe(value: &str) -> anyhow::Result<EnterpriseNumber> {
    EnterpriseNumber::parse(value).with_context(|| format!("--cbe {value}"))
}

fn code(value: &str) -> anyhow::Result<DossierTypeCode> {
    DossierTypeCode::parse(value).with_context(|| format!("--code {value}"))
}

fn grantable_operation(value: &str) -> Result<Operation, String> {
    Operation::parse(value).ok_or_else(|| {
        let names: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
        format!(
            "{value} is not an operation that can be granted: one of {}",
            names.join(", ")
        )
    })
}

pub fn run(db: &Database, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Org(OrgCommand::Add { cbe: n, name }) => {
            let org = admin::add_organisation(db, &cbe(&n)?, &name)?;
            println!("organisation {} added: {}", org.cbe_number, org.name);
        }
        AdminCommand::Org(OrgCommand::List) => {
            for org in admin::list_organisations(db)? {
                println!("{}\t{}", org.cbe_number, org.name);
            }
        }
        AdminCommand::Credential(CredentialCommand::Add { cbe: n, username }) => {
            let mut secret = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut secret)
                .context("reading the secret from standard input")?;
            let secret = secret.trim_end_matches(['\r', '\n']);
            if secret.is_empty() {
                bail!("give the secret on standard input");
            }
            admin::set_credential(db, &cbe(&n)?, &username, secret)?;
            println!("credential {username} set for {n}");
        }
        AdminCommand::Credential(CredentialCommand::Revoke { cbe: n, username }) => {
            if !admin::revoke_credential(db, &cbe(&n)?, &username)? {
                bail!("{n} has no active credential {username}");
            }
            println!("credential {username} revoked");
        }
        AdminCommand::DossierType(DossierTypeCommand::Add {
            cbe: n,
            code: c,
            description,
        }) => {
            let row = admin::add_dossier_type(db, &cbe(&n)?, &code(&c)?, description.as_deref())?;
            println!("dossier type {} defined for {n}", row.code);
        }
        AdminCommand::DossierType(DossierTypeCommand::List { cbe: n }) => {
            for row in admin::list_dossier_types(db, &cbe(&n)?)? {
                let state = if row.retired_at.is_some() {
                    "retired"
                } else {
                    "active"
                };
                println!(
                    "{}\t{state}\t{}",
                    row.code,
                    row.description.unwrap_or_default()
                );
            }
        }
        AdminCommand::DossierType(DossierTypeCommand::Retire { cbe: n, code: c }) => {
            if !admin::retire_dossier_type(db, &cbe(&n)?, &code(&c)?)? {
                bail!("{n} has no active dossier type {c}");
            }
            println!("dossier type {c} retired");
        }
        AdminCommand::Grant {
            cbe: n,
            operation,
            revoke,
        } => {
            let op = operation.as_str();
            let changed = admin::set_grant(db, &cbe(&n)?, operation, !revoke)?;
            match (revoke, changed) {
                (false, true) => println!("{op} granted to {n}"),
                (false, false) => println!("{op} was already granted to {n}"),
                (true, true) => println!("{op} no longer granted to {n}"),
                (true, false) => bail!("{n} is not granted {op}"),
            }
        }
        AdminCommand::Grants { cbe: n } => {
            for operation in admin::granted_operations(db, &cbe(&n)?)? {
                println!("{operation}");
            }
        }
        AdminCommand::History { ssin } => {
            let mut out = std::io::stdout().lock();
            for entry in admin::person_history(db, &ssin)? {
                let changes: Option<serde_json::Value> = entry
                    .changes
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()?;
                let line = serde_json::json!({
                    "seq": entry.seq,
                    "recordedAt": entry.recorded_at.and_utc().to_rfc3339(),
                    "source": entry.source,
                    "kind": entry.kind,
                    "ssin": entry.ssin,
                    "newSsin": entry.new_ssin,
                    "organisationId": entry.organisation_id,
                    "changes": changes,
                });
                writeln!(out, "{line}")?;
            }
        }
        AdminCommand::Audit { ssin, limit } => {
            let mut out = std::io::stdout().lock();
            for entry in admin::audit_entries(db, ssin.as_deref(), limit)? {
                let line = serde_json::json!({
                    "recordedAt": entry.recorded_at.and_utc().to_rfc3339(),
                    "service": entry.service,
                    "operation": entry.operation,
                    "organisationId": entry.organisation_id,
                    "claimedCbeNumber": entry.claimed_cbe_number,
                    "username": entry.username,
                    "ssin": entry.ssin,
                    "legalContext": entry.legal_context,
                    "clientTicket": entry.client_ticket,
                    "serverTicket": entry.server_ticket,
                    "outcome": entry.outcome,
                });
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}
