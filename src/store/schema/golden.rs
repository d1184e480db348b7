//! Golden bytes: every record version, encoded from a fixed sample, is kept
//! in `schema/records/<record>.<version>.hex` (`account.v1` for
//! `AccountRecord::V1`). Each domain's test decodes its files and compares
//! them with its samples, so a change that would make old data unreadable
//! fails there. `IDORA_BLESS=1` writes the files for a NEW version; never
//! re-bless an existing one.

use super::Versioned;
use serde::{Serialize, de::DeserializeOwned};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// A sample of one version of one record, and the check of its golden bytes.
pub struct Sample {
    /// The record type, such as `AccountRecord`.
    pub record: &'static str,
    /// The version, such as `V1`.
    pub version: String,
    /// The sample as `Debug` shows it: it names every struct it holds.
    pub shown: String,
    check: Box<dyn Fn(&str)>,
}

/// A sample of a record version.
pub fn record<R: Versioned + PartialEq + Debug + 'static>(sample: R) -> Sample {
    let record = short_name::<R>();
    let shown = format!("{sample:?}");
    let version = shown.split('(').next().unwrap_or_default().to_string();
    Sample { record, version, shown, check: Box::new(move |name| check(name, &sample)) }
}

impl Sample {
    /// The golden file's name without `.hex`: `account.v1`.
    pub fn file(&self) -> String {
        format!("{}.{}", snake(self.record.strip_suffix("Record").unwrap_or(self.record)), self.version.to_lowercase())
    }

    /// Encodes the sample, compares it with its golden bytes both ways.
    pub fn check(&self) {
        (self.check)(&self.file());
    }
}

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema").join("records")
}

fn check<R: Versioned + PartialEq + Debug>(name: &str, sample: &R) {
    let path = dir().join(format!("{name}.hex"));
    let bytes = postcard::to_allocvec(sample).unwrap();
    if std::env::var("IDORA_BLESS").is_ok() && !path.exists() {
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(&path, hex::encode(&bytes) + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: bless the new version", path.display()));
    let golden = hex::decode(text.trim()).unwrap();
    let decoded: R = postcard::from_bytes(&golden).unwrap_or_else(|e| panic!("{name}: golden bytes no longer decode: {e}"));
    assert_eq!(&decoded, sample, "{name}: golden bytes decode to something else");
    assert_eq!(bytes, golden, "{name}: the encoding of this version changed");
}

/// `AccountRecord` for `idora::store::schema::auth::AccountRecord`.
pub fn short_name<T>() -> &'static str {
    std::any::type_name::<T>().rsplit("::").next().unwrap_or_default()
}

/// `customer_ticket` for `CustomerTicket`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The pinned bytes of every variant of a stored enum. Postcard writes a
/// variant as its index, so reordering or inserting a variant would make old
/// files read as something else; new variants are only ever appended.
pub struct Pinned {
    /// The enum, such as `TaskStatus`.
    pub name: &'static str,
    check: Box<dyn Fn() -> usize>,
}

/// Pins an enum's variants by `pin`, a `match` with no `_` arm: a variant
/// added without its bytes does not compile.
pub fn pinned<E: Serialize + DeserializeOwned + Debug + 'static>(pin: fn(&E) -> &'static [u8]) -> Pinned {
    let name = short_name::<E>();
    let check = move || {
        // Every index postcard decodes is a variant: walking them up from 0
        // meets each variant once, whatever order the source lists them in.
        let mut seen = 0;
        for i in 0u8..0x80 {
            let Ok(v) = postcard::from_bytes::<E>(&[i]) else { break };
            assert_eq!(pin(&v), [i], "{name}::{v:?} is stored as [{i}] but pinned otherwise: a variant was moved or inserted");
            assert_eq!(postcard::to_allocvec(&v).unwrap(), [i], "{name}::{v:?} no longer encodes as [{i}]");
            seen += 1;
        }
        assert!(seen > 0, "{name}: no variant decodes from one byte");
        seen
    };
    Pinned { name, check: Box::new(check) }
}

impl Pinned {
    /// Checks every variant against its pinned bytes; how many there are.
    pub fn check(&self) -> usize {
        (self.check)()
    }
}

/// What the schema's source declares, outside its tests.
#[derive(Default, Debug)]
struct Declared {
    /// `XRecord` enums and their versions.
    records: BTreeMap<String, Vec<String>>,
    /// Every other enum and how many variants it has.
    enums: BTreeMap<String, usize>,
    structs: BTreeSet<String>,
    /// Types that implement `Versioned`.
    versioned: BTreeSet<String>,
}

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src").join("store").join("schema")
}

