//! Google Sheets: the company's history tables (`reports::history`), each
//! written to its own sheet of a spreadsheet the company owns.
//!
//! # The connection
//! An admin (`company.setup`) uploads a Google service account's JSON key
//! and names a spreadsheet shared with the account's e-mail, the tables and
//! the schedule. The key is checked (a `service_account`, its `client_email`,
//! an RSA `private_key` that signs, an `https` `token_uri`) and kept only
//! sealed with the box's key (`Keys::seal`, bound to `sheets:<slug>`): it is
//! never shown, logged or returned again — the e-mail and a masked key id
//! are what pages show.
//!
//! # A sync
//! 1. An access token by the OAuth 2.0 JWT-bearer grant: an RS256 JWT
//!    (iss = the account, scope = spreadsheets, aud = `token_uri`, an hour)
//!    posted to the key's `token_uri`; kept until five minutes before it
//!    expires.
//! 2. Sheets API v4 (base `google_api_url`): the spreadsheet's sheets are
//!    read, a sheet named after each table that lacks one is added
//!    (`addSheet`), then each table's sheet is cleared and written again —
//!    the header in the connection's language, then the rows — by
//!    `values:batchUpdate` (`RAW`: nothing typed is taken for a formula) in
//!    requests of at most [`MAX_ROWS`] rows and about [`MAX_BYTES`].
//! 3. Numbers are numbers; dates are text `YYYY-MM-DD`, moments local text
//!    `YYYY-MM-DD HH:MM` in the company's time zone; durations are minutes.
//! 4. 429 and 5xx answers (and a lost connection) are tried again after
//!    `Retry-After` or a growing wait (1 s, 2 s, 4 s…), [`TRIES`] times in
//!    all; then the sync fails with the reason recorded.
//!
//! Rows are read on a blocking thread and handed over a small channel one
//! request's worth at a time, so memory stays flat however long the table.
//! Progress goes to a [`Job`] (`GET /jobs/{id}`); the last result (time,
//! rows, error) is stored in the company's file and shown on GET and the page.
//!
//! # The schedule
//! `manual`, `hourly` (at the start of every hour) or `daily HH:MM` (company
//! time). `platform.redb` lists when each scheduled company is next due
//! ([`SHEETS_DUE`]); the minute's [`tick`] opens only those whose time has
//! come, moves their next time on first (so a slot runs once, even across a
//! crash) and syncs. A slot missed while the server was down runs once when
//! it is back.

use super::history::{self, HistoryTable};
use super::jobs::Job;
use super::{Cell, Scope};
use crate::app::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::store::schema::{FieldChange, SHEETS_CONFIG, SHEETS_DUE, SHEETS_SYNC, SheetsConfigV1, SheetsErrorV1, SheetsEvery, SheetsSyncV1};
use crate::store::{Db, store_err};
use crate::tenancy::Tenant;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// Who may connect, change, sync and disconnect.
pub const MANAGE: &str = "company.setup";
/// What the token is asked for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// The JWT-bearer grant.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Rows in one write request at most.
pub const MAX_ROWS: usize = 5_000;
/// About how many bytes of values one write request carries at most
/// (Google advises 2 MB).
pub const MAX_BYTES: usize = 2_000_000;
/// Tries of one request before the sync gives up.
pub const TRIES: u32 = 5;
/// The longest `Retry-After` honoured, in seconds.
const MAX_RETRY_AFTER: u64 = 60;
/// The most characters one cell holds (Google's limit is 50,000).
const MAX_CELL_CHARS: usize = 50_000;
/// The longest key file accepted.
const MAX_KEY_BYTES: usize = 16 * 1024;
/// The sealing context of a company's key.
fn seal_context(slug: &str) -> String {
    format!("sheets:{slug}")
}

// ---------- the key ----------

/// A service account's key, opened.
#[derive(Clone)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: String,
    pub token_uri: String,
    /// The RSA private key, PKCS#1 DER (what `jsonwebtoken` signs with).
    der: Vec<u8>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    token_uri: Option<String>,
}

const KEY_FIELD: &str = "service_account_key";

/// Reads and checks a service account's JSON key: its type, e-mail,
/// RSA private key (it must sign a JWT) and token address, which must be
/// Google's (`https://…google.com` or `…googleapis.com`) or on the host of
/// `api_url`, the configured Sheets API (a test's fake, a company's
/// gateway): the server posts to no other address a company admin names.
pub fn parse_key(raw: &str, api_url: &str) -> Result<ServiceAccount, AppError> {
    let bad = |key: &'static str| AppError::invalid(KEY_FIELD, key);
    if raw.len() > MAX_KEY_BYTES {
        return Err(bad("sheets.error.key_json"));
    }
    let f: KeyFile = serde_json::from_str(raw.trim()).map_err(|_| bad("sheets.error.key_json"))?;
    if f.kind.as_deref() != Some("service_account") {
        return Err(bad("sheets.error.key_type"));
    }
    let client_email = f.client_email.map(|e| e.trim().to_string()).unwrap_or_default();
    if client_email.len() > 320 || !client_email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.')) {
        return Err(bad("sheets.error.key_email"));
    }
    let token_uri = f.token_uri.map(|u| u.trim().to_string()).unwrap_or_default();
    if !token_uri_ok(&token_uri, api_url) {
        return Err(bad("sheets.error.key_token_uri"));
    }
    let der = f.private_key.as_deref().and_then(rsa_der).ok_or_else(|| bad("sheets.error.key_private"))?;
    let account = ServiceAccount { client_email, private_key_id: f.private_key_id.unwrap_or_default(), token_uri, der };
    // The key must sign: what Google will be sent.
    assertion(&account, 0).map_err(|_| bad("sheets.error.key_private"))?;
    Ok(account)
}

