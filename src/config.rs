//! Configuration: a TOML file, then `IDORA_*` environment variables, then
//! command-line flags, each overriding the one before. With nothing given
//! Idora keeps its data in `./idora-data` and listens on `127.0.0.1:8080`.

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `text` or `json`.
    pub log_format: String,
    /// Login attempts allowed per client address per minute.
    pub login_per_minute: u32,
    /// Largest request body, in bytes. A company's logo has its own smaller
    /// limit (`org::branding::MAX_LOGO_BYTES`) inside it; file uploads
    /// (`POST …/files`) are not held to it but to the company's own file
    /// limit and quota (`files::settings`).
    pub body_limit: usize,
    /// Seconds a client has to send a request's headers, counted from the
    /// request's first byte (on a new connection, from the accept: one that
    /// sends nothing is closed after this too).
    pub header_timeout_secs: u64,
    /// Seconds a kept-alive connection may stay idle between requests
    /// before it is closed.
    pub keep_alive_secs: u64,
    /// Connections held at once; by default what the file-descriptor limit
    /// allows less a margin for the data files (`web::conn::caps`).
    pub max_connections: Option<usize>,
    /// Connections held at once from one client address.
    pub max_connections_per_address: usize,
    /// Live streams (SSE, WebSocket) open at once; by default half of
    /// `max_connections`.
    pub max_live_streams: Option<usize>,
    /// Seconds before a non-streaming request is cut off.
    pub request_timeout_secs: u64,
    /// Mark cookies `Secure` (when served over HTTPS behind a proxy).
    pub secure_cookies: bool,
    /// The address customers' phones reach Idora at (`http://192.168.1.10:8080`),
    /// for the QR codes on tickets. Without it, the address the kiosk used.
    pub public_url: Option<String>,
    /// Memory of each company's search index writer, in bytes (at least
    /// tantivy's minimum for one thread, 15 MB, which is the default).
    pub search_writer_memory: usize,
    /// Writes one database file queues before answering 503 (busy, retry).
    pub write_queue: usize,
    /// Page cache of each database file (the platform's and every
    /// company's), in MiB. Memory for cached data is at most this times the
    /// number of open files; 16 keeps a thousand companies on one box.
    pub cache_mb: usize,
    /// How long a company's database writer and search-index worker
    /// threads outlive its last change, in seconds: a quiet company costs
    /// no thread (`IDORA_IDLE_SECS`).
    pub idle_secs: u64,
    /// How often an open live stream (WebSocket, SSE) re-checks its
    /// holder's session, account, permissions and company, in ms. Streams
    /// close within this of a logout; tests shorten it.
    pub live_recheck_ms: u64,
    /// How long a company's notification outbox gathers a burst before it
    /// delivers, in ms (`IDORA_NOTIFY_BATCH_MS`).
    pub notify_batch_ms: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or
    /// CIDR blocks). A request from one of them is from the rightmost
    /// address in that header that is not itself a trusted proxy; from
    /// anyone else the header is ignored. Empty: always the peer address.
    pub trusted_proxies: Vec<Cidr>,
    /// Start even though `secret.key` is missing from a data folder that
    /// has companies, making a new key (`serve --new-secret`; never from a
    /// file or the environment).
    pub new_secret: bool,
    /// Where uploaded files are kept (`[files]`).
    pub files: FilesBackend,
    /// The Telegram Bot API the company bots talk to
    /// (`IDORA_TELEGRAM_API_URL`); tests point it at a fake one.
    pub telegram_api_url: String,
    /// How long one long poll for a bot's updates waits, in seconds.
    pub telegram_poll_secs: u32,
    /// Most messages one bot sends a second (Telegram's limit is 30).
    pub telegram_per_second: u32,
    /// The Google Sheets API a company's Sheets export writes to
    /// (`IDORA_GOOGLE_API_URL`); tests point it at a fake one. The token
    /// endpoint is the service account key's own `token_uri`.
    pub google_api_url: String,
    /// Scheduled backups (`[backup]`); none without the section.
    pub backup: Option<BackupConfig>,
}

/// `[backup]`: a backup of the whole box every day at a time of day, into
/// a folder or an S3-compatible bucket, the newest `keep` kept.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupConfig {
    /// Hour and minute, in `timezone`.
    pub at: (u8, u8),
    /// An IANA time zone (`Asia/Tashkent`); UTC by default.
    pub timezone: String,
    pub target: BackupTarget,
    /// Archives kept there (older ones are deleted after a successful backup).
    pub keep: usize,
}

