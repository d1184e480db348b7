//! Service edges: health, readiness, metrics, security headers, request ids,
//! body limits, malformed input and unknown routes.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.get(&co.path("/me"), &co.admin).await.check(200);

    let h = s.get("/healthz", "").await.check(200);
    assert_eq!(h.body["status"], "ok");
    let r = s.get("/readyz", "").await.check(200);
    assert_eq!(r.body["status"], "ready");
    assert!(r.body["databases_open"].as_u64().unwrap() >= 2, "platform and the open company: {}", r.text);

    let m = s.get("/metrics", "").await.check(200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    assert!(m.text.contains("idora_http_requests_total"), "{}", m.text);
    assert!(m.text.lines().any(|l| l.starts_with("idora_http_requests_total{") && l.contains("status=\"200\"")), "{}", m.text);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let s = start().await;
    for path in ["/healthz", "/admin/login", "/api/v1/companies", "/no/such/page", "/api/v1/no-such-thing"] {
        let r = s.get(path, "").await;
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("CSP on {path}"));
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(r.header("referrer-policy").is_some(), "{path}");
        let id = r.header("x-request-id").unwrap_or_else(|| panic!("a request id on {path}"));
        assert!(id.len() >= 8, "{id}");
    }
    // A request id the client sends comes back, for tracing across hops.
    let r = s.send(s.http.get(s.url("/healthz")).header("x-request-id", "trace-me-42")).await.check(200);
    assert_eq!(r.header("x-request-id"), Some("trace-me-42"));
    let r = s.send(s.http.get(s.url("/api/v1/companies")).header("x-request-id", "trace-me-43")).await.refused(401, "unauthorized");
    assert_eq!(r.header("x-request-id"), Some("trace-me-43"));
    // Two requests without one get different ids.
    let a = s.get("/healthz", "").await;
    let b = s.get("/healthz", "").await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
    // API answers are not cached.
    assert_eq!(a.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let s = start_with(|c| c.body_limit = 4096).await;
    let co = s.company("acme", true).await;
    let big = "x".repeat(16 * 1024);
    let r = s.post("/api/v1/auth/login", "", json!({"username": big, "password": "x"})).await.refused(413, "payload_too_large");
    assert!(!r.message().is_empty());
    s.post(&co.path("/departments"), &co.admin, json!({"name": big})).await.refused(413, "payload_too_large");
    // Under the limit all is well.
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);
}

