//! Sessions: login with lock-out, refresh-token rotation with reuse
//! detection, logout. The same code serves platform admins and company users;
//! a [`Realm`] names the tables that hold the accounts.

use super::guard::Guard;
use super::password;
use super::tokens::{self, ACCESS_TTL_SECS, Claims, Keys, REFRESH_TTL_SECS};
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, AccountRecord, AccountV1, FamilyV1, RefreshV1};
use crate::store::{Db, Records, store_err};
use redb::TableDefinition;
use serde::Serialize;
use std::net::IpAddr;

#[derive(Clone, Copy)]
pub struct Realm {
    pub accounts: Records<u64, AccountRecord>,
    pub by_name: TableDefinition<'static, &'static str, u64>,
}

pub const PLATFORM_REALM: Realm = Realm { accounts: schema::ADMINS, by_name: schema::ADMINS_BY_NAME };
pub const TENANT_REALM: Realm = Realm { accounts: schema::USERS, by_name: schema::USERS_BY_NAME };

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Finds an account by username (case-insensitive).
pub fn find_by_username(db: &Db, realm: Realm, username: &str) -> Result<Option<(u64, AccountV1)>, AppError> {
    let tx = db.read()?;
    let names = tx.open_table(realm.by_name).map_err(store_err)?;
    let Some(id) = names.get(username.trim().to_lowercase().as_str()).map_err(store_err)?.map(|v| v.value()) else {
        return Ok(None);
    };
    Ok(realm.accounts.open(&tx)?.get(id)?.map(|a| (id, a)))
}

pub fn get_account(db: &Db, realm: Realm, id: u64) -> Result<Option<AccountV1>, AppError> {
    let tx = db.read()?;
    realm.accounts.open(&tx)?.get(id)
}

pub struct LoginInput<'a> {
    pub db: &'a Db,
    pub realm: Realm,
    pub keys: &'a Keys,
    pub now_ms: i64,
    /// Company slug, or [`tokens::PLATFORM`].
    pub ten: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    /// The client's address, as the front-end knows it.
    pub client: IpAddr,
    /// The server's failure counters ([`crate::app::AppInner::logins`]).
    pub guard: &'a Guard,
    /// Told when wrong passwords from many addresses have just locked an
    /// existing account everywhere: (account id, locked until ms).
    pub on_lock: &'a (dyn Fn(u64, i64) + Send + Sync),
}

/// Logs in. `may_enter` is asked after the password is right and may refuse
/// (an inactive company admits only those who set it up).
///
/// Wrong passwords count per (username, client address) in `guard`: after
/// [`super::guard::LOCK_AFTER`] that address waits, longer each time, for that name
/// only; when [`super::guard::LOCK_ADDRESSES`] addresses have been blocked the
/// name is locked everywhere and `on_lock` is told. Unknown names go the
/// same way, so no answer tells which usernames exist.
pub async fn login(
    input: LoginInput<'_>,
    may_enter: impl FnOnce(&AccountV1) -> Result<(), AppError>,
) -> Result<(u64, AccountV1, TokenPair), AppError> {
    let LoginInput { db, realm, keys, now_ms, ten, username, password, client, guard, on_lock } = input;
    let found = find_by_username(db, realm, username)?;
    let name = super::guard::name_key(ten, username);
    let epoch = super::guard::fingerprint(found.as_ref().map(|(_, a)| a.password_hash.as_str()));
    if let Err(refusal) = guard.check(&name, client, epoch, now_ms) {
        let secs = refusal.secs();
        return Err(AppError::new(ErrorKind::AccountLocked).with_retry_after(secs).with_arg("minutes", secs.div_ceil(60)));
    }
    let checked = password::verify(password.to_string(), found.as_ref().map(|(_, a)| a.password_hash.clone())).await?;
    if !checked.ok() {
        if let super::guard::Failed::AccountLocked { until } = guard.fail(&name, client, epoch, now_ms) {
            metrics::counter!("idora_accounts_locked_total").increment(1);
            tracing::warn!(realm = ten, %client, "wrong passwords from many addresses: sign-in locked everywhere");
            if let Some((id, _)) = &found {
                on_lock(*id, until);
            }
        }
        return Err(password::invalid_credentials());
    }
    let Some((id, acc)) = found else {
        return Err(password::invalid_credentials());
    };
    guard.succeed(&name, client);
    if !acc.active {
        return Err(ErrorKind::AccountInactive.into());
    }
    may_enter(&acc)?;
    // A hash with older costs is replaced now that the password is known.
    let rehashed = match checked {
        password::Checked::RightRehash => Some(password::hash(password.to_string()).await?),
        _ => None,
    };
    let refresh = tokens::opaque_token();
    let family: [u8; 16] = crate::store::random_bytes();
    let rhash = tokens::token_hash(&refresh);
    db.write(move |tx| {
        let mut t = realm.accounts.open(tx)?;
        if let Some(mut a) = t.get(id)?
            && (a.failed_logins != 0 || a.locked_until.is_some() || rehashed.is_some())
        {
            a.failed_logins = 0;
            a.locked_until = None;
            if let Some(h) = &rehashed {
                a.password_hash = h.clone();
            }
            t.insert(id, &a)?;
        }
        drop(t);
        schema::FAMILIES.open(tx)?.insert(family.as_slice(), &FamilyV1 { account_id: id, created_at: now_ms, revoked_at: None })?;
        insert_refresh(tx, &rhash, &family, id, now_ms)
    })
    .await?;
    let pair = pair(keys, id, ten, &family, refresh, now_ms)?;
    Ok((id, acc, pair))
}

