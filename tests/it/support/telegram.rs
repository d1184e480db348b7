//! A fake Telegram Bot API server for the bots' tests: one per test, on a
//! free port on 127.0.0.1, speaking the real wire protocol (JSON,
//! urlencoded and multipart bodies, query strings; `{"ok":true,"result":…}`
//! or `{"ok":false,"error_code":N,"description":…,"parameters":…}`), so the
//! production code talks to it through teloxide as it would to Telegram.
//!
//! The test plays the people: [`FakeTelegram::text`], [`FakeTelegram::press`]
//! and the others queue updates a `getUpdates` long-poll receives at once;
//! [`FakeTelegram::sent`], [`FakeTelegram::wait_for`] and
//! [`FakeTelegram::message`] show what the bot put in the chats.
//!
//! What it checks as Telegram does (so a bug shows here, not in production):
//! unknown or revoked tokens (401), chats the user never opened ("chat not
//! found"), blocked users (403), throttling (429 + retry_after), empty or too
//! long texts and captions, `parse_mode` HTML / MarkdownV2 / Markdown (bad
//! markup: "can't parse entities"; the stored text is what the user sees, the
//! markup stripped), inline buttons (callback_data 1–64 bytes, one action),
//! edits of missing, foreign or unchanged messages, answering a callback query
//! twice, bot command names, `getFile` of files over 20 MB, `getUpdates` while
//! a webhook is set (409) and two pollers at once (the older gets 409).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// What a bot may upload (the Bot API's 50 MB) and download (`getFile`: 20 MB).
const MAX_UPLOAD: usize = 50 << 20;
const MAX_DOWNLOAD: usize = 20 << 20;

/// The descriptions Telegram answers with (teloxide maps most of them to an `ApiError`).
pub const BLOCKED: &str = "Forbidden: bot was blocked by the user";
pub const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
pub const EDIT_NOT_FOUND: &str = "Bad Request: message to edit not found";
pub const WEBHOOK_CONFLICT: &str =
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
pub const TERMINATED: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";

/// A fake Bot API server; dropping the last clone stops it.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
    _server: Arc<ServerTask>,
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Inner {
    bots: Mutex<HashMap<String, BotState>>,
    /// Woken on every change: an update queued, a poll started or ended, a send.
    changed: Notify,
    addr: SocketAddr,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, BotState>> {
        self.bots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A Telegram user (the chat with the bot is private: chat id == user id).
#[derive(Clone, Debug)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str, lang: &str) -> TgUser {
        TgUser { id, first_name: first_name.into(), username: None, language_code: (!lang.is_empty()).then(|| lang.to_string()) }
    }

    fn json(&self) -> Value {
        let mut u = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(n) = &self.username {
            u["username"] = json!(n);
        }
        if let Some(l) = &self.language_code {
            u["language_code"] = json!(l);
        }
        u
    }

    fn chat(&self) -> Value {
        let mut c = json!({"id": self.id, "first_name": self.first_name, "type": "private"});
        if let Some(n) = &self.username {
            c["username"] = json!(n);
        }
        c
    }
}

/// One call the bot made that put something in a chat (a send or an edit).
#[derive(Clone, Debug)]
pub struct Sent {
    /// sendMessage, sendPhoto, sendDocument, sendVoice, editMessageText,
    /// editMessageCaption, editMessageReplyMarkup.
    pub method: String,
    pub chat_id: i64,
    /// The message it created or edited.
    pub message_id: i64,
    /// The text or caption as the user sees it (markup of `parse_mode`
    /// stripped, entities decoded; "" if none). After an
    /// editMessageReplyMarkup: the message's text as it is.
    pub text: String,
    /// As the bot sent it (inline_keyboard, keyboard, remove_keyboard…).
    pub reply_markup: Option<Value>,
    /// Every parameter as JSON (form and multipart fields parsed; files as
    /// `{"name","size"}`; a file sent by id stays its id).
    pub params: Value,
    /// The file's name and bytes (uploaded, or the stored file a file_id names).
    pub file: Option<(String, Vec<u8>)>,
}

#[derive(Clone)]
struct StoredFile {
    unique_id: String,
    path: String,
    name: String,
    bytes: Vec<u8>,
}

struct Msg {
    json: Value,
    by_bot: bool,
    /// The bot's message as it is now.
    now: Option<Sent>,
}

struct ChatState {
    user: TgUser,
    next_id: i64,
    messages: BTreeMap<i64, Msg>,
}

struct QueuedUpdate {
    id: u32,
    kind: &'static str,
    json: Value,
}

struct BotState {
    id: i64,
    username: String,
    revoked: bool,
    blocked: HashSet<i64>,
    throttle: Option<(usize, u32)>,
    updates: VecDeque<QueuedUpdate>,
    next_update: u32,
    allowed: Option<Vec<String>>,
    chats: HashMap<i64, ChatState>,
    files: HashMap<String, StoredFile>,
    next_file: u64,
    sent: Vec<Sent>,
    answers: Vec<Value>,
    calls: Vec<(String, Value)>,
    webhook: Option<Value>,
    polls: usize,
    poll_gen: u64,
    queries: HashMap<String, bool>,
    next_query: u64,
    commands: HashMap<(String, String), Value>,
    descriptions: HashMap<(&'static str, String), String>,
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl FakeTelegram {
    /// A fake on a free port on 127.0.0.1.
    pub async fn start() -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner { bots: Mutex::new(HashMap::new()), changed: Notify::new(), addr });
        let app = Router::new()
            .route("/file/{bot}/{*path}", any(download))
            .route("/{bot}/{method}", any(api))
            .fallback(|| async { fail(Fail::new(404, "Not Found")) })
            .layer(DefaultBodyLimit::max(MAX_UPLOAD + (1 << 20)))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { inner, _server: Arc::new(ServerTask(task)) }
    }

    /// The API base, e.g. `http://127.0.0.1:41234` (teloxide's `set_api_url`).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Reads a bot's state (waking nobody: the waits below read in a loop).
    fn with<R>(&self, token: &str, f: impl FnOnce(&mut BotState) -> R) -> R {
        let mut bots = self.inner.lock();
        let bot = bots.get_mut(token).unwrap_or_else(|| panic!("the fake Telegram has no bot {token:?}: add_bot first"));
        f(bot)
    }

    /// Changes a bot's state and wakes the long-polls and waits.
    fn change<R>(&self, token: &str, f: impl FnOnce(&mut BotState) -> R) -> R {
        let r = self.with(token, f);
        self.inner.changed.notify_waiters();
        r
    }

