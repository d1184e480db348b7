//! The shared application state that every front-end (web, bot, jobs)
//! passes to the core. It holds no router, rate limiter or metrics handle:
//! those belong to the web layer.

use crate::auth::tokens::Keys;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppError;
use crate::hub::Hub;
use crate::store::{Db, DbOptions, migrate};
use crate::tenancy::Registry;
use std::ops::Deref;
use std::sync::Arc;

pub struct AppInner {
    pub config: Config,
    pub platform: Db,
    pub tenants: Registry,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    pub hub: Hub,
    pub search: crate::search::Indexes,
    /// The companies whose notification delivery is running.
    pub outbox: crate::notify::outbox::Outbox,
    /// Wrong-password counters per (username, client address), in memory.
    pub logins: crate::auth::guard::Guard,
}

/// Everything the core needs; cheap to clone.
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
        let options = DbOptions { write_queue: config.write_queue, cache_bytes: config.cache_bytes() };
        let platform = Db::create(&config.data_dir.join("platform.redb"), &migrate::PLATFORM, options).map_err(anyhow_err)?;
        let tenants = Registry::load(&platform, &config.data_dir, options).map_err(anyhow_err)?;
        let keys = Keys::load_or_create(&config.data_dir)?;
        let search = crate::search::Indexes::new(config.search_writer_memory);
        Ok(AppState(Arc::new(AppInner {
            config,
            platform,
            tenants,
            keys,
            clock,
            hub: Hub::default(),
            search,
            outbox: Default::default(),
            logins: Default::default(),
        })))
    }

    pub fn open_default(config: Config) -> anyhow::Result<AppState> {
        AppState::open(config, Arc::new(SystemClock))
    }

    /// A handle that does not keep the application (and its open files)
    /// alive: for background tasks that outlive a request.
    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }
}

/// See [`AppState::downgrade`].
#[derive(Clone)]
pub struct WeakState(std::sync::Weak<AppInner>);

impl WeakState {
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

fn anyhow_err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}
