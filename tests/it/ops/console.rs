//! The platform console over HTTP: figures, contacts and logo, archive and
//! restore, delete with the slug typed again, platform admins, the instance.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

fn company<'a>(overview: &'a Value, slug: &str) -> &'a Value {
    overview["companies"].as_array().unwrap().iter().find(|c| c["slug"] == slug).unwrap_or_else(|| panic!("{slug} not listed: {overview}"))
}

#[tokio::test]
async fn the_figures_count_companies_users_and_todays_work() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.company("orient", false).await;
    let (me, token) = s.user(&co, "rahbar", "manager").await;
    let deadline = (s.running.state.now() + jiff::SignedDuration::from_hours(48)).to_string();
    for title in ["Hisobot", "Kassa"] {
        s.post(&co.path("/tasks"), &token, json!({"title": title, "assignee_id": me, "deadline": deadline})).await.check(201);
    }
    let root = s.root().await;

    // Only a platform admin sees them.
    s.get("/api/v1/platform/overview", &co.admin).await.refused(403, "wrong_company");
    let o = s.get("/api/v1/platform/overview", &root).await.check(200).body;
    assert_eq!(
        (o["companies_active"].as_u64(), o["companies_inactive"].as_u64(), o["companies_archived"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(o["users"], 3, "boss in each company and rahbar: {o}");
    assert_eq!(o["tasks_today"], 2, "{o}");
    assert_eq!(o["tickets_today"], 0, "{o}");
    let acme = company(&o, "acme");
    assert_eq!((acme["users"].as_u64(), acme["tasks_today"].as_u64(), acme["status"].as_str()), (Some(2), Some(2), Some("active")));
    assert!(acme["database_bytes"].as_u64().unwrap() > 0, "the database file's size: {acme}");
    assert_eq!(acme["files_bytes"], 0);

    // Counts are reused for a minute; a status change shows at once.
    s.post("/api/v1/companies/orient/archive", &root, json!({})).await.check(200);
    let o = s.get("/api/v1/platform/overview", &root).await.check(200).body;
    assert_eq!(o["companies_archived"], 1);
    assert_eq!(o["users"], 2, "an archived company's users are not counted: {o}");
    let orient = company(&o, "orient");
    assert_eq!(orient["status"], "archived");
    assert!(orient["users"].is_null(), "an archived company's file is not opened: {orient}");

    // The console's page shows the same figures.
    let page = s.web.get(s.url("/admin")).bearer_auth(&root).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-figures") && html.contains("acme Ltd") && html.contains("orient Ltd"), "{html}");
}

#[tokio::test]
async fn contact_details_and_logo_are_kept_at_creation_and_on_edit() {
    let s = start().await;
    let root = s.root().await;
    let body = json!({
        "name": "Orient Bank", "slug": "orient", "admin_username": "boss", "admin_password": ADMIN_PASSWORD,
        "contact_person": " Dilnoza Karimova ", "phone": "90 123 45 67", "email": "office@orient.uz", "address": "Samarqand, Registon 5",
    });
    s.post("/api/v1/companies", &root, body).await.check(201);
    let list = s.get("/api/v1/companies", &root).await.check(200).body;
    let c = &list[0];
    assert_eq!(c["contact_person"], "Dilnoza Karimova");
    assert_eq!(c["phone"], "+998901234567", "normalised: {c}");
    assert_eq!(c["email"], "office@orient.uz");
    assert_eq!(c["address"], "Samarqand, Registon 5");

    let r = s.patch("/api/v1/companies/orient", &root, json!({"email": "not-an-email"})).await.refused(422, "validation");
    assert_eq!(r.field(), "email");
    let r = s.patch("/api/v1/companies/orient", &root, json!({"contact_person": "Aziz Rahimov", "phone": ""})).await.check(200);
    assert_eq!(r.body["contact_person"], "Aziz Rahimov");
    assert_eq!(r.body["phone"], "", "an empty value clears it");
    assert_eq!(r.body["email"], "office@orient.uz", "what is not sent stays");

    // The logo is the company's own branding logo.
    let png = crate::files::png(40, 20);
    let put = |bytes: Vec<u8>| s.http.put(s.url("/api/v1/companies/orient/logo")).bearer_auth(&root).body(bytes);
    assert_eq!(put(b"not an image".to_vec()).send().await.unwrap().status(), 415);
    assert_eq!(put(png.clone()).send().await.unwrap().status(), 204);
    let logo = s.http.get(s.url("/c/orient/logo")).send().await.unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().to_vec(), png);
}

#[tokio::test]
async fn an_archived_company_serves_nothing_until_it_is_restored() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let root = s.root().await;
    s.get(&co.path("/me"), &co.admin).await.check(200);

    let r = s.post("/api/v1/companies/acme/archive", &root, json!({})).await.check(200);
    assert_eq!(r.body["status"], "archived");
    // Its API and its pages answer 410 with a clear message.
    let r = s.get(&co.path("/me"), &co.admin).await.refused(410, "company_archived");
    assert_eq!(r.message(), msg(idora::i18n::Lang::En, "error.company_archived"));
    s.login("acme", "boss", ADMIN_PASSWORD).await.refused(410, "company_archived");
    let page = s.web.get(s.url("/c/acme/visit")).header("accept-language", "ru").send().await.unwrap();
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains(&msg(idora::i18n::Lang::Ru, "error.company_archived")), "{html}");
    // Not on the portal, and its settings are not changed while archived.
    let portal = s.web.get(s.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!portal.contains("/c/acme/visit"), "{portal}");
    s.patch("/api/v1/companies/acme", &root, json!({"name": "New"})).await.refused(410, "company_archived");
    // The minute's jobs pass it by.
    idora::jobs::overdue_tick(&s.running.state).await;

    // Restored, it comes back closed: its admin may sign in to set it up.
    s.post("/api/v1/companies/acme/restore", &root, json!({})).await.check(200);
    s.post("/api/v1/companies/acme/restore", &root, json!({})).await.refused(409, "conflict");
    let list = s.get("/api/v1/companies", &root).await.check(200).body;
    assert_eq!(list[0]["status"], "inactive");
    s.login("acme", "boss", ADMIN_PASSWORD).await.check(200);
}