    /// A bot: getMe answers for this token (its id is the token's number
    /// before ':' when there is one); unknown tokens get 401.
    pub fn add_bot(&self, token: &str, username: &str) {
        let mut bots = self.inner.lock();
        let n = bots.len() as i64;
        let id = token.split(':').next().and_then(|s| s.parse().ok()).unwrap_or(7_000_000_000 + n);
        bots.insert(
            token.to_string(),
            BotState {
                id,
                username: username.to_string(),
                revoked: false,
                blocked: HashSet::new(),
                throttle: None,
                updates: VecDeque::new(),
                next_update: 1,
                allowed: None,
                chats: HashMap::new(),
                files: HashMap::new(),
                next_file: 1,
                sent: Vec::new(),
                answers: Vec::new(),
                calls: Vec::new(),
                webhook: None,
                polls: 0,
                poll_gen: 0,
                queries: HashMap::new(),
                next_query: 1,
                commands: HashMap::new(),
                descriptions: HashMap::new(),
            },
        );
    }

    /// Every later call with this token answers 401 Unauthorized (a
    /// waiting long-poll too).
    pub fn revoke(&self, token: &str) {
        self.change(token, |b| b.revoked = true);
    }

    /// Sends and edits to that chat answer 403 "Forbidden: bot was blocked by the user".
    pub fn block(&self, token: &str, chat_id: i64) {
        self.change(token, |b| b.blocked.insert(chat_id));
    }

    /// The user unblocked the bot (not in the brief's interface; an extra).
    pub fn unblock(&self, token: &str, chat_id: i64) {
        self.change(token, |b| b.blocked.remove(&chat_id));
    }

    /// The next `calls` send*/edit* calls (sendChatAction too) answer 429
    /// with `parameters.retry_after`; other methods pass.
    pub fn throttle(&self, token: &str, calls: usize, retry_after: u32) {
        self.change(token, |b| b.throttle = (calls > 0).then_some((calls, retry_after)));
    }

    /// The person opened their chat with the bot some time ago (its
    /// updates long consumed): the bot may write to them. No update queued.
    /// (The benches' many users.)
    #[allow(dead_code)]
    pub fn open_chat(&self, token: &str, from: &TgUser) {
        self.change(token, |b| {
            b.chats.entry(from.id).or_insert_with(|| ChatState { user: from.clone(), next_id: 1, messages: BTreeMap::new() });
        })
    }

    fn user_message(&self, token: &str, from: &TgUser, reply_to: Option<i64>, content: Value) -> i64 {
        self.change(token, |b| {
            let chat = b.chats.entry(from.id).or_insert_with(|| ChatState { user: from.clone(), next_id: 1, messages: BTreeMap::new() });
            chat.user = from.clone();
            let id = chat.next_id;
            chat.next_id += 1;
            let mut m = json!({"message_id": id, "from": from.json(), "chat": from.chat(), "date": now_secs()});
            if let Some(r) = reply_to {
                let to = chat.messages.get(&r).unwrap_or_else(|| panic!("no message {r} in the chat with {}", from.id));
                m["reply_to_message"] = shallow(&to.json);
            }
            if let (Value::Object(m), Value::Object(c)) = (&mut m, content) {
                m.extend(c);
            }
            chat.messages.insert(id, Msg { json: m.clone(), by_bot: false, now: None });
            b.push_update("message", m);
            id
        })
    }

    /// The person writes `text` in their chat with the bot; the new message's id.
    pub fn text(&self, token: &str, from: &TgUser, text: &str) -> i64 {
        self.user_message(token, from, None, json!({"text": text}))
    }

    /// The person replies to a message (`reply_to_message` is that message as stored).
    pub fn reply(&self, token: &str, from: &TgUser, to_message_id: i64, text: &str) -> i64 {
        self.user_message(token, from, Some(to_message_id), json!({"text": text}))
    }

    /// A photo: a thumbnail and the full size (the last, with `bytes`), both
    /// stored for getFile; a caption when not empty.
    pub fn photo(&self, token: &str, from: &TgUser, reply_to: Option<i64>, bytes: &[u8], caption: &str) -> i64 {
        let sizes = self.with(token, |b| b.photo_sizes(bytes));
        let mut content = json!({"photo": sizes});
        if !caption.is_empty() {
            content["caption"] = json!(caption);
        }
        self.user_message(token, from, reply_to, content)
    }

    pub fn document(&self, token: &str, from: &TgUser, reply_to: Option<i64>, name: &str, mime: &str, bytes: &[u8]) -> i64 {
        let doc = self.with(token, |b| {
            let mut d = b.store_file("documents", name, bytes.to_vec());
            d["file_name"] = json!(name);
            d["mime_type"] = json!(mime);
            d
        });
        self.user_message(token, from, reply_to, json!({"document": doc}))
    }

    /// A voice message (audio/ogg, a duration of a second per 2 KB).
    pub fn voice(&self, token: &str, from: &TgUser, reply_to: Option<i64>, bytes: &[u8]) -> i64 {
        let voice = self.with(token, |b| {
            let mut v = b.store_file("voice", "voice.oga", bytes.to_vec());
            v["duration"] = json!((bytes.len() / 2048).max(1));
            v["mime_type"] = json!("audio/ogg");
            v
        });
        self.user_message(token, from, reply_to, json!({"voice": voice}))
    }

    /// The person shares their own contact (`user_id` = their id).
    pub fn contact(&self, token: &str, from: &TgUser, phone: &str) -> i64 {
        let contact = json!({"phone_number": phone, "first_name": from.first_name, "user_id": from.id});
        self.user_message(token, from, None, json!({"contact": contact}))
    }

    /// The person presses an inline button of the bot's message; the query id.
    pub fn press(&self, token: &str, from: &TgUser, message_id: i64, data: &str) -> String {
        self.change(token, |b| {
            let chat = b.chats.get(&from.id).unwrap_or_else(|| panic!("{} has no chat with the bot", from.id));
            let msg = chat.messages.get(&message_id).unwrap_or_else(|| panic!("no message {message_id} in the chat with {}", from.id));
            assert!(msg.by_bot, "message {message_id} is the user's own: buttons are on the bot's messages");
            let message = msg.json.clone();
            let id = format!("{}{:06}", b.id, b.next_query);
            b.next_query += 1;
            b.queries.insert(id.clone(), false);
            let q = json!({"id": id, "from": from.json(), "message": message, "chat_instance": format!("-{}", from.id), "data": data});
            b.push_update("callback_query", q);
            id
        })
    }

    /// Every send and edit of this bot, in order.
    pub fn sent(&self, token: &str) -> Vec<Sent> {
        self.with(token, |b| b.sent.clone())
    }

