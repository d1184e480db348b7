//! `POST /files` (multipart upload, streamed), `GET /files/{id}` (with
//! Range) and `GET /files/{id}/thumb`: parse, call `crate::files`, answer
//! with the headers that keep a file from acting as a page of ours.

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::files::{self, FileMeta};
use crate::web::extract::{CurrentUser, PathId};
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The upload, without the request timeout (a large file takes its time;
/// an upload that stalls is cut off by `files::IDLE_SECS`) and without the
/// global body limit: the company's file limit applies instead.
pub fn upload_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload)).layer(DefaultBodyLimit::disable())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download)).routes(routes!(thumbnail))
}

/// The CSP of every file response: nothing in it runs, loads or submits.
pub const FILE_CSP: &str = "sandbox; default-src 'none'";

/// The upload form: one file in the field `file`, nothing else.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

pub(crate) fn multipart_error(e: MultipartError) -> AppError {
    AppError::new(ErrorKind::BadRequest).with_arg("detail", e.body_text())
}

pub(crate) fn rejection(e: MultipartRejection) -> AppError {
    let kind = if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE { ErrorKind::UnsupportedMediaType } else { ErrorKind::BadRequest };
    AppError::new(kind).with_arg("detail", e.body_text())
}

/// What a refused upload may still read of its body before the answer, so
/// that the client sees the answer rather than a reset connection.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// Uploads a file (multipart, field `file`). Its type is sniffed from the
/// content; its name is kept for display and download.
#[utoipa::path(post, path = "/api/v1/files", tag = "files", params(("slug" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = FileMeta), (status = 400), (status = 413, description = "Over the company's file limit or storage quota"),
        (status = 415), (status = 422)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, axum::Json<FileMeta>), AppError> {
    let mut form = form.map_err(rejection)?;
    let field = loop {
        let Some(field) = form.next_field().await.map_err(multipart_error)? else { return Err(AppError::invalid("file", "files.no_file")) };
        match field.name() {
            Some("file") => break field,
            // The CSRF token a page's form may add.
            Some(crate::web::csrf::FIELD) => continue,
            _ => return Err(AppError::invalid("file", "files.one_file")),
        }
    };
    let meta = store_field(&state, &user.tenant, user.id, field).await?;
    nothing_after(&mut form).await?;
    Ok((StatusCode::CREATED, axum::Json(meta)))
}

/// One file per request: a second one (or any other part after it) is
/// refused; the file just stored is then nobody's and goes with the collector.
pub(crate) async fn nothing_after(form: &mut Multipart) -> Result<(), AppError> {
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some(crate::web::csrf::FIELD) {
            return Err(AppError::invalid("file", "files.one_file"));
        }
    }
    Ok(())
}

/// Stores an uploaded part as `uploader`'s file (streamed, within the
/// company's limits). Refused as too large, it reads (and drops) some of
/// what is left, so the client sees the answer rather than a reset connection.
pub(crate) async fn store_field(
    state: &AppState,
    tenant: &crate::tenancy::Tenant,
    uploader: u64,
    field: Field<'_>,
) -> Result<FileMeta, AppError> {
    let name = field.file_name().unwrap_or("").to_string();
    let mut chunks = field.map(|c| c.map_err(multipart_error));
    let out = files::upload_as(state, tenant, uploader, &name, &mut chunks).await;
    if out.as_ref().is_err_and(|e| e.kind == ErrorKind::PayloadTooLarge) {
        let mut left = DRAIN_BYTES;
        while let Ok(Some(Ok(c))) = tokio::time::timeout(std::time::Duration::from_secs(5), chunks.next()).await {
            left = left.saturating_sub(c.len() as u64);
            if left == 0 {
                break;
            }
        }
    }
    out
}

/// `a-b`, `a-` or `-n` of `bytes=`; one range only (several: the whole
/// file). `Err(())`: not satisfiable.
fn parse_range(v: &str, size: u64) -> Option<Result<std::ops::Range<u64>, ()>> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.trim().split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        size.saturating_sub(n)..size
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() { size } else { b.parse::<u64>().ok()?.saturating_add(1).min(size) };
        if b.parse::<u64>().is_ok_and(|e| e < start) {
            return None;
        }
        start..end
    };
    if range.start >= size || range.start >= range.end {
        return Some(Err(()));
    }
    Some(Ok(range))
}

/// `attachment; filename="report.pdf"; filename*=UTF-8''…`: an ASCII
/// fallback and the name as given (RFC 5987/6266).
pub fn disposition(kind: &str, name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' && c != ';' { c } else { '_' }).collect();
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            enc.push(char::from(b));
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{enc}")
}

