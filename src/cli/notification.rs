//! `raas admin contact …` (an organisation's contact addresses for e-mail notifications)
//! and `raas admin mail …` (the e-mails owed or sent to it, the daily summaries made now).

use clap::Subcommand;

use super::admin::cbe as enterprise_number;
use super::mailbox::stamp;
use crate::domain::ContactAddress;
use crate::service::notification;
use crate::store::Database;

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Adds a contact address to an organisation: its daily summaries, reminders and alerts
    /// are e-mailed there
    Add {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// The address (name@domain)
        #[arg(long, value_parser = address)]
        email: ContactAddress,
    },
    /// Lists an organisation's contact addresses
    List {
        #[arg(long)]
        cbe: String,
    },
    /// Removes a contact address of an organisation
    Remove {
        #[arg(long)]
        cbe: String,
        #[arg(long, value_parser = address)]
        email: ContactAddress,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Lists the e-mails owed or sent to an organisation, newest first: id, kind, state,
    /// attempts, recipient, subject, last error
    List {
        #[arg(long)]
        cbe: String,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Makes the daily summaries of new deliveries now (serve does it on
    /// --notification-schedule); serve's mailer sends them
    Summarise,
}

impl ContactCommand {
    pub fn only_reads(&self) -> bool {
        matches!(self, ContactCommand::List { .. })
    }
}

impl MailCommand {
    pub fn only_reads(&self) -> bool {
        matches!(self, MailCommand::List { .. })
    }
}

fn address(value: &str) -> Result<ContactAddress, String> {
    value.parse()
}

pub fn run_contact(db: &Database, command: ContactCommand) -> anyhow::Result<()> {
    match command {
        ContactCommand::Add { cbe, email } => {
            if notification::add_contact(db, &enterprise_number(&cbe)?, &email)? {
                println!("contact {email} added to {cbe}");
            } else {
                println!("{cbe} has the contact {email} already");
            }
        }
        ContactCommand::List { cbe } => {
            for address in notification::contacts(db, &enterprise_number(&cbe)?)? {
                println!("{address}");
            }
        }
        ContactCommand::Remove { cbe, email } => {
            if !notification::remove_contact(db, &enterprise_number(&cbe)?, &email)? {
                anyhow::bail!("{cbe} has no contact {email}");
            }
            println!("contact {email} removed from {cbe}");
        }
    }
    Ok(())
}

pub fn run_mail(db: &Database, command: MailCommand) -> anyhow::Result<()> {
    match command {
        MailCommand::List { cbe, limit } => {
            for email in notification::emails(db, &enterprise_number(&cbe)?, limit)? {
                let state = match (email.sent_at, email.gave_up_at) {
                    (Some(at), _) => format!("sent {}", stamp(at)),
                    (None, Some(at)) => format!("given up {}", stamp(at)),
                    (None, None) => format!("pending, next {}", stamp(email.next_attempt_at)),
                };
                println!(
                    "{}\t{}\t{}\t{} attempt(s)\t{}\t{}\t{}",
                    email.id,
                    email.kind,
                    state,
                    email.attempts,
                    email.recipient,
                    email.subject,
                    email.last_error.unwrap_or_default()
                );
            }
        }
        MailCommand::Summarise => {
            let made = notification::summarise(db, crate::store::now())?;
            println!("{made} daily summary e-mail(s) enqueued");
        }
    }
    Ok(())
}