    pub fn sent_to(&self, token: &str, chat_id: i64) -> Vec<Sent> {
        self.with(token, |b| b.sent.iter().filter(|s| s.chat_id == chat_id).cloned().collect())
    }

    /// The first send or edit to the chat (of all so far, then of those to
    /// come) that `what` accepts; panics after `timeout` with everything
    /// sent to that chat.
    pub async fn wait_for(&self, token: &str, chat_id: i64, what: impl Fn(&Sent) -> bool, timeout: Duration) -> Sent {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let sent = self.sent_to(token, chat_id);
            if let Some(s) = sent.iter().find(|s| what(s)) {
                return s.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let all: Vec<String> =
                    sent.iter().map(|s| format!("  {} #{}: {:?} markup {:?}", s.method, s.message_id, s.text, s.reply_markup)).collect();
                panic!("the bot sent nothing expected to chat {chat_id} in {timeout:?}; it sent:\n{}", all.join("\n"));
            }
        }
    }

    /// The bot's message as it is now (after edits): `method` and `params`
    /// of the last call that changed it, `reply_markup` its inline keyboard;
    /// None for a message the bot did not send (or none at all).
    pub fn message(&self, token: &str, chat_id: i64, message_id: i64) -> Option<Sent> {
        self.with(token, |b| b.chats.get(&chat_id)?.messages.get(&message_id)?.now.clone())
    }

    /// The parameters of each accepted answerCallbackQuery, in order.
    pub fn answers(&self, token: &str) -> Vec<Value> {
        self.with(token, |b| b.answers.clone())
    }

    /// The parameters of every call of `method` (case-insensitive) that passed
    /// the token check, refused ones included, in order.
    pub fn calls(&self, token: &str, method: &str) -> Vec<Value> {
        self.with(token, |b| b.calls.iter().filter(|(m, _)| m.eq_ignore_ascii_case(method)).map(|(_, p)| p.clone()).collect())
    }

    /// Whether a getUpdates long-poll with this token is waiting now.
    pub fn polling(&self, token: &str) -> bool {
        self.with(token, |b| b.polls > 0)
    }

    /// Until a bot starts (`true`) or stops (`false`) polling; panics after `timeout`.
    pub async fn wait_polling(&self, token: &str, polling: bool, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.polling(token) == polling {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the bot {} polling in {timeout:?}", if polling { "did not start" } else { "did not stop" });
            }
        }
    }

    /// Updates queued and not yet confirmed by an offset.
    pub fn pending_updates(&self, token: &str) -> usize {
        self.with(token, |b| b.updates.len())
    }
}

impl BotState {
    fn push_update(&mut self, kind: &'static str, payload: Value) {
        let id = self.next_update;
        self.next_update += 1;
        let mut json = json!({"update_id": id});
        json[kind] = payload;
        self.updates.push_back(QueuedUpdate { id, kind, json });
    }

    fn me(&self) -> Value {
        json!({
            "id": self.id, "is_bot": true, "first_name": self.username, "username": self.username,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false,
        })
    }

    fn bot_user(&self) -> Value {
        json!({"id": self.id, "is_bot": true, "first_name": self.username, "username": self.username})
    }

    /// Stores a file for getFile and download; its `file_id`, `file_unique_id`, `file_size`.
    fn store_file(&mut self, dir: &str, name: &str, bytes: Vec<u8>) -> Value {
        let n = self.next_file;
        self.next_file += 1;
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .filter(|e| !e.is_empty() && e.len() <= 8)
            .unwrap_or_else(|| "bin".into());
        let id = format!("F{}-{dir}-{n:05}", self.id);
        let unique_id = format!("U{}{n:05}", self.id % 100_000);
        let size = bytes.len();
        let path = format!("{dir}/file_{n}.{ext}");
        self.files.insert(id.clone(), StoredFile { unique_id: unique_id.clone(), path, name: name.to_string(), bytes });
        json!({"file_id": id, "file_unique_id": unique_id, "file_size": size})
    }

    /// A photo's sizes: a thumbnail (other, smaller bytes) when the photo is
    /// over 1 KB, and the full size last.
    fn photo_sizes(&mut self, bytes: &[u8]) -> Value {
        let (w, h) = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_dimensions().ok())
            .unwrap_or((1280, 960));
        let mut sizes = Vec::new();
        if bytes.len() > 1024 {
            let mut thumb = b"thumbnail of a photo: ".to_vec();
            thumb.extend(bytes.iter().take(256));
            let scale = |x: u32| (x * 90 / w.max(h).max(1)).max(1);
            let mut t = self.store_file("photos", "thumb.jpg", thumb);
            t["width"] = json!(scale(w));
            t["height"] = json!(scale(h));
            sizes.push(t);
        }
        let mut full = self.store_file("photos", "photo.jpg", bytes.to_vec());
        full["width"] = json!(w);
        full["height"] = json!(h);
        sizes.push(full);
        Value::Array(sizes)
    }

    fn deliverable(&mut self, limit: usize) -> Vec<Value> {
        let allowed = self.allowed.clone().filter(|a| !a.is_empty());
        let ok = |kind: &str| match &allowed {
            Some(a) => a.iter().any(|k| k == kind),
            None => !matches!(kind, "chat_member" | "message_reaction" | "message_reaction_count"),
        };
        // Telegram does not make updates of kinds the bot did not ask for.
        self.updates.retain(|u| ok(u.kind));
        self.updates.iter().take(limit).map(|u| u.json.clone()).collect()
    }
}

/// A message as a `reply_to_message` (Telegram nests one level only).
fn shallow(m: &Value) -> Value {
    let mut m = m.clone();
    if let Value::Object(o) = &mut m {
        o.remove("reply_to_message");
    }
    m
}

// ---- the wire ----

struct Fail {
    code: u16,
    description: String,
    retry_after: Option<u32>,
}

impl Fail {
    fn new(code: u16, description: impl Into<String>) -> Fail {
        Fail { code, description: description.into(), retry_after: None }
    }
}

fn bad(what: &str) -> Fail {
    Fail::new(400, format!("Bad Request: {what}"))
}

fn fail(f: Fail) -> Response {
    let mut body = json!({"ok": false, "error_code": f.code, "description": f.description});
    if let Some(s) = f.retry_after {
        body["parameters"] = json!({"retry_after": s});
    }
    (StatusCode::from_u16(f.code).unwrap_or(StatusCode::BAD_REQUEST), axum::Json(body)).into_response()
}

fn answer(r: Result<Value, Fail>) -> Response {
    match r {
        Ok(v) => axum::Json(json!({"ok": true, "result": v})).into_response(),
        Err(f) => fail(f),
    }
}

