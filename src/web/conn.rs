//! Connection accounting: how many connections the server holds, in total
//! and per client address, and how many of them are live streams (SSE,
//! WebSocket). The caps come from the process's file-descriptor limit, read
//! (and raised to the hard limit) at start, less a margin kept for the data
//! files, so that slow or idle clients cannot take every descriptor.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Descriptors kept for the data files (company databases, search indexes,
/// logs) whatever the limit: at least this many, or a fifth of the limit.
pub const FD_MARGIN_MIN: u64 = 256;

/// The connection caps in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub total: usize,
    pub per_address: usize,
    pub live: usize,
}

/// The soft RLIMIT_NOFILE, after raising it to the hard limit where the
/// process may; `None` where it cannot be read.
pub fn fd_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (lim.current, lim.maximum)
        && cur < max
    {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(max), maximum: Some(max) });
    }
    let lim = getrlimit(Resource::Nofile);
    // `None` is "unlimited": count it as a generous fixed number.
    Some(lim.current.unwrap_or(1 << 20))
}

/// The caps from the configuration, filling what it leaves open from the
/// descriptor limit.
pub fn caps(config: &crate::config::Config, fd_limit: Option<u64>) -> Caps {
    let limit = fd_limit.unwrap_or(1024);
    let margin = (limit / 5).max(FD_MARGIN_MIN);
    let from_fds = usize::try_from(limit.saturating_sub(margin)).unwrap_or(usize::MAX).max(16);
    let total = config.max_connections.unwrap_or(from_fds).min(from_fds).max(1);
    let per_address = config.max_connections_per_address.clamp(1, total);
    let live = config.max_live_streams.unwrap_or(total / 2).clamp(1, total);
    Caps { total, per_address, live }
}

/// The connections open now.
pub struct Conns {
    caps: Caps,
    total: AtomicUsize,
    live: AtomicUsize,
    per: Mutex<HashMap<IpAddr, usize>>,
}

impl Conns {
    pub fn new(caps: Caps) -> Arc<Conns> {
        Arc::new(Conns { caps, total: AtomicUsize::new(0), live: AtomicUsize::new(0), per: Mutex::new(HashMap::new()) })
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Admits a new connection from `ip`, or `None` when the total or the
    /// address's share is used up. The guard gives the place back on drop.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnGuard> {
        let mut per = self.per.lock().unwrap_or_else(|e| e.into_inner());
        if self.total.load(Ordering::Relaxed) >= self.caps.total {
            return None;
        }
        let n = per.entry(ip).or_insert(0);
        if *n >= self.caps.per_address {
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("idora_connections_open").increment(1.0);
        Some(ConnGuard { conns: self.clone(), ip })
    }

    /// A place for one live stream, or `None` when the budget is spent.
    pub fn live_permit(self: &Arc<Self>) -> Option<LivePermit> {
        let prev = self.live.fetch_add(1, Ordering::Relaxed);
        if prev >= self.caps.live {
            self.live.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        metrics::gauge!("idora_live_connections").increment(1.0);
        Some(LivePermit { conns: self.clone() })
    }
}

/// One admitted connection; dropped with the connection's socket.
pub struct ConnGuard {
    conns: Arc<Conns>,
    ip: IpAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut per = self.conns.per.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
        self.conns.total.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("idora_connections_open").decrement(1.0);
    }
}

/// One open live stream.
pub struct LivePermit {
    conns: Arc<Conns>,
}

impl Drop for LivePermit {
    fn drop(&mut self) {
        self.conns.live.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("idora_live_connections").decrement(1.0);
    }
}

/// A connection's state shared between its socket ([`Counted`]) and the
/// requests served on it: whether a request is being served, whether the
/// socket was upgraded (a WebSocket), and the live stream's permit once it is
/// (the socket outlives the HTTP connection then, so the permit travels with
/// the socket).
#[derive(Clone, Default)]
pub struct Slot(Arc<SlotState>);

#[derive(Default)]
struct SlotState {
    permit: Mutex<Option<LivePermit>>,
    /// Requests handed to the service whose response is not yet sent.
    in_flight: AtomicUsize,
    /// The header timer runs: a new request has begun (or the connection
    /// was just accepted) and its head has not reached the service yet.
    head_due: AtomicBool,
    /// Upgraded: no more HTTP, no header timer.
    upgraded: AtomicBool,
}

impl Slot {
    /// The socket now carries a WebSocket, holding `permit` (if any) until
    /// it closes.
    pub fn upgrade(&self, permit: Option<LivePermit>) {
        self.0.upgraded.store(true, Ordering::Relaxed);
        self.0.head_due.store(false, Ordering::Relaxed);
        if let Some(p) = permit {
            *self.0.permit.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
        }
    }

