//! Tasks through HTTP: the workflow by every role, approval across
//! departments, deadlines and extensions, history, visibility, the overdue
//! job with an injected clock, and notifications on a real WebSocket.

use futures_util::{SinkExt, StreamExt};
use idora::app::AppState;
use idora::clock::ManualClock;
use idora::config::Config;
use idora::server::Running;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const START: &str = "2026-11-25T06:00:00Z";

struct World {
    server: Running,
    clock: Arc<ManualClock>,
    http: Client,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, u64>,
    _dir: tempfile::TempDir,
}

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> Running {
    let config =
        Config { data_dir: dir.to_path_buf(), listen: "127.0.0.1:0".parse().unwrap(), login_per_minute: 1000, ..Config::default() };
    let state = AppState::open(config, clock).unwrap();
    idora::demo::seed(&state).await.unwrap();
    idora::server::start(state).await.unwrap()
}

/// The demo company on a real server, everyone signed in.
impl World {
    /// Moves time on; access tokens live 15 minutes, so everyone signs in again.
    async fn advance(&mut self, by: SignedDuration) {
        self.clock.advance(by);
        for who in ["owner", "director", "admin", "manager", "employee", "operator"] {
            let r = self.post_raw(None, "/auth/login", json!({"username": who, "password": "idora-demo"})).await;
            assert_eq!(r.0, StatusCode::OK, "{who} logs in again: {}", r.1);
            self.tokens.insert(who, r.1["access_token"].as_str().unwrap().to_string());
        }
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let server = open(dir.path(), clock.clone()).await;
    let http = Client::new();
    let mut w = World { server, clock, http, tokens: HashMap::new(), ids: HashMap::new(), _dir: dir };
    for who in ["owner", "director", "admin", "manager", "employee", "operator"] {
        let r = w.post_raw(None, "/auth/login", json!({"username": who, "password": "idora-demo"})).await;
        assert_eq!(r.0, StatusCode::OK, "{who} logs in: {}", r.1);
        w.tokens.insert(who, r.1["access_token"].as_str().unwrap().to_string());
    }
    let users = w.get("owner", "/users").await;
    for u in users.1.as_array().unwrap() {
        let name = u["username"].as_str().unwrap();
        let key = ["owner", "director", "admin", "manager", "employee", "operator"].into_iter().find(|k| *k == name).unwrap();
        w.ids.insert(key, u["id"].as_u64().unwrap());
    }
    w
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}/c/demo/api/v1{path}", self.server.url())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    async fn post_raw(&self, who: Option<&str>, path: &str, body: Value) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(w) = who {
            req = req.bearer_auth(&self.tokens[w]);
        }
        self.send(req).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(Some(who), path, body).await
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.tokens[who])).await
    }

    async fn patch(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.patch(self.url(path)).bearer_auth(&self.tokens[who]).json(&body)).await
    }

    fn later(&self, hours: i64) -> String {
        (self.clock.now_ts() + SignedDuration::from_hours(hours)).to_string()
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

trait Now {
    fn now_ts(&self) -> Timestamp;
}
impl Now for ManualClock {
    fn now_ts(&self) -> Timestamp {
        idora::clock::Clock::now(self)
    }
}

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
    let cal = w.send(w.http.get(w.url("/calendar")).query(&[("from", &from), ("to", &to)]).bearer_auth(&w.tokens["employee"])).await;
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

    let state = w.server.state.clone();
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

#[tokio::test]
async fn a_restart_does_not_notify_twice() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let server = open(dir.path(), clock.clone()).await;
    let state = server.state.clone();
    let tenant = state.tenants.get("demo").unwrap();
    let db = tenant.db().unwrap();
    let employee = idora::org::service::list_users(db).unwrap().into_iter().find(|(_, u)| u.username == "employee").unwrap().0;
    let who = idora::tasks::service::Who::system();
    let deadline = (START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(1)).to_string();
    let input = idora::tasks::service::NewTask { title: "R".into(), assignee_id: employee, deadline, ..Default::default() };
    idora::tasks::service::create(&state, &tenant, &who, input).await.unwrap();
    clock.advance(SignedDuration::from_hours(3));
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1);
    server.shutdown().await.unwrap();
    drop((state, tenant));

    let server = open(dir.path(), clock.clone()).await;
    let state = server.state.clone();
    let tenant = state.tenants.get("demo").unwrap();
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 0);
    let notes = idora::notify::list(tenant.db().unwrap(), employee, false, 100).unwrap();
    assert_eq!(notes.iter().filter(|(_, n)| n.kind == "task_overdue").count(), 1);
}

