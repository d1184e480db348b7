//! The archive of a backup or of a moved company: a tar stream compressed
//! with zstd, its entries regular files under relative paths, and last a
//! `manifest.json` naming every entry with its size and sha256.
//!
//! [`Writer`] writes `<out>.part` (0600) and renames it to `<out>` only when
//! complete, so a file under the final name is always whole. [`verify`]
//! reads every entry back and checks it against the manifest (nothing
//! missing, nothing extra, every size and checksum); [`extract`] does the
//! same while writing the entries out, and refuses absolute paths, `..`
//! and links.

use crate::error::{AppError, ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// The name of the manifest, the archive's last entry.
pub const MANIFEST: &str = "manifest.json";

/// The archive's layout version (in the manifest).
pub const FORMAT: u32 = 1;

/// zstd's level: fast, and already a good ratio on redb files.
const LEVEL: i32 = 3;

/// What an archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A whole box: `platform.redb`, `secret.key`, every company.
    Box,
    /// One company (`idora company export`).
    Company,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Box => "box",
            Kind::Company => "company",
        }
    }
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative, `/`-separated: `tenants/acme/data.redb`.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// What the archive is and holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub kind: Kind,
    pub idora_version: String,
    /// `store::schema::SCHEMA_VERSION` of the build that wrote it.
    pub schema_version: u8,
    /// When it was written (ms since the epoch, UTC).
    pub created_ms: i64,
    /// The company of a `Company` archive.
    #[serde(default)]
    pub company: Option<String>,
    /// Whether uploaded files are inside (false: they live in an S3 bucket,
    /// which `notes` names).
    #[serde(default = "yes")]
    pub files_included: bool,
    /// Said to whoever restores it (where the files are, what was skipped).
    #[serde(default)]
    pub notes: Vec<String>,
    pub entries: Vec<Entry>,
}

fn yes() -> bool {
    true
}

impl Manifest {
    /// Every entry's bytes together.
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// A short summary for the command line and the control socket.
    pub fn summary(&self) -> serde_json::Value {
        let companies: Vec<&str> =
            self.entries.iter().filter_map(|e| e.path.strip_prefix("tenants/").and_then(|p| p.strip_suffix("/data.redb"))).collect();
        serde_json::json!({
            "kind": self.kind,
            "idora_version": self.idora_version,
            "schema_version": self.schema_version,
            "created": jiff::Timestamp::from_millisecond(self.created_ms).map(|t| t.to_string()).unwrap_or_default(),
            "created_ms": self.created_ms,
            "company": self.company,
            "companies": companies,
            "entries": self.entries.len(),
            "bytes": self.total_bytes(),
            "files_included": self.files_included,
            "notes": self.notes,
        })
    }
}

/// An operation's failure in words for the operator (`error.ops_failed`).
pub fn ops_error(kind: ErrorKind, detail: impl Into<String>) -> AppError {
    let detail = detail.into();
    AppError::new(kind).with_message("error.ops_failed").with_arg("detail", &detail).with_detail(detail)
}

/// An error in words for the operator: the message of an operation's
/// failure, else the kind with what the log would say.
pub fn describe(e: &AppError) -> String {
    if e.message_key == Some("error.ops_failed") || e.message_key.is_some() || e.field.is_some() {
        let msg = e.info().message(crate::i18n::Lang::En);
        match e.field {
            Some(f) => format!("{f}: {msg}"),
            None => msg,
        }
    } else {
        e.to_string()
    }
}

fn io(what: impl std::fmt::Display, e: std::io::Error) -> AppError {
    let kind = if e.kind() == std::io::ErrorKind::StorageFull { ErrorKind::StorageFull } else { ErrorKind::Internal };
    let mut err = ops_error(ErrorKind::Internal, format!("{what}: {e}"));
    err.kind = kind;
    err
}

/// A path inside the archive: relative, plain names only (no `..`, no root,
/// no `.`), `/`-separated, not the manifest's own name.
fn safe_path(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.contains('\\') || name.contains('\0') {
        return Err(format!("{name:?} is not a plain relative path"));
    }
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            _ => return Err(format!("{name:?} is not a plain relative path (absolute, `.` or `..`)")),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("{name:?} is empty"));
    }
    Ok(out)
}

/// Reads through, counting and hashing.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.hash.update(got);
        self.size += n as u64;
        Ok(n)
    }
}

