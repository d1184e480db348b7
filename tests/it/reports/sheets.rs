//! Google Sheets: an admin connects a service account and a spreadsheet,
//! syncs on demand or on a schedule, against a fake Google
//! (`support::google`) that checks the JWT's signature with the key's
//! public half and keeps what it is sent.

use crate::support::google::{CLIENT_EMAIL, FakeGoogle, SPREADSHEET};
use crate::support::*;
use idora::i18n::{Lang, t};
use idora::store::schema::POINTS_LEDGER;
use redb::{ReadableTable, ReadableTableMetadata};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const SHEETS: &str = "/integrations/google-sheets";
/// Friday 4 December 2026, 12:00 in Tashkent.
const NOW: &str = "2026-12-04T07:00:00Z";

/// The demo company on a test clock standing at now, its Sheets API the
/// fake's, and a spreadsheet shared with the test account.
async fn setup() -> (Server, FakeGoogle, String) {
    let google = FakeGoogle::start().await;
    let url = google.url();
    let s = start_with(move |c| c.google_api_url = url).await;
    s.clock().set(NOW.parse().unwrap());
    idora::demo::seed(s.state()).await.unwrap();
    let now = s.now();
    let clock = s.clock();
    idora::demo::seed_history(s.state(), &|t| clock.set(t.unwrap_or(now))).await.unwrap();
    google.use_clock(s.state().clock.clone());
    google.add_spreadsheet(SPREADSHEET);
    let admin = s.demo_token("admin").await;
    (s, google, admin)
}

fn connect_body(key: Value, schedule: &str) -> Value {
    json!({
        "service_account_key": key,
        "spreadsheet_id": format!("https://docs.google.com/spreadsheets/d/{SPREADSHEET}/edit#gid=0"),
        "tables": ["points"],
        "schedule": schedule,
    })
}

/// Waits until a job has ended; its last view.
async fn job_end(s: &Server, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let j = s.get(&c(DEMO, &format!("/jobs/{id}")), token).await.check(200).body;
        if j["state"] != "running" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sync did not end in 30 s");
}

/// The demo's points ledger: (rows, sum of points).
fn ledger(s: &Server) -> (usize, i64) {
    let tenant = s.state().tenants.get(DEMO).unwrap();
    let tx = tenant.db().unwrap().read().unwrap();
    let t = tx.open_table(POINTS_LEDGER).unwrap();
    let sum = t.iter().unwrap().map(|r| i64::from(r.unwrap().1.value())).sum();
    (t.len().unwrap() as usize, sum)
}

/// Checks the fake's `points` sheet against the ledger: the header in
/// `lang`, one row per entry, typed values.
fn check_points_sheet(google: &FakeGoogle, s: &Server, lang: Lang) {
    let sheet = google.sheet(SPREADSHEET, "points").expect("a points sheet");
    let grid = sheet.grid();
    let header: Vec<&str> = grid[0].iter().map(|v| v.as_str().unwrap()).collect();
    let want: Vec<&str> = ["completed_at", "employee", "department", "task_id", "task", "points"]
        .iter()
        .map(|k| t(lang, &format!("history.points.{k}")).to_string())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(header, want);
    let (rows, sum) = ledger(s);
    assert!(rows >= 10, "the demo has a points history: {rows}");
    assert_eq!(grid.len(), rows + 1, "every ledger entry, once");
    let mut total = 0;
    for row in &grid[1..] {
        let at = row[0].as_str().expect("a time as text");
        assert!(at.len() == 16 && at.as_bytes()[4] == b'-' && at.as_bytes()[10] == b' ' && at.as_bytes()[13] == b':', "{at}");
        assert!(!row[1].as_str().unwrap().is_empty(), "an employee's name: {row:?}");
        assert!(row[3].is_u64(), "the task number is a number: {row:?}");
        total += row[5].as_i64().expect("points are numbers");
    }
    assert_eq!(total, sum, "the points add up to the ledger's");
}

