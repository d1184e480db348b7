//! Company sessions: login, refresh rotation and reuse, logout, access-token
//! expiry, lockout with back-off, the per-address rate limit, CSRF for
//! cookie sessions, and what an inactive company admits.

use crate::support::*;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn company_login_refresh_and_logout() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;

    s.login("acme", "aziz", "wrong-password").await.refused(401, "invalid_credentials");
    s.login("acme", "ghost", USER_PASSWORD).await.refused(401, "invalid_credentials");
    s.login("nope", "aziz", USER_PASSWORD).await.refused(404, "not_found");
    // Usernames are case-insensitive.
    let pair = s.login("acme", "  AZIZ ", USER_PASSWORD).await.check(200);
    assert_eq!(pair.body["token_type"], "Bearer");
    assert_eq!(pair.body["expires_in"], 900);
    let cookies: Vec<&str> = pair.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("idora_at=") && c.contains("Path=/c/acme") && c.contains("HttpOnly") && c.contains("SameSite=Strict")),
        "{cookies:?}"
    );
    assert!(cookies.iter().any(|c| c.starts_with("idora_rt=") && c.contains("HttpOnly")), "{cookies:?}");

    let access = pair.str("access_token");
    let me = s.get(&co.path("/me"), &access).await.check(200);
    assert_eq!(me.body["username"], "aziz");

    let next = s.post(&co.path("/auth/refresh"), "", json!({"refresh_token": pair.str("refresh_token")})).await.check(200);
    assert_eq!(next.body["token_type"], "Bearer");
    assert_eq!(next.body["expires_in"], 900);
    let access2 = next.str("access_token");
    s.get(&co.path("/me"), &access2).await.check(200);

    s.post(&co.path("/auth/logout"), "", json!({"refresh_token": next.str("refresh_token")})).await.check(204);
    // Both access tokens of the session die with it.
    s.get(&co.path("/me"), &access2).await.refused(401, "unauthorized");
    s.get(&co.path("/me"), &access).await.refused(401, "unauthorized");
    s.post(&co.path("/auth/refresh"), "", json!({"refresh_token": next.str("refresh_token")})).await.refused(401, "unauthorized");
    // Another session of the same user lives on.
    let other = s.login("acme", "aziz", USER_PASSWORD).await.check(200).str("access_token");
    s.get(&co.path("/me"), &other).await.check(200);
    // Bad bodies are told, not crashed on.
    s.post(&co.path("/auth/login"), "", json!({"username": "aziz"})).await.refused(422, "validation");
    s.post(&co.path("/auth/refresh"), "", json!({})).await.refused(422, "validation");
}

#[tokio::test]
async fn a_used_refresh_token_is_refused_and_its_reuse_revokes_the_family() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let refresh = |t: String| {
        let s = &s;
        let path = co.path("/auth/refresh");
        async move { s.post(&path, "", json!({"refresh_token": t})).await }
    };

    let first = s.login("acme", "boss", ADMIN_PASSWORD).await.check(200);
    let r1 = first.str("refresh_token");
    let second = refresh(r1.clone()).await.check(200);
    let r2 = second.str("refresh_token");
    let third = refresh(r2.clone()).await.check(200);
    let (a3, r3) = (third.str("access_token"), third.str("refresh_token"));
    assert!(r1 != r2 && r2 != r3);
    s.get(&co.path("/me"), &a3).await.check(200);

    // Rotation: the old token is refused once used (after the grace window
    // for concurrent refreshes)…
    s.advance(SignedDuration::from_secs(11));
    let reused = refresh(r1).await.refused(401, "token_reused");
    assert_eq!(reused.message(), msg(idora::i18n::Lang::En, "error.token_reused"));
    // …and presenting it revoked the whole family: the newest refresh token
    // and the newest access token stop working too.
    refresh(r3).await.refused(401, "unauthorized");
    s.get(&co.path("/me"), &a3).await.refused(401, "unauthorized");
    refresh(r2).await.check(401);

    // The admin's other session (from `company()`) is another family.
    s.get(&co.path("/me"), &co.admin).await.check(200);
    refresh(co.admin_refresh.clone()).await.check(200);
}

