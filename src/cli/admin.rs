//! `raas admin …`: onboarding organisations, credentials, dossier types and grants.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::Subcommand;

use chrono::NaiveDate;

use crate::config::Config;
use crate::domain::{Authorisation, DossierTypeCode, EnterpriseNumber, FileType, Niss};
use crate::service::admin;
use crate::service::identification::Operation;
use crate::service::subscription::{self, NewSubscription, SubscriptionView};
use crate::store::{search_index, Database};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations (users of the register)
    #[command(subcommand)]
    Org(OrgCommand),
    /// Credentials of an organisation (the secret is read from standard input)
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// OAuth 2.0 clients of the REST API (the client-credentials grant at /oauth/token)
    #[command(subcommand)]
    Client(super::oauth_client::ClientCommand),
    /// Webhook endpoints of an organisation (Standard Webhooks) and their messages
    #[command(subcommand)]
    Webhook(super::webhook::WebhookCommand),
    /// Contact addresses of an organisation for the e-mail notifications
    #[command(subcommand)]
    Contact(super::notification::ContactCommand),
    /// The e-mail notifications: those owed or sent to an organisation, the daily summaries
    #[command(subcommand)]
    Mail(super::notification::MailCommand),
    /// Dossier types of an organisation
    #[command(subcommand, name = "dossier-type")]
    DossierType(DossierTypeCommand),
    /// Subscriptions of an organisation to the daily files
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// Grants an operation of PersonIdentificationService to an organisation (or, with
    /// --revoke, withdraws it)
    Grant {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
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
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
    },
    /// Prints the history of a number in the authentic source (its mutation journal entries,
    /// oldest first) as JSON lines; the access is recorded in the audit trail
    ///
    /// A person of the baseline load that nothing changed since has no entry: a line on
    /// standard error says so. A number unknown to the source is refused.
    History {
        /// The number (NISS: 11 digits; separators . - and spaces are accepted)
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
    /// The phonetic search's index: its state, its rebuild, its check against the persons
    #[command(subcommand, name = "search-index")]
    SearchIndex(SearchIndexCommand),
    /// Broadcasts a document to the mailboxes of many organisations, or all of them: stored
    /// once in the outbox, delivered to each mailbox
    Publish(super::mailbox::PublishArgs),
    /// The sender's view of an organisation's mailbox: every delivery, expired ones too,
    /// when it was first downloaded and by whom
    Deliveries(super::mailbox::DeliveriesArgs),
    /// The mailboxes' sweep now (serve does it on --delivery-schedule): takes the
    /// deliveries whose retention is over out of the mailboxes and removes their files
    /// (their ledger rows stay), then gives the notices owed of deliveries never downloaded
    /// (an unread reminder, an expiry alert: events, webhooks, e-mails)
    #[command(name = "sweep-mailboxes", visible_alias = "expire-deliveries")]
    SweepMailboxes,
}

