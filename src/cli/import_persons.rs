//! `raas import persons FILE`.

use std::path::Path;

pub fn run(_database_url: &str, _file: &Path, _quiet: bool) -> anyhow::Result<()> {
    anyhow::bail!("import persons is not available yet")
}
