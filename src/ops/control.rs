//! The control socket: `DATA/control.sock` (0600), on which a running
//! server answers the command line, since redb locks its files against a
//! second process. HTTP/1 over the Unix socket (hyper, no router: a few
//! routes), bodies are plain paths, answers JSON (errors `{"error": "…"}`):
//!
//! - `POST /backup` (body: the archive's path, written by the server) →
//!   the manifest's summary; `GET /backup` → the last backup's status;
//! - `GET /routes?format=nginx&upstream=X` → the reverse proxy's map;
//! - `POST /companies/{slug}/export` (body: the archive's path) and
//!   `POST /companies/import` (body: the archive's path).
//!
//! The socket is made in a private folder, set to 0600 and only then moved
//! to its name, so nobody else ever reaches it; a stale one (nobody
//! answers) is replaced at start and it is removed at shutdown.

use super::archive::describe;
use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use std::path::{Path, PathBuf};

/// The socket's name in the data folder.
pub const SOCKET: &str = "control.sock";

/// The running control socket. [`Control::shutdown`] (or dropping it)
/// stops it and removes the socket file.
pub struct Control {
    path: PathBuf,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Control {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops answering (a command in progress finishes) and removes the socket.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Listens on `DATA/control.sock`. Another server answering there is an
/// error; a socket nobody answers on (left by a crash) is replaced.
pub async fn start(state: AppState) -> std::io::Result<Control> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let data = state.config.data_dir.clone();
    let path = data.join(SOCKET);
    if std::fs::symlink_metadata(&path).is_ok() {
        if tokio::net::UnixStream::connect(&path).await.is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} answers: another server runs on this data folder", path.display()),
            ));
        }
        std::fs::remove_file(&path)?;
    }
    // Bound where only we can reach it, made 0600, then moved to its name.
    let private = data.join(format!(".c{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let bound = private.join(SOCKET);
    let listener = tokio::net::UnixListener::bind(&bound);
    let moved = listener.and_then(|l| {
        std::fs::set_permissions(&bound, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&bound, &path)?;
        Ok(l)
    });
    let _ = std::fs::remove_dir_all(&private);
    let listener = moved?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let st = state.clone();
                    conns.spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let st = st.clone();
                            async move { Ok::<_, std::convert::Infallible>(handle(&st, req).await) }
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                            tracing::debug!(error = %e, "control socket: connection ended");
                        }
                    });
                }
            }
            while conns.try_join_next().is_some() {}
        }
        // Commands under way finish before the server goes.
        while conns.join_next().await.is_some() {}
    });
    tracing::info!(socket = %path.display(), "control socket listening");
    Ok(Control { path, stop: Some(stop), task: Some(task) })
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}

fn failure(e: &AppError) -> Response<Full<Bytes>> {
    let status = match e.kind {
        ErrorKind::BadRequest | ErrorKind::Validation => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "control socket: command failed");
    }
    json(status, serde_json::json!({"error": describe(e)}))
}

fn bad(msg: impl Into<String>) -> AppError {
    super::archive::ops_error(ErrorKind::BadRequest, msg)
}

/// The body: one absolute path.
async fn path_body(req: Request<hyper::body::Incoming>) -> Result<PathBuf, AppError> {
    let body = Limited::new(req.into_body(), 64 * 1024).collect().await.map_err(|e| bad(format!("the request body: {e}")))?.to_bytes();
    let text = std::str::from_utf8(&body).map_err(|_| bad("the path is not UTF-8"))?.trim();
    let p = PathBuf::from(text);
    if !p.is_absolute() {
        return Err(bad(format!("{text:?} is not an absolute path")));
    }
    Ok(p)
}

fn query(req: &Request<hyper::body::Incoming>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

async fn handle(state: &AppState, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result: Result<serde_json::Value, AppError> = match (&method, segments.as_slice()) {
        (&Method::POST, ["backup"]) => match path_body(req).await {
            Ok(out) => super::backup::backup_all(state, &out).await.map(|m| m.summary()),
            Err(e) => Err(e),
        },
        (&Method::GET, ["backup"]) => Ok(serde_json::json!({"last": super::backup::last_status(state)})),
        (&Method::GET, ["routes"]) => {
            let format = query(&req, "format").unwrap_or_else(|| "nginx".into());
            let upstream = query(&req, "upstream").unwrap_or_else(|| "idora".into());
            if format != "nginx" {
                Err(bad(format!("routes: format {format:?} is not known (nginx)")))
            } else if !super::routes::valid_upstream(&upstream) {
                Err(bad(format!("routes: {upstream:?} is not an nginx upstream name")))
            } else {
                let text = super::routes::nginx(state, &upstream);
                let mut r = Response::new(Full::new(Bytes::from(text)));
                r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
                return r;
            }
        }
        (&Method::POST, ["companies", "import"]) => match path_body(req).await {
            Ok(file) => super::company::import(state, &file).await.map(|i| serde_json::json!({"slug": i.slug, "users": i.users})),
            Err(e) => Err(e),
        },
        (&Method::POST, ["companies", slug, "export"]) => {
            let slug = slug.to_string();
            match path_body(req).await {
                Ok(out) => super::company::export(state, &slug, &out)
                    .await
                    .map(|x| serde_json::json!({"slug": x.slug, "bytes": x.bytes, "files": x.files})),
                Err(e) => Err(e),
            }
        }
        _ => Err(super::archive::ops_error(ErrorKind::NotFound, format!("control socket: no {method} {path}"))),
    };
    match result {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => failure(&e),
    }
}

// ---------- the client ----------

/// What the server answered: the status and the body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Asks the server running on `data_dir`. `Ok(None)`: nobody answers there
/// (no socket, or a stale one): do it offline.
pub async fn ask(data_dir: &Path, method: &str, path_and_query: &str, body: &str) -> anyhow::Result<Option<Answer>> {
    let sock = data_dir.join(SOCKET);
    let stream = match tokio::net::UnixStream::connect(&sock).await {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => return Ok(None),
        Err(e) => anyhow::bail!("{}: {e}", sock.display()),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(hyper::header::HOST, "idora")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(Some(Answer { status, body: String::from_utf8_lossy(&bytes).into_owned() }))
}