    /// A request's head reached the service: its header timer stops, and the
    /// connection is busy until the guard (kept by the response body) drops.
    pub fn begin(&self) -> InFlight {
        self.0.in_flight.fetch_add(1, Ordering::Relaxed);
        self.0.head_due.store(false, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// One request being served on a connection; dropped when its response has
/// been sent (hyper drops the body once written) or abandoned.
pub struct InFlight(Slot);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request [`InFlight`] (and a live
/// stream's permit, for SSE) until hyper has written it or dropped it. Sizes
/// pass through, so a response keeps its `Content-Length`.
pub struct Tracked {
    body: axum::body::Body,
    _in_flight: InFlight,
    _permit: Option<LivePermit>,
}

impl Tracked {
    pub fn new(body: axum::body::Body, in_flight: InFlight, permit: Option<LivePermit>) -> Self {
        Tracked { body, _in_flight: in_flight, _permit: permit }
    }
}

impl hyper::body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A client socket with its place in the accounting (given back when the
/// socket is dropped, whether by hyper or, after an upgrade, by the
/// WebSocket's task) and the header timeout: a request's head must reach
/// the service within `head_timeout` of its first byte, or of the accept for
/// a new connection. hyper's own `header_read_timeout` starts when it waits
/// for the next head, so it also runs while a kept-alive connection is idle;
/// it is set to the keep-alive time and this timer keeps slow heads short.
/// When it fires the read fails (`TimedOut`) and hyper closes the connection.
pub struct Counted<IO> {
    io: IO,
    _guard: ConnGuard,
    slot: Slot,
    head_timeout: std::time::Duration,
    head_timer: Pin<Box<tokio::time::Sleep>>,
}

impl<IO> Counted<IO> {
    pub fn new(io: IO, guard: ConnGuard, slot: Slot, head_timeout: std::time::Duration) -> Self {
        // A new connection owes its first head at once.
        slot.0.head_due.store(true, Ordering::Relaxed);
        Counted { io, _guard: guard, slot, head_timeout, head_timer: Box::pin(tokio::time::sleep(head_timeout)) }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Counted<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let state = &this.slot.0;
        if state.upgraded.load(Ordering::Relaxed) {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        if state.head_due.load(Ordering::Relaxed) && this.head_timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "request head not received in time")));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before
            // The first byte of a request on an idle kept-alive connection:
            // its head is due within the timeout from now.
            && state.in_flight.load(Ordering::Relaxed) == 0
            && !state.head_due.swap(true, Ordering::Relaxed)
        {
            this.head_timer.as_mut().reset(tokio::time::Instant::now() + this.head_timeout);
            // Registers the waker, so the deadline wakes a connection that
            // receives nothing more.
            let _ = this.head_timer.as_mut().poll(cx);
        }
        read
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Counted<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Put on a live stream's request by the accept loop when the live-stream
/// budget is spent: [`refuse_spent_live_budget`], inside the router's error
/// renderer, answers it 503 in the caller's language.
#[derive(Clone, Copy, Debug)]
pub struct LiveBudgetSpent;

/// Answers a request marked [`LiveBudgetSpent`]: 503, try again in 5 s.
pub async fn refuse_spent_live_budget(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req.extensions().get::<LiveBudgetSpent>().is_some() {
        return crate::error::AppError::new(crate::error::ErrorKind::Unavailable)
            .with_message("error.live_streams_full")
            .with_retry_after(REFUSED_RETRY_AFTER_SECS)
            .into_response();
    }
    next.run(req).await
}

/// Seconds a client refused for a cap is told to wait (`Retry-After`).
pub const REFUSED_RETRY_AFTER_SECS: u64 = 5;

/// What a connection over a cap is answered, without reading its request:
/// 503 with `Retry-After`, closing, and the usual JSON error. Its language
/// is unknown before the request is read: the default one, Uzbek.
pub fn refusal() -> Vec<u8> {
    let message = crate::i18n::t(crate::i18n::Lang::Uz, "error.connections_full");
    let body = serde_json::json!({"error": {"kind": crate::error::ErrorKind::Unavailable.code(), "message": message}}).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {REFUSED_RETRY_AFTER_SECS}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers a connection refused for a cap ([`refusal`]) and closes it,
/// within `within` in all: the answer is written, the sending side shut,
/// and what the client sent meanwhile is discarded until it closes too (so
/// that the close does not reset the connection before the client has read
/// the answer). The request is never parsed.
pub async fn refuse(mut stream: tokio::net::TcpStream, within: std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(within, async {
        stream.write_all(&refusal()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while left > 0 {
            let n = stream.read(&mut sink).await?;
            if n == 0 {
                break;
            }
            left = left.saturating_sub(n);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Whether a request opens a live stream (an SSE stream or the WebSocket).
pub fn is_stream(path: &str) -> bool {
    path.ends_with("/events") || path.ends_with("/api/v1/live")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_total_and_live() {
        let c = Conns::new(Caps { total: 3, per_address: 2, live: 1 });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = c.admit(a).unwrap();
        let _a2 = c.admit(a).unwrap();
        assert!(c.admit(a).is_none(), "the address's share");
        let b1 = c.admit(b).unwrap();
        assert!(c.admit(b).is_none(), "the total");
        drop(b1);
        drop(a1);
        assert_eq!(c.open(), 1);
        let _a3 = c.admit(a).unwrap();
        let p = c.live_permit().unwrap();
        assert!(c.live_permit().is_none());
        drop(p);
        assert!(c.live_permit().is_some());
    }

    #[test]
    fn caps_keep_a_margin_of_descriptors() {
        let config = crate::config::Config::default();
        let c = caps(&config, Some(1024));
        assert_eq!(c.total, 1024 - 256);
        assert_eq!(c.live, c.total / 2);
        let c = caps(&config, Some(20_000));
        assert_eq!(c.total, 16_000);
        let small = crate::config::Config { max_connections: Some(100), ..crate::config::Config::default() };
        assert_eq!(caps(&small, Some(20_000)).total, 100);
    }
}
