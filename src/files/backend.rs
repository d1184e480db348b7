//! Where the bytes of files live: a small trait and its backends. Every
//! upload is first written, hashed and fsynced to a local temp file; the
//! backend then takes it in under its sha256 (`put`), reads byte ranges
//! back (`get`) and deletes content nobody uses (`delete`). The disk
//! backend keeps `<data>/tenants/<slug>/files/<aa>/<rest of the sha>`.

use crate::error::AppError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The bytes of a file (or a range of them), as they are read.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// A content-addressed store of blobs, per company.
pub trait Backend: Send + Sync {
    /// Takes in the fsynced file at `temp` as the content `sha` of company
    /// `slug`: durable when this returns. Content already stored is kept
    /// (stored once) and the temp file dropped.
    fn put<'a>(&'a self, slug: &'a str, sha: &'a str, temp: &'a Path, size: u64) -> BoxFuture<'a, Result<(), AppError>>;
    /// Bytes `range` of content `sha`.
    fn get<'a>(&'a self, slug: &'a str, sha: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<ByteStream, AppError>>;
    /// Removes content `sha` (nothing when it is not there).
    fn delete<'a>(&'a self, slug: &'a str, sha: &'a str) -> BoxFuture<'a, Result<(), AppError>>;
    /// Whether content `sha` is stored (for `idora check` and the tests).
    fn exists<'a>(&'a self, slug: &'a str, sha: &'a str) -> BoxFuture<'a, Result<bool, AppError>>;
    /// Every content sha stored for company `slug` (for the collector's sweep).
    fn list<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Result<Vec<String>, AppError>>;
}

/// The folder of a company's files: `<data>/tenants/<slug>/files`.
pub fn files_dir(data_dir: &Path, slug: &str) -> PathBuf {
    crate::tenancy::tenant_dir(data_dir, slug).join("files")
}

/// Where uploads are written while they arrive: `files/tmp`.
pub fn temp_dir(data_dir: &Path, slug: &str) -> PathBuf {
    files_dir(data_dir, slug).join("tmp")
}

/// A sha256 in hex, as the path of its content: `aa/bbbb…`. Anything else
/// (which no record holds) is refused rather than joined into a path.
fn split_sha(sha: &str) -> Result<(&str, &str), AppError> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(AppError::internal(anyhow::anyhow!("files: not a sha256: {sha:?}")));
    }
    Ok(sha.split_at(2))
}

pub(crate) fn io_err(what: &str, e: std::io::Error) -> AppError {
    let kind =
        if e.kind() == std::io::ErrorKind::StorageFull { crate::error::ErrorKind::StorageFull } else { crate::error::ErrorKind::Internal };
    let mut err = AppError::internal(anyhow::anyhow!("files: {what}: {e}"));
    err.kind = kind;
    err
}

/// Makes a directory's entries durable (a rename or a new entry in it).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Files on the local disk, next to the company's database.
pub struct Disk {
    data_dir: PathBuf,
}

impl Disk {
    pub fn new(data_dir: &Path) -> Disk {
        Disk { data_dir: data_dir.to_path_buf() }
    }

    /// The path of content `sha` of company `slug`.
    pub fn path(&self, slug: &str, sha: &str) -> Result<PathBuf, AppError> {
        let (aa, rest) = split_sha(sha)?;
        Ok(files_dir(&self.data_dir, slug).join(aa).join(rest))
    }

    fn put_blocking(&self, slug: &str, sha: &str, temp: &Path) -> Result<(), AppError> {
        let dest = self.path(slug, sha)?;
        if dest.exists() {
            // Stored once: the same content is already here.
            std::fs::remove_file(temp).map_err(|e| io_err("drop temp", e))?;
            return Ok(());
        }
        let parent = dest.parent().ok_or_else(|| AppError::internal(anyhow::anyhow!("files: no parent")))?;
        if !parent.exists() {
            std::fs::create_dir_all(parent).map_err(|e| io_err("create dir", e))?;
            if let Some(files) = parent.parent() {
                sync_dir(files).map_err(|e| io_err("sync files dir", e))?;
            }
        }
        std::fs::rename(temp, &dest).map_err(|e| io_err("rename", e))?;
        sync_dir(parent).map_err(|e| io_err("sync dir", e))?;
        Ok(())
    }
}

