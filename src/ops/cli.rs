//! The operations' commands (`idora backup`, `restore`, `company export|import`,
//! `routes`): through the running server's control socket when one runs on
//! the data folder, on the files themselves otherwise.

use crate::config::Config;
use std::path::PathBuf;

pub async fn backup(_cfg: Config, _out: PathBuf) -> anyhow::Result<()> {
    anyhow::bail!("idora backup is not built yet")
}

pub async fn verify(_file: PathBuf) -> anyhow::Result<()> {
    anyhow::bail!("idora backup --verify is not built yet")
}

pub async fn restore(_cfg: Config, _file: PathBuf, _force: bool) -> anyhow::Result<()> {
    anyhow::bail!("idora restore is not built yet")
}

pub async fn company_export(_cfg: Config, _slug: String, _out: PathBuf) -> anyhow::Result<()> {
    anyhow::bail!("idora company export is not built yet")
}

pub async fn company_import(_cfg: Config, _file: PathBuf) -> anyhow::Result<()> {
    anyhow::bail!("idora company import is not built yet")
}

pub async fn routes(_cfg: Config, _format: String, _upstream: Option<String>) -> anyhow::Result<()> {
    anyhow::bail!("idora routes is not built yet")
}
