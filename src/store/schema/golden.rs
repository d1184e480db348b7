//! Golden bytes: every record version, encoded from a fixed sample, is kept
//! in `schema/records/<record>.<version>.hex` (`account.v1` for
//! `AccountRecord::V1`). Each domain's test decodes its files and compares
//! them with its samples, so a change that would make old data unreadable
//! fails there. `IDORA_BLESS=1` writes the files for a NEW version; never
//! re-bless an existing one.

use super::Versioned;
use std::fmt::Debug;
use std::path::PathBuf;

/// A sample of one version of one record, and the check of its golden bytes.
pub struct Sample {
    /// The record type, such as `AccountRecord`.
    pub record: &'static str,
    /// The version, such as `V1`.
    pub version: String,
    check: Box<dyn Fn(&str)>,
}

/// A sample of a record version.
pub fn record<R: Versioned + PartialEq + Debug + 'static>(sample: R) -> Sample {
    let record = short_name::<R>();
    let shown = format!("{sample:?}");
    let version = shown.split('(').next().unwrap_or_default().to_string();
    Sample { record, version, check: Box::new(move |name| check(name, &sample)) }
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
