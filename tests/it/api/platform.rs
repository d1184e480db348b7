//! Platform admins: their sessions and the companies they create and open.

use crate::support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn platform_admin_logs_in_refreshes_and_logs_out() {
    let s = start().await;

    let r = s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": "wrong-password"})).await;
    r.refused(401, "invalid_credentials");
    let r = s.post("/api/v1/auth/login", "", json!({"username": "nobody", "password": ROOT_PASSWORD})).await;
    r.refused(401, "invalid_credentials");

    let pair = s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": ROOT_PASSWORD})).await.check(200);
    assert_eq!(pair.body["token_type"], "Bearer");
    assert_eq!(pair.body["expires_in"], 900);
    let access = pair.str("access_token");
    let refresh = pair.str("refresh_token");
    assert!(access.split('.').count() == 3, "the access token is a JWT");
    assert!(refresh.len() >= 32);
    // Browsers get the pair as HttpOnly SameSite=Strict cookies too.
    let cookies: Vec<&str> = pair.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("idora_pat=") && c.contains("HttpOnly") && c.contains("SameSite=Strict")), "{cookies:?}");

    s.get("/api/v1/companies", "").await.refused(401, "unauthorized");
    s.get("/api/v1/companies", "not-a-token").await.refused(401, "unauthorized");
    let list = s.get("/api/v1/companies", &access).await.check(200);
    assert_eq!(list.body, json!([]));

    let next = s.post("/api/v1/auth/refresh", "", json!({"refresh_token": refresh})).await.check(200);
    assert_eq!(next.body["token_type"], "Bearer");
    let (access2, refresh2) = (next.str("access_token"), next.str("refresh_token"));
    assert_ne!(refresh2, refresh, "the refresh token rotates");
    s.get("/api/v1/companies", &access2).await.check(200);

    s.post("/api/v1/auth/refresh", "", json!({"refresh_token": "garbage"})).await.refused(401, "unauthorized");

    let out = s.post("/api/v1/auth/logout", "", json!({"refresh_token": refresh2})).await.check(204);
    assert!(out.text.is_empty());
    // The session is over: its access token and its refresh token are refused.
    s.get("/api/v1/companies", &access2).await.refused(401, "unauthorized");
    s.post("/api/v1/auth/refresh", "", json!({"refresh_token": refresh2})).await.refused(401, "unauthorized");
    // Logging out twice is not an error.
    s.post("/api/v1/auth/logout", "", json!({"refresh_token": refresh2})).await.check(204);
}

