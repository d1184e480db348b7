//! A fake Google for the Sheets tests: the OAuth 2.0 token endpoint and the
//! parts of the Sheets API v4 Idora uses, on a free port on 127.0.0.1,
//! speaking the real wire protocol (form-encoded token requests, JSON
//! bodies, Google's error shapes), so the production code talks to it as it
//! would to Google.
//!
//! What it checks as Google does (so a bug shows here, not in production):
//! - `POST /token`: `grant_type` is the JWT-bearer grant; the assertion is an
//!   RS256 JWT whose signature verifies with the public half of the test
//!   key (`tests/fixtures/google-service-account.pub.pem`), whose `iss` is
//!   the account, `aud` this endpoint, `scope` the spreadsheets scope, and
//!   which is issued now (by the server's clock when given) for at most an
//!   hour. Anything else: 400 `invalid_grant`, as Google answers.
//! - Sheets calls need `Authorization: Bearer <a token it issued>` (else 401),
//!   a spreadsheet it knows (else 404), and ranges of sheets that exist.
//!
//! It stores what it receives — each spreadsheet's sheets and their cell
//! values — and can answer 429 (with `Retry-After`) or 5xx to a chosen call.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use idora::clock::Clock;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The test service account (`tests/fixtures/google-service-account.json`).
pub const CLIENT_EMAIL: &str = "idora-sync@idora-test.iam.gserviceaccount.com";
pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// A spreadsheet id of the shape Google gives.
pub const SPREADSHEET: &str = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

/// The DER inside a PEM block.
fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

/// A fake Google; dropping the last clone stops it.
#[derive(Clone)]
pub struct FakeGoogle {
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
    addr: SocketAddr,
    /// The public half of the test account's key.
    public: jsonwebtoken::DecodingKey,
    state: Mutex<St>,
}

/// One sheet: its id and its cells by row, then column (0-based).
#[derive(Default, Clone, Debug)]
pub struct Sheet {
    pub id: u64,
    pub rows: BTreeMap<usize, BTreeMap<usize, Value>>,
}

impl Sheet {
    /// The values as a grid, from A1 to the last written cell ("" where none).
    pub fn grid(&self) -> Vec<Vec<Value>> {
        let (Some(last_row), width) = (self.rows.keys().last(), self.rows.values().filter_map(|r| r.keys().last()).max()) else {
            return Vec::new();
        };
        let width = width.map(|w| w + 1).unwrap_or(0);
        (0..=*last_row)
            .map(|r| (0..width).map(|c| self.rows.get(&r).and_then(|row| row.get(&c)).cloned().unwrap_or(json!(""))).collect())
            .collect()
    }
}

#[derive(Default)]
struct St {
    clock: Option<Arc<dyn Clock>>,
    tokens: HashSet<String>,
    /// spreadsheet id → sheets by title.
    spreadsheets: HashMap<String, BTreeMap<String, Sheet>>,
    next_sheet_id: u64,
    /// Sheets API calls so far (not the token endpoint's).
    calls: usize,
    /// (method and path, body) of every Sheets API call.
    log: Vec<(String, Value)>,
    /// Calls to fail: (kind, n-th call of that kind, status, Retry-After).
    failures: Vec<(String, usize, u16, Option<u64>)>,
    /// Calls of each kind so far.
    counts: HashMap<String, usize>,
    token_requests: usize,
    /// Why token requests were refused.
    refused: Vec<String>,
}

/// Google's error answer of the Sheets API.
fn api_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap();
    let name = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    (code, axum::Json(json!({"error": {"code": status, "message": message, "status": name}}))).into_response()
}

fn token_error(description: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant", "error_description": description}))).into_response()
}