#[tokio::test]
async fn two_concurrent_refreshes_of_one_token_keep_the_session() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let path = co.path("/auth/refresh");
    let first = s.login("acme", "boss", ADMIN_PASSWORD).await.check(200);
    let r1 = first.str("refresh_token");
    // Two calls of one client present the same token at once.
    let body = json!({"refresh_token": r1});
    let (a, b) = tokio::join!(s.post(&path, "", body.clone()), s.post(&path, "", body.clone()));
    let (a, b) = (a.check(200), b.check(200));
    // Both pairs work, and both refresh tokens go on rotating.
    for p in [&a, &b] {
        s.get(&co.path("/me"), &p.str("access_token")).await.check(200);
    }
    s.advance(SignedDuration::from_secs(5));
    let next = s.post(&path, "", json!({"refresh_token": a.str("refresh_token")})).await.check(200);
    s.post(&path, "", json!({"refresh_token": b.str("refresh_token")})).await.check(200);
    s.get(&co.path("/me"), &next.str("access_token")).await.check(200);
    // A replay well after the window is still a reuse, and revokes the family.
    s.advance(SignedDuration::from_secs(11));
    s.post(&path, "", body).await.refused(401, "token_reused");
    s.get(&co.path("/me"), &next.str("access_token")).await.refused(401, "unauthorized");
}

#[tokio::test]
async fn an_access_token_expires_after_fifteen_minutes() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.get(&co.path("/me"), &co.admin).await.check(200);
    s.advance(SignedDuration::from_mins(14));
    s.get(&co.path("/me"), &co.admin).await.check(200);
    s.advance(SignedDuration::from_mins(2));
    s.get(&co.path("/me"), &co.admin).await.refused(401, "unauthorized");
    // The refresh token (30 days) still gets a new pair.
    let next = s.post(&co.path("/auth/refresh"), "", json!({"refresh_token": co.admin_refresh})).await.check(200);
    s.get(&co.path("/me"), &next.str("access_token")).await.check(200);
    // After 31 days the refresh token is dead as well.
    s.advance(SignedDuration::from_hours(31 * 24));
    s.post(&co.path("/auth/refresh"), "", json!({"refresh_token": next.str("refresh_token")})).await.refused(401, "unauthorized");
}

#[tokio::test]
async fn an_unknown_username_locks_like_a_real_one() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;
    // The same answers, in the same order, for a real and a made-up name:
    // nobody learns which usernames exist.
    for name in ["aziz", "nobody-here"] {
        for _ in 0..5 {
            s.login("acme", name, "wrong-password").await.refused(401, "invalid_credentials");
        }
        let r = s.login("acme", name, "wrong-password").await.refused(429, "account_locked");
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((25..=30).contains(&wait), "{name}: first lock is 30 s, got {wait}");
    }
}

#[tokio::test]
async fn an_account_is_locked_with_growing_back_off() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;

    for _ in 0..5 {
        s.login("acme", "aziz", "wrong-password").await.refused(401, "invalid_credentials");
    }
    // Locked: even the right password is refused, with a wait.
    let r = s.login("acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((25..=30).contains(&wait), "first lock is 30 s, got {wait}");
    assert!(r.message().contains('1'), "the message says how many minutes: {}", r.message());

    s.advance(SignedDuration::from_secs(31));
    // One more failure after the lock: locked again, for longer.
    s.login("acme", "aziz", "wrong-again").await.refused(401, "invalid_credentials");
    let r = s.login("acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((55..=60).contains(&wait), "second lock is 60 s, got {wait}");
    s.advance(SignedDuration::from_secs(31));
    s.login("acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    s.advance(SignedDuration::from_secs(30));
    s.login("acme", "aziz", USER_PASSWORD).await.check(200);

    // A success clears the count: one failure no longer locks.
    s.login("acme", "aziz", "wrong-password").await.refused(401, "invalid_credentials");
    s.login("acme", "aziz", USER_PASSWORD).await.check(200);

    // Another user of the company was never locked.
    s.login("acme", "boss", ADMIN_PASSWORD).await.check(200);

    // A new password set by the admin unlocks at once.
    for _ in 0..5 {
        s.login("acme", "aziz", "wrong-password").await.check(401);
    }
    s.login("acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    let id = s
        .get(&co.path("/users"), &co.admin)
        .await
        .check(200)
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "aziz")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"password": "brand-new-pass"})).await.check(200);
    s.login("acme", "aziz", "brand-new-pass").await.check(200);
}

