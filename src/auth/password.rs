//! Password hashing (argon2id, on one dedicated thread) and the rules a new
//! password must meet.

use crate::error::{AppError, ErrorKind};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
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

/// Most memory a stored hash may ask for: four times what we hash with
/// (a hash asking for more is refused, not allowed to grow the process).
const MAX_BLOCKS: usize = 4 * Params::DEFAULT_M_COST as usize;

thread_local! {
    /// argon2's working memory (19 MiB), allocated once on the hashing
    /// thread and reused by every hash. Freeing it after each hash made
    /// glibc raise its mmap threshold and keep ~200 MB of freed heap.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!("{what}: {e}"))
}

/// `out` = argon2(`password`, `salt`) with `argon`, in the reused memory.
fn hash_into(argon: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), AppError> {
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return Err(internal("stored hash", format!("asks for {blocks} memory blocks")));
    }
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let blocks = memory.get_mut(..blocks).ok_or_else(|| internal("argon2 memory", "too small"))?;
        argon.hash_password_into_with_memory(password, salt, out, blocks).map_err(|e| internal("hash", e))
    })
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), the format
/// `Argon2::hash_password` writes, so stored hashes of either kind verify.
fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt_bytes: [u8; 16] = crate::store::random_bytes();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| internal("salt", e))?;
    let params = Params::DEFAULT;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(&argon, &params, password.as_bytes(), &salt_bytes, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| internal("params", e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| internal("output", e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (compared in constant time).
fn verify_blocking(password: &str, phc: &str) -> Result<bool, AppError> {
    let parsed = PasswordHash::new(phc).map_err(|e| internal("stored hash", e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| internal("stored hash", e))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| internal("stored hash", e))?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(|e| internal("stored hash", e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(internal("stored hash", "no salt or no hash"));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(|e| internal("stored hash", e))?;
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    hash_into(&argon, &params, password.as_bytes(), salt, &mut out)?;
    let got = Output::new(&out).map_err(|e| internal("output", e))?;
    // `Output`'s equality is constant-time.
    Ok(got == expected)
}

type Work = Box<dyn FnOnce() + Send>;

/// Runs `f` on the one hashing thread. argon2id takes 19 MiB per hash; on
/// the runtime's blocking pool a burst of 16 logins held 16 of them at once.
/// One thread holds one block, reused by every hash ([`MEMORY`]), and
/// hashes wait their turn (logins are rate-limited anyway).
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
        let ok = verify_blocking(&password, phc)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use argon2::password_hash::PasswordHasher;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_blocking("kassa-parol-1").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("kassa-parol-1", &phc).unwrap());
        assert!(!verify_blocking("kassa-parol-2", &phc).unwrap());
        assert_ne!(hash_blocking("kassa-parol-1").unwrap(), phc, "a fresh salt each time");
    }

    #[test]
    fn hashes_stored_by_the_argon2_crate_still_verify() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let stored = Argon2::default().hash_password(b"eski-parol", &salt).unwrap().to_string();
        assert!(verify_blocking("eski-parol", &stored).unwrap());
        assert!(!verify_blocking("yangi-parol", &stored).unwrap());
        // Other costs (argon2i, fewer blocks) verify too.
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x10, params).hash_password(b"eski-parol", &salt).unwrap().to_string();
        assert!(verify_blocking("eski-parol", &other).unwrap());
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_refused() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let huge = format!("$argon2id$v=19$m={},t=1,p=1${}$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 8 * 19 * 1024, salt.as_str());
        assert!(verify_blocking("x", &huge).is_err());
    }
}
