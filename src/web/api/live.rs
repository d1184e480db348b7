//! Live endpoints: an authenticated WebSocket and a token-scoped SSE stream.
//!
//! WebSocket (`/c/<slug>/api/v1/live`): the signed-in user sends
//! `{"subscribe": ["user:7", ...]}` and receives every event of those topics
//! that they may read. SSE (`/c/<slug>/api/v1/live/events?token=…`): a
//! short-lived token minted by `POST /c/<slug>/api/v1/live/token` names the
//! user, their session and the topics.
//!
//! Who may read a topic is the core's rule (`hub::may_read`); a stream is a
//! `hub::Listener`, re-checked every `Config::live_recheck_ms`. A socket
//! whose holder lost a topic gets `{"kind":"revoked","topics":[…]}` (an SSE
//! stream a `revoked` event) and goes on without it; one whose session
//! ended (logout, account switched off, company closed) gets
//! `{"kind":"closed","reason":<error kind>}` and a close frame (an SSE
//! stream a `closed` event) and ends.

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::tokens::Claims;
use crate::error::{AppError, ErrorKind};
use crate::hub::{Listener, Recheck, Topic, may_read};
use crate::i18n::Lang;
use crate::tenancy::Tenant;
use crate::web::extract::{CurrentUser, Json};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Topics a live token may name at most.
const MAX_TOPICS: usize = 16;
/// How long a live token is good for, in seconds.
pub const LIVE_TOKEN_TTL: i64 = 12 * 3600;

/// Company routes (nested under `/c/{slug}/`), without the request timeout.
pub fn tenant_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ws_upgrade)).routes(routes!(live_token)).routes(routes!(sse))
}

#[derive(Debug, Deserialize)]
struct ClientMessage {
    #[serde(default)]
    subscribe: Vec<String>,
}

/// The live WebSocket: send `{"subscribe": ["user:7", "queue:branch:3", …]}`
/// and receive the events of the topics the caller may read.
#[utoipa::path(get, path = "/api/v1/live", operation_id = "live_socket", tag = "company", params(("slug" = String, Path)),
    responses((status = 101, description = "Switching to the WebSocket"), (status = 400, description = "Not a WebSocket upgrade request"), (status = 401), (status = 403)), security(("bearer" = [])))]
async fn ws_upgrade(State(state): State<AppState>, user: CurrentUser, ws: WebSocketUpgrade) -> Result<Response, AppError> {
    let listener = Listener::for_user(&user)?;
    Ok(ws.on_upgrade(move |socket| run_socket(state, user.id, listener, socket)))
}

/// The timer of a stream's re-checks; the first is one period after opening.
fn recheck_timer(state: &AppState) -> tokio::time::Interval {
    let period = Duration::from_millis(state.config.live_recheck_ms.max(10));
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer
}

fn topic_names<'a>(topics: impl IntoIterator<Item = &'a Topic>) -> Vec<String> {
    topics.into_iter().map(Topic::to_string).collect()
}

async fn send_json(socket: &mut WebSocket, v: serde_json::Value) -> bool {
    socket.send(Message::Text(v.to_string().into())).await.is_ok()
}

async fn run_socket(state: AppState, user_id: u64, mut listener: Listener, mut socket: WebSocket) {
    // Every user hears their own topic without asking.
    listener.listen(&state.hub, Topic::User(user_id));
    let hello = serde_json::json!({"kind": "hello", "user_id": user_id, "topics": topic_names(listener.topics())});
    if !send_json(&mut socket, hello).await {
        return;
    }
    let mut ping = tokio::time::interval(Duration::from_secs(25));
    let mut recheck = recheck_timer(&state);
    let closed = state.hub.closed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            _ = &mut closed => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            _ = recheck.tick() => match listener.recheck() {
                Recheck::Kept => {}
                Recheck::Dropped(topics) => {
                    if !send_json(&mut socket, serde_json::json!({"kind": "revoked", "topics": topic_names(&topics)})).await { break }
                }
                Recheck::Closed(e) => {
                    let reason = e.kind.code();
                    let _ = send_json(&mut socket, serde_json::json!({"kind": "closed", "reason": reason})).await;
                    let frame = CloseFrame { code: close_code::POLICY, reason: reason.into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break;
                }
            },
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { break };
                let Message::Text(text) = msg else { continue };
                let reply = match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(m) => {
                        let (mut ok, mut refused) = (Vec::new(), Vec::new());
                        for name in m.subscribe.into_iter().take(MAX_TOPICS) {
                            let heard = Topic::parse(&name).is_some_and(|t| listener.listen(&state.hub, t));
                            if heard { ok.push(name) } else { refused.push(name) }
                        }
                        serde_json::json!({"kind": "subscribed", "topics": ok, "refused": refused})
                    }
                    Err(_) => serde_json::json!({"kind": "error", "message": "expected {\"subscribe\": [topics]}"}),
                };
                if !send_json(&mut socket, reply).await { break }
            }
            ev = listener.next() => {
                let Some(ev) = ev else { break };
                let Ok(text) = serde_json::to_string(&*ev) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() { break }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveTokenIn {
    #[schema(min_items = 1, max_items = 16)]
    pub topics: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveTokenOut {
    pub token: String,
    pub expires_in: i64,
    pub events_url: String,
}

/// Mints a token with which `user`, on their current session, may read
/// `topics` over SSE (as long as the session lasts and the user may).
pub fn mint_live_token(state: &AppState, user: &CurrentUser, topics: &[Topic]) -> Result<String, AppError> {
    let now = state.now().as_second();
    let claims = Claims {
        sub: user.id,
        ten: user.tenant.slug.clone(),
        sid: user.sid.clone(),
        iat: now,
        exp: now + LIVE_TOKEN_TTL,
        typ: "live".into(),
        topics: topic_names(topics),
    };
    state.keys.sign(&claims)
}

/// A token for the SSE stream, limited to topics the caller may read.
#[utoipa::path(post, path = "/api/v1/live/token", tag = "company", params(("slug" = String, Path)), request_body = LiveTokenIn,
    responses((status = 200, body = LiveTokenOut), (status = 403)), security(("bearer" = [])))]