fn file_headers(h: &mut HeaderMap, etag: &str) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FILE_CSP));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    // The content under an id never changes; only its reader may keep it.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
}

/// Serves content `sha` (`size` bytes, type `mime`) honouring Range and If-None-Match.
async fn serve(
    state: &AppState,
    user: &CurrentUser,
    req: &HeaderMap,
    sha: &str,
    size: u64,
    mime: &str,
    disposition: String,
) -> Result<Response, AppError> {
    let etag = format!("\"{sha}\"");
    let mut resp = Response::new(Body::empty());
    file_headers(resp.headers_mut(), sha);
    if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(resp);
    }
    // A Range whose If-Range names other content: the whole file.
    let if_range_ok = req.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).is_none_or(|v| v.trim() == etag);
    let range = req.get(header::RANGE).and_then(|v| v.to_str().ok()).filter(|_| if_range_ok).and_then(|v| parse_range(v, size));
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    let range = match range {
        Some(Err(())) => {
            *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            resp.headers_mut().remove(header::CONTENT_DISPOSITION);
            return Ok(resp);
        }
        Some(Ok(r)) => {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end.saturating_sub(1))) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        None => 0..size,
    };
    let len = range.end.saturating_sub(range.start);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let stream = files::read(state, &user.tenant, sha, range).await?;
    *resp.body_mut() = Body::from_stream(stream);
    Ok(resp)
}

/// Who may read a thread, as the chat decides (its one rule).
fn may_read_thread(user: &CurrentUser) -> impl Fn(u64) -> Result<bool, AppError> + '_ {
    let who = crate::auth::Caller::from(user);
    move |thread| crate::chat::may_read(user.tenant.db()?, &who, thread)
}

/// A file's bytes. Images, audio, video and PDF show in place; everything
/// else (HTML, SVG, scripts above all) downloads under its name. A single
/// Range is answered with 206; one past the end with 416.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, description = "The file's bytes, of its sniffed type", content_type = "*/*"),
        (status = 206, description = "The requested range", content_type = "*/*"), (status = 304), (status = 404),
        (status = 416, description = "The range starts past the end")),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let f = files::open(&user.tenant, user.id, id, &may_read_thread(&user))?;
    let kind = if files::inline(&f.mime) { "inline" } else { "attachment" };
    serve(&state, &user, &headers, &f.sha256, f.size, &f.mime, disposition(kind, &f.name)).await
}

/// A JPEG of at most 320 px on its longer side, for images (the photo
/// itself until it is made, shortly after the upload); 404 for other files.
#[utoipa::path(get, path = "/api/v1/files/{id}/thumb", tag = "files", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, description = "The thumbnail (a JPEG), or the photo until it is made", content_type = "image/*"), (status = 304), (status = 404)),
    security(("bearer" = [])))]
pub async fn thumbnail(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let f = files::open(&user.tenant, user.id, id, &may_read_thread(&user))?;
    // In the second before its thumbnail is made, a photo stands in for it
    // (a chat page shows it at once, scaled, instead of a broken image).
    if f.thumb.is_none() && files::thumb::wanted(&f.mime) {
        let private = format!("{}.thumb", f.name);
        return serve(&state, &user, &headers, &f.sha256, f.size, &f.mime, disposition("inline", &private))
            .await
            .map(IntoResponse::into_response);
    }
    let thumb = f.thumb.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("files.no_thumb"))?;
    let size = files::blob_size(&user.tenant, &thumb)?;
    let name = format!("{}.jpg", f.name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(&f.name));
    serve(&state, &user, &headers, &thumb, size, "image/jpeg", disposition("inline", &name)).await.map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok(0..10)));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok(90..100)));
        assert_eq!(parse_range("bytes=-5", 100), Some(Ok(95..100)));
        assert_eq!(parse_range("bytes=-500", 100), Some(Ok(0..100)));
        assert_eq!(parse_range("bytes=95-200", 100), Some(Ok(95..100)));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=-0", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=x-", 100), None);
    }

    #[test]
    fn dispositions() {
        assert_eq!(disposition("attachment", "report.pdf"), "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
        assert_eq!(
            disposition("attachment", "hisobot \"1\".pdf"),
            "attachment; filename=\"hisobot _1_.pdf\"; filename*=UTF-8''hisobot%20%221%22.pdf"
        );
        assert_eq!(
            disposition("inline", "отчёт.pdf"),
            "inline; filename=\"_____.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"
        );
    }
}