#[tokio::test]
async fn platform_logins_lock_too() {
    let s = start().await;
    for _ in 0..5 {
        s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": "wrong-password"})).await.check(401);
    }
    s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": ROOT_PASSWORD})).await.refused(429, "account_locked");
    s.advance(SignedDuration::from_secs(31));
    s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": ROOT_PASSWORD})).await.check(200);
}

#[tokio::test]
async fn logins_are_rate_limited_per_address() {
    let s = start_with(|c| c.login_per_minute = 4).await;
    // 1: the platform admin signs in and creates a company (no login there).
    let root = s.root().await;
    s.create_company(&root, "acme", "en").await;
    // 2–4: wrong passwords, told as such.
    s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": "wrong-password"})).await.refused(401, "invalid_credentials");
    s.login("acme", "boss", "wrong-password").await.refused(401, "invalid_credentials");
    s.login("acme", "boss", "wrong-password").await.refused(401, "invalid_credentials");
    // 5: over the limit, whatever the password and wherever the login.
    let r = s.login("acme", "boss", ADMIN_PASSWORD).await.refused(429, "rate_limited");
    let wait: u64 = r.header("retry-after").expect("a Retry-After header").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    s.post("/api/v1/auth/login", "", json!({"username": ROOT, "password": ROOT_PASSWORD})).await.refused(429, "rate_limited");
    // The login form says so too: the form again, with the reason.
    let browser = cookie_client(true);
    let page = s.send(browser.get(s.url("/c/acme/login"))).await.check(200);
    let csrf = page.cookie("idora_csrf").unwrap();
    let form = [("username", "boss"), ("password", ADMIN_PASSWORD), ("_csrf", csrf.as_str())];
    let r = s.send(browser.post(s.url("/c/acme/login")).form(&form)).await.check(422);
    assert!(r.text.contains(&msg(idora::i18n::Lang::En, "error.rate_limited")), "{}", r.text);
    assert!(r.header("retry-after").is_some(), "and when to try again");
    // Requests that are not logins are not limited.
    s.get("/api/v1/companies", &root).await.check(200);
    // The limiter counted the refusals.
    let metrics = s.get("/metrics", "").await.check(200);
    assert!(metrics.text.contains("idora_login_rate_limited_total"), "{}", metrics.text);
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_and_bearer_requests_do_not() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let browser = cookie_client(false);

    // The browser signs in; the session lives in cookies.
    let r = s.send(browser.post(s.url(&co.path("/auth/login"))).json(&json!({"username": "boss", "password": ADMIN_PASSWORD}))).await;
    r.check(200);
    // A read works with the cookie alone and hands out the CSRF cookie.
    let me = s.send(browser.get(s.url(&co.path("/me")))).await.check(200);
    assert_eq!(me.body["username"], "boss");
    let csrf = me.cookie("idora_csrf").expect("a CSRF cookie on the first GET");
    assert!(csrf.len() >= 32);

    // A state change without the header is refused…
    let post = |name: &str| browser.post(s.url(&co.path("/departments"))).json(&json!({"name": name}));
    let r = s.send(post("Kassa")).await.refused(403, "csrf_failed");
    assert_eq!(r.message(), msg(idora::i18n::Lang::En, "error.csrf_failed"));
    // …so is a wrong token, and so is another site's origin with the right one…
    s.send(post("Kassa").header("x-csrf-token", "0".repeat(64))).await.refused(403, "csrf_failed");
    s.send(post("Kassa").header("x-csrf-token", &csrf).header("origin", "http://evil.example")).await.refused(403, "csrf_failed");
    let patch = browser.patch(s.url(&co.path(&format!("/users/{}", co.admin_id)))).json(&json!({"full_name": "X"}));
    s.send(patch).await.refused(403, "csrf_failed");
    // …and nothing was written.
    let list = s.get(&co.path("/departments"), &co.admin).await.check(200);
    assert_eq!(list.body, json!([]));

    // With the token it goes through, from this origin or none.
    let r = s.send(post("Kassa").header("x-csrf-token", &csrf)).await.check(201);
    assert_eq!(r.body["name"], "Kassa");
    s.send(post("Kredit").header("x-csrf-token", &csrf).header("origin", s.base.clone())).await.check(201);
    // The `_csrf` query parameter works where a header cannot be set.
    s.send(browser.post(s.url(&format!("{}?_csrf={csrf}", co.path("/departments")))).json(&json!({"name": "IT"}))).await.check(201);

    // A Bearer request carries no ambient credential: no token needed.
    s.post(&co.path("/departments"), &co.admin, json!({"name": "HR"})).await.check(201);
    // Even from a client that also holds our cookies.
    let r = s.send(browser.post(s.url(&co.path("/departments"))).bearer_auth(&co.admin).json(&json!({"name": "Legal"}))).await;
    r.check(201);

    // Logging out through the form needs the token as a field.
    let r = s.send(browser.post(s.url("/c/acme/logout")).form(&[("x", "y")])).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
    let r = s.send(browser.post(s.url("/c/acme/logout")).form(&[("_csrf", csrf.as_str())])).await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text);
    // The cookie session is over.
    s.send(browser.get(s.url(&co.path("/me")))).await.refused(401, "unauthorized");
}