#[derive(Debug, Subcommand)]
pub enum SearchIndexCommand {
    /// Prints the index's state as JSON: the key version it holds and this build's, when it
    /// was built, its rows and the active persons
    Status,
    /// Rebuilds the index from the persons in one transaction (searches on PostgreSQL wait
    /// until it commits); `raas migrate` does it by itself when the key version changed
    Rebuild,
    /// Recomputes every active person's keys and compares them with the index, writing
    /// nothing; prints the differences as JSON and fails when there are any
    Check,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Adds an organisation
    Add {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The organisation's name
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
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The credential's username (1 to 64 characters, no white space)
        #[arg(long)]
        username: String,
    },
    /// Revokes a credential
    Revoke {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The credential's username (1 to 64 characters, no white space)
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DossierTypeCommand {
    /// Defines a dossier type (or brings a retired one back)
    Add {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The dossier type's code (letters, digits, '_', '.' and '-')
        #[arg(long)]
        code: String,
        /// What the dossier type is for
        #[arg(long)]
        description: Option<String>,
    },
    /// Lists an organisation's dossier types
    List {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
    },
    /// Retires a dossier type: no new registrations, existing lines stay
    Retire {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The dossier type's code (letters, digits, '_', '.' and '-')
        #[arg(long)]
        code: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionCommand {
    /// Subscribes an organisation to a daily file type from today on (in the configured time
    /// zone) and prints the new subscription's id; at most one subscription per organisation
    /// and file type at a time
    Add {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The file type: PERSON_MUTATIONS or DIMONA_MUTATIONS
        #[arg(long = "type", value_name = "TYPE", value_parser = file_type)]
        file_type: FileType,
        /// Limits the subscription to this dossier type of the organisation (repeatable;
        /// none: every dossier type)
        #[arg(long = "dossier-type", value_name = "CODE")]
        dossier_types: Vec<String>,
        /// The reference of the authorisation Dimona data is delivered under (required for
        /// DIMONA_MUTATIONS, refused for PERSON_MUTATIONS)
        #[arg(long, value_name = "REF")]
        authorisation: Option<String>,
        /// The authorisation's first valid day, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        valid_from: Option<String>,
        /// The authorisation's last valid day, YYYY-MM-DD (none: open-ended)
        #[arg(long, value_name = "DATE")]
        valid_to: Option<String>,
    },
    /// Lists an organisation's subscriptions, ended ones included, as JSON lines
    List {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
    },
    /// Ends a subscription: the given day is the last reference date that gets a file
    End {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The subscription's id (as `subscription add` printed it)
        #[arg(long)]
        id: i32,
        /// The last day, YYYY-MM-DD (default: today in the configured time zone)
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
}

fn file_type(value: &str) -> Result<FileType, String> {
    value.parse()
}

/// A day given as `--FLAG YYYY-MM-DD`.
fn day(flag: &str, value: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .with_context(|| format!("--{flag} {value} is not a date (YYYY-MM-DD)"))
}

/// An enterprise number given as `--cbe`.
pub(super) fn cbe(value: &str) -> anyhow::Result<EnterpriseNumber> {
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

impl AdminCommand {
    /// Whether the command only reads (besides the audit entry of a read): such commands
    /// open an existing, migrated database and never create or migrate one.
    pub fn only_reads(&self) -> bool {
        match self {
            AdminCommand::Org(OrgCommand::List)
            | AdminCommand::DossierType(DossierTypeCommand::List { .. })
            | AdminCommand::Grants { .. }
            | AdminCommand::History { .. }
            | AdminCommand::Audit { .. }
            | AdminCommand::SearchIndex(SearchIndexCommand::Status)
            | AdminCommand::SearchIndex(SearchIndexCommand::Check)
            | AdminCommand::Subscription(SubscriptionCommand::List { .. })
            | AdminCommand::Deliveries(_) => true,
            AdminCommand::Client(command) => command.only_reads(),
            AdminCommand::Webhook(command) => command.only_reads(),
            AdminCommand::Contact(command) => command.only_reads(),
            AdminCommand::Mail(command) => command.only_reads(),
            // Each variant named: a new command must be classified here.
            AdminCommand::Org(OrgCommand::Add { .. })
            | AdminCommand::Credential(CredentialCommand::Add { .. })
            | AdminCommand::Credential(CredentialCommand::Revoke { .. })
            | AdminCommand::DossierType(DossierTypeCommand::Add { .. })
            | AdminCommand::DossierType(DossierTypeCommand::Retire { .. })
            | AdminCommand::Grant { .. }
            | AdminCommand::SearchIndex(SearchIndexCommand::Rebuild)
            | AdminCommand::Subscription(SubscriptionCommand::Add { .. })
            | AdminCommand::Subscription(SubscriptionCommand::End { .. })
            | AdminCommand::Publish(_)
            | AdminCommand::SweepMailboxes => false,
        }
    }
}

fn ssin(value: &str) -> anyhow::Result<Niss> {
    let compact: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | ' '))
        .collect();
    Niss::parse(&compact, chrono::Utc::now().date_naive())
        .with_context(|| format!("--ssin {value} is not a valid NISS"))
}

/// The JSON line of `subscription list`.
fn subscription_line(view: &SubscriptionView, today: NaiveDate) -> serde_json::Value {
    let s = &view.subscription;
    let authorisation = s.authorisation.as_ref().map(|a| {
        serde_json::json!({
            "reference": a.reference,
            "valid_from": a.valid_from.to_string(),
            "valid_to": a.valid_to.map(|d| d.to_string()),
        })
    });
    serde_json::json!({
        "id": s.id,
        "cbe": view.cbe,
        "type": s.file_type.as_str(),
        "dossier_types": view.dossier_types,
        "authorisation": authorisation,
        "starts_on": s.starts_on.to_string(),
        "ends_on": s.ends_on.map(|d| d.to_string()),
        "active_today": s.active_on(today),
    })
}

fn run_subscription(
    db: &Database,
    command: SubscriptionCommand,
    today: NaiveDate,
) -> anyhow::Result<()> {
    match command {
        SubscriptionCommand::Add {
            cbe: n,
            file_type,
            dossier_types,
            authorisation,
            valid_from,
            valid_to,
        } => {
            let organisation = cbe(&n)?;
            let dossier_types = dossier_types
                .iter()
                .map(|c| DossierTypeCode::parse(c).with_context(|| format!("--dossier-type {c}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let valid_from = valid_from.map(|d| day("valid-from", &d)).transpose()?;
            let valid_to = valid_to.map(|d| day("valid-to", &d)).transpose()?;
            let authorisation = match (authorisation, valid_from) {
                (Some(reference), Some(valid_from)) => Some(Authorisation {
                    reference,
                    valid_from,
                    valid_to,
                }),
                (Some(_), None) => bail!("--authorisation needs --valid-from"),
                (None, Some(_)) => bail!("--valid-from needs --authorisation"),
                (None, None) if valid_to.is_some() => bail!("--valid-to needs --authorisation"),
                (None, None) => None,
            };
            let new = NewSubscription {
                file_type,
                dossier_types,
                authorisation,
            };
            let id = subscription::add(db, &organisation, &new, today)?;
            println!("{id}");
        }
        SubscriptionCommand::List { cbe: n } => {
            let mut out = std::io::stdout().lock();
            for view in subscription::list(db, &cbe(&n)?)? {
                writeln!(out, "{}", subscription_line(&view, today))?;
            }
        }
        SubscriptionCommand::End { cbe: n, id, date } => {
            let last = match date {
                Some(d) => day("date", &d)?,
                None => today,
            };
            let ended = subscription::end(db, &cbe(&n)?, id, last)?;
            println!(
                "subscription {id} ended: {last} is its last day",
                id = ended.id
            );
        }
    }
    Ok(())
}

/// Runs an administration command; the configuration's time zone tells what "today" is
/// (subscriptions), its outbox and retention where broadcasts go and how long they stay.
pub fn run(db: &Database, command: AdminCommand, config: &Config) -> anyhow::Result<()> {
    let time_zone = config.time_zone;
    match command {
        AdminCommand::Publish(args) => {
            super::mailbox::publish(db, &super::mailbox::settings(config), args)?
        }
        AdminCommand::Deliveries(args) => super::mailbox::deliveries(db, args)?,
        AdminCommand::Client(command) => super::oauth_client::run(db, command)?,
        AdminCommand::Webhook(command) => super::webhook::run(db, command)?,
        AdminCommand::Contact(command) => super::notification::run_contact(db, command)?,
        AdminCommand::Mail(command) => super::notification::run_mail(db, command)?,
        AdminCommand::SweepMailboxes => {
            super::mailbox::sweep(db, &super::mailbox::settings(config))?
        }
        AdminCommand::SearchIndex(command) => run_search_index(db, command)?,
        AdminCommand::Subscription(command) => {
            let today = chrono::Utc::now().with_timezone(&time_zone).date_naive();
            run_subscription(db, command, today)?;
        }
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
                .context("cannot read the secret from standard input")?;
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
        AdminCommand::History { ssin: number } => {
            let number = ssin(&number)?;
            let history = admin::person_history(db, &number)?;
            if history.entries.is_empty() {
                eprintln!(
                    "{number} is known to the authentic source, with no recorded change since \
                     its baseline load (source {}, stored {}, version {})",
                    history.source,
                    history.updated_at.and_utc().to_rfc3339(),
                    history.version
                );
            }
            let mut out = std::io::stdout().lock();
            for entry in history.entries {
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
                    "target": entry.target,
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

/// `raas admin search-index …`.
fn run_search_index(db: &Database, command: SearchIndexCommand) -> anyhow::Result<()> {
    let mut conn = db.connection()?;
    match command {
        SearchIndexCommand::Status => {
            let status = search_index::status(&mut conn)?;
            let line = serde_json::json!({
                "keyVersion": status.built.as_ref().map(|b| b.key_version),
                "currentKeyVersion": status.key_version,
                "current": status.built.as_ref().is_some_and(|b| b.key_version == status.key_version),
                "builtAt": status.built.as_ref().map(|b| b.built_at.and_utc().to_rfc3339()),
                "keys": status.keys,
                "activePersons": status.active_persons,
            });
            println!("{line}");
        }
        SearchIndexCommand::Rebuild => {
            drop(conn);
            let rebuilt = db.write(search_index::rebuild)?;
            search_index::settle(&mut *db.connection()?)?;
            println!(
                "search index rebuilt ({}): {} persons, {} keys in {:.1} s (index build {:.1} s)",
                rebuilt.reason,
                rebuilt.persons,
                rebuilt.keys,
                rebuilt.elapsed.as_secs_f64(),
                rebuilt.build.as_secs_f64()
            );
        }
        SearchIndexCommand::Check => {
            let check = search_index::check(&mut conn)?;
            let missing: Vec<serde_json::Value> = check
                .first_missing
                .iter()
                .map(|m| serde_json::json!({"ssin": m.ssin, "searchKey": m.search_key, "birth": m.birth}))
                .collect();
            let line = serde_json::json!({
                "persons": check.persons,
                "expectedKeys": check.expected,
                "storedKeys": check.stored,
                "missing": check.missing,
                "firstMissing": missing,
                "extra": check.extra,
            });
            println!("{line}");
            if !check.is_exact() {
                bail!(
                    "the search index differs from the persons: {} keys missing, {} extra \
                     (`raas admin search-index rebuild` remakes it)",
                    check.missing,
                    check.extra
                );
            }
        }
    }
    Ok(())
}
