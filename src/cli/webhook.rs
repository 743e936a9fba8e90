//! `raas admin webhook …`: an organisation's webhook endpoints (Standard Webhooks) and the
//! messages sent to them.

use anyhow::{bail, Context};
use clap::Subcommand;

use super::admin::cbe as enterprise_number;
use crate::service::webhook;
use crate::store::Database;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Adds an endpoint and prints its id and its whsec_ secret (shown once)
    Add {
        #[arg(long)]
        cbe: String,
        /// Where the messages are POSTed (http or https)
        #[arg(long)]
        url: String,
        /// An event it gets: delivery.available, delivery.downloaded, delivery.unread,
        /// delivery.expiring, delivery.expired (repeatable; default all)
        #[arg(long = "event", value_name = "EVENT")]
        events: Vec<String>,
    },
    /// Lists an organisation's endpoints as JSON lines
    List {
        #[arg(long)]
        cbe: String,
    },
    /// Removes an endpoint: its pending messages are no longer sent
    Remove {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        id: i64,
    },
    /// Gives an endpoint a new secret and prints it; the previous one still signs for 24 h
    Rotate {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        id: i64,
    },
    /// Enables an endpoint disabled after days of failures
    Enable {
        #[arg(long)]
        cbe: String,
        #[arg(long)]
        id: i64,
    },
    /// Lists the messages sent or owed to an organisation's endpoints, newest first, as JSON
    /// lines
    Messages {
        #[arg(long)]
        cbe: String,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Sends a message again (the same body and webhook-id), whatever became of it
    Replay {
        #[arg(long)]
        cbe: String,
        /// The message: msg_N or N
        #[arg(long)]
        id: String,
    },
}

impl WebhookCommand {
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            WebhookCommand::List { .. } | WebhookCommand::Messages { .. }
        )
    }
}

fn stamp(at: Option<chrono::NaiveDateTime>) -> Option<String> {
    at.map(crate::rest::body::utc)
}

pub fn run(db: &Database, command: WebhookCommand) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Add { cbe, url, events } => {
            let events = webhook::event_types(&events)?;
            let made = webhook::add_endpoint(db, &enterprise_number(&cbe)?, &url, &events)?;
            println!("endpoint {} added for {cbe}", made.id);
            println!("secret: {}", made.secret);
        }
        WebhookCommand::List { cbe } => {
            for e in webhook::endpoints(db, &enterprise_number(&cbe)?)? {
                let line = serde_json::json!({
                    "id": e.id,
                    "url": e.url,
                    "events": e.events.split_whitespace().collect::<Vec<_>>(),
                    "createdAt": crate::rest::body::utc(e.created_at),
                    "failingSince": stamp(e.failing_since),
                    "disabledAt": stamp(e.disabled_at),
                    "rotatedSecretValidUntil": stamp(e.previous_until),
                });
                println!("{line}");
            }
        }
        WebhookCommand::Remove { cbe, id } => {
            if !webhook::remove_endpoint(db, &enterprise_number(&cbe)?, id)? {
                bail!("{cbe} has no endpoint {id}");
            }
            println!("endpoint {id} removed");
        }
        WebhookCommand::Rotate { cbe, id } => {
            match webhook::rotate_secret(db, &enterprise_number(&cbe)?, id)? {
                Some(secret) => println!("secret: {secret}"),
                None => bail!("{cbe} has no endpoint {id}"),
            }
        }
        WebhookCommand::Enable { cbe, id } => {
            if !webhook::enable_endpoint(db, &enterprise_number(&cbe)?, id)? {
                bail!("{cbe} has no endpoint {id}");
            }
            println!("endpoint {id} enabled");
        }
        WebhookCommand::Messages { cbe, limit } => {
            if !(1..=100_000).contains(&limit) {
                bail!("--limit must be from 1 to 100000");
            }
            for m in webhook::messages(db, &enterprise_number(&cbe)?, limit)? {
                let line = serde_json::json!({
                    "id": format!("msg_{}", m.id),
                    "endpoint": m.endpoint_id,
                    "eventSequence": m.event_seq,
                    "attempts": m.attempts,
                    "nextAttemptAt": crate::rest::body::utc(m.next_attempt_at),
                    "deliveredAt": stamp(m.delivered_at),
                    "gaveUpAt": stamp(m.gave_up_at),
                    "lastError": m.last_error,
                });
                println!("{line}");
            }
        }
        WebhookCommand::Replay { cbe, id } => {
            let number: i64 = id
                .strip_prefix("msg_")
                .unwrap_or(&id)
                .parse()
                .with_context(|| format!("--id {id}: msg_N or N"))?;
            if !webhook::replay(db, &enterprise_number(&cbe)?, number)? {
                bail!("{cbe} has no message {id}");
            }
            println!("message msg_{number} due again");
        }
    }
    Ok(())
}