/// A call with no credential at all is told to sign in (401), whatever its
/// body, rather than refused for a CSRF token it had no use for.
#[tokio::test]
async fn an_unauthenticated_post_is_a_401_not_a_csrf_refusal() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let bare = cookie_client(false);
    let posts = [
        bare.post(s.url(&co.path("/departments"))),
        bare.post(s.url(&co.path("/departments"))).json(&json!({"name": "Kassa"})),
        bare.post(s.url(&co.path("/departments"))).form(&[("name", "Kassa")]),
        bare.post(s.url(&co.path("/tasks/1/approve"))).header("content-type", "text/plain").body("x"),
        bare.post(s.url("/api/v1/companies")).json(&json!({"slug": "x", "name": "X"})),
        bare.patch(s.url(&co.path("/users/1"))).json(&json!({"full_name": "X"})),
    ];
    for p in posts {
        s.send(p).await.refused(401, "unauthorized");
    }
    let list = s.get(&co.path("/departments"), &co.admin).await.check(200);
    assert_eq!(list.body, json!([]));
    // A page's form without a session still needs its token (login CSRF).
    let r = s.send(bare.post(s.url("/c/acme/login")).form(&[("username", "boss"), ("password", ADMIN_PASSWORD)])).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
}

#[tokio::test]
async fn an_inactive_company_admits_only_those_who_set_it_up() {
    let s = start().await;
    let co = s.company("acme", false).await;
    let root = s.root().await;

    // The admin sets the company up while it is closed.
    s.get(&co.path("/me"), &co.admin).await.check(200);
    let dept = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201).id();
    s.add_user(&co, "aziz", "employee").await;
    s.add_user(&co, "dilnoza", "director").await;
    let body = json!({"username": "malika", "role": "manager", "department_id": dept, "password": USER_PASSWORD});
    s.post(&co.path("/users"), &co.admin, body).await.check(201);

    // Others are told the company is not open yet — after a right password only.
    let r = s.login("acme", "aziz", USER_PASSWORD).await.refused(403, "company_inactive");
    assert_eq!(r.message(), msg(idora::i18n::Lang::En, "error.company_inactive"));
    s.login("acme", "malika", USER_PASSWORD).await.refused(403, "company_inactive");
    s.login("acme", "aziz", "wrong-password").await.refused(401, "invalid_credentials");
    // A director also sets up (company.setup).
    s.login("acme", "dilnoza", USER_PASSWORD).await.check(200);

    // Activation opens it to everyone.
    s.post("/api/v1/companies/acme/activate", &root, json!({})).await.check(200);
    let aziz = s.login("acme", "aziz", USER_PASSWORD).await.check(200).str("access_token");
    s.get(&co.path("/me"), &aziz).await.check(200);

    // Closing it again shuts out existing sessions on their next request.
    s.post("/api/v1/companies/acme/deactivate", &root, json!({})).await.check(200);
    s.get(&co.path("/me"), &aziz).await.refused(403, "company_inactive");
    s.get(&co.path("/me"), &co.admin).await.check(200);
    // The company's public page says it is not open yet.
    let page = s.send(s.http.request(Method::GET, s.url("/c/acme/login"))).await.check(200);
    assert!(page.text.contains(&msg(idora::i18n::Lang::En, "company.not_open_staff")), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_outlives_its_access_token_even_with_parallel_requests() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let browser = cookie_client(false);
    let login = s.send(browser.post(s.url(&co.path("/auth/login"))).json(&json!({"username": "boss", "password": ADMIN_PASSWORD}))).await;
    let first_refresh = login.check(200).cookie("idora_rt").unwrap();

    // The access cookie has run out; the page and its parts ask at once.
    s.advance(SignedDuration::from_mins(16));
    let get = |path: &str| s.send(browser.get(s.url(&co.path(path))));
    let (a, b, c) = tokio::join!(get("/me"), get("/departments"), get("/branches"));
    for r in [&a, &b, &c] {
        assert_eq!(r.status.as_u16(), 200, "every parallel request is served: {}", r.text);
    }
    let rotated = a.cookie("idora_rt").expect("the middleware rotated the session");
    assert_ne!(rotated, first_refresh);
    assert_eq!(b.cookie("idora_rt").as_deref(), Some(rotated.as_str()), "one rotation, shared");
    s.get(&co.path("/me"), "").await.refused(401, "unauthorized");
    get("/me").await.check(200);

    // Later, the same again: still signed in.
    s.advance(SignedDuration::from_mins(16));
    let (a, b) = tokio::join!(get("/me"), get("/users"));
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200), "{} / {}", a.text, b.text);

    // But a replay of the first refresh cookie, long after it was rotated,
    // is a stolen token: the whole session ends.
    s.advance(SignedDuration::from_mins(1));
    let thief = s.send(s.http.get(s.url(&co.path("/me"))).header("cookie", format!("idora_rt={first_refresh}"))).await;
    thief.refused(401, "unauthorized");
    s.advance(SignedDuration::from_mins(16));
    get("/me").await.refused(401, "unauthorized");
}

