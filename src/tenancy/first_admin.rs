//! The first platform admin of a new box.
//!
//! When `idora serve` (not the demo) starts on a platform that has no admin,
//! it creates `admin` with a random password, logs the password once (the
//! journal, under systemd) and writes it to `DATA/initial-admin-password`
//! (0600), so whoever installed the package can sign in. The first
//! successful platform-admin sign-in deletes the file: the password then
//! lives only in the memory of the person who used it.

use crate::app::AppState;
use crate::error::AppError;
use crate::store::{schema, store_err};
use redb::ReadableTableMetadata;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The file in the data folder that holds the first admin's password.
pub const PASSWORD_FILE: &str = "initial-admin-password";
/// The first admin's username.
pub const USERNAME: &str = "admin";

/// Letters and digits nobody confuses when copying from a screen
/// (no 0/o, 1/l/i).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Four groups of five: 20 characters of 31, about 99 bits.
const GROUPS: usize = 4;
const GROUP_LEN: usize = 5;

/// The first admin, as created.
pub struct Created {
    pub username: &'static str,
    pub password: String,
    /// Where the password was written; `None` when the file could not be
    /// written (the log still has it).
    pub file: Option<PathBuf>,
}

pub fn password_file(data_dir: &Path) -> PathBuf {
    data_dir.join(PASSWORD_FILE)
}

/// A random password in groups: `k7mq2-x3fzp-9wdh4-tcr8e`.
pub fn random_password() -> String {
    let mut out = String::with_capacity(GROUPS * (GROUP_LEN + 1));
    let mut taken = 0;
    while taken < GROUPS * GROUP_LEN {
        for b in crate::store::random_bytes::<32>() {
            // Bytes past the last whole multiple of the alphabet are skipped,
            // so every character is equally likely.
            let n = ALPHABET.len();
            if usize::from(b) >= 256 - 256 % n || taken == GROUPS * GROUP_LEN {
                continue;
            }
            if taken > 0 && taken % GROUP_LEN == 0 {
                out.push('-');
            }
            if let Some(&c) = ALPHABET.get(usize::from(b) % n) {
                out.push(char::from(c));
                taken += 1;
            }
        }
    }
    out
}

/// Whether the platform has at least one admin.
pub fn has_admin(state: &AppState) -> Result<bool, AppError> {
    let tx = state.platform.read()?;
    let names = match tx.open_table(schema::ADMINS_BY_NAME) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
        Err(e) => return Err(store_err(e)),
    };
    Ok(!names.is_empty().map_err(store_err)?)
}

/// On a platform with no admin: creates [`USERNAME`] with a random password,
/// writes it to [`PASSWORD_FILE`] (0600) and logs it once. Does nothing (and
/// returns `None`) when an admin exists.
pub async fn ensure(state: &AppState) -> Result<Option<Created>, AppError> {
    if has_admin(state)? {
        return Ok(None);
    }
    let password = random_password();
    crate::tenancy::service::upsert_platform_admin(&state.platform, state.now_ms(), USERNAME, password.clone()).await?;
    let path = password_file(&state.config.data_dir);
    let file = match write_private(&path, &password) {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "could not write the first admin's password to its file");
            None
        }
    };
    tracing::warn!(
        username = USERNAME,
        password = %password,
        file = file.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
        "first start: created the platform admin; sign in at /admin with this password (shown only this once; the file is deleted at the first sign-in)"
    );
    Ok(Some(Created { username: USERNAME, password, file }))
}

/// Writes `password` to a new file only its owner may read (a file left
/// from before is replaced), and syncs it.
fn write_private(path: &Path, password: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    writeln!(f, "{password}")?;
    f.sync_all()
}

/// After a platform admin signed in: the first password's file has served
/// its purpose and goes.
pub fn signed_in(data_dir: &Path) {
    let path = password_file(data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => tracing::info!(file = %path.display(), "the first admin signed in: removed the initial password's file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = %path.display(), error = %e, "could not remove the initial password's file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_grouped_readable_and_different() {
        let a = random_password();
        let b = random_password();
        assert_ne!(a, b);
        assert_eq!(a.len(), GROUPS * GROUP_LEN + GROUPS - 1, "{a}");
        assert!(a.split('-').all(|g| g.len() == GROUP_LEN && g.bytes().all(|c| ALPHABET.contains(&c))), "{a}");
        assert!(crate::auth::password::validate(&a).is_ok());
    }
}
