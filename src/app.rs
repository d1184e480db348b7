//! Application state and router assembly.

use crate::auth::tokens::Keys;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppError;
use crate::hub::Hub;
use crate::store::{Db, DbOptions, migrate};
use crate::tenancy::Registry;
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

pub struct AppInner {
    pub config: Config,
    pub platform: Db,
    pub tenants: Registry,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    pub hub: Hub,
    pub search: crate::search::Indexes,
    pub login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Public queue tickets per client address (a busy kiosk is one address).
    pub ticket_limiter: DefaultKeyedRateLimiter<IpAddr>,
    pub metrics: PrometheusHandle,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Opens the platform database and the registry of companies. Company
    /// databases are opened later, on first use.
    pub fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data_dir)?;
        let options = DbOptions { write_queue: config.write_queue };
        let platform = Db::create(&config.data_dir.join("platform.redb"), &migrate::PLATFORM, options).map_err(anyhow_err)?;
        let tenants = Registry::load(&platform, &config.data_dir, options).map_err(anyhow_err)?;
        let keys = Keys::load_or_create(&config.data_dir)?;
        let per_minute = NonZeroU32::new(config.login_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let login_limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        Ok(AppState(Arc::new(AppInner {
            config,
            platform,
            tenants,
            keys,
            clock,
            hub: Hub::default(),
            search: crate::search::Indexes::default(),
            login_limiter,
            ticket_limiter: RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN))),
            metrics: metrics_handle(),
        })))
    }

    pub fn open_default(config: Config) -> anyhow::Result<AppState> {
        AppState::open(config, Arc::new(SystemClock))
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }
}

fn anyhow_err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The process-wide Prometheus recorder, installed once.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests embedding
            // several apps); the handle still renders this one's figures.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    crate::web::router(state)
}
