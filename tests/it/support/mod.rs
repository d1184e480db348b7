//! The one test-support module: a real server per test (a fresh data folder,
//! a free port, a clock the test moves), the JSON, page and live-stream
//! helpers every area uses, and the demo company's people and places.
//!
//! Two kinds of server: [`start`] gives an empty platform with its admin
//! (`root`), where a test creates the companies it needs; [`demo`] gives the
//! demo company (`/c/demo`, Demo Bank) as `idora demo` seeds it.

pub mod google;
mod live;
mod moto;
mod page;
pub mod telegram;

pub use live::*;
pub use moto::*;
pub use page::*;

use idora::app::AppState;
use idora::clock::{Clock, ManualClock, SystemClock};
use idora::config::Config;
use idora::i18n::{Lang, t, tf};
use idora::web::server::Running;
use jiff::SignedDuration;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub const ROOT: &str = "root";
pub const ROOT_PASSWORD: &str = "root-secret-1";
pub const ADMIN_PASSWORD: &str = "admin-secret-1";
pub const USER_PASSWORD: &str = "user-secret-1";
/// The demo company's slug; every demo account's password is `idora::demo::PASSWORD`.
pub const DEMO: &str = idora::demo::SLUG;

pub struct Server {
    pub running: Running,
    /// The clock the server reads; `manual` when the test moves it.
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
    /// An API client: no cookies, redirects shown rather than followed.
    pub http: Client,
    /// A plain browser without cookies: follows redirects.
    pub web: Client,
    pub base: String,
    _dir: tempfile::TempDir,
}

/// An empty platform with its admin, on a test clock standing at now.
pub async fn start() -> Server {
    start_with(|_| {}).await
}

/// Like [`start`], with a configuration the test may change first (rate
/// limits, body limit). Logins are not rate-limited unless the test says so.
pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let s = boot(clock.clone(), Some(clock), tweak).await;
    idora::tenancy::service::upsert_platform_admin(&s.running.state.platform, s.running.state.now_ms(), ROOT, ROOT_PASSWORD.into())
        .await
        .unwrap();
    s
}

/// The demo company on a clock the test moves.
pub async fn demo(clock: Arc<ManualClock>) -> Server {
    let s = boot(clock.clone(), Some(clock), |_| {}).await;
    idora::demo::seed(&s.running.state).await.unwrap();
    s
}

/// The demo company at `rfc3339` on a clock the test moves.
pub async fn demo_at(rfc3339: &str) -> Server {
    demo(Arc::new(ManualClock::new(rfc3339.parse().unwrap()))).await
}

/// The demo company on the system clock (time passes by itself).
pub async fn demo_on_system_clock() -> Server {
    let s = boot(Arc::new(SystemClock), None, |_| {}).await;
    idora::demo::seed(&s.running.state).await.unwrap();
    s
}

/// The demo company on a clock the test moves, with its bots talking to
/// `telegram_api` (a fake Bot API) and polling briefly.
pub async fn demo_with_telegram(rfc3339: &str, telegram_api: &str) -> Server {
    demo_with_telegram_and(rfc3339, telegram_api, |_| {}).await
}

/// [`demo_with_telegram`] with more configuration (a `public_url`).
pub async fn demo_with_telegram_and(rfc3339: &str, telegram_api: &str, tweak: impl FnOnce(&mut Config)) -> Server {
    let clock = Arc::new(ManualClock::new(rfc3339.parse().unwrap()));
    let api = telegram_api.to_string();
    let s = boot(clock.clone(), Some(clock), move |c| {
        c.telegram_api_url = api;
        c.telegram_poll_secs = 2;
        tweak(c);
    })
    .await;
    idora::demo::seed(&s.running.state).await.unwrap();
    s
}

/// A server on a data folder the test prepared in `dir` (as `dir/data`:
/// a fixture, another release's files), on a test clock standing at `at`.
pub async fn start_in(dir: tempfile::TempDir, at: jiff::Timestamp) -> Server {
    let clock = Arc::new(ManualClock::new(at));
    boot_in(dir, clock.clone(), Some(clock), |_| {}).await
}

async fn boot(clock: Arc<dyn Clock>, manual: Option<Arc<ManualClock>>, tweak: impl FnOnce(&mut Config)) -> Server {
    boot_in(tempfile::tempdir().unwrap(), clock, manual, tweak).await
}

