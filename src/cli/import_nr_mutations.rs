//! `raas import nr-mutations FILE`.

use std::path::Path;

pub fn run(_database_url: &str, _file: &Path) -> anyhow::Result<()> {
    anyhow::bail!("import nr-mutations is not available yet")
}