#[tokio::test]
async fn a_notification_arrives_on_the_websocket() {
    let w = world().await;
    let url = w.url("/live").replace("http://", "ws://");
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", w.tokens["employee"]).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello: Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(hello["kind"], "hello");
    ws.send(tokio_tungstenite::tungstenite::Message::Text(r#"{"subscribe":["tasks"]}"#.into())).await.unwrap();

    // The employee reads Russian.
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"language": "ru"})).await;
    assert_eq!(s, StatusCode::OK);
    let id = w.task("manager", "employee", "Сверка кассы").await["id"].as_u64().unwrap();

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut got = None;
    while got.is_none() {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.expect("an event within 5 s").unwrap().unwrap();
        let Ok(text) = msg.to_text() else { continue };
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if v["kind"] == "notification" {
            got = Some(v);
        }
    }
    let ev = got.unwrap();
    assert_eq!(ev["topic"], format!("user:{}", w.ids["employee"]));
    assert_eq!(ev["data"]["task_id"], id);
    assert_eq!(ev["data"]["text"], "Новая задача для вас: «Сверка кассы» от Malika Yusupova.");
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
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = w.send(w.http.get(w.url("/search/tasks")).query(query).bearer_auth(&w.tokens[who])).await;
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
    let far = (w.clock.now_ts() + SignedDuration::from_hours(24 * 30)).to_string();
    search_until(&w, "director", &[("due_from", far.as_str())], 0).await;
    // An operator finds only what they may see.
    search_until(&w, "operator", &[("q", "hisobot")], 0).await;
    search_until(&w, "operator", &[("q", "kassa")], 1).await;
    // A change reaches the index.
    w.move_to("employee", a, "in_progress", None).await;
    search_until(&w, "director", &[("q", "hisobot"), ("status", "in_progress")], 1).await;
}

#[tokio::test]
async fn a_lagging_index_is_rebuilt_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let server = open(dir.path(), clock.clone()).await;
    let state = server.state.clone();
    let tenant = state.tenants.get("demo").unwrap();
    let employee =
        idora::org::service::list_users(tenant.db().unwrap()).unwrap().into_iter().find(|(_, u)| u.username == "employee").unwrap().0;
    let deadline = (START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(5)).to_string();
    for title in ["Birinchi", "Ikkinchi"] {
        let input =
            idora::tasks::service::NewTask { title: title.into(), assignee_id: employee, deadline: deadline.clone(), ..Default::default() };
        idora::tasks::service::create(&state, &tenant, &idora::tasks::service::Who::system(), input).await.unwrap();
    }
    server.shutdown().await.unwrap();
    drop((state, tenant));
    // The index is lost (a crash, a restore from an old backup).
    std::fs::remove_dir_all(dir.path().join("tenants/demo/index")).ok();
    let server = open(dir.path(), clock).await;
    let state = server.state.clone();
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
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let server = open(dir.path(), clock.clone()).await;
    let state = server.state.clone();
    let tenant = state.tenants.get("demo").unwrap();
    let employee =
        idora::org::service::list_users(tenant.db().unwrap()).unwrap().into_iter().find(|(_, u)| u.username == "employee").unwrap().0;
    let deadline = (START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(5)).to_string();
    let input = idora::tasks::service::NewTask { title: "Birinchi".into(), assignee_id: employee, deadline, ..Default::default() };
    idora::tasks::service::create(&state, &tenant, &idora::tasks::service::Who::system(), input).await.unwrap();
    state.search.get(&tenant).unwrap().flush().await;
    // The name changes and the process dies before the index hears of it.
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            let mut users = tx.open_table(idora::store::schema::USERS).unwrap();
            let mut u = idora::store::get_record::<idora::store::schema::AccountRecord>(&users, employee)?.unwrap();
            u.full_name = "Jasur Toshmatov".into();
            users.insert(employee, idora::store::enc::<idora::store::schema::AccountRecord>(u)?.as_slice()).unwrap();
            idora::search::names_changed(tx)
        })
        .await
        .unwrap();
    server.shutdown().await.unwrap();
    drop((state, tenant));

    let server = open(dir.path(), clock).await;
    let state = server.state.clone();
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
    let r = w.http.get(format!("{}{path}", w.server.url())).send().await.unwrap();
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
    assert_eq!(w.http.get(format!("{}{forged}", w.server.url())).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let other = path.replacen(&format!("/{}-", w.ids["employee"]), &format!("/{}-", w.ids["operator"]), 1);
    assert_eq!(w.http.get(format!("{}{other}", w.server.url())).send().await.unwrap().status(), StatusCode::NOT_FOUND);
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
        ("in_progress", &[], [403, 403, 404, 403, 200, 404]),
        ("pending_review", &["in_progress"], [403, 403, 404, 403, 200, 404]),
        ("completed", &["in_progress", "pending_review"], [200, 200, 404, 200, 403, 404]),
        ("redo", &["in_progress", "pending_review"], [200, 200, 404, 200, 403, 404]),
        ("rejected", &[], [200, 200, 404, 200, 403, 404]),
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
    let page = |who: &'static str| w.http.get(format!("{}/c/demo/admin/categories", w.server.url())).bearer_auth(&w.tokens[who]);
    let form = w
        .http
        .post(format!("{}/c/demo/admin/categories", w.server.url()))
        .bearer_auth(&w.tokens["admin"])
        .form(&[("name", "Kredit hujjatlari"), ("color", "#0a7d5a")]);
    let r = form.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.url().as_str().ends_with("/c/demo/admin/categories?done=created"), "redirected back: {}", r.url());
    let html = page("admin").header("accept-language", "ru").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Kredit hujjatlari") && html.contains("#0a7d5a"), "the new category is listed");
    // A name taken twice is shown on the form, not lost.
    let again = w
        .http
        .post(format!("{}/c/demo/admin/categories", w.server.url()))
        .bearer_auth(&w.tokens["admin"])
        .form(&[("name", "kredit HUJJATLARI"), ("color", "#000000")]);
    let r = again.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("kredit HUJJATLARI") && html.contains("role=\"alert\""));
    assert_eq!(page("employee").send().await.unwrap().status(), StatusCode::FORBIDDEN);
}
