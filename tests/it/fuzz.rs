//! Fuzzing the parsers that take outside input, for a fixed time per run.
//!
//! This machine (and CI) has only the stable toolchain, on which cargo-fuzz
//! and bolero's coverage-guided engines do not run; so each target here is
//! a small mutation fuzzer: it replays its regression corpus
//! (`tests/fuzz/<target>/*`), then mutates seed inputs (flip, insert, delete
//! and splice bytes, swap JSON values for other types) from a seed printed on
//! failure, for `IDORA_FUZZ_MS` milliseconds (default 3,000) per target. A
//! panic or broken invariant writes the input to the corpus directory and
//! fails, so what it found is replayed by every later run.
//!
//! Targets: phone numbers, company slugs, usernames, times, `HH:MM`,
//! colours, time zones, live topics, stats date ranges, and every JSON body
//! of every API route (sent to a real server, which must answer < 500).

use crate::support::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A xorshift generator: reproducible from the seed a failure prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Bytes worth inserting: separators, digits, signs, quotes, control and
/// multi-byte characters, and JSON tokens.
const PIECES: &[&[u8]] = &[
    b"0",
    b"9",
    b"+",
    b"-",
    b" ",
    b":",
    b"/",
    b".",
    b",",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"true",
    b"-1",
    b"18446744073709551616",
    b"1e309",
    b"\x00",
    b"\n",
    b"\x7f",
    "\u{202e}".as_bytes(),
    "ў".as_bytes(),
    "😀".as_bytes(),
    b"\xff\xfe",
    b"%",
    b"#",
    b"'",
    b"<script>",
    b"998",
    b"24:00",
    b"23:59",
    b"2026-02-30",
    b"T",
    b"Z",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                input.splice(at..at, piece.iter().copied());
            }
            2 if !input.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(input.len());
                let start = at.min(end);
                input.drain(start..end);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let to = (from + rng.below(16)).min(other.len());
                input.splice(at..at, other[from..to].iter().copied());
            }
            4 if input.len() > 1 => input.truncate(rng.below(input.len())),
            _ => {
                let i = rng.below(input.len() + 1);
                input.insert(i.min(input.len()), rng.next() as u8);
            }
        }
    }
    input.truncate(4096);
}

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz").join(target)
}

fn budget() -> Duration {
    let ms = std::env::var("IDORA_FUZZ_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    Duration::from_millis(ms)
}

/// Runs `check` on the corpus of `target`, then on mutations of `seeds` for
/// the time budget. `check` panics on a broken invariant.
fn fuzz(target: &str, seeds: &[&[u8]], check: impl Fn(&[u8])) {
    let seeds: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
    let run = |input: &[u8]| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(input))).is_ok();
    let dir = corpus_dir(target);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let input = std::fs::read(entry.path()).unwrap();
            assert!(run(&input), "{target}: corpus input {} fails again", entry.path().display());
        }
    }
    let seed = std::env::var("IDORA_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1
    });
    let mut rng = Rng(seed);
    let until = Instant::now() + budget();
    let mut runs = 0u64;
    while Instant::now() < until {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &seeds, &mut input);
        runs += 1;
        if !run(&input) {
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("crash-{seed}-{runs}"));
            std::fs::write(&file, &input).unwrap();
            panic!("{target}: input {:?} fails (seed {seed}, run {runs}); saved to {}", String::from_utf8_lossy(&input), file.display());
        }
    }
    assert!(runs > 100, "{target}: only {runs} inputs in the budget");
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

#[test]
fn phone_numbers() {
    fuzz("phone", &[b"+998 90 123 45 67", b"90 123-45-67", b"8 (712) 000-00-00", b"+7 701 000 0000"], |input| {
        if let Ok(p) = idora::phone::Phone::parse(&text(input)) {
            let s = p.as_str().to_string();
            assert!(s.starts_with('+') && s[1..].bytes().all(|b| b.is_ascii_digit()), "normalised to +digits: {s}");
            assert_eq!(idora::phone::Phone::parse(&s).unwrap().as_str(), s, "a parsed number parses to itself");
        }
    });
}