/// The lines of a file, its test items (from `#[cfg(test)]` to the `}` that
/// closes the item at the top level) left out.
fn code(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut in_test = false;
    for l in text.lines() {
        if l.starts_with("#[cfg(test)]") {
            in_test = true;
        } else if in_test {
            // The item ends at a top-level `}` (or is one line: `mod golden;`).
            let one_line = l.ends_with(';') && !l.starts_with(' ');
            in_test = l != "}" && !one_line;
        } else {
            out.push(l.to_string());
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

fn declared() -> Declared {
    let mut d = Declared::default();
    for entry in std::fs::read_dir(schema_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "golden.rs") {
            continue;
        }
        let lines = code(&path);
        let mut i = 0;
        while let Some(line) = lines.get(i) {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("pub enum ") {
                let name = ident(rest);
                let mut variants = Vec::new();
                i += 1;
                while let Some(v) = lines.get(i).map(|v| v.trim()) {
                    if v.starts_with('}') {
                        break;
                    }
                    if !(v.is_empty() || v.starts_with("//") || v.starts_with('#')) {
                        variants.push(ident(v));
                    }
                    i += 1;
                }
                if name.ends_with("Record") {
                    d.records.insert(name, variants);
                } else {
                    d.enums.insert(name, variants.len());
                }
            } else if let Some(rest) = l.strip_prefix("pub struct ") {
                d.structs.insert(ident(rest));
            } else if let Some(rest) = l.strip_prefix("impl Versioned for ").or_else(|| l.strip_prefix("versioned!(")) {
                // (Not the macro's own `impl Versioned for $record`.)
                if !rest.starts_with('$') {
                    d.versioned.insert(ident(rest));
                }
            }
            i += 1;
        }
    }
    d
}

fn samples() -> Vec<Sample> {
    [super::platform::tests::samples(), super::auth::tests::samples(), super::audit::tests::samples(), super::org::tests::samples()]
        .into_iter()
        .chain([
            super::tasks::tests::samples(),
            super::queue::tests::samples(),
            super::notify::tests::samples(),
            super::chat::tests::samples(),
            super::files::tests::samples(),
            super::requests::tests::samples(),
            super::bot::tests::samples(),
            super::reports::tests::samples(),
            super::sheets::tests::samples(),
        ])
        .flatten()
        .collect()
}

fn pinned_enums() -> Vec<Pinned> {
    [
        super::platform::tests::enums(),
        super::tasks::tests::enums(),
        super::queue::tests::enums(),
        super::notify::tests::enums(),
        super::chat::tests::enums(),
        super::requests::tests::enums(),
        super::bot::tests::enums(),
        super::reports::tests::enums(),
        super::sheets::tests::enums(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every sample matches its golden bytes both ways, and a stored type without
/// a golden sample fails here: every version of every record declared under
/// `store/schema/` has a sample (and so golden bytes),
/// every other stored enum has every variant pinned, every stored struct
/// shows up inside some sample, and every golden file belongs to a sample.
#[test]
fn every_stored_type_has_a_golden_sample() {
    let d = declared();
    assert!(d.records.len() >= 20 && d.enums.len() >= 5, "the schema scan found too little: {d:?}");

    let records: BTreeSet<String> = d.records.keys().cloned().collect();
    assert_eq!(d.versioned, records, "every `…Record` enum implements `Versioned`, and only those");

    let samples = samples();
    for s in &samples {
        s.check();
    }
    let sampled: BTreeSet<(String, String)> = samples.iter().map(|s| (s.record.to_string(), s.version.clone())).collect();
    let versions: BTreeSet<(String, String)> =
        d.records.iter().flat_map(|(r, vs)| vs.iter().map(move |v| (r.clone(), v.clone()))).collect();
    let unsampled: Vec<_> = versions.difference(&sampled).collect();
    assert!(unsampled.is_empty(), "record versions with no golden sample (add one to the domain's `samples()`): {unsampled:?}");
    assert_eq!(sampled.len(), samples.len(), "one sample per version");

    let pins = pinned_enums();
    let pinned: BTreeMap<String, usize> = pins.iter().map(|p| (p.name.to_string(), p.check())).collect();
    let unpinned: Vec<_> = d.enums.keys().filter(|e| !pinned.contains_key(*e)).collect();
    assert!(unpinned.is_empty(), "stored enums with no pinned variants (add them to the domain's `enums()`): {unpinned:?}");
    assert_eq!(pinned, d.enums, "every variant of every stored enum is pinned, one byte each");

    let shown: String = samples.iter().map(|s| s.shown.as_str()).collect::<Vec<_>>().join("\n");
    let unseen: Vec<_> = d.structs.iter().filter(|s| !shown.contains(&format!("{s} {{"))).collect();
    assert!(unseen.is_empty(), "stored structs no sample holds (fill an Option or a Vec with one): {unseen:?}");

    for entry in std::fs::read_dir(dir()).unwrap() {
        let file = entry.unwrap().path().file_stem().unwrap().to_string_lossy().to_string();
        assert!(samples.iter().any(|s| s.file() == file), "schema/records/{file}.hex belongs to no sample: a version was removed?");
    }
}

/// A type stored in a record is declared under `store/schema/`, where the
/// test above sees it: the schema's own code imports nothing of the crate,
/// and nothing outside it implements `Versioned`.
#[test]
fn stored_types_live_in_the_schema() {
    for entry in std::fs::read_dir(schema_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "golden.rs") {
            continue;
        }
        for l in code(&path).iter().filter(|l| !l.trim_start().starts_with("//")) {
            assert!(!l.contains("crate::"), "{}: the schema names `{}`; declare stored types here", path.display(), l.trim());
        }
    }
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != schema_dir() {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("Versioned for ") && !text.contains("versioned!("),
                    "{}: a record declared outside store/schema/",
                    path.display()
                );
            }
        }
    }
}