#[tokio::test]
async fn a_sync_on_demand_fills_the_points_sheet_in_the_admins_language() {
    let (s, google, admin) = setup().await;
    let users = s.demo_users().await;
    // The admin reads Russian: the sheets' header follows.
    s.patch(&c(DEMO, &format!("/users/{}", users["admin"])), &admin, json!({"language": "ru"})).await.check(200);

    let before = s.get(&c(DEMO, SHEETS), &admin).await.check(200).body;
    assert_eq!(before["connected"], false);
    let r = s.put(&c(DEMO, SHEETS), &admin, connect_body(google.key(), "manual")).await.check(200).body;
    assert_eq!(r["connected"], true);
    assert_eq!(r["client_email"], CLIENT_EMAIL);
    assert_eq!(r["key_hint"], "3f2a…91c0");
    assert_eq!(r["spreadsheet_id"], SPREADSHEET, "the id taken from the pasted address");
    assert_eq!(r["tables"], json!(["points"]));
    assert_eq!(r["schedule"], "manual");
    assert_eq!(r["next_sync_at"], Value::Null);
    assert_eq!(r["language"], "ru");
    assert_eq!(r["last_sync"], Value::Null);

    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    let job = job_end(&s, &admin, &started.str("job_id")).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["percent"], 100);
    let (rows, _) = ledger(&s);
    assert_eq!(job["total"], rows as u64);
    assert_eq!(job["done"], rows as u64);

    assert_eq!(google.titles(SPREADSHEET), vec!["Sheet1", "points"], "the missing sheet was added");
    check_points_sheet(&google, &s, Lang::Ru);
    assert_eq!(google.token_requests(), 1);

    let after = s.get(&c(DEMO, SHEETS), &admin).await.check(200).body;
    let last = &after["last_sync"];
    assert_eq!(last["status"], "ok", "{after}");
    assert_eq!(last["trigger"], "manual");
    assert_eq!(last["rows"], rows as u64);
    assert_eq!(last["tables"], json!([{"table": "points", "rows": rows}]));
    assert_eq!(last["error"], Value::Null);

    // Settings changed without a key keep the key; a second sync replaces
    // the values (someone's edits in the sheet go) and reuses the token.
    google.put_cells(SPREADSHEET, "points", {
        let mut g = vec![vec![json!("")]; rows + 5];
        g.push(vec![json!("typed by hand")]);
        g
    });
    let mut body = connect_body(Value::Null, "hourly");
    body.as_object_mut().unwrap().remove("service_account_key");
    let r = s.put(&c(DEMO, SHEETS), &admin, body).await.check(200).body;
    assert_eq!(r["client_email"], CLIENT_EMAIL);
    assert_eq!(r["schedule"], "hourly");
    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    assert_eq!(job_end(&s, &admin, &started.str("job_id")).await["state"], "done");
    check_points_sheet(&google, &s, Lang::Ru);
    assert_eq!(google.token_requests(), 1, "the token is kept until it nearly expires");
    assert_eq!(google.count("batchUpdate"), 1, "the sheet exists now");

    // Google revoked the token: a 401, a new token, and the sync goes on.
    google.revoke_tokens();
    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    assert_eq!(job_end(&s, &admin, &started.str("job_id")).await["state"], "done");
    assert_eq!(google.token_requests(), 2);
    check_points_sheet(&google, &s, Lang::Ru);
}