/// Google's token address, or one on the configured Sheets API's host
/// (same scheme, host and port).
fn token_uri_ok(uri: &str, api_url: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else { return false };
    let google = |host: &str| ["google.com", "googleapis.com"].iter().any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if u.scheme() == "https" && u.host_str().is_some_and(google) && u.port().is_none() {
        return true;
    }
    url::Url::parse(api_url).is_ok_and(|api| api.origin() == u.origin() && !u.cannot_be_a_base())
}

/// A key's id as pages show it: its first and last four characters.
pub fn key_hint(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    if chars.len() < 12 {
        return "••••".into();
    }
    let head: String = chars.iter().take(4).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}…{tail}")
}

/// The DER of a PEM block (`-----BEGIN <label>-----`), and its label.
fn pem(text: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine;
    let text = text.trim();
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let end = format!("-----END {label}-----");
    let body = rest.split(end.as_str()).next()?;
    if !rest.contains(end.as_str()) {
        return None;
    }
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((label.to_string(), der))
}

/// One DER element: (tag, contents, what follows).
fn der_next(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        (len_bytes.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)), rest)
    };
    if rest.len() < len {
        return None;
    }
    let (content, after) = rest.split_at(len);
    Some((tag, content, after))
}

/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The PKCS#1 DER of an RSA private key in PEM: PKCS#8 (`PRIVATE KEY`, what
/// Google issues) or PKCS#1 (`RSA PRIVATE KEY`).
fn rsa_der(pem_text: &str) -> Option<Vec<u8>> {
    let (label, der) = pem(pem_text)?;
    match label.as_str() {
        "RSA PRIVATE KEY" => Some(der),
        "PRIVATE KEY" => {
            // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING }
            let (0x30, info, _) = der_next(&der)? else { return None };
            let (0x02, _, rest) = der_next(info)? else { return None };
            let (0x30, alg, rest) = der_next(rest)? else { return None };
            let (0x06, oid, _) = der_next(alg)? else { return None };
            if oid != RSA_OID {
                return None;
            }
            let (0x04, key, _) = der_next(rest)? else { return None };
            Some(key.to_vec())
        }
        _ => None,
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// The signed JWT asking `token_uri` for a token, issued at `now` (seconds).
fn assertion(account: &ServiceAccount, now: i64) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    if !account.private_key_id.is_empty() {
        header.kid = Some(account.private_key_id.clone());
    }
    let claims = Claims { iss: &account.client_email, scope: SCOPE, aud: &account.token_uri, iat: now, exp: now + 3600 };
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_rsa_der(&account.der))
}

// ---------- the other settings ----------

/// The spreadsheet's id, from the id or its address
/// (`https://docs.google.com/spreadsheets/d/<id>/edit#gid=0`).
pub fn parse_spreadsheet_id(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    let id = match s.split_once("/spreadsheets/d/") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next().unwrap_or(""),
        None => s,
    };
    let ok = (20..=100).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(AppError::invalid("spreadsheet_id", "sheets.error.spreadsheet_id"));
    }
    Ok(id.to_string())
}

/// The spreadsheet's address.
pub fn spreadsheet_url(id: &str) -> String {
    format!("https://docs.google.com/spreadsheets/d/{id}/edit")
}

/// The tables asked, known and once each, in the order given.
pub fn parse_tables(names: &[String]) -> Result<Vec<HistoryTable>, AppError> {
    let mut out: Vec<HistoryTable> = Vec::new();
    for n in names {
        let table = HistoryTable::parse(n.trim()).ok_or_else(|| {
            AppError::invalid("tables", "sheets.error.table_unknown").with_arg("table", n.chars().take(40).collect::<String>())
        })?;
        if !out.contains(&table) {
            out.push(table);
        }
    }
    if out.is_empty() {
        return Err(AppError::invalid("tables", "sheets.error.tables"));
    }
    Ok(out)
}

/// `manual`, `hourly` or `daily HH:MM`.
pub fn parse_schedule(s: &str) -> Result<(SheetsEvery, u16), AppError> {
    let s = s.trim().to_ascii_lowercase();
    let bad = || AppError::invalid("schedule", "sheets.error.schedule");
    match s.as_str() {
        "manual" => Ok((SheetsEvery::Manual, 0)),
        "hourly" => Ok((SheetsEvery::Hourly, 0)),
        _ => {
            let at = s.strip_prefix("daily").ok_or_else(bad)?.trim();
            let minute = crate::org::service::parse_hhmm(at).filter(|m| *m < 24 * 60).ok_or_else(bad)?;
            Ok((SheetsEvery::Daily, minute))
        }
    }
}

/// The schedule as [`parse_schedule`] reads it.
pub fn schedule_text(every: SheetsEvery, at_minute: u16) -> String {
    match every {
        SheetsEvery::Manual => "manual".into(),
        SheetsEvery::Hourly => "hourly".into(),
        SheetsEvery::Daily => format!("daily {}", crate::org::service::format_hhmm(at_minute)),
    }
}