/// Where scheduled backups go.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupTarget {
    Dir(PathBuf),
    /// A bucket (the `[files]` S3 keys), archives under `prefix`.
    S3 {
        s3: S3Config,
        prefix: String,
    },
}

/// `[backup]` of the file.
#[derive(Debug, Default, Deserialize)]
pub struct BackupFile {
    /// `"02:30"`.
    pub at: Option<String>,
    pub timezone: Option<String>,
    pub dir: Option<PathBuf>,
    pub keep: Option<usize>,
    /// Key prefix in the bucket (`"box1/"`).
    pub prefix: Option<String>,
    #[serde(flatten)]
    pub s3: S3File,
}

impl BackupFile {
    fn into_config(self) -> anyhow::Result<BackupConfig> {
        let at = self.at.as_deref().unwrap_or("02:30");
        let bad_at = || anyhow::anyhow!("[backup] at = {at:?}: a time of day like \"02:30\" is expected");
        let (h, m) = at.trim().split_once(':').ok_or_else(bad_at)?;
        let (h, m) = (h.parse::<u8>().map_err(|_| bad_at())?, m.parse::<u8>().map_err(|_| bad_at())?);
        if h > 23 || m > 59 {
            return Err(bad_at());
        }
        let timezone = self.timezone.unwrap_or_else(|| "UTC".into());
        jiff::tz::TimeZone::get(&timezone).map_err(|_| anyhow::anyhow!("[backup] timezone = {timezone:?} is not a time zone"))?;
        let target = match (self.dir, self.s3.bucket) {
            (Some(dir), None) => BackupTarget::Dir(dir),
            (None, Some(bucket)) if !bucket.trim().is_empty() => BackupTarget::S3 {
                s3: S3Config {
                    bucket,
                    endpoint: self.s3.endpoint,
                    region: self.s3.region.unwrap_or_else(default_region),
                    allow_http: self.s3.allow_http.unwrap_or(false),
                    access_key_id: self.s3.access_key_id,
                    secret_access_key: self.s3.secret_access_key,
                },
                prefix: self.prefix.unwrap_or_default(),
            },
            (Some(_), Some(_)) => anyhow::bail!("[backup] names both a dir and a bucket: choose one"),
            _ => anyhow::bail!("[backup] needs a dir (a folder) or a bucket (S3)"),
        };
        let keep = self.keep.unwrap_or(7);
        if keep == 0 {
            anyhow::bail!("[backup] keep must be at least 1");
        }
        Ok(BackupConfig { at: (h, m), timezone, target, keep })
    }
}

/// The storage of uploaded files.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum FilesBackend {
    /// `<data>/tenants/<slug>/files/`.
    #[default]
    Disk,
    /// An S3-compatible bucket; objects `<slug>/<sha256>`.
    S3(S3Config),
}

/// Where the S3 backend keeps files.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// `http://127.0.0.1:9000` for MinIO; none for AWS itself.
    pub endpoint: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    /// Allow a plain-HTTP endpoint (a bucket on the LAN).
    #[serde(default)]
    pub allow_http: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// A secret from the configuration: never shown by `Debug` (nor logged).
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"…\"")
    }
}

/// `[files]` of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesFile {
    /// `disk` (the default) or `s3`.
    pub backend: Option<String>,
    #[serde(flatten)]
    pub s3: S3File,
}

/// The S3 keys of `[files]`, all optional (the environment may give them).
#[derive(Debug, Default, Deserialize)]
pub struct S3File {
    pub bucket: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// An address block, `10.0.0.0/8` or `::1/128`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// A comma- or space-separated list (`IDORA_TRUSTED_PROXIES`).
    pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
        s.split([',', ' ']).filter(|p| !p.trim().is_empty()).map(|p| p.trim().parse()).collect()
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("not an address or address block: {s:?}");
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, n)) => (ip, Some(n.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr = ip.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// [`Config::cache_mb`] in bytes, for `DbOptions::cache_bytes`.
    pub fn cache_bytes(&self) -> usize {
        self.cache_mb.saturating_mul(1024 * 1024)
    }

    /// How every database file is run.
    pub fn db_options(&self) -> crate::store::DbOptions {
        crate::store::DbOptions {
            write_queue: self.write_queue,
            cache_bytes: self.cache_bytes(),
            writer_idle: std::time::Duration::from_secs(self.idle_secs),
        }
    }
}

/// The real Bot API.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// The real Google Sheets API.
pub const GOOGLE_API_URL: &str = "https://sheets.googleapis.com";

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("idora-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: "text".into(),
            login_per_minute: 20,
            body_limit: 1024 * 1024,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            keep_alive_secs: 60,
            max_connections: None,
            max_connections_per_address: 256,
            max_live_streams: None,
            secure_cookies: false,
            public_url: None,
            search_writer_memory: crate::search::WRITER_MEMORY_MIN,
            write_queue: crate::store::WRITE_QUEUE,
            cache_mb: 16,
            idle_secs: 30,
            live_recheck_ms: 30_000,
            notify_batch_ms: 50,
            trusted_proxies: Vec::new(),
            new_secret: false,
            files: FilesBackend::Disk,
            telegram_api_url: TELEGRAM_API_URL.into(),
            telegram_poll_secs: 25,
            telegram_per_second: 30,
            google_api_url: GOOGLE_API_URL.into(),
            backup: None,
        }
    }
}

