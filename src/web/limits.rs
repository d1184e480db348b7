//! Per-address limits of the HTTP edge: the client's address (from
//! `X-Forwarded-For` only behind a trusted proxy), the login and
//! public-ticket rate limiters, and the cap on password checks in flight
//! per address. They belong to the web layer (the bot
//! limits by chat, not by address), so they travel in the request's
//! extensions rather than in the shared application state.

use crate::config::{Cidr, Config};
use crate::error::{AppError, ErrorKind};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

/// Password checks one client address may have queued or running at once;
/// more are refused at once (429, `Retry-After`), so that a flood from one
/// address holds at most this many places in the hashing queue and a real
/// user from another address still gets one.
pub const LOGINS_IN_FLIGHT_PER_ADDRESS: u32 = 4;

/// The rate limiters of one running server.
pub struct Limits {
    login: DefaultKeyedRateLimiter<IpAddr>,
    /// Public queue tickets and bookings per client address (a busy kiosk is one address).
    tickets: DefaultKeyedRateLimiter<IpAddr>,
    /// When each address filed its client requests of the last day.
    filings: Mutex<HashMap<IpAddr, Vec<std::time::Instant>>>,
    /// Clients' uploads, messages and ratings per address: 30, then one per 20 s.
    client_writes: DefaultKeyedRateLimiter<IpAddr>,
    /// Logins in flight per address (entries go when they reach zero).
    in_flight: Mutex<HashMap<IpAddr, u32>>,
    trusted_proxies: Vec<Cidr>,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        let per_minute = NonZeroU32::new(config.login_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Limits {
            login: RateLimiter::keyed(Quota::per_minute(per_minute)),
            tickets: RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN))),
            filings: Mutex::new(HashMap::new()),
            client_writes: RateLimiter::keyed(every(20, 30)),
            in_flight: Mutex::new(HashMap::new()),
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// A place for one password check from `ip`, held until the guard is
    /// dropped; refused when the address already has
    /// [`LOGINS_IN_FLIGHT_PER_ADDRESS`].
    pub fn login_slot(&self, ip: IpAddr) -> Result<LoginSlot<'_>, AppError> {
        let mut m = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= LOGINS_IN_FLIGHT_PER_ADDRESS {
            metrics::counter!("idora_login_in_flight_refused_total").increment(1);
            return Err(AppError::new(ErrorKind::RateLimited).with_retry_after(1));
        }
        *n += 1;
        Ok(LoginSlot { limits: self, ip })
    }

    /// The client's address: the peer's, or, when the peer is a trusted
    /// proxy, the rightmost `X-Forwarded-For` hop that is not one.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_addr(&self.trusted_proxies, peer, headers)
    }

    /// Refuses a login attempt when this address has tried too often.
    pub fn check_login(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.login, ip).inspect_err(|_| metrics::counter!("idora_login_rate_limited_total").increment(1))
    }

    /// Refuses a public ticket or booking when this address has sent too many.
    pub fn check_ticket(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.tickets, ip)
    }

    /// Refuses a client request from an address that filed
    /// [`REQUESTS_PER_10_MIN`] in the last 10 minutes or [`REQUESTS_PER_DAY`]
    /// in the last day (429 with the wait). Only filings count
    /// ([`Limits::request_filed`]): a form sent back with a mistake does not.
    pub fn check_request(&self, ip: IpAddr) -> Result<(), AppError> {
        let now = std::time::Instant::now();
        let mut m = self.filings.lock().unwrap_or_else(|e| e.into_inner());
        let Some(times) = m.get_mut(&ip) else { return Ok(()) };
        times.retain(|t| now.duration_since(*t) < DAY);
        let recent: Vec<&std::time::Instant> = times.iter().filter(|t| now.duration_since(**t) < TEN_MIN).collect();
        let wait = if recent.len() >= REQUESTS_PER_10_MIN {
            recent.first().map(|t| TEN_MIN.saturating_sub(now.duration_since(**t)))
        } else if times.len() >= REQUESTS_PER_DAY {
            times.first().map(|t| DAY.saturating_sub(now.duration_since(*t)))
        } else {
            None
        };
        if times.is_empty() {
            m.remove(&ip);
        }
        match wait {
            Some(w) => Err(AppError::new(ErrorKind::RateLimited).with_retry_after(w.as_secs().max(1))),
            None => Ok(()),
        }
    }

    /// Counts a client request filed from `ip` (a honeypot's decoy too).
    pub fn request_filed(&self, ip: IpAddr) {
        let now = std::time::Instant::now();
        let mut m = self.filings.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= FILING_ADDRESSES_MAX {
            m.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < DAY));
        }
        m.entry(ip).or_default().push(now);
    }

    /// Refuses a client's upload, message or rating from an address that
    /// sent too many.
    pub fn check_client_write(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.client_writes, ip)
    }
}