/// The nightly clean-up takes away what no login can use any more (expired
/// refresh tokens, long-revoked sessions) and nothing a user still holds.
#[tokio::test]
async fn the_nightly_clean_up_keeps_live_sessions_and_drops_dead_ones() {
    let s = demo_at("2026-11-25T06:00:00Z").await;
    let login = || async { s.login(DEMO, "employee", idora::demo::PASSWORD).await.check(200) };
    let ended = login().await;
    s.post(&c(DEMO, "/auth/logout"), "", json!({"refresh_token": ended.str("refresh_token")})).await.check(204);
    let forgotten = login().await;
    let state = s.state().clone();
    let db = state.tenants.get(DEMO).unwrap().db().unwrap().clone();
    let prune = || idora::auth::session::prune(&db, s.now().as_millisecond());
    assert_eq!(prune().await.unwrap(), 0, "nothing is dead yet");

    // 31 days on: the logged-out session and the unused login have expired.
    s.advance(SignedDuration::from_hours(31 * 24));
    let kept = login().await;
    let rows = || {
        let tx = db.read().unwrap();
        let refresh = idora::store::schema::REFRESH.open(&tx).unwrap().count().unwrap();
        let families = idora::store::schema::FAMILIES.open(&tx).unwrap().count().unwrap();
        (refresh, families)
    };
    let (refresh, families) = rows();
    idora::jobs::nightly(&state).await;
    assert_eq!(rows(), (refresh - 2, families - 1), "two expired refresh tokens went, and the session logged out 31 days ago");
    assert_eq!(prune().await.unwrap(), 0, "the nightly job took everything dead");
    s.post(&c(DEMO, "/auth/refresh"), "", json!({"refresh_token": forgotten.str("refresh_token")})).await.refused(401, "unauthorized");
    let next = s.post(&c(DEMO, "/auth/refresh"), "", json!({"refresh_token": kept.str("refresh_token")})).await.check(200);
    assert!(!next.str("access_token").is_empty(), "a live session still refreshes");
}

/// The account's stored password hash, read from the company's file.
fn stored_hash(s: &Server, slug: &str, id: u64) -> String {
    let tenant = s.state().tenants.get(slug).unwrap();
    let tx = tenant.db().unwrap().read().unwrap();
    idora::store::schema::USERS.open(&tx).unwrap().get(id).unwrap().unwrap().password_hash
}