async fn boot_in(
    dir: tempfile::TempDir,
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
    tweak: impl FnOnce(&mut Config),
) -> Server {
    let mut config =
        Config { data_dir: dir.path().join("data"), listen: "127.0.0.1:0".parse().unwrap(), login_per_minute: 10_000, ..Config::default() };
    tweak(&mut config);
    let state = AppState::open(config, clock.clone()).unwrap();
    let running = idora::web::server::start(state).await.unwrap();
    let base = running.url();
    let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Server { running, clock, manual, http, web: Client::new(), base, _dir: dir }
}

/// What a client sees of a response.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status();
        assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "the server failed (500) on {}", r.url());
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, text, body }
    }

    /// Asserts the status and returns the response.
    #[track_caller]
    pub fn check(self, status: u16) -> Resp {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an error response: status, JSON shape and stable kind.
    #[track_caller]
    pub fn refused(self, status: u16, kind: &str) -> Resp {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.kind(), kind, "unexpected error kind; body: {}", self.text);
        assert!(!self.message().is_empty(), "an error has a message: {}", self.text);
        assert!(
            self.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json")),
            "an API error is JSON: {:?}",
            self.headers
        );
        self
    }

    /// The status and the body as JSON (a string if it is not JSON, null
    /// if empty), for tests that match on both at once.
    pub fn pair(self) -> (StatusCode, Value) {
        let body = match self.body {
            Value::Null if !self.text.is_empty() && self.text != "null" => Value::String(self.text),
            body => body,
        };
        (self.status, body)
    }

    pub fn kind(&self) -> &str {
        self.body["error"]["kind"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn str(&self, key: &str) -> String {
        self.body[key].as_str().unwrap_or_else(|| panic!("no string {key} in {}", self.text)).to_string()
    }

    pub fn id(&self) -> u64 {
        self.body["id"].as_u64().unwrap_or_else(|| panic!("no id in {}", self.text))
    }

    /// The `Set-Cookie` value of cookie `name`, if the response sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.to_string())
    }
}

/// A catalogue message, as the server should say it.
pub fn msg(lang: Lang, key: &str) -> String {
    t(lang, key).to_string()
}

pub fn msg_with(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    tf(lang, key, args)
}

/// The API path of a company.
pub fn c(slug: &str, path: &str) -> String {
    format!("/c/{slug}/api/v1{path}")
}

/// One company with its first admin signed in.
pub struct Company {
    pub slug: String,
    pub admin: String,
    pub admin_refresh: String,
    pub admin_id: u64,
}

impl Company {
    pub fn path(&self, path: &str) -> String {
        c(&self.slug, path)
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The application state behind the server (for what no endpoint shows).
    pub fn state(&self) -> &AppState {
        &self.running.state
    }

    /// Stops the server gracefully and starts it again on the same data
    /// folder (on a new port).
    pub async fn restart(self) -> Server {
        self.restart_after(|_| {}).await
    }

    /// Like [`Server::restart`], doing `offline` to the data folder while
    /// the server is down (what a crash or a restored backup leaves).
    pub async fn restart_after(self, offline: impl FnOnce(&std::path::Path)) -> Server {
        let Server { running, clock, manual, http, web, _dir, .. } = self;
        let config = running.state.config.clone();
        running.shutdown().await.unwrap();
        offline(&config.data_dir);
        let state = AppState::open(config, clock.clone()).unwrap();
        let running = idora::web::server::start(state).await.unwrap();
        let base = running.url();
        Server { running, clock, manual, http, web, base, _dir }
    }

    /// The test clock; the server must run on one.
    pub fn clock(&self) -> &ManualClock {
        self.manual.as_deref().expect("this server runs on a test clock")
    }

    /// What the server takes for now.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn advance(&self, by: SignedDuration) {
        self.clock().advance(by);
    }

