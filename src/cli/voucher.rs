//! `raas voucher verify`: what a receiver checks of the files it got.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::batch::signing::PublicKey;
use crate::batch::verify;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum VoucherCommand {
    /// Checks data files against their vouchers: signature, checksum, size, record count,
    /// the names, and the continuity of the sequence numbers of the vouchers in each folder;
    /// prints `OK NAME` or `FAILED NAME: REASON` per file and sequence, then a summary, and
    /// exits with status 1 if anything failed
    Verify {
        /// Data files (`<TYPE>_<cbe>_<YYYYMMDD>_<sequence>.xml`) or their `.voucher.xml` /
        /// `.voucher.sig` files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The sender's public key (PEM, as `raas batch public-key` prints it); default: the
        /// public half of the configured signing key
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
}

pub fn run(config: &Config, command: VoucherCommand) -> anyhow::Result<()> {
    let VoucherCommand::Verify { files, public_key } = command;
    let key = match (&public_key, &config.signing_key) {
        (Some(path), _) => PublicKey::load(path)?,
        (None, Some(_)) => super::batch_keys::configured_key(config)
            .context("the public key to check with")?
            .public_key(),
        (None, None) => bail!(
            "no public key to check the signatures with: give --public-key FILE (the \
             sender's PEM public key) or configure signing_key"
        ),
    };
    let report = verify::verify(&files, &key);
    let mut out = std::io::stdout().lock();
    for outcome in report.files.iter().chain(&report.sequences) {
        writeln!(out, "{outcome}")?;
    }
    writeln!(out, "{}", report.summary())?;
    out.flush()?;
    match report.failures() {
        0 => Ok(()),
        1 => bail!("1 check failed"),
        n => bail!("{n} checks failed"),
    }
}