/// Client requests one address may file in 10 minutes, and in a day.
pub const REQUESTS_PER_10_MIN: usize = 5;
pub const REQUESTS_PER_DAY: usize = 20;
const TEN_MIN: std::time::Duration = std::time::Duration::from_secs(600);
const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);
/// Addresses remembered before the ones quiet for a day are dropped.
const FILING_ADDRESSES_MAX: usize = 100_000;

/// A quota of `burst` at once, then one more every `secs` seconds.
fn every(secs: u64, burst: u32) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(std::time::Duration::from_secs(secs)).map(|q| q.allow_burst(burst)).unwrap_or(Quota::per_minute(burst))
}

/// A login's place in [`Limits::login_slot`].
pub struct LoginSlot<'a> {
    limits: &'a Limits,
    ip: IpAddr,
}

impl Drop for LoginSlot<'_> {
    fn drop(&mut self) {
        let mut m = self.limits.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// See [`Limits::client_addr`]. Hops are read right to left (each proxy
/// appends the address it heard from): the first that is not a trusted
/// proxy is the client; a hop that is not an address ends the walk at the
/// last trusted one (whatever is left of it was not written by a proxy we
/// trust); when every hop is trusted, the leftmost.
pub fn client_addr(trusted: &[Cidr], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let parsed = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()));
        let Some(ip) = parsed.map(|ip| ip.to_canonical()) else { return client };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// The client's address of a request, as [`ClientIp`] and the request log
/// see it (the unspecified address when the server runs without peers).
pub fn request_client(trusted: &[Cidr], extensions: &axum::http::Extensions, headers: &HeaderMap) -> IpAddr {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    client_addr(trusted, peer, headers)
}

fn check(limiter: &DefaultKeyedRateLimiter<IpAddr>, ip: IpAddr) -> Result<(), AppError> {
    limiter.check_key(&ip).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        AppError::new(ErrorKind::RateLimited).with_retry_after(wait.as_secs().max(1))
    })
}

/// The address of the client ([`Limits::client_addr`]), with the server's limits.
pub struct ClientIp(pub IpAddr, pub Arc<Limits>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let limits =
            parts.extensions.get::<Arc<Limits>>().cloned().ok_or_else(|| AppError::internal(anyhow::anyhow!("no limits layer")))?;
        let ip = request_client(&limits.trusted_proxies, &parts.extensions, &parts.headers);
        Ok(ClientIp(ip, limits))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted: Vec<Cidr> = Cidr::parse_list("127.0.0.1, 10.0.0.0/8").unwrap();
        // Not from a proxy: the header is whatever the client wrote.
        assert_eq!(client_addr(&trusted, ip("203.0.113.9"), &xff("1.2.3.4")), ip("203.0.113.9"));
        assert_eq!(client_addr(&[], ip("127.0.0.1"), &xff("1.2.3.4")), ip("127.0.0.1"));
        // From the proxy: the rightmost hop that is not a proxy; what the client put first is not believed.
        assert_eq!(client_addr(&trusted, ip("127.0.0.1"), &xff("6.6.6.6, 198.51.100.7, 10.1.2.3")), ip("198.51.100.7"));
        assert_eq!(client_addr(&trusted, ip("::ffff:127.0.0.1"), &xff("198.51.100.7:5050")), ip("198.51.100.7"));
        // Nothing forwarded, or all proxies, or garbage.
        assert_eq!(client_addr(&trusted, ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        assert_eq!(client_addr(&trusted, ip("127.0.0.1"), &xff("10.0.0.2, 10.0.0.3")), ip("10.0.0.2"));
        assert_eq!(client_addr(&trusted, ip("127.0.0.1"), &xff("1.2.3.4, unknown, 10.0.0.3")), ip("10.0.0.3"));
    }

    #[test]
    fn an_address_has_a_few_logins_in_flight_at_most() {
        let limits = Limits::new(&Config::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let held: Vec<_> = (0..LOGINS_IN_FLIGHT_PER_ADDRESS).map(|_| limits.login_slot(a).unwrap()).collect();
        let refused = limits.login_slot(a).err().unwrap();
        assert_eq!((refused.kind, refused.retry_after), (ErrorKind::RateLimited, Some(1)));
        assert!(limits.login_slot(b).is_ok(), "another address is not held up");
        drop(held);
        assert!(limits.login_slot(a).is_ok());
        assert!(limits.in_flight.lock().unwrap().is_empty(), "no entry stays behind");
    }
}
