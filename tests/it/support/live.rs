//! The live hub as a client hears it: a WebSocket's JSON messages and a
//! server-sent event stream's events, each waited for 10 s at most.

use super::{Server, c};
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;

/// How long a test waits for a message or an event.
pub const WAIT: Duration = Duration::from_secs(10);

/// The WebSocket request for a company's live hub; an empty token sends none.
pub fn ws_request(s: &Server, slug: &str, token: &str) -> Request {
    let url = s.url(&c(slug, "/live")).replace("http://", "ws://");
    let mut req = url.into_client_request().unwrap();
    if !token.is_empty() {
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    req
}

/// The next JSON text message of the socket (pings skipped).
pub async fn next_json<S>(ws: &mut S) -> Value
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a message in time").expect("the socket is open").unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Reads the SSE stream until an event of `kind` arrives; returns its data.
pub async fn sse_until(resp: &mut reqwest::Response, buf: &mut String, kind: &str) -> Value {
    sse_find(resp, buf, &format!("an event {kind}"), |event, _| event == kind).await.1
}

/// Reads the SSE stream until an event whose data contains `needle`
/// arrives; returns its kind and data.
pub async fn sse_with(resp: &mut reqwest::Response, buf: &mut String, needle: &str) -> (String, Value) {
    sse_find(resp, buf, &format!("an event with {needle}"), |_, data| data.contains(needle)).await
}

/// Reads complete events (the stream's text is kept in `buf` between calls)
/// until one is `wanted`; the ones before it are passed over.
async fn sse_find(resp: &mut reqwest::Response, buf: &mut String, what: &str, wanted: impl Fn(&str, &str) -> bool) -> (String, Value) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // Complete events end with a blank line.
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if wanted(event, &data) {
                return (event.to_string(), serde_json::from_str(&data).unwrap_or(Value::Null));
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk()).await.unwrap_or_else(|_| panic!("no {what} in time")).unwrap();
        let chunk = chunk.unwrap_or_else(|| panic!("the stream ended before {what}"));
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}
