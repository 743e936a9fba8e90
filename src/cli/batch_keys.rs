//! `raas batch keygen` and `raas batch public-key` (being built).

use std::path::Path;

use crate::config::Config;

pub fn keygen(_output: &Path) -> anyhow::Result<()> {
    anyhow::bail!("batch keygen is not built yet")
}

pub fn public_key(_config: &Config) -> anyhow::Result<()> {
    anyhow::bail!("batch public-key is not built yet")
}