/// When a schedule is next due after `after` (ms), in time zone `tz`:
/// the next start of an hour, or the next `HH:MM` of the company's day.
pub fn next_due(every: SheetsEvery, at_minute: u16, after: i64, tz: &TimeZone) -> Option<i64> {
    let z = crate::clock::from_ms(after).to_zoned(tz.clone());
    match every {
        SheetsEvery::Manual => None,
        SheetsEvery::Hourly => {
            let hour = z.with().minute(0).second(0).subsec_nanosecond(0).build().ok()?;
            let next = hour.checked_add(jiff::SignedDuration::from_hours(1)).ok()?;
            Some(next.timestamp().as_millisecond())
        }
        SheetsEvery::Daily => {
            let (h, m) = (i8::try_from(at_minute / 60).ok()?, i8::try_from(at_minute % 60).ok()?);
            let mut day = z.date();
            for _ in 0..3 {
                let at = day.at(h, m, 0, 0).to_zoned(tz.clone()).ok()?.timestamp().as_millisecond();
                if at > after {
                    return Some(at);
                }
                day = day.tomorrow().ok()?;
            }
            None
        }
    }
}

// ---------- reading and changing the connection ----------

/// The company's connection, if there is one.
pub fn config(db: &Db) -> Result<Option<SheetsConfigV1>, AppError> {
    let tx = db.read()?;
    SHEETS_CONFIG.open(&tx)?.get(0)
}

/// The last sync that ended, if any.
pub fn last_sync(db: &Db) -> Result<Option<SheetsSyncV1>, AppError> {
    let tx = db.read()?;
    SHEETS_SYNC.open(&tx)?.get(0)
}

/// A stored failure in `lang`.
pub fn error_text(e: &SheetsErrorV1, lang: Lang) -> String {
    tf(lang, &e.key, &[("detail", &e.detail)])
}

/// What an admin sends to connect or change the connection.
pub struct Settings {
    /// The JSON key; `None` keeps the stored one.
    pub key: Option<String>,
    /// The id, or the spreadsheet's address.
    pub spreadsheet: String,
    pub tables: Vec<String>,
    /// `manual`, `hourly` or `daily HH:MM`.
    pub schedule: String,
}

/// Connects the company's spreadsheet, or changes the connection. The key
/// is sealed before it is stored; without one the stored key stays (and
/// one is required when none is stored). `lang` becomes the sheets' language.
pub async fn save(state: &AppState, tenant: &Tenant, who: &Caller, lang: Lang, s: Settings) -> Result<SheetsConfigV1, AppError> {
    who.require(MANAGE)?;
    let api_url = state.config.google_api_url.as_str();
    let account = s.key.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(|k| parse_key(k, api_url)).transpose()?;
    let spreadsheet_id = parse_spreadsheet_id(&s.spreadsheet)?;
    let tables: Vec<String> = parse_tables(&s.tables)?.into_iter().map(|t| t.key().to_string()).collect();
    let (every, at_minute) = parse_schedule(&s.schedule)?;
    let sealed = match (&account, &s.key) {
        (Some(_), Some(raw)) => Some(state.keys.seal(&seal_context(&tenant.slug), raw.trim().as_bytes())?),
        _ => None,
    };
    let now = state.now_ms();
    let next_at = next_due(every, at_minute, now, &tenant.timezone());
    let who2 = who.clone();
    let cfg = tenant
        .db()?
        .write(move |tx| {
            let mut t = SHEETS_CONFIG.open(tx)?;
            let old = t.get(0)?;
            let (sealed_key, client_email, key_hint) = match (&sealed, &account, &old) {
                (Some(sealed), Some(a), _) => (sealed.clone(), a.client_email.clone(), key_hint(&a.private_key_id)),
                (_, _, Some(o)) => (o.sealed_key.clone(), o.client_email.clone(), o.key_hint.clone()),
                _ => return Err(AppError::invalid(KEY_FIELD, "sheets.error.key_missing")),
            };
            let cfg = SheetsConfigV1 {
                sealed_key,
                client_email,
                key_hint,
                spreadsheet_id: spreadsheet_id.clone(),
                tables: tables.clone(),
                every,
                at_minute,
                lang: lang.code().to_string(),
                next_at,
                connected_at: old.as_ref().map(|o| o.connected_at).unwrap_or(now),
                connected_by: old.as_ref().map(|o| o.connected_by).unwrap_or(who2.id()),
                updated_at: now,
            };
            let mut ch = audit::Changes::default();
            let none = String::new();
            let was = |f: fn(&SheetsConfigV1) -> String| old.as_ref().map(f).unwrap_or_else(|| none.clone());
            ch.diff("client_email", &was(|o| o.client_email.clone()), &cfg.client_email);
            ch.diff("spreadsheet_id", &was(|o| o.spreadsheet_id.clone()), &cfg.spreadsheet_id);
            ch.diff("tables", &was(|o| o.tables.join(", ")), &cfg.tables.join(", "));
            ch.diff("schedule", &was(|o| schedule_text(o.every, o.at_minute)), &schedule_text(every, at_minute));
            if sealed.is_some() {
                ch.secret(KEY_FIELD);
            }
            t.insert(0, &cfg)?;
            let action = if old.is_some() { "sheets.update" } else { "sheets.connect" };
            audit::record(tx, now, &who2, action, "google_sheets", ch.0)?;
            Ok(cfg)
        })
        .await?;
    set_due(state, &tenant.slug, cfg.next_at).await?;
    Ok(cfg)
}