#[tokio::test]
async fn a_429_in_the_middle_of_a_big_table_is_retried_and_the_data_is_complete() {
    let (s, google, admin) = setup().await;
    // 12,000 more ledger entries: three write requests of at most 5,000 rows.
    let users = s.demo_users().await;
    let bekzod = users["employee"];
    let tenant = s.state().tenants.get(DEMO).unwrap();
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            let mut t = tx.open_table(POINTS_LEDGER).map_err(idora::store::store_err)?;
            for i in 0..12_000u64 {
                t.insert((bekzod, 1_700_000_000_000 + i as i64 * 60_000, 900_000 + i), 1).map_err(idora::store::store_err)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let (rows, _) = ledger(&s);
    // The second rows request is refused for a moment, and the first clear fails once.
    google.fail("values", 2, 429, Some(1));
    google.fail("clear", 1, 503, None);

    s.put(&c(DEMO, SHEETS), &admin, connect_body(google.key(), "manual")).await.check(200);
    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    let job = job_end(&s, &admin, &started.str("job_id")).await;
    assert_eq!(job["state"], "done", "{job}");

    let lang = Lang::parse(s.get(&c(DEMO, SHEETS), &admin).await.body["language"].as_str().unwrap()).unwrap();
    check_points_sheet(&google, &s, lang);
    let writes: Vec<usize> = google
        .log()
        .iter()
        .filter(|(what, _)| what.ends_with("/values:batchUpdate"))
        .map(|(_, body)| body["data"].as_array().unwrap().iter().map(|d| d["values"].as_array().unwrap().len()).sum())
        .collect();
    let batches = rows.div_ceil(5_000);
    assert_eq!(writes.len(), batches + 1, "each batch once, the refused one twice: {writes:?}");
    assert!(writes.iter().all(|n| *n <= 5_001), "at most 5,000 rows (and the header) a request: {writes:?}");
    assert_eq!(writes[1], writes[2], "the refused request was sent again as it was");
    assert_eq!(google.count("clear"), 2, "the failed clear was tried again");
    let last = s.get(&c(DEMO, SHEETS), &admin).await.body["last_sync"].clone();
    assert_eq!(last["rows"], rows as u64);
}

#[tokio::test]
async fn a_key_google_refuses_fails_the_sync_and_get_says_why() {
    let (s, google, admin) = setup().await;
    // A well-formed key of the same account, but not the one Google knows.
    s.put(&c(DEMO, SHEETS), &admin, connect_body(google.other_key(), "manual")).await.check(200);
    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    let job = job_end(&s, &admin, &started.str("job_id")).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(google.refused(), vec!["signature"]);
    assert!(google.log().is_empty(), "nothing reached the Sheets API");
    assert!(google.sheet(SPREADSHEET, "points").is_none());

    let r = s.get(&c(DEMO, SHEETS), &admin).await.check(200).body;
    let last = &r["last_sync"];
    assert_eq!(last["status"], "failed");
    assert_eq!(last["rows"], 0);
    let error = last["error"].as_str().unwrap();
    let lang = Lang::parse(r["language"].as_str().unwrap()).unwrap();
    let want = idora::i18n::tf(lang, "sheets.error.token_refused", &[("detail", "invalid_grant: Invalid JWT Signature.")]);
    assert_eq!(error, want);
    assert_eq!(job["error"], error, "the job says the same");

    // The right key: the next sync goes through and the error is gone.
    s.put(&c(DEMO, SHEETS), &admin, connect_body(google.key(), "manual")).await.check(200);
    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    assert_eq!(job_end(&s, &admin, &started.str("job_id")).await["state"], "done");
    let last = s.get(&c(DEMO, SHEETS), &admin).await.body["last_sync"].clone();
    assert_eq!((last["status"].as_str(), last["error"].is_null()), (Some("ok"), true));
}

#[tokio::test]
async fn a_spreadsheet_not_shared_or_missing_is_said_plainly() {
    let (s, google, admin) = setup().await;
    let mut body = connect_body(google.key(), "manual");
    body["spreadsheet_id"] = json!("1ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");
    s.put(&c(DEMO, SHEETS), &admin, body).await.check(200);
    let started = s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.check(202);
    let job = job_end(&s, &admin, &started.str("job_id")).await;
    assert_eq!(job["state"], "failed");
    let r = s.get(&c(DEMO, SHEETS), &admin).await.body;
    let lang = Lang::parse(r["language"].as_str().unwrap()).unwrap();
    let want = idora::i18n::tf(lang, "sheets.error.no_spreadsheet", &[("detail", "HTTP 404: Requested entity was not found.")]);
    assert_eq!(r["last_sync"]["error"], want);
}

#[tokio::test]
async fn the_key_is_never_shown_and_never_stored_in_clear() {
    let (s, google, admin) = setup().await;
    let key = google.key();
    let private = key["private_key"].as_str().unwrap().to_string();
    // A piece of the key's body, as it would lie in a file in clear.
    let piece: String = private.lines().nth(5).unwrap().to_string();
    assert!(piece.len() >= 60);
    // The key as the file's text (a string) is taken too.
    let r = s.put(&c(DEMO, SHEETS), &admin, connect_body(json!(key.to_string()), "daily 09:00")).await.check(200);
    for text in [r.text.clone(), s.get(&c(DEMO, SHEETS), &admin).await.check(200).text] {
        assert!(!text.contains("PRIVATE KEY") && !text.contains(&piece) && !text.contains("private_key"), "{text}");
        assert!(text.contains(CLIENT_EMAIL));
    }
    let audit = s.get(&c(DEMO, "/audit"), &admin).await.text;
    assert!(!audit.contains(&piece) && !audit.contains("PRIVATE KEY"));

    let path = s.state().tenants.get(DEMO).unwrap().db_path();
    let bytes = std::fs::read(&path).unwrap();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(CLIENT_EMAIL.as_bytes()), "the e-mail is stored (the check reads the right file)");
    assert!(!has(piece.as_bytes()), "no piece of the private key in the company's file");
    assert!(!has(b"BEGIN PRIVATE KEY") && !has(b"private_key"), "nor the key's JSON");

    // And the page shows the e-mail, never the key.
    let b = s.browser(DEMO, "admin", idora::demo::PASSWORD).await;
    let page = b.get("admin/integrations").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(CLIENT_EMAIL) && !page.html.contains(&piece));
}