#[tokio::test]
async fn companies_are_created_listed_and_opened() {
    let s = start().await;
    let root = s.root().await;

    // With a password: none comes back.
    let r = s.create_company(&root, "acme", "ru").await;
    assert_eq!(r.body["slug"], "acme");
    assert_eq!(r.body["name"], "acme Ltd");
    assert_eq!(r.body["status"], "inactive");
    assert_eq!(r.body["admin_username"], "boss");
    assert!(r.body.get("admin_password").is_none(), "a given password is never echoed: {}", r.text);

    // Without one: a generated password, shown once, that works.
    let body = json!({"name": "  Orient Bank ", "slug": "orient-bank-2", "admin_username": "Chief"});
    let r = s.post("/api/v1/companies", &root, body).await.check(201);
    assert_eq!(r.body["name"], "Orient Bank");
    assert_eq!(r.body["admin_username"], "chief", "usernames are kept in lower case");
    let generated = r.str("admin_password");
    assert!(generated.len() >= 12, "{generated}");
    s.login("orient-bank-2", "chief", &generated).await.check(200);

    // The founder can be the first account: an owner, who may make owners.
    let body = json!({"name": "Founders", "slug": "founders", "admin_username": "asoschi", "admin_password": ADMIN_PASSWORD, "admin_role": "owner"});
    s.post("/api/v1/companies", &root, body).await.check(201);
    let token = s.login("founders", "asoschi", ADMIN_PASSWORD).await.check(200).str("access_token");
    let me = s.get("/c/founders/api/v1/me", &token).await.check(200);
    assert_eq!(me.body["role"], "owner", "{}", me.text);
    let second = json!({"username": "sherik", "role": "owner", "password": "long-pass-123"});
    s.post("/c/founders/api/v1/users", &token, second).await.check(201);
    let bad = json!({"name": "X", "slug": "xroles", "admin_username": "boss", "admin_role": "boss"});
    let r = s.post("/api/v1/companies", &root, bad).await.refused(422, "validation");
    assert_eq!(r.body["error"]["field"], "admin_role");

    let list = s.get("/api/v1/companies", &root).await.check(200);
    let rows = list.body.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let orient = rows.iter().find(|c| c["slug"] == "orient-bank-2").unwrap();
    assert_eq!(orient["name"], "Orient Bank");
    assert_eq!(orient["status"], "inactive");
    assert_eq!(orient["timezone"], "Asia/Tashkent", "the default time zone");
    assert_eq!(orient["language"], "uz", "the default language");
    let acme = rows.iter().find(|c| c["slug"] == "acme").unwrap();
    assert_eq!(acme["language"], "ru");

    // A company's folder and database file exist.
    assert!(s.running.state.config.data_dir.join("tenants/acme/data.redb").exists());

    // Duplicate slug.
    let dup = json!({"name": "Other", "slug": "acme", "admin_username": "boss", "admin_password": ADMIN_PASSWORD});
    s.post("/api/v1/companies", &root, dup).await.refused(409, "conflict");

    // Activate and deactivate.
    let r = s.post("/api/v1/companies/acme/activate", &root, json!({})).await.check(200);
    assert_eq!(r.body, json!({"slug": "acme", "status": "active"}));
    let list = s.get("/api/v1/companies", &root).await.check(200);
    assert!(list.body.as_array().unwrap().iter().any(|c| c["slug"] == "acme" && c["status"] == "active"));
    let r = s.post("/api/v1/companies/acme/deactivate", &root, json!({})).await.check(200);
    assert_eq!(r.body, json!({"slug": "acme", "status": "inactive"}));
    s.post("/api/v1/companies/nope/activate", &root, json!({})).await.refused(404, "not_found");
    s.post("/api/v1/companies/acme/activate", "", json!({})).await.refused(401, "unauthorized");

    // Edit.
    let r = s.patch("/api/v1/companies/acme", &root, json!({"name": "ACME Group", "timezone": "Asia/Samarkand"})).await.check(200);
    assert_eq!(r.body["name"], "ACME Group");
    assert_eq!(r.body["timezone"], "Asia/Samarkand");
    s.patch("/api/v1/companies/acme", &root, json!({"timezone": "Mars/Olympus"})).await.refused(422, "validation");
    s.patch("/api/v1/companies/nope", &root, json!({"name": "X"})).await.refused(404, "not_found");
}

#[tokio::test]
async fn bad_company_input_is_refused_with_the_field() {
    let s = start().await;
    let root = s.root().await;
    let base = || json!({"name": "Good", "slug": "good", "admin_username": "boss", "admin_password": ADMIN_PASSWORD});
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        b
    };

    let long = "x".repeat(33);
    for bad in ["ab", "-abc", "abc-", "Abc", "a_bc", "a.bc", "a bc", long.as_str(), "юник", ""] {
        let r = s.post("/api/v1/companies", &root, with("slug", json!(bad))).await.refused(422, "validation");
        assert_eq!(r.field(), "slug", "{bad}: {}", r.text);
    }
    let format_message = s.post("/api/v1/companies", &root, with("slug", json!("ab"))).await.message().to_string();
    for reserved in ["admin", "api", "assets", "login", "healthz", "metrics", "kiosk", "new"] {
        let r = s.post("/api/v1/companies", &root, with("slug", json!(reserved))).await.refused(422, "validation");
        assert_eq!(r.field(), "slug");
        assert_ne!(r.message(), format_message, "a reserved word is told apart from a bad format");
    }
    let r = s.post("/api/v1/companies", &root, with("timezone", json!("Nowhere/City"))).await.refused(422, "validation");
    assert_eq!(r.field(), "timezone");
    let r = s.post("/api/v1/companies", &root, with("language", json!("fr"))).await.refused(422, "validation");
    assert_eq!(r.field(), "language");
    let r = s.post("/api/v1/companies", &root, with("admin_username", json!("a b"))).await.refused(422, "validation");
    assert_eq!(r.field(), "username");
    let r = s.post("/api/v1/companies", &root, with("admin_password", json!("short"))).await.refused(422, "validation");
    assert_eq!(r.field(), "password");
    let r = s.post("/api/v1/companies", &root, with("name", json!("   "))).await.refused(422, "validation");
    assert_eq!(r.field(), "name");
    // Wrong shapes: a missing field, an unknown field, a wrong type.
    s.post("/api/v1/companies", &root, json!({"slug": "good", "admin_username": "boss"})).await.refused(422, "validation");
    s.post("/api/v1/companies", &root, with("colour", json!("red"))).await.refused(422, "validation");
    s.post("/api/v1/companies", &root, with("slug", json!(42))).await.refused(422, "validation");

    // Nothing was created by any of it.
    let list = s.get("/api/v1/companies", &root).await.check(200);
    assert_eq!(list.body, json!([]));
    assert!(!s.running.state.config.data_dir.join("tenants/good").exists());
}