fn insert_refresh(tx: &redb::WriteTransaction, hash: &[u8; 32], family: &[u8], account_id: u64, now_ms: i64) -> Result<(), AppError> {
    let rec = RefreshV1 { family: family.to_vec(), account_id, expires_at: now_ms + REFRESH_TTL_SECS * 1000, used_at: None };
    schema::REFRESH.open(tx)?.insert(hash.as_slice(), &rec)?;
    Ok(())
}

fn pair(keys: &Keys, id: u64, ten: &str, family: &[u8], refresh: String, now_ms: i64) -> Result<TokenPair, AppError> {
    let now = now_ms / 1000;
    let claims = Claims {
        sub: id,
        ten: ten.to_string(),
        sid: hex::encode(family),
        iat: now,
        exp: now + ACCESS_TTL_SECS,
        typ: "access".into(),
        topics: Vec::new(),
    };
    Ok(TokenPair { access_token: keys.sign(&claims)?, refresh_token: refresh, token_type: "Bearer", expires_in: ACCESS_TTL_SECS })
}

enum RefreshOutcome {
    Rotated { account_id: u64, family: Vec<u8> },
    Reused,
    Invalid,
}

/// How long a just-rotated refresh token may be presented again. Two
/// requests of one client that refresh at once (two tabs, an app's parallel
/// calls) both present the same token; the second gets a fresh pair of the
/// same family instead of logging the user out. Browsers have the same
/// window in `web::cookies`.
pub const REFRESH_GRACE_MS: i64 = 10_000;

