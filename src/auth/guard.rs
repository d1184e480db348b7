//! Who may try a password now: failure counters per (realm, username,
//! client address), so that wrong passwords from one address slow down and
//! then block that address for that name only, and an account-wide lock
//! only once [`LOCK_ADDRESSES`] addresses have each been blocked.
//!
//! Kept in memory, bounded ([`MAX_PAIRS`], [`MAX_NAMES`]), for known and
//! unknown usernames alike, keyed by the name as typed (lowercased), never
//! by account id:
//! - a failed login costs no disk write (a flood of wrong passwords neither
//!   fills the disk nor queues the company's writer);
//! - a made-up name counts, blocks and locks exactly like a real one, and
//!   after a restart both start from nothing, so no answer, from the first
//!   request on, tells which usernames exist (a stored state for real
//!   accounts only would: a locked account would still answer "locked"
//!   after a restart, a made-up name would not);
//! - a restart forgets the counters: an attacker gains a few more guesses
//!   per address each time the server restarts, which they cannot cause.
//!
//! A password change resets a name's counters: each entry carries a
//! fingerprint of the password hash it was counted against (0 for names
//! with no account), and a different one starts it over.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures in a row from one address before that address must wait.
pub const LOCK_AFTER: u32 = 5;
const LOCK_BASE_SECS: i64 = 30;
const LOCK_MAX_SECS: i64 = 3600;
/// Addresses that must each have been blocked (within [`FORGET_MS`]) before
/// the account is locked everywhere.
pub const LOCK_ADDRESSES: usize = 5;
/// The first account-wide lock; each further one doubles, up to a day.
pub const ACCOUNT_LOCK_SECS: i64 = 15 * 60;
const ACCOUNT_LOCK_MAX_SECS: i64 = 24 * 3600;
/// A pair or name without a failure for this long starts over.
const FORGET_MS: i64 = 24 * 3600 * 1000;
/// Most (name, address) pairs remembered; beyond it the stalest go first.
pub const MAX_PAIRS: usize = 50_000;
/// Most names remembered with blocked addresses or a lock.
pub const MAX_NAMES: usize = 10_000;

/// Seconds an address waits after `failures` failed logins in a row:
/// nothing before [`LOCK_AFTER`], then 30 s doubling up to an hour.
pub fn lock_secs(failures: u32) -> Option<i64> {
    if failures < LOCK_AFTER {
        return None;
    }
    let exp = (failures - LOCK_AFTER).min(16);
    Some((LOCK_BASE_SECS << exp).min(LOCK_MAX_SECS))
}

/// One realm's username: `<realm>/<lowercased name>`.
pub fn name_key(realm: &str, username: &str) -> String {
    format!("{realm}/{}", username.trim().to_lowercase())
}

/// Which password hash the counters were made against (0: no account).
pub fn fingerprint(password_hash: Option<&str>) -> u64 {
    let Some(h) = password_hash else { return 0 };
    let d = crate::auth::tokens::token_hash(h);
    let mut b = [0u8; 8];
    b.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(b).max(1)
}

#[derive(Debug, Clone, Copy)]
struct Pair {
    failures: u32,
    until: i64,
    last: i64,
    epoch: u64,
}

#[derive(Debug, Default)]
struct Name {
    /// Addresses blocked for this name, with when they last failed.
    blocked: Vec<(IpAddr, i64)>,
    locked_until: i64,
    locks: u32,
    last: i64,
    epoch: u64,
}

#[derive(Default)]
struct Inner {
    pairs: HashMap<(String, IpAddr), Pair>,
    names: HashMap<String, Name>,
}

/// The failure counters of one running server.
#[derive(Default)]
pub struct Guard {
    inner: Mutex<Inner>,
}

/// Why a login is not tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address failed too often for this name: wait this many seconds.
    Address(u64),
    /// The name is locked everywhere: wait this many seconds.
    Account(u64),
}

impl Refusal {
    pub fn secs(self) -> u64 {
        match self {
            Refusal::Address(s) | Refusal::Account(s) => s,
        }
    }
}

/// What a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    Counted,
    /// This failure locked the name everywhere, until the given time (ms).
    AccountLocked {
        until: i64,
    },
}

fn wait(until: i64, now: i64) -> u64 {
    u64::try_from(((until - now) + 999) / 1000).unwrap_or(1).max(1)
}

impl Guard {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `client` may try a password for `name` now.
    pub fn check(&self, name: &str, client: IpAddr, epoch: u64, now: i64) -> Result<(), Refusal> {
        let g = self.inner();
        if let Some(n) = g.names.get(name)
            && n.epoch == epoch
            && n.locked_until > now
        {
            return Err(Refusal::Account(wait(n.locked_until, now)));
        }
        if let Some(p) = g.pairs.get(&(name.to_string(), client))
            && p.epoch == epoch
            && p.until > now
        {
            return Err(Refusal::Address(wait(p.until, now)));
        }
        Ok(())
    }