impl FakeGoogle {
    /// A fake on a free port on 127.0.0.1, knowing the test account's key.
    pub async fn start() -> FakeGoogle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let public = jsonwebtoken::DecodingKey::from_rsa_der(&pem_der(&fixture("google-service-account.pub.pem")));
        let inner = Arc::new(Inner { addr, public, state: Mutex::new(St { next_sheet_id: 100, ..Default::default() }) });
        let app = Router::new().route("/token", post(token)).fallback(sheets_api).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGoogle { inner, _server: Arc::new(ServerTask(task)) }
    }

    /// The Sheets API base (`google_api_url`), e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The token endpoint (the key's `token_uri`).
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url())
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks JWT times against this clock (the server's) rather than the system's.
    pub fn use_clock(&self, clock: Arc<dyn Clock>) {
        self.lock().clock = Some(clock);
    }

    /// The test account's JSON key, its `token_uri` this fake's.
    pub fn key(&self) -> Value {
        let mut key: Value = serde_json::from_str(&fixture("google-service-account.json")).unwrap();
        key["token_uri"] = json!(self.token_uri());
        key
    }

    /// The same account with another RSA key (one whose signature this fake refuses).
    pub fn other_key(&self) -> Value {
        let mut key = self.key();
        key["private_key"] = json!(fixture("google-other-key.pkcs1.pem"));
        key
    }

    /// A spreadsheet shared with the account, with one empty sheet "Sheet1".
    pub fn add_spreadsheet(&self, id: &str) {
        let mut st = self.lock();
        let sheet = Sheet { id: 0, ..Default::default() };
        st.spreadsheets.insert(id.to_string(), BTreeMap::from([("Sheet1".to_string(), sheet)]));
    }

    /// Writes cells into a sheet (creating it), as someone editing the spreadsheet would.
    pub fn put_cells(&self, id: &str, sheet: &str, grid: Vec<Vec<Value>>) {
        let mut st = self.lock();
        let next = st.next_sheet_id;
        let book = st.spreadsheets.get_mut(id).expect("no such spreadsheet");
        let s = book.entry(sheet.to_string()).or_insert_with(|| Sheet { id: next, ..Default::default() });
        for (r, row) in grid.into_iter().enumerate() {
            for (c, v) in row.into_iter().enumerate() {
                s.rows.entry(r).or_default().insert(c, v);
            }
        }
        st.next_sheet_id += 1;
    }

    /// A sheet of a spreadsheet as it stands.
    pub fn sheet(&self, id: &str, title: &str) -> Option<Sheet> {
        self.lock().spreadsheets.get(id).and_then(|b| b.get(title)).cloned()
    }

    /// The titles of a spreadsheet's sheets.
    pub fn titles(&self, id: &str) -> Vec<String> {
        self.lock().spreadsheets.get(id).map(|b| b.keys().cloned().collect()).unwrap_or_default()
    }

    /// Answers the `nth` (1-based) call of `kind` with `status` (and
    /// `Retry-After` when given) instead of doing it. Kinds: `get`,
    /// `batchUpdate` (addSheet), `clear`, `values` (values:batchUpdate).
    pub fn fail(&self, kind: &str, nth: usize, status: u16, retry_after: Option<u64>) {
        self.lock().failures.push((kind.to_string(), nth, status, retry_after));
    }

    /// Every Sheets API call so far: "METHOD path" and its JSON body.
    pub fn log(&self) -> Vec<(String, Value)> {
        self.lock().log.clone()
    }

    /// How many calls of `kind` were made (failed ones too).
    pub fn count(&self, kind: &str) -> usize {
        self.lock().counts.get(kind).copied().unwrap_or(0)
    }

    /// Forgets every token it issued (as when Google revokes them): the next call with one gets 401.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }

    /// Why token requests were refused, in order.
    pub fn refused(&self) -> Vec<String> {
        self.lock().refused.clone()
    }
}

