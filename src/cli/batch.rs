//! `raas batch …`: the daily files on demand, their state, and the key that signs the vouchers.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Makes the daily files of a reference date for every subscription active on it (again
    /// for a date already run: nothing new; after a crash: resumes where it stopped)
    Run {
        /// The reference date, YYYY-MM-DD (default: yesterday in the configured time zone)
        #[arg(long)]
        date: Option<String>,
        /// Hide the progress bar
        #[arg(long)]
        quiet: bool,
    },
    /// The last runs and, per subscription, the last file sequence number (JSON lines)
    Status {
        /// At most this many runs
        #[arg(long, default_value_t = 10)]
        limit: i64,
    },
    /// Makes a new Ed25519 signing key (PEM, PKCS#8), for the signing_key setting; prints its
    /// public key
    Keygen {
        /// Where to write the key (refused if the file exists)
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Prints the public key of the configured signing key (PEM, SubjectPublicKeyInfo), for
    /// the receivers
    PublicKey,
}

pub fn run(config: &Config, command: BatchCommand) -> anyhow::Result<()> {
    match command {
        BatchCommand::Run { date, quiet } => super::batch_run::run(config, date.as_deref(), quiet),
        BatchCommand::Status { limit } => super::batch_run::status(config, limit),
        BatchCommand::Keygen { output } => super::batch_keys::keygen(&output),
        BatchCommand::PublicKey => super::batch_keys::public_key(config),
    }
}