/// Exchanges a refresh token for a new pair. A token presented a second time
/// (after [`REFRESH_GRACE_MS`]) revokes its whole family: whoever holds the
/// other copy is logged out too.
pub async fn refresh(db: &Db, realm: Realm, keys: &Keys, now_ms: i64, ten: &str, token: &str) -> Result<(u64, TokenPair), AppError> {
    let old = tokens::token_hash(token);
    let new_token = tokens::opaque_token();
    let new_hash = tokens::token_hash(&new_token);
    let outcome = db
        .write(move |tx| {
            let mut t = schema::REFRESH.open(tx)?;
            let Some(mut rec) = t.get(old.as_slice())? else {
                return Ok(RefreshOutcome::Invalid);
            };
            let mut fam_t = schema::FAMILIES.open(tx)?;
            let fam = fam_t.get(rec.family.as_slice())?;
            let Some(mut fam) = fam else { return Ok(RefreshOutcome::Invalid) };
            if fam.revoked_at.is_some() {
                return Ok(RefreshOutcome::Invalid);
            }
            if let Some(used) = rec.used_at {
                if now_ms >= used && now_ms - used < REFRESH_GRACE_MS && rec.expires_at > now_ms {
                    match realm.accounts.open(tx)?.get(rec.account_id)? {
                        Some(a) if a.active => {}
                        _ => return Ok(RefreshOutcome::Invalid),
                    }
                    // The concurrent twin: a fresh token of the same family.
                    // `used_at` stays, so the window is not prolonged.
                    drop(t);
                    insert_refresh(tx, &new_hash, &rec.family, rec.account_id, now_ms)?;
                    return Ok(RefreshOutcome::Rotated { account_id: rec.account_id, family: rec.family.clone() });
                }
                fam.revoked_at = Some(now_ms);
                fam_t.insert(rec.family.as_slice(), &fam)?;
                return Ok(RefreshOutcome::Reused);
            }
            if rec.expires_at <= now_ms {
                return Ok(RefreshOutcome::Invalid);
            }
            match realm.accounts.open(tx)?.get(rec.account_id)? {
                Some(a) if a.active => {}
                _ => return Ok(RefreshOutcome::Invalid),
            }
            rec.used_at = Some(now_ms);
            let family = rec.family.clone();
            let account_id = rec.account_id;
            t.insert(old.as_slice(), &rec)?;
            drop(t);
            insert_refresh(tx, &new_hash, &family, account_id, now_ms)?;
            Ok(RefreshOutcome::Rotated { account_id, family })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated { account_id, family } => Ok((account_id, pair(keys, account_id, ten, &family, new_token, now_ms)?)),
        RefreshOutcome::Reused => {
            tracing::warn!(realm = ten, "refresh token reused; session family revoked");
            Err(ErrorKind::TokenReused.into())
        }
        RefreshOutcome::Invalid => Err(ErrorKind::Unauthorized.into()),
    }
}

/// Ends the session family the refresh token belongs to. Unknown tokens are
/// ignored: logging out twice is not an error.
pub async fn logout(db: &Db, now_ms: i64, token: &str) -> Result<(), AppError> {
    let h = tokens::token_hash(token);
    db.write(move |tx| {
        let Some(rec) = schema::REFRESH.open(tx)?.get(h.as_slice())? else {
            return Ok(());
        };
        revoke_family_in(tx, &rec.family, now_ms)
    })
    .await
}

/// Ends a session family by id (hex), as the access token names it.
pub async fn revoke_family(db: &Db, now_ms: i64, sid: &str) -> Result<(), AppError> {
    let Ok(family) = hex::decode(sid) else { return Ok(()) };
    db.write(move |tx| revoke_family_in(tx, &family, now_ms)).await
}

fn revoke_family_in(tx: &redb::WriteTransaction, family: &[u8], now_ms: i64) -> Result<(), AppError> {
    let mut f = schema::FAMILIES.open(tx)?;
    let fam = f.get(family)?;
    if let Some(mut fam) = fam
        && fam.revoked_at.is_none()
    {
        fam.revoked_at = Some(now_ms);
        f.insert(family, &fam)?;
    }
    Ok(())
}

/// Ends every session of an account except `keep` (a family id in hex, the
/// session making the change); used when its password changes.
pub fn revoke_account_in(tx: &redb::WriteTransaction, account_id: u64, keep: Option<&str>, now_ms: i64) -> Result<(), AppError> {
    let keep = keep.and_then(|k| hex::decode(k).ok());
    let mut doomed = Vec::new();
    {
        let f = schema::FAMILIES.open(tx)?;
        for row in f.iter()? {
            let (k, fam) = row?;
            if fam.account_id == account_id && fam.revoked_at.is_none() && keep.as_deref() != Some(k.value()) {
                doomed.push(k.value().to_vec());
            }
        }
    }
    for family in doomed {
        revoke_family_in(tx, &family, now_ms)?;
    }
    Ok(())
}

/// Whether the session family named by an access token is still alive.
pub fn family_alive(db: &Db, sid: &str) -> Result<bool, AppError> {
    let Ok(family) = hex::decode(sid) else { return Ok(false) };
    let tx = db.read()?;
    Ok(schema::FAMILIES.open(&tx)?.get(family.as_slice())?.is_some_and(|f| f.revoked_at.is_none()))
}

/// Most rows one pruning transaction removes, so that a large backlog never
/// holds the writer for long.
const PRUNE_BATCH: usize = 2_000;

/// Removes what no login can use any more: refresh tokens past their
/// expiry, and families revoked longer ago than a refresh token lives (every
/// token of theirs has expired by then, so a reuse can no longer be seen).
/// Returns how many rows went.
pub async fn prune(db: &Db, now_ms: i64) -> Result<usize, AppError> {
    let mut removed = 0;
    loop {
        let n = db
            .write(move |tx| {
                let mut gone = 0;
                let mut t = schema::REFRESH.open(tx)?;
                let mut dead = Vec::new();
                for row in t.iter()? {
                    let (k, rec) = row?;
                    if rec.expires_at < now_ms {
                        dead.push(k.value().to_vec());
                        if dead.len() >= PRUNE_BATCH {
                            break;
                        }
                    }
                }
                for k in &dead {
                    t.remove(k.as_slice())?;
                }
                gone += dead.len();
                drop(t);
                let cutoff = now_ms - REFRESH_TTL_SECS * 1000;
                let mut f = schema::FAMILIES.open(tx)?;
                let mut dead = Vec::new();
                for row in f.iter()? {
                    let (k, fam) = row?;
                    if fam.revoked_at.is_some_and(|at| at < cutoff) {
                        dead.push(k.value().to_vec());
                        if dead.len() >= PRUNE_BATCH {
                            break;
                        }
                    }
                }
                for k in &dead {
                    f.remove(k.as_slice())?;
                }
                Ok(gone + dead.len())
            })
            .await?;
        removed += n;
        if n < PRUNE_BATCH {
            return Ok(removed);
        }
    }
}