#[tokio::test]
async fn a_password_hashed_with_older_costs_is_rehashed_at_the_next_login() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let s = start().await;
    let co = s.company("acme", true).await;
    let id = s.add_user(&co, "aziz", "employee").await;
    assert!(stored_hash(&s, "acme", id).starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
    // A hash from before: argon2's default costs (19 MiB, 2 passes).
    let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
    let old = argon2::Argon2::default().hash_password(USER_PASSWORD.as_bytes(), &salt).unwrap().to_string();
    let tenant = s.state().tenants.get("acme").unwrap();
    let old2 = old.clone();
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            let mut users = idora::store::schema::USERS.open(tx).unwrap();
            let mut a = users.get(id).unwrap().unwrap();
            a.password_hash = old2.clone();
            users.insert(id, &a).unwrap();
            Ok(())
        })
        .await
        .unwrap();

    s.login("acme", "aziz", "wrong-password").await.check(401);
    assert_eq!(stored_hash(&s, "acme", id), old, "a wrong password changes nothing");
    s.login("acme", "aziz", USER_PASSWORD).await.check(200);
    let new = stored_hash(&s, "acme", id);
    assert!(new.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "rehashed: {new}");
    s.login("acme", "aziz", USER_PASSWORD).await.check(200);
    assert_eq!(stored_hash(&s, "acme", id), new, "a current hash is kept");
}

/// A login to `slug` as if from `client`: the test server trusts 127.0.0.1
/// as its reverse proxy when started with [`behind_proxy`].
async fn login_from(s: &Server, client: &str, slug: &str, username: &str, password: &str) -> Resp {
    let body = json!({"username": username, "password": password});
    s.send(s.http.post(s.url(&c(slug, "/auth/login"))).header("x-forwarded-for", client).json(&body)).await
}

/// A server behind a reverse proxy on 127.0.0.1 (every test request comes
/// from there), so that `X-Forwarded-For` says who the client is.
async fn behind_proxy() -> Server {
    start_with(|c| c.trusted_proxies = idora::config::Cidr::parse_list("127.0.0.1").unwrap()).await
}