pub async fn live_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<LiveTokenIn>,
) -> Result<axum::Json<LiveTokenOut>, AppError> {
    if b.topics.is_empty() || b.topics.len() > MAX_TOPICS {
        return Err(AppError::invalid("topics", "validation.topics"));
    }
    let caller = Caller::from(&user);
    let mut topics = Vec::with_capacity(b.topics.len());
    for name in &b.topics {
        match Topic::parse(name) {
            Some(t) if may_read(&caller, &t) => topics.push(t),
            _ => return Err(AppError::new(ErrorKind::Forbidden).with_message("error.topic_forbidden").with_arg("topic", name)),
        }
    }
    let token = mint_live_token(&state, &user, &topics)?;
    let events_url = format!("/c/{}/api/v1/live/events?token={token}", user.tenant.slug);
    Ok(axum::Json(LiveTokenOut { token, expires_in: LIVE_TOKEN_TTL, events_url }))
}

#[derive(Debug, Deserialize)]
struct SseQuery {
    token: String,
}

/// Server-sent events for the topics a live token names, while its user
/// keeps the session and the right to read them.
#[utoipa::path(get, path = "/api/v1/live/events", operation_id = "live_events", tag = "company",
    params(("slug" = String, Path), ("token" = String, Query, description = "A live token from `POST …/live/token`")),
    responses((status = 200, description = "text/event-stream of the token's topics"), (status = 401), (status = 403)))]
async fn sse(State(state): State<AppState>, tenant: Tenant, Query(q): Query<SseQuery>) -> Result<Response, AppError> {
    let claims = state.keys.verify(&q.token, "live", state.now().as_second())?;
    if claims.ten != tenant.slug {
        return Err(ErrorKind::WrongCompany.into());
    }
    let mut listener = Listener::for_session(&tenant, claims.sub, &claims.sid, Lang::En)?;
    for name in &claims.topics {
        let heard = Topic::parse(name).is_some_and(|t| listener.listen(&state.hub, t));
        if !heard {
            return Err(AppError::new(ErrorKind::Forbidden).with_message("error.topic_forbidden").with_arg("topic", name));
        }
    }
    Ok(sse_response(&state, listener).into_response())
}

fn sse_event(kind: &str, data: serde_json::Value) -> SseEvent {
    SseEvent::default().event(kind).data(data.to_string())
}

/// An SSE response streaming what `listener` hears, re-checked on the
/// stream's timer; also used by the public display board and tracking page.
pub fn sse_response(state: &AppState, listener: Listener) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>> {
    let events = futures_util::stream::unfold(Some((listener, recheck_timer(state))), |st| async move {
        let (mut listener, mut timer) = st?;
        loop {
            tokio::select! {
                ev = listener.next() => {
                    let ev = ev?;
                    let data = serde_json::to_string(&*ev).unwrap_or_default();
                    let sse = SseEvent::default().event(ev.kind.clone()).data(data);
                    return Some((Ok(sse), Some((listener, timer))));
                }
                _ = timer.tick() => match listener.recheck() {
                    Recheck::Kept => {}
                    Recheck::Dropped(topics) => {
                        let sse = sse_event("revoked", serde_json::json!({"topics": topic_names(&topics)}));
                        return Some((Ok(sse), Some((listener, timer))));
                    }
                    // Tell the client why, then end the stream.
                    Recheck::Closed(e) => return Some((Ok(sse_event("closed", serde_json::json!({"reason": e.kind.code()}))), None)),
                },
            }
        }
    });
    // A first event tells the client that its subscriptions are in place.
    let ready = futures_util::stream::once(async { Ok(SseEvent::default().event("ready").data("{}")) });
    let stream = ready.chain(events).take_until(state.hub.closed());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