/// Disconnects: the key, the settings and the last result are forgotten.
/// (The spreadsheet keeps what was written; unshare it in Google to stop
/// the account reaching it.)
pub async fn disconnect(state: &AppState, tenant: &Tenant, who: &Caller) -> Result<(), AppError> {
    who.require(MANAGE)?;
    let now = state.now_ms();
    let who2 = who.clone();
    let had = tenant
        .db()?
        .write(move |tx| {
            let Some(old) = SHEETS_CONFIG.open(tx)?.get(0)? else { return Ok(false) };
            SHEETS_CONFIG.open(tx)?.remove(0)?;
            SHEETS_SYNC.open(tx)?.remove(0)?;
            let change = FieldChange { field: "spreadsheet_id".into(), from: Some(old.spreadsheet_id), to: None };
            audit::record(tx, now, &who2, "sheets.disconnect", "google_sheets", vec![change])?;
            Ok(true)
        })
        .await?;
    set_due(state, &tenant.slug, None).await?;
    if !had {
        return Err(AppError::new(ErrorKind::NotFound).with_message("sheets.not_connected"));
    }
    Ok(())
}

/// Lists (or unlists) the company's next scheduled sync in `platform.redb`.
async fn set_due(state: &AppState, slug: &str, at: Option<i64>) -> Result<(), AppError> {
    let slug = slug.to_string();
    state
        .platform
        .write(move |tx| {
            let mut t = tx.open_table(SHEETS_DUE).map_err(store_err)?;
            match at {
                Some(at) => t.insert(slug.as_str(), at).map_err(store_err)?,
                None => t.remove(slug.as_str()).map_err(store_err)?,
            };
            Ok(())
        })
        .await
}

/// The companies whose scheduled sync is due at `now`.
fn due_companies(platform: &Db, now: i64) -> Result<Vec<String>, AppError> {
    let tx = platform.read()?;
    let t = tx.open_table(SHEETS_DUE).map_err(store_err)?;
    let mut out = Vec::new();
    for row in redb::ReadableTable::iter(&t).map_err(store_err)? {
        let (k, v) = row.map_err(store_err)?;
        if v.value() <= now {
            out.push(k.value().to_string());
        }
    }
    Ok(out)
}

// ---------- one sync at a time per company ----------

static RUNNING: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Default::default);

/// Held while a company's sync runs.
struct Claim(PathBuf);

impl Claim {
    fn take(tenant: &Tenant) -> Option<Claim> {
        let mut set = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(tenant.dir.clone()).then(|| Claim(tenant.dir.clone()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
    }
}

/// Whether a sync of the company runs now.
pub fn is_running(tenant: &Tenant) -> bool {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).contains(&tenant.dir)
}

// ---------- starting a sync ----------

/// Starts a sync now ("Sync now"): its job, whose progress `GET /jobs/{id}`
/// shows. Refused while another sync of the company runs.
pub async fn start(state: &AppState, tenant: &Tenant, who: &Caller, lang: Lang) -> Result<Arc<Job>, AppError> {
    who.require(MANAGE)?;
    if config(tenant.db()?)?.is_none() {
        return Err(AppError::new(ErrorKind::NotFound).with_message("sheets.not_connected"));
    }
    let claim = Claim::take(tenant).ok_or_else(|| AppError::new(ErrorKind::Conflict).with_message("sheets.already_running"))?;
    let job = state.jobs.start(&tenant.slug, who, t(lang, "sheets.job").to_string(), state.now_ms());
    let (state, tenant, job2, by) = (state.clone(), tenant.clone(), job.clone(), who.id());
    tokio::spawn(async move {
        run(&state, &tenant, &job2, by, lang).await;
        drop(claim);
    });
    Ok(job)
}

/// The minute's look: syncs every company whose scheduled sync is due (its
/// next time moved on first). Returns how many syncs it ran.
pub async fn tick(state: &AppState) -> usize {
    let now = state.now_ms();
    let slugs = match due_companies(&state.platform, now) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "sheets: due companies not read");
            return 0;
        }
    };
    let mut ran = 0;
    for slug in slugs {
        match scheduled(state, &slug, now).await {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(company = %slug, error = %e, "sheets: scheduled sync not run"),
        }
    }
    ran
}

/// One company's scheduled sync, if it is due; whether it ran.
async fn scheduled(state: &AppState, slug: &str, now: i64) -> Result<bool, AppError> {
    let Some(tenant) = state.tenants.get(slug) else {
        set_due(state, slug, None).await?;
        return Ok(false);
    };
    let Some(cfg) = config(tenant.db()?)? else {
        set_due(state, slug, None).await?;
        return Ok(false);
    };
    if cfg.every == SheetsEvery::Manual || cfg.next_at.is_some_and(|at| at > now) {
        // The platform's list was behind the company's file.
        set_due(state, slug, cfg.next_at.filter(|_| cfg.every != SheetsEvery::Manual)).await?;
        return Ok(false);
    }
    let Some(claim) = Claim::take(&tenant) else { return Ok(false) };
    let next = next_due(cfg.every, cfg.at_minute, now, &tenant.timezone());
    let moved = tenant
        .db()?
        .write(move |tx| {
            let mut t = SHEETS_CONFIG.open(tx)?;
            let Some(mut cfg) = t.get(0)? else { return Ok(false) };
            cfg.next_at = next;
            t.insert(0, &cfg)?;
            Ok(true)
        })
        .await?;
    set_due(state, slug, if moved { next } else { None }).await?;
    if !moved {
        return Ok(false);
    }
    let lang = Lang::parse(&cfg.lang).unwrap_or_else(|| tenant.lang());
    let job = state.jobs.start(slug, &Caller::System, t(lang, "sheets.job").to_string(), now);
    run(state, &tenant, &job, 0, lang).await;
    drop(claim);
    Ok(true)
}

/// Why a sync stopped.
#[derive(Debug)]
struct Failure {
    key: &'static str,
    detail: String,
}

