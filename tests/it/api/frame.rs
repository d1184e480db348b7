//! The page frame: few top tabs with one "Settings" whose pages share a side
//! menu, the phone's bottom bar, error pages drawn in the signed-in frame,
//! the favicon and the web manifest.

use crate::support::*;
use reqwest::StatusCode;

const PASSWORD: &str = "idora-demo";

/// The part of `html` from `start` up to the next `end`.
fn part<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html.find(start).unwrap_or_else(|| panic!("no {start} in the page"));
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_admin_pages_are_one_settings_tab_with_a_side_menu() {
    let s = demo_on_system_clock().await;
    let owner = s.browser("demo", "owner", PASSWORD).await;
    let home = owner.get("").await;
    let tabs = part(&home.html, r#"<nav class="tabs""#, "</nav>");
    assert!(tabs.contains(r#"href="/c/demo/admin""#), "one Settings tab: {tabs}");
    assert!(!tabs.contains("/admin/users") && !tabs.contains("/admin/audit"), "no admin page of its own: {tabs}");
    assert!(tabs.matches("<a ").count() <= 7, "few top tabs: {tabs}");
    assert!(!home.html.contains("side-menu"), "no side menu outside the settings");
    // The phone's bar and sheet: the sheet lists every settings page.
    let bar = part(&home.html, r#"<nav class="bottombar""#, "</nav>");
    assert!(bar.contains(r#"href="/c/demo/tasks""#) && bar.contains("/admin/users") && bar.contains("/admin/audit"), "{bar}");
    // The avatar's initials and the whole name.
    assert!(home.html.contains(r#"<span class="avatar" aria-hidden="true">AK</span>"#));
    assert!(home.html.contains("<strong>Aziz Karimov</strong>"));

    let users = owner.get("admin/users").await;
    assert_eq!(users.status, StatusCode::OK);
    let side = part(&users.html, r#"<nav class="side-menu""#, "</nav>");
    assert!(side.contains(r#"href="/c/demo/admin/users" class="active" aria-current="page""#), "{side}");
    assert!(side.contains("/admin/queue/services") && side.contains("/admin/audit"), "{side}");
    let tabs = part(&users.html, r#"<nav class="tabs""#, "</nav>");
    assert!(tabs.contains(r#"href="/c/demo/admin" class="active""#), "Settings is the current tab: {tabs}");

    // An employee has no settings at all.
    let emp = s.browser("demo", "employee", PASSWORD).await;
    let home = emp.get("").await;
    assert!(!home.html.contains(r#"href="/c/demo/admin""#), "no Settings for an employee");
}

#[tokio::test]
async fn error_pages_keep_the_signed_in_frame_and_say_where_to_go() {
    let s = demo_on_system_clock().await;
    let emp = s.browser("demo", "employee", PASSWORD).await;
    for (path, status, heading) in [("no-such-page", 404, "Sahifa topilmadi"), ("admin/roles", 403, "Bu sahifaga ruxsat yo‘q")] {
        let seen = emp.get(path).await;
        assert_eq!(seen.status.as_u16(), status, "{path}");
        assert!(seen.html.contains(heading), "{path}: {}", seen.html);
        assert!(seen.html.contains(r#"class="bottombar""#) && seen.html.contains(r#"class="tabs""#), "{path}: in the frame");
        assert!(seen.html.contains(r#"href="/c/demo/" data-back"#), "{path}: a way back");
        // Sign-out still works from there: its form carries the CSRF token.
        assert!(seen.html.contains(&format!(r#"name="_csrf" value="{}""#, emp.csrf)), "{path}: sign-out with the token");
    }
    // Not signed in: the same words in the plain frame.
    let anon = cookie_client(true);
    let r = anon.get(s.url("/c/demo/no-such-page")).header("accept-language", "en").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(html.contains("Page not found") && !html.contains("bottombar"), "{html}");
}

#[tokio::test]
async fn a_favicon_and_a_manifest_for_the_home_screen() {
    let s = demo_on_system_clock().await;
    let r = s.web.get(s.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let r = s.web.get(s.url("/c/demo/manifest.webmanifest")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: serde_json::Value = r.json().await.unwrap();
    assert_eq!(m["start_url"], "/c/demo/");
    for icon in m["icons"].as_array().unwrap() {
        let r = s.web.get(s.url(icon["src"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{icon}");
    }
}