/// `POST /token`: the JWT-bearer grant.
async fn token(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
    st.token_requests += 1;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let refuse = |st: &mut St, why: &str, answer: &str| {
        st.refused.push(why.to_string());
        token_error(answer)
    };
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return refuse(&mut st, "content type", "Bad Request");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})),
        )
            .into_response();
    }
    let Some(jwt) = form.get("assertion") else { return refuse(&mut st, "no assertion", "Invalid JWT: no assertion") };
    let header = match jsonwebtoken::decode_header(jwt) {
        Ok(h) => h,
        Err(_) => return refuse(&mut st, "header", "Invalid JWT header"),
    };
    if header.alg != jsonwebtoken::Algorithm::RS256 {
        return refuse(&mut st, "alg", "Invalid JWT: alg must be RS256");
    }
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    v.validate_aud = false;
    let claims: Value = match jsonwebtoken::decode::<Value>(jwt, &inner.public, &v) {
        Ok(d) => d.claims,
        Err(_) => return refuse(&mut st, "signature", "Invalid JWT Signature."),
    };
    let me = format!("http://{}/token", inner.addr);
    if claims["aud"].as_str() != Some(me.as_str()) {
        return refuse(&mut st, "aud", "Invalid JWT: aud");
    }
    if claims["iss"].as_str() != Some(CLIENT_EMAIL) {
        return refuse(&mut st, "iss", "Invalid JWT: iss");
    }
    if !claims["scope"].as_str().unwrap_or("").split(' ').any(|s| s == SCOPE) {
        return refuse(&mut st, "scope", "Invalid JWT: scope");
    }
    let now = st.clock.as_ref().map(|c| c.now().as_second()).unwrap_or_else(|| jiff::Timestamp::now().as_second());
    let (iat, exp) = (claims["iat"].as_i64().unwrap_or(0), claims["exp"].as_i64().unwrap_or(0));
    if iat > now + 60 || exp <= now || exp - iat > 3600 {
        return refuse(&mut st, "times", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    let token = format!("ya29.fake-{}", hex::encode(idora::store::random_bytes::<12>()));
    st.tokens.insert(token.clone());
    axum::Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

/// Percent-decoding of a path.
fn decode(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(n) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(n);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// `'points'!B3` → ("points", row 2, column 1) (0-based); `'points'` → row 0, column 0.
fn parse_range(range: &str) -> Option<(String, usize, usize)> {
    let (sheet, cell) = match range.rsplit_once('!') {
        Some((s, c)) => (s, c),
        None => (range, "A1"),
    };
    let sheet = sheet.trim_matches('\'').replace("''", "'");
    let letters: String = cell.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let digits: String = cell.chars().skip(letters.len()).collect();
    let col = letters.to_ascii_uppercase().bytes().fold(0usize, |acc, c| acc * 26 + usize::from(c - b'A' + 1)).checked_sub(1)?;
    let row = digits.parse::<usize>().ok()?.checked_sub(1)?;
    Some((sheet, row, col))
}

/// The Sheets API: `GET /v4/spreadsheets/{id}`, `POST …/{id}:batchUpdate`,
/// `POST …/{id}/values/{range}:clear`, `POST …/{id}/values:batchUpdate`.
async fn sheets_api(State(inner): State<Arc<Inner>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = decode(uri.path());
    let body: Value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(json!("not json")) };
    let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
    st.calls += 1;
    st.log.push((format!("{method} {path}"), body.clone()));
    let Some(rest) = path.strip_prefix("/v4/spreadsheets/") else { return api_error(404, "Not Found") };
    let (id, kind, range) = if let Some((id, r)) = rest.split_once("/values/") {
        match r.strip_suffix(":clear") {
            Some(range) => (id.to_string(), "clear", Some(range.to_string())),
            None => (id.to_string(), "put", Some(r.to_string())),
        }
    } else if let Some(id) = rest.strip_suffix("/values:batchUpdate") {
        (id.to_string(), "values", None)
    } else if let Some(id) = rest.strip_suffix(":batchUpdate") {
        (id.to_string(), "batchUpdate", None)
    } else {
        (rest.to_string(), "get", None)
    };
    let n = {
        let c = st.counts.entry(kind.to_string()).or_insert(0);
        *c += 1;
        *c
    };
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !auth.is_some_and(|t| st.tokens.contains(t)) {
        return api_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.");
    }
    if let Some(i) = st.failures.iter().position(|(k, nth, _, _)| k == kind && *nth == n) {
        let (_, _, status, retry_after) = st.failures.remove(i);
        let mut r = api_error(status, "Quota exceeded for quota metric 'Write requests' of service 'sheets.googleapis.com'.");
        if let Some(s) = retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
        }
        return r;
    }
    let next_id = st.next_sheet_id;
    let Some(book) = st.spreadsheets.get_mut(&id) else { return api_error(404, "Requested entity was not found.") };
    match (method.as_str(), kind) {
        ("GET", "get") => {
            let sheets: Vec<Value> = book
                .iter()
                .enumerate()
                .map(|(i, (title, s))| json!({"properties": {"sheetId": s.id, "title": title, "index": i}}))
                .collect();
            axum::Json(json!({"sheets": sheets})).into_response()
        }
        ("POST", "batchUpdate") => {
            let mut replies = Vec::new();
            let mut added = 0;
            for req in body["requests"].as_array().cloned().unwrap_or_default() {
                let Some(title) = req["addSheet"]["properties"]["title"].as_str() else {
                    return api_error(400, "Invalid requests[0]: only addSheet is faked");
                };
                if book.contains_key(title) {
                    return api_error(400, &format!("Invalid requests[0].addSheet: A sheet with the name \"{title}\" already exists."));
                }
                let sheet_id = next_id + added;
                added += 1;
                book.insert(title.to_string(), Sheet { id: sheet_id, ..Default::default() });
                replies.push(json!({"addSheet": {"properties": {"sheetId": sheet_id, "title": title}}}));
            }
            st.next_sheet_id += added;
            axum::Json(json!({"spreadsheetId": id, "replies": replies})).into_response()
        }
        ("POST", "clear") => {
            let range = range.unwrap_or_default();
            let Some((sheet, _, _)) = parse_range(&range) else { return api_error(400, "Unable to parse range") };
            let Some(s) = book.get_mut(&sheet) else { return api_error(400, &format!("Unable to parse range: {range}")) };
            s.rows.clear();
            axum::Json(json!({"spreadsheetId": id, "clearedRange": range})).into_response()
        }
        ("POST", "values") => {
            if body["valueInputOption"].as_str() != Some("RAW") && body["valueInputOption"].as_str() != Some("USER_ENTERED") {
                return api_error(400, "Invalid valueInputOption");
            }
            let mut rows_written = 0;
            for d in body["data"].as_array().cloned().unwrap_or_default() {
                let range = d["range"].as_str().unwrap_or("");
                let Some((sheet, row, col)) = parse_range(range) else { return api_error(400, "Unable to parse range") };
                let Some(s) = book.get_mut(&sheet) else { return api_error(400, &format!("Unable to parse range: {range}")) };
                for (r, values) in d["values"].as_array().cloned().unwrap_or_default().into_iter().enumerate() {
                    rows_written += 1;
                    for (c, v) in values.as_array().cloned().unwrap_or_default().into_iter().enumerate() {
                        s.rows.entry(row + r).or_default().insert(col + c, v);
                    }
                }
            }
            axum::Json(json!({"spreadsheetId": id, "totalUpdatedRows": rows_written})).into_response()
        }
        _ => api_error(404, "Not Found"),
    }
}
