//! `raas voucher verify`: what a receiver checks of the files it got (being built).

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum VoucherCommand {
    /// Checks data files against their vouchers: checksum, record count, size, signature, and
    /// the continuity of the sequence numbers of the files in each folder
    Verify {
        /// Data files or their vouchers
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The sender's public key (PEM); default: the configured signing key's
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

pub fn run(_config: &crate::config::Config, _command: VoucherCommand) -> anyhow::Result<()> {
    anyhow::bail!("voucher verify is not built yet")
}
