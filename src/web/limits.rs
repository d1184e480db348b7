//! Per-address limits of the HTTP edge: the client's address and the login
//! and public-ticket rate limiters. They belong to the web layer (the bot
//! limits by chat, not by address), so they travel in the request's
//! extensions rather than in the shared application state.

use crate::config::Config;
use crate::error::{AppError, ErrorKind};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// The rate limiters of one running server.
pub struct Limits {
    login: DefaultKeyedRateLimiter<IpAddr>,
    /// Public queue tickets and bookings per client address (a busy kiosk is one address).
    tickets: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        let per_minute = NonZeroU32::new(config.login_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Limits {
            login: RateLimiter::keyed(Quota::per_minute(per_minute)),
            tickets: RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN))),
        }
    }

    /// Refuses a login attempt when this address has tried too often.
    pub fn check_login(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.login, ip).inspect_err(|_| metrics::counter!("idora_login_rate_limited_total").increment(1))
    }

    /// Refuses a public ticket or booking when this address has sent too many.
    pub fn check_ticket(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.tickets, ip)
    }
}

fn check(limiter: &DefaultKeyedRateLimiter<IpAddr>, ip: IpAddr) -> Result<(), AppError> {
    limiter.check_key(&ip).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        AppError::new(ErrorKind::RateLimited).with_retry_after(wait.as_secs().max(1))
    })
}

/// The address of the client, from the connection, with the server's limits.
pub struct ClientIp(pub IpAddr, pub Arc<Limits>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let limits =
            parts.extensions.get::<Arc<Limits>>().cloned().ok_or_else(|| AppError::internal(anyhow::anyhow!("no limits layer")))?;
        Ok(ClientIp(ip, limits))
    }
}
