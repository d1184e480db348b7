//! The `idora` command.

use clap::{Parser, Subcommand};
use idora::app::AppState;
use idora::config::{Config, Overrides};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The static (musl) build's allocator. musl's own malloc takes one lock for
/// every allocation, so the server's threads queue on it; mimalloc keeps
/// per-thread heaps (benches/RESULTS.md, "The static binary"). The glibc
/// build keeps glibc's allocator.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "idora",
    about = "Tasks, client requests, an electronic queue, chat and a Telegram bot for a company, on one box (reports are coming)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// TOML configuration file (file < IDORA_* environment < flags).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data folder (default ./idora-data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed a demo company on first start and print its logins.
        #[arg(long)]
        demo: bool,
        /// With --demo: the company and its people only, without the weeks
        /// of tasks, points and today's queue (tests that start from nothing).
        #[arg(long, requires = "demo")]
        demo_bare: bool,
        /// Make a new signing key when secret.key is missing from a data
        /// folder that has companies (signs everyone's tokens and calendar
        /// links anew: the old ones stop working).
        #[arg(long)]
        new_secret: bool,
    },
    /// Manage platform admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Open every database read-only and verify it (never creating or
    /// changing a file); with --deep, also compare every index with its
    /// rows. Prints `BAD <file>: <reason>` and exits non-zero on any problem.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Verify every secondary index against its rows and list each mismatch.
        #[arg(long)]
        deep: bool,
    },
    /// Rebuild the task search index of every company (or one) from its
    /// database. Run it with the server stopped.
    Reindex {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Only this company.
        #[arg(long)]
        company: Option<String>,
    },
    /// Back up the whole box (platform, every company, their files) into one
    /// archive, while the server runs and takes writes; or check an archive.
    Backup {
        /// The archive to write (tar + zstd).
        #[arg(long, required_unless_present = "verify", conflicts_with = "verify")]
        out: Option<PathBuf>,
        /// Check an archive's manifest and checksums instead of making one.
        #[arg(long, value_name = "FILE")]
        verify: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Restore a backup into an empty data folder.
    Restore {
        /// The archive `idora backup` wrote.
        file: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Restore into a folder that is not empty (the server must be stopped).
        #[arg(long)]
        force: bool,
    },
    /// Move a company between boxes.
    Company {
        #[command(subcommand)]
        command: CompanyCommand,
    },
    /// Print the reverse proxy's map of the companies this box serves.
    Routes {
        /// Only nginx for now (a `map` block's lines).
        #[arg(long, default_value = "nginx")]
        format: String,
        /// The upstream name the proxy knows this box by (default: this box's listen address).
        #[arg(long)]
        upstream: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform admin, or set a new password for an existing one.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CompanyCommand {
    /// Write one company (database, files, settings) into an archive; the
    /// company is read-only meanwhile.
    Export {
        slug: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Add a company from an archive `company export` wrote (it keeps its
    /// slug and users; everyone signs in again).
    Import {
        file: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDORA_LOG").unwrap_or_else(|_| "info,tower_http=info".into());
    // Colours only on a terminal: the journal (and a log file) gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A panic (a bug, or redb on a damaged file; the store catches those and
    // answers the request) goes to the log as one line, not a backtrace on
    // the terminal.
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("idora: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idora: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, data, listen, demo, demo_bare, new_secret } => {
            let mut cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen })?;
            cfg.new_secret = new_secret;
            init_logs(&cfg.log_format);
            serve(cfg, demo, demo_bare).await
        }
        Command::Admin { command: AdminCommand::Create { username, password_stdin: _, config, data } } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let state = AppState::open_default(cfg)?;
            let (_, created) = idora::tenancy::service::upsert_platform_admin(&state.platform, state.now_ms(), &username, password)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            println!("{} platform admin {username}", if created { "created" } else { "updated password of" });
            Ok(())
        }
        Command::Check { config, data, deep } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            check(cfg, deep)
        }
        Command::Reindex { config, data, company } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            let state = AppState::open_default(cfg)?;
            let tenants: Vec<_> = state.tenants.all().into_iter().filter(|t| company.as_deref().is_none_or(|c| c == t.slug)).collect();
            if tenants.is_empty() {
                anyhow::bail!("no such company");
            }
            for t in tenants {
                let n = idora::search::reindex(&t, state.config.search_writer_memory).map_err(|e| anyhow::anyhow!("{}: {e}", t.slug))?;
                println!("{}: {n} tasks indexed", t.slug);
            }
            Ok(())
        }
        Command::Backup { out, verify, config, data } => match (out, verify) {
            (_, Some(file)) => idora::ops::cli::verify(file).await,
            (Some(out), None) => {
                idora::ops::cli::backup(Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?, out).await
            }
            (None, None) => anyhow::bail!("--out FILE or --verify FILE"),
        },
        Command::Restore { file, config, data, force } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            idora::ops::cli::restore(cfg, file, force).await
        }
        Command::Company { command: CompanyCommand::Export { slug, out, config, data } } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            idora::ops::cli::company_export(cfg, slug, out).await
        }
        Command::Company { command: CompanyCommand::Import { file, config, data } } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            idora::ops::cli::company_import(cfg, file).await
        }
        Command::Routes { format, upstream, config, data } => {
            let cfg = Config::load(config.as_deref(), Overrides { data_dir: data, listen: None })?;
            idora::ops::cli::routes(cfg, format, upstream).await
        }
        Command::Openapi => {
            print!("{}", idora::web::openapi::json());
            Ok(())
        }
        Command::Version => {
            println!("idora {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}

/// A validation error in plain English for the command line.
fn describe(e: &idora::error::AppError) -> String {
    let msg = e.info().message(idora::i18n::Lang::En);
    match e.field {
        Some(f) => format!("{f}: {msg}"),
        None => msg,
    }
}

async fn serve(cfg: Config, demo: bool, demo_bare: bool) -> anyhow::Result<()> {
    let clock = std::sync::Arc::new(idora::clock::DemoClock::new());
    let state = AppState::open(cfg, clock.clone())?;
    if demo && idora::demo::seed(&state).await? && !demo_bare {
        // A fresh demo gets weeks of history, so that every role's home
        // page has work on it; time is set back while it is written.
        idora::demo::seed_history_days(&state, &|t| clock.set(t), idora::demo::HISTORY_DAYS).await?;
    }
    if !demo {
        // A new box: the first platform admin, its password in the log and
        // in DATA/initial-admin-password until the first sign-in.
        idora::tenancy::first_admin::ensure(&state).await.map_err(|e| anyhow::anyhow!("creating the first admin: {}", describe(&e)))?;
    }
    let running = idora::web::server::start(state).await?;
    let mut jobs = idora::jobs::start(running.state.clone()).await?;
    // No company database is opened here: each opens on first use (a
    // request, or the jobs when its work falls due), and its search index
    // is checked then and rebuilt in the background if it lags.
    let base = match running.addr.ip().is_unspecified() {
        true => format!("http://127.0.0.1:{}", running.addr.port()),
        false => running.url(),
    };
    tracing::info!(addr = %running.addr, data = %running.state.config.data_dir.display(), "idora listening");
    if demo {
        println!("{}", idora::demo::banner(&base));
    } else {
        println!("Idora is listening on {base} (platform console: {base}/admin)");
    }
    idora::web::server::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = jobs.shutdown().await;
    running.shutdown().await?;
    Ok(())
}

/// Opens every database read-only (never creating or changing a file, so it
/// runs on a read-only copy) and reports `ok <file>` or `BAD <file>: <reason>`.
fn check(cfg: Config, deep: bool) -> anyhow::Result<()> {
    use idora::error::AppError;
    use idora::store::check::{Mismatch, verify_platform, verify_tenant};
    use idora::store::{Db, migrate, public_reason};
    let data = &cfg.data_dir;
    let platform_file = data.join("platform.redb");
    if !platform_file.exists() {
        anyhow::bail!("{} has no platform.redb: nothing to check (is --data right?)", data.display());
    }
    let mut problems = 0;
    let mut report = |name: &str, result: Result<Vec<Mismatch>, AppError>| match result {
        Ok(m) if m.is_empty() => println!("ok  {name}"),
        Ok(m) => {
            problems += m.len();
            println!("BAD {name}: {} index mismatch(es)", m.len());
            for x in m {
                println!("    {x}");
            }
        }
        Err(e) => {
            problems += 1;
            tracing::debug!(file = name, error = %e, "check failed");
            println!("BAD {name}: {}", public_reason(&e));
        }
    };
    let verify =
        |db: &Db, v: &dyn Fn(&Db) -> Result<Vec<Mismatch>, AppError>| db.ping().and_then(|()| if deep { v(db) } else { Ok(Vec::new()) });
    let platform = Db::open_read_only(&platform_file, &migrate::PLATFORM);
    report(
        "platform.redb",
        platform.as_ref().map_err(idora::error::AppError::clone_for_caller).and_then(|db| verify(db, &verify_platform)),
    );
    // The companies the platform lists, and any company folder on disk.
    let mut slugs = std::collections::BTreeSet::new();
    if let Ok(db) = &platform {
        match idora::tenancy::Registry::load(db, data, cfg.db_options()) {
            Ok(registry) => slugs.extend(registry.all().into_iter().map(|t| t.slug.clone())),
            Err(e) => report("platform.redb (companies)", Err(e)),
        }
    }
    if let Ok(dir) = std::fs::read_dir(data.join("tenants")) {
        slugs.extend(dir.filter_map(Result::ok).filter(|e| e.path().is_dir()).filter_map(|e| e.file_name().to_str().map(str::to_string)));
    }
    for slug in slugs {
        let name = format!("tenants/{slug}/data.redb");
        let db = Db::open_read_only(&data.join(&name), &migrate::TENANT);
        report(&name, db.and_then(|db| verify(&db, &verify_tenant)));
    }
    if problems > 0 {
        anyhow::bail!("{problems} problem(s) found");
    }
    Ok(())
}