struct Upload {
    name: String,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Params {
    map: Map<String, Value>,
    /// Files by the parameter that names them (`photo`, `document`…).
    files: HashMap<String, Upload>,
}

/// Parameters whose Bot API type is a string: a form value stays a string
/// even when it reads as a number.
const STRINGS: &[&str] = &[
    "text",
    "caption",
    "data",
    "description",
    "short_description",
    "secret_token",
    "callback_query_id",
    "url",
    "language_code",
    "parse_mode",
    "inline_message_id",
    "file_id",
    "ip_address",
    "business_connection_id",
    "action",
    "title",
    "phone_number",
    "first_name",
    "last_name",
    "emoji",
    "name",
    "query",
    "message_effect_id",
];

impl Params {
    fn set_text(&mut self, key: &str, value: &str) {
        let v = if STRINGS.contains(&key) {
            json!(value)
        } else {
            serde_json::from_str::<Value>(value).ok().filter(|v| !v.is_string()).unwrap_or_else(|| json!(value))
        };
        self.map.insert(key.to_string(), v);
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn str(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            v => Some(v.to_string()),
        }
    }

    fn i64(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Bool(true))) || self.str(key).is_some_and(|s| s == "true")
    }

    /// A JSON parameter (an object or array sent as JSON, or as a JSON string in a form).
    fn json(&self, key: &str) -> Option<Value> {
        match self.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            v => Some(v.clone()),
        }
    }
}

async fn read_params(req: Request) -> Result<Params, Fail> {
    let mut p = Params::default();
    if let Some(q) = req.uri().query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            p.set_text(&k, &v);
        }
    }
    let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let too_large = |status: StatusCode, what: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE { Fail::new(413, "Request Entity Too Large") } else { bad(&what) }
    };
    if ctype.starts_with("multipart/form-data") {
        let mut raw: HashMap<String, (Option<String>, Vec<u8>)> = HashMap::new();
        let mut mp = Multipart::from_request(req, &()).await.map_err(|e| too_large(e.status(), e.body_text()))?;
        while let Some(field) = mp.next_field().await.map_err(|e| too_large(e.status(), e.body_text()))? {
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.map_err(|e| too_large(e.status(), e.body_text()))?;
            if file_name.is_none() {
                p.set_text(&name, &String::from_utf8_lossy(&bytes));
            }
            raw.insert(name, (file_name, bytes.to_vec()));
        }
        // attach://<part> names a part; a file part may also be the parameter itself.
        let keys: Vec<String> = p.map.keys().cloned().collect();
        for k in keys {
            let Some(part) = p.map.get(&k).and_then(Value::as_str).and_then(|s| s.strip_prefix("attach://")).map(str::to_string) else {
                continue;
            };
            let (name, bytes) = raw.remove(&part).ok_or_else(|| bad(&format!("file of field {k} not found")))?;
            p.map.remove(&part);
            p.files.insert(k, Upload { name: name.unwrap_or_else(|| "file".into()), bytes });
        }
        for (k, (name, bytes)) in raw {
            if let Some(name) = name {
                p.files.insert(k, Upload { name, bytes });
            }
        }
        for (k, f) in &p.files {
            p.map.insert(k.clone(), json!({"name": f.name, "size": f.bytes.len()}));
        }
    } else {
        let body = Bytes::from_request(req, &()).await.map_err(|e| too_large(e.status(), e.body_text()))?;
        if !body.is_empty() {
            if ctype.starts_with("application/json") {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(o)) => p.map.extend(o),
                    _ => return Err(bad("can't parse JSON object")),
                }
            } else {
                for (k, v) in form_urlencoded::parse(&body) {
                    p.set_text(&k, &v);
                }
            }
        }
    }
    Ok(p)
}

async fn api(State(inner): State<Arc<Inner>>, Path((bot, method)): Path<(String, String)>, req: Request) -> Response {
    let Some(token) = bot.strip_prefix("bot").map(str::to_string) else {
        return fail(Fail::new(404, "Not Found"));
    };
    let params = match read_params(req).await {
        Ok(p) => p,
        Err(f) => return fail(f),
    };
    if method.eq_ignore_ascii_case("getUpdates") {
        return get_updates(inner, token, params).await;
    }
    let r = {
        let mut bots = inner.lock();
        match bots.get_mut(&token).filter(|b| !b.revoked) {
            None => Err(Fail::new(401, "Unauthorized")),
            Some(b) => {
                b.calls.push((method.clone(), Value::Object(params.map.clone())));
                b.call(&method, &params)
            }
        }
    };
    inner.changed.notify_waiters();
    answer(r)
}

async fn download(State(inner): State<Arc<Inner>>, Path((bot, path)): Path<(String, String)>) -> Response {
    let bots = inner.lock();
    let Some(b) = bot.strip_prefix("bot").and_then(|t| bots.get(t)).filter(|b| !b.revoked) else {
        return fail(Fail::new(401, "Unauthorized"));
    };
    match b.files.values().find(|f| f.path == path) {
        Some(f) if f.bytes.len() <= MAX_DOWNLOAD => ([(header::CONTENT_TYPE, "application/octet-stream")], f.bytes.clone()).into_response(),
        _ => fail(Fail::new(404, "Not Found")),
    }
}

/// Counts a waiting long-poll while its request lives (a client that hangs
/// up drops it).
struct PollGuard {
    inner: Arc<Inner>,
    token: String,
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if let Some(b) = self.inner.lock().get_mut(&self.token) {
            b.polls = b.polls.saturating_sub(1);
        }
        self.inner.changed.notify_waiters();
    }
}