#[tokio::test]
async fn platform_and_company_tokens_do_not_cross() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let root = s.root().await;
    // A company admin is not a platform admin…
    s.get("/api/v1/companies", &co.admin).await.refused(403, "wrong_company");
    let body = json!({"name": "X", "slug": "xyz", "admin_username": "boss"});
    s.post("/api/v1/companies", &co.admin, body).await.refused(403, "wrong_company");
    s.post("/api/v1/companies/acme/deactivate", &co.admin, json!({})).await.refused(403, "wrong_company");
    // …and a platform admin is nobody inside a company.
    s.get(&co.path("/me"), &root).await.refused(403, "wrong_company");
    s.get(&co.path("/users"), &root).await.refused(403, "wrong_company");
    // Platform credentials do not open a company login.
    s.login("acme", ROOT, ROOT_PASSWORD).await.refused(401, "invalid_credentials");
    // A platform refresh token means nothing to a company, and the other way round.
    let platform_refresh =
        s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": ROOT_PASSWORD})).await.check(200).str("refresh_token");
    s.post(&co.path("/auth/refresh"), "", json!({"refresh_token": platform_refresh})).await.refused(401, "unauthorized");
    s.post("/api/v1/auth/refresh", "", json!({"refresh_token": co.admin_refresh})).await.refused(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_company_created_twice_at_once_stays_whole() {
    let s = start().await;
    let root = s.root().await;
    let mut winners = Vec::new();
    for slug in ["race-a", "race-b", "race-c"] {
        let body = |pw: &str| json!({"name": "Race", "slug": slug, "admin_username": "boss", "admin_password": pw});
        let (a, b) = tokio::join!(
            s.post("/api/v1/companies", &root, body("first-pass-1")),
            s.post("/api/v1/companies", &root, body("second-pass-2"))
        );
        let mut codes = [a.status.as_u16(), b.status.as_u16()];
        codes.sort();
        assert_eq!(codes, [201, 409], "one wins, one is told the slug is taken: {} / {}", a.text, b.text);
        let (won, lost) = if a.status.as_u16() == 201 { ("first-pass-1", "second-pass-2") } else { ("second-pass-2", "first-pass-1") };
        let token = s.login(slug, "boss", won).await.check(200).str("access_token");
        s.login(slug, "boss", lost).await.refused(401, "invalid_credentials");
        s.post(&c(slug, "/departments"), &token, json!({"name": "Kassa"})).await.check(201);
        winners.push((slug, won, lost));
    }
    // After a restart every company is what its creator was told it is.
    let s = s.restart().await;
    for (slug, won, lost) in winners {
        let token = s.login(slug, "boss", won).await.check(200).str("access_token");
        s.login(slug, "boss", lost).await.refused(401, "invalid_credentials");
        let depts = s.get(&c(slug, "/departments"), &token).await.check(200);
        assert_eq!(depts.body.as_array().unwrap().len(), 1, "{slug} kept its data: {}", depts.text);
    }
}
