//! Accounts a person did not choose the password of: a generated password
//! (a new user, a new company's first admin) or one an admin reset must be
//! replaced before anything else, on the pages and in the API; and the
//! platform console's new company form.

use crate::support::*;
use idora::i18n::Lang;
use reqwest::StatusCode;
use serde_json::json;

const EN: Lang = Lang::En;

/// A user created without a password: the one generated for them.
async fn generated_user(s: &Server, co: &Company, username: &str) -> String {
    let body = json!({"username": username, "full_name": "Nilufar Xasanova", "role": "employee"});
    let r = s.post(&co.path("/users"), &co.admin, body).await.check(201);
    r.str("password")
}

#[tokio::test]
async fn a_generated_password_opens_nothing_in_the_api_but_its_own_change() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let given = generated_user(&s, &co, "nilufar").await;
    let token = s.login("acme", "nilufar", &given).await.check(200).str("access_token");

    // Anything else: 403 with a code a client can act on.
    s.get(&co.path("/me"), &token).await.refused(403, "password_change_required");
    s.get(&co.path("/tasks"), &token).await.refused(403, "password_change_required");

    // The change itself: the given password must be right and the new one differ.
    s.post(&co.path("/me/password"), &token, json!({"current_password": "wrong-one-1", "new_password": "my-own-pass-1"}))
        .await
        .refused(422, "validation");
    let same = s.post(&co.path("/me/password"), &token, json!({"current_password": given, "new_password": given})).await;
    assert_eq!(same.refused(422, "validation").field(), "new_password");
    let r = s.post(&co.path("/me/password"), &token, json!({"current_password": given, "new_password": "my-own-pass-1"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Then everything is open, with the same session.
    assert_eq!(s.get(&co.path("/me"), &token).await.check(200).str("username"), "nilufar");
    s.get(&co.path("/tasks"), &token).await.check(200);

    // A password the user typed in themselves opens everything at once;
    // one an admin typed for them is a reset, and asks again.
    let id = s.get(&co.path("/me"), &token).await.check(200).id();
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"password": "reset-by-admin-1"})).await.check(200);
    let token = s.login("acme", "nilufar", "reset-by-admin-1").await.check(200).str("access_token");
    s.get(&co.path("/me"), &token).await.refused(403, "password_change_required");
    s.post(&co.path("/me/password"), &token, json!({"current_password": "reset-by-admin-1", "new_password": "my-own-pass-2"})).await;
    s.get(&co.path("/me"), &token).await.check(200);
}

#[tokio::test]
async fn a_user_who_typed_their_own_password_is_not_asked_to_change_it() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (_, token) = s.user(&co, "aziz", "employee").await;
    s.get(&co.path("/me"), &token).await.check(200);
    // An admin who sets their own password through the users API is not forced either.
    s.patch(&co.path(&format!("/users/{}", co.admin_id)), &co.admin, json!({"password": "admin-own-new-1"})).await.check(200);
    let admin = s.login("acme", "boss", "admin-own-new-1").await.check(200).str("access_token");
    s.get(&co.path("/me"), &admin).await.check(200);
}