/// Writes an archive. Nothing appears under the final name until
/// [`Writer::finish`]; dropped unfinished, it removes its `.part` file.
pub struct Writer {
    out: PathBuf,
    part: PathBuf,
    tar: Option<tar::Builder<zstd::Encoder<'static, BufWriter<File>>>>,
    manifest: Manifest,
    mtime: u64,
}

impl Writer {
    /// Starts `<out>.part` (0600). `out` itself must not exist.
    pub fn create(out: &Path, kind: Kind) -> Result<Writer, AppError> {
        if out.exists() {
            return Err(ops_error(ErrorKind::Conflict, format!("{} already exists: choose another name", out.display())));
        }
        let mut part = out.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)
            .map_err(|e| io(format_args!("cannot write {}", part.display()), e))?;
        let mut enc = zstd::Encoder::new(BufWriter::with_capacity(1 << 20, file), LEVEL).map_err(|e| io("zstd", e))?;
        // zstd's own checksum of the frame: damage is found while reading,
        // before the manifest's checksums are compared.
        enc.include_checksum(true).map_err(|e| io("zstd", e))?;
        let mut tar = tar::Builder::new(enc);
        tar.mode(tar::HeaderMode::Deterministic);
        let now = jiff::Timestamp::now();
        let manifest = Manifest {
            format: FORMAT,
            kind,
            idora_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: crate::store::schema::SCHEMA_VERSION,
            created_ms: now.as_millisecond(),
            company: None,
            files_included: true,
            notes: Vec::new(),
            entries: Vec::new(),
        };
        Ok(Writer { out: out.to_path_buf(), part, tar: Some(tar), manifest, mtime: u64::try_from(now.as_second()).unwrap_or(0) })
    }

    /// The manifest being made (to set `company`, `files_included`, `notes`).
    pub fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    fn header(&self, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(self.mtime);
        h
    }

    fn append(&mut self, name: &str, size: u64, data: impl Read) -> Result<(), AppError> {
        let path = safe_path(name).map_err(|e| ops_error(ErrorKind::Internal, format!("archive entry {e}")))?;
        if name == MANIFEST || self.manifest.entries.iter().any(|e| e.path == name) {
            return Err(ops_error(ErrorKind::Internal, format!("archive entry {name} twice")));
        }
        let mut header = self.header(size);
        let mut reader = Hashing { inner: data.take(size), hash: Sha256::new(), size: 0 };
        let tar = self.tar.as_mut().ok_or_else(|| ops_error(ErrorKind::Internal, "archive already finished"))?;
        tar.append_data(&mut header, &path, &mut reader).map_err(|e| io(format_args!("archive {name}"), e))?;
        if reader.size != size {
            return Err(ops_error(ErrorKind::Internal, format!("{name} changed while it was archived ({} bytes of {size})", reader.size)));
        }
        self.manifest.entries.push(Entry { path: name.to_string(), size, sha256: hex::encode(reader.hash.finalize()) });
        Ok(())
    }

    /// Adds the file `src` as `name`, checksummed into the manifest.
    pub fn add_file(&mut self, name: &str, src: &Path) -> Result<(), AppError> {
        let file = File::open(src).map_err(|e| io(format_args!("cannot read {}", src.display()), e))?;
        self.add_open_file(name, file)
    }

    /// Adds a file already opened (one that may be deleted meanwhile: an
    /// open file stays readable).
    pub fn add_open_file(&mut self, name: &str, file: File) -> Result<(), AppError> {
        let size = file.metadata().map_err(|e| io(format_args!("cannot read {name}"), e))?.len();
        self.append(name, size, BufReader::with_capacity(1 << 20, file))
    }

    /// Adds `data` as `name`.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<(), AppError> {
        self.append(name, data.len() as u64, data)
    }

    /// Writes the manifest, flushes and syncs the file, and gives it its
    /// final name.
    pub fn finish(mut self) -> Result<Manifest, AppError> {
        let json = serde_json::to_vec_pretty(&self.manifest).map_err(|e| ops_error(ErrorKind::Internal, format!("manifest: {e}")))?;
        let mut header = self.header(json.len() as u64);
        let mut tar = self.tar.take().ok_or_else(|| ops_error(ErrorKind::Internal, "archive already finished"))?;
        tar.append_data(&mut header, MANIFEST, json.as_slice()).map_err(|e| io("archive manifest", e))?;
        let enc = tar.into_inner().map_err(|e| io("archive", e))?;
        let mut buf = enc.finish().map_err(|e| io("zstd", e))?;
        buf.flush().map_err(|e| io(format_args!("write {}", self.part.display()), e))?;
        let file = buf.into_inner().map_err(|e| io(format_args!("write {}", self.part.display()), e.into_error()))?;
        file.sync_all().map_err(|e| io(format_args!("sync {}", self.part.display()), e))?;
        drop(file);
        if self.out.exists() {
            return Err(ops_error(ErrorKind::Conflict, format!("{} appeared meanwhile: not replaced", self.out.display())));
        }
        std::fs::rename(&self.part, &self.out).map_err(|e| io(format_args!("rename to {}", self.out.display()), e))?;
        if let Some(dir) = self.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(self.manifest.clone())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.tar.is_some() {
            self.tar = None;
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// Checks `file`: every entry read back against the manifest. Returns the
/// manifest when the archive is whole.
pub fn verify(file: &Path) -> Result<Manifest, AppError> {
    read(file, None)
}

/// Writes the archive's entries under `dir` (folders 0700, files 0600,
/// each synced), checking each against the manifest; refuses absolute
/// paths, `..`, links and anything but plain files. On failure what was
/// written stays: extract into a fresh folder and remove it then.
pub fn extract(file: &Path, dir: &Path) -> Result<Manifest, AppError> {
    read(file, Some(dir))
}

fn damaged(file: &Path, why: impl std::fmt::Display) -> AppError {
    ops_error(ErrorKind::BadRequest, format!("{} is not a whole Idora backup archive: {why}", file.display()))
}

fn read(file: &Path, out: Option<&Path>) -> Result<Manifest, AppError> {
    let f = File::open(file).map_err(|e| ops_error(ErrorKind::NotFound, format!("cannot open {}: {e}", file.display())))?;
    let dec = zstd::Decoder::new(f).map_err(|e| damaged(file, e))?;
    let mut ar = tar::Archive::new(dec);
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    let entries = ar.entries().map_err(|e| damaged(file, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| damaged(file, e))?;
        let name = {
            let p = entry.path().map_err(|e| damaged(file, e))?;
            p.to_str().ok_or_else(|| damaged(file, "an entry's name is not UTF-8"))?.to_string()
        };
        let kind = entry.header().entry_type();
        if !matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
            return Err(damaged(file, format!("{name:?} is not a plain file ({kind:?}): refused")));
        }
        let rel = safe_path(&name).map_err(|e| damaged(file, format!("entry {e}: refused")))?;
        if manifest.is_some() {
            return Err(damaged(file, format!("{name} comes after the manifest")));
        }
        if name == MANIFEST {
            let mut json = Vec::new();
            entry.by_ref().take(64 << 20).read_to_end(&mut json).map_err(|e| damaged(file, e))?;
            let m: Manifest = serde_json::from_slice(&json).map_err(|e| damaged(file, format!("the manifest does not read ({e})")))?;
            if m.format > FORMAT {
                return Err(ops_error(
                    ErrorKind::BadRequest,
                    format!(
                        "{} was written by Idora {} in a newer archive format: use that version or newer",
                        file.display(),
                        m.idora_version
                    ),
                ));
            }
            manifest = Some(m);
            continue;
        }
        if seen.contains_key(&name) {
            return Err(damaged(file, format!("{name} is in it twice")));
        }
        let mut reader = Hashing { inner: &mut entry, hash: Sha256::new(), size: 0 };
        match out {
            None => {
                std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| damaged(file, format!("{name}: {e}")))?;
            }
            Some(dir) => {
                let target = dir.join(&rel);
                if let Some(parent) = target.parent() {
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)
                        .map_err(|e| io(format_args!("create {}", parent.display()), e))?;
                }
                let mut w = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&target)
                    .map_err(|e| io(format_args!("create {}", target.display()), e))?;
                std::io::copy(&mut reader, &mut w).map_err(|e| match e.kind() {
                    std::io::ErrorKind::StorageFull => io(format_args!("write {}", target.display()), e),
                    _ => damaged(file, format!("{name}: {e}")),
                })?;
                w.sync_all().map_err(|e| io(format_args!("sync {}", target.display()), e))?;
            }
        }
        let (size, sha) = (reader.size, hex::encode(reader.hash.finalize()));
        seen.insert(name, (size, sha));
    }
    let m = manifest.ok_or_else(|| damaged(file, "it has no manifest (cut short?)"))?;
    let mut problems = Vec::new();
    for e in &m.entries {
        match seen.remove(&e.path) {
            None => problems.push(format!("{} is missing", e.path)),
            Some((size, _)) if size != e.size => problems.push(format!("{} has {size} bytes, the manifest says {}", e.path, e.size)),
            Some((_, sha)) if sha != e.sha256 => problems.push(format!("{} does not match its checksum", e.path)),
            Some(_) => {}
        }
    }
    problems.extend(seen.keys().map(|p| format!("{p} is not in the manifest")));
    if !problems.is_empty() {
        return Err(damaged(file, problems.join("; ")));
    }
    if let Some(dir) = out {
        sync_tree(dir);
    }
    Ok(m)
}

