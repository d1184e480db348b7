//! The OpenAPI document, made from the routes as the server registers them
//! (each with its handler's annotation, through utoipa-axum). It is
//! checked in as `schema/openapi.json`; a test fails when that file is stale
//! (run `IDORA_BLESS=1 cargo test openapi` to refresh it).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document's frame: title, tags and the bearer scheme. The paths and
/// their schemas come from the routes themselves ([`document`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "Idora API", version = "1", description = "Errors are {\"error\": {\"kind\", \"message\"}} with a stable snake_case kind."),
    modifiers(&Bearer),
    tags((name = "platform", description = "Platform admins: companies"), (name = "company", description = "A company's users and structure"), (name = "chat", description = "Task threads, direct chats and groups"), (name = "reports", description = "Reports, exports and their background jobs"))
)]
struct Frame;

pub(crate) fn frame() -> utoipa::openapi::OpenApi {
    Frame::openapi()
}

/// The OpenAPI document of the JSON API, made from the routes the server
/// registers (`web::routes`): a route of the API is registered with its
/// entry, so the document names every one of them and nothing else.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = crate::web::routes(|r| r, |r| r).into_openapi();
    edge_statuses(&mut doc);
    integer_bounds(doc)
}

/// States the range of every integer the server reads. utoipa names an
/// unsigned Rust integer by its format (`uint8` … `uint64`) with only its
/// `minimum`, and a client (or Schemathesis) that does not know the format
/// would send 300 for a `u8` or 2^63 for a `u64` believing it valid, or
/// think the latter invalid; the explicit `maximum` says what serde accepts.
/// A bound the code declared itself (`#[schema(maximum = …)]`) stays.
fn integer_bounds(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                // utoipa spells the format `u-int64`; the usual name is `uint64`.
                let max = match map.get("format").and_then(|f| f.as_str()) {
                    Some("u-int8" | "uint8") => Some(("uint8", u64::from(u8::MAX))),
                    Some("u-int16" | "uint16") => Some(("uint16", u64::from(u16::MAX))),
                    Some("u-int32" | "uint32") => Some(("uint32", u64::from(u32::MAX))),
                    Some("u-int64" | "uint64") => Some(("uint64", u64::MAX)),
                    _ => None,
                };
                // `usize` (a limit, a count) has no format: 64 bits where Idora runs.
                let usize_like = map.get("type").and_then(|t| t.as_str()) == Some("integer")
                    && !map.contains_key("format")
                    && map.get("minimum").and_then(|m| m.as_u64()) == Some(0);
                let max = if usize_like { Some(("uint64", u64::MAX)) } else { max };
                if let Some((format, max)) = max {
                    map.insert("format".into(), format.into());
                    map.entry("minimum").or_insert(0.into());
                    map.entry("maximum").or_insert(max.into());
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&doc) else { return doc };
    walk(&mut value);
    serde_json::from_value(value).unwrap_or(doc)
}

/// Adds the answers that the edges give whatever the handler: each route's
/// own annotation lists what its handler decides, this lists what the
/// middleware and the extractors answer before or around it, so that the
/// document names every status a route returns (500 aside).
fn edge_statuses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{RefOr, Response};
    for (path, item) in doc.paths.paths.iter_mut() {
        let company = path.starts_with("/c/{slug}/");
        let stream = path.ends_with("/events") || path.ends_with("/live");
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            let params = op.parameters.as_deref().unwrap_or_default();
            let query = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query));
            let ids = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path) && p.name != "slug");
            let signed_in = op.security.as_ref().is_some_and(|s| !s.is_empty()) || op.responses.responses.contains_key("401");
            let mut add = |code: &str, why: &str| {
                op.responses.responses.entry(code.to_string()).or_insert_with(|| RefOr::T(Response::new(why)));
            };
            if company {
                add("403", "The company is inactive (not yet open for business, or closed)");
                add("404", "No such company (or no such item)");
                add("503", "The company's data is unavailable or busy; retry after `Retry-After`");
            }
            if signed_in {
                add("401", "Not signed in, or the session has ended");
                add("403", "Not allowed: the role's permissions, another company's token, or an inactive company");
            }
            if op.request_body.is_some() {
                add("400", "The body is not JSON");
                add("413", "The body is larger than `body_limit`");
                add("415", "The body is not `application/json`");
                add("422", "The body is JSON of the wrong shape (an object is required)");
            }
            if query {
                add("400", "A query parameter cannot be read");
            }
            if ids {
                add("404", "No such item");
            }
            if !stream {
                add("408", "The request took longer than `request_timeout_secs`");
            }
        }
    }
}

/// The document as pretty JSON with a final newline.
pub fn json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// Each type the document describes has a name of its own: utoipa keeps
    /// one schema per name, so two types of one name (two `FieldOut`s of two
    /// APIs) would describe one of them wrongly, silently.
    #[test]
    fn every_schema_name_is_used_once() {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        let mut files = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        let mut twice = Vec::new();
        for (file, src) in &files {
            let lines: Vec<&str> = src.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !(line.contains("#[derive(") && line.contains("ToSchema")) {
                    continue;
                }
                // The attributes up to the type, then the type's own name.
                let mut name = None;
                let mut renamed = None;
                for next in lines.iter().skip(i + 1).take(8) {
                    let t = next.trim();
                    if let Some(rest) = t.strip_prefix("#[schema(as = ") {
                        renamed = rest.split([')', ',']).next().map(str::to_string);
                    }
                    if let Some(rest) = t.strip_prefix("pub struct ").or_else(|| t.strip_prefix("pub enum ")) {
                        name = rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().map(str::to_string);
                        break;
                    }
                }
                if let Some(n) = renamed.or(name) {
                    let at = format!("{file}:{}", i + 1);
                    if let Some(first) = seen.insert(n.clone(), at.clone()) {
                        twice.push(format!("{n}: {first} and {at}"));
                    }
                }
            }
        }
        assert!(twice.is_empty(), "schema names used twice (rename one with #[schema(as = …)]):\n{}", twice.join("\n"));
    }

    /// The checked-in document must be what the code generates.
    #[test]
    fn schema_openapi_json_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join("openapi.json");
        let fresh = super::json();
        if std::env::var("IDORA_BLESS").is_ok() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(stored == fresh, "schema/openapi.json is stale: run `IDORA_BLESS=1 cargo test openapi` and commit it");
    }

    /// A JSON API route is registered only with its OpenAPI entry
    /// (`OpenApiRouter::routes(routes!(handler))`), never with a bare
    /// `.route(…)`: then the document, and every test that walks it (the
    /// cross-company test), cannot miss one.
    #[test]
    fn api_routes_are_registered_with_their_entries() {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("web");
        let mut files = Vec::new();
        let mut dirs = vec![web.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut bad = Vec::new();
        for f in &files {
            let in_api = f.starts_with(web.join("api"));
            for (n, line) in std::fs::read_to_string(f).unwrap().lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") || !code.contains(".route(") {
                    continue;
                }
                if in_api || code.contains("/api/") {
                    bad.push(format!("{}:{}: {}", f.display(), n + 1, code));
                }
            }
        }
        assert!(bad.is_empty(), "API routes registered without their OpenAPI entry (use routes!):\n{}", bad.join("\n"));
        // And the document has them: a few from each group.
        let doc = super::document();
        for path in ["/api/v1/auth/login", "/api/v1/companies", "/t/{token}/status", "/c/{slug}/api/v1/users", "/c/{slug}/api/v1/live"] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
    }
}
