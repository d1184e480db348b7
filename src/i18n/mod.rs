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

    /// The version of a name people read in this language: its Russian or
    /// English version, or the name as given (Uzbek, and the fallback of every
    /// language) when that version is empty. Branches, departments, task
    /// categories and queue services all name themselves through this.
    pub fn pick<'a>(self, given: &'a str, ru: &'a str, en: &'a str) -> &'a str {
        let own = match self {
            Lang::Uz => "",
            Lang::Ru => ru,
            Lang::En => en,
        };
        if own.trim().is_empty() { given } else { own }
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
    Lang::ALL.iter().map(|&l| (l, catalogue(l))).collect()
}

/// The catalogue of one language.
fn catalogue(lang: Lang) -> &'static Catalogue {
    let [uz, ru, en] = catalogues();
    match lang {
        Lang::Uz => uz,
        Lang::Ru => ru,
        Lang::En => en,
    }
}

/// The string for `key` in `lang`; English when the language lacks it, the
/// key itself when no catalogue has it (the completeness test forbids both).
pub fn t(lang: Lang, key: &str) -> &str {
    if let Some(s) = catalogue(lang).get(key) {
        return s.as_str();
    }
    if let Some(s) = catalogue(Lang::En).get(key) {
        return s.as_str();
    }
    key
}

/// A role's name as people read it.
pub fn role_label(lang: Lang, role: &str) -> &'static str {
    match role {
        "owner" => t(lang, "role.owner"),
        "director" => t(lang, "role.director"),
        "admin" => t(lang, "role.admin"),
        "manager" => t(lang, "role.manager"),
        "employee" => t(lang, "role.employee"),
        "operator" => t(lang, "role.operator"),
        _ => "",
    }
}

/// `t` with `{name}` placeholders filled in.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key).to_string();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// The CLDR plural category of a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plural {
    One,
    Few,
    Many,
    Other,
}

impl Plural {
    pub fn key(self) -> &'static str {
        match self {
            Plural::One => "one",
            Plural::Few => "few",
            Plural::Many => "many",
            Plural::Other => "other",
        }
    }
}

/// The forms a plural entry must have in each language (CLDR, whole numbers):
/// Uzbek does not inflect a noun after a numeral ("5 ta vazifa"), English
/// has one/other, Russian one/few/many (1 задача, 2 задачи, 5 задач).
pub fn plural_forms(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Uz => &["other"],
        Lang::Ru => &["one", "few", "many"],
        Lang::En => &["one", "other"],
    }
}

/// Which form a count takes in `lang`.
pub fn plural(lang: Lang, n: u64) -> Plural {
    match lang {
        Lang::Uz => Plural::Other,
        Lang::En => {
            if n == 1 {
                Plural::One
            } else {
                Plural::Other
            }
        }
        Lang::Ru => {
            let (d, h) = (n % 10, n % 100);
            if d == 1 && h != 11 {
                Plural::One
            } else if (2..=4).contains(&d) && !(12..=14).contains(&h) {
                Plural::Few
            } else {
                Plural::Many
            }
        }
    }
}

/// A counted phrase: the `key.one` / `key.few` / `key.many` / `key.other`
/// form that `n` takes in `lang`, with `{n}` and the other placeholders
/// filled in. A catalogue entry is plural when its table holds only these
/// form names (see `plural_forms` for the ones each language needs).
pub fn tn(lang: Lang, key: &str, n: u64, args: &[(&str, &str)]) -> String {
    let wanted = plural(lang, n).key();
    let form = [lang, Lang::En]
        .into_iter()
        .flat_map(|l| [wanted, "other", "many"].into_iter().map(move |f| (l, f)))
        .find_map(|(l, f)| catalogue(l).get(&format!("{key}.{f}")));
    let mut s = match form {
        Some(s) => s.clone(),
        None => key.to_string(),
    };
    s = s.replace("{n}", &n.to_string());
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// A weekday's name, Monday = 0.
pub fn weekday_name(lang: Lang, i: usize) -> &'static str {
    match i {
        0 => t(lang, "admin.weekday.mon"),
        1 => t(lang, "admin.weekday.tue"),
        2 => t(lang, "admin.weekday.wed"),
        3 => t(lang, "admin.weekday.thu"),
        4 => t(lang, "admin.weekday.fri"),
        5 => t(lang, "admin.weekday.sat"),
        _ => t(lang, "admin.weekday.sun"),
    }
}

