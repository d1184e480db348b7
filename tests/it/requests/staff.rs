//! The staff's side of requests over HTTP: the list's filters, search and
//! paging, who sees what, assignment with a note in the history, moves by
//! the table, public replies and internal notes, bulk changes reported per
//! request, and each person's own saved filters.

use crate::support::*;
use idora::store::schema::{Names, Priority, REQUEST_CATEGORIES, RequestCategoryV1, SlaClock};
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

const START: &str = "2026-11-25T06:00:00Z";
const PEOPLE: [&str; 5] = ["director", "admin", "manager", "employee", "operator"];

struct World {
    s: Server,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, u64>,
}

async fn world() -> World {
    let s = demo_at(START).await;
    let users = s.demo_users().await;
    let ids = PEOPLE.into_iter().map(|who| (who, users[who])).collect();
    let mut tokens = HashMap::new();
    for who in PEOPLE {
        tokens.insert(who, s.demo_token(who).await);
    }
    World { s, tokens, ids }
}

fn names(uz: &str, ru: &str) -> Names {
    Names { uz: uz.into(), ru: ru.into(), en: uz.into() }
}

impl World {
    /// Moves time on; access tokens live 15 minutes, so everyone signs in again.
    async fn advance(&mut self, by: SignedDuration) {
        self.s.advance(by);
        for who in PEOPLE {
            self.tokens.insert(who, self.s.demo_token(who).await);
        }
    }