impl Backend for Disk {
    fn put<'a>(&'a self, slug: &'a str, sha: &'a str, temp: &'a Path, _size: u64) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let me = Disk { data_dir: self.data_dir.clone() };
            let (slug, sha, temp) = (slug.to_string(), sha.to_string(), temp.to_path_buf());
            tokio::task::spawn_blocking(move || me.put_blocking(&slug, &sha, &temp))
                .await
                .map_err(|e| AppError::internal(anyhow::anyhow!("files: put: {e}")))?
        })
    }

    fn get<'a>(&'a self, slug: &'a str, sha: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<ByteStream, AppError>> {
        Box::pin(async move {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let path = self.path(slug, sha)?;
            let mut file = tokio::fs::File::open(&path).await.map_err(|e| io_err("open", e))?;
            file.seek(std::io::SeekFrom::Start(range.start)).await.map_err(|e| io_err("seek", e))?;
            let left = range.end.saturating_sub(range.start);
            let stream = futures_util::stream::unfold((file, left), |(mut file, left)| async move {
                if left == 0 {
                    return None;
                }
                let want = usize::try_from(left.min(64 * 1024)).unwrap_or(64 * 1024);
                let mut buf = vec![0u8; want];
                match file.read(&mut buf).await {
                    Ok(0) => Some((Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "file shorter than its record")), (file, 0))),
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), (file, left.saturating_sub(n as u64))))
                    }
                    Err(e) => Some((Err(e), (file, 0))),
                }
            });
            Ok(Box::pin(stream) as ByteStream)
        })
    }

    fn delete<'a>(&'a self, slug: &'a str, sha: &'a str) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let path = self.path(slug, sha)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err("delete", e)),
            }
        })
    }

    fn exists<'a>(&'a self, slug: &'a str, sha: &'a str) -> BoxFuture<'a, Result<bool, AppError>> {
        Box::pin(async move { Ok(tokio::fs::try_exists(self.path(slug, sha)?).await.unwrap_or(false)) })
    }

    fn list<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Result<Vec<String>, AppError>> {
        Box::pin(async move {
            let dir = files_dir(&self.data_dir, slug);
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let Ok(top) = std::fs::read_dir(&dir) else { return out };
                for aa in top.flatten() {
                    let aa_name = aa.file_name().to_string_lossy().to_string();
                    if aa_name.len() != 2 {
                        continue; // tmp/
                    }
                    for rest in std::fs::read_dir(aa.path()).into_iter().flatten().flatten() {
                        let sha = format!("{aa_name}{}", rest.file_name().to_string_lossy());
                        if split_sha(&sha).is_ok() {
                            out.push(sha);
                        }
                    }
                }
                out
            })
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("files: list: {e}")))
        })
    }
}

/// The backend the configuration names.
pub fn open(config: &crate::config::Config) -> anyhow::Result<std::sync::Arc<dyn Backend>> {
    match &config.files {
        crate::config::FilesBackend::Disk => Ok(std::sync::Arc::new(Disk::new(&config.data_dir))),
        crate::config::FilesBackend::S3(c) => Ok(std::sync::Arc::new(S3::new(c)?)),
    }
}

/// A client of the bucket `c` names (the files' and the backups').
pub fn s3_store(c: &crate::config::S3Config) -> anyhow::Result<object_store::aws::AmazonS3> {
    let mut b = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&c.bucket)
        .with_region(&c.region)
        .with_allow_http(c.allow_http)
        .with_virtual_hosted_style_request(false);
    if let Some(e) = &c.endpoint {
        b = b.with_endpoint(e);
    }
    if let Some(k) = &c.access_key_id {
        b = b.with_access_key_id(k);
    }
    if let Some(s) = &c.secret_access_key {
        b = b.with_secret_access_key(s.expose());
    }
    b.build().map_err(|e| anyhow::anyhow!("s3: {e}"))
}

/// An S3-compatible object store (AWS, MinIO, Ceph, moto): content
/// `sha` of company `slug` is the object `<slug>/<sha>`. Uploads larger
/// than one part go up as a multipart upload, a part at a time from the
/// fsynced temp file, so memory stays at a few parts.
pub struct S3 {
    store: object_store::aws::AmazonS3,
}

/// Bytes of one part of a multipart upload (S3's minimum is 5 MiB).
const PART: usize = 8 * 1024 * 1024;

