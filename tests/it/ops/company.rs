//! Moving a company between boxes: `idora company export` on box A (the
//! company read-only meanwhile), `idora company import` on box B, which
//! serves it at once; its people sign in again there with their passwords
//! and find their work, and nothing else on B changes.

use crate::support::*;
use idora::i18n::Lang;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// What the people of the demo company left on box A.
struct OnA {
    task_id: u64,
    task_title: String,
    file_id: u64,
    file: Vec<u8>,
    ticket_track: String,
    ticket_number: String,
    old_token: String,
    old_refresh: String,
}

async fn fill_a(a: &Server) -> OnA {
    let users = a.demo_users().await;
    let manager = a.demo_token("manager").await;
    let deadline = (a.now() + jiff::SignedDuration::from_hours(24)).to_string();
    let task_title = "Ko‘chishdan oldingi hisobot".to_string();
    let body = json!({"title": task_title, "assignee_id": users["employee"], "deadline": deadline, "points": 5});
    let task = a.post(&c(DEMO, "/tasks"), &manager, body).await.check(201);
    let task_id = task.id();
    // A file in the task's chat.
    let file = crate::files::png(40, 30);
    let demo = Company { slug: DEMO.into(), admin: manager.clone(), admin_refresh: String::new(), admin_id: users["manager"] };
    let file_id = crate::files::upload(a, &demo, &manager, "jadval.png", file.clone()).await.check(201).id();
    a.post(&c(DEMO, &format!("/tasks/{task_id}/messages")), &manager, json!({"text": "Jadval ilova", "file_ids": [file_id]}))
        .await
        .check(201);
    // A customer's queue ticket, with a phone.
    let branch = a.demo_branches().await[0];
    let service = a.demo_services().await["Kassa"];
    let body = json!({"service_id": service, "source": "kiosk", "phone": "+998901234567"});
    let (s, t) = a.call(Method::POST, &c(DEMO, &format!("/branches/{branch}/tickets")), None, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let pair = a.login(DEMO, "employee", idora::demo::PASSWORD).await.check(200);
    OnA {
        task_id,
        task_title,
        file_id,
        file,
        ticket_track: t["tracking_url"].as_str().unwrap().to_string(),
        ticket_number: t["number"].as_str().unwrap().to_string(),
        old_token: pair.str("access_token"),
        old_refresh: pair.str("refresh_token"),
    }
}

#[tokio::test]
async fn a_company_moves_to_another_box_with_its_people_work_and_files() {
    // Box A at a Monday's 10:00 in Tashkent: the head office's queue is open.
    let a = demo_at("2026-12-07T05:00:00Z").await;
    let b = start().await;
    let on_a = fill_a(&a).await;
    // B has a company of its own.
    let other = b.company("other", true).await;
    let (_, ali) = b.user(&other, "ali", "employee").await;
    let other_users = b.get(&other.path("/users"), &other.admin).await.check(200).body;

    // While the company is read-only its writes are refused with a clear
    // message and a time to come back; reads go on.
    let manager = a.demo_token("manager").await;
    let employee_id = a.demo_users().await["employee"];
    let body =
        json!({"title": "Yangi", "assignee_id": employee_id, "deadline": (a.now() + jiff::SignedDuration::from_hours(2)).to_string()});
    let frozen = a.state().tenants.get(DEMO).unwrap().db().unwrap().freeze().await.unwrap();
    for (lang, accept) in [(Lang::En, "en"), (Lang::Ru, "ru"), (Lang::Uz, "uz")] {
        let r = a.send(a.req(Method::POST, &c(DEMO, "/tasks"), &manager).header("accept-language", accept).json(&body)).await;
        let r = r.refused(503, "unavailable");
        assert_eq!(r.header("retry-after"), Some("60"));
        assert_eq!(r.message(), msg(lang, "error.company_moving"));
    }
    a.get(&c(DEMO, &format!("/tasks/{}", on_a.task_id)), &manager).await.check(200);
    drop(frozen);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.company.tar.zst");
    let out = idora::ops::company::export(a.state(), DEMO, &file).await.unwrap();
    assert_eq!(out.slug, DEMO);
    assert!(out.files >= 1, "the chat's file (and its thumbnail): {}", out.files);
    assert_eq!(out.bytes, std::fs::metadata(&file).unwrap().len());
    // A is writable again once the export is written.
    a.post(&c(DEMO, "/tasks"), &manager, body.clone()).await.check(201);

    let imported = idora::ops::company::import(b.state(), &file).await.unwrap();
    assert_eq!(imported.slug, DEMO);
    let people = b.get(&c(DEMO, "/users"), &b.demo_token("admin").await).await.check(200).body;
    assert_eq!(imported.users, people.as_array().unwrap().len() as u64);

    // On B, at once: the employee signs in with the same password and finds
    // the task, its message and its file.
    let employee = b.demo_token("employee").await;
    let task = b.get(&c(DEMO, &format!("/tasks/{}", on_a.task_id)), &employee).await.check(200);
    assert_eq!(task.body["title"], on_a.task_title.as_str());
    let msgs = b.get(&c(DEMO, &format!("/tasks/{}/messages", on_a.task_id)), &employee).await.check(200).body;
    assert!(msgs.to_string().contains("Jadval ilova"), "{msgs}");
    let got = b.req(Method::GET, &c(DEMO, &format!("/files/{}", on_a.file_id)), &employee).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), on_a.file, "the same bytes");
    // The customer's ticket is there, tracked by the same link.
    let track = b.http.get(b.url(&format!("{}/status", on_a.ticket_track))).send().await.unwrap();
    assert_eq!(track.status(), 200);
    let track: serde_json::Value = track.json().await.unwrap();
    assert!(track.to_string().contains(&on_a.ticket_number), "{track}");
    // Every session ended: A's tokens are refused on B.
    b.get(&c(DEMO, "/me"), &on_a.old_token).await.refused(401, "unauthorized");
    b.post(&c(DEMO, "/auth/refresh"), "", json!({"refresh_token": on_a.old_refresh})).await.refused(401, "unauthorized");

    // B's own company is as it was.
    b.get(&other.path("/me"), &ali).await.check(200);
    assert_eq!(b.get(&other.path("/users"), &other.admin).await.check(200).body, other_users);
    let root = b.root().await;
    let list = b.get("/api/v1/companies", &root).await.check(200).body;
    let mut slugs: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
    slugs.sort();
    assert_eq!(slugs, vec![DEMO, "other"]);

    // Twice: refused, saying why; the company on B is untouched.
    let e = idora::ops::company::import(b.state(), &file).await.unwrap_err();
    assert_eq!(e.kind, idora::error::ErrorKind::Conflict);
    assert_eq!(e.info().message(Lang::En), msg_with(Lang::En, "error.company_exists", &[("slug", DEMO)]));
    b.get(&c(DEMO, &format!("/tasks/{}", on_a.task_id)), &employee).await.check(200);
}

