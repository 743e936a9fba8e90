//! `raas admin publish`, `raas admin deliveries`, `raas admin expire-deliveries`: an
//! operator's broadcast to the mailboxes, the sender's view of one mailbox, and the expiry
//! sweep `serve` also runs on its schedule.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::admin::cbe as enterprise_number;
use crate::config::Config;
use crate::service::delivery::{self, MailboxSettings, Recipients};
use crate::store::Database;

/// The mailboxes' settings of the configuration.
pub fn settings(config: &Config) -> MailboxSettings {
    MailboxSettings {
        outbox: config.outbox.clone(),
        retention: config.delivery_retention.clone(),
        soap_max_bytes: config.delivery_soap_max_bytes,
        notices: crate::domain::NoticePolicy {
            unread_after_days: config.delivery_unread_reminder_days,
            expiry_alert_days: config.delivery_expiry_alert_days,
        },
    }
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// `all`: every organisation's mailbox (otherwise name them with --cbe)
    #[arg(long, value_name = "all")]
    pub to: Option<String>,
    /// An organisation to deliver to (enterprise number; repeat the flag for several)
    #[arg(long = "cbe", value_name = "CBE")]
    pub cbe: Vec<String>,
    /// The document's subject, as the mailboxes list it
    #[arg(long)]
    pub subject: String,
    /// The file to publish (stored once in the outbox, whatever the number of mailboxes)
    #[arg(long)]
    pub file: PathBuf,
    /// The sender wants a proof of receipt (the first download is recorded either way)
    #[arg(long)]
    pub registered: bool,
    /// The operator, as recorded with the document (default: $USER, then $LOGNAME)
    #[arg(long, env = "RAAS_OPERATOR")]
    pub operator: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// The organisation whose mailbox to show (enterprise number)
    #[arg(long)]
    pub cbe: String,
    /// At most this many deliveries, newest first
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// One JSON object per delivery instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Publishes a broadcast and prints what was stored.
pub fn publish(db: &Database, settings: &MailboxSettings, args: PublishArgs) -> anyhow::Result<()> {
    let recipients = match (args.to.as_deref(), args.cbe.is_empty()) {
        (Some("all"), true) => Recipients::All,
        (Some("all"), false) => bail!("--to all and --cbe exclude each other"),
        (Some(other), _) => bail!("--to {other}: only `all` is accepted (or name --cbe)"),
        (None, true) => bail!("say where to deliver: --to all, or --cbe N (repeatable)"),
        (None, false) => Recipients::Organisations(
            args.cbe
                .iter()
                .map(|n| enterprise_number(n))
                .collect::<anyhow::Result<_>>()?,
        ),
    };
    let operator = args
        .operator
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|o| !o.trim().is_empty())
        .context("--operator is required (the document names who published it)")?;
    let done = delivery::broadcast(
        db,
        settings,
        &args.file,
        &args.subject,
        &recipients,
        args.registered,
        operator.trim(),
    )?;
    println!(
        "document {} published to {} mailbox(es): {} bytes, sha256 {}, expires {}",
        done.document_id,
        done.mailboxes,
        done.size,
        done.sha256,
        done.expires_at.and_utc().to_rfc3339()
    );
    Ok(())
}

/// Prints the sender's view of a mailbox.
pub fn deliveries(db: &Database, args: DeliveriesArgs) -> anyhow::Result<()> {
    if !(1..=100_000).contains(&args.limit) {
        bail!("--limit must be from 1 to 100000");
    }
    let found = delivery::ledger(db, &enterprise_number(&args.cbe)?, args.limit)?;
    if args.json {
        for d in &found {
            println!(
                "{}",
                serde_json::to_string(&crate::rest::body::DeliveryBody::from(d))?
            );
        }
        return Ok(());
    }
    if found.is_empty() {
        eprintln!("the mailbox of {} has no delivery", args.cbe);
        return Ok(());
    }
    println!(
        "{:>8}  {:<16}  {:<44}  {:<20}  {:<10}  {:<20}  by",
        "id", "type", "file", "published", "state", "downloaded"
    );
    for d in &found {
        let (at, by) = match &d.receipt {
            Some(r) => (stamp(r.at), r.by.as_str()),
            None => ("-".to_owned(), "-"),
        };
        println!(
            "{:>8}  {:<16}  {:<44}  {:<20}  {:<10}  {:<20}  {}",
            d.id,
            d.kind.as_str(),
            d.file_name,
            stamp(d.published_at),
            d.state().as_str(),
            at,
            by
        );
    }
    Ok(())
}

/// Runs the mailboxes' sweep now (expiry, then the notices owed) and prints what it did.
pub fn sweep(db: &Database, settings: &MailboxSettings) -> anyhow::Result<()> {
    let now = crate::store::now();
    let sweep = delivery::expire(db, settings, now)?;
    println!(
        "{} document(s) expired, {} document(s)' files removed",
        sweep.expired, sweep.removed
    );
    let notices = crate::service::notification::give_notices(db, &settings.notices, now)?;
    println!(
        "{} unread reminder(s), {} expiry alert(s), {} e-mail(s) enqueued",
        notices.unread, notices.expiring, notices.emails
    );
    Ok(())
}

/// A stored time as the CLI prints it.
pub fn stamp(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