/// A weekday's short name (Mon, Du, Пн), Monday = 0.
pub fn weekday_short(lang: Lang, i: usize) -> &'static str {
    match i {
        0 => t(lang, "admin.weekday_short.mon"),
        1 => t(lang, "admin.weekday_short.tue"),
        2 => t(lang, "admin.weekday_short.wed"),
        3 => t(lang, "admin.weekday_short.thu"),
        4 => t(lang, "admin.weekday_short.fri"),
        5 => t(lang, "admin.weekday_short.sat"),
        _ => t(lang, "admin.weekday_short.sun"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_read_in_its_language_or_as_given() {
        assert_eq!(Lang::Ru.pick("Kassa", "Касса", "Cash desk"), "Касса");
        assert_eq!(Lang::En.pick("Kassa", "Касса", "Cash desk"), "Cash desk");
        assert_eq!(Lang::Uz.pick("Kassa", "Касса", "Cash desk"), "Kassa");
        assert_eq!(Lang::Ru.pick("Kassa", "", "Cash desk"), "Kassa", "no Russian name: the one given");
        assert_eq!(Lang::En.pick("Kassa", "Касса", " "), "Kassa");
    }

    const FORMS: [&str; 4] = ["one", "few", "many", "other"];

    /// The plural entries of a catalogue: every table whose keys are all
    /// plural form names, with its forms.
    fn plural_groups(cat: &Catalogue) -> HashMap<String, Vec<String>> {
        let mut tables: HashMap<String, Vec<String>> = HashMap::new();
        let mut plain = std::collections::HashSet::new();
        for k in cat.keys() {
            if let Some((group, form)) = k.rsplit_once('.') {
                if FORMS.contains(&form) {
                    tables.entry(group.to_string()).or_default().push(form.to_string());
                } else {
                    plain.insert(group.to_string());
                }
            }
        }
        tables.retain(|g, _| !plain.contains(g));
        tables
    }

    /// A catalogue with each plural entry folded to one key, so that the
    /// languages can be compared key by key.
    fn folded(cat: &Catalogue) -> Catalogue {
        let groups = plural_groups(cat);
        let mut out = Catalogue::new();
        for (k, v) in cat {
            match k.rsplit_once('.') {
                Some((g, _)) if groups.contains_key(g) => {
                    out.insert(format!("{g} (plural)"), v.clone());
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    /// Each plural entry has exactly the forms its language needs (and
    /// Russian may add `other`), all with the same placeholders.
    #[test]
    fn plural_entries_have_their_languages_forms() {
        let mut problems = Vec::new();
        let mut seen = 0;
        for lang in Lang::ALL {
            let cat = load_catalogue(lang).unwrap_or_else(|e| panic!("{e}"));
            for (group, forms) in plural_groups(&cat) {
                seen += 1;
                for need in plural_forms(lang) {
                    if !forms.iter().any(|f| f == need) {
                        problems.push(format!("{group}: {} lacks the `{need}` form", lang.code()));
                    }
                }
                for f in &forms {
                    let allowed = plural_forms(lang).contains(&f.as_str()) || (lang == Lang::Ru && f == "other");
                    if !allowed {
                        problems.push(format!("{group}: {} has a `{f}` form it never uses", lang.code()));
                    }
                    let first = placeholders(&cat[&format!("{group}.{}", forms[0])]);
                    if placeholders(&cat[&format!("{group}.{f}")]) != first {
                        problems.push(format!("{group}: {} forms have different placeholders", lang.code()));
                    }
                }
            }
        }
        assert!(seen >= 3, "no plural entries found: the test is broken");
        problems.sort();
        problems.dedup();
        assert!(problems.is_empty(), "plural entries are incomplete:\n{}", problems.join("\n"));
    }

    #[test]
    fn russian_english_and_uzbek_plural_rules() {
        use Plural::*;
        let ru = |n| plural(Lang::Ru, n);
        for (n, want) in
            [(0, Many), (1, One), (2, Few), (4, Few), (5, Many), (11, Many), (12, Many), (14, Many), (21, One), (22, Few), (25, Many)]
        {
            assert_eq!(ru(n), want, "ru {n}");
        }
        for (n, want) in [(101, One), (111, Many), (112, Many), (122, Few), (1001, One), (1011, Many)] {
            assert_eq!(ru(n), want, "ru {n}");
        }
        assert_eq!(plural(Lang::En, 1), One);
        for n in [0, 2, 11, 21] {
            assert_eq!(plural(Lang::En, n), Other, "en {n}");
        }
        for n in [0, 1, 2, 5, 21] {
            assert_eq!(plural(Lang::Uz, n), Other, "uz {n}");
        }
    }

    #[test]
    fn a_counted_phrase_reads_right() {
        let tickets = |lang, n| tn(lang, "stats.chart.busiest", n, &[("day", "Пн"), ("hour", "09:00")]);
        assert!(tickets(Lang::Ru, 1).ends_with(" 1 талон"), "{}", tickets(Lang::Ru, 1));
        assert!(tickets(Lang::Ru, 3).ends_with(" 3 талона"), "{}", tickets(Lang::Ru, 3));
        assert!(tickets(Lang::Ru, 5).ends_with(" 5 талонов"), "{}", tickets(Lang::Ru, 5));
        assert!(tickets(Lang::Ru, 11).ends_with(" 11 талонов"), "{}", tickets(Lang::Ru, 11));
        assert!(tickets(Lang::Ru, 21).ends_with(" 21 талон"), "{}", tickets(Lang::Ru, 21));
        assert!(tickets(Lang::En, 1).ends_with(" 1 ticket"), "{}", tickets(Lang::En, 1));
        assert!(tickets(Lang::En, 2).ends_with(" 2 tickets"), "{}", tickets(Lang::En, 2));
        assert!(tickets(Lang::Uz, 5).ends_with(" 5 ta chipta"), "{}", tickets(Lang::Uz, 5));
        assert!(tickets(Lang::Uz, 1).ends_with(" 1 ta chipta"), "{}", tickets(Lang::Uz, 1));
        let points = |lang, n| tn(lang, "tasks.points_short", n, &[]);
        assert_eq!([points(Lang::Ru, 1), points(Lang::Ru, 3), points(Lang::Ru, 10)], ["1 балл", "3 балла", "10 баллов"]);
        assert_eq!([points(Lang::En, 1), points(Lang::En, 5), points(Lang::Uz, 5)], ["1 pt", "5 pts", "5 ball"]);
        assert!(tickets(Lang::Ru, 2).starts_with("Самое загруженное время: Пн 09:00"), "{}", tickets(Lang::Ru, 2));
    }

    /// Every catalogue loads, and all three languages have exactly the same
    /// keys with the same `{placeholders}` (a plural entry counts as one key,
    /// whatever forms its language needs).
    #[test]
    fn every_language_has_every_key() {
        let cats: Vec<(Lang, Catalogue)> =
            Lang::ALL.iter().map(|&l| (l, folded(&load_catalogue(l).unwrap_or_else(|e| panic!("{e}"))))).collect();
        let mut problems = Vec::new();
        for (la, ca) in &cats {
            for (lb, cb) in &cats {
                for (k, va) in ca {
                    match cb.get(k) {
                        None => problems.push(format!("{k}: in {} but missing in {}", la.code(), lb.code())),
                        Some(vb) if placeholders(va) != placeholders(vb) => {
                            problems.push(format!("{k}: placeholders differ between {} and {}", la.code(), lb.code()))
                        }
                        Some(vb) if vb.trim().is_empty() => problems.push(format!("{k}: empty in {}", lb.code())),
                        _ => {}
                    }
                }
            }
        }
        problems.sort();
        problems.dedup();
        assert!(problems.is_empty(), "i18n catalogues disagree:\n{}", problems.join("\n"));
    }

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string())).collect();
        out.sort();
        out
    }

    /// Every key the code names exists: string literals in `src/` passed to
    /// `t`, `tf`, `with_message`, `invalid` or given as a `label:`, and every
    /// error kind's message.
    #[test]
    fn every_key_the_code_uses_exists() {
        let en = load_catalogue(Lang::En).unwrap_or_else(|e| panic!("{e}"));
        let mut used = Vec::new();
        for kind in crate::error::ErrorKind::ALL {
            used.push((kind.message_key(), "ErrorKind".to_string()));
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        collect_rs(&root, &mut files);
        let mut scanned = 0;
        for file in files {
            let src = std::fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in src.lines().enumerate() {
                for (before, lit) in literals(line) {
                    if let Some(f) = key_function(before)
                        && lit.contains('.')
                    {
                        scanned += 1;
                        // A counted phrase needs at least its `other` form.
                        let key = if f == "tn" { format!("{lit}.other") } else { lit.to_string() };
                        used.push((key, format!("{}:{}", file.display(), n + 1)));
                    }
                }
            }
        }
        assert!(scanned > 20, "the scanner found only {scanned} keys; it is broken");
        let missing: Vec<String> = used.iter().filter(|(k, _)| !en.contains_key(k)).map(|(k, at)| format!("{k} (used at {at})")).collect();
        assert!(missing.is_empty(), "keys used in code but missing from assets/i18n:\n{}", missing.join("\n"));
    }

    /// The string literals of a line, each with the text before it.
    fn literals(line: &str) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        let mut rest = 0;
        while let Some(open) = line[rest..].find('"').map(|i| rest + i) {
            let Some(close) = line[open + 1..].find('"').map(|i| open + 1 + i) else { break };
            out.push((&line[..open], &line[open + 1..close]));
            rest = close + 1;
        }
        out
    }

    /// The function a literal after `before` is a catalogue key of, if it
    /// is one (`label` for a `label:` field).
    fn key_function(before: &str) -> Option<&'static str> {
        let b = before.trim_end();
        if b.ends_with("label:") {
            return Some("label");
        }
        if !(b.ends_with('(') || b.ends_with(',')) {
            return None;
        }
        // Walk back to the unmatched '(' and read the function name.
        let mut depth = 0;
        for (i, c) in b.char_indices().rev() {
            match c {
                ')' | ']' => depth += 1,
                '(' | '[' if depth > 0 => depth -= 1,
                '(' => {
                    let name: String = b[..i].chars().rev().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    let name: String = name.chars().rev().collect();
                    return ["t", "tf", "tn", "with_message", "invalid"].into_iter().find(|f| *f == name);
                }
                _ => {}
            }
        }
        None
    }

    fn collect_rs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_rs(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn accept_language_picks_the_highest_supported() {
        assert_eq!(Lang::from_accept_language("fr-FR,ru;q=0.8,en;q=0.5"), Some(Lang::Ru));
        assert_eq!(Lang::from_accept_language("de, en-US;q=0.7, uz;q=0.9"), Some(Lang::Uz));
        assert_eq!(Lang::from_accept_language("de"), None);
    }
}
