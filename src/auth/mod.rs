//! Accounts and access: passwords, tokens, sessions, roles, and the login
//! endpoints and pages for platform admins and company users.

pub mod api;
pub mod pages;
pub mod password;
pub mod rbac;
pub mod session;
pub mod tokens;

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The address of the client, from the connection.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(ip))
    }
}

/// Refuses a login attempt when this address has tried too often.
pub fn check_login_rate(state: &AppState, ip: IpAddr) -> Result<(), AppError> {
    match state.login_limiter.check_key(&ip) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            metrics::counter!("idora_login_rate_limited_total").increment(1);
            Err(AppError::new(ErrorKind::RateLimited).with_retry_after(wait.as_secs().max(1)))
        }
    }
}
