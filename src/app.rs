//! The shared application state that every front-end (web, bot, jobs)
//! passes to the core. It holds no router, rate limiter or metrics handle:
//! those belong to the web layer.

use crate::auth::tokens::Keys;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppError;
use crate::hub::Hub;
use crate::store::{Db, migrate};
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
    /// The company bots running in this process.
    pub bots: crate::telegram::Runners,
    /// Wrong-password counters per (username, client address), in memory.
    pub logins: crate::auth::guard::Guard,
    /// Exports and syncs running in the background, with their progress.
    pub jobs: crate::reports::jobs::Jobs,
    /// Where the bytes of uploaded files live (`[files] backend`).
    pub files: Arc<dyn crate::files::backend::Backend>,
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
        let options = config.db_options();
        let platform_file = config.data_dir.join("platform.redb");
        let platform = Db::create(&platform_file, &migrate::PLATFORM, options).map_err(|e| platform_err(&platform_file, e))?;
        let tenants = Registry::load(&platform, &config.data_dir, options).map_err(|e| platform_err(&platform_file, e))?;
        let key_file = config.data_dir.join(crate::auth::tokens::SECRET_FILE);
        if !key_file.exists() && !config.new_secret {
            let companies = tenants.all().len();
            if companies > 0 {
                anyhow::bail!(
                    "{} is missing, but this data folder already has {companies} compan{}. The key signs every access token \
                     and live-stream token, and every personal calendar (iCalendar) feed link. A new key signs everyone \
                     out of the API until they sign in again or their session is renewed, closes open live streams, and \
                     breaks every calendar link handed out (each user must copy a new one). Restore secret.key from a \
                     backup, or start once with `idora serve --new-secret` to accept a new key.",
                    key_file.display(),
                    if companies == 1 { "y" } else { "ies" }
                );
            }
        }
        let keys = Keys::load_or_create(&config.data_dir)?;
        // Uploads a crash cut off left their temp files; nothing is uploading yet.
        crate::files::clean_temp(&config.data_dir);
        let files = crate::files::backend::open(&config)?;
        let search = crate::search::Indexes::new(config.search_writer_memory, std::time::Duration::from_secs(config.idle_secs));
        Ok(AppState(Arc::new(AppInner {
            config,
            platform,
            tenants,
            keys,
            clock,
            hub: Hub::default(),
            search,
            outbox: Default::default(),
            bots: Default::default(),
            jobs: Default::default(),
            logins: Default::default(),
            files,
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

/// Why the platform file stops start-up, in words for the operator.
fn platform_err(path: &std::path::Path, e: AppError) -> anyhow::Error {
    anyhow::anyhow!(
        "{} cannot be used: {}. The server cannot start without it: restore it from a backup \
         (`idora check --data {}` shows what is wrong with each file).",
        path.display(),
        crate::store::public_reason(&e),
        path.parent().map(|p| p.display().to_string()).unwrap_or_default()
    )
}