#[tokio::test]
async fn bad_settings_are_refused_with_a_message() {
    let (s, google, admin) = setup().await;
    let path = c(DEMO, SHEETS);
    let put = |body: Value| {
        let (s, admin, path) = (&s, &admin, &path);
        async move { s.put(path, admin, body).await }
    };
    // No key on the first connection.
    let mut body = connect_body(google.key(), "manual");
    body.as_object_mut().unwrap().remove("service_account_key");
    let r = put(body).await.refused(422, "validation");
    assert_eq!(r.field(), "service_account_key");

    let key = google.key();
    let mut cases: Vec<(Value, &str)> = vec![
        (connect_body(json!("not a key"), "manual"), "service_account_key"),
        (connect_body(json!(42), "manual"), "service_account_key"),
        (
            connect_body(
                {
                    let mut k = key.clone();
                    k["type"] = json!("authorized_user");
                    k
                },
                "manual",
            ),
            "service_account_key",
        ),
        (
            connect_body(
                {
                    let mut k = key.clone();
                    k["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n");
                    k
                },
                "manual",
            ),
            "service_account_key",
        ),
        (
            connect_body(
                {
                    let mut k = key.clone();
                    k["token_uri"] = json!("http://evil.example.com/token");
                    k
                },
                "manual",
            ),
            "service_account_key",
        ),
        (
            connect_body(
                {
                    let mut k = key.clone();
                    k.as_object_mut().unwrap().remove("client_email");
                    k
                },
                "manual",
            ),
            "service_account_key",
        ),
        (connect_body(key.clone(), "weekly"), "schedule"),
        (connect_body(key.clone(), "daily 25:00"), "schedule"),
    ];
    let mut bad_id = connect_body(key.clone(), "manual");
    bad_id["spreadsheet_id"] = json!("https://example.com/not-a-sheet");
    cases.push((bad_id, "spreadsheet_id"));
    let mut no_tables = connect_body(key.clone(), "manual");
    no_tables["tables"] = json!([]);
    cases.push((no_tables, "tables"));
    let mut unknown = connect_body(key.clone(), "manual");
    unknown["tables"] = json!(["points", "salaries"]);
    cases.push((unknown, "tables"));
    for (body, field) in cases {
        let r = put(body.clone()).await.refused(422, "validation");
        assert_eq!(r.field(), field, "{body}");
    }
    // Nothing was stored.
    assert_eq!(s.get(&path, &admin).await.body["connected"], false);
    // Nothing to sync or disconnect yet.
    s.post(&c(DEMO, &format!("{SHEETS}/sync")), &admin, json!({})).await.refused(404, "not_found");
    s.send(s.req(Method::DELETE, &path, &admin)).await.refused(404, "not_found");
}

#[tokio::test]
async fn only_those_who_set_the_company_up_manage_the_sheets() {
    let (s, google, admin) = setup().await;
    s.put(&c(DEMO, SHEETS), &admin, connect_body(google.key(), "manual")).await.check(200);
    for who in ["employee", "manager", "operator"] {
        let token = s.demo_token(who).await;
        s.get(&c(DEMO, SHEETS), &token).await.refused(403, "forbidden");
        s.put(&c(DEMO, SHEETS), &token, connect_body(google.key(), "manual")).await.refused(403, "forbidden");
        s.post(&c(DEMO, &format!("{SHEETS}/sync")), &token, json!({})).await.refused(403, "forbidden");
        s.send(s.req(Method::DELETE, &c(DEMO, SHEETS), &token)).await.refused(403, "forbidden");
        let b = s.browser(DEMO, who, idora::demo::PASSWORD).await;
        assert_eq!(b.get("admin/integrations").await.status, 403, "{who}");
    }
    // Disconnecting forgets it all.
    s.send(s.req(Method::DELETE, &c(DEMO, SHEETS), &admin)).await.check(204);
    let r = s.get(&c(DEMO, SHEETS), &admin).await.check(200).body;
    assert_eq!((r["connected"].as_bool(), r["client_email"].is_null()), (Some(false), true));
}