impl Failure {
    fn new(key: &'static str, detail: impl Into<String>) -> Failure {
        let detail: String = detail.into();
        Failure { key, detail: detail.chars().take(500).collect() }
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Failure {
        Failure::new("sheets.error.read", e.kind.code())
    }
}

/// Runs one sync to its end and records the result (unless the connection
/// was removed meanwhile); the job says done or failed.
async fn run(state: &AppState, tenant: &Tenant, job: &Job, by: u64, lang: Lang) {
    let started = state.now_ms();
    let result = sync(state, tenant, job).await;
    let finished = state.now_ms();
    let (tables, error) = match result {
        Ok(tables) => (tables, None),
        Err((tables, f)) => (tables, Some(SheetsErrorV1 { key: f.key.to_string(), detail: f.detail })),
    };
    let rows = tables.iter().map(|(_, n)| n).sum();
    match &error {
        None => job.finish(None, finished),
        Some(e) => {
            tracing::warn!(company = %tenant.slug, error = %e.key, "sheets: sync failed");
            job.fail(error_text(e, lang), finished)
        }
    }
    let rec = SheetsSyncV1 { started_at: started, finished_at: finished, by, rows, tables, error };
    let saved = match tenant.db() {
        Ok(db) => {
            db.write(move |tx| {
                if SHEETS_CONFIG.open(tx)?.get(0)?.is_some() {
                    SHEETS_SYNC.open(tx)?.insert(0, &rec)?;
                }
                Ok(())
            })
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = saved {
        tracing::warn!(company = %tenant.slug, error = %e, "sheets: the sync's result not saved");
    }
}

type Synced = Vec<(String, u64)>;

/// The sync itself: rows written per table, or why it stopped (with what
/// was written before).
async fn sync(state: &AppState, tenant: &Tenant, job: &Job) -> Result<Synced, (Synced, Failure)> {
    let mut done: Synced = Vec::new();
    let cfg = match config(tenant.db().map_err(|e| (Vec::new(), e.into()))?) {
        Ok(Some(c)) => c,
        Ok(None) => return Err((done, Failure::new("sheets.error.read", "not connected"))),
        Err(e) => return Err((done, e.into())),
    };
    let Some(raw) = state.keys.open(&seal_context(&tenant.slug), &cfg.sealed_key) else {
        return Err((done, Failure::new("sheets.error.key_unreadable", "")));
    };
    let api_url = state.config.google_api_url.as_str();
    let account = match std::str::from_utf8(&raw).map(|s| parse_key(s, api_url)) {
        Ok(Ok(a)) => a,
        // The Sheets API moved (`google_api_url`) away from the key's token address.
        Ok(Err(e)) if e.message_key == Some("sheets.error.key_token_uri") => {
            return Err((done, Failure::new("sheets.error.key_token_uri", "")));
        }
        _ => return Err((done, Failure::new("sheets.error.key_unreadable", ""))),
    };
    let lang = Lang::parse(&cfg.lang).unwrap_or_else(|| tenant.lang());
    let tables: Vec<HistoryTable> = cfg.tables.iter().filter_map(|t| HistoryTable::parse(t)).collect();
    let mut total = 0;
    for table in &tables {
        total += history::count(tenant.db().map_err(|e| (Vec::new(), e.into()))?, &Scope::All, *table).unwrap_or(0);
    }
    job.set_total(total);
    let mut api = match Google::new(state, &account, &cfg.spreadsheet_id) {
        Ok(a) => a,
        Err(f) => return Err((done, f)),
    };
    if let Err(f) = api.ensure_sheets(&tables).await {
        return Err((done, f));
    }
    for table in tables {
        match write_table(tenant, &mut api, table, lang, job).await {
            Ok(n) => done.push((table.key().to_string(), n)),
            Err((n, f)) => {
                done.push((table.key().to_string(), n));
                return Err((done, f));
            }
        }
    }
    Ok(done)
}

/// One cell as Sheets gets it.
fn value(cell: &Cell, tz: &TimeZone) -> Value {
    match cell {
        Cell::Empty => Value::String(String::new()),
        Cell::Text(s) if s.len() > MAX_CELL_CHARS => Value::String(s.chars().take(MAX_CELL_CHARS).collect()),
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Int(n) => Value::from(*n),
        Cell::Num(v) => serde_json::Number::from_f64(*v).map(Value::Number).unwrap_or_else(|| Value::String(String::new())),
        Cell::Secs(s) => {
            serde_json::Number::from_f64((*s as f64 / 6.0).round() / 10.0).map(Value::Number).unwrap_or_else(|| Value::from(0))
        }
        Cell::Date(d) => Value::String(d.to_string()),
        Cell::Time(ms) => Value::String(crate::clock::from_ms(*ms).to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string()),
    }
}

/// Rows bound for one write request.
#[derive(Default)]
struct Batch {
    rows: Vec<Value>,
    bytes: usize,
}

/// Clears a table's sheet and writes its header and rows, read on a
/// blocking thread a request's worth at a time. Rows written, or how far
/// it got and why it stopped.
async fn write_table(tenant: &Tenant, api: &mut Google<'_>, table: HistoryTable, lang: Lang, job: &Job) -> Result<u64, (u64, Failure)> {
    let sheet = table.key();
    let header: Vec<Value> = history::columns(table, lang).into_iter().map(|c| Value::String(c.label)).collect();
    api.clear(sheet).await.map_err(|f| (0, f))?;
    let tz = tenant.timezone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let reader_tenant = tenant.clone();
    let reader = tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        let db = reader_tenant.db()?;
        let mut batch = Batch::default();
        let stopped = || AppError::new(ErrorKind::Unavailable);
        history::rows(db, &tz, lang, &Scope::All, table, &mut |row: Vec<Cell>| {
            let row = Value::Array(row.iter().map(|c| value(c, &tz)).collect());
            let size = row.to_string().len();
            if !batch.rows.is_empty() && (batch.rows.len() >= MAX_ROWS || batch.bytes + size > MAX_BYTES) {
                tx.blocking_send(std::mem::take(&mut batch)).map_err(|_| stopped())?;
            }
            batch.bytes += size;
            batch.rows.push(row);
            Ok(())
        })?;
        if !batch.rows.is_empty() {
            tx.blocking_send(batch).map_err(|_| stopped())?;
        }
        Ok(())
    });
    let mut written: u64 = 0;
    let mut first = Some(header);
    let mut failed = None;
    while let Some(batch) = rx.recv().await {
        let n = batch.rows.len() as u64;
        let mut data = Vec::new();
        if let Some(h) = first.take() {
            data.push(json!({"range": format!("'{sheet}'!A1"), "majorDimension": "ROWS", "values": [h]}));
        }
        data.push(json!({"range": format!("'{sheet}'!A{}", written + 2), "majorDimension": "ROWS", "values": batch.rows}));
        if let Err(f) = api.write(data).await {
            failed = Some(f);
            break;
        }
        written += n;
        job.advance(n);
    }
    // The reader stops at its next row once nobody receives.
    drop(rx);
    let read = reader.await;
    if let Some(f) = failed {
        return Err((written, f));
    }
    match read {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err((written, e.into())),
        Err(e) => return Err((written, Failure::new("sheets.error.read", e.to_string()))),
    }
    if let Some(h) = first {
        // No rows: the header alone.
        let data = vec![json!({"range": format!("'{sheet}'!A1"), "majorDimension": "ROWS", "values": [h]})];
        api.write(data).await.map_err(|f| (0, f))?;
    }
    Ok(written)
}

// ---------- Google ----------

/// Access tokens by (token address, account, key): `(token, expires at ms)`.
static TOKENS: LazyLock<Mutex<HashMap<[u8; 32], Cached>>> = LazyLock::new(Default::default);

/// An access token and when it expires (ms).
type Cached = (String, i64);

/// The text at a JSON pointer (`/error/message`), if any.
fn text_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A token is used until this long before it expires.
const TOKEN_MARGIN_MS: i64 = 5 * 60_000;

/// One sync's conversation with Google.
struct Google<'a> {
    state: &'a AppState,
    http: reqwest::Client,
    account: &'a ServiceAccount,
    /// `<google_api_url>/v4/spreadsheets/<id>`.
    base: String,
    token: Option<String>,
}