fn s3_err(what: &str, e: object_store::Error) -> AppError {
    AppError::internal(anyhow::anyhow!("files: s3 {what}: {e}"))
}

/// Streams `file` to `key` a part (`PART`) at a time; on a failure the
/// upload is aborted, so no half object stays. A read error of the file is
/// a `Generic` error of the store "local".
pub async fn put_multipart(
    store: &object_store::aws::AmazonS3,
    key: &object_store::path::Path,
    mut file: tokio::fs::File,
) -> Result<(), object_store::Error> {
    use object_store::ObjectStore;
    use tokio::io::AsyncReadExt;
    let upload = store.put_multipart(key).await?;
    let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = match file.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = w.abort().await;
                return Err(object_store::Error::Generic { store: "local", source: Box::new(e) });
            }
        };
        if n == 0 {
            break;
        }
        if let Err(e) = w.wait_for_capacity(2).await {
            let _ = w.abort().await;
            return Err(e);
        }
        w.write(buf.get(..n).unwrap_or_default());
    }
    w.finish().await?;
    Ok(())
}

impl S3 {
    pub fn new(c: &crate::config::S3Config) -> anyhow::Result<S3> {
        Ok(S3 { store: s3_store(c).map_err(|e| anyhow::anyhow!("[files] {e}"))? })
    }

    fn key(slug: &str, sha: &str) -> Result<object_store::path::Path, AppError> {
        split_sha(sha)?;
        Ok(object_store::path::Path::from(format!("{slug}/{sha}")))
    }

    async fn put_file(&self, key: &object_store::path::Path, temp: &Path, size: u64) -> Result<(), AppError> {
        use object_store::ObjectStore;
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(temp).await.map_err(|e| io_err("open temp", e))?;
        if size <= PART as u64 {
            let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            file.read_to_end(&mut buf).await.map_err(|e| io_err("read temp", e))?;
            self.store.put(key, buf.into()).await.map_err(|e| s3_err("put", e))?;
            return Ok(());
        }
        put_multipart(&self.store, key, file).await.map_err(|e| s3_err("multipart upload", e))
    }
}

impl Backend for S3 {
    fn put<'a>(&'a self, slug: &'a str, sha: &'a str, temp: &'a Path, size: u64) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let key = S3::key(slug, sha)?;
            if !self.exists(slug, sha).await? {
                self.put_file(&key, temp, size).await?;
            }
            match tokio::fs::remove_file(temp).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err("drop temp", e)),
            }
        })
    }

    fn get<'a>(&'a self, slug: &'a str, sha: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<ByteStream, AppError>> {
        Box::pin(async move {
            use object_store::ObjectStore;
            if range.start >= range.end {
                return Ok(Box::pin(futures_util::stream::empty()) as ByteStream);
            }
            let key = S3::key(slug, sha)?;
            let opts = object_store::GetOptions { range: Some(object_store::GetRange::Bounded(range)), ..Default::default() };
            let got = self.store.get_opts(&key, opts).await.map_err(|e| s3_err("get", e))?;
            use futures_util::StreamExt;
            Ok(Box::pin(got.into_stream().map(|r| r.map_err(std::io::Error::other))) as ByteStream)
        })
    }

    fn delete<'a>(&'a self, slug: &'a str, sha: &'a str) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            use object_store::ObjectStore;
            match self.store.delete(&S3::key(slug, sha)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(s3_err("delete", e)),
            }
        })
    }

    fn exists<'a>(&'a self, slug: &'a str, sha: &'a str) -> BoxFuture<'a, Result<bool, AppError>> {
        Box::pin(async move {
            use object_store::ObjectStore;
            match self.store.head(&S3::key(slug, sha)?).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(s3_err("head", e)),
            }
        })
    }

    fn list<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Result<Vec<String>, AppError>> {
        Box::pin(async move {
            use futures_util::StreamExt;
            use object_store::ObjectStore;
            let prefix = object_store::path::Path::from(slug);
            let mut out = Vec::new();
            let mut objects = self.store.list(Some(&prefix));
            while let Some(o) = objects.next().await {
                let o = o.map_err(|e| s3_err("list", e))?;
                if let Some(sha) = o.location.filename().filter(|n| split_sha(n).is_ok()) {
                    out.push(sha.to_string());
                }
            }
            Ok(out)
        })
    }
}
