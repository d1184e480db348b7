//! Running the HTTP server: bind, serve with client addresses, and stop
//! gracefully on SIGTERM or Ctrl-C (in-flight requests finish, live streams
//! are ended; every acknowledged write is already durable).

use crate::app::AppState;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A server running in this process; used by `idora serve` and by tests.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks the server to stop and waits until it has.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = crate::web::router(state.clone());
    let hub_state = state.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                // Live streams never end by themselves: end them, or the
                // graceful shutdown would wait for every display board.
                hub_state.hub.close();
            })
            .await
    });
    Ok(Running { addr, state, stop: Some(stop), task })
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