#[tokio::test]
async fn wrong_passwords_from_one_address_block_that_address_only() {
    let s = behind_proxy().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;
    for _ in 0..5 {
        login_from(&s, "203.0.113.1", "acme", "aziz", "wrong-password").await.refused(401, "invalid_credentials");
    }
    let r = login_from(&s, "203.0.113.1", "acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    assert!(r.header("retry-after").is_some());
    // The real user, elsewhere, is not locked out by someone else's guesses.
    login_from(&s, "198.51.100.2", "acme", "aziz", USER_PASSWORD).await.check(200);
    // The blocked address may still sign in as someone else.
    login_from(&s, "203.0.113.1", "acme", "boss", ADMIN_PASSWORD).await.check(200);
    // Its wait is over after 30 s.
    s.advance(SignedDuration::from_secs(31));
    login_from(&s, "203.0.113.1", "acme", "aziz", USER_PASSWORD).await.check(200);
    // Nobody was told: one address is no account-wide attack.
    let token = login_from(&s, "198.51.100.2", "acme", "aziz", USER_PASSWORD).await.check(200).str("access_token");
    assert_eq!(s.get(&co.path("/notifications"), &token).await.check(200).body["unread"], 0);
}

#[tokio::test]
async fn wrong_passwords_from_five_addresses_lock_the_account_and_tell_the_user_and_admins() {
    let s = behind_proxy().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;
    let aziz = login_from(&s, "198.51.100.2", "acme", "aziz", USER_PASSWORD).await.check(200).str("access_token");
    for a in 1..=5 {
        let from = format!("203.0.113.{a}");
        for _ in 0..5 {
            login_from(&s, &from, "acme", "aziz", "wrong-password").await.refused(401, "invalid_credentials");
        }
        if a < 5 {
            login_from(&s, "198.51.100.2", "acme", "aziz", USER_PASSWORD).await.check(200);
        }
    }
    // Now the account is locked everywhere, the right password and a fresh address included.
    let r = login_from(&s, "198.51.100.3", "acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((14 * 60..=15 * 60).contains(&wait), "an account-wide lock is 15 min, got {wait}");
    // The holder and the company's admin hear about it (the sessions they
    // have go on); the notice is stored just after the answer.
    for token in [&aziz, &co.admin] {
        let mut found = None;
        for _ in 0..200 {
            let page = s.get(&co.path("/notifications?unread=true"), token).await.check(200);
            found = page.body["items"].as_array().unwrap().iter().find(|n| n["kind"] == "account_locked").cloned();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let note = found.expect("a lock notice within 2 s");
        assert!(note["text"].as_str().unwrap().contains("aziz"), "{note}");
    }
    s.outbox_sent("acme").await;
    s.advance(SignedDuration::from_mins(16));
    login_from(&s, "198.51.100.3", "acme", "aziz", USER_PASSWORD).await.check(200);
    // An unknown name locks the same way (and tells nobody).
    for a in 1..=5 {
        for _ in 0..5 {
            login_from(&s, &format!("203.0.113.{a}"), "acme", "ghost", "wrong-password").await.check(401);
        }
    }
    let r = login_from(&s, "198.51.100.3", "acme", "ghost", "wrong-password").await.refused(429, "account_locked");
    assert_eq!(r.header("retry-after").map(|w| w.parse::<u64>().unwrap() >= 14 * 60), Some(true));
}

#[tokio::test]
async fn known_and_unknown_names_answer_alike_from_the_first_request_after_a_restart() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;
    // Lock both a real and a made-up name from this address, then restart.
    for name in ["aziz", "nobody-here"] {
        for _ in 0..5 {
            s.login("acme", name, "wrong-password").await.check(401);
        }
        s.login("acme", name, "wrong-password").await.refused(429, "account_locked");
    }
    let s = s.restart().await;
    let mut answers = Vec::new();
    for name in ["aziz", "nobody-here"] {
        let r = s.login("acme", name, "wrong-password").await;
        answers.push((r.status, r.body.clone(), r.header("retry-after").map(str::to_string)));
    }
    assert_eq!(answers[0], answers[1], "the first answers after a restart tell the names apart");
    assert_eq!(answers[0].0, 401);
    // And the same again from then on.
    for name in ["aziz", "nobody-here"] {
        for _ in 0..4 {
            s.login("acme", name, "wrong-password").await.refused(401, "invalid_credentials");
        }
        s.login("acme", name, "wrong-password").await.refused(429, "account_locked");
    }
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    // No trusted proxy: whatever X-Forwarded-For says, it is one address.
    let s = start().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;
    for a in 1..=5 {
        login_from(&s, &format!("203.0.113.{a}"), "acme", "aziz", "wrong-password").await.check(401);
    }
    login_from(&s, "198.51.100.9", "acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");

    // 127.0.0.1 trusted: each forwarded address counts on its own, and a
    // client cannot escape by writing its own header before the proxy's.
    let s = behind_proxy().await;
    let co = s.company("acme", true).await;
    s.add_user(&co, "aziz", "employee").await;
    for a in 1..=5 {
        login_from(&s, &format!("6.6.6.{a}, 203.0.113.1"), "acme", "aziz", "wrong-password").await.check(401);
    }
    login_from(&s, "7.7.7.7, 203.0.113.1", "acme", "aziz", USER_PASSWORD).await.refused(429, "account_locked");
    login_from(&s, "203.0.113.2", "acme", "aziz", USER_PASSWORD).await.check(200);

    // The per-address rate limit follows the forwarded address too.
    let s = start_with(|c| {
        c.trusted_proxies = idora::config::Cidr::parse_list("127.0.0.0/8").unwrap();
        c.login_per_minute = 2;
    })
    .await;
    let co_slug = "acme";
    let root = s.root().await;
    s.create_company(&root, co_slug, "en").await;
    for _ in 0..2 {
        login_from(&s, "203.0.113.1", co_slug, "boss", "wrong-password").await.check(401);
    }
    login_from(&s, "203.0.113.1", co_slug, "boss", ADMIN_PASSWORD).await.refused(429, "rate_limited");
    login_from(&s, "203.0.113.2", co_slug, "boss", ADMIN_PASSWORD).await.check(200);
}
