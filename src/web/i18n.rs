//! The string catalogue: Uzbek (Latin), Russian and English.
//!
//! Every user-facing string is looked up here by key. The catalogues are
//! TOML files under `assets/i18n/`, embedded at build time; nested tables
//! become dotted keys. A test fails when a key is missing in any language or
//! when code asks for a key that no catalogue has.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Uz,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Uz, Lang::Ru, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Uz => "uz",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language's own name, as shown in a language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Uz => "O‘zbekcha",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("");
        match primary {
            "uz" => Some(Lang::Uz),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best supported language of an `Accept-Language` header, by q-value.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// The catalogue files, embedded: `assets/i18n/<area>.<lang>.toml`. Each
/// area (core, admin, later tasks, queue…) has one file per language.
#[derive(rust_embed::RustEmbed)]
#[folder = "assets/i18n/"]
#[include = "*.toml"]
struct Files;

type Catalogue = HashMap<String, String>;

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalogue) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// Loads one language from every area file. An error names the file: a
/// file that does not parse, or a key that two files both define.
pub fn load_catalogue(lang: Lang) -> Result<Catalogue, String> {
    let mut out = HashMap::new();
    let suffix = format!(".{}.toml", lang.code());
    let mut names: Vec<String> = Files::iter().map(|n| n.to_string()).filter(|n| n.ends_with(&suffix)).collect();
    names.sort();
    for name in names {
        let file = Files::get(&name).ok_or_else(|| format!("{name}: missing"))?;
        let src = std::str::from_utf8(&file.data).map_err(|e| format!("{name}: {e}"))?;
        let table: toml::Table = src.parse().map_err(|e| format!("{name}: {e}"))?;
        let mut part = HashMap::new();
        flatten("", &table, &mut part);
        for (k, v) in part {
            if out.insert(k.clone(), v).is_some() {
                return Err(format!("{name}: key {k} is defined twice"));
            }
        }
    }
    Ok(out)
}

/// The area files, by name, for the completeness test.
pub fn area_files() -> Vec<String> {
    let mut v: Vec<String> = Files::iter().map(|n| n.to_string()).collect();
    v.sort();
    v
}

fn catalogues() -> &'static [Catalogue; 3] {
    static CATS: OnceLock<[Catalogue; 3]> = OnceLock::new();
    CATS.get_or_init(|| {
        Lang::ALL.map(|lang| {
            load_catalogue(lang).unwrap_or_else(|e| {
                tracing::error!(error = %e, "i18n catalogue does not load");
                HashMap::new()
            })
        })
    })
}

/// Every key of every catalogue, for the completeness test.
pub fn all_catalogues() -> Vec<(Lang, &'static Catalogue)> {
    let cats = catalogues();
    vec![(Lang::Uz, &cats[0]), (Lang::Ru, &cats[1]), (Lang::En, &cats[2])]
}

fn index(lang: Lang) -> usize {
    match lang {
        Lang::Uz => 0,
        Lang::Ru => 1,
        Lang::En => 2,
    }
}

/// The string for `key` in `lang`; English when the language lacks it, the
/// key itself when no catalogue has it (the completeness test forbids both).
pub fn t(lang: Lang, key: &str) -> &str {
    let cats = catalogues();
    if let Some(s) = cats[index(lang)].get(key) {
        return s.as_str();
    }
    if let Some(s) = cats[index(Lang::En)].get(key) {
        return s.as_str();
    }
    key
}

/// `t` with `{name}` placeholders filled in.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key).to_string();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_supported() {
        assert_eq!(Lang::from_accept_language("fr-FR,ru;q=0.8,en;q=0.5"), Some(Lang::Ru));
        assert_eq!(Lang::from_accept_language("de, en-US;q=0.7, uz;q=0.9"), Some(Lang::Uz));
        assert_eq!(Lang::from_accept_language("de"), None);
    }
}
