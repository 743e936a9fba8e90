//! `raas batch run` and `raas batch status` (being built).

use crate::config::Config;

pub fn run(_config: &Config, _date: Option<&str>, _quiet: bool) -> anyhow::Result<()> {
    anyhow::bail!("batch run is not built yet")
}

pub fn status(_config: &Config, _limit: i64) -> anyhow::Result<()> {
    anyhow::bail!("batch status is not built yet")
}
