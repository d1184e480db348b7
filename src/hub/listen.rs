//! One open live stream (a WebSocket or an SSE response) and the access it
//! keeps: checked when it opens, re-checked while it runs.
//!
//! A signed-in user's stream follows their session. Every re-check (the
//! front-end calls [`Listener::recheck`] on a timer, `Config::live_recheck_ms`)
//! reloads the holder as a request would — the session family is alive, the
//! account active, the role's permissions as they are now — and requires the
//! company to be active (a live stream is not part of setting a company up).
//! When that fails the stream closes; when the holder keeps their session
//! but loses the right to one of its topics, that topic is dropped (its
//! events stop, the front-end tells the client) and the stream goes on
//! with the rest; a stream left with no topic closes.
//!
//! Public streams (a display board, a ticket's tracking page) hold no
//! session and are never closed by a re-check.

use super::{Event, Hub, Topic, may_read};
use crate::auth::session;
use crate::auth::{Caller, Principal};
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::tenancy::Tenant;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

const QUEUE: usize = 256;

/// The company user holding a live stream, as they are now: the session
/// (`sid`) is alive, the account exists and is active, the role's
/// permissions are read afresh, and the company is active.
pub fn stream_holder(tenant: &Tenant, user_id: u64, sid: &str, lang: Lang) -> Result<Principal, AppError> {
    let db = tenant.db()?;
    if !session::family_alive(db, sid)? {
        return Err(ErrorKind::Unauthorized.into());
    }
    let p = Principal::load(tenant, user_id, sid.to_string(), lang)?;
    if !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    Ok(p)
}

/// What a re-check found.
#[derive(Debug)]
pub enum Recheck {
    /// Nothing changed.
    Kept,
    /// The holder may no longer read these topics; their events stopped.
    Dropped(Vec<Topic>),
    /// The stream must end: logged out, switched off, the company closed,
    /// or no topic left.
    Closed(AppError),
}

/// One open stream: the topics it listens to, for whom.
pub struct Listener {
    realm: String,
    caller: Caller,
    /// The session a user's stream follows; `None` for public streams.
    session: Option<(Tenant, u64, String, Lang)>,
    topics: Vec<Listening>,
    tx: mpsc::Sender<Arc<Event>>,
    rx: mpsc::Receiver<Arc<Event>>,
}

struct Listening {
    topic: Topic,
    name: String,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    fn new(realm: &str, caller: Caller, session: Option<(Tenant, u64, String, Lang)>) -> Listener {
        let (tx, rx) = mpsc::channel(QUEUE);
        Listener { realm: realm.to_string(), caller, session, topics: Vec::new(), tx, rx }
    }

    /// A stream for a signed-in user whose session a request has just
    /// checked (the WebSocket's handshake): the company must be active.
    pub fn for_user(p: &Principal) -> Result<Listener, AppError> {
        if !p.tenant.is_active() {
            return Err(ErrorKind::CompanyInactive.into());
        }
        let session = (p.tenant.clone(), p.id, p.sid.clone(), p.lang);
        Ok(Listener::new(&p.tenant.slug, Caller::from(p), Some(session)))
    }

    /// A stream for user `user_id` of `tenant` on session `sid` (named by an
    /// SSE live token): checked as [`stream_holder`] does.
    pub fn for_session(tenant: &Tenant, user_id: u64, sid: &str, lang: Lang) -> Result<Listener, AppError> {
        let p = stream_holder(tenant, user_id, sid, lang)?;
        Listener::for_user(&p)
    }

    /// A stream without a session: `Caller::Public` (a display board) or
    /// `Caller::Customer` (a ticket's tracking page) of company `realm`.
    pub fn public(realm: &str, caller: Caller) -> Listener {
        Listener::new(realm, caller, None)
    }

    /// Who the stream is for, as of the last check.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The topics it listens to.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.iter().map(|l| &l.topic)
    }

    /// Starts listening to `topic` if the caller may read it; false when
    /// refused. A topic listened to twice is heard once.
    pub fn listen(&mut self, hub: &Hub, topic: Topic) -> bool {
        if !may_read(&self.caller, &topic) {
            return false;
        }
        if !self.topics.iter().any(|l| l.topic == topic) {
            let task = forward(hub.subscribe(&self.realm, &topic), self.tx.clone());
            self.topics.push(Listening { name: topic.to_string(), topic, task });
        }
        true
    }

    /// The next event of a topic still listened to. Never ends by itself:
    /// the front-end ends the stream (client gone, re-check, shutdown).
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        loop {
            let ev = self.rx.recv().await?;
            // An event queued before its topic was dropped is not delivered.
            if self.topics.iter().any(|l| l.name == ev.topic) {
                return Some(ev);
            }
        }
    }

    /// Checks the holder again (see the module's documentation). Public
    /// streams are always kept.
    pub fn recheck(&mut self) -> Recheck {
        let Some((tenant, user_id, sid, lang)) = &self.session else { return Recheck::Kept };
        match stream_holder(tenant, *user_id, sid, *lang) {
            Err(e) => Recheck::Closed(e),
            Ok(p) => {
                self.caller = Caller::User(Box::new(p));
                let mut dropped = Vec::new();
                let caller = &self.caller;
                self.topics.retain(|l| {
                    let keep = may_read(caller, &l.topic);
                    if !keep {
                        l.task.abort();
                        dropped.push(l.topic.clone());
                    }
                    keep
                });
                if self.topics.is_empty() {
                    Recheck::Closed(ErrorKind::Forbidden.into())
                } else if dropped.is_empty() {
                    Recheck::Kept
                } else {
                    Recheck::Dropped(dropped)
                }
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for l in &self.topics {
            l.task.abort();
        }
    }
}

fn forward(mut sub: broadcast::Receiver<Arc<Event>>, tx: mpsc::Sender<Arc<Event>>) -> tokio::task::JoinHandle<()> {
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
