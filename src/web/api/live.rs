//! Live endpoints: an authenticated WebSocket and a token-scoped SSE stream.
//!
//! WebSocket (`/c/<slug>/api/v1/live`): the signed-in user sends
//! `{"subscribe": ["user:7", ...]}` and receives every event of those topics
//! that they may read. SSE (`/c/<slug>/api/v1/live/events?token=…`): a
//! short-lived token minted by `POST /c/<slug>/api/v1/live/token` names the
//! topics, so that pages without a session (display boards, tracking pages)
//! can listen with exactly the rights they were given.

use crate::app::AppState;
use crate::auth::tokens::Claims;
use crate::error::{AppError, ErrorKind};
use crate::hub::Event;
use crate::tenancy::Tenant;
use crate::web::extract::{CurrentUser, Json};
use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// Topics a live token may name at most.
const MAX_TOPICS: usize = 16;
/// How long a live token is good for, in seconds.
pub const LIVE_TOKEN_TTL: i64 = 12 * 3600;

pub fn tenant_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/live", get(ws_upgrade))
        .route("/api/v1/live/token", post(live_token))
        .route("/api/v1/live/events", get(sse))
}

/// Whether `user` may read `topic`.
pub fn may_read(user: &CurrentUser, topic: &str) -> bool {
    if let Some(id) = topic.strip_prefix("user:") {
        return id.parse::<u64>().is_ok_and(|id| id == user.id);
    }
    // A branch's queue (numbers, windows, statuses) for the staff who work
    // it; the hub keeps topics per company, so only this company's branches.
    if let Some(id) = topic.strip_prefix("queue:branch:") {
        return id.parse::<u64>().is_ok() && (user.can("queue.operate") || user.can("queue.manage"));
    }
    match topic {
        "audit" => user.can("audit.view"),
        "users" | "roles" => user.can("users.view"),
        // Only ids travel on it; the task itself is read through the API,
        // which checks who may see it.
        "tasks" => true,
        _ => false,
    }
}

#[derive(Debug, Deserialize)]
struct ClientMessage {
    #[serde(default)]
    subscribe: Vec<String>,
}

async fn ws_upgrade(State(state): State<AppState>, user: CurrentUser, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| run_socket(state, user, socket))
}

async fn run_socket(state: AppState, user: CurrentUser, mut socket: WebSocket) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<Event>>(256);
    let mut tasks = Vec::new();
    // Every user hears their own topic without asking. A topic asked for
    // twice is heard once.
    let own = format!("user:{}", user.id);
    let mut heard = std::collections::HashSet::from([own.clone()]);
    tasks.push(forward(state.hub.subscribe(&user.tenant.slug, &own), tx.clone()));
    let hello = serde_json::json!({"kind": "hello", "user_id": user.id, "topics": [format!("user:{}", user.id)]});
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(Duration::from_secs(25));
    let closed = state.hub.closed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            _ = &mut closed => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { break };
                let Message::Text(text) = msg else { continue };
                let reply = match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(m) => {
                        let (ok, refused): (Vec<String>, Vec<String>) = m.subscribe.into_iter().take(MAX_TOPICS).partition(|t| may_read(&user, t));
                        for t in &ok {
                            if heard.insert(t.clone()) {
                                tasks.push(forward(state.hub.subscribe(&user.tenant.slug, t), tx.clone()));
                            }
                        }
                        serde_json::json!({"kind": "subscribed", "topics": ok, "refused": refused})
                    }
                    Err(_) => serde_json::json!({"kind": "error", "message": "expected {\"subscribe\": [topics]}"}),
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break }
            }
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let Ok(text) = serde_json::to_string(&*ev) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() { break }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
        }
    }
    for t in tasks {
        t.abort();
    }
}

fn forward(mut sub: broadcast::Receiver<Arc<Event>>, tx: tokio::sync::mpsc::Sender<Arc<Event>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sub.recv().await {
                Ok(ev) => {
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveTokenIn {
    pub topics: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveTokenOut {
    pub token: String,
    pub expires_in: i64,
    pub events_url: String,
}

/// Mints a token that may read the given topics over SSE.
pub fn mint_live_token(state: &AppState, tenant: &Tenant, topics: Vec<String>) -> Result<String, AppError> {
    let now = state.now().as_second();
    let claims =
        Claims { sub: 0, ten: tenant.slug.clone(), sid: String::new(), iat: now, exp: now + LIVE_TOKEN_TTL, typ: "live".into(), topics };
    state.keys.sign(&claims)
}

/// A token for the SSE stream, limited to topics the caller may read.
#[utoipa::path(post, path = "/c/{slug}/api/v1/live/token", tag = "company", params(("slug" = String, Path)), request_body = LiveTokenIn,
    responses((status = 200, body = LiveTokenOut), (status = 403)), security(("bearer" = [])))]
pub async fn live_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<LiveTokenIn>,
) -> Result<axum::Json<LiveTokenOut>, AppError> {
    if b.topics.is_empty() || b.topics.len() > MAX_TOPICS {
        return Err(AppError::invalid("topics", "validation.topics"));
    }
    if let Some(bad) = b.topics.iter().find(|t| !may_read(&user, t)) {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.topic_forbidden").with_arg("topic", bad));
    }
    let token = mint_live_token(&state, &user.tenant, b.topics)?;
    let events_url = format!("/c/{}/api/v1/live/events?token={token}", user.tenant.slug);
    Ok(axum::Json(LiveTokenOut { token, expires_in: LIVE_TOKEN_TTL, events_url }))
}

#[derive(Debug, Deserialize)]
struct SseQuery {
    token: String,
}

/// Server-sent events for the topics a live token names.
async fn sse(State(state): State<AppState>, tenant: Tenant, Query(q): Query<SseQuery>) -> Result<Response, AppError> {
    let claims = state.keys.verify(&q.token, "live", state.now().as_second())?;
    if claims.ten != tenant.slug {
        return Err(ErrorKind::WrongCompany.into());
    }
    Ok(sse_response(&state, &tenant.slug, &claims.topics).into_response())
}

/// An SSE response streaming `topics` of `realm`; also used by public pages.
pub fn sse_response(state: &AppState, realm: &str, topics: &[String]) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Arc<Event>>(256);
    let handles: Vec<_> = topics.iter().map(|t| forward(state.hub.subscribe(realm, t), tx.clone())).collect();
    drop(tx);
    let guard = AbortOnDrop(handles);
    let events = futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let ev = rx.recv().await?;
        let data = serde_json::to_string(&*ev).unwrap_or_default();
        let sse = SseEvent::default().event(ev.kind.clone()).data(data);
        Some((Ok(sse), (rx, guard)))
    });
    // A first event tells the client that its subscriptions are in place.
    let ready = futures_util::stream::once(async { Ok(SseEvent::default().event("ready").data("{}")) });
    let stream = ready.chain(events).take_until(state.hub.closed());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Stops the forwarding tasks when the client goes away.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}
