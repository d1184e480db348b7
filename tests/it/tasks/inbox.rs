//! What waits for whom, as they see it: the approval and review inboxes
//! (tab counts, the navigation badge, `GET /me`, `GET /tasks?inbox=`), a
//! task sent back with its reason on top and handed in again without
//! starting it, and points — on `GET /me`, the profile, the home page, the
//! users list (this week and month in the company's time zone, weeks from
//! Monday) and in the completion notice.

use super::*;

impl World {
    /// A company page as `who` sees it (HTML).
    async fn page(&self, who: &str, path: &str) -> String {
        let r = self.s.web.get(format!("{}/c/demo/{path}", self.s.base)).bearer_auth(&self.tokens[who]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{who} opens {path}");
        r.text().await.unwrap()
    }

    async fn inbox_ids(&self, who: &str, inbox: &str) -> Vec<u64> {
        let (s, v) = self.get(who, &format!("/tasks?inbox={inbox}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["items"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect()
    }

    async fn me(&self, who: &str) -> Value {
        let (s, v) = self.get(who, "/me").await;
        assert_eq!(s, StatusCode::OK);
        v
    }
}

/// The text right after the tag that carries `marker`.
fn after(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let open = rest.find('>')? + 1;
    Some(rest[open..].split('<').next().unwrap_or("").trim().to_string())
}

/// The navigation badge's number, `None` when it is hidden (nothing waits;
/// the page keeps it for the live script).
fn badge(html: &str) -> Option<&str> {
    let at = html.find(r#"class="nav-badge""#)?;
    let tag = &html[at..at + html[at..].find('>')?];
    if tag.contains(" hidden") { None } else { text_of(html, "nav-badge") }
}

#[tokio::test]
async fn approval_and_review_inboxes_count_and_list_what_waits() {
    let w = world().await;
    assert_eq!(w.me("director").await["inbox"], json!({"approval": 0, "review": 0}));
    assert_eq!(badge(&w.page("director", "tasks").await), None, "no badge while nothing waits");

    // Across departments: the director's to approve, not the asking manager's.
    let across = w.task("manager", "operator", "Navbat tizimi").await["id"].as_u64().unwrap();
    assert_eq!(w.me("director").await["inbox"]["approval"], 1);
    assert_eq!(w.inbox_ids("director", "approval").await, vec![across]);
    assert_eq!(w.me("manager").await["inbox"]["approval"], 0);
    assert!(w.inbox_ids("manager", "approval").await.is_empty());
    let html = w.page("director", "tasks?tab=approval").await;
    assert_eq!(after(&html, r#"data-inbox="approval""#).as_deref(), Some("1"), "the tab says how many");
    assert_eq!(badge(&html), Some("1"), "and so does the navigation");
    assert!(html.contains(&format!("/tasks/{across}\"")), "the task is listed");
    let manager_html = w.page("manager", "tasks").await;
    assert!(!manager_html.contains(r#"data-inbox="approval""#), "no approval tab for who cannot approve");

    // Handed-in work waits for the one who gave it.
    let id = w.task("manager", "employee", "Oylik hisobot").await["id"].as_u64().unwrap();
    w.move_to("employee", id, "in_progress", None).await;
    assert_eq!(w.me("manager").await["inbox"]["review"], 0, "work in progress waits for no one");
    let (s, _) = w.move_to("employee", id, "pending_review", Some("Tayyor")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(w.me("manager").await["inbox"]["review"], 1);
    assert_eq!(w.inbox_ids("manager", "review").await, vec![id]);
    assert_eq!(w.me("employee").await["inbox"], json!({"approval": 0, "review": 0}));
    let html = w.page("manager", "tasks?tab=review").await;
    assert_eq!(after(&html, r#"data-inbox="review""#).as_deref(), Some("1"));
    assert_eq!(badge(&html), Some("1"));
    assert!(html.contains(&format!("/tasks/{id}\"")));
    let home = w.page("manager", "").await;
    assert!(home.contains("tasks?tab=review"), "the home page links the inbox");

    // The counts come from the status index, which the writes kept in step:
    // without the task's entry the count does not see it.
    let tenant = w.s.state().tenants.get("demo").unwrap();
    let db = tenant.db().unwrap().clone();
    assert_eq!(idora::store::check::verify_tenant(&db).unwrap(), vec![], "every index in step with its rows");
    let key = (idora::store::schema::status_byte(idora::store::schema::TaskStatus::PendingReview), id);
    let set = |present: bool| {
        let db = db.clone();
        async move {
            db.write(move |tx| {
                let mut t = tx.open_table(idora::store::schema::TASKS_BY_STATUS).unwrap();
                if present {
                    t.insert(key, ()).unwrap();
                } else {
                    t.remove(key).unwrap();
                }
                Ok(())
            })
            .await
            .unwrap()
        }
    };
    set(false).await;
    assert_eq!(w.me("manager").await["inbox"]["review"], 0, "read from the index, not from the task rows");
    set(true).await;
    assert_eq!(w.me("manager").await["inbox"]["review"], 1);

    // Decided: the inboxes empty and the badge goes.
    let (s, _) = w.post("director", &format!("/tasks/{across}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.move_to("manager", id, "completed", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(w.me("director").await["inbox"]["approval"], 0);
    assert_eq!(w.me("manager").await["inbox"]["review"], 0);
    let html = w.page("manager", "tasks?tab=review").await;
    assert_eq!(after(&html, r#"data-inbox="review""#).as_deref(), Some("0"));
    assert_eq!(badge(&html), None);

    let (s, v) = w.get("manager", "/tasks?inbox=everything").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("inbox")));
}

#[tokio::test]
async fn a_task_sent_back_shows_why_on_top_and_goes_back_without_starting_again() {
    let w = world().await;
    let id = w.task("manager", "employee", "Oylik hisobot").await["id"].as_u64().unwrap();
    w.move_to("employee", id, "in_progress", None).await;
    w.move_to("employee", id, "pending_review", None).await;
    let (s, _) = w.move_to("manager", id, "redo", Some("Jadvalni to‘ldiring")).await;
    assert_eq!(s, StatusCode::OK);

    let (_, t) = w.get("employee", &format!("/tasks/{id}")).await;
    let moves = t["allowed_moves"].as_array().unwrap();
    assert!(moves.contains(&json!("submit")) && moves.contains(&json!("start")), "{moves:?}");
    let html = w.page("employee", &format!("tasks/{id}")).await;
    let reason = html.find("class=\"redo-reason\"").expect("the reason is shown");
    let comment = html.find("Jadvalni to‘ldiring").unwrap();
    assert!(reason < comment && comment < html.find("actions-card").unwrap(), "the reason comes first, above the actions");
    assert!(html.contains("Malika Yusupova"), "and who sent it back");

    // Nothing else changed: straight back to review.
    let (s, v) = w.move_to("employee", id, "pending_review", Some("To‘ldirildi")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("pending_review")), "{v}");
    assert!(!w.page("employee", &format!("tasks/{id}")).await.contains("class=\"redo-reason\""), "no reason once handed in");

    // Changed after it was sent back: it must be started again.
    w.move_to("manager", id, "redo", Some("Yana bir bor")).await;
    let (s, _) = w.patch("manager", &format!("/tasks/{id}"), json!({"description": "Endi grafik ham kerak"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, t) = w.get("employee", &format!("/tasks/{id}")).await;
    assert!(!t["allowed_moves"].as_array().unwrap().contains(&json!("submit")), "{t}");
    let (s, v) = w.move_to("employee", id, "pending_review", None).await;
    assert_eq!((s, kind(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");
    w.move_to("employee", id, "in_progress", None).await;
    let (s, _) = w.move_to("employee", id, "pending_review", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn points_show_on_me_the_profile_home_the_users_list_and_the_completion_notice() {
    let mut w = world().await;
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"language": "en"})).await;
    assert_eq!(s, StatusCode::OK);
    // 2026-11-25 is a Wednesday: 11:00 in Tashkent.
    let id = w.task("manager", "employee", "Oylik hisobot").await["id"].as_u64().unwrap();
    w.move_to("employee", id, "in_progress", None).await;
    w.move_to("employee", id, "pending_review", None).await;
    let (s, _) = w.move_to("manager", id, "completed", None).await;
    assert_eq!(s, StatusCode::OK);

    let note = w.notes("employee").await.into_iter().find(|n| n["kind"] == "task_status" && n["task_id"] == id).unwrap();
    assert_eq!(note["text"], "«Oylik hisobot» is completed (Malika Yusupova): 5 points awarded.");

    assert_eq!(w.me("employee").await["points"], json!({"total": 5, "week": 5, "month": 5}));
    assert_eq!(w.me("manager").await["points"], json!({"total": 0, "week": 0, "month": 0}));
    for path in ["profile", ""] {
        let html = w.page("employee", path).await;
        for (fig, n) in [("points-total", "5"), ("points-week", "5"), ("points-month", "5")] {
            assert_eq!(after(&html, &format!("id=\"{fig}\"")).as_deref(), Some(n), "{fig} on /{path}");
        }
    }
    let users = w.page("admin", "admin/users").await;
    let row = &users[users.find(&format!("data-user=\"{}\"", w.ids["employee"])).unwrap()..];
    assert_eq!(after(row, "<strong").as_deref(), Some("5"), "the users list shows the total");

    // Sunday 23:30 in Tashkent: still this week.
    let sunday = "2026-11-29T18:30:00Z".parse::<Timestamp>().unwrap();
    w.advance(w.s.now().duration_until(sunday)).await;
    assert_eq!(w.me("employee").await["points"], json!({"total": 5, "week": 5, "month": 5}));
    // Monday 00:30 in Tashkent: a new week, the same month.
    w.advance(SignedDuration::from_hours(1)).await;
    assert_eq!(w.me("employee").await["points"], json!({"total": 5, "week": 0, "month": 5}));
    // 1 December: a new month.
    w.advance(SignedDuration::from_hours(24)).await;
    assert_eq!(w.me("employee").await["points"], json!({"total": 5, "week": 0, "month": 0}));
    let html = w.page("employee", "profile").await;
    assert_eq!(after(&html, "id=\"points-total\"").as_deref(), Some("5"));
    assert_eq!(after(&html, "id=\"points-month\"").as_deref(), Some("0"));

    // A completed task that a director deletes takes its points along, and
    // the ledger and its totals stay in step with the tasks.
    let (s, _) = w.call(Method::DELETE, "director", &format!("/tasks/{id}"), None).await;
    assert!(s.is_success(), "{s}");
    assert_eq!(w.me("employee").await["points"], json!({"total": 0, "week": 0, "month": 0}));
    let tenant = w.s.state().tenants.get("demo").unwrap();
    assert_eq!(idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap(), vec![]);
}

#[tokio::test]
async fn the_inbox_counts_arrive_live_when_a_task_enters_or_leaves() {
    let w = world().await;
    let (mut director, _) = tokio_tungstenite::connect_async(ws_request(&w.s, DEMO, &w.tokens["director"])).await.unwrap();
    assert_eq!(next_json(&mut director).await["kind"], "hello");
    let (mut manager, _) = tokio_tungstenite::connect_async(ws_request(&w.s, DEMO, &w.tokens["manager"])).await.unwrap();
    assert_eq!(next_json(&mut manager).await["kind"], "hello");
    /// The next `inbox` event of a socket (others skipped).
    async fn inbox<S>(ws: &mut S) -> Value
    where
        S: futures_util::Stream<Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
    {
        loop {
            let ev = tokio::time::timeout(std::time::Duration::from_secs(5), next_json(ws)).await.expect("an inbox event");
            if ev["kind"] == "inbox" {
                return ev["data"].clone();
            }
        }
    }

    // Across departments: it enters the director's approval inbox.
    let across = w.task("manager", "operator", "Navbat tizimi").await["id"].as_u64().unwrap();
    let d = inbox(&mut director).await;
    assert_eq!((d["approval"].as_u64(), d["review"].as_u64(), d["total"].as_u64()), (Some(1), Some(0), Some(1)), "{d}");
    assert!(!d["label"].as_str().unwrap_or("").is_empty(), "the badge's words come along: {d}");
    // Approved, it leaves it.
    w.post("director", &format!("/tasks/{across}/approve"), json!({})).await;
    assert_eq!(inbox(&mut director).await["approval"], 0);

    // Handed in, it enters the manager's review inbox (she gave it); accepted, it leaves.
    let id = w.task("manager", "employee", "Oylik hisobot").await["id"].as_u64().unwrap();
    w.move_to("employee", id, "in_progress", None).await;
    w.move_to("employee", id, "pending_review", None).await;
    assert_eq!(inbox(&mut manager).await["review"], 1);
    w.move_to("manager", id, "completed", None).await;
    let m = inbox(&mut manager).await;
    assert_eq!((m["review"].as_u64(), m["total"].as_u64()), (Some(0), Some(0)), "{m}");
}