impl<'a> Google<'a> {
    fn new(state: &'a AppState, account: &'a ServiceAccount, spreadsheet_id: &str) -> Result<Google<'a>, Failure> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("idora/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::new("sheets.error.unreachable", e.to_string()))?;
        let base = format!("{}/v4/spreadsheets/{spreadsheet_id}", state.config.google_api_url);
        Ok(Google { state, http, account, base, token: None })
    }

    fn cache_key(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::new()
            .chain_update(self.account.token_uri.as_bytes())
            .chain_update([0])
            .chain_update(self.account.client_email.as_bytes())
            .chain_update([0])
            .chain_update(&self.account.der)
            .finalize()
            .into()
    }

    /// A valid access token: the cached one, or a new one from `token_uri`.
    async fn token(&mut self) -> Result<String, Failure> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        let now = self.state.now_ms();
        let key = self.cache_key();
        let cached = TOKENS.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some((tok, until)) = cached
            && now < until - TOKEN_MARGIN_MS
        {
            self.token = Some(tok.clone());
            return Ok(tok);
        }
        let jwt = assertion(self.account, now.div_euclid(1000)).map_err(|e| Failure::new("sheets.error.key_unreadable", e.to_string()))?;
        let form = [("grant_type", GRANT_TYPE), ("assertion", jwt.as_str())];
        let uri = self.account.token_uri.clone();
        let (status, body) = send(&|| self.http.post(&uri).form(&form)).await.map_err(|f| Failure { key: token_key(f.key), ..f })?;
        if !status.is_success() {
            let what =
                [text_at(&body, "/error"), text_at(&body, "/error_description")].into_iter().flatten().collect::<Vec<_>>().join(": ");
            let detail = if what.is_empty() { format!("HTTP {}", status.as_u16()) } else { what };
            let key = if status.is_client_error() { "sheets.error.token_refused" } else { "sheets.error.token_failed" };
            return Err(Failure::new(key, detail));
        }
        let tok = text_at(&body, "/access_token").filter(|t| !t.is_empty()).map(str::to_string);
        let Some(tok) = tok else { return Err(Failure::new("sheets.error.token_failed", "no access_token")) };
        let expires_in = body.pointer("/expires_in").and_then(Value::as_i64).unwrap_or(3600).clamp(60, 24 * 3600);
        let mut cache = TOKENS.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (_, until)| *until > now);
        cache.insert(key, (tok.clone(), now + expires_in * 1000));
        self.token = Some(tok.clone());
        Ok(tok)
    }

    fn forget_token(&mut self) {
        self.token = None;
        TOKENS.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.cache_key());
    }

    /// A Sheets API call (`method` on `base` + `path`), tried again on 429
    /// and 5xx, and once with a new token on 401.
    async fn call(&mut self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        for fresh in [false, true] {
            let token = self.token().await?;
            let http = &self.http;
            let build = || {
                let r = http.request(method.clone(), &url).bearer_auth(&token);
                match body {
                    Some(b) => r.json(b),
                    None => r,
                }
            };
            let (status, answer) = send(&build).await?;
            if status.is_success() {
                return Ok(answer);
            }
            if status == reqwest::StatusCode::UNAUTHORIZED && !fresh {
                self.forget_token();
                continue;
            }
            return Err(api_failure(status, &answer));
        }
        Err(Failure::new("sheets.error.token_refused", "HTTP 401"))
    }

    /// Adds a sheet for each table the spreadsheet lacks.
    async fn ensure_sheets(&mut self, tables: &[HistoryTable]) -> Result<(), Failure> {
        let got = self.call(reqwest::Method::GET, "?fields=sheets.properties", None).await?;
        let titles: HashSet<&str> = got
            .pointer("/sheets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| text_at(s, "/properties/title")).collect())
            .unwrap_or_default();
        let missing: Vec<Value> =
            tables.iter().filter(|t| !titles.contains(t.key())).map(|t| json!({"addSheet": {"properties": {"title": t.key()}}})).collect();
        if !missing.is_empty() {
            self.call(reqwest::Method::POST, ":batchUpdate", Some(&json!({ "requests": missing }))).await?;
        }
        Ok(())
    }

    /// Empties a sheet's values.
    async fn clear(&mut self, sheet: &str) -> Result<(), Failure> {
        self.call(reqwest::Method::POST, &format!("/values/'{sheet}':clear"), Some(&json!({}))).await.map(|_| ())
    }

    /// Writes ranges of values (`RAW`: a text starting with `=` stays text).
    async fn write(&mut self, data: Vec<Value>) -> Result<(), Failure> {
        let body = json!({"valueInputOption": "RAW", "data": data});
        self.call(reqwest::Method::POST, "/values:batchUpdate", Some(&body)).await.map(|_| ())
    }
}