#[tokio::test]
async fn a_daily_schedule_syncs_once_at_its_local_time() {
    let (s, google, admin) = setup().await;
    let r = s.put(&c(DEMO, SHEETS), &admin, connect_body(google.key(), "daily 09:00")).await.check(200).body;
    let next: jiff::Timestamp = r["next_sync_at"].as_str().unwrap().parse().unwrap();
    let local = next.to_zoned(jiff::tz::TimeZone::get("Asia/Tashkent").unwrap());
    assert_eq!((local.hour(), local.minute()), (9, 0), "09:00 in the company's time zone");
    assert!(next > s.now() && next.duration_since(s.now()) <= jiff::SignedDuration::from_hours(24));

    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 0, "not yet");
    s.advance(next.duration_since(s.now()) - jiff::SignedDuration::from_mins(1));
    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 0, "08:59");
    assert!(google.sheet(SPREADSHEET, "points").is_none());
    s.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 1, "09:01: the day's sync");
    check_points_sheet(&google, &s, Lang::parse(r["language"].as_str().unwrap()).unwrap());
    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 0, "once a day");

    // (The access token has expired meanwhile.)
    let admin = s.demo_token("admin").await;
    let after = s.get(&c(DEMO, SHEETS), &admin).await.body;
    assert_eq!(after["last_sync"]["trigger"], "schedule", "{after}");
    assert_eq!(after["last_sync"]["status"], "ok");
    let again: jiff::Timestamp = after["next_sync_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(again.duration_since(next), jiff::SignedDuration::from_hours(24), "tomorrow at 09:00");

    // A day the server was off: the missed sync runs once when it is back.
    s.advance(jiff::SignedDuration::from_hours(50));
    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 1);
    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 0);

    // Manual: the schedule stops.
    let admin = s.demo_token("admin").await;
    s.put(&c(DEMO, SHEETS), &admin, connect_body(google.key(), "manual")).await.check(200);
    s.advance(jiff::SignedDuration::from_hours(30));
    assert_eq!(idora::jobs::sheets_tick(s.state()).await, 0);
}

#[tokio::test]
async fn the_admin_connects_and_syncs_from_the_page() {
    let (s, google, _admin) = setup().await;
    let b = s.browser(DEMO, "admin", idora::demo::PASSWORD).await;
    let page = b.get("admin/integrations").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("console.cloud.google.com"), "the steps link to Google Cloud");
    // The link from the admin menu.
    assert!(b.get("admin/company").await.html.contains("/c/demo/admin/integrations"));

    let action = format!("{}admin/integrations/google-sheets?_csrf={}", s.url("/c/demo/"), b.csrf);
    let send = |key: Option<String>, every: &str| {
        let mut form = reqwest::multipart::Form::new()
            .text("_csrf", b.csrf.clone())
            .text("spreadsheet_id", format!("https://docs.google.com/spreadsheets/d/{SPREADSHEET}/edit"))
            .text("tables", "points")
            .text("every", every.to_string())
            .text("at", "09:00");
        if let Some(k) = key {
            form = form
                .part("service_account_key", reqwest::multipart::Part::text(k).file_name("key.json").mime_str("application/json").unwrap());
        }
        b.http.post(&action).multipart(form).send()
    };
    // A file that is not a key: the form again with the reason.
    let r = send(Some("{\"hello\": 1}".into()), "daily").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(&msg(Lang::Uz, "sheets.error.key_type")));

    let r = send(Some(google.key().to_string()), "daily").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.url().query().unwrap_or("").contains("done=connected"), "{}", r.url());
    let html = r.text().await.unwrap();
    assert!(html.contains(CLIENT_EMAIL));
    assert!(html.contains(&format!("https://docs.google.com/spreadsheets/d/{SPREADSHEET}/edit")));

    // Sync now: the page follows the job.
    let seen = b.post("admin/integrations/google-sheets/sync", &[]).await;
    assert_eq!(seen.status, 200);
    let job = seen.query.strip_prefix("job=").expect("the job in the address").to_string();
    let api = attr(&seen.html, "id=\"sh-progress\"", "data-job");
    assert_eq!(api, format!("/c/demo/api/v1/jobs/{job}"));
    // The page's script reads the job with the browser's cookies.
    for _ in 0..600 {
        let j: Value = b.http.get(s.url(&api)).send().await.unwrap().json().await.unwrap();
        if j["state"] != "running" {
            assert_eq!(j["state"], "done");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = b.get("admin/integrations").await;
    let (rows, _) = ledger(&s);
    assert!(text_of_id(&page.html, "sh-last-rows").starts_with(&rows.to_string()));
    assert!(page.html.contains(&msg(Lang::Uz, "sheets.page.ok")));

    // Disconnect.
    let seen = b.post("admin/integrations/google-sheets/disconnect", &[]).await;
    assert!(seen.html.contains(&msg(Lang::Uz, "sheets.page.disconnected_notice")));
    assert!(seen.html.contains(&msg(Lang::Uz, "sheets.page.none_title")));
}