#[tokio::test]
async fn a_garbled_or_foreign_archive_is_refused_with_a_message() {
    let a = start().await;
    let b = start().await;
    a.company("acme", true).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.tar.zst");
    idora::ops::company::export(a.state(), "acme", &file).await.unwrap();

    // Bytes changed in the middle.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let garbled = dir.path().join("garbled.tar.zst");
    std::fs::write(&garbled, &bytes).unwrap();
    // Cut short.
    let cut = dir.path().join("cut.tar.zst");
    std::fs::write(&cut, &std::fs::read(&file).unwrap()[..mid]).unwrap();
    // Not an archive at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an archive").unwrap();
    for f in [&garbled, &cut, &text] {
        let e = idora::ops::company::import(b.state(), f).await.unwrap_err();
        assert_eq!(e.kind, idora::error::ErrorKind::BadRequest, "{}: {e}", f.display());
        let said = e.info().message(Lang::En);
        assert!(said.contains(&f.display().to_string()), "the message names the file: {said}");
    }
    // Nothing of it is left on B, and the whole archive still imports.
    assert!(b.state().tenants.get("acme").is_none());
    assert!(!b.state().config.data_dir.join("tenants/acme").exists());
    idora::ops::company::import(b.state(), &file).await.unwrap();
    b.login("acme", "boss", ADMIN_PASSWORD).await.check(200);
    // The company A still has: not imported over it.
    let e = idora::ops::company::import(a.state(), &file).await.unwrap_err();
    assert_eq!(e.kind, idora::error::ErrorKind::Conflict);
}

#[tokio::test]
async fn the_routes_map_names_every_company_of_the_box() {
    let a = start().await;
    a.company("acme", true).await;
    a.company("beta-bank", false).await;
    let map = idora::ops::routes::nginx(a.state(), "box_a");
    assert_eq!(
        map,
        "# idora routes: 2 companies to box_a\n\
         ~^/c/acme(/|$)  box_a;\n\
         ~^/[tr]/acme-[^-/]+(/|$)  box_a;\n\
         ~^/c/beta-bank(/|$)  box_a;\n\
         ~^/[tr]/beta-bank-[^-/]+(/|$)  box_a;\n"
    );
}

/// The Google Sheets key is sealed with the box's key; after a move the
/// new box seals it with its own, and the sync works there.
#[tokio::test]
async fn the_sheets_connection_keeps_working_on_the_new_box() {
    use crate::support::google::{FakeGoogle, SPREADSHEET};
    let google = FakeGoogle::start().await;
    let url = google.url();
    let a = start_with({
        let url = url.clone();
        move |c| c.google_api_url = url
    })
    .await;
    idora::demo::seed(a.state()).await.unwrap();
    google.use_clock(a.state().clock.clone());
    google.add_spreadsheet(SPREADSHEET);
    let admin = a.demo_token("admin").await;
    let body = json!({
        "service_account_key": google.key(),
        "spreadsheet_id": SPREADSHEET,
        "tables": ["points"],
        "schedule": "manual",
    });
    a.put(&c(DEMO, "/integrations/google-sheets"), &admin, body).await.check(200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.tar.zst");
    idora::ops::company::export(a.state(), DEMO, &file).await.unwrap();

    let b = start_with(move |c| c.google_api_url = url).await;
    idora::ops::company::import(b.state(), &file).await.unwrap();
    let admin = b.demo_token("admin").await;
    let started = b.post(&c(DEMO, "/integrations/google-sheets/sync"), &admin, json!({})).await.check(202);
    let id = started.str("job_id");
    let mut job = json!(null);
    for _ in 0..600 {
        job = b.get(&c(DEMO, &format!("/jobs/{id}")), &admin).await.check(200).body;
        if job["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(job["state"], "done", "the key opened with B's box key: {job}");
    assert_eq!(google.titles(SPREADSHEET), vec!["Sheet1", "points"]);
}
