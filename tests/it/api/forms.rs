//! A refused form comes back as the same form: status 422, what was typed
//! still in its fields, and the reason in the reader's language next to it
//! (not an error page, and not a 200 that looks like success to a client).

use crate::support::*;
use idora::i18n::Lang;
use reqwest::StatusCode;

const EN: Lang = Lang::En;

/// The text as maud writes it into a page.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `seen` is the form again: 422, a form and no error page, the reason,
/// and each typed value (an input's `value`, or a text area's content).
#[track_caller]
fn assert_form_again(seen: &Seen, reason: &str, typed: &[&str]) {
    let html = &seen.html;
    assert_eq!(seen.status, StatusCode::UNPROCESSABLE_ENTITY, "{} {}", seen.path, html);
    assert!(html.contains("<form") && !html.contains(r#"class="card error""#), "the form, not an error page: {html}");
    // The reason: next to its field, or above the form when no field shows it.
    let shown = html.contains(r#"role="alert""#) || html.contains(r#"class="field-error""#);
    assert!(shown && html.contains(&escaped(reason)), "the reason {reason:?}: {html}");
    for v in typed {
        let v = escaped(v);
        assert!(html.contains(&format!(r#"value="{v}""#)) || html.contains(&format!(">{v}</textarea>")), "{v:?} is kept: {html}");
    }
}

/// Posts a form with a bare browser (no session, reading English), after
/// reading the CSRF token from `form_page`.
async fn post_anonymous(s: &Server, http: &reqwest::Client, form_page: &str, fields: &[(&str, &str)]) -> Seen {
    let page = http.get(s.url(form_page)).header("accept-language", "en").send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let mut form = fields.to_vec();
    form.push(("_csrf", &csrf));
    let r = http.post(s.url(form_page)).header("accept-language", "en").form(&form).send().await.unwrap();
    let status = r.status();
    let path = r.url().path().to_string();
    Seen { status, path, query: String::new(), html: r.text().await.unwrap() }
}

#[tokio::test]
async fn a_wrong_password_shows_the_login_form_again_with_422() {
    let s = start().await;
    s.company("acme", true).await;
    let http = cookie_client(false);

    let seen = post_anonymous(&s, &http, "/c/acme/login", &[("username", "boss"), ("password", "not-the-password")]).await;
    assert_form_again(&seen, &msg(EN, "error.invalid_credentials"), &["boss"]);
    assert!(!seen.html.contains("not-the-password"), "a password is never sent back");

    let seen = post_anonymous(&s, &http, "/admin/login", &[("username", ROOT), ("password", "not-the-password")]).await;
    assert_form_again(&seen, &msg(EN, "error.invalid_credentials"), &[ROOT]);

    // The right password still signs in (a redirect, no form).
    let seen = post_anonymous(&s, &http, "/c/acme/login", &[("username", "boss"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(seen.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_platform_console_shows_a_refused_company_form_again() {
    let s = start().await;
    let http = cookie_client(true);
    let signed_in = post_anonymous(&s, &http, "/admin/login", &[("username", ROOT), ("password", ROOT_PASSWORD)]).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.html);
    let fields = [
        ("name", "Bad Slug Ltd"),
        ("slug", "a b"),
        ("timezone", "Asia/Tashkent"),
        ("language", "en"),
        ("admin_username", "boss"),
        ("admin_password", ADMIN_PASSWORD),
    ];
    let seen = post_anonymous(&s, &http, "/admin/companies/new", &fields).await;
    assert_form_again(&seen, &msg(EN, "validation.slug_format"), &["Bad Slug Ltd", "a b", "boss"]);
    assert!(seen.html.contains(r#"aria-invalid="true""#), "the slug is marked: {}", seen.html);
}

#[tokio::test]
async fn the_admin_console_shows_refused_forms_again_with_422() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let admin = s.browser("acme", "boss", ADMIN_PASSWORD).await;

    // A user with a username that cannot be one.
    let user = [("username", "a b"), ("full_name", "Aziz Karimov"), ("phone", "90 123 45 67"), ("role", "employee"), ("password", "")];
    let seen = admin.post("admin/users/new", &user).await;
    assert_form_again(&seen, &msg(EN, "validation.username"), &["a b", "Aziz Karimov", "90 123 45 67"]);
    assert_eq!(seen.html.matches(&escaped(&msg(EN, "validation.username"))).count(), 1, "once, next to the username: {}", seen.html);
    assert!(seen.html.contains(r#"id="f-username-error""#), "next to the username: {}", seen.html);
    // A phone that is none: said next to the phone field, once.
    let bad_phone = [("username", "aziz"), ("full_name", "Aziz Karimov"), ("phone", "12-34"), ("role", "employee"), ("password", "")];
    let seen = admin.post("admin/users/new", &bad_phone).await;
    assert_form_again(&seen, &msg(EN, "validation.phone"), &["aziz", "12-34"]);
    assert_eq!(seen.html.matches(&escaped(&msg(EN, "validation.phone"))).count(), 1, "once, next to the phone: {}", seen.html);
    assert!(seen.html.contains(r#"id="f-phone-error""#), "next to the phone: {}", seen.html);
    assert_eq!(s.get(&co.path("/users"), &co.admin).await.check(200).body.as_array().unwrap().len(), 1, "nobody was added");

    // A department whose name is taken.
    s.post(&co.path("/departments"), &co.admin, serde_json::json!({"name": "Kassa"})).await.check(201);
    let seen = admin.post("admin/departments", &[("name", "Kassa")]).await;
    assert_form_again(&seen, &msg(EN, "error.name_taken"), &["Kassa"]);

    // A queue service that takes no time.
    let service = [("name_uz", "Omonatlar"), ("minutes", "0"), ("target_wait_minutes", "20")];
    let seen = admin.post("admin/queue/services/new", &service).await;
    assert_form_again(&seen, &msg_with(EN, "validation.minutes", &[("min", "1"), ("max", "480")]), &["Omonatlar", "0"]);

    // A task without a title keeps its description.
    let director = s.add_user(&co, "dilnoza", "director").await.to_string();
    let director_browser = s.browser("acme", "dilnoza", USER_PASSWORD).await;
    let task = [("title", " "), ("description", "Hisobotni tayyorlash"), ("assignee_id", &director), ("points", "1")];
    let seen = director_browser.post("tasks/new", &task).await;
    assert_form_again(&seen, &msg(EN, "validation.required"), &["Hisobotni tayyorlash"]);

    // The role matrix with a permission nothing offers: the matrix again,
    // with the boxes that were sent.
    let seen = admin.post("admin/roles", &[("role", "manager"), ("p", "manager:audit.view"), ("p", "manager:chat.use")]).await;
    assert_form_again(&seen, &msg_with(EN, "validation.unknown_permission", &[("name", "chat.use")]), &[]);
    assert!(seen.html.contains(r#"value="manager:audit.view" checked"#), "what was ticked stays ticked: {}", seen.html);
    assert!(!seen.html.contains(r#"value="manager:tasks.create" checked"#), "what was not, stays not");
}