async fn get_updates(inner: Arc<Inner>, token: String, p: Params) -> Response {
    let limit = p.i64("limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p.i64("timeout").unwrap_or(0).clamp(0, 3600) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let generation = {
        let mut bots = inner.lock();
        let Some(b) = bots.get_mut(&token).filter(|b| !b.revoked) else {
            return fail(Fail::new(401, "Unauthorized"));
        };
        b.calls.push(("getUpdates".into(), Value::Object(p.map.clone())));
        if b.webhook.is_some() {
            return fail(Fail::new(409, WEBHOOK_CONFLICT));
        }
        if let Some(a) = p.json("allowed_updates") {
            b.allowed = Some(a.as_array().map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default());
        }
        match p.i64("offset").unwrap_or(0) {
            0 => {}
            o if o > 0 => b.updates.retain(|u| i64::from(u.id) >= o),
            o => {
                let keep = o.unsigned_abs() as usize;
                while b.updates.len() > keep {
                    b.updates.pop_front();
                }
            }
        }
        b.poll_gen += 1;
        b.polls += 1;
        b.poll_gen
    };
    let _guard = PollGuard { inner: inner.clone(), token: token.clone() };
    inner.changed.notify_waiters();
    loop {
        let notified = inner.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut bots = inner.lock();
            let Some(b) = bots.get_mut(&token).filter(|b| !b.revoked) else {
                return fail(Fail::new(401, "Unauthorized"));
            };
            if b.poll_gen != generation {
                return fail(Fail::new(409, TERMINATED));
            }
            let batch = b.deliverable(limit);
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                return answer(Ok(Value::Array(batch)));
            }
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

// ---- the methods ----

#[derive(Clone, Copy, PartialEq)]
enum Media {
    Photo,
    Document,
    Voice,
}

impl BotState {
    fn call(&mut self, method: &str, p: &Params) -> Result<Value, Fail> {
        let m = method.to_ascii_lowercase();
        if (m.starts_with("send") || m.starts_with("edit"))
            && let Some((n, secs)) = self.throttle
        {
            self.throttle = (n > 1).then_some((n - 1, secs));
            return Err(Fail { code: 429, description: format!("Too Many Requests: retry after {secs}"), retry_after: Some(secs) });
        }
        match m.as_str() {
            "getme" => Ok(self.me()),
            "sendmessage" => self.send_message(p),
            "sendphoto" => self.send_media(Media::Photo, p),
            "senddocument" => self.send_media(Media::Document, p),
            "sendvoice" => self.send_media(Media::Voice, p),
            "sendchataction" => {
                self.target_chat(p)?;
                const ACTIONS: &[&str] = &[
                    "typing",
                    "upload_photo",
                    "record_video",
                    "upload_video",
                    "record_voice",
                    "upload_voice",
                    "upload_document",
                    "choose_sticker",
                    "find_location",
                    "record_video_note",
                    "upload_video_note",
                ];
                match p.str("action") {
                    Some(a) if ACTIONS.contains(&a.as_str()) => Ok(json!(true)),
                    _ => Err(bad("wrong parameter action in request")),
                }
            }
            "editmessagetext" => self.edit("editMessageText", p),
            "editmessagecaption" => self.edit("editMessageCaption", p),
            "editmessagereplymarkup" => self.edit("editMessageReplyMarkup", p),
            "answercallbackquery" => {
                let id = p.str("callback_query_id").unwrap_or_default();
                match self.queries.get_mut(&id) {
                    Some(answered @ false) => {
                        *answered = true;
                        if p.str("text").is_some_and(|t| t.chars().count() > 200) {
                            return Err(bad("MESSAGE_TOO_LONG"));
                        }
                        self.answers.push(Value::Object(p.map.clone()));
                        Ok(json!(true))
                    }
                    _ => Err(bad("query is too old and response timeout expired or query id is invalid")),
                }
            }
            "setmycommands" => {
                let commands = p.json("commands").filter(Value::is_array).ok_or_else(|| bad("can't parse commands JSON object"))?;
                for c in commands.as_array().into_iter().flatten() {
                    let name = c["command"].as_str().unwrap_or("");
                    let description = c["description"].as_str().unwrap_or("");
                    let name_ok = (1..=32).contains(&name.len())
                        && name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
                    if !name_ok || description.trim().is_empty() || description.chars().count() > 256 {
                        return Err(bad("BOT_COMMAND_INVALID"));
                    }
                }
                let key = self.commands_key(p)?;
                self.commands.insert(key, commands);
                Ok(json!(true))
            }
            "deletemycommands" => {
                let key = self.commands_key(p)?;
                self.commands.remove(&key);
                Ok(json!(true))
            }
            "getmycommands" => {
                let key = self.commands_key(p)?;
                Ok(self.commands.get(&key).cloned().unwrap_or_else(|| json!([])))
            }
            "setmydescription" => self.set_description("description", 512, p),
            "setmyshortdescription" => self.set_description("short_description", 120, p),
            "getmydescription" | "getmyshortdescription" => {
                let field = if m == "getmydescription" { "description" } else { "short_description" };
                let lang = p.str("language_code").unwrap_or_default();
                let text = self.descriptions.get(&(field, lang)).cloned().unwrap_or_default();
                let mut r = json!({});
                r[field] = json!(text);
                Ok(r)
            }
            "setwebhook" => {
                let url = p.str("url").unwrap_or_default();
                if p.bool("drop_pending_updates") {
                    self.updates.clear();
                }
                if url.is_empty() {
                    self.webhook = None;
                    return Ok(json!(true));
                }
                let Some(rest) = url.strip_prefix("https://") else {
                    return Err(bad("bad webhook: HTTPS url must be provided for webhook"));
                };
                let host = rest.split('/').next().unwrap_or("");
                let port = host.rsplit_once(':').map(|(_, p)| p).unwrap_or("443");
                if !["80", "88", "443", "8443"].contains(&port) {
                    return Err(bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"));
                }
                self.webhook = Some(Value::Object(p.map.clone()));
                Ok(json!(true))
            }
            "deletewebhook" => {
                if p.bool("drop_pending_updates") {
                    self.updates.clear();
                }
                self.webhook = None;
                Ok(json!(true))
            }
            "getwebhookinfo" => {
                let mut info = json!({"url": "", "has_custom_certificate": false, "pending_update_count": self.updates.len()});
                if let Some(w) = &self.webhook {
                    info["url"] = w["url"].clone();
                    if let Some(a) = w.get("allowed_updates") {
                        info["allowed_updates"] = a.clone();
                    }
                    info["max_connections"] = w.get("max_connections").cloned().unwrap_or(json!(40));
                }
                Ok(info)
            }
            "getfile" => {
                let id = p.str("file_id").unwrap_or_default();
                let f = self.files.get(&id).ok_or_else(|| bad("invalid file_id"))?;
                if f.bytes.len() > MAX_DOWNLOAD {
                    return Err(bad("file is too big"));
                }
                Ok(json!({"file_id": id, "file_unique_id": f.unique_id, "file_size": f.bytes.len(), "file_path": f.path}))
            }
            _ => Err(Fail::new(404, "Not Found")),
        }
    }

    fn commands_key(&self, p: &Params) -> Result<(String, String), Fail> {
        let lang = p.str("language_code").unwrap_or_default();
        if !(lang.is_empty() || (lang.len() == 2 && lang.chars().all(|c| c.is_ascii_lowercase()))) {
            return Err(bad("invalid language code specified"));
        }
        let scope = p.json("scope").map(|s| s.to_string()).unwrap_or_else(|| json!({"type": "default"}).to_string());
        Ok((scope, lang))
    }

    fn set_description(&mut self, field: &'static str, max: usize, p: &Params) -> Result<Value, Fail> {
        let text = p.str(field).unwrap_or_default();
        if text.chars().count() > max {
            return Err(bad(&format!("{} is too long", field.replace('_', " "))));
        }
        let lang = p.str("language_code").unwrap_or_default();
        self.descriptions.insert((field, lang), text);
        Ok(json!(true))
    }

    /// The private chat a send goes to: one the user opened, not blocked.
    fn target_chat(&self, p: &Params) -> Result<i64, Fail> {
        let id = p.i64("chat_id").ok_or_else(|| bad("chat not found"))?;
        if !self.chats.contains_key(&id) {
            return Err(bad("chat not found"));
        }
        if self.blocked.contains(&id) {
            return Err(Fail::new(403, BLOCKED));
        }
        Ok(id)
    }

    /// The message replied to, as `reply_to_message`.
    fn reply_to(&self, chat: i64, p: &Params) -> Result<Option<Value>, Fail> {
        let params = p.json("reply_parameters");
        let id = params.as_ref().and_then(|r| r["message_id"].as_i64()).or_else(|| p.i64("reply_to_message_id"));
        let Some(id) = id else { return Ok(None) };
        let lenient =
            params.as_ref().is_some_and(|r| r["allow_sending_without_reply"] == json!(true)) || p.bool("allow_sending_without_reply");
        match self.chats.get(&chat).and_then(|c| c.messages.get(&id)) {
            Some(m) => Ok(Some(shallow(&m.json))),
            None if lenient => Ok(None),
            None => Err(bad("message to be replied not found")),
        }
    }

    fn new_message(&mut self, chat: i64, content: Value, reply: Option<Value>, markup: Option<&Value>, sent: Sent) -> Value {
        let bot_user = self.bot_user();
        let Some(c) = self.chats.get_mut(&chat) else { return Value::Null };
        let id = c.next_id;
        c.next_id += 1;
        let mut m = json!({"message_id": id, "from": bot_user, "chat": c.user.chat(), "date": now_secs()});
        if let (Value::Object(o), Value::Object(content)) = (&mut m, content) {
            o.extend(content);
        }
        if let Some(r) = reply {
            m["reply_to_message"] = r;
        }
        if let Some(k) = markup.filter(|k| k.get("inline_keyboard").is_some()) {
            m["reply_markup"] = k.clone();
        }
        let sent = Sent { message_id: id, ..sent };
        c.messages.insert(id, Msg { json: m.clone(), by_bot: true, now: Some(sent.clone()) });
        self.sent.push(sent);
        m
    }

    fn send_message(&mut self, p: &Params) -> Result<Value, Fail> {
        let chat = self.target_chat(p)?;
        let (text, entities) = formatted(p, "text", "entities")?;
        if text.trim().is_empty() {
            return Err(bad("message text is empty"));
        }
        if text.chars().count() > 4096 {
            return Err(bad("message is too long"));
        }
        let markup = reply_markup(p, false)?;
        let reply = self.reply_to(chat, p)?;
        let mut content = json!({"text": text});
        if !entities.is_empty() {
            content["entities"] = Value::Array(entities);
        }
        let sent = Sent {
            method: "sendMessage".into(),
            chat_id: chat,
            message_id: 0,
            text,
            reply_markup: markup.clone(),
            params: Value::Object(p.map.clone()),
            file: None,
        };
        Ok(self.new_message(chat, content, reply, markup.as_ref(), sent))
    }

    fn send_media(&mut self, kind: Media, p: &Params) -> Result<Value, Fail> {
        let chat = self.target_chat(p)?;
        let (field, method, dir) = match kind {
            Media::Photo => ("photo", "sendPhoto", "photos"),
            Media::Document => ("document", "sendDocument", "documents"),
            Media::Voice => ("voice", "sendVoice", "voice"),
        };
        let (name, bytes) = match (p.files.get(field), p.str(field)) {
            (Some(u), _) => (u.name.clone(), u.bytes.clone()),
            (None, Some(id)) => {
                let f = self.files.get(&id).ok_or_else(|| bad("wrong file identifier/HTTP URL specified"))?;
                (f.name.clone(), f.bytes.clone())
            }
            (None, None) => return Err(bad(&format!("there is no {field} in the request"))),
        };
        if bytes.is_empty() {
            return Err(bad("file must be non-empty"));
        }
        if kind == Media::Photo && bytes.len() > 10 << 20 {
            return Err(bad("PHOTO_INVALID_DIMENSIONS"));
        }
        let (caption, entities) = formatted(p, "caption", "caption_entities")?;
        if caption.chars().count() > 1024 {
            return Err(bad("message caption is too long"));
        }
        let markup = reply_markup(p, false)?;
        let reply = self.reply_to(chat, p)?;
        let mut content = match kind {
            Media::Photo => json!({"photo": self.photo_sizes(&bytes)}),
            Media::Document => {
                let mut d = self.store_file(dir, &name, bytes.clone());
                d["file_name"] = json!(name);
                d["mime_type"] = json!(mime_of(&name));
                json!({"document": d})
            }
            Media::Voice => {
                let mut v = self.store_file(dir, &name, bytes.clone());
                v["duration"] = json!(p.i64("duration").unwrap_or(1));
                v["mime_type"] = json!("audio/ogg");
                json!({"voice": v})
            }
        };
        if !caption.is_empty() {
            content["caption"] = json!(caption);
        }
        if !entities.is_empty() {
            content["caption_entities"] = Value::Array(entities);
        }
        let sent = Sent {
            method: method.into(),
            chat_id: chat,
            message_id: 0,
            text: caption,
            reply_markup: markup.clone(),
            params: Value::Object(p.map.clone()),
            file: Some((name, bytes)),
        };
        Ok(self.new_message(chat, content, reply, markup.as_ref(), sent))
    }

    fn edit(&mut self, method: &'static str, p: &Params) -> Result<Value, Fail> {
        if p.get("inline_message_id").is_some() {
            return Err(bad("MESSAGE_ID_INVALID"));
        }
        let chat = self.target_chat(p)?;
        let id = p.i64("message_id").ok_or_else(|| bad("message identifier is not specified"))?;
        let markup = reply_markup(p, true)?;
        let text_update = match method {
            "editMessageText" => Some(formatted(p, "text", "entities")?),
            "editMessageCaption" => Some(formatted(p, "caption", "caption_entities")?),
            _ => None,
        };
        let Some(msg) = self.chats.get_mut(&chat).and_then(|c| c.messages.get_mut(&id)) else {
            return Err(Fail::new(400, EDIT_NOT_FOUND));
        };
        if !msg.by_bot {
            return Err(bad("message can't be edited"));
        }
        let mut m = msg.json.clone();
        let is_text = m.get("text").is_some();
        match (method, text_update) {
            ("editMessageText", Some((text, entities))) => {
                if !is_text {
                    return Err(bad("there is no text in the message to edit"));
                }
                if text.trim().is_empty() {
                    return Err(bad("message text is empty"));
                }
                if text.chars().count() > 4096 {
                    return Err(bad("MESSAGE_TOO_LONG"));
                }
                m["text"] = json!(text);
                set_or_remove(&mut m, "entities", entities);
            }
            (_, Some((caption, entities))) => {
                if is_text {
                    return Err(bad("there is no caption in the message to edit"));
                }
                if caption.chars().count() > 1024 {
                    return Err(bad("message caption is too long"));
                }
                if caption.is_empty() {
                    if let Value::Object(o) = &mut m {
                        o.remove("caption");
                    }
                } else {
                    m["caption"] = json!(caption);
                }
                set_or_remove(&mut m, "caption_entities", entities);
            }
            _ => {}
        }
        match &markup {
            Some(k) => m["reply_markup"] = k.clone(),
            None => {
                if let Value::Object(o) = &mut m {
                    o.remove("reply_markup");
                }
            }
        }
        if m == msg.json {
            return Err(Fail::new(400, NOT_MODIFIED));
        }
        m["edit_date"] = json!(now_secs());
        msg.json = m.clone();
        let text = m.get("text").or_else(|| m.get("caption")).and_then(Value::as_str).unwrap_or("").to_string();
        let sent = Sent {
            method: method.into(),
            chat_id: chat,
            message_id: id,
            text: text.clone(),
            reply_markup: markup.clone(),
            params: Value::Object(p.map.clone()),
            file: None,
        };
        let file = msg.now.as_ref().and_then(|s| s.file.clone());
        msg.now = Some(Sent { file, ..sent.clone() });
        self.sent.push(sent);
        Ok(m)
    }
}

fn set_or_remove(m: &mut Value, key: &str, list: Vec<Value>) {
    if let Value::Object(o) = m {
        if list.is_empty() {
            o.remove(key);
        } else {
            o.insert(key.into(), Value::Array(list));
        }
    }
}

fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ogg" | "oga" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// The reply markup as sent, checked as Telegram does; edits take inline keyboards only.
fn reply_markup(p: &Params, inline_only: bool) -> Result<Option<Value>, Fail> {
    if p.get("reply_markup").is_none() {
        return Ok(None);
    }
    let k = p.json("reply_markup").filter(Value::is_object).ok_or_else(|| bad("can't parse reply keyboard markup JSON object"))?;
    if let Some(rows) = k.get("inline_keyboard") {
        let rows = rows.as_array().ok_or_else(|| bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array"))?;
        for row in rows {
            for b in
                row.as_array().ok_or_else(|| bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays"))?
            {
                if b["text"].as_str().is_none_or(str::is_empty) {
                    return Err(bad("can't parse inline keyboard button: Text must be non-empty"));
                }
                const ACTIONS: &[&str] = &[
                    "callback_data",
                    "url",
                    "login_url",
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "switch_inline_query_chosen_chat",
                    "callback_game",
                    "pay",
                    "web_app",
                    "copy_text",
                ];
                if ACTIONS.iter().filter(|a| b.get(**a).is_some()).count() != 1 {
                    return Err(bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"));
                }
                if let Some(d) = b.get("callback_data")
                    && !d.as_str().is_some_and(|d| (1..=64).contains(&d.len()))
                {
                    return Err(bad("BUTTON_DATA_INVALID"));
                }
                if let Some(u) = b.get("url") {
                    let ok = u.as_str().is_some_and(|u| ["http://", "https://", "tg://"].iter().any(|s| u.starts_with(s)) && u.len() > 8);
                    if !ok {
                        return Err(bad("BUTTON_URL_INVALID"));
                    }
                }
            }
        }
        return Ok(Some(k));
    }
    if inline_only {
        return Err(bad("can't parse inline keyboard markup JSON object"));
    }
    if let Some(rows) = k.get("keyboard") {
        for row in rows.as_array().into_iter().flatten() {
            for b in row.as_array().into_iter().flatten() {
                let text = b.as_str().or_else(|| b["text"].as_str()).unwrap_or("");
                if text.is_empty() {
                    return Err(bad("can't parse keyboard button: Text must be non-empty"));
                }
            }
        }
        return Ok(Some(k));
    }
    if k.get("remove_keyboard") == Some(&json!(true)) || k.get("force_reply") == Some(&json!(true)) {
        return Ok(Some(k));
    }
    Err(bad("can't parse reply keyboard markup JSON object"))
}

// ---- formatting: parse_mode as Telegram reads it ----

/// The text (or caption) as the user sees it and its entities.
fn formatted(p: &Params, key: &str, entities_key: &str) -> Result<(String, Vec<Value>), Fail> {
    let raw = p.str(key).unwrap_or_default();
    let parsed = match p.str("parse_mode").as_deref() {
        None | Some("") => Ok((raw, p.json(entities_key).and_then(|e| e.as_array().cloned()).unwrap_or_default())),
        Some("HTML") | Some("html") => parse_html(&raw),
        Some("MarkdownV2") | Some("markdownv2") => parse_markdown(&raw, true),
        Some("Markdown") | Some("markdown") => parse_markdown(&raw, false),
        Some(other) => return Err(bad(&format!("unsupported parse_mode \"{other}\""))),
    };
    parsed.map_err(|e| bad(&format!("can't parse entities: {e}")))
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn entity(kind: &str, offset: usize, length: usize, url: Option<String>) -> Value {
    let mut e = json!({"type": kind, "offset": offset, "length": length});
    if let Some(u) = url {
        e["url"] = json!(u);
    }
    e
}

fn parse_html(s: &str) -> Result<(String, Vec<Value>), String> {
    const TAGS: &[(&str, &str)] = &[
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("ins", "underline"),
        ("s", "strikethrough"),
        ("strike", "strikethrough"),
        ("del", "strikethrough"),
        ("tg-spoiler", "spoiler"),
        ("span", "spoiler"),
        ("a", "text_link"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
        ("tg-emoji", "custom_emoji"),
    ];
    let mut out = String::new();
    let mut stack: Vec<(String, &str, usize, Option<String>)> = Vec::new();
    let mut entities = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with('<') {
            let end = rest.find('>').ok_or_else(|| format!("Unclosed start tag at byte offset {i}"))?;
            let tag = &rest[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                let name = name.trim().to_ascii_lowercase();
                match stack.pop() {
                    Some((open, kind, start, url)) if open == name => {
                        let len = utf16_len(&out) - start;
                        if len > 0 && !(kind == "text_link" && url.is_none()) {
                            entities.push(entity(kind, start, len, url));
                        }
                    }
                    Some((open, ..)) => {
                        return Err(format!("Unmatched end tag at byte offset {i}, expected \"</{open}>\", found \"</{name}>\""));
                    }
                    None => return Err(format!("Unexpected end tag at byte offset {i}")),
                }
            } else {
                let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
                let name = name.to_ascii_lowercase();
                let kind = TAGS.iter().find(|(t, _)| *t == name).map(|(_, k)| *k);
                let kind = match kind {
                    Some("spoiler") if name == "span" && !attrs.contains("tg-spoiler") => None,
                    k => k,
                };
                let Some(kind) = kind else {
                    return Err(format!("Unsupported start tag \"{name}\" at byte offset {i}"));
                };
                let url = (name == "a").then(|| attr(attrs, "href")).flatten();
                stack.push((name, kind, utf16_len(&out), url));
            }
            i += end + 1;
        } else if rest.starts_with('&') {
            let (c, used) = html_entity(rest).unwrap_or(('&', 1));
            out.push(c);
            i += used;
        } else {
            let c = rest.chars().next().unwrap_or('\0');
            out.push(c);
            i += c.len_utf8();
        }
    }
    if let Some((open, ..)) = stack.last() {
        return Err(format!("Can't find end tag corresponding to start tag \"{open}\""));
    }
    Ok((out, entities))
}

fn attr(attrs: &str, name: &str) -> Option<String> {
    let at = attrs.find(&format!("{name}="))?;
    let v = &attrs[at + name.len() + 1..];
    let (q, v) = match v.chars().next()? {
        q @ ('"' | '\'') => (q, &v[1..]),
        _ => (' ', v),
    };
    let end = v.find(q).unwrap_or(v.len());
    html_unescape(&v[..end])
}

fn html_unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let (c, used) = html_entity(&s[i..]).unwrap_or_else(|| {
            let c = s[i..].chars().next().unwrap_or('\0');
            (c, c.len_utf8())
        });
        out.push(c);
        i += used;
    }
    Some(out)
}

/// `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities: the character and the bytes used.
fn html_entity(s: &str) -> Option<(char, usize)> {
    let end = s.find(';').filter(|e| *e <= 10)?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let n = name.strip_prefix('#')?;
            let code = match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

/// MarkdownV2 (`v2`) or the legacy Markdown: `*bold*`, `_italic_`,
/// `__underline__`, `~strike~`, `||spoiler||`, `` `code` ``, ```` ```pre``` ````,
/// `[text](url)`; in V2 every other reserved character must be escaped.
fn parse_markdown(s: &str, v2: bool) -> Result<(String, Vec<Value>), String> {
    const RESERVED: &str = "_*[]()~`>#+-=|{}.!";
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = String::new();
    let mut stack: Vec<(&str, &str, usize, usize)> = Vec::new();
    let mut entities = Vec::new();
    let mut k = 0;
    let at = |k: usize| chars.get(k).map(|(_, c)| *c);
    let starts = |k: usize, m: &str| m.chars().enumerate().all(|(j, c)| at(k + j) == Some(c));
    while let Some(&(pos, c)) = chars.get(k) {
        let top = stack.last().map(|t| t.0);
        let in_code = matches!(top, Some("`") | Some("```"));
        if c == '\\' && (v2 || at(k + 1).is_some_and(|n| "_*`[".contains(n))) {
            match at(k + 1) {
                Some(n) => out.push(n),
                None => return Err("Character '\\' is reserved and must be escaped with the preceding '\\'".into()),
            }
            k += 2;
            continue;
        }
        let marker = if starts(k, "```") {
            Some("```")
        } else if c == '`' {
            Some("`")
        } else if in_code {
            None
        } else if v2 && starts(k, "__") {
            Some("__")
        } else if v2 && starts(k, "||") {
            Some("||")
        } else if c == '*' || c == '_' || (v2 && c == '~') {
            Some(if c == '*' {
                "*"
            } else if c == '_' {
                "_"
            } else {
                "~"
            })
        } else {
            None
        };
        if let Some(m) = marker {
            let len = m.chars().count();
            if top == Some(m) {
                let (_, kind, start, _) = stack.pop().unwrap_or(("", "", 0, 0));
                let n = utf16_len(&out) - start;
                if n > 0 {
                    entities.push(entity(kind, start, n, None));
                }
                k += len;
            } else if in_code {
                out.push(c);
                k += 1;
            } else {
                let kind = match m {
                    "*" => "bold",
                    "_" => "italic",
                    "__" => "underline",
                    "~" => "strikethrough",
                    "||" => "spoiler",
                    "`" => "code",
                    _ => "pre",
                };
                k += len;
                if m == "```" {
                    // A language on the opening line.
                    let mut j = k;
                    while at(j).is_some_and(|c| c != '\n' && !c.is_whitespace() && c != '`') {
                        j += 1;
                    }
                    if at(j) == Some('\n') {
                        k = j + 1;
                    }
                }
                stack.push((m, kind, utf16_len(&out), pos));
            }
            continue;
        }
        if in_code {
            out.push(c);
            k += 1;
            continue;
        }
        if c == '[' {
            stack.push(("[", "text_link", utf16_len(&out), pos));
            k += 1;
            continue;
        }
        if c == ']' && top == Some("[") && at(k + 1) == Some('(') {
            let (_, _, start, _) = stack.pop().unwrap_or(("", "", 0, 0));
            let mut url = String::new();
            let mut j = k + 2;
            loop {
                match at(j) {
                    None => return Err(format!("Can't find end of a url at byte offset {pos}")),
                    Some(')') => break,
                    Some('\\') if v2 => {
                        url.extend(at(j + 1));
                        j += 2;
                    }
                    Some(u) => {
                        url.push(u);
                        j += 1;
                    }
                }
            }
            let n = utf16_len(&out) - start;
            if n > 0 {
                entities.push(entity("text_link", start, n, Some(url)));
            }
            k = j + 1;
            continue;
        }
        if v2 && c == '>' && (k == 0 || at(k - 1) == Some('\n')) {
            k += 1;
            continue;
        }
        if v2 && RESERVED.contains(c) {
            return Err(format!("Character '{c}' is reserved and must be escaped with the preceding '\\'"));
        }
        out.push(c);
        k += 1;
    }
    if let Some((_, _, _, pos)) = stack.last() {
        return Err(format!("Can't find end of the entity starting at byte offset {pos}"));
    }
    Ok((out, entities))
}