    /// Counts a wrong password from `client` for `name`.
    pub fn fail(&self, name: &str, client: IpAddr, epoch: u64, now: i64) -> Failed {
        let mut g = self.inner();
        let key = (name.to_string(), client);
        if g.pairs.len() >= MAX_PAIRS && !g.pairs.contains_key(&key) {
            g.pairs.retain(|_, p| now - p.last < FORGET_MS);
            if g.pairs.len() >= MAX_PAIRS
                && let Some(oldest) = g.pairs.iter().min_by_key(|(_, p)| p.last).map(|(k, _)| k.clone())
            {
                g.pairs.remove(&oldest);
            }
        }
        let p = g.pairs.entry(key).or_insert(Pair { failures: 0, until: 0, last: now, epoch });
        if p.epoch != epoch || now - p.last >= FORGET_MS {
            *p = Pair { failures: 0, until: 0, last: now, epoch };
        }
        p.failures = p.failures.saturating_add(1);
        p.last = now;
        let Some(secs) = lock_secs(p.failures) else { return Failed::Counted };
        p.until = now + secs * 1000;

        // This address is blocked for this name: does that make enough?
        if g.names.len() >= MAX_NAMES && !g.names.contains_key(name) {
            g.names.retain(|_, n| now - n.last < FORGET_MS || n.locked_until > now);
            if g.names.len() >= MAX_NAMES
                && let Some(oldest) = g.names.iter().min_by_key(|(_, n)| n.last).map(|(k, _)| k.clone())
            {
                g.names.remove(&oldest);
            }
        }
        let n = g.names.entry(name.to_string()).or_default();
        if n.epoch != epoch {
            *n = Name { epoch, ..Name::default() };
        }
        n.last = now;
        n.blocked.retain(|(ip, at)| *ip != client && now - at < FORGET_MS);
        n.blocked.push((client, now));
        if n.blocked.len() < LOCK_ADDRESSES || n.locked_until > now {
            return Failed::Counted;
        }
        n.locks = n.locks.saturating_add(1);
        let secs = (ACCOUNT_LOCK_SECS << (n.locks - 1).min(16)).min(ACCOUNT_LOCK_MAX_SECS);
        n.locked_until = now + secs * 1000;
        // The next lock needs as many newly blocked addresses again.
        n.blocked.clear();
        Failed::AccountLocked { until: n.locked_until }
    }

    /// A right password from `client`: that address starts over for `name`.
    /// Other addresses' counts and an account lock stay.
    pub fn succeed(&self, name: &str, client: IpAddr) {
        let mut g = self.inner();
        g.pairs.remove(&(name.to_string(), client));
        if let Some(n) = g.names.get_mut(name) {
            n.blocked.retain(|(ip, _)| *ip != client);
        }
    }

    /// How many pairs and names are remembered (for tests and metrics).
    pub fn size(&self) -> (usize, usize) {
        let g = self.inner();
        (g.pairs.len(), g.names.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn one_address_blocks_itself_only() {
        let g = Guard::default();
        for _ in 0..LOCK_AFTER {
            assert_eq!(g.check("t/aziz", ip(1), 7, 0), Ok(()));
            assert_eq!(g.fail("t/aziz", ip(1), 7, 0), Failed::Counted);
        }
        assert_eq!(g.check("t/aziz", ip(1), 7, 1000), Err(Refusal::Address(29)));
        assert_eq!(g.check("t/aziz", ip(2), 7, 1000), Ok(()), "another address is not blocked");
        assert_eq!(g.check("t/other", ip(1), 7, 1000), Ok(()), "another name is not blocked");
        assert_eq!(g.check("t/aziz", ip(1), 8, 1000), Ok(()), "a new password starts over");
        assert_eq!(g.check("t/aziz", ip(1), 7, 30_000), Ok(()));
    }

    #[test]
    fn many_blocked_addresses_lock_the_name_once() {
        let g = Guard::default();
        let mut locked = Vec::new();
        for a in 1..=LOCK_ADDRESSES as u8 {
            for _ in 0..LOCK_AFTER {
                locked.push(g.fail("t/aziz", ip(a), 7, 0));
            }
        }
        assert_eq!(locked.iter().filter(|f| **f != Failed::Counted).count(), 1);
        assert_eq!(locked.last(), Some(&Failed::AccountLocked { until: ACCOUNT_LOCK_SECS * 1000 }));
        assert_eq!(g.check("t/aziz", ip(99), 7, 0), Err(Refusal::Account(ACCOUNT_LOCK_SECS as u64)));
        assert_eq!(g.check("t/aziz", ip(99), 7, ACCOUNT_LOCK_SECS * 1000), Ok(()));
    }

    #[test]
    fn memory_stays_bounded() {
        let g = Guard::default();
        for i in 0..(MAX_PAIRS as u32 + 100) {
            g.fail(&format!("t/n{i}"), ip(1), 0, i64::from(i));
        }
        assert!(g.size().0 <= MAX_PAIRS);
    }
}