#[tokio::test]
async fn every_page_leads_to_the_change_password_page_until_it_is_done() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let given = generated_user(&s, &co, "nilufar").await;

    let http = cookie_client(true);
    let login = http.get(s.url("/c/acme/login")).header("accept-language", "en").send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&login);
    let r = http
        .post(s.url("/c/acme/login"))
        .header("accept-language", "en")
        .form(&[("username", "nilufar"), ("password", given.as_str()), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.url().path(), "/c/acme/password", "signing in lands on the change");
    let html = r.text().await.unwrap();
    assert!(html.contains(&msg(EN, "password_change.title")) && html.contains(&msg(EN, "password_change.lead")), "{html}");
    assert!(html.contains("Nilufar Xasanova"), "says whose password it is: {html}");

    for page in ["", "tasks", "profile", "admin/users", "notifications"] {
        let r = http.get(s.url(&format!("/c/acme/{page}"))).send().await.unwrap();
        assert_eq!(r.url().path(), "/c/acme/password", "/{page} leads to the change");
        assert_eq!(r.status(), StatusCode::OK);
    }
    // A wrong given password: the form again, the reason next to its field.
    let csrf = csrf_of(&html);
    let r = http
        .post(s.url("/c/acme/password"))
        .header("accept-language", "en")
        .form(&[("current_password", "not-it-at-all"), ("new_password", "my-own-pass-1"), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again = r.text().await.unwrap();
    assert!(again.contains(&msg(EN, "validation.current_password")), "{again}");

    // The right one: home, and every page opens.
    let r = http
        .post(s.url("/c/acme/password"))
        .form(&[("current_password", given.as_str()), ("new_password", "my-own-pass-1"), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.url().path(), "/c/acme/", "home after the change");
    let r = http.get(s.url("/c/acme/tasks")).send().await.unwrap();
    assert_eq!(r.url().path(), "/c/acme/tasks");
    // The new password signs in.
    s.login("acme", "nilufar", "my-own-pass-1").await.check(200);
}

#[tokio::test]
async fn signing_out_is_open_before_the_change() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let given = generated_user(&s, &co, "nilufar").await;
    let http = cookie_client(true);
    let login = http.get(s.url("/c/acme/login")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&login);
    let r = http
        .post(s.url("/c/acme/login"))
        .form(&[("username", "nilufar"), ("password", given.as_str()), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let csrf = csrf_of(&html);
    let r = http.post(s.url("/c/acme/logout")).form(&[("_csrf", csrf.as_str())]).send().await.unwrap();
    assert!(r.url().path().ends_with("/login"), "signed out: {}", r.url());
    let r = http.get(s.url("/c/acme/tasks")).send().await.unwrap();
    assert!(r.url().path().ends_with("/login"), "no session left: {}", r.url());
}

#[tokio::test]
async fn the_new_company_form_asks_for_the_admins_name_and_offers_time_zones() {
    let s = start().await;
    let http = cookie_client(true);
    let login = http.get(s.url("/admin/login")).header("accept-language", "en").send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&login);
    let r = http
        .post(s.url("/admin/login"))
        .form(&[("username", ROOT), ("password", ROOT_PASSWORD), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let form = http.get(s.url("/admin/companies/new")).header("accept-language", "en").send().await.unwrap().text().await.unwrap();
    assert!(form.contains(r#"name="admin_full_name""#) && form.contains(&msg(EN, "platform.field.admin_full_name")), "{form}");
    let select = &form[form.find(r#"<select name="timezone""#).or_else(|| form.find(r#"name="timezone""#)).expect("a time zone field")..];
    let select = &select[..select.find("</select>").expect("the time zone is a list")];
    let zones: Vec<&str> = select.split(r#"<option value=""#).skip(1).map(|o| o.split('"').next().unwrap()).collect();
    assert_eq!(zones.first().copied(), Some("Asia/Tashkent"), "Tashkent first: {zones:?}");
    for z in ["Asia/Samarkand", "Asia/Almaty", "Asia/Bishkek", "Asia/Dushanbe", "Asia/Ashgabat", "Europe/Moscow", "UTC"] {
        assert!(zones.contains(&z), "{z} offered: {zones:?}");
    }
    assert!(!form.contains(r#"list="timezones""#), "no free-text zone");

    // Without a name the form comes back saying so.
    let csrf = csrf_of(&form);
    let mut fields = vec![
        ("name", "Ipak Yoli Bank"),
        ("slug", "ipak"),
        ("timezone", "Asia/Samarkand"),
        ("language", "uz"),
        ("admin_username", "bosh"),
        ("admin_full_name", ""),
        ("_csrf", csrf.as_str()),
    ];
    let r = http.post(s.url("/admin/companies/new")).header("accept-language", "en").form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(&msg(EN, "validation.required")));

    // With it: the company, its time zone, the admin's name and a generated
    // password with a copy button.
    fields.retain(|(k, _)| *k != "admin_full_name");
    fields.push(("admin_full_name", "Kamola Rahimova"));
    let r = http.post(s.url("/admin/companies/new")).header("accept-language", "en").form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let created = r.text().await.unwrap();
    assert!(created.contains("data-copy=") && created.contains(&msg(EN, "admin.secret.copy")), "a copy button: {created}");
    let root = s.root().await;
    let companies = s.get("/api/v1/companies", &root).await.check(200).body;
    let ipak = companies.as_array().unwrap().iter().find(|c| c["slug"] == "ipak").unwrap().clone();
    assert_eq!(ipak["timezone"], "Asia/Samarkand");

    // The console's notice names the company, not its address.
    let r = http.get(s.url("/admin?done=created&slug=ipak")).header("accept-language", "en").send().await.unwrap().text().await.unwrap();
    assert!(r.contains(&msg_with(EN, "platform.notice.created", &[("name", "Ipak Yoli Bank")])), "{r}");
    assert!(!r.contains(&msg_with(EN, "platform.notice.created", &[("name", "ipak")])));

    // The first admin has that name, and must choose their own password first.
    let given = attr(&created, "data-copy=", "data-copy");
    let token = s.login("ipak", "bosh", &given).await.check(200).str("access_token");
    s.get("/c/ipak/api/v1/me", &token).await.refused(403, "password_change_required");
    let r = s.post("/c/ipak/api/v1/me/password", &token, json!({"current_password": given, "new_password": "kamola-own-1"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/c/ipak/api/v1/me", &token).await.check(200).str("full_name"), "Kamola Rahimova");
}
