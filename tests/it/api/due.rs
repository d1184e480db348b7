//! Companies open on first use: start-up opens none of them, and the
//! minute's jobs visit only companies whose work has fallen due.

use crate::support::*;
use jiff::SignedDuration;
use serde_json::json;

fn open_companies(s: &Server) -> Vec<String> {
    s.running.state.tenants.all().into_iter().filter(|t| t.open_db().is_some()).map(|t| t.slug.clone()).collect()
}

#[tokio::test]
async fn start_up_with_a_hundred_companies_opens_none_of_them() {
    let s = start().await;
    let root = s.root().await;
    for i in 0..100 {
        s.create_company(&root, &format!("co-{i:03}"), "en").await;
    }
    assert_eq!(open_companies(&s).len(), 100, "a company is open after its creation");
    // What the server saves in the background (the jobs are not running here).
    s.running.state.tenants.save_due(&s.running.state.platform).await.unwrap();

    let s = s.restart().await;
    let ready = s.get("/readyz", "").await.check(200);
    assert_eq!(ready.body["status"], "ready", "{}", ready.text);
    assert_eq!(s.running.state.tenants.all().len(), 100);
    assert_eq!(open_companies(&s), Vec::<String>::new(), "start-up opened a company database");
    // Idle companies: the minute's jobs look at none of them.
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 0);
    s.advance(SignedDuration::from_hours(25));
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 0);
    assert_eq!(open_companies(&s), Vec::<String>::new(), "the jobs opened an idle company");
    // A company opens on its first request.
    s.login("co-007", "boss", ADMIN_PASSWORD).await.check(200);
    assert_eq!(open_companies(&s), vec!["co-007".to_string()]);
}

#[tokio::test]
async fn the_tick_marks_an_overdue_task_in_a_company_not_opened_since_start() {
    let s = start().await;
    let busy = s.company("busy", true).await;
    let _idle = s.company("idle", true).await;
    let (me, token) = s.user(&busy, "rahbar", "manager").await;
    let deadline = (s.running.state.now() + SignedDuration::from_hours(1)).to_string();
    let body = json!({"title": "Hisobot", "assignee_id": me, "deadline": deadline});
    let id = s.post(&busy.path("/tasks"), &token, body).await.check(201).id();
    // Both companies were used: each is looked at once (nothing is due yet).
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 2);
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 0, "nothing due: nothing visited");

    let s = s.restart().await;
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 0, "not due yet");
    assert_eq!(open_companies(&s), Vec::<String>::new());
    s.advance(SignedDuration::from_hours(2));
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 1, "only the company with a late task");
    assert_eq!(open_companies(&s), vec!["busy".to_string()], "the idle company stays closed");
    // The overdue notice is sent, then one visit settles the due time.
    s.outbox_sent("busy").await;
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 1, "the notice's visit");
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 0, "marked once, nothing more is due");

    let token = s.login("busy", "rahbar", USER_PASSWORD).await.check(200).str("access_token");
    let t = s.get(&c("busy", &format!("/tasks/{id}")), &token).await.check(200);
    assert_eq!(t.body["status"], "overdue", "{}", t.text);
}

#[tokio::test]
async fn an_earlier_deadline_makes_an_open_company_due_at_once() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (me, token) = s.user(&co, "rahbar", "manager").await;
    let later = (s.running.state.now() + SignedDuration::from_hours(48)).to_string();
    let body = json!({"title": "Keyin", "assignee_id": me, "deadline": later});
    s.post(&co.path("/tasks"), &token, body).await.check(201);
    idora::jobs::overdue_tick(&s.running.state).await;
    let tenant = s.running.state.tenants.get("acme").unwrap();
    let soon = (s.running.state.now() + SignedDuration::from_hours(1)).to_string();
    let body = json!({"title": "Tez", "assignee_id": me, "deadline": soon});
    let id = s.post(&co.path("/tasks"), &token, body).await.check(201).id();
    assert_eq!(tenant.due(), s.running.state.now().as_millisecond() + 3_600_000, "the earliest deadline");
    s.advance(SignedDuration::from_mins(61));
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 1);
    let token = s.login("acme", "rahbar", USER_PASSWORD).await.check(200).str("access_token");
    assert_eq!(s.get(&co.path(&format!("/tasks/{id}")), &token).await.check(200).body["status"], "overdue");
    // Its overdue notice made the company due now; once sent, a visit settles it.
    s.outbox_sent("acme").await;
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 1, "the notice's visit");
    assert_eq!(idora::jobs::overdue_tick(&s.running.state).await, 0, "nothing due");
    assert_eq!(tenant.due(), s.running.state.now().as_millisecond() - 61 * 60_000 + 48 * 3_600_000, "the next deadline");
}