/// The file's shape: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub log_format: Option<String>,
    pub login_per_minute: Option<u32>,
    pub body_limit: Option<usize>,
    /// Obsolete and ignored: nothing uploads more than a logo, which fits in
    /// `body_limit`. Still read so that config files written for earlier
    /// versions (the .deb keeps the admin's file) go on loading.
    pub upload_limit: Option<serde::de::IgnoredAny>,
    pub request_timeout_secs: Option<u64>,
    pub header_timeout_secs: Option<u64>,
    pub keep_alive_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    pub max_live_streams: Option<usize>,
    pub secure_cookies: Option<bool>,
    pub public_url: Option<String>,
    pub search_writer_memory: Option<usize>,
    pub write_queue: Option<usize>,
    pub cache_mb: Option<usize>,
    pub idle_secs: Option<u64>,
    pub notify_batch_ms: Option<u64>,
    pub trusted_proxies: Option<Vec<Cidr>>,
    pub files: Option<FilesFile>,
    pub telegram_api_url: Option<String>,
    pub telegram_poll_secs: Option<u32>,
    pub telegram_per_second: Option<u32>,
    pub google_api_url: Option<String>,
    pub backup: Option<BackupFile>,
}

/// What flags (or, through clap, the environment) said.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Builds the configuration from a file (if any), the environment, and flags.
    pub fn load(file: Option<&Path>, flags: Overrides) -> anyhow::Result<Config> {
        let mut c = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
            let mut f: FileConfig = toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
            if let Some(b) = f.backup.take() {
                c.backup = Some(b.into_config().map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?);
            }
            c.apply_file(f);
        }
        c.apply_env(|k| std::env::var(k).ok())?;
        if let Some(d) = flags.data_dir {
            c.data_dir = d;
        }
        if let Some(l) = flags.listen {
            c.listen = l;
        }
        Ok(c)
    }

    fn apply_file(&mut self, f: FileConfig) {
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if let Some(v) = f.log_format {
            self.log_format = v;
        }
        if let Some(v) = f.login_per_minute {
            self.login_per_minute = v;
        }
        if let Some(v) = f.body_limit {
            self.body_limit = v;
        }
        if let Some(v) = f.request_timeout_secs {
            self.request_timeout_secs = v;
        }
        if let Some(v) = f.header_timeout_secs {
            self.header_timeout_secs = v.max(1);
        }
        if let Some(v) = f.keep_alive_secs {
            self.keep_alive_secs = v.max(1);
        }
        if let Some(v) = f.max_connections {
            self.max_connections = Some(v);
        }
        if let Some(v) = f.max_connections_per_address {
            self.max_connections_per_address = v;
        }
        if let Some(v) = f.max_live_streams {
            self.max_live_streams = Some(v);
        }
        if let Some(v) = f.secure_cookies {
            self.secure_cookies = v;
        }
        if let Some(v) = f.public_url {
            self.public_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = f.search_writer_memory {
            self.search_writer_memory = v;
        }
        if let Some(v) = f.write_queue {
            self.write_queue = v.max(1);
        }
        if let Some(v) = f.cache_mb {
            self.cache_mb = v;
        }
        if let Some(v) = f.idle_secs {
            self.idle_secs = v.max(1);
        }
        if let Some(v) = f.notify_batch_ms {
            self.notify_batch_ms = v;
        }
        if let Some(v) = f.trusted_proxies {
            self.trusted_proxies = v;
        }
        if let Some(v) = f.telegram_api_url {
            self.telegram_api_url = v.trim_end_matches('/').to_string();
        }
        if let Some(v) = f.telegram_poll_secs {
            self.telegram_poll_secs = v.clamp(1, 50);
        }
        if let Some(v) = f.telegram_per_second {
            self.telegram_per_second = v.max(1);
        }
        if let Some(v) = f.google_api_url {
            self.google_api_url = v.trim_end_matches('/').to_string();
        }
        if let Some(files) = f.files {
            self.files_from(files.backend, files.s3);
        }
    }

    /// Applies `[files]` (or its `IDORA_FILES_*`/`IDORA_S3_*` variables):
    /// a backend named, then the S3 keys given over what was there.
    fn files_from(&mut self, backend: Option<String>, s3: S3File) {
        match backend.as_deref().map(str::trim) {
            Some("s3") if !matches!(self.files, FilesBackend::S3(_)) => {
                self.files = FilesBackend::S3(S3Config { region: default_region(), ..Default::default() })
            }
            Some("s3") | None => {}
            Some(_) => self.files = FilesBackend::Disk,
        }
        if let FilesBackend::S3(c) = &mut self.files {
            if let Some(v) = s3.bucket {
                c.bucket = v;
            }
            if let Some(v) = s3.endpoint {
                c.endpoint = Some(v);
            }
            if let Some(v) = s3.region {
                c.region = v;
            }
            if let Some(v) = s3.allow_http {
                c.allow_http = v;
            }
            if let Some(v) = s3.access_key_id {
                c.access_key_id = Some(v);
            }
            if let Some(v) = s3.secret_access_key {
                c.secret_access_key = Some(v);
            }
        }
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> anyhow::Result<T> {
            v.parse().map_err(|_| anyhow::anyhow!("{key}: cannot read {v:?}"))
        }
        if let Some(v) = get("IDORA_DATA") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("IDORA_LISTEN") {
            self.listen = parse("IDORA_LISTEN", v)?;
        }
        if let Some(v) = get("IDORA_PUBLIC_URL") {
            self.public_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = get("IDORA_TELEGRAM_API_URL") {
            self.telegram_api_url = v.trim_end_matches('/').to_string();
        }
        if let Some(v) = get("IDORA_GOOGLE_API_URL") {
            self.google_api_url = v.trim_end_matches('/').to_string();
        }
        if let Some(v) = get("IDORA_TELEGRAM_POLL_SECS") {
            self.telegram_poll_secs = parse::<u32>("IDORA_TELEGRAM_POLL_SECS", v)?.clamp(1, 50);
        }
        if let Some(v) = get("IDORA_TELEGRAM_PER_SECOND") {
            self.telegram_per_second = parse::<u32>("IDORA_TELEGRAM_PER_SECOND", v)?.max(1);
        }
        if let Some(v) = get("IDORA_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = get("IDORA_LOGIN_PER_MINUTE") {
            self.login_per_minute = parse("IDORA_LOGIN_PER_MINUTE", v)?;
        }
        if let Some(v) = get("IDORA_SECURE_COOKIES") {
            self.secure_cookies = parse("IDORA_SECURE_COOKIES", v)?;
        }
        if let Some(v) = get("IDORA_SEARCH_WRITER_MEMORY") {
            self.search_writer_memory = parse("IDORA_SEARCH_WRITER_MEMORY", v)?;
        }
        if let Some(v) = get("IDORA_NOTIFY_BATCH_MS") {
            self.notify_batch_ms = parse("IDORA_NOTIFY_BATCH_MS", v)?;
        }
        if let Some(v) = get("IDORA_TRUSTED_PROXIES") {
            self.trusted_proxies = Cidr::parse_list(&v).map_err(|e| anyhow::anyhow!("IDORA_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(v) = get("IDORA_HEADER_TIMEOUT_SECS") {
            self.header_timeout_secs = parse::<u64>("IDORA_HEADER_TIMEOUT_SECS", v)?.max(1);
        }
        if let Some(v) = get("IDORA_KEEP_ALIVE_SECS") {
            self.keep_alive_secs = parse::<u64>("IDORA_KEEP_ALIVE_SECS", v)?.max(1);
        }
        if let Some(v) = get("IDORA_MAX_CONNECTIONS") {
            self.max_connections = Some(parse("IDORA_MAX_CONNECTIONS", v)?);
        }
        if let Some(v) = get("IDORA_MAX_CONNECTIONS_PER_ADDRESS") {
            self.max_connections_per_address = parse("IDORA_MAX_CONNECTIONS_PER_ADDRESS", v)?;
        }
        if let Some(v) = get("IDORA_MAX_LIVE_STREAMS") {
            self.max_live_streams = Some(parse("IDORA_MAX_LIVE_STREAMS", v)?);
        }
        if let Some(v) = get("IDORA_CACHE_MB") {
            self.cache_mb = parse("IDORA_CACHE_MB", v)?;
        }
        if let Some(v) = get("IDORA_IDLE_SECS") {
            self.idle_secs = parse::<u64>("IDORA_IDLE_SECS", v)?.max(1);
        }
        let backend = get("IDORA_FILES_BACKEND");
        if let Some(b) = &backend
            && !matches!(b.trim(), "disk" | "s3")
        {
            anyhow::bail!("IDORA_FILES_BACKEND: {b:?} is neither disk nor s3");
        }
        let allow_http = get("IDORA_S3_ALLOW_HTTP").map(|v| parse::<bool>("IDORA_S3_ALLOW_HTTP", v)).transpose()?;
        let s3 = S3File {
            bucket: get("IDORA_S3_BUCKET"),
            endpoint: get("IDORA_S3_ENDPOINT"),
            region: get("IDORA_S3_REGION"),
            allow_http,
            access_key_id: get("IDORA_S3_ACCESS_KEY_ID"),
            secret_access_key: get("IDORA_S3_SECRET_ACCESS_KEY").map(Secret::new),
        };
        self.files_from(backend, s3);
        if let FilesBackend::S3(c) = &self.files
            && c.bucket.trim().is_empty()
        {
            anyhow::bail!("[files] backend = \"s3\" needs a bucket (IDORA_S3_BUCKET)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_then_flags() {
        let mut c = Config::default();
        c.apply_file(FileConfig {
            data_dir: Some("/from-file".into()),
            listen: Some("0.0.0.0:1".parse().unwrap()),
            login_per_minute: Some(3),
            ..Default::default()
        });
        c.apply_env(|k| (k == "IDORA_LISTEN").then(|| "0.0.0.0:2".to_string())).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from-file"));
        assert_eq!(c.listen.port(), 2);
        assert_eq!(c.login_per_minute, 3);
        assert!(c.apply_env(|k| (k == "IDORA_LISTEN").then(|| "nonsense".to_string())).is_err());
    }

    /// The config the .deb installs is one this version reads.
    #[test]
    fn packaged_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/idora.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let f: FileConfig = toml::from_str(&text).unwrap();
        let mut c = Config::default();
        c.apply_file(f);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/idora"));
        assert_eq!(c.listen.port(), 8080);
        assert_eq!(c.cache_mb, 16);
    }

    /// `upload_limit` is gone (nothing uploads beyond the logo, which has its
    /// own limit under `body_limit`), but a file that still sets it loads.
    #[test]
    fn an_old_upload_limit_is_read_and_ignored() {
        let mut c = Config::default();
        c.apply_file(toml::from_str("upload_limit = 10485760\nbody_limit = 2048").unwrap());
        assert_eq!(c.body_limit, 2048);
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/idora.toml")).unwrap();
        assert!(!text.contains("upload_limit"), "the packaged config no longer names it");
        const { assert!(crate::org::branding::MAX_LOGO_BYTES * 2 <= 1024 * 1024, "a logo fits the default body limit, form and all") };
        assert_eq!(Config::default().body_limit, 1024 * 1024);
    }

    #[test]
    fn trusted_proxies_from_file_and_env() {
        let mut c = Config::default();
        assert!(c.trusted_proxies.is_empty());
        c.apply_file(toml::from_str(r#"trusted_proxies = ["10.0.0.0/8", "::1"]"#).unwrap());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(c.trusted_proxies[0].contains(ip("10.20.30.40")));
        assert!(!c.trusted_proxies[0].contains(ip("11.0.0.1")));
        assert!(c.trusted_proxies[1].contains(ip("::1")));
        assert!(!c.trusted_proxies[1].contains(ip("127.0.0.1")));
        c.apply_env(|k| (k == "IDORA_TRUSTED_PROXIES").then(|| "127.0.0.1, 192.168.1.0/24".to_string())).unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(c.trusted_proxies[0].contains(ip("::ffff:127.0.0.1")), "an IPv4-mapped peer is the IPv4 address");
        assert!(c.trusted_proxies[1].contains(ip("192.168.1.77")) && !c.trusted_proxies[1].contains(ip("192.168.2.1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        assert!(c.apply_env(|k| (k == "IDORA_TRUSTED_PROXIES").then(|| "10.0.0.0/33".to_string())).is_err());
        assert!(toml::from_str::<FileConfig>(r#"trusted_proxies = ["proxy.lan"]"#).is_err());
    }

    #[test]
    fn keep_alive_and_header_timeout_from_file_and_env() {
        let mut c = Config::default();
        assert_eq!((c.header_timeout_secs, c.keep_alive_secs), (10, 60));
        c.apply_file(toml::from_str("keep_alive_secs = 30\nheader_timeout_secs = 5").unwrap());
        assert_eq!((c.header_timeout_secs, c.keep_alive_secs), (5, 30));
        c.apply_env(|k| (k == "IDORA_KEEP_ALIVE_SECS").then(|| "0".to_string())).unwrap();
        assert_eq!(c.keep_alive_secs, 1, "at least a second");
        assert!(c.apply_env(|k| (k == "IDORA_KEEP_ALIVE_SECS").then(|| "long".to_string())).is_err());
    }

    #[test]
    fn files_backend_from_file_and_env() {
        let mut c = Config::default();
        assert_eq!(c.files, FilesBackend::Disk);
        let text = "[files]\nbackend = \"s3\"\nbucket = \"idora\"\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\nsecret_access_key = \"top-secret\"";
        c.apply_file(toml::from_str(text).unwrap());
        c.apply_env(|k| (k == "IDORA_S3_ACCESS_KEY_ID").then(|| "AKIA1".to_string())).unwrap();
        let FilesBackend::S3(s3) = &c.files else { panic!("s3 expected: {:?}", c.files) };
        assert_eq!((s3.bucket.as_str(), s3.region.as_str(), s3.allow_http), ("idora", "us-east-1", true));
        assert_eq!(s3.access_key_id.as_deref(), Some("AKIA1"));
        assert_eq!(s3.secret_access_key.as_ref().map(Secret::expose), Some("top-secret"));
        assert!(!format!("{c:?}").contains("top-secret"), "the secret is never shown");
        assert!(Config::default().apply_env(|k| (k == "IDORA_FILES_BACKEND").then(|| "s3".to_string())).is_err(), "s3 needs a bucket");
        assert!(Config::default().apply_env(|k| (k == "IDORA_FILES_BACKEND").then(|| "ftp".to_string())).is_err());
    }

    #[test]
    fn backup_schedule_from_file() {
        let read = |text: &str| toml::from_str::<FileConfig>(text).unwrap().backup.unwrap().into_config();
        let b = read("[backup]\ndir = \"/var/lib/idora/backups\"").unwrap();
        assert_eq!((b.at, b.timezone.as_str(), b.keep), ((2, 30), "UTC", 7));
        assert_eq!(b.target, BackupTarget::Dir("/var/lib/idora/backups".into()));
        let b = read("[backup]\nat = \"23:05\"\ntimezone = \"Asia/Tashkent\"\nkeep = 3\nbucket = \"bk\"\nendpoint = \"http://127.0.0.1:9\"\nallow_http = true\nprefix = \"box1/\"").unwrap();
        let BackupTarget::S3 { s3, prefix } = &b.target else { panic!("s3 expected") };
        assert_eq!((s3.bucket.as_str(), s3.allow_http, prefix.as_str(), b.keep, b.at), ("bk", true, "box1/", 3, (23, 5)));
        for bad in [
            "at = \"25:00\"\ndir = \"/x\"",
            "timezone = \"Mars/Base\"\ndir = \"/x\"",
            "keep = 0\ndir = \"/x\"",
            "at = \"02:30\"",
            "dir = \"/x\"\nbucket = \"b\"",
        ] {
            assert!(read(&format!("[backup]\n{bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_size_from_file_and_env() {
        let mut c = Config::default();
        assert_eq!(c.cache_bytes(), 16 * 1024 * 1024);
        c.apply_file(toml::from_str("cache_mb = 8").unwrap());
        assert_eq!(c.cache_bytes(), 8 * 1024 * 1024);
        c.apply_env(|k| (k == "IDORA_CACHE_MB").then(|| "4".to_string())).unwrap();
        assert_eq!(c.cache_mb, 4);
        assert!(c.apply_env(|k| (k == "IDORA_CACHE_MB").then(|| "lots".to_string())).is_err());
    }
}