#[tokio::test]
async fn delete_asks_for_the_slug_and_keeps_a_backup_first() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.company("orient", true).await;
    let root = s.root().await;

    let r = s.post("/api/v1/companies/acme/delete", &root, json!({"confirm": "orient"})).await.refused(422, "validation");
    assert_eq!(r.field(), "confirm");
    assert_eq!(r.message(), msg(idora::i18n::Lang::Uz, "validation.delete_confirm"));
    s.get(&co.path("/me"), &co.admin).await.check(200);

    let r = s.post("/api/v1/companies/acme/delete", &root, json!({"confirm": "acme"})).await.check(200);
    let backup = r.str("backup");
    assert!(backup.starts_with("backups/deleted/acme-") && backup.ends_with(".tar.zst"), "{backup}");
    let data = s.running.state.config.data_dir.clone();
    let kept = data.join(&backup);
    assert!(kept.is_file(), "the export is kept: {}", kept.display());
    assert_eq!(std::fs::metadata(&kept).unwrap().len(), r.body["backup_bytes"].as_u64().unwrap());
    assert!(!data.join("tenants/acme").exists(), "its folder is gone");

    s.get(&co.path("/me"), &co.admin).await.refused(404, "not_found");
    let list = s.get("/api/v1/companies", &root).await.check(200).body;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    s.post("/api/v1/companies/acme/delete", &root, json!({"confirm": "acme"})).await.refused(404, "not_found");
    // The slug is free again.
    s.create_company(&root, "acme", "uz").await;
}

