//! The live hub: topic-based events fanned out to WebSocket and SSE clients.
//!
//! Topics are scoped by realm: a company's topics live under its slug, so no
//! subscriber can reach another company's events. Within a company a topic is
//! a short path such as `user:7`, `audit` or (later) `queue:branch:3`.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

const CHANNEL_CAPACITY: usize = 256;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub topic: String,
    pub kind: String,
    pub data: serde_json::Value,
    /// RFC 3339, UTC.
    pub at: String,
}

pub struct Hub {
    topics: Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>,
    /// Turns true when the server stops: open streams (display boards,
    /// tracking pages, sockets) end so that a graceful shutdown can finish.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { topics: Mutex::default(), closing: tokio::sync::watch::channel(false).0 }
    }
}

fn key(realm: &str, topic: &str) -> String {
    format!("{realm}/{topic}")
}

impl Hub {
    /// Sends an event to everyone subscribed to `topic` in `realm` now.
    /// Nobody listening is not an error.
    pub fn publish(&self, realm: &str, topic: &str, kind: &str, data: serde_json::Value, at: jiff::Timestamp) {
        let k = key(realm, topic);
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = topics.get(&k) {
            let ev = Arc::new(Event { topic: topic.to_string(), kind: kind.to_string(), data, at: at.to_string() });
            if tx.send(ev).is_err() {
                topics.remove(&k);
            }
        }
        metrics::counter!("idora_hub_events_total").increment(1);
    }

    /// Ends every open stream; called when the server begins to stop.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once the server is stopping.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|c| *c).await;
        }
    }

    pub fn subscribe(&self, realm: &str, topic: &str) -> broadcast::Receiver<Arc<Event>> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.entry(key(realm, topic)).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).subscribe()
    }
}
