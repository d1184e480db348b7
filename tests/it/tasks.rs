//! Tasks through HTTP: the workflow by every role, approval across
//! departments, deadlines and extensions, history, visibility, the overdue
//! job with an injected clock, and notifications on a real WebSocket.

use crate::support::*;
use futures_util::SinkExt;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

mod chat;
mod find;
mod inbox;
mod notices;

const START: &str = "2026-11-25T06:00:00Z";
/// The demo company's people, by username.
const PEOPLE: [&str; 6] = ["owner", "director", "admin", "manager", "employee", "operator"];

/// The demo company on a real server, everyone signed in.
struct World {
    s: Server,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, u64>,
}

async fn world() -> World {
    let s = demo_at(START).await;
    let users = s.demo_users().await;
    let ids = PEOPLE.into_iter().map(|who| (who, users[who])).collect();
    let mut w = World { s, tokens: HashMap::new(), ids };
    w.sign_in().await;
    w
}

impl World {
    /// Everyone signs in (again).
    async fn sign_in(&mut self) {
        for who in PEOPLE {
            self.tokens.insert(who, self.s.demo_token(who).await);
        }
    }

    /// Moves time on; access tokens live 15 minutes, so everyone signs in again.
    async fn advance(&mut self, by: SignedDuration) {
        self.s.advance(by);
        self.sign_in().await;
    }

    /// A URL of the demo company's API.
    fn url(&self, path: &str) -> String {
        self.s.url(&c(DEMO, path))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        self.s.send(req).await.pair()
    }

    async fn call(&self, method: Method, who: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), Some(&self.tokens[who]), body).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, who, path, Some(body)).await
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, who, path, None).await
    }

    async fn patch(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, who, path, Some(body)).await
    }

    fn later(&self, hours: i64) -> String {
        (self.s.now() + SignedDuration::from_hours(hours)).to_string()
    }

    /// A task from `creator` to `assignee`, due in a day; returns its JSON.
    async fn task(&self, creator: &str, assignee: &str, title: &str) -> Value {
        let body = json!({"title": title, "assignee_id": self.ids[assignee], "deadline": self.later(24), "points": 5});
        let (s, v) = self.post(creator, "/tasks", body).await;
        assert_eq!(s, StatusCode::CREATED, "{creator} creates a task for {assignee}: {v}");
        v
    }

    async fn move_to(&self, who: &str, id: u64, status: &str, comment: Option<&str>) -> (StatusCode, Value) {
        self.post(who, &format!("/tasks/{id}/status"), json!({"status": status, "comment": comment})).await
    }

    async fn notes(&self, who: &str) -> Vec<Value> {
        let (s, v) = self.get(who, "/notifications").await;
        assert_eq!(s, StatusCode::OK);
        v["items"].as_array().unwrap().clone()
    }
}

