//! Running the HTTP server: bind, accept with connection caps (web::conn),
//! serve HTTP/1 with a header timeout, an idle keep-alive timeout and
//! client addresses, answer 503 to connections over a cap, and stop
//! gracefully on SIGTERM or Ctrl-C (in-flight requests finish, live streams
//! are ended; every acknowledged write is already durable).

use super::conn::{self, Conns, Counted, Slot};
use crate::app::AppState;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Refused connections being answered at once, at most.
const REFUSALS_AT_ONCE: usize = 64;
/// How long answering a refused connection may take.
const REFUSAL_WITHIN: Duration = Duration::from_secs(1);

/// A server running in this process; used by `idora serve` and by tests.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The connections it holds.
    pub conns: Arc<Conns>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// `DATA/control.sock`, through which `idora backup` and friends reach this server.
    control: Option<crate::ops::control::Control>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks the server to stop and waits until it has.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        self.state.bots.stop_all(std::time::Duration::from_secs(5)).await;
        if let Some(c) = self.control.take() {
            c.shutdown().await;
        }
        let served = self.task.await.map_err(std::io::Error::other)?;
        crate::notify::outbox::stop(&self.state).await;
        served
    }
}

/// Binds `state.config.listen` (port 0 picks a free port) and serves.
pub async fn start(state: AppState) -> std::io::Result<Running> {
    let listener = TcpListener::bind(state.config.listen).await?;
    let addr = listener.local_addr()?;
    let caps = conn::caps(&state.config, conn::fd_limit());
    tracing::info!(max_connections = caps.total, per_address = caps.per_address, live_streams = caps.live, "connection caps");
    let conns = Conns::new(caps);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let router = crate::web::router(state.clone());
    let task = tokio::spawn(serve(listener, router, state.clone(), conns.clone(), stopped));
    // The company bots run beside the server (their list is in platform.redb).
    let bots = state.clone();
    tokio::spawn(async move { crate::bot::start_all(&bots).await });
    // Without it the commands work only with the server stopped; the server serves on.
    let control = match crate::ops::control::start(state.clone()).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "control socket not started: `idora backup` cannot reach this server");
            None
        }
    };
    Ok(Running { addr, state, conns, stop: Some(stop), task, control })
}

/// The accept loop: admits a connection within the caps (or closes it at
/// once), serves it, and on stop ends the live streams, lets the requests
/// in flight finish and closes the idle connections.
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    conns: Arc<Conns>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        // hyper's header timer also runs while a kept-alive connection waits
        // for its next request: at the keep-alive time it closes an idle
        // connection. The request's own header timeout, from its first byte
        // (or the accept), is `Counted`'s.
        .header_read_timeout(Duration::from_secs(state.config.keep_alive_secs))
        .keep_alive(true);
    let head_timeout = Duration::from_secs(state.config.header_timeout_secs);
    // Refusals being written at once; past this a refused connection is
    // just closed (a flood must not turn into as many tasks).
    let refusing = Arc::new(tokio::sync::Semaphore::new(REFUSALS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was
                    // accepted: wait a little, never stop serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(guard) = conns.admit(peer.ip()) else {
            // Over a cap: "503, retry in a moment", written apart from this
            // loop and given up after a second.
            if let Ok(permit) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    conn::refuse(stream, REFUSAL_WITHIN).await;
                    drop(permit);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let slot = Slot::default();
        let io = hyper_util::rt::TokioIo::new(Counted::new(stream, guard, slot.clone(), head_timeout));
        let (router, conns2, http) = (router.clone(), conns.clone(), http.clone());
        let mut stop = stopped.clone();
        tasks.spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let (router, conns, slot) = (router.clone(), conns2.clone(), slot.clone());
                async move { Ok::<_, std::convert::Infallible>(route(router, conns, slot, req.map(axum::body::Body::new)).await) }
            });
            let conn = http.serve_connection(io, svc).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { drop(stop.wait_for(|s| *s).await) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    // Live streams never end by themselves: end them, or the graceful
    // shutdown would wait for every display board.
    state.hub.close();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// One request: it marks the connection busy until its response is sent
/// (no header timer meanwhile); a live stream takes a place in the live
/// budget (refused with 503 when it is spent) and keeps it while the stream
/// is open.
async fn route(router: axum::Router, conns: Arc<Conns>, slot: Slot, mut req: Request) -> Response {
    let in_flight = slot.begin();
    let permit = if conn::is_stream(req.uri().path()) {
        let permit = conns.live_permit();
        if permit.is_none() {
            // Answered by the router, so in the caller's language.
            req.extensions_mut().insert(conn::LiveBudgetSpent);
        }
        permit
    } else {
        None
    };
    let resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
    if resp.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        // The socket outlives this response: the permit goes with it.
        slot.upgrade(permit);
        return resp;
    }
    resp.map(|body| axum::body::Body::new(conn::Tracked::new(body, in_flight, permit)))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