    async fn call(&self, method: Method, who: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), Some(&self.tokens[who]), body).await
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, who, path, None).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, who, path, Some(body)).await
    }

    /// A category made through the core (the admin API is another's work).
    async fn category(&self, name: &str, team: Vec<u64>, first_response_minutes: Option<u32>) -> u64 {
        let tenant = self.s.state().tenants.get(DEMO).unwrap();
        let cat = RequestCategoryV1 {
            names: names(name, name),
            icon: "card".into(),
            color: "#1f6feb".into(),
            team,
            lead_id: None,
            auto_assign: false,
            default_priority: Priority::Normal,
            first_response_minutes,
            resolution_minutes: None,
            clock: SlaClock::AllDay,
            branch_id: None,
            fields: vec![],
            active: true,
            last_assigned: None,
            sort: 0,
        };
        tenant
            .db()
            .unwrap()
            .write(move |tx| {
                let id = idora::store::next_id(tx, "request_category")?;
                REQUEST_CATEGORIES.open(tx)?.insert(id, &cat)?;
                Ok(id)
            })
            .await
            .unwrap()
    }

    /// A request filed by `who` on a client's behalf; returns its id.
    async fn file(&self, who: &str, category: u64, subject: &str, client: &str, extra: Value) -> u64 {
        let mut body = json!({
            "category_id": category,
            "subject": subject,
            "text": format!("{subject}: batafsil"),
            // One phone per name: the same phone is the same client.
            "client": {"name": client, "phone": format!("+99890{:07}", client.chars().map(u64::from).sum::<u64>() % 10_000_000)},
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (s, v) = self.post(who, "/requests", body).await;
        assert_eq!(s, StatusCode::CREATED, "{who} files {subject}: {v}");
        assert!(v["number"].as_str().unwrap().starts_with("R-"), "{v}");
        assert!(v["tracking_url"].as_str().unwrap().contains("/r/demo-"), "{v}");
        v["id"].as_u64().unwrap()
    }

    /// The ids the list gives `who` for query `q`.
    async fn ids(&self, who: &str, q: &str) -> Vec<u64> {
        let (s, v) = self.get(who, &format!("/requests?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{who} lists ?{q}: {v}");
        v["items"].as_array().unwrap().iter().map(|i| i["id"].as_u64().unwrap()).collect()
    }

    /// Waits until the search index has caught up with `q` (it indexes after the commit).
    async fn search_until(&self, q: &str, n: usize) -> Vec<u64> {
        for _ in 0..100 {
            let got = self.ids("director", &format!("q={q}")).await;
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the index never found {n} for {q}");
    }
}

#[tokio::test]
async fn the_list_filters_searches_and_pages() {
    let mut w = world().await;
    let cards = w.category("Karta bloklangan", vec![w.ids["employee"]], Some(30)).await;
    let loans = w.category("Kredit savoli", vec![], None).await;
    let a = w.file("director", cards, "Karta bloklandi", "Алишер Каримов", json!({"priority": "urgent"})).await;
    let b = w.file("director", loans, "Kredit muddati", "Dilnoza Rahimova", json!({})).await;
    w.advance(SignedDuration::from_hours(48)).await;
    let cc = w.file("manager", cards, "Karta PIN", "Bobur Aliyev", json!({"priority": "low"})).await;

    // Newest first; one category; a priority; the channel of staff filing.
    assert_eq!(w.ids("director", "").await, vec![cc, b, a]);
    assert_eq!(w.ids("director", &format!("category_id={cards}")).await, vec![cc, a]);
    assert_eq!(w.ids("director", "priority=urgent").await, vec![a]);
    assert_eq!(w.ids("director", "channel=staff").await, vec![cc, b, a]);
    assert_eq!(w.ids("director", "channel=web").await, Vec::<u64>::new());

    // Assignee and "nobody's yet"; statuses repeated or comma-separated.
    let (s, v) = w.post("director", &format!("/requests/{b}/assign"), json!({"assignee_id": w.ids["operator"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "assigned");
    assert!(!v["assignee_name"].as_str().unwrap().is_empty(), "the assignee by name: {v}");
    assert_eq!(w.ids("director", &format!("assignee_id={}", w.ids["operator"])).await, vec![b]);
    assert_eq!(w.ids("director", "assignee_id=none").await, vec![cc, a]);
    assert_eq!(w.ids("director", "assignee_id=0").await, vec![cc, a]);
    assert_eq!(w.ids("director", "status=assigned").await, vec![b]);
    assert_eq!(w.ids("director", "status=new,assigned").await, vec![cc, b, a]);
    assert_eq!(w.ids("director", "status=new&status=assigned").await, vec![cc, b, a]);
    assert_eq!(w.ids("director", &format!("team={}", w.ids["employee"])).await, vec![cc, a]);

    // The date range is in the company's days (Tashkent, +05:00).
    assert_eq!(w.ids("director", "from=2026-11-25&to=2026-11-25").await, vec![b, a]);
    assert_eq!(w.ids("director", "from=2026-11-27").await, vec![cc]);
    assert_eq!(w.ids("director", "to=2026-11-24").await, Vec::<u64>::new());

    // SLA: the card's first response was due in 30 minutes, two days ago.
    let (_, v) = w.get("director", "/requests").await;
    let first = &v["items"][0];
    assert_eq!(first["number"], format!("R-{cc:06}"));
    assert_eq!((first["sla_level"].as_str(), first["sla_left_seconds"].as_i64()), (Some("soon"), Some(1800)), "half an hour left");
    assert_eq!(first["category"], "Karta bloklangan");
    assert_eq!(first["client_name"], "Bobur Aliyev");
    let old = v["items"].as_array().unwrap().iter().find(|i| i["id"] == a).unwrap();
    assert_eq!(old["sla_level"], "breached");
    assert!(old["sla_left_seconds"].as_i64().unwrap() < 0, "{old}");
    assert_eq!(v["items"][1]["sla_level"], Value::Null, "no targets on loans");

    // Bad filters are named.
    let (s, v) = w.get("director", "/requests?status=lost").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")), "{v}");
    let (s, v) = w.get("director", "/requests?from=25.11.2026").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("from")), "{v}");

    // Cursor paging: two, then the rest.
    let (_, p1) = w.get("director", "/requests?limit=2").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_u64().expect("a next page");
    let (_, p2) = w.get("director", &format!("/requests?limit=2&cursor={cursor}")).await;
    assert_eq!(p2["items"][0]["id"], a);
    assert_eq!(p2["next_cursor"], Value::Null);

    // Search: Latin words find the client's Cyrillic name.
    assert_eq!(w.search_until("batafsil", 3).await, vec![cc, b, a], "every text has the word");
    assert_eq!(w.ids("director", "q=alisher").await, vec![a]);
    assert_eq!(w.ids("director", "q=kredit").await, vec![b]);
    assert_eq!(w.ids("director", &format!("q=karta&category_id={cards}&priority=low")).await, vec![cc]);
}

#[tokio::test]
async fn a_team_sees_its_categorys_requests_and_an_outsider_sees_nothing() {
    let w = world().await;
    let cards = w.category("Karta", vec![w.ids["employee"]], None).await;
    let id = w.file("director", cards, "Karta bloklandi", "Aziz", json!({})).await;

    // The team member sees it and may take it; the outsider does not know it exists.
    assert_eq!(w.ids("employee", "").await, vec![id]);
    let (s, v) = w.get("employee", &format!("/requests/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["client"]["name"], "Aziz");
    assert!(v["allowed_moves"].as_array().unwrap().contains(&json!("assign")), "{v}");
    assert_eq!(w.ids("operator", "").await, Vec::<u64>::new());
    for path in [format!("/requests/{id}"), format!("/requests/{id}/messages")] {
        let (s, _) = w.get("operator", &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = w.post("operator", &format!("/requests/{id}/messages"), json!({"text": "Salom", "internal": true})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w.post("operator", &format!("/requests/{id}/assign"), json!({"assignee_id": w.ids["operator"]})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The team heard of it; the notification opens the request's page.
    let notes = w.s.browser(DEMO, "employee", idora::demo::PASSWORD).await.get("notifications").await;
    assert!(notes.html.contains(&format!(r#"href="/c/demo/requests/{id}""#)), "the notification links the request");

    // The team member takes it for themselves, not for another.
    let (s, _) = w.post("employee", &format!("/requests/{id}/assign"), json!({"assignee_id": w.ids["operator"]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w.post("employee", &format!("/requests/{id}/assign"), json!({"assignee_id": w.ids["employee"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["assignee_id"], w.ids["employee"]);
}

#[tokio::test]
async fn assignment_and_moves_follow_the_table_and_leave_history() {
    let w = world().await;
    let cards = w.category("Karta", vec![w.ids["employee"], w.ids["operator"]], None).await;
    let id = w.file("director", cards, "Karta bloklandi", "Aziz", json!({})).await;

    // Assigned with a note, then reassigned: both lines in the history.
    let (s, _) = w.post("manager", &format!("/requests/{id}/assign"), json!({"assignee_id": w.ids["operator"], "note": "Navbatchi"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        w.post("manager", &format!("/requests/{id}/assign"), json!({"assignee_id": w.ids["employee"], "note": "Karta bo‘limi"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, d) = w.get("director", &format!("/requests/{id}")).await;
    let notes: Vec<&str> = d["history"].as_array().unwrap().iter().filter_map(|h| h["comment"].as_str()).collect();
    assert!(notes.contains(&"Navbatchi") && notes.contains(&"Karta bo‘limi"), "{}", d["history"]);
    assert_eq!(d["status"], "assigned");

    // The operator, still in the team, sees it but moves nothing: not theirs.
    let (s, v) = w.post("operator", &format!("/requests/{id}/status"), json!({"status": "in_progress"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");

    // The assignee cannot close it from here: handed in first; a reviewer completes.
    let (s, v) = w.post("employee", &format!("/requests/{id}/status"), json!({"status": "done"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = w.post("employee", &format!("/requests/{id}/status"), json!({"status": "in_progress"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = w.post("director", &format!("/requests/{id}/status"), json!({"status": "done"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "not handed in yet: {v}");
    let (s, _) = w.post("employee", &format!("/requests/{id}/status"), json!({"status": "pending_review"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = w.post("director", &format!("/requests/{id}/status"), json!({"status": "done"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "done");
    assert_eq!(v["sla_level"], Value::Null);

    // Rejecting needs the reason the client reads.
    let other = w.file("director", cards, "Boshqa", "Aziz", json!({})).await;
    let (s, v) = w.post("director", &format!("/requests/{other}/status"), json!({"status": "rejected"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("comment")), "{v}");
    let (s, _) = w.post("director", &format!("/requests/{other}/status"), json!({"status": "rejected", "comment": "Takror"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, d) = w.get("director", &format!("/requests/{other}")).await;
    assert_eq!(d["reject_reason"], "Takror");
    assert_eq!(d["earlier"][0]["id"], id, "the client's earlier request is listed");

    // Priority: a reviewer changes it; the assignee may not.
    let third = w.file("director", cards, "Uchinchi", "Aziz", json!({})).await;
    let (s, _) = w.post("director", &format!("/requests/{third}/assign"), json!({"assignee_id": w.ids["employee"]})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.post("employee", &format!("/requests/{third}/priority"), json!({"priority": "urgent"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w.post("director", &format!("/requests/{third}/priority"), json!({"priority": "urgent"})).await;
    assert_eq!((s, v["priority"].as_str()), (StatusCode::OK, Some("urgent")));
}

#[tokio::test]
async fn public_replies_and_internal_notes_are_told_apart() {
    let w = world().await;
    let cards = w.category("Karta", vec![w.ids["employee"]], Some(60)).await;
    let id = w.file("director", cards, "Karta bloklandi", "Aziz", json!({})).await;
    let (s, _) = w.post("director", &format!("/requests/{id}/assign"), json!({"assignee_id": w.ids["employee"]})).await;
    assert_eq!(s, StatusCode::OK);

    let (s, note) =
        w.post("employee", &format!("/requests/{id}/messages"), json!({"text": "Pasportini tekshiring", "internal": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{note}");
    assert_eq!(note["internal"], true);
    let (_, d) = w.get("director", &format!("/requests/{id}")).await;
    assert_eq!(d["first_response_at"], Value::Null, "a note is no answer to the client");

    let (s, reply) = w.post("employee", &format!("/requests/{id}/messages"), json!({"text": "Kartangiz ochildi", "internal": false})).await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["internal"], false);
    let (_, d) = w.get("director", &format!("/requests/{id}")).await;
    assert!(d["first_response_at"].is_string(), "the first public reply stops the clock: {d}");

    let (s, v) = w.get("manager", &format!("/requests/{id}/messages")).await;
    assert_eq!(s, StatusCode::OK);
    let seen: Vec<(String, bool, bool)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["text"].as_str().unwrap().to_string(), m["internal"].as_bool().unwrap(), m["from_client"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("Karta bloklandi: batafsil".to_string(), false, false),
            ("Pasportini tekshiring".to_string(), true, false),
            ("Kartangiz ochildi".to_string(), false, false),
        ]
    );
}

#[tokio::test]
async fn bulk_changes_report_each_request() {
    let w = world().await;
    let cards = w.category("Karta", vec![w.ids["employee"]], None).await;
    let a = w.file("director", cards, "Birinchi", "Aziz", json!({})).await;
    let b = w.file("director", cards, "Ikkinchi", "Vali", json!({})).await;
    let c = w.file("director", cards, "Uchinchi", "Sami", json!({})).await;
    let (s, _) = w.post("director", &format!("/requests/{c}/status"), json!({"status": "rejected", "comment": "Takror"})).await;
    assert_eq!(s, StatusCode::OK);

    // Only dispatchers change in bulk.
    let (s, _) = w.post("employee", "/requests/bulk/assign", json!({"ids": [a], "assignee_id": w.ids["employee"]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, v) = w
        .post("manager", "/requests/bulk/assign", json!({"ids": [a, c, b], "assignee_id": w.ids["employee"], "note": "Hammasi sizga"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!((r[0]["id"].as_u64(), r[0]["ok"].as_bool()), (Some(a), Some(true)));
    assert_eq!((r[1]["id"].as_u64(), r[1]["ok"].as_bool()), (Some(c), Some(false)), "a rejected one is not assigned");
    assert!(!r[1]["error"].as_str().unwrap().is_empty());
    assert_eq!((r[2]["id"].as_u64(), r[2]["ok"].as_bool()), (Some(b), Some(true)));
    assert_eq!(w.ids("director", &format!("assignee_id={}", w.ids["employee"])).await, vec![b, a]);

    let (s, v) = w.post("manager", "/requests/bulk/status", json!({"ids": [a, b], "status": "done"})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["results"].as_array().unwrap().iter().all(|r| r["ok"] == false), "not handed in: {v}");
    let (s, v) = w.post("manager", "/requests/bulk/status", json!({"ids": [], "status": "done"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ids")));
}

#[tokio::test]
async fn saved_filters_are_each_persons_own() {
    let w = world().await;
    let (s, v) = w.post("manager", "/requests/saved-filters", json!({"name": "Shoshilinch", "query": "priority=urgent&status=new"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_u64().unwrap();
    let (_, mine) = w.get("manager", "/requests/saved-filters").await;
    assert_eq!(mine["items"], json!([{"id": id, "name": "Shoshilinch", "query": "priority=urgent&status=new"}]));
    let (_, theirs) = w.get("director", "/requests/saved-filters").await;
    assert_eq!(theirs["items"], json!([]));

    // Another's is not found; a name is required and short.
    let (s, _) = w.call(Method::DELETE, "director", &format!("/requests/saved-filters/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = w.post("manager", "/requests/saved-filters", json!({"name": " ", "query": ""})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let (s, _) = w.post("manager", "/requests/saved-filters", json!({"name": "x".repeat(61), "query": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Thirty at most.
    for n in 1..30 {
        let (s, _) = w.post("manager", "/requests/saved-filters", json!({"name": format!("F{n}"), "query": ""})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = w.post("manager", "/requests/saved-filters", json!({"name": "F31", "query": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let (s, _) = w.call(Method::DELETE, "manager", &format!("/requests/saved-filters/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, mine) = w.get("manager", "/requests/saved-filters").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 29);
}

#[tokio::test]
async fn the_pages_list_filter_change_in_bulk_and_write_notes() {
    use idora::i18n::{Lang, t, tf};
    let w = world().await;
    let cards = w.category("Karta bloklangan", vec![w.ids["employee"]], Some(30)).await;
    let a = w.file("director", cards, "Karta bloklandi", "Aziz Karimov", json!({"priority": "urgent"})).await;
    let b = w.file("director", cards, "PIN unutildi", "Vali Aliyev", json!({})).await;
    let c3 = w.file("director", cards, "Karta muddati", "Sami Xasanov", json!({})).await;
    let dir = w.s.browser(DEMO, "director", idora::demo::PASSWORD).await;

    // The list: every open one, with its number and the nav entry; a filter narrows it.
    let list = dir.get("requests").await;
    assert_eq!(list.status, StatusCode::OK);
    for id in [a, b, c3] {
        assert!(list.html.contains(&format!("R-{id:06}")), "R-{id:06} listed");
    }
    assert!(list.html.contains(r#"href="/c/demo/requests""#), "Requests in the navigation");
    let urgent = dir.get("requests?priority=urgent").await;
    assert!(urgent.html.contains("Karta bloklandi") && !urgent.html.contains("PIN unutildi"));
    let bad = dir.get("requests?from=31.12").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "a bad date is said, not a 500");

    // Bulk: two assigned to the employee; the list says how it went.
    let emp = w.ids["employee"].to_string();
    let done = dir
        .post("requests/bulk", &[("ids", &a.to_string()), ("ids", &c3.to_string()), ("assignee_id", &emp), ("do", "assign"), ("back", "")])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains(&tf(Lang::Uz, "rs.notice.bulk", &[("ok", "2"), ("failed", "0")])), "{}", done.query);
    assert_eq!(w.ids("director", &format!("assignee_id={emp}")).await, vec![c3, a]);

    // A saved filter comes back as a link.
    let saved = dir.post("requests/saved-filters", &[("name", "Shoshilinch"), ("query", "priority=urgent")]).await;
    assert!(saved.html.contains(r#"href="/c/demo/requests?priority=urgent""#) && saved.html.contains("Shoshilinch"));

    // The request page: a note by default, a reply when chosen; each badged.
    let page = dir.get(&format!("requests/{a}")).await;
    assert!(page.html.contains(r#"name="kind" value="internal" checked"#), "an internal note unless chosen otherwise");
    let after = dir.post(&format!("requests/{a}/reply"), &[("kind", "internal"), ("text", "Pasportni tekshiring"), ("file_ids", "")]).await;
    assert!(after.html.contains(t(Lang::Uz, "rs.notice.note")));
    let after = dir.post(&format!("requests/{a}/reply"), &[("kind", "public"), ("text", "Kartangiz ochildi"), ("file_ids", "")]).await;
    assert!(after.html.contains(t(Lang::Uz, "rs.notice.reply")));
    let note_at = after.html.find("Pasportni tekshiring").unwrap();
    let reply_at = after.html.find("Kartangiz ochildi").unwrap();
    let li_of = |at: usize| after.html[..at].rfind("<li ").map(|i| &after.html[i..at]).unwrap();
    assert!(li_of(note_at).contains("rq-msg internal") && li_of(note_at).contains(t(Lang::Uz, "rs.msg.internal")));
    assert!(li_of(reply_at).contains("rq-msg staff") && li_of(reply_at).contains(t(Lang::Uz, "rs.msg.public")));
    // Rejecting without a reason is said on the page.
    let refused = dir.post(&format!("requests/{b}/status"), &[("status", "rejected"), ("comment", "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The employee's home lists their requests; the operator has no Requests and finds none.
    let e = w.s.browser(DEMO, "employee", idora::demo::PASSWORD).await;
    let home = e.get("").await;
    assert!(home.html.contains(t(Lang::Uz, "rs.home.title")) && home.html.contains("Karta muddati"), "My requests on the home page");
    let op = w.s.browser(DEMO, "operator", idora::demo::PASSWORD).await;
    assert!(!op.get("").await.html.contains(r#"href="/c/demo/requests""#));
    assert_eq!(op.get(&format!("requests/{a}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn staff_file_a_request_for_a_client_in_the_pages() {
    use idora::i18n::{Lang, t};
    let w = world().await;
    let cards = w.category("Karta bloklangan", vec![], None).await;
    let dir = w.s.browser(DEMO, "director", idora::demo::PASSWORD).await;

    // Choose the category, then its form; a missing name is said next to the field.
    let form = dir.get(&format!("requests/new?category_id={cards}")).await;
    assert!(form.html.contains(r#"name="client.name""#) && form.html.contains(r#"name="client.phone""#));
    let cat = cards.to_string();
    let refused = dir
        .post("requests/new", &[("category_id", &cat), ("client.name", ""), ("client.phone", "+998901112233"), ("text", "Karta bloklandi")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("field-error"), "the error is next to its field");
    let filed = dir
        .post(
            "requests/new",
            &[
                ("category_id", &cat),
                ("client.name", "Aziz Karimov"),
                ("client.phone", "+998901112233"),
                ("subject", ""),
                ("text", "Karta bloklandi"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK);
    assert!(filed.path.starts_with("/c/demo/requests/"), "{}", filed.path);
    assert!(filed.html.contains(t(Lang::Uz, "rs.notice.filed")));
    assert!(filed.html.contains("Aziz Karimov") && filed.html.contains(r#"href="tel:+998901112233""#));
    let (_, v) = w.get("director", "/requests").await;
    assert_eq!((v["items"][0]["channel"].as_str(), v["items"][0]["priority"].as_str()), (Some("staff"), Some("high")));
    assert_eq!(v["items"][0]["subject"], "Karta bloklangan", "the category's name when no subject is given");

    // A saved filter is deleted from the list's chip.
    let saved = dir.post("requests/saved-filters", &[("name", "Mening filtrim"), ("query", "priority=high")]).await;
    assert!(saved.html.contains("Mening filtrim"));
    let (_, list) = w.get("director", "/requests/saved-filters").await;
    let id = list["items"][0]["id"].as_u64().unwrap();
    let gone = dir.post(&format!("requests/saved-filters/{id}/delete"), &[("back", "")]).await;
    assert_eq!(gone.status, StatusCode::OK);
    assert!(!gone.html.contains("Mening filtrim"));
}