/// The stable kind of an error response.
fn kind(err: &Value) -> &str {
    err["error"]["kind"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_task_goes_from_new_to_completed_and_awards_points() {
    let mut w = world().await;
    let t = w.task("manager", "employee", "Oylik hisobot").await;
    let id = t["id"].as_u64().unwrap();
    assert_eq!(t["status"], "new");
    assert_eq!(t["creator_id"], w.ids["manager"]);
    let employee = w.get("admin", &format!("/users/{}", w.ids["employee"])).await.1;
    assert!(employee["department_id"].is_u64());
    assert_eq!(t["department_id"], employee["department_id"], "the task takes the assignee's department");

    let (s, v) = w.move_to("employee", id, "in_progress", None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("in_progress")));
    w.advance(SignedDuration::from_mins(90)).await;
    let (s, v) = w.move_to("employee", id, "pending_review", Some("Tayyor")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("pending_review")));
    assert_eq!(v["time_spent_seconds"], 90 * 60, "time in progress comes from the moves");
    let (s, v) = w.move_to("manager", id, "completed", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "completed");
    assert_eq!(v["points_awarded"], 5);

    // The history tells who moved it, when, from what to what, and why.
    let (_, full) = w.get("employee", &format!("/tasks/{id}")).await;
    let moves: Vec<(String, String)> = full["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "status")
        .map(|h| (h["to"].as_str().unwrap().to_string(), h["actor_name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        moves,
        vec![
            ("in_progress".into(), "Bekzod Aliyev".into()),
            ("pending_review".into(), "Bekzod Aliyev".into()),
            ("completed".into(), "Malika Yusupova".into())
        ]
    );
    assert!(full["history"].as_array().unwrap().iter().any(|h| h["comment"] == "Tayyor"));
    assert_eq!(full["attachments"], json!([]), "no files yet: they come with the chat");

    // The employee heard of the task; the manager of each move and, at the
    // end, that everything they handed out is done.
    let employee_notes = w.notes("employee").await;
    assert!(employee_notes.iter().any(|n| n["kind"] == "task_assigned" && n["text"].as_str().unwrap().contains("Oylik hisobot")));
    let manager_notes = w.notes("manager").await;
    assert!(manager_notes.iter().any(|n| n["kind"] == "task_status"));
    assert!(manager_notes.iter().any(|n| n["kind"] == "tasks_all_done"));
    // Nobody is told about their own move.
    assert!(!manager_notes.iter().any(|n| n["kind"] == "task_status" && n["text"].as_str().unwrap().contains("Malika")));
}

#[tokio::test]
async fn illegal_moves_are_refused_with_a_reason() {
    let w = world().await;
    let id = w.task("manager", "employee", "Kassa").await["id"].as_u64().unwrap();

    // Only the assignee starts; a reviewer cannot complete what was never submitted.
    let (s, v) = w.move_to("manager", id, "in_progress", None).await;
    assert_eq!((s, kind(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = w.move_to("manager", id, "completed", None).await;
    assert_eq!((s, kind(&v)), (StatusCode::CONFLICT, "conflict"));
    assert!(v["error"]["message"].as_str().unwrap().len() > 10);
    let (s, v) = w.move_to("employee", id, "flying", None).await;
    assert_eq!((s, kind(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));

    w.move_to("employee", id, "in_progress", None).await;
    w.move_to("employee", id, "pending_review", None).await;
    // The assignee does not approve their own work.
    let (s, _) = w.move_to("employee", id, "completed", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Sending back needs a reason.
    let (s, v) = w.move_to("manager", id, "redo", None).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("comment")));
    let (s, v) = w.move_to("manager", id, "redo", Some("Jadval yo‘q")).await;
    assert_eq!((s, v["status"].as_str(), v["redo_count"].as_u64()), (StatusCode::OK, Some("redo"), Some(1)));
    let (s, _) = w.move_to("employee", id, "in_progress", None).await;
    assert_eq!(s, StatusCode::OK, "a sent-back task is restarted");
    let (s, v) = w.move_to("manager", id, "rejected", Some("Kerak emas")).await;
    assert_eq!((s, v["status"].as_str(), v["points_awarded"].as_u64()), (StatusCode::OK, Some("rejected"), Some(0)));
    // A closed task stays closed.
    let (s, _) = w.move_to("employee", id, "in_progress", None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w.patch("manager", &format!("/tasks/{id}"), json!({"title": "New"})).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // An employee may not hand out work; bad input is a 422 naming the field.
    let body = json!({"title": "x", "assignee_id": w.ids["manager"], "deadline": w.later(5)});
    let (s, _) = w.post("employee", "/tasks", body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"title": "", "assignee_id": w.ids["employee"], "deadline": w.later(5)}), "title"),
        (json!({"title": "a", "assignee_id": w.ids["employee"], "deadline": "tomorrow"}), "deadline"),
        (json!({"title": "a", "assignee_id": w.ids["employee"], "deadline": w.later(-1)}), "deadline"),
        (json!({"title": "a", "assignee_id": 999, "deadline": w.later(5)}), "assignee_id"),
        (json!({"title": "a", "assignee_id": w.ids["employee"], "deadline": w.later(5), "points": 5000}), "points"),
    ] {
        let (s, v) = w.post("manager", "/tasks", body).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
}

#[tokio::test]
async fn a_manager_assigning_outside_the_department_needs_a_director() {
    let w = world().await;
    let t = w.task("manager", "operator", "Navbat tizimi").await;
    let id = t["id"].as_u64().unwrap();
    assert_eq!(t["status"], "awaiting_approval");
    assert!(w.notes("director").await.iter().any(|n| n["kind"] == "task_approval" && n["task_id"] == id));
    assert!(w.notes("operator").await.is_empty(), "the assignee hears nothing before approval");

    let (s, _) = w.move_to("operator", id, "in_progress", None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w.post("manager", &format!("/tasks/{id}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w.post("director", &format!("/tasks/{id}/approve"), json!({"comment": "Ok"})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("new")));
    assert!(w.notes("operator").await.iter().any(|n| n["kind"] == "task_assigned" && n["task_id"] == id));
    let (s, _) = w.move_to("operator", id, "in_progress", None).await;
    assert_eq!(s, StatusCode::OK);

    let id2 = w.task("manager", "operator", "Boshqa").await["id"].as_u64().unwrap();
    let (s, v) = w.post("director", &format!("/tasks/{id2}/decline"), json!({"comment": "Yo‘q"})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("declined")));
    let (s, _) = w.post("director", &format!("/tasks/{id2}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a declined task is closed");

    // A director assigns anywhere directly, and a manager may not reassign across.
    let t3 = w.task("director", "operator", "To‘g‘ridan").await;
    assert_eq!(t3["status"], "new");
    let mine = w.task("manager", "employee", "Ichki").await["id"].as_u64().unwrap();
    let (s, v) = w.patch("manager", &format!("/tasks/{mine}"), json!({"assignee_id": w.ids["operator"]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

#[tokio::test]
async fn each_role_sees_what_it_should() {
    let w = world().await;
    let a = w.task("manager", "employee", "A").await["id"].as_u64().unwrap();
    let b = w.task("director", "operator", "B").await["id"].as_u64().unwrap();
    let c = w.task("director", "manager", "C").await["id"].as_u64().unwrap();
    let ids = |v: &Value| -> Vec<u64> { v["items"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect() };

    assert_eq!(ids(&w.get("director", "/tasks").await.1), vec![c, b, a]);
    assert_eq!(ids(&w.get("owner", "/tasks").await.1), vec![c, b, a]);
    assert_eq!(ids(&w.get("manager", "/tasks").await.1), vec![c, a], "own and the department's");
    assert_eq!(ids(&w.get("employee", "/tasks").await.1), vec![a]);
    assert_eq!(ids(&w.get("operator", "/tasks").await.1), vec![b]);
    assert_eq!(w.get("operator", &format!("/tasks/{a}")).await.0, StatusCode::NOT_FOUND, "another's task does not exist for them");
    assert_eq!(w.get("employee", &format!("/tasks/{a}")).await.0, StatusCode::OK);

    // Filters and pages.
    let f = w.get("director", &format!("/tasks?assignee_id={}", w.ids["operator"])).await.1;
    assert_eq!(ids(&f), vec![b]);
    w.move_to("employee", a, "in_progress", None).await;
    assert_eq!(ids(&w.get("director", "/tasks?status=in_progress").await.1), vec![a]);
    let p1 = w.get("director", "/tasks?limit=2").await.1;
    assert_eq!(ids(&p1), vec![c, b]);
    let next = p1["next_cursor"].as_u64().unwrap();
    let p2 = w.get("director", &format!("/tasks?limit=2&cursor={next}")).await.1;
    assert_eq!((ids(&p2), p2["next_cursor"].clone()), (vec![a], Value::Null));
    let (s, v) = w.get("director", "/tasks?status=nonsense").await;
    assert_eq!((s, kind(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));

    // The calendar shows deadlines in range, to those who may see them.
    let from = w.later(0);
    let to = w.later(48);
    let cal = w.send(w.s.web.get(w.url("/calendar")).query(&[("from", &from), ("to", &to)]).bearer_auth(&w.tokens["employee"])).await;
    assert_eq!(cal.0, StatusCode::OK);
    assert_eq!(cal.1.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_overdue_job_marks_late_tasks_once_and_they_can_still_be_finished() {
    let mut w = world().await;
    let body = json!({"title": "Tez", "assignee_id": w.ids["employee"], "deadline": w.later(1), "points": 3});
    let id = w.post("manager", "/tasks", body).await.1["id"].as_u64().unwrap();
    let on_time = w.task("manager", "employee", "Vaqtida").await["id"].as_u64().unwrap();
    w.move_to("employee", id, "in_progress", None).await;

    let state = w.s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 0, "nothing is late yet");
    w.advance(SignedDuration::from_hours(2)).await;
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1);
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 0, "a late task is marked once");
    let t = w.get("employee", &format!("/tasks/{id}")).await.1;
    assert_eq!(t["status"], "overdue");
    assert_eq!(w.get("employee", &format!("/tasks/{on_time}")).await.1["status"], "new");
    let overdue_notes = |v: Vec<Value>| v.iter().filter(|n| n["kind"] == "task_overdue").count();
    assert_eq!(overdue_notes(w.notes("employee").await), 1);
    assert_eq!(overdue_notes(w.notes("manager").await), 1);

    // A manager's new deadline for a late task waits for a director.
    let (s, v) = w.patch("manager", &format!("/tasks/{id}"), json!({"deadline": w.later(24)})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "overdue");
    assert!(v["deadline_request"].is_object(), "{v}");
    let (s, _) = w.post("manager", &format!("/tasks/{id}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w.post("director", &format!("/tasks/{id}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "in_progress", "with a deadline ahead, work goes on");
    assert!(v["overdue_at"].is_string(), "it stays on record as having been late");
    assert!(v["deadline_request"].is_null());

    // An employee asks for more time on a task that is not late; the creator decides.
    let (s, v) =
        w.post("employee", &format!("/tasks/{on_time}/extension"), json!({"deadline": w.later(72), "comment": "Ma’lumot kutyapman"})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["deadline_request"].is_object());
    assert!(w.notes("manager").await.iter().any(|n| n["kind"] == "task_extension"));
    let (s, v) = w.post("manager", &format!("/tasks/{on_time}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["deadline"].as_str().unwrap(), w.later(72));

    // Late work can still be finished, and stays marked late.
    w.move_to("employee", id, "pending_review", None).await;
    let (_, v) = w.move_to("manager", id, "completed", None).await;
    assert_eq!((v["status"].as_str(), v["points_awarded"].as_u64()), (Some("completed"), Some(3)));
    assert!(v["overdue_at"].is_string());
}

/// The deadline is the assignee's: work handed in on time is not late while
/// it waits for review (it stays in the reviewer's inbox and can be
/// accepted), nor is a task late while it waits for a director's approval
/// before work may start. Sent back after the deadline, it is late again.
#[tokio::test]
async fn waiting_for_review_or_approval_is_never_overdue() {
    let mut w = world().await;
    let body = json!({"title": "Vaqtida topshirildi", "assignee_id": w.ids["employee"], "deadline": w.later(1), "points": 4});
    let handed_in = w.post("manager", "/tasks", body).await.1["id"].as_u64().unwrap();
    w.move_to("employee", handed_in, "in_progress", None).await;
    let (s, _) = w.move_to("employee", handed_in, "pending_review", Some("Tayyor")).await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"title": "Bo‘limlararo", "assignee_id": w.ids["operator"], "deadline": w.later(1)});
    let (s, v) = w.post("manager", "/tasks", body).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::CREATED, Some("awaiting_approval")), "{v}");
    let awaiting = v["id"].as_u64().unwrap();
    let body = json!({"title": "Kechikdi", "assignee_id": w.ids["employee"], "deadline": w.later(1)});
    let late = w.post("manager", "/tasks", body).await.1["id"].as_u64().unwrap();

    let state = w.s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    w.advance(SignedDuration::from_hours(3)).await;
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1, "only the task still on the assignee's clock");
    assert_eq!(w.get("manager", &format!("/tasks/{late}")).await.1["status"], "overdue");
    let t = w.get("manager", &format!("/tasks/{handed_in}")).await.1;
    assert_eq!((t["status"].as_str(), t["overdue_at"].is_null()), (Some("pending_review"), true), "{t}");
    let t = w.get("director", &format!("/tasks/{awaiting}")).await.1;
    assert_eq!((t["status"].as_str(), t["overdue_at"].is_null()), (Some("awaiting_approval"), true), "{t}");
    let (s, v) = w.get("manager", "/me").await;
    assert_eq!((s, &v["inbox"]["review"]), (StatusCode::OK, &json!(1)), "still in the reviewer's inbox");
    assert_eq!(w.get("director", "/me").await.1["inbox"]["approval"], 1, "still in the director's inbox");
    assert!(!w.notes("employee").await.iter().any(|n| n["kind"] == "task_overdue" && n["task_id"] == handed_in));

    // Reviewed late, it can still be sent back: then it is the assignee's
    // again, its deadline gone, and the next run marks it late.
    let (s, v) = w.move_to("manager", handed_in, "redo", Some("Jadval yetishmaydi")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("redo")), "{v}");
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1);
    assert_eq!(w.get("manager", &format!("/tasks/{handed_in}")).await.1["status"], "overdue");
    // And handed in again, it is accepted without waiting on anyone.
    w.move_to("employee", handed_in, "in_progress", None).await;
    w.move_to("employee", handed_in, "pending_review", None).await;
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 0, "handed in: not late again");
    let (s, v) = w.move_to("manager", handed_in, "completed", None).await;
    assert_eq!((s, v["status"].as_str(), v["points_awarded"].as_u64()), (StatusCode::OK, Some("completed"), Some(4)), "{v}");
    // The director approves after the deadline: work may start, and it is late.
    let (s, _) = w.post("director", &format!("/tasks/{awaiting}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1);
    assert_eq!(idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap(), vec![]);
}

#[tokio::test]
async fn a_restart_does_not_notify_twice() {
    let s = demo_at(START).await;
    let state = s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    let db = tenant.db().unwrap();
    let employee = idora::org::service::list_users(db, &idora::auth::Caller::System)
        .unwrap()
        .into_iter()
        .find(|(_, u)| u.username == "employee")
        .unwrap()
        .0;
    let who = idora::auth::Caller::System;
    let deadline = (START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(1)).to_string();
    let input = idora::tasks::service::NewTask { title: "R".into(), assignee_id: employee, deadline, ..Default::default() };
    idora::tasks::service::create(&state, &tenant, &who, input).await.unwrap();
    s.advance(SignedDuration::from_hours(3));
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1);
    drop((state, tenant));

    let s = s.restart().await;
    let state = s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 0);
    let notes = idora::notify::list(tenant.db().unwrap(), employee, false, 100).unwrap();
    assert_eq!(notes.iter().filter(|(_, n)| n.kind == "task_overdue").count(), 1);
}

#[tokio::test]
async fn a_notification_arrives_on_the_websocket() {
    let w = world().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&w.s, DEMO, &w.tokens["employee"])).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "hello");
    ws.send(tokio_tungstenite::tungstenite::Message::Text(r#"{"subscribe":["tasks"]}"#.into())).await.unwrap();

    // The employee reads Russian.
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"language": "ru"})).await;
    assert_eq!(s, StatusCode::OK);
    let id = w.task("manager", "employee", "Сверка кассы").await["id"].as_u64().unwrap();

    let ev = loop {
        let v = next_json(&mut ws).await;
        if v["kind"] == "notification" {
            break v;
        }
    };
    assert_eq!(ev["topic"], format!("user:{}", w.ids["employee"]));
    assert_eq!(ev["data"]["task_id"], id);
    assert_eq!(ev["data"]["text"], "Новая задача для вас: «Сверка кассы». Автор: Malika Yusupova.");
    assert_eq!(ev["data"]["unread"], 1);

    let (s, v) = w.post("employee", "/notifications/read", json!({"ids": [ev["data"]["id"]]})).await;
    assert_eq!((s, v["unread"].as_u64()), (StatusCode::OK, Some(0)));
}

#[tokio::test]
async fn categories_are_kept_by_admins() {
    let w = world().await;
    let (s, c) = w.post("admin", "/categories", json!({"name": "Hisobot", "color": "#1F6FEB"})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(c["color"], "#1f6feb");
    let (s, _) = w.post("admin", "/categories", json!({"name": "hisobot", "color": "#000000"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w.post("employee", "/categories", json!({"name": "X", "color": "#000000"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w.post("admin", "/categories", json!({"name": "Y", "color": "red"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("color")));
    let body = json!({"title": "Cat", "assignee_id": w.ids["employee"], "deadline": w.later(3), "category_id": c["id"]});
    let (s, t) = w.post("manager", "/tasks", body).await;
    assert_eq!((s, t["category_id"].clone()), (StatusCode::CREATED, c["id"].clone()));
    assert_eq!(w.get("employee", "/categories").await.1.as_array().unwrap().len(), 1);

    // Renamed, recoloured, then retired: the task keeps it, new tasks cannot take it.
    let path = format!("/categories/{}", c["id"]);
    let (s, v) = w.patch("admin", &path, json!({"name": "Hisobotlar", "color": "#0a7d5a"})).await;
    assert_eq!((s, v["name"].as_str(), v["color"].as_str()), (StatusCode::OK, Some("Hisobotlar"), Some("#0a7d5a")));
    assert_eq!(w.patch("employee", &path, json!({"active": false})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.patch("admin", "/categories/999", json!({"active": false})).await.0, StatusCode::NOT_FOUND);
    let (s, v) = w.patch("admin", &path, json!({"active": false})).await;
    assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(w.get("employee", &format!("/tasks/{}", t["id"])).await.1["category_id"], c["id"]);
    let body = json!({"title": "Cat2", "assignee_id": w.ids["employee"], "deadline": w.later(3), "category_id": c["id"]});
    let (s, v) = w.post("manager", "/tasks", body).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("category_id")));
}

/// Polls a search until it finds `want` ids (the index follows the store
/// within moments) and returns the response.
async fn search_until(w: &World, who: &str, query: &[(&str, &str)], want: usize) -> Value {
    // Every change made so far is in the index first (a status moved after
    // the last create is not left for a later search to meet under load).
    let tenant = w.s.state().tenants.get(DEMO).unwrap();
    w.s.state().search.get(&tenant).unwrap().flush().await;
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = w.send(w.s.web.get(w.url("/search/tasks")).query(query).bearer_auth(&w.tokens[who])).await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        last = r.1;
        if last["items"].as_array().unwrap().len() == want {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("search {query:?} as {who} never found {want}: {last}");
}

#[tokio::test]
async fn search_finds_latin_and_cyrillic_alike() {
    let w = world().await;
    // The employee's name is written in Cyrillic here, the task title in Latin.
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"full_name": "Азиз Каримов"})).await;
    assert_eq!(s, StatusCode::OK);
    let a = w.task("manager", "employee", "Oylik hisobot tayyorlash").await["id"].as_u64().unwrap();
    let b = w.task("director", "operator", "Касса сверка").await["id"].as_u64().unwrap();

    let r = search_until(&w, "director", &[("q", "ҳисобот")], 1).await;
    assert_eq!(r["items"][0]["id"], a, "Cyrillic words find a Latin title");
    assert_eq!(r["total"], 1);
    let r = search_until(&w, "director", &[("q", "kassa")], 1).await;
    assert_eq!(r["items"][0]["id"], b, "Latin words find a Cyrillic title");
    let r = search_until(&w, "director", &[("assignee", "Aziz")], 1).await;
    assert_eq!(r["items"][0]["id"], a, "a Latin name finds a Cyrillic one");
    let r = search_until(&w, "director", &[("q", "hisob")], 1).await;
    assert_eq!(r["items"][0]["id"], a, "the start of a word is enough");
    search_until(&w, "director", &[("q", "hisobot"), ("status", "completed")], 0).await;
    search_until(&w, "director", &[("q", "hisobot"), ("status", "new")], 1).await;
    let far = (w.s.now() + SignedDuration::from_hours(24 * 30)).to_string();
    search_until(&w, "director", &[("due_from", far.as_str())], 0).await;
    // The company admin searches every task (the admin search of the brief)…
    let r = search_until(&w, "admin", &[("q", "kassa")], 1).await;
    assert_eq!(r["items"][0]["id"], b);
    search_until(&w, "admin", &[("q", "hisobot")], 1).await;
    // …and an operator finds only what they may see.
    search_until(&w, "operator", &[("q", "hisobot")], 0).await;
    search_until(&w, "operator", &[("q", "kassa")], 1).await;
    // A change reaches the index.
    w.move_to("employee", a, "in_progress", None).await;
    search_until(&w, "director", &[("q", "hisobot"), ("status", "in_progress")], 1).await;
}

#[tokio::test]
async fn a_lagging_index_is_rebuilt_at_start() {
    let s = demo_at(START).await;
    let state = s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    let employee = idora::org::service::list_users(tenant.db().unwrap(), &idora::auth::Caller::System)
        .unwrap()
        .into_iter()
        .find(|(_, u)| u.username == "employee")
        .unwrap()
        .0;
    let deadline = (START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(5)).to_string();
    for title in ["Birinchi", "Ikkinchi"] {
        let input =
            idora::tasks::service::NewTask { title: title.into(), assignee_id: employee, deadline: deadline.clone(), ..Default::default() };
        idora::tasks::service::create(&state, &tenant, &idora::auth::Caller::System, input).await.unwrap();
    }
    drop((state, tenant));
    // The index is lost (a crash, a restore from an old backup).
    let s = s
        .restart_after(|data| {
            let index = data.join("tenants/demo/index");
            assert!(index.is_dir(), "the index lives at {}", index.display());
            std::fs::remove_dir_all(index).unwrap();
        })
        .await;
    let state = s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    // Opening the index returns at once; the rebuild runs behind it.
    let index = state.search.get(&tenant).unwrap();
    index.flush().await;
    let (ids, total) =
        index.search(&idora::search::SearchQuery { text: "ikkinchi".into(), ..Default::default() }, idora::search::Scope::All, 10).unwrap();
    assert_eq!((ids.len(), total), (1, 1));
    let (_, all) = index.search(&idora::search::SearchQuery::default(), idora::search::Scope::All, 10).unwrap();
    assert_eq!(all, 2);
}

#[tokio::test]
async fn a_renamed_user_is_found_by_the_new_name() {
    let w = world().await;
    let a = w.task("manager", "employee", "Ombor sanog'i").await["id"].as_u64().unwrap();
    let b = w.task("director", "employee", "Kassa hisoboti").await["id"].as_u64().unwrap();
    search_until(&w, "director", &[("assignee", "Bekzod")], 2).await;
    search_until(&w, "director", &[("assignee", "Zafar")], 0).await;

    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"full_name": "Зафар Қодиров"})).await;
    assert_eq!(s, StatusCode::OK);
    let r = search_until(&w, "director", &[("assignee", "Zafar Qodirov")], 2).await;
    let mut found: Vec<u64> = r["items"].as_array().unwrap().iter().map(|i| i["id"].as_u64().unwrap()).collect();
    found.sort_unstable();
    assert_eq!(found, vec![a.min(b), a.max(b)]);
    search_until(&w, "director", &[("assignee", "Bekzod")], 0).await;
    // The creator's name too.
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["manager"]), json!({"full_name": "Nodira Rahimova"})).await;
    assert_eq!(s, StatusCode::OK);
    let r = search_until(&w, "director", &[("creator", "nodira")], 1).await;
    assert_eq!(r["items"][0]["id"], a);
}

#[tokio::test]
async fn a_rename_the_index_missed_is_repaired_when_the_index_opens() {
    let s = demo_at(START).await;
    let state = s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    let employee = idora::org::service::list_users(tenant.db().unwrap(), &idora::auth::Caller::System)
        .unwrap()
        .into_iter()
        .find(|(_, u)| u.username == "employee")
        .unwrap()
        .0;
    let deadline = (START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(5)).to_string();
    let input = idora::tasks::service::NewTask { title: "Birinchi".into(), assignee_id: employee, deadline, ..Default::default() };
    idora::tasks::service::create(&state, &tenant, &idora::auth::Caller::System, input).await.unwrap();
    state.search.get(&tenant).unwrap().flush().await;
    // The name changes and the process dies before the index hears of it.
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            let mut users = idora::store::schema::USERS.open(tx)?;
            let mut u = users.get(employee)?.unwrap();
            u.full_name = "Jasur Toshmatov".into();
            users.insert(employee, &u)?;
            idora::search::names_changed(tx)
        })
        .await
        .unwrap();
    drop((state, tenant));
    let s = s.restart().await;
    let state = s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    let index = state.search.get(&tenant).unwrap();
    index.flush().await;
    let q = idora::search::SearchQuery { assignee: "jasur".into(), ..Default::default() };
    let (ids, _) = index.search(&q, idora::search::Scope::All, 10).unwrap();
    assert_eq!(ids.len(), 1, "the index noticed it lagged and was rebuilt");
}

#[tokio::test]
async fn the_personal_calendar_feed_parses_and_stays_private() {
    let w = world().await;
    let a = w.task("manager", "employee", "Hisobot, choraklik; yakuniy").await["id"].as_u64().unwrap();
    w.task("director", "operator", "Boshqa odamniki").await;
    let (s, feed) = w.get("employee", "/me/calendar-feed").await;
    assert_eq!(s, StatusCode::OK);
    let path = feed["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/c/demo/calendar/") && path.ends_with(".ics"), "{path}");

    // No sign-in: the secret URL is the key, as phone calendars need.
    let r = w.s.web.get(format!("{}{path}", w.s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let body = r.text().await.unwrap();
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("the feed parses");
    assert_eq!(cal.events.len(), 1, "only the employee's own task");
    let prop = |name: &str| cal.events[0].properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap();
    assert_eq!(prop("UID"), format!("task-{a}@demo.idora"));
    assert!(prop("SUMMARY").starts_with("Hisobot\\, choraklik\\; yakuniy"), "{}", prop("SUMMARY"));
    let due = w.get("employee", &format!("/tasks/{a}")).await.1["deadline"].as_str().unwrap().parse::<Timestamp>().unwrap();
    assert_eq!(prop("DTEND"), due.strftime("%Y%m%dT%H%M%SZ").to_string());

    // A guessed or altered token finds nothing.
    let forged = path.replace(".ics", "0.ics");
    assert_eq!(w.s.web.get(format!("{}{forged}", w.s.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let other = path.replacen(&format!("/{}-", w.ids["employee"]), &format!("/{}-", w.ids["operator"]), 1);
    assert_eq!(w.s.web.get(format!("{}{other}", w.s.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_role_change_is_told_to_that_user() {
    let w = world().await;
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"role": "manager", "language": "ru"})).await;
    assert_eq!(s, StatusCode::OK);
    let notes = w.notes("employee").await;
    let n = notes.iter().find(|n| n["kind"] == "role_changed").expect("a role_changed notification");
    assert_eq!(n["text"], "Ваша роль теперь: Менеджер.");
    assert!(w.notes("operator").await.is_empty(), "nobody else hears of it");
}

/// Every move by every role, on a task the manager gave the employee of
/// their own department: allowed (200), refused (403), or not even visible
/// (404).
#[tokio::test]
async fn every_move_by_every_role() {
    let w = world().await;
    let roles = ["owner", "director", "admin", "manager", "employee", "operator"];
    // (move, the state it starts from, expected status per role in `roles` order)
    let table: [(&str, &[&str], [u16; 6]); 5] = [
        ("in_progress", &[], [403, 403, 403, 403, 200, 404]),
        ("pending_review", &["in_progress"], [403, 403, 403, 403, 200, 404]),
        ("completed", &["in_progress", "pending_review"], [200, 200, 403, 200, 403, 404]),
        ("redo", &["in_progress", "pending_review"], [200, 200, 403, 200, 403, 404]),
        ("rejected", &[], [200, 200, 403, 200, 403, 404]),
    ];
    for (to, path, expected) in table {
        for (role, want) in roles.iter().zip(expected) {
            let id = w.task("manager", "employee", &format!("{to} by {role}")).await["id"].as_u64().unwrap();
            for step in path {
                assert_eq!(w.move_to("employee", id, step, None).await.0, StatusCode::OK);
            }
            let (s, v) = w.move_to(role, id, to, Some("sabab")).await;
            assert_eq!(s.as_u16(), want, "{role} moving a task to {to}: {v}");
            let now = w.get("manager", &format!("/tasks/{id}")).await.1;
            if want == 200 {
                assert_eq!(now["status"], to);
            } else {
                assert_ne!(now["status"], to, "a refused move changes nothing");
            }
        }
    }
}

#[tokio::test]
async fn admins_keep_categories_on_their_page() {
    let w = world().await;
    let page = |who: &'static str| w.s.web.get(format!("{}/c/demo/admin/categories", w.s.base)).bearer_auth(&w.tokens[who]);
    let form =
        w.s.web
            .post(format!("{}/c/demo/admin/categories", w.s.base))
            .bearer_auth(&w.tokens["admin"])
            .form(&[("name", "Kredit hujjatlari"), ("color", "#0a7d5a")]);
    let r = form.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.url().as_str().ends_with("/c/demo/admin/categories?done=created"), "redirected back: {}", r.url());
    let html = page("admin").header("accept-language", "ru").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Kredit hujjatlari") && html.contains("#0a7d5a"), "the new category is listed");
    // A name taken twice is shown on the form, not lost.
    let again =
        w.s.web
            .post(format!("{}/c/demo/admin/categories", w.s.base))
            .bearer_auth(&w.tokens["admin"])
            .form(&[("name", "kredit HUJJATLARI"), ("color", "#000000")]);
    let r = again.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("kredit HUJJATLARI") && html.contains("role=\"alert\""));
    assert_eq!(page("employee").send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

/// The task states the offered-equals-accepted walk starts from, and how a
/// fresh task gets there (manager → employee unless the state needs
/// otherwise).
const SETUPS: [&str; 11] = [
    "new",
    "new_with_deadline_request",
    "awaiting_approval",
    "in_progress",
    "pending_review",
    "redo",
    "completed",
    "rejected",
    "declined",
    "overdue",
    "overdue_working",
];

/// One API action and the moves of `allowed_moves` that it makes: the
/// approve/decline endpoints decide whatever waits (a task across
/// departments, or a requested deadline); the extension endpoint sets or
/// asks for a deadline.
const ACTIONS: [(&str, &[&str]); 10] = [
    ("start", &["start"]),
    ("submit", &["submit"]),
    ("complete", &["complete"]),
    ("redo", &["redo"]),
    ("reject", &["reject"]),
    ("approve", &["approve", "approve_deadline"]),
    ("decline", &["decline", "decline_deadline"]),
    ("extension", &["set_deadline", "request_deadline"]),
    ("edit", &["edit"]),
    ("delete", &["delete"]),
];

impl World {
    /// `n` fresh tasks in the state `setup`.
    async fn tasks_in(&mut self, setup: &str, n: usize) -> Vec<u64> {
        let across = matches!(setup, "awaiting_approval" | "declined");
        let assignee = if across { "operator" } else { "employee" };
        let late = setup.starts_with("overdue");
        let mut ids = Vec::new();
        for i in 0..n {
            let deadline = self.later(if late { 1 } else { 24 });
            let body = json!({"title": format!("{setup} {i}"), "assignee_id": self.ids[assignee], "deadline": deadline, "points": 5});
            let (s, v) = self.post("manager", "/tasks", body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let id = v["id"].as_u64().unwrap();
            let steps: &[(&str, &str)] = match setup {
                "in_progress" | "overdue_working" => &[("employee", "in_progress")],
                "pending_review" => &[("employee", "in_progress"), ("employee", "pending_review")],
                "redo" => &[("employee", "in_progress"), ("employee", "pending_review"), ("manager", "redo")],
                "completed" => &[("employee", "in_progress"), ("employee", "pending_review"), ("manager", "completed")],
                "rejected" => &[("manager", "rejected")],
                _ => &[],
            };
            for (who, to) in steps {
                let (s, v) = self.move_to(who, id, to, Some("sabab")).await;
                assert_eq!(s, StatusCode::OK, "{who} → {to}: {v}");
            }
            if setup == "declined" {
                assert_eq!(self.post("director", &format!("/tasks/{id}/decline"), json!({})).await.0, StatusCode::OK);
            }
            if setup == "new_with_deadline_request" {
                let (s, v) = self.post("employee", &format!("/tasks/{id}/extension"), json!({"deadline": self.later(48)})).await;
                assert!(v["deadline_request"].is_object(), "{s} {v}");
            }
            ids.push(id);
        }
        if late {
            self.advance(SignedDuration::from_hours(2)).await;
            let state = self.s.state().clone();
            let tenant = state.tenants.get("demo").unwrap();
            idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap();
        }
        for id in &ids {
            let want = setup.split("_with").next().unwrap().trim_end_matches("_working");
            assert_eq!(self.get("manager", &format!("/tasks/{id}")).await.1["status"], want, "{setup}");
        }
        ids
    }

    async fn act(&self, who: &str, id: u64, action: &str) -> (StatusCode, Value) {
        let status = |to: &'static str| json!({"status": to, "comment": "sabab"});
        let path = format!("/tasks/{id}");
        match action {
            "start" => self.post(who, &format!("{path}/status"), status("in_progress")).await,
            "submit" => self.post(who, &format!("{path}/status"), status("pending_review")).await,
            "complete" => self.post(who, &format!("{path}/status"), status("completed")).await,
            "redo" => self.post(who, &format!("{path}/status"), status("redo")).await,
            "reject" => self.post(who, &format!("{path}/status"), status("rejected")).await,
            "approve" | "decline" => self.post(who, &format!("{path}/{action}"), json!({})).await,
            "extension" => self.post(who, &format!("{path}/extension"), json!({"deadline": self.later(72)})).await,
            "edit" => self.patch(who, &path, json!({"title": "Yangi nom"})).await,
            "delete" => self.call(Method::DELETE, who, &path, None).await,
            _ => unreachable!(),
        }
    }
}

/// For every role and every state a task can be in, what `GET /tasks/{id}`
/// offers in `allowed_moves` is exactly what the API then accepts: an
/// offered move succeeds, any other is refused and changes nothing.
#[tokio::test]
async fn allowed_moves_are_exactly_the_accepted_moves() {
    let mut w = world().await;
    let mut offered_somewhere = std::collections::BTreeSet::new();
    for setup in SETUPS {
        let mut ids = w.tasks_in(setup, PEOPLE.len() * ACTIONS.len()).await.into_iter();
        for who in PEOPLE {
            for (action, moves) in ACTIONS {
                let id = ids.next().unwrap();
                let (s, task) = w.get(who, &format!("/tasks/{id}")).await;
                let offered: Vec<String> = if s == StatusCode::NOT_FOUND {
                    Vec::new()
                } else {
                    assert_eq!(s, StatusCode::OK, "{task}");
                    task["allowed_moves"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
                };
                offered_somewhere.extend(offered.iter().cloned());
                let expect = moves.iter().any(|m| offered.iter().any(|o| o == m));
                let before = w.get("owner", &format!("/tasks/{id}")).await.1;
                let (s, v) = w.act(who, id, action).await;
                assert_eq!(s.is_success(), expect, "{who} on a {setup} task, {action}: offered {offered:?}, answered {s} {v}");
                if !expect {
                    assert!(s.is_client_error(), "{who} {setup} {action}: {s} {v}");
                    let after = w.get("owner", &format!("/tasks/{id}")).await.1;
                    assert_eq!(before, after, "a refused {action} changes nothing");
                }
                if action == "extension" && expect {
                    let set = offered.iter().any(|o| o == "set_deadline");
                    assert_eq!(v["deadline_request"].is_object(), !set, "{who} {setup}: set at once or asked for: {v}");
                }
            }
        }
    }
    // The walk reached every move at least once.
    for m in ACTIONS.iter().flat_map(|(_, m)| m.iter()) {
        assert!(offered_somewhere.contains(*m), "{m} was never offered");
    }
}

/// A manager whose role is given approval rights still cannot approve the
/// cross-department task they asked for: someone else approves it.
#[tokio::test]
async fn a_manager_with_approval_rights_cannot_approve_their_own_task() {
    let w = world().await;
    let roles = w.get("owner", "/roles").await.1;
    let manager = roles.as_array().unwrap().iter().find(|r| r["role"] == "manager").unwrap();
    let mut perms: Vec<String> = manager["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    perms.push("tasks.approve".into());
    let (s, v) = w.call(Method::PUT, "owner", "/roles/manager", Some(json!({"permissions": perms}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let task = w.task("manager", "operator", "Yangi kassa").await;
    assert_eq!(task["status"], "awaiting_approval", "{task}");
    let id = task["id"].as_u64().unwrap();
    let (_, seen) = w.get("manager", &format!("/tasks/{id}")).await;
    let offered: Vec<&str> = seen["allowed_moves"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
    assert!(!offered.contains(&"approve"), "{offered:?}");
    let (s, v) = w.post("manager", &format!("/tasks/{id}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(w.get("owner", &format!("/tasks/{id}")).await.1["status"], "awaiting_approval");
    // The director approves it.
    let (s, v) = w.post("director", &format!("/tasks/{id}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "new");
}

/// Who hears of a task follows what their role may do, not its name: a
/// company that lets its admins approve tasks tells them when an approval
/// waits, and stops telling them when it takes that back.
#[tokio::test]
async fn approval_notices_follow_the_permission_not_the_role_name() {
    let w = world().await;
    let roles = w.get("owner", "/roles").await.1;
    let admin = roles.as_array().unwrap().iter().find(|r| r["role"] == "admin").unwrap();
    let mut perms: Vec<String> = admin["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    let before = perms.clone();
    perms.push("tasks.approve".into());
    let (s, v) = w.call(Method::PUT, "owner", "/roles/admin", Some(json!({"permissions": perms}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let id = w.task("manager", "operator", "Yangi kassa").await["id"].as_u64().unwrap();
    let told = |notes: Vec<Value>| notes.iter().any(|n| n["kind"] == "task_approval" && n["task_id"] == id);
    assert!(told(w.notes("director").await), "the director still hears");
    assert!(told(w.notes("admin").await), "an admin who may approve hears too");
    assert!(!told(w.notes("manager").await), "the one who asked is not told of their own request");

    let (s, _) = w.call(Method::PUT, "owner", "/roles/admin", Some(json!({"permissions": before}))).await;
    assert_eq!(s, StatusCode::OK);
    let id2 = w.task("manager", "operator", "Yana bir").await["id"].as_u64().unwrap();
    let told2 = w.notes("admin").await.iter().any(|n| n["kind"] == "task_approval" && n["task_id"] == id2);
    assert!(!told2, "without the permission, no notice");
}
