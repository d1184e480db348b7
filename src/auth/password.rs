//! Password hashing (argon2id on a few dedicated threads with a bounded
//! queue, each reusing one 7 MiB block) and the rules a new password must meet.

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

/// argon2id memory in KiB: 7 MiB, with [`PARAMS_T`] passes. OWASP lists
/// m=7 MiB/t=5 as equal in strength to argon2's default m=19 MiB/t=2; the
/// smaller block lets several hashing threads exist at 7 MiB each. One hash
/// takes about 30 ms of one core in a release build on a 2-core box (see
/// benches/RESULTS.md), so a login stays far under 0.5 s.
const PARAMS_M: u32 = 7 * 1024;
const PARAMS_T: u32 = 5;
const PARAMS_P: u32 = 1;

fn params() -> Result<Params, AppError> {
    Params::new(PARAMS_M, PARAMS_T, PARAMS_P, Some(Params::DEFAULT_OUTPUT_LEN)).map_err(|e| internal("params", e))
}

/// Most memory a stored hash may ask for: four times argon2's default
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

/// An argon2id PHC string (`$argon2id$v=19$m=7168,t=5,p=1$…`), the format
/// `Argon2::hash_password` writes, so stored hashes of either kind verify.
fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt_bytes: [u8; 16] = crate::store::random_bytes();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| internal("salt", e))?;
    let params = params()?;
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

/// Hashes that may wait for a hashing thread; more are refused with 503 and
/// `Retry-After` (a login flood costs a short queue, not memory).
pub const QUEUE: usize = 64;

/// The hashing threads: about one per core (2 to 4), each with one reused
/// block of argon2 memory ([`MEMORY`], [`PARAMS_M`], 7 MiB), taking work
/// from one bounded queue.
struct Pool {
    queue: std::sync::mpsc::SyncSender<Work>,
}

fn pool() -> Option<&'static Pool> {
    static POOL: OnceLock<Option<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 4);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Work>(QUEUE);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
                loop {
                    let work = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match work {
                        Ok(work) => work(),
                        Err(_) => break,
                    }
                }
            });
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then_some(Pool { queue: tx })
    })
    .as_ref()
}

/// Runs `f` on a hashing thread. On the runtime's blocking pool a flood of
/// logins held 19 MiB each, hundreds at once; here at most a few blocks
/// exist, reused, and a full queue is answered "busy, retry" at once.
async fn on_hasher<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    let pool = pool().ok_or_else(|| AppError::internal(anyhow::anyhow!("no hashing thread")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let work: Work = Box::new(move || {
        let _ = tx.send(f());
    });
    pool.queue.try_send(work).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => {
            metrics::counter!("idora_password_hashes_refused_total").increment(1);
            AppError::new(ErrorKind::Unavailable).with_retry_after(1).with_detail("password hashing queue full".to_string())
        }
        std::sync::mpsc::TrySendError::Disconnected(_) => AppError::internal(anyhow::anyhow!("hashing threads gone")),
    })?;
    rx.await.map_err(|_| AppError::internal(anyhow::anyhow!("hashing thread dropped the work")))
}

/// Hashes with argon2id ([`PARAMS_M`], [`PARAMS_T`]) on a hashing thread.
pub async fn hash(password: String) -> Result<String, AppError> {
    on_hasher(move || hash_blocking(&password)).await?
}

/// The outcome of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Wrong,
    Right,
    /// Right, and the stored hash uses other parameters than ours:
    /// store a fresh hash now that the password is known.
    RightRehash,
}

impl Checked {
    pub fn ok(self) -> bool {
        self != Checked::Wrong
    }
}

/// Verifies on a hashing thread. With no stored hash it still spends the
/// same work on a dummy hash, so that a login for an unknown user takes as
/// long as one for a known user.
pub async fn verify(password: String, stored: Option<String>) -> Result<Checked, AppError> {
    on_hasher(move || {
        let dummy = dummy_hash();
        let (phc, real) = match &stored {
            Some(s) => (s.as_str(), true),
            None => (dummy, false),
        };
        if !(verify_blocking(&password, phc)? && real) {
            return Ok(Checked::Wrong);
        }
        Ok(if is_current(phc) { Checked::Right } else { Checked::RightRehash })
    })
    .await?
}

/// Whether a stored hash is argon2id with our parameters.
fn is_current(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && Params::try_from(&parsed).is_ok_and(|p| p.m_cost() == PARAMS_M && p.t_cost() == PARAMS_T && p.p_cost() == PARAMS_P)
}

/// What an unknown username's password is checked against: a fixed hash
/// with our parameters (of a password nobody types), so the very first
/// unknown-name login after a start costs one hash, like a known name's,
/// rather than one more to make the dummy. A test keeps its parameters ours.
const DUMMY: &str = "$argon2id$v=19$m=7168,t=5,p=1$Fm3UhbdAX+afcsfmhMVq1Q$Gwz9y3HWuswB9mMI5928gni2d9Lsb70icf8EDA+LuFY";

fn dummy_hash() -> &'static str {
    DUMMY
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
        assert!(phc.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{phc}");
        assert!(is_current(&phc));
        assert!(verify_blocking("kassa-parol-1", &phc).unwrap());
        assert!(!verify_blocking("kassa-parol-2", &phc).unwrap());
        assert_ne!(hash_blocking("kassa-parol-1").unwrap(), phc, "a fresh salt each time");
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        assert!(is_current(DUMMY), "make a new DUMMY with hash_blocking when the parameters change");
        assert!(verify_blocking("not a real password", DUMMY).unwrap());
    }

    #[test]
    fn hashes_stored_by_the_argon2_crate_still_verify() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let stored = Argon2::default().hash_password(b"eski-parol", &salt).unwrap().to_string();
        assert!(verify_blocking("eski-parol", &stored).unwrap());
        assert!(!is_current(&stored), "argon2's default costs are upgraded on the next login");
        assert!(!verify_blocking("yangi-parol", &stored).unwrap());
        // Other costs (argon2i, fewer blocks) verify too.
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x10, params).hash_password(b"eski-parol", &salt).unwrap().to_string();
        assert!(verify_blocking("eski-parol", &other).unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_checks_is_refused_beyond_the_queue_not_queued_in_memory() {
        let phc = hash("kassa-parol-1".into()).await.unwrap();
        let checks: Vec<_> = (0..400).map(|_| tokio::spawn(verify("kassa-parol-1".into(), Some(phc.clone())))).collect();
        let (mut right, mut busy) = (0, 0);
        for c in checks {
            match c.await.unwrap() {
                Ok(Checked::Right) => right += 1,
                Err(e) if e.kind == ErrorKind::Unavailable && e.retry_after.is_some() => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(right >= QUEUE, "at least a queue's worth is checked ({right})");
        assert!(busy > 0, "the rest is refused with Retry-After ({right} checked)");
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_refused() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let huge = format!("$argon2id$v=19$m={},t=1,p=1${}$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 8 * 19 * 1024, salt.as_str());
        assert!(verify_blocking("x", &huge).is_err());
    }
}