/// The token endpoint's 429 or 5xx after every try, as the token's own
/// failure (an unreachable Google stays unreachable).
fn token_key(key: &'static str) -> &'static str {
    match key {
        "sheets.error.busy" | "sheets.error.api" => "sheets.error.token_failed",
        k => k,
    }
}

/// What a Sheets API error means for the admin.
fn api_failure(status: reqwest::StatusCode, answer: &Value) -> Failure {
    let message = text_at(answer, "/error/message").unwrap_or("");
    let detail = if message.is_empty() { format!("HTTP {}", status.as_u16()) } else { format!("HTTP {}: {message}", status.as_u16()) };
    match status.as_u16() {
        401 => Failure::new("sheets.error.token_refused", detail),
        403 => Failure::new("sheets.error.not_shared", detail),
        404 => Failure::new("sheets.error.no_spreadsheet", detail),
        429 => Failure::new("sheets.error.busy", detail),
        _ => Failure::new("sheets.error.api", detail),
    }
}

/// The wait before try `n + 1` (1-based `n`): `Retry-After` when given
/// (at most a minute), else 1 s, 2 s, 4 s… with a little jitter.
fn backoff(n: u32, retry_after: Option<u64>) -> Duration {
    if let Some(s) = retry_after {
        return Duration::from_secs(s.min(MAX_RETRY_AFTER));
    }
    let base = 1000u64 << n.saturating_sub(1).min(5);
    let jitter = u64::from(crate::store::random_bytes::<1>()[0]) * base / 1024;
    Duration::from_millis(base + jitter)
}

/// Sends a request (built again for each try) until it is answered other
/// than 429 or 5xx, or [`TRIES`] tries have gone; the status and the JSON
/// answer (`null` when it is not JSON).
async fn send(build: &(dyn Fn() -> reqwest::RequestBuilder + Sync)) -> Result<(reqwest::StatusCode, Value), Failure> {
    let mut last = Failure::new("sheets.error.unreachable", "");
    for n in 1..=TRIES {
        match build().send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let answer: Value = match resp.bytes().await {
                    Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
                    Err(e) => {
                        last = Failure::new("sheets.error.unreachable", e.to_string());
                        if n < TRIES {
                            tokio::time::sleep(backoff(n, None)).await;
                        }
                        continue;
                    }
                };
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    last = api_failure(status, &answer);
                    if status.is_server_error() {
                        last.key = "sheets.error.api";
                    }
                    last.detail = format!("{} ({TRIES}×)", last.detail);
                    if n < TRIES {
                        tokio::time::sleep(backoff(n, retry_after)).await;
                    }
                    continue;
                }
                return Ok((status, answer));
            }
            Err(e) => {
                last = Failure::new("sheets.error.unreachable", without_url(&e));
                if n < TRIES {
                    tokio::time::sleep(backoff(n, None)).await;
                }
            }
        }
    }
    Err(last)
}

