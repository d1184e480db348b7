//! The operations' commands (`idora backup`, `restore`, `company export|import`,
//! `routes`): through the running server's control socket when one runs on
//! the data folder, on the files themselves otherwise.

use super::archive::{self, Manifest, describe};
use super::control;
use crate::app::AppState;
use crate::config::Config;
use std::path::{Path, PathBuf};

/// `p` as an absolute path (the server's working folder is not ours).
fn absolute(p: PathBuf) -> anyhow::Result<PathBuf> {
    if p.is_absolute() { Ok(p) } else { Ok(std::env::current_dir()?.join(p)) }
}

/// The data folder opened here, when no server answers on its socket.
fn offline(cfg: Config) -> anyhow::Result<AppState> {
    if !cfg.data_dir.join("platform.redb").exists() {
        anyhow::bail!("{} has no platform.redb: no Idora data there (is --data right?)", cfg.data_dir.display());
    }
    AppState::open_default(cfg)
}

/// The server's answer: its JSON on success, its error otherwise.
fn answered(a: control::Answer) -> anyhow::Result<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_else(|_| serde_json::Value::String(a.body.clone()));
    if a.status == 200 {
        return Ok(v);
    }
    match v.get("error").and_then(|e| e.as_str()) {
        Some(e) => anyhow::bail!("{e}"),
        None => anyhow::bail!("the server answered {}: {}", a.status, a.body),
    }
}

fn print_summary(s: &serde_json::Value) {
    let get = |k: &str| s.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_default();
    println!("kind:           {}", get("kind"));
    println!("written by:     Idora {} (schema {})", get("idora_version"), get("schema_version"));
    println!("created:        {}", get("created"));
    if let Some(c) = s.get("company").and_then(|c| c.as_str()) {
        println!("company:        {c}");
    }
    let companies: Vec<&str> =
        s.get("companies").and_then(|c| c.as_array()).map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
    if !companies.is_empty() {
        println!("companies:      {} ({})", companies.len(), companies.join(", "));
    }
    println!("entries:        {} ({} bytes)", get("entries"), get("bytes"));
    println!("files included: {}", get("files_included"));
    for n in s.get("notes").and_then(|n| n.as_array()).into_iter().flatten().filter_map(|n| n.as_str()) {
        println!("note:           {n}");
    }
}

/// A field of an answer, as text.
fn field(v: &serde_json::Value, key: &str) -> String {
    v.get(key).map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).unwrap_or_default()
}

fn fail(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", describe(&e))
}

pub async fn backup(cfg: Config, out: PathBuf) -> anyhow::Result<()> {
    let out = absolute(out)?;
    let summary = match control::ask(&cfg.data_dir, "POST", "/backup", &out.to_string_lossy()).await? {
        Some(a) => answered(a)?,
        None => {
            let state = offline(cfg)?;
            super::backup::backup_all(&state, &out).await.map_err(fail)?.summary()
        }
    };
    println!("backup written: {}", out.display());
    print_summary(&summary);
    Ok(())
}

pub async fn verify(file: PathBuf) -> anyhow::Result<()> {
    let f = file.clone();
    let m: Manifest = tokio::task::spawn_blocking(move || archive::verify(&f)).await?.map_err(fail)?;
    println!("ok: {} is whole ({} entries checked)", file.display(), m.entries.len());
    print_summary(&m.summary());
    Ok(())
}

pub async fn restore(cfg: Config, file: PathBuf, force: bool) -> anyhow::Result<()> {
    let data = absolute(cfg.data_dir.clone())?;
    let (f, d) = (file.clone(), data.clone());
    let m = tokio::task::spawn_blocking(move || super::backup::restore(&f, &d, force)).await?.map_err(fail)?;
    println!("restored {} into {}", file.display(), data.display());
    print_summary(&m.summary());
    println!("Start the server on it: the search indexes are rebuilt as each company opens.");
    Ok(())
}

pub async fn company_export(cfg: Config, slug: String, out: PathBuf) -> anyhow::Result<()> {
    let out = absolute(out)?;
    let path = format!("/companies/{slug}/export");
    let v = match control::ask(&cfg.data_dir, "POST", &path, &out.to_string_lossy()).await? {
        Some(a) => answered(a)?,
        None => {
            let state = offline(cfg)?;
            let x = super::company::export(&state, &slug, &out).await.map_err(fail)?;
            serde_json::json!({"slug": x.slug, "bytes": x.bytes, "files": x.files})
        }
    };
    println!("company {} exported to {} ({} bytes, {} files)", field(&v, "slug"), out.display(), field(&v, "bytes"), field(&v, "files"));
    Ok(())
}

pub async fn company_import(cfg: Config, file: PathBuf) -> anyhow::Result<()> {
    let file = absolute(file)?;
    let v = match control::ask(&cfg.data_dir, "POST", "/companies/import", &file.to_string_lossy()).await? {
        Some(a) => answered(a)?,
        None => {
            let state = offline(cfg)?;
            let i = super::company::import(&state, &file).await.map_err(fail)?;
            serde_json::json!({"slug": i.slug, "users": i.users})
        }
    };
    println!("company {} imported ({} users; they sign in again)", field(&v, "slug"), field(&v, "users"));
    Ok(())
}

pub async fn routes(cfg: Config, format: String, upstream: Option<String>) -> anyhow::Result<()> {
    if format != "nginx" {
        anyhow::bail!("routes: format {format:?} is not known (nginx)");
    }
    let upstream = upstream.unwrap_or_else(|| "idora".into());
    if !super::routes::valid_upstream(&upstream) {
        anyhow::bail!("routes: --upstream {upstream:?} is not an nginx upstream name (letters, digits, _ - . :)");
    }
    let q = format!("/routes?format=nginx&upstream={}", url::form_urlencoded::byte_serialize(upstream.as_bytes()).collect::<String>());
    let text = match control::ask(&cfg.data_dir, "GET", &q, "").await? {
        Some(a) if a.status == 200 => a.body,
        Some(a) => {
            answered(a)?;
            String::new()
        }
        None => super::routes::nginx(&offline(cfg)?, &upstream),
    };
    print!("{text}");
    Ok(())
}

/// Whether `dir` is a data folder a server is running on (for tests and
/// `restore`'s message).
pub fn server_running(dir: &Path) -> bool {
    super::backup::in_use(dir, false).is_some()
}
