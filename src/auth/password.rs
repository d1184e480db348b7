//! Password hashing (argon2id) and the rules a new password must meet.

use crate::error::{AppError, ErrorKind};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Checks a new password against the rules; the error names the field.
pub fn validate(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(AppError::invalid("password", "validation.password_short").with_arg("min", MIN_LEN));
    }
    if n > MAX_LEN {
        return Err(AppError::invalid("password", "validation.password_long").with_arg("max", MAX_LEN));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt_bytes: [u8; 16] = crate::store::random_bytes();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::internal(anyhow::anyhow!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("hash: {e}")))
}

/// Hashes with argon2id on a blocking thread.
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("hash task: {e}")))?
}

/// Verifies on a blocking thread. With no stored hash it still spends the
/// same work on a dummy hash, so that a login for an unknown user takes as
/// long as one for a known user.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let dummy = dummy_hash();
        let (phc, real) = match &stored {
            Some(s) => (s.as_str(), true),
            None => (dummy, false),
        };
        let parsed = PasswordHash::new(phc).map_err(|e| AppError::internal(anyhow::anyhow!("stored hash: {e}")))?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("verify task: {e}")))?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password").unwrap_or_default())
}

/// A password to show once: 14 characters from an alphabet without look-alikes.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 14] = crate::store::random_bytes();
    bytes.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

/// An error for a wrong username or password, the same for both.
pub fn invalid_credentials() -> AppError {
    AppError::new(ErrorKind::InvalidCredentials)
}
