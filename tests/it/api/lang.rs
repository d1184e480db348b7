//! Errors speak the caller's language: the user's own setting, then the
//! language cookie, then `Accept-Language`, then the company's language.

use crate::support::*;
use idora::i18n::Lang;
use reqwest::Method;
use serde_json::json;

fn login_with(s: &Server, slug: &str, lang_header: Option<&str>, cookie: Option<&str>) -> reqwest::RequestBuilder {
    let mut r = s.http.post(s.url(&c(slug, "/auth/login"))).json(&json!({"username": "boss", "password": "wrong-password"}));
    if let Some(l) = lang_header {
        r = r.header("accept-language", l);
    }
    if let Some(c) = cookie {
        r = r.header("cookie", format!("idora_lang={c}"));
    }
    r
}

#[tokio::test]
async fn errors_follow_accept_language_and_the_language_cookie() {
    let s = start().await;
    s.company("acme", true).await;
    let en = msg(Lang::En, "error.invalid_credentials");
    let ru = msg(Lang::Ru, "error.invalid_credentials");
    let uz = msg(Lang::Uz, "error.invalid_credentials");
    assert!(en != ru && ru != uz && en != uz, "three different catalogues");
    assert_eq!(ru, "Неверный логин или пароль.");

    let r = s.send(login_with(&s, "acme", Some("ru-RU,ru;q=0.9,en;q=0.5"), None)).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), ru);
    let r = s.send(login_with(&s, "acme", Some("uz"), None)).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), uz);
    let r = s.send(login_with(&s, "acme", Some("en-US"), None)).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), en);
    // The kind never changes with the language.
    assert_eq!(r.kind(), "invalid_credentials");
    // The cookie (set by the language switch) beats the header.
    let r = s.send(login_with(&s, "acme", Some("en"), Some("ru"))).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), ru);
    // A language we do not have falls back to the company's (English here).
    let r = s.send(login_with(&s, "acme", Some("de-DE"), None)).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), en);

    // Platform API errors too.
    let r = s
        .send(s.http.post(s.url("/api/v1/auth/login")).header("accept-language", "ru").json(&json!({"username": "x", "password": "y"})))
        .await
        .refused(401, "invalid_credentials");
    assert_eq!(r.message(), ru);
    // Validation messages fill in their placeholders in the language.
    let root = s.root().await;
    let body = json!({"name": "N", "slug": "newco", "admin_username": "boss", "admin_password": "short"});
    let r = s
        .send(s.req(Method::POST, "/api/v1/companies", &root).header("accept-language", "ru").json(&body))
        .await
        .refused(422, "validation");
    assert_eq!(r.message(), msg_with(Lang::Ru, "validation.password_short", &[("min", "8")]));
    assert!(r.message().contains('8'));
}

#[tokio::test]
async fn with_no_hint_a_company_speaks_its_own_language() {
    let s = start().await;
    let root = s.root().await;
    s.create_company(&root, "rubank", "ru").await;
    s.create_company(&root, "uzbank", "uz").await;
    let r = s.send(login_with(&s, "rubank", None, None)).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), msg(Lang::Ru, "error.invalid_credentials"));
    let r = s.send(login_with(&s, "uzbank", None, None)).await.refused(401, "invalid_credentials");
    assert_eq!(r.message(), msg(Lang::Uz, "error.invalid_credentials"));
    // Idora's own default is Uzbek.
    let r = s.send(s.http.get(s.url("/api/v1/companies"))).await.refused(401, "unauthorized");
    assert_eq!(r.message(), msg(Lang::Uz, "error.unauthorized"));
}

#[tokio::test]
async fn the_users_saved_language_wins() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let body = json!({"username": "aziz", "role": "employee", "password": USER_PASSWORD, "language": "uz"});
    let id = s.post(&co.path("/users"), &co.admin, body).await.check(201).id();
    let token = s.login("acme", "aziz", USER_PASSWORD).await.check(200).str("access_token");

    let forbidden = |lang: &'static str| s.req(Method::GET, &co.path("/users"), &token).header("accept-language", lang);
    // The browser says Russian, the user chose Uzbek: Uzbek.
    let r = s.send(forbidden("ru")).await.refused(403, "forbidden");
    assert_eq!(r.message(), msg(Lang::Uz, "error.forbidden"));
    let me = s.send(s.req(Method::GET, &co.path("/me"), &token).header("accept-language", "ru")).await.check(200);
    assert_eq!(me.body["language"], "uz");
    // Even over the language cookie.
    let r = s.send(forbidden("en").header("cookie", "idora_lang=ru")).await.refused(403, "forbidden");
    assert_eq!(r.message(), msg(Lang::Uz, "error.forbidden"));

    // The admin switches them to Russian: the next request speaks Russian.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"language": "ru"})).await.check(200);
    let r = s.send(forbidden("uz")).await.refused(403, "forbidden");
    assert_eq!(r.message(), msg(Lang::Ru, "error.forbidden"));
    assert_eq!(r.message(), "У вас нет прав на это действие.");

    // Cleared: the browser's language is back in charge.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"language": null})).await.check(200);
    let r = s.send(forbidden("uz")).await.refused(403, "forbidden");
    assert_eq!(r.message(), msg(Lang::Uz, "error.forbidden"));
    let r = s.send(forbidden("en")).await.refused(403, "forbidden");
    assert_eq!(r.message(), msg(Lang::En, "error.forbidden"));

    // A validation error raised after the user is known speaks their language.
    s.patch(&co.path(&format!("/users/{}", co.admin_id)), &co.admin, json!({"language": "ru"})).await.check(200);
    let r = s
        .send(
            s.req(Method::POST, &co.path("/branches"), &co.admin)
                .header("accept-language", "en")
                .json(&json!({"name": "B", "hours": {"tue": ["18:00", "09:00"]}})),
        )
        .await
        .refused(422, "validation");
    assert_eq!(r.message(), msg_with(Lang::Ru, "validation.hours_order", &[("day", "tue")]));
}

#[tokio::test]
async fn the_language_switch_also_changes_a_signed_in_users_saved_language() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (id, token) = s.user(&co, "aziz", "employee").await;
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"language": "ru"})).await.check(200);
    let r = s.send(s.req(Method::GET, "/c/acme/lang?set=uz&next=/c/acme/", &token)).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/c/acme/"));
    let me = s.get(&co.path(&format!("/users/{id}")), &co.admin).await.check(200);
    assert_eq!(me.body["language"], "uz", "the saved language follows the switch");
    // Without a session the switch only sets the cookie, and a foreign `next` is ignored.
    let r = s.send(s.req(Method::GET, "/c/acme/lang?set=en&next=https://evil.example/", "")).await;
    assert_eq!(r.header("location"), Some("/"));
    assert!(r.cookie("idora_lang").is_some_and(|v| v == "en"));
}