#[test]
fn slugs_and_usernames() {
    fuzz("slug", &[b"demo-bank", b"abc", b"a-b-c-1", b"admin"], |input| {
        let s = text(input);
        if let Ok(slug) = idora::tenancy::Slug::parse(&s) {
            assert!(slug.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
        if let Ok(u) = idora::org::service::parse_username(&s) {
            assert!(!u.is_empty() && !u.chars().any(char::is_control), "{u:?}");
        }
    });
}

#[test]
fn times_hours_colours_zones_topics() {
    let seeds: &[&[u8]] = &[
        b"2026-12-04T10:00:00Z",
        b"2026-12-04T10:00:00+05:00",
        b"09:30",
        b"24:00",
        b"#1f6feb",
        b"Asia/Tashkent",
        b"user:12",
        b"queue:3",
        b"tasks",
    ];
    fuzz("time", seeds, |input| {
        let s = text(input);
        let _ = idora::tasks::service::parse_time("deadline", &s);
        if let Some(m) = idora::org::service::parse_hhmm(&s) {
            assert!(m <= 24 * 60, "{s:?} → {m} minutes");
        }
        if let Ok(c) = idora::org::branding::parse_color(&s) {
            assert!(c.starts_with('#') && c.len() == 7, "{c:?}");
        }
        let _ = idora::tenancy::service::parse_timezone(&s);
        let _ = idora::hub::Topic::parse(&s);
    });
}

#[test]
fn stats_date_ranges() {
    let today = jiff::civil::date(2026, 12, 4);
    fuzz("date-range", &[b"2026-11-01|2026-11-30|1", b"|2026-12-04|", b"2025-01-01|2026-12-31|x"], |input| {
        let s = text(input);
        let mut parts = s.splitn(3, '|');
        let (from, to, branch) = (parts.next(), parts.next(), parts.next());
        let _ = idora::queue::stats::parse_range(branch, from, to, today);
    });
}

/// A JSON body of the right shape for each route, from the OpenAPI document.
fn seed_for(schema: &serde_json::Value, doc: &serde_json::Value, depth: u32) -> serde_json::Value {
    use serde_json::json;
    let schema = match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => r.strip_prefix("#/components/schemas/").and_then(|n| doc["components"]["schemas"].get(n)).unwrap_or(&json!({})).clone(),
        None => schema.clone(),
    };
    if depth > 4 {
        return json!(null);
    }
    if let Some(all) = schema.get("oneOf").or(schema.get("anyOf")).and_then(|v| v.as_array()) {
        return all.first().map(|s| seed_for(s, doc, depth + 1)).unwrap_or(json!(null));
    }
    let ty = match &schema["type"] {
        serde_json::Value::Array(types) => types.iter().find(|t| *t != "null").cloned().unwrap_or(json!("null")),
        other => other.clone(),
    };
    match ty.as_str().unwrap_or("object") {
        "string" => json!("Hisobot 2026-12-04T10:00:00Z +998901234567"),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        "array" => json!([seed_for(&schema["items"], doc, depth + 1)]),
        "null" => json!(null),
        _ => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    out.insert(k.clone(), seed_for(v, doc, depth + 1));
                }
            }
            serde_json::Value::Object(out)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_body_of_every_route_gets_an_answer_below_500() {
    let s = demo_on_system_clock().await;
    let token = s.demo_token("director").await;
    let doc = serde_json::to_value(idora::web::openapi::document()).unwrap();
    let mut routes = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else { continue };
            let path = path.replace("{slug}", DEMO).replace("{id}", "1").replace("{role}", "employee").replace("{token}", "x");
            routes.push((method.to_uppercase(), path, serde_json::to_vec(&seed_for(schema, &doc, 0)).unwrap()));
        }
    }
    assert!(routes.len() > 20, "only {} JSON routes found", routes.len());
    // The regression corpus first: "METHOD path" on the first line, then the body.
    if let Ok(entries) = std::fs::read_dir(corpus_dir("http")) {
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            let split = bytes.iter().position(|b| *b == b'\n').unwrap_or(bytes.len());
            let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
            let (method, path) = head.split_once(' ').unwrap();
            let body = bytes.get(split + 1..).unwrap_or(&[]).to_vec();
            let req = s.http.request(method.parse().unwrap(), s.url(path)).bearer_auth(&token).header("content-type", "application/json");
            let status = req.body(body).send().await.unwrap().status().as_u16();
            assert!(status < 500 || status == 503, "corpus {} answers {status} again", entry.path().display());
        }
    }
    let seeds: Vec<Vec<u8>> = routes.iter().map(|r| r.2.clone()).collect();
    let mut rng = Rng(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    let seed = rng.0;
    let until = Instant::now() + budget() * 3;
    let mut sent = 0;
    while Instant::now() < until {
        let (method, path, body) = &routes[rng.below(routes.len())];
        let mut input = body.clone();
        mutate(&mut rng, &seeds, &mut input);
        let req = s
            .http
            .request(method.parse().unwrap(), s.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(input.clone());
        let resp = req.send().await.unwrap();
        sent += 1;
        let status = resp.status().as_u16();
        if status >= 500 && status != 503 {
            let dir = corpus_dir("http");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("crash-{seed}-{sent}")), [method.as_bytes(), b" ", path.as_bytes(), b"\n", &input].concat())
                .unwrap();
            panic!("{method} {path} with {:?} answered {status} (seed {seed})", String::from_utf8_lossy(&input));
        }
    }
    assert!(sent > 50, "only {sent} requests in the budget");
}
