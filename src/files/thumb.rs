//! Thumbnails: a JPEG at most 320 px on its longer side, made after the
//! upload's answer by a blocking task (one at a time), with decode limits
//! so that a decompression bomb cannot eat memory. Stored under its own
//! sha256 like any content and recorded in the file's record; until then
//! `GET /files/{id}/thumb` is a 404.

use super::{BLOBS, backend::io_err, use_blob};
use crate::app::AppState;
use crate::error::AppError;
use crate::store::schema::FILES;
use crate::tenancy::Tenant;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

/// Longest side of a thumbnail, in pixels.
pub const MAX_SIDE: u32 = 320;
/// Images larger than this (bytes) get no thumbnail.
const MAX_SOURCE: u64 = 40 * 1024 * 1024;
/// What a decoder may allocate, and the largest image it accepts.
const MAX_ALLOC: u64 = 128 * 1024 * 1024;
const MAX_PIXELS_SIDE: u32 = 12_000;

/// One thumbnail at a time: decoding is memory-hungry.
static ONE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Whether a file of this type gets a thumbnail.
pub fn wanted(mime: &str) -> bool {
    matches!(mime, "image/jpeg" | "image/png" | "image/webp" | "image/gif")
}

/// Makes file `id`'s thumbnail in the background; a failure is logged.
pub fn spawn(state: AppState, tenant: Tenant, id: u64) {
    tokio::spawn(async move {
        if let Err(e) = make(&state, &tenant, id).await {
            tracing::warn!(error = %e, company = %tenant.slug, file = id, "files: no thumbnail");
        }
    });
}

/// Scales `bytes` (an image) to a JPEG thumbnail, within the decode limits.
pub fn render(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    limits.max_image_width = Some(MAX_PIXELS_SIDE);
    limits.max_image_height = Some(MAX_PIXELS_SIDE);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let small = img.thumbnail(MAX_SIDE, MAX_SIDE).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&small).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

async fn make(state: &AppState, tenant: &Tenant, id: u64) -> Result<(), AppError> {
    let _one = ONE.acquire().await.map_err(|e| AppError::internal(anyhow::anyhow!("files: thumb: {e}")))?;
    let Some(f) = FILES.open(&tenant.db()?.read()?)?.get(id)? else { return Ok(()) };
    if f.thumb.is_some() || f.size > MAX_SOURCE || !wanted(&f.mime) {
        return Ok(());
    }
    let mut stream = state.files.get(&tenant.slug, &f.sha256, 0..f.size).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(f.size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|e| io_err("read", e))?);
    }
    let jpeg = match tokio::task::spawn_blocking(move || render(&bytes)).await {
        Ok(Ok(j)) => j,
        Ok(Err(why)) => {
            tracing::info!(company = %tenant.slug, file = id, why, "files: image does not decode; no thumbnail");
            return Ok(());
        }
        Err(e) => return Err(AppError::internal(anyhow::anyhow!("files: thumb task: {e}"))),
    };
    let sha = hex::encode(Sha256::digest(&jpeg));
    let dir = super::backend::temp_dir(&state.config.data_dir, &tenant.slug);
    tokio::fs::create_dir_all(&dir).await.map_err(|e| io_err("create temp dir", e))?;
    let path = dir.join(format!("thumb-{}", hex::encode(crate::store::random_bytes::<16>())));
    let temp = super::Temp { path: path.clone(), keep: false };
    {
        use tokio::io::AsyncWriteExt;
        let mut file = tokio::fs::File::create(&path).await.map_err(|e| io_err("create temp", e))?;
        file.write_all(&jpeg).await.map_err(|e| io_err("write temp", e))?;
        file.sync_all().await.map_err(|e| io_err("fsync temp", e))?;
    }
    let size = jpeg.len() as u64;
    let shared = BLOBS.read().await;
    state.files.put(&tenant.slug, &sha, &path, size).await?;
    let mut temp = temp;
    temp.keep = true;
    tenant
        .db()?
        .write(move |tx| {
            let mut files = FILES.open(tx)?;
            // The file may have gone (collected) or got its thumbnail meanwhile.
            let Some(mut f) = files.get(id)? else { return Ok(()) };
            if f.thumb.is_some() {
                return Ok(());
            }
            f.thumb = Some(sha.clone());
            files.insert(id, &f)?;
            drop(files);
            use_blob(tx, &sha, size)
        })
        .await?;
    drop(shared);
    Ok(())
}