#[tokio::test]
async fn malformed_input_is_a_client_error_never_a_500() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let root = s.root().await;
    let raw = |method: Method, path: &str, token: &str, ct: &str, body: &'static str| {
        let mut r = s.req(method, path, token).body(body);
        if !ct.is_empty() {
            r = r.header("content-type", ct);
        }
        r
    };

    // Not JSON at all: 400 with what the parser said.
    let r = s.send(raw(Method::POST, "/api/v1/auth/login", "", "application/json", "{not json")).await.refused(400, "bad_request");
    assert!(r.body["error"]["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.text);
    s.send(raw(Method::POST, &co.path("/auth/login"), "", "application/json", "")).await.refused(400, "bad_request");
    s.send(raw(Method::POST, &co.path("/users"), &co.admin, "application/json", r#"{"username": }"#)).await.refused(400, "bad_request");
    // JSON of the wrong shape: 422.
    s.send(raw(Method::POST, &co.path("/auth/login"), "", "application/json", "null")).await.refused(422, "validation");
    s.send(raw(Method::POST, &co.path("/auth/login"), "", "application/json", "[]")).await.refused(422, "validation");
    s.send(raw(Method::POST, &co.path("/users"), &co.admin, "application/json", r#"{"username": 5}"#)).await.refused(422, "validation");
    s.send(raw(Method::PATCH, &co.path(&format!("/users/{}", co.admin_id)), &co.admin, "application/json", r#"{"department_id": -1}"#))
        .await
        .refused(422, "validation");
    s.send(raw(Method::PATCH, &co.path("/branches/1"), &co.admin, "application/json", r#"{"hours": {"mon": [9, 18]}}"#))
        .await
        .refused(422, "validation");
    // Not JSON by its content type: 415.
    s.send(raw(Method::POST, &co.path("/departments"), &co.admin, "text/plain", r#"{"name":"X"}"#))
        .await
        .refused(415, "unsupported_media_type");
    s.send(raw(Method::POST, "/api/v1/companies", &root, "", r#"{"name":"X"}"#)).await.refused(415, "unsupported_media_type");
    // Ids and numbers out of range.
    s.get(&co.path("/users/18446744073709551616"), &co.admin).await.refused(404, "not_found");
    s.get(&co.path("/users/-1"), &co.admin).await.refused(404, "not_found");
    s.get(&format!("{}?limit=-5", co.path("/audit")), &co.admin).await.refused(400, "bad_request");
    s.get(&format!("{}?limit=100000000000000000000", co.path("/audit")), &co.admin).await.refused(400, "bad_request");
    s.get(&format!("{}?limit=0", co.path("/audit")), &co.admin).await.check(200);
    // Very long and strange strings are refused, not stored or crashed on.
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "a\u{0}b"})).await.refused(422, "validation");
    assert_eq!(r.field(), "name");
    s.post(&co.path("/auth/login"), "", json!({"username": "\u{0}", "password": ""})).await.refused(401, "invalid_credentials");
    s.post(&co.path("/auth/refresh"), "", json!({"refresh_token": ""})).await.refused(401, "unauthorized");
    s.send(s.http.get(s.url(&co.path("/me"))).header("authorization", "Bearer")).await.refused(401, "unauthorized");
    s.send(s.http.get(s.url(&co.path("/me"))).header("authorization", "Basic Zm9vOmJhcg==")).await.refused(401, "unauthorized");
}

#[tokio::test]
async fn unknown_routes_and_companies_are_404() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.get("/api/v1/no-such-thing", "").await.refused(404, "not_found");
    s.get(&co.path("/no-such-thing"), &co.admin).await.refused(404, "not_found");
    let r = s.get("/c/nobody/api/v1/me", &co.admin).await.refused(404, "not_found");
    // No company, no company language: Idora's default, Uzbek.
    assert_eq!(r.message(), msg(idora::i18n::Lang::Uz, "error.company_not_found"));
    s.post("/c/nobody/api/v1/auth/login", "", json!({"username": "boss", "password": ADMIN_PASSWORD})).await.refused(404, "not_found");
    // A page that does not exist is an HTML page, not JSON.
    let r = s.get("/no/such/page", "").await.check(404);
    assert!(r.header("content-type").unwrap().starts_with("text/html"), "{:?}", r.headers);
    // A method a route does not take is refused as a client error.
    let root = s.root().await;
    let r = s.send(s.req(Method::DELETE, "/api/v1/companies", &root)).await.refused(405, "method_not_allowed");
    assert_eq!(r.message(), msg(idora::i18n::Lang::Uz, "error.method_not_allowed"));
    assert!(r.header("allow").is_some_and(|a| a.contains("GET")), "{:?}", r.headers);
    s.send(s.req(Method::PUT, &co.path("/me"), &co.admin)).await.refused(405, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_many_first_requests_open_a_company_once() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let s = s.restart().await;
    // The company's database is opened lazily, by whichever request comes
    // first; eight at once must all be served (none told "unavailable").
    let me = co.path("/me");
    let calls: Vec<_> = (0..8).map(|_| s.get(&me, &co.admin)).collect();
    for r in futures_util::future::join_all(calls).await {
        r.check(200);
    }
    let r = s.get("/readyz", "").await.check(200);
    assert_eq!(r.body["databases_open"], 2);
}

#[tokio::test]
async fn a_control_character_is_named_as_such_not_as_a_length() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kas\u{7}sa"})).await.refused(422, "validation");
    assert_eq!(r.field(), "name");
    assert_eq!(r.message(), msg(idora::i18n::Lang::En, "validation.control_char"));
    // A long name is still told its length.
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "k".repeat(500)})).await.refused(422, "validation");
    assert!(r.message().contains("characters"), "{}", r.message());
}

/// There is no separate upload limit: the one upload, a logo, is checked
/// against its own limit inside the body limit, so a too-big logo is told
/// its limit on the form rather than cut off by the server.
#[tokio::test]
async fn a_logo_upload_is_limited_by_the_logo_limit_inside_the_body_limit() {
    let s = start().await;
    s.company("acme", true).await;
    let b = s.browser("acme", "boss", ADMIN_PASSWORD).await;
    let upload = |bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("logo.png").mime_str("image/png").unwrap();
        b.http
            .post(s.url("/c/acme/admin/branding/logo"))
            .header("x-csrf-token", b.csrf.as_str())
            .multipart(reqwest::multipart::Form::new().part("logo", part))
            .send()
    };
    let big = vec![0u8; idora::org::branding::MAX_LOGO_BYTES + 1];
    let r = upload(big).await.unwrap();
    assert_eq!(r.status(), 422, "the form again");
    let html = r.text().await.unwrap();
    let told = msg_with(idora::i18n::Lang::En, "validation.logo_size", &[("kb", "512")]);
    assert!(html.contains(&told), "{told} in {html}");
    // A body beyond the body limit is refused before any handler reads it.
    let r = upload(vec![0u8; 2 * 1024 * 1024]).await.unwrap();
    assert_eq!(r.status(), 413);
}

/// The OpenAPI document lists every status a route answers: each route is
/// probed without a token, with a token of another company, with an array
/// for a body, with an unknown company and with a path id that is not a
/// number, and every answer is a 4xx JSON error the document lists (never a
/// 5xx). Query parameters are declared as query parameters.
#[tokio::test]
async fn the_openapi_document_lists_every_status_a_route_answers() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let other = s.company("beta", true).await;
    let doc = serde_json::to_value(idora::web::openapi::document()).unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.ends_with("/live") {
            continue; // the WebSocket: its upgrade is tested in api::live
        }
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in &params {
                let declared_in = p["in"].as_str().unwrap();
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(declared_in == "path", in_path, "{method} {path}: {name} is declared in {declared_in}");
            }
            let listed: Vec<String> = op["responses"].as_object().unwrap().keys().cloned().collect();
            let fill = |slug: &str, id: &str| {
                path.replace("{slug}", slug)
                    .replace("{token}", "nope")
                    .replace("{role}", "employee")
                    .replace("{file}", "1-nope.ics")
                    .replace("{id}", id)
                    .replace("{branch_id}", id)
                    .replace("{user_id}", id)
            };
            let has_body = op.get("requestBody").is_some();
            let mut probes = vec![("no token", fill("acme", "1"), String::new(), has_body.then(|| json!({})))];
            probes.push(("another company's token", fill("acme", "1"), other.admin.clone(), has_body.then(|| json!({}))));
            if has_body {
                probes.push(("an array body", fill("acme", "1"), co.admin.clone(), Some(json!([{}, 1, "x"]))));
            }
            if path.contains("{slug}") {
                probes.push(("an unknown company", fill("nobody", "1"), co.admin.clone(), has_body.then(|| json!({}))));
            }
            if path.contains("{id}") || path.contains("{branch_id}") || path.contains("{user_id}") {
                probes.push(("a bad id", fill("acme", "x"), co.admin.clone(), has_body.then(|| json!({}))));
            }
            for (what, url, token, body) in probes {
                let mut r = client.request(m.clone(), s.url(&url));
                if !token.is_empty() {
                    r = r.bearer_auth(&token);
                }
                if let Some(b) = &body {
                    r = r.json(b);
                }
                let resp = r.send().await.unwrap();
                let status = resp.status();
                let code = status.as_u16().to_string();
                if !listed.contains(&code) {
                    wrong.push(format!("{method} {path} with {what}: {status} is not in {listed:?}"));
                }
                assert!(!status.is_server_error(), "{method} {path} with {what}: {status}");
                // (The calendar feed and the QR image are files, not API calls: their errors are pages.)
                if status.is_client_error() && !path.contains("/calendar/") && !path.ends_with(".svg") {
                    let text = tokio::time::timeout(std::time::Duration::from_secs(5), resp.text()).await.unwrap().unwrap();
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    assert!(v["error"]["kind"].is_string(), "{method} {path} with {what}: a JSON error, got {text}");
                    if what == "an array body" {
                        assert!(matches!(status.as_u16(), 400 | 401 | 403 | 404 | 422), "{method} {path}: {status} {text}");
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked > 150, "{checked} probes");
}

/// A JSON array is refused where an object is required, though serde would
/// read a struct from it by position.
#[tokio::test]
async fn a_json_array_is_not_an_object() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let r = s.send(s.req(Method::POST, &co.path("/departments"), &co.admin).json(&json!(["Kassa"]))).await.refused(422, "validation");
    assert!(r.body["error"]["detail"].as_str().is_some_and(|d| d.contains("object")), "{}", r.text);
    s.send(s.req(Method::POST, "/c/acme/api/v1/auth/login", "").json(&json!(["boss", ADMIN_PASSWORD]))).await.refused(422, "validation");
    s.send(s.req(Method::POST, "/c/acme/api/v1/auth/login", "").json(&json!("boss"))).await.refused(422, "validation");
    let list = s.get(&co.path("/departments"), &co.admin).await.check(200);
    assert_eq!(list.body, json!([]));
}
