//! The live hub: topic-based events fanned out to WebSocket and SSE clients.
//!
//! Topics are scoped by realm: a company's topics live under its slug, so no
//! subscriber can reach another company's events. Within a company a topic is
//! a [`Topic`] (`user:7`, `audit`, `queue:branch:3`, …); [`may_read`] is the
//! one rule over who reads which, and a [`Listener`] is one open stream that
//! follows its holder's session (see `listen.rs`).

mod listen;
mod topic;

pub use listen::{Listener, Recheck, stream_holder};
pub use topic::{Topic, may_read};

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
    /// `topic` is a [`Topic`] or its text form.
    pub fn publish(&self, realm: &str, topic: &Topic, kind: &str, data: serde_json::Value, at: jiff::Timestamp) {
        let topic = topic.to_string();
        let k = key(realm, &topic);
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = topics.get(&k) {
            let ev = Arc::new(Event { topic, kind: kind.to_string(), data, at: at.to_string() });
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

    /// Every event of `topic` in `realm` from now on. Streams go through a
    /// [`Listener`], which checks who may read it.
    pub fn subscribe(&self, realm: &str, topic: &Topic) -> broadcast::Receiver<Arc<Event>> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.entry(key(realm, &topic.to_string())).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).subscribe()
    }
}
