//! The live hub over a real WebSocket and a real SSE stream.

use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use idora::hub::Topic;
use idora::i18n::Lang;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_hears_its_users_role_change() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let other = s.company("other", true).await;
    let (id, token) = s.user(&co, "aziz", "employee").await;

    // No token, or another company's: the handshake is refused.
    match tokio_tungstenite::connect_async(ws_request(&s, "acme", "")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }
    match tokio_tungstenite::connect_async(ws_request(&s, "acme", &other.admin)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }

    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&s, "acme", &token)).await.unwrap();
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["kind"], "hello");
    assert_eq!(hello["user_id"], id);
    assert_eq!(hello["topics"], json!([format!("user:{id}")]));

    // Subscribing: own topic granted, someone else's and the audit refused.
    let mine = format!("user:{id}");
    let theirs = format!("user:{}", co.admin_id);
    ws.send(Message::Text(json!({"subscribe": [mine, theirs, "audit"]}).to_string().into())).await.unwrap();
    let sub = next_json(&mut ws).await;
    assert_eq!(sub["kind"], "subscribed");
    assert_eq!(sub["topics"], json!([mine]));
    assert_eq!(sub["refused"], json!([theirs, "audit"]));
    ws.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "error");

    // The admin changes the user's role: the socket is told.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"role": "manager"})).await.check(200);
    let ev = loop {
        let v = next_json(&mut ws).await;
        if v["kind"] == "role_changed" {
            break v;
        }
    };
    assert_eq!(ev["topic"], mine);
    assert_eq!(ev["data"], json!({"id": id, "role": "manager"}));
    assert!(ev["at"].as_str().unwrap().ends_with('Z'));

    // A change to someone else is not heard here.
    let (other_id, _) = s.user(&co, "bek", "employee").await;
    s.patch(&co.path(&format!("/users/{other_id}")), &co.admin, json!({"role": "operator"})).await.check(200);
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"role": "employee"})).await.check(200);
    let ev = loop {
        let v = next_json(&mut ws).await;
        if v["kind"] == "role_changed" {
            break v;
        }
    };
    assert_eq!(ev["data"], json!({"id": id, "role": "employee"}), "the first event after is our own user's");
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_stream_with_a_live_token_gets_ready_then_events() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (id, token) = s.user(&co, "aziz", "employee").await;
    let topic = format!("user:{id}");

    // The token names only topics the caller may read.
    let r = s.post(&co.path("/live/token"), &token, json!({"topics": [format!("user:{}", co.admin_id)]})).await.refused(403, "forbidden");
    assert!(r.message().contains(&format!("user:{}", co.admin_id)), "{}", r.message());
    s.post(&co.path("/live/token"), &token, json!({"topics": []})).await.refused(422, "validation");
    s.post(&co.path("/live/token"), "", json!({"topics": [topic]})).await.refused(401, "unauthorized");
    let live = s.post(&co.path("/live/token"), &token, json!({"topics": [topic]})).await.check(200);
    let live_token = live.str("token");
    assert!(live.body["expires_in"].as_i64().unwrap() > 0);
    let events_url = live.str("events_url");
    assert_eq!(events_url, format!("/c/acme/api/v1/live/events?token={live_token}"));

    // Refusals: no token, a wrong one, an access token in its place.
    s.get(&co.path("/live/events"), "").await.check(400);
    s.get(&format!("{}?token=nonsense", co.path("/live/events")), "").await.refused(401, "unauthorized");
    s.get(&format!("{}?token={token}", co.path("/live/events")), "").await.refused(401, "unauthorized");

    // The stream: `ready` first, then the events of the topic.
    let mut resp = s.http.get(s.url(&events_url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let mut buf = String::new();
    sse_until(&mut resp, &mut buf, "ready").await;

    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"role": "operator"})).await.check(200);
    let ev = sse_until(&mut resp, &mut buf, "role_changed").await;
    assert_eq!(ev["topic"], topic);
    assert_eq!(ev["data"], json!({"id": id, "role": "operator"}));
}

// Live access follows the session: streams are re-checked every
// `live_recheck_ms` (shortened here) and closed or narrowed as soon as
// the holder's session, account, role or company says so.

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A server whose live streams re-check their holder every 100 ms.
async fn rechecking() -> Server {
    start_with(|c| c.live_recheck_ms = 100).await
}

/// A signed-in socket past its `hello`.
async fn socket(s: &Server, slug: &str, token: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(s, slug, token)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "hello");
    ws
}

/// Subscribes the socket to `topics`; all must be granted.
async fn subscribe(ws: &mut Socket, topics: &[&str]) {
    ws.send(Message::Text(json!({ "subscribe": topics }).to_string().into())).await.unwrap();
    let sub = next_json(ws).await;
    assert_eq!(sub["topics"], json!(topics), "{sub}");
}

