//! Password hashing (argon2id, on one dedicated thread) and the rules a new
//! password must meet.

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

type Work = Box<dyn FnOnce() + Send>;

/// Runs `f` on the one hashing thread. argon2id takes 19 MiB per hash; on
/// the runtime's blocking pool a burst of 16 logins held 16 of them at once.
/// One thread holds one, and hashes wait their turn (logins are
/// rate-limited anyway). What glibc keeps after freeing it is the unit
/// file's business (`MALLOC_MMAP_THRESHOLD_`).
async fn on_hasher<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    static QUEUE: OnceLock<Option<std::sync::mpsc::Sender<Work>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Work>();
        let spawned = std::thread::Builder::new().name("argon2".into()).spawn(move || {
            while let Ok(work) = rx.recv() {
                work();
            }
        });
        spawned.ok().map(|_| tx)
    });
    let queue = queue.as_ref().ok_or_else(|| AppError::internal(anyhow::anyhow!("no hashing thread")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    queue
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| AppError::internal(anyhow::anyhow!("hashing thread gone")))?;
    rx.await.map_err(|_| AppError::internal(anyhow::anyhow!("hashing thread dropped the work")))
}

/// Hashes with argon2id on the hashing thread.
pub async fn hash(password: String) -> Result<String, AppError> {
    on_hasher(move || hash_blocking(&password)).await?
}

/// Verifies on a blocking thread. With no stored hash it still spends the
/// same work on a dummy hash, so that a login for an unknown user takes as
/// long as one for a known user.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    on_hasher(move || {
        let dummy = dummy_hash();
        let (phc, real) = match &stored {
            Some(s) => (s.as_str(), true),
            None => (dummy, false),
        };
        let parsed = PasswordHash::new(phc).map_err(|e| AppError::internal(anyhow::anyhow!("stored hash: {e}")))?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password").unwrap_or_default())
}

/// A password to show once: 14 characters from an alphabet without look-alikes.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 14] = crate::store::random_bytes();
    bytes.iter().filter_map(|b| ALPHABET.get((*b as usize) % ALPHABET.len()).map(|&c| c as char)).collect()
}

/// An error for a wrong username or password, the same for both.
pub fn invalid_credentials() -> AppError {
    AppError::new(ErrorKind::InvalidCredentials)
}