#[tokio::test]
async fn platform_admins_are_listed_added_reset_and_removed() {
    let s = start().await;
    let root = s.root().await;
    let list = s.get("/api/v1/platform/admins", &root).await.check(200).body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!((list[0]["username"].as_str(), list[0]["you"].as_bool()), (Some(ROOT), Some(true)));
    let me = list[0]["id"].as_u64().unwrap();

    let r = s.post("/api/v1/platform/admins", &root, json!({"username": "nazira", "password": "short"})).await.refused(422, "validation");
    assert_eq!(r.field(), "password");
    let added = s.post("/api/v1/platform/admins", &root, json!({"username": "Nazira", "password": "nazira-pass-1"})).await.check(201);
    assert_eq!(added.body["username"], "nazira");
    let id = added.id();
    let r = s
        .post("/api/v1/platform/admins", &root, json!({"username": "nazira", "password": "other-pass-1"}))
        .await
        .refused(422, "validation");
    assert_eq!(r.field(), "username");

    let login = |pw: &'static str| s.post("/api/v1/auth/login", "", json!({"username": "nazira", "password": pw}));
    let nazira = login("nazira-pass-1").await.check(200).str("access_token");
    s.post(&format!("/api/v1/platform/admins/{id}/password"), &root, json!({"password": "nazira-pass-2"})).await.check(204);
    login("nazira-pass-1").await.refused(401, "invalid_credentials");
    login("nazira-pass-2").await.check(200);

    // Never oneself; someone else, yes — and their sessions end with them.
    let r = s.send(s.req(Method::DELETE, &format!("/api/v1/platform/admins/{me}"), &root)).await.refused(409, "conflict");
    assert_eq!(r.message(), msg(idora::i18n::Lang::Uz, "error.platform_admin_self"));
    s.send(s.req(Method::DELETE, &format!("/api/v1/platform/admins/{id}"), &root)).await.check(204);
    s.get("/api/v1/platform/admins", &nazira).await.refused(401, "unauthorized");
    s.send(s.req(Method::DELETE, &format!("/api/v1/platform/admins/{id}"), &root)).await.refused(404, "not_found");
    let list = s.get("/api/v1/platform/admins", &root).await.check(200).body;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_instance_tells_its_version_uptime_space_and_health() {
    let s = start().await;
    s.company("acme", true).await;
    let root = s.root().await;
    let i = s.get("/api/v1/platform/instance", &root).await.check(200).body;
    assert_eq!(i["version"], env!("CARGO_PKG_VERSION"));
    assert!(i["uptime_secs"].is_u64());
    assert!(i["free_bytes"].as_u64().unwrap() > 0 && i["total_bytes"].as_u64().unwrap() >= i["free_bytes"].as_u64().unwrap(), "{i}");
    assert_eq!(i["problems"], json!([]));
    assert!(i["last_backup"].is_null(), "no backup yet: {i}");

    // A backup's result shows (the console's system page and the API).
    let out = s.running.state.config.data_dir.parent().unwrap().join("box.tar.zst");
    idora::ops::backup::backup_all(&s.running.state, &out).await.unwrap();
    let i = s.get("/api/v1/platform/instance", &root).await.check(200).body;
    assert_eq!(i["last_backup"]["ok"], true, "{i}");
    assert_eq!(i["last_backup"]["bytes"].as_u64(), Some(std::fs::metadata(&out).unwrap().len()), "{i}");

    // A company whose file went missing is named, as /readyz names it.
    let s2 = s.restart_after(|data| std::fs::remove_file(data.join("tenants/acme/data.redb")).unwrap()).await;
    let root = s2.root().await;
    let i = s2.get("/api/v1/platform/instance", &root).await.check(200).body;
    assert_eq!(i["problems"][0]["source"], "acme", "{i}");
    assert!(i["problems"][0]["detail"].as_str().unwrap().contains("tenants/acme/data.redb is missing"), "{i}");
}