/// Waits for the server to close the socket: the `closed` message (whose
/// reason it returns), then the close frame, then nothing.
async fn closed(ws: &mut Socket) -> String {
    let reason = loop {
        let v = next_json(ws).await;
        if v["kind"] == "closed" {
            break v["reason"].as_str().unwrap().to_string();
        }
    };
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("the socket ends in time") {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.unwrap().reason.as_str(), reason);
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return reason,
        }
    }
}

/// An SSE stream of a fresh live token for `topics`, read up to `ready`.
async fn sse_stream(s: &Server, co: &Company, token: &str, topics: &[&str]) -> (reqwest::Response, String, String) {
    let live = s.post(&co.path("/live/token"), token, json!({ "topics": topics })).await.check(200);
    let url = live.str("events_url");
    let mut resp = s.http.get(s.url(&url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut buf = String::new();
    sse_until(&mut resp, &mut buf, "ready").await;
    (resp, buf, url)
}

/// Reads the SSE stream to its end; true when it ends in time.
async fn sse_ends(resp: &mut reqwest::Response) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Err(_) => return false,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return true,
        }
    }
}

fn publish(s: &Server, slug: &str, topic: Topic, kind: &str, data: serde_json::Value) {
    s.state().hub.publish(slug, &topic, kind, data, s.now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_closes_after_logout() {
    let s = rechecking().await;
    let co = s.company("acme", true).await;
    let id = s.add_user(&co, "aziz", "employee").await;
    let pair = s.login("acme", "aziz", USER_PASSWORD).await.check(200);
    let (token, refresh) = (pair.str("access_token"), pair.str("refresh_token"));
    // A second session of the same user is not logged out with the first.
    let other_session = s.login("acme", "aziz", USER_PASSWORD).await.check(200).str("access_token");

    let mut ws = socket(&s, "acme", &token).await;
    let mut kept = socket(&s, "acme", &other_session).await;
    subscribe(&mut ws, &["tasks"]).await;

    // Re-checks of a live session change nothing: events still arrive.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    publish(&s, "acme", Topic::Tasks, "task.changed", json!({"id": 1}));
    assert_eq!(next_json(&mut ws).await["kind"], "task.changed");

    s.post(&co.path("/auth/logout"), "", json!({"refresh_token": refresh})).await.check(204);
    assert_eq!(closed(&mut ws).await, "unauthorized");
    // A new socket on the ended session is refused at the handshake.
    match tokio_tungstenite::connect_async(ws_request(&s, "acme", &token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }

    // The other session goes on hearing its user.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    publish(&s, "acme", Topic::User(id), "notification", json!({"n": 1}));
    let ev = next_json(&mut kept).await;
    assert_eq!((ev["kind"].as_str(), ev["topic"].as_str()), (Some("notification"), Some(format!("user:{id}").as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_stream_closes_after_the_account_is_deactivated() {
    let s = rechecking().await;
    let co = s.company("acme", true).await;
    let (id, token) = s.user(&co, "aziz", "employee").await;
    let topic = format!("user:{id}");
    let (mut resp, mut buf, url) = sse_stream(&s, &co, &token, &[&topic]).await;

    // Alive across re-checks.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    publish(&s, "acme", Topic::User(id), "notification", json!({"n": 1}));
    assert_eq!(sse_until(&mut resp, &mut buf, "notification").await["topic"], topic);

    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"active": false})).await.check(200);
    let why = sse_until(&mut resp, &mut buf, "closed").await;
    assert!(["account_inactive", "unauthorized"].contains(&why["reason"].as_str().unwrap()), "{why}");
    assert!(sse_ends(&mut resp).await, "the stream ends after `closed`");

    // The token no longer opens a stream.
    let r = s.get(&url, "").await;
    assert!([401, 403].contains(&r.status.as_u16()), "{}", r.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_that_removes_audit_view_stops_audit_events() {
    let s = rechecking().await;
    let co = s.company("acme", true).await;
    let (id, token) = s.user(&co, "dilnoza", "director").await;
    let mut ws = socket(&s, "acme", &token).await;
    subscribe(&mut ws, &["audit", "users", "tasks"]).await;
    let (mut sse, mut buf, _) = sse_stream(&s, &co, &token, &["audit"]).await;

    publish(&s, "acme", Topic::Audit, "audit.entry", json!({"n": 1}));
    assert_eq!(next_json(&mut ws).await["kind"], "audit.entry");
    assert_eq!(sse_until(&mut sse, &mut buf, "audit.entry").await["data"], json!({"n": 1}));

    // The company takes `audit.view` from directors: the socket drops the
    // topic and says so; the SSE stream, left with no topic, closes.
    let perms: Vec<&str> = idora::auth::rbac::default_permissions("director").into_iter().filter(|p| *p != "audit.view").collect();
    s.put(&co.path("/roles/director"), &co.admin, json!({ "permissions": perms })).await.check(200);
    let revoked = loop {
        let v = next_json(&mut ws).await;
        if v["kind"] == "revoked" {
            break v;
        }
    };
    assert_eq!(revoked["topics"], json!(["audit"]));
    assert_eq!(sse_until(&mut sse, &mut buf, "closed").await["reason"], "forbidden");
    assert!(sse_ends(&mut sse).await);

    // Audit events no longer arrive; the topics still held do.
    publish(&s, "acme", Topic::Audit, "audit.entry", json!({"n": 2}));
    publish(&s, "acme", Topic::Users, "user.updated", json!({"id": 9}));
    publish(&s, "acme", Topic::Tasks, "task.changed", json!({"id": 1}));
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let v = next_json(&mut ws).await;
        assert_ne!(v["topic"], "audit", "{v}");
        heard.push(v["kind"].as_str().unwrap().to_string());
    }
    heard.sort();
    assert_eq!(heard, ["task.changed", "user.updated"]);
    // Nor can it be asked for again.
    ws.send(Message::Text(json!({"subscribe": ["audit"]}).to_string().into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["refused"], json!(["audit"]));
    s.post(&co.path("/live/token"), &token, json!({"topics": ["audit"]})).await.refused(403, "forbidden");

    // A move to a role without `users.view` drops `users` too; the user's
    // own topic and `tasks` stay.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"role": "employee"})).await.check(200);
    let revoked = loop {
        let v = next_json(&mut ws).await;
        if v["kind"] == "revoked" {
            break v;
        }
    };
    assert_eq!(revoked["topics"], json!(["users"]));
    publish(&s, "acme", Topic::Tasks, "task.changed", json!({"id": 2}));
    assert_eq!(next_json(&mut ws).await["data"], json!({"id": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_company_closes_staff_streams_but_not_its_display_boards() {
    let s = rechecking().await;
    let co = s.company("acme", true).await;
    let (_, token) = s.user(&co, "aziz", "employee").await;
    let branch = s.post(&co.path("/branches"), &co.admin, json!({"name": "Bosh ofis"})).await.check(201).id();

    let mut staff = socket(&s, "acme", &token).await;
    // The owner may still set a closed company up, but not listen in it.
    let mut owner = socket(&s, "acme", &co.admin).await;
    let (mut sse, mut sse_buf, _) = sse_stream(&s, &co, &token, &["tasks"]).await;
    let mut board = s.http.get(s.url(&format!("/c/acme/display/{branch}/events"))).send().await.unwrap();
    assert_eq!(board.status().as_u16(), 200);
    let mut board_buf = String::new();
    sse_until(&mut board, &mut board_buf, "ready").await;

    let root = s.root().await;
    s.post("/api/v1/companies/acme/deactivate", &root, json!({})).await.check(200);
    assert_eq!(closed(&mut staff).await, "company_inactive");
    assert_eq!(closed(&mut owner).await, "company_inactive");
    assert_eq!(sse_until(&mut sse, &mut sse_buf, "closed").await["reason"], "company_inactive");
    assert!(sse_ends(&mut sse).await);
    match tokio_tungstenite::connect_async(ws_request(&s, "acme", &co.admin)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }

    // The hall's display board is public and keeps listening.
    publish(&s, "acme", Topic::QueueBranch(branch), "ticket.called", json!({"number": "A-001"}));
    let ev = sse_until(&mut board, &mut board_buf, "ticket.called").await;
    assert_eq!(ev["topic"], format!("queue:branch:{branch}"));
}

/// Live streams have their own budget (`max_live_streams`): a WebSocket
/// holds its place while it is open, one more is refused with 503 and
/// `Retry-After`, and the place is free again once the socket closes.
#[tokio::test]
async fn live_streams_have_their_own_budget() {
    let s = start_with(|c| c.max_live_streams = Some(1)).await;
    let co = s.company("acme", true).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&s, "acme", &co.admin)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "hello");
    assert_eq!(s.running.conns.live(), 1);
    match tokio_tungstenite::connect_async(ws_request(&s, "acme", &co.admin)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 503);
            assert!(r.headers().contains_key("retry-after"));
        }
        other => panic!("a second stream over the budget: {other:?}"),
    }
    // An SSE stream over the budget too, refused in the caller's language.
    let r = s.send(s.http.get(s.url(&co.path("/events"))).header("accept-language", "ru")).await.refused(503, "unavailable");
    assert_eq!(r.message(), msg(Lang::Ru, "error.live_streams_full"));
    assert_eq!(r.header("retry-after"), Some("5"));
    // Ordinary requests are not part of the budget.
    s.get(&co.path("/me"), &co.admin).await.check(200);
    ws.close(None).await.unwrap();
    drop(ws);
    let deadline = std::time::Instant::now() + WAIT;
    while s.running.conns.live() > 0 {
        assert!(std::time::Instant::now() < deadline, "the place is given back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&s, "acme", &co.admin)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "hello");
}