/// Syncs every folder under `dir` (their new entries).
fn sync_tree(dir: &Path) {
    let _ = File::open(dir).and_then(|d| d.sync_all());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                sync_tree(&e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn sample(dir: &Path) -> (PathBuf, Manifest) {
        let src = dir.join("src.bin");
        std::fs::write(&src, vec![7u8; 300_000]).unwrap();
        let out = dir.join("b.tar.zst");
        let mut w = Writer::create(&out, Kind::Box).unwrap();
        w.add_file("platform.redb", &src).unwrap();
        w.add_bytes("tenants/acme/files/ab/cdef", b"hello").unwrap();
        assert!(!out.exists(), "not under its name before it is whole");
        let m = w.finish().unwrap();
        (out, m)
    }

    #[test]
    fn written_verified_extracted() {
        let dir = tempfile::tempdir().unwrap();
        let (out, m) = sample(dir.path());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(m.entries.len(), 2);
        assert_eq!(verify(&out).unwrap(), m);
        let to = dir.path().join("x");
        std::fs::create_dir(&to).unwrap();
        extract(&out, &to).unwrap();
        assert_eq!(std::fs::read(to.join("tenants/acme/files/ab/cdef")).unwrap(), b"hello");
        assert_eq!(std::fs::metadata(to.join("platform.redb")).unwrap().len(), 300_000);
        assert_eq!(std::fs::metadata(to.join("tenants/acme")).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(to.join("platform.redb")).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(Writer::create(&out, Kind::Box).is_err(), "an existing archive is not overwritten");
    }

    #[test]
    fn damage_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let (out, _) = sample(dir.path());
        let bytes = std::fs::read(&out).unwrap();
        let cut = dir.path().join("cut");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = verify(&cut).unwrap_err();
        assert!(describe(&e).contains("not a whole Idora backup"), "{e:?}");
        for at in [bytes.len() / 3, bytes.len() - 20] {
            let mut b = bytes.clone();
            b[at] ^= 0x55;
            let flipped = dir.path().join(format!("flip{at}"));
            std::fs::write(&flipped, &b).unwrap();
            assert!(verify(&flipped).is_err(), "a flipped byte at {at} is found");
        }
        let other = dir.path().join("other");
        std::fs::write(&other, b"just some text, not an archive").unwrap();
        assert!(verify(&other).is_err());
        assert!(verify(&dir.path().join("nothing")).is_err());
    }

    /// A hand-made archive with a path outside the folder, or a link, is refused.
    #[test]
    fn escaping_paths_and_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str, link: bool| {
            let out = dir.path().join(format!("evil{}", name.len() + usize::from(link)));
            let enc = zstd::Encoder::new(File::create(&out).unwrap(), 3).unwrap();
            let mut t = tar::Builder::new(enc);
            let mut h = tar::Header::new_gnu();
            if link {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                t.append_link(&mut h, name, "/etc/passwd").unwrap();
            } else {
                h.set_size(2);
                // set_path refuses `..`; write the name into the header raw.
                let bytes = name.as_bytes();
                h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
                h.set_cksum();
                t.append(&h, &b"hi"[..]).unwrap();
            }
            t.into_inner().unwrap().finish().unwrap();
            out
        };
        for (name, link) in [("../escape", false), ("/abs", false), ("a/../../b", false), ("link", true)] {
            let file = make(name, link);
            let to = dir.path().join("to");
            let _ = std::fs::remove_dir_all(&to);
            std::fs::create_dir(&to).unwrap();
            let e = extract(&file, &to).unwrap_err();
            assert!(describe(&e).contains("refused"), "{name}: {e:?}");
            assert!(!dir.path().join("escape").exists() && !dir.path().join("b").exists());
        }
    }
}
