//! The live hub over a real WebSocket and a real SSE stream.

use crate::support::*;
use futures_util::SinkExt;
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