/// A transport error's words without its URL (whose query may say more than the admin needs).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    match e.url().and_then(|u| u.host_str().map(str::to_string)) {
        Some(host) => format!("{host}: {kind}"),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
    }

    #[test]
    fn a_service_account_key_is_read_and_checked() {
        let raw = fixture("google-service-account.json");
        let api = crate::config::GOOGLE_API_URL;
        let a = parse_key(&raw, api).unwrap();
        assert_eq!(a.client_email, "idora-sync@idora-test.iam.gserviceaccount.com");
        assert!(!format!("{a:?}").contains("BEGIN"), "the key's Debug shows no secret");
        assert_eq!(key_hint("0123456789abcdef0123"), "0123…0123");
        assert_eq!(key_hint("short"), "••••");

        let mut v: Value = serde_json::from_str(&raw).unwrap();
        let refused = |v: &Value| parse_key(&v.to_string(), api).unwrap_err().message_key.unwrap();
        assert_eq!(parse_key("not json", api).unwrap_err().field, Some(KEY_FIELD));
        v["type"] = json!("authorized_user");
        assert_eq!(refused(&v), "sheets.error.key_type");
        v["type"] = json!("service_account");
        v["client_email"] = json!("nobody");
        assert_eq!(refused(&v), "sheets.error.key_email");
        v["client_email"] = json!("a@b.iam.gserviceaccount.com");
        for other in [
            "http://oauth2.googleapis.com/token",
            "https://evil.example.com/token",
            "https://googleapis.com.evil.io/t",
            "file:///etc/passwd",
        ] {
            v["token_uri"] = json!(other);
            assert_eq!(refused(&v), "sheets.error.key_token_uri", "{other}");
        }
        // The configured API's own host (a test's fake) is allowed, not others of that machine.
        v["token_uri"] = json!("http://127.0.0.1:8931/token");
        assert!(parse_key(&v.to_string(), "http://127.0.0.1:8931").is_ok());
        assert!(parse_key(&v.to_string(), "http://127.0.0.1:8932").is_err());
        v["token_uri"] = json!("https://oauth2.googleapis.com/token");
        let good = v["private_key"].clone();
        v["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert_eq!(refused(&v), "sheets.error.key_private");
        // A PKCS#1 key is taken as well.
        v["private_key"] = json!(fixture("google-other-key.pkcs1.pem"));
        assert!(parse_key(&v.to_string(), api).is_ok());
        v["private_key"] = good;
        assert!(parse_key(&v.to_string(), api).is_ok());
    }

    #[test]
    fn a_spreadsheet_is_named_by_id_or_address() {
        let id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";
        assert_eq!(parse_spreadsheet_id(id).unwrap(), id);
        assert_eq!(parse_spreadsheet_id(&format!(" https://docs.google.com/spreadsheets/d/{id}/edit#gid=0 ")).unwrap(), id);
        assert_eq!(parse_spreadsheet_id(&format!("https://docs.google.com/spreadsheets/d/{id}")).unwrap(), id);
        for bad in ["", "short", "https://docs.google.com/spreadsheets/d//edit", "1BxiMVs0XRA5nFMdKvBdBZjg mUUqptlbs74OgvE2upms"] {
            assert_eq!(parse_spreadsheet_id(bad).unwrap_err().field, Some("spreadsheet_id"), "{bad}");
        }
    }

    #[test]
    fn schedules_and_tables_are_read() {
        assert_eq!(parse_schedule("manual").unwrap(), (SheetsEvery::Manual, 0));
        assert_eq!(parse_schedule("Hourly").unwrap(), (SheetsEvery::Hourly, 0));
        assert_eq!(parse_schedule("daily 09:30").unwrap(), (SheetsEvery::Daily, 570));
        assert_eq!(schedule_text(SheetsEvery::Daily, 570), "daily 09:30");
        for bad in ["", "weekly", "daily", "daily 25:00", "daily 24:00", "daily 9"] {
            assert_eq!(parse_schedule(bad).unwrap_err().field, Some("schedule"), "{bad}");
        }
        let t = parse_tables(&["points".into(), "tasks".into(), "points".into()]).unwrap();
        assert_eq!(t, vec![HistoryTable::Points, HistoryTable::Tasks]);
        assert_eq!(parse_tables(&[]).unwrap_err().field, Some("tables"));
        assert_eq!(parse_tables(&["salaries".into()]).unwrap_err().field, Some("tables"));
    }

    #[test]
    fn the_next_sync_is_the_next_hour_or_the_next_local_time() {
        let tz = TimeZone::get("Asia/Tashkent").unwrap();
        let ms = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        // 10:20 in Tashkent (UTC+5).
        let now = ms("2026-12-05T05:20:00Z");
        assert_eq!(next_due(SheetsEvery::Manual, 0, now, &tz), None);
        assert_eq!(next_due(SheetsEvery::Hourly, 0, now, &tz), Some(ms("2026-12-05T06:00:00Z")));
        assert_eq!(next_due(SheetsEvery::Daily, 9 * 60, now, &tz), Some(ms("2026-12-06T04:00:00Z")), "09:00 has passed today");
        assert_eq!(next_due(SheetsEvery::Daily, 18 * 60, now, &tz), Some(ms("2026-12-05T13:00:00Z")));
        // Exactly at the time: the next one.
        assert_eq!(next_due(SheetsEvery::Daily, 10 * 60 + 20, now, &tz), Some(ms("2026-12-06T05:20:00Z")));
    }

    #[test]
    fn cells_go_to_sheets_typed() {
        let tz = TimeZone::get("Asia/Tashkent").unwrap();
        assert_eq!(value(&Cell::Int(7), &tz), json!(7));
        assert_eq!(value(&Cell::Num(87.5), &tz), json!(87.5));
        assert_eq!(value(&Cell::Secs(90), &tz), json!(1.5));
        assert_eq!(value(&Cell::Text("=1+1".into()), &tz), json!("=1+1"));
        assert_eq!(value(&Cell::Empty, &tz), json!(""));
        assert_eq!(value(&Cell::Date(jiff::civil::date(2026, 12, 5)), &tz), json!("2026-12-05"));
        let ms = "2026-12-05T04:07:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert_eq!(value(&Cell::Time(ms), &tz), json!("2026-12-05 09:07"));
    }
}