    /// Waits until the company's notification outbox has sent everything due.
    pub async fn outbox_sent(&self, slug: &str) {
        let state = &self.running.state;
        let tenant = state.tenants.get(slug).expect("the company exists");
        for _ in 0..500 {
            let tx = tenant.db().unwrap().read().unwrap();
            if idora::notify::outbox::next_due(&tx, state.now_ms()).unwrap() > state.now_ms() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the outbox of {slug} did not empty in 5 s");
    }

    pub async fn send(&self, req: RequestBuilder) -> Resp {
        Resp::read(req.send().await.unwrap()).await
    }

    /// A request; an empty token sends none.
    pub fn req(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        let r = self.http.request(method, self.url(path));
        if token.is_empty() { r } else { r.bearer_auth(token) }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(self.req(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(self.req(Method::POST, path, token).json(&body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(self.req(Method::PATCH, path, token).json(&body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(self.req(Method::PUT, path, token).json(&body)).await
    }

    /// One JSON round trip as a status and a value: `path` from the root,
    /// an optional bearer token and JSON body. A body that is not JSON comes
    /// back as a string, an empty one as null.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.req(method, path, token.unwrap_or(""));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await.pair()
    }

    /// The platform admin's access token.
    pub async fn root(&self) -> String {
        self.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": ROOT_PASSWORD})).await.check(200).str("access_token")
    }

    /// Creates a company through the platform API, with a known admin password.
    pub async fn create_company(&self, root: &str, slug: &str, language: &str) -> Resp {
        let body = json!({
            "name": format!("{slug} Ltd"),
            "slug": slug,
            "language": language,
            "admin_username": "boss",
            "admin_password": ADMIN_PASSWORD,
        });
        self.post("/api/v1/companies", root, body).await.check(201)
    }

    /// A company (active or not) with its admin signed in.
    pub async fn company(&self, slug: &str, active: bool) -> Company {
        let root = self.root().await;
        self.create_company(&root, slug, "en").await;
        if active {
            self.post(&format!("/api/v1/companies/{slug}/activate"), &root, json!({})).await.check(200);
        }
        let pair = self.login(slug, "boss", ADMIN_PASSWORD).await.check(200);
        let admin = pair.str("access_token");
        let admin_id = self.get(&c(slug, "/me"), &admin).await.check(200).id();
        Company { slug: slug.into(), admin, admin_refresh: pair.str("refresh_token"), admin_id }
    }

    pub async fn login(&self, slug: &str, username: &str, password: &str) -> Resp {
        self.post(&c(slug, "/auth/login"), "", json!({"username": username, "password": password})).await
    }

    /// Creates a user with `role` (and the test password); returns the id.
    pub async fn add_user(&self, co: &Company, username: &str, role: &str) -> u64 {
        let body = json!({"username": username, "full_name": format!("{username} full"), "role": role, "password": USER_PASSWORD});
        self.post(&co.path("/users"), &co.admin, body).await.check(201).id()
    }

    /// Creates a user and signs them in (the company must admit them);
    /// returns the id and the access token.
    pub async fn user(&self, co: &Company, username: &str, role: &str) -> (u64, String) {
        let id = self.add_user(co, username, role).await;
        let token = self.login(&co.slug, username, USER_PASSWORD).await.check(200).str("access_token");
        (id, token)
    }
}

/// The demo company: its accounts (`owner`, `director`, `admin`, `manager`,
/// `employee`, `operator`), branches and queue services.
impl Server {
    /// A demo account's fresh access token.
    pub async fn demo_token(&self, username: &str) -> String {
        self.login(DEMO, username, idora::demo::PASSWORD).await.check(200).str("access_token")
    }

    /// The demo accounts' ids by username.
    pub async fn demo_users(&self) -> HashMap<String, u64> {
        let admin = self.demo_token("admin").await;
        let users = self.get(&c(DEMO, "/users"), &admin).await.check(200).body;
        users.as_array().unwrap().iter().map(|u| (u["username"].as_str().unwrap().to_string(), u["id"].as_u64().unwrap())).collect()
    }

    /// A kiosk ticket of the demo company (201 expected); returns its JSON.
    pub async fn kiosk_ticket(&self, branch: u64, service: u64) -> Value {
        let body = json!({"service_id": service, "source": "kiosk"});
        let (s, v) = self.call(Method::POST, &c(DEMO, &format!("/branches/{branch}/tickets")), None, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// The demo operator signed in with `token` calls the next customer
    /// (200 expected); returns the answer.
    pub async fn call_next(&self, token: &str) -> Value {
        let (s, v) = self.call(Method::POST, &c(DEMO, "/operator/call-next"), Some(token), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// The demo branches' ids, the head office (Bosh ofis) first.
    pub async fn demo_branches(&self) -> Vec<u64> {
        let admin = self.demo_token("admin").await;
        let branches = self.get(&c(DEMO, "/branches"), &admin).await.check(200).body;
        let mut ids: Vec<u64> = branches.as_array().unwrap().iter().map(|b| b["id"].as_u64().unwrap()).collect();
        ids.sort();
        ids
    }

    /// The demo queue services' ids by their Uzbek name (Kassa, Kreditlar,
    /// Plastik kartalar, Valyuta ayirboshlash).
    pub async fn demo_services(&self) -> HashMap<String, u64> {
        let admin = self.demo_token("admin").await;
        let services = self.get(&c(DEMO, "/services"), &admin).await.check(200).body;
        services.as_array().unwrap().iter().map(|s| (s["names"]["uz"].as_str().unwrap().to_string(), s["id"].as_u64().unwrap())).collect()
    }
}
