//! The staff side of the queue through a real server and signed-in browsers
//! (cookies, CSRF): the operator's page and the queue setup pages.

use crate::support::*;
use futures_util::SinkExt;
use idora::i18n::{Lang, t, tf};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio_tungstenite::tungstenite::Message;

const UZ: Lang = Lang::Uz;

struct World {
    s: Server,
    tokens: HashMap<&'static str, String>,
    users: HashMap<String, u64>,
    /// The demo's branches: the head office (open around the clock here) and the second.
    branches: Vec<u64>,
    /// The demo's services by Uzbek name.
    services: HashMap<String, u64>,
}

async fn world() -> World {
    let s = demo_on_system_clock().await;
    let mut tokens = HashMap::new();
    for who in ["admin", "operator", "employee"] {
        tokens.insert(who, s.demo_token(who).await);
    }
    let (users, branches, services) = (s.demo_users().await, s.demo_branches().await, s.demo_services().await);
    let w = World { s, tokens, users, branches, services };
    // The head office takes tickets at any hour, so that the test runs any day.
    let head = w.branches[0];
    let (s, _) = w.api(Method::PATCH, Some("admin"), &format!("/branches/{head}"), Some(json!({"hours": null}))).await;
    assert_eq!(s, StatusCode::OK);
    w
}

impl World {
    /// A call to the demo company's API as `who` (or nobody).
    async fn api(&self, method: Method, who: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), who.map(|w| self.tokens[w].as_str()), body).await
    }

    /// A kiosk ticket at the head office; returns its id and number.
    async fn kiosk(&self, service: &str) -> (u64, String) {
        let v = self.s.kiosk_ticket(self.branches[0], self.services[service]).await;
        (v["id"].as_u64().unwrap(), v["number"].as_str().unwrap().to_string())
    }

    /// A demo account's browser, signed in through the login form.
    async fn browser(&self, who: &str) -> Browser {
        self.s.browser(DEMO, who, idora::demo::PASSWORD).await
    }
}

/// The markup between `<section … id="op-queue"` and its end.
fn queue_part(html: &str) -> &str {
    let at = html.find("id=\"op-queue\"").expect("the waiting list");
    let rest = &html[at..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_operator_calls_serves_and_counts_the_day() {
    let w = world().await;
    let (id, number) = w.kiosk("Kassa").await;
    let op = w.browser("operator").await;

    let page = op.get("operator").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(&tf(UZ, "operator.window", &[("window", "1")])) && page.html.contains("Bosh ofis"), "my window and branch");
    assert!(queue_part(&page.html).contains(&number), "the waiting ticket is listed");
    assert!(queue_part(&page.html).contains(t(UZ, "operator.queue.next")), "and marked as the next one");
    assert!(page.html.contains("id=\"op-served\">0<"), "nobody served yet");
    assert!(page.html.contains(&format!("data-op-topic=\"queue:branch:{}\"", w.branches[0])), "the list listens to the branch");

    // Call next: the ticket is at my window, with why it was chosen.
    let page = op.post("operator/call-next", &[]).await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/c/demo/operator"));
    assert_eq!(text_of(&page.html, "op-number"), Some(number.as_str()), "the number, big");
    assert!(page.html.contains(&idora::queue::window::reason_text(UZ, "waited:0")), "why it was called");
    assert!(page.html.contains(t(UZ, "operator.current.called")));
    assert!(page.html.contains(&tf(UZ, "operator.act.recalls_left", &[("n", "2")])), "two recalls left");
    assert!(page.html.contains(&tf(UZ, "operator.notice.called", &[("number", &number)])));
    assert!(!queue_part(&page.html).contains(&number), "no longer waiting");
    let (_, q) = w.api(Method::GET, Some("operator"), &format!("/branches/{}/queue", w.branches[0]), None).await;
    assert_eq!((q[0]["status"].as_str(), q[0]["window"].as_u64()), (Some("called"), Some(1)), "{q}");

    // A recall uses one up; after the last one the button is off.
    let page = op.post(&format!("operator/tickets/{id}/recall"), &[]).await;
    assert!(page.html.contains(&tf(UZ, "operator.notice.recalled", &[("number", &number)])));
    assert!(page.html.contains(&tf(UZ, "operator.act.recalls_left", &[("n", "1")])), "one recall left");
    let page = op.post(&format!("operator/tickets/{id}/recall"), &[]).await;
    assert!(page.html.contains("class=\"op-recall\" type=\"submit\" disabled") && page.html.contains(t(UZ, "operator.act.recall_none")));

    // Start, then finish: served today goes up and the time is shown.
    let page = op.post(&format!("operator/tickets/{id}/start"), &[]).await;
    assert!(page.html.contains(t(UZ, "operator.current.serving")));
    assert!(page.html.contains(t(UZ, "operator.act.finish")));
    let page = op.post(&format!("operator/tickets/{id}/finish"), &[]).await;
    assert!(page.html.contains(&tf(UZ, "operator.notice.finished", &[("number", &number)])));
    assert!(page.html.contains("id=\"op-served\">1<"), "one served today");
    assert!(!page.html.contains("id=\"op-mean\">—<"), "an average time is shown");
    assert!(page.html.contains(t(UZ, "operator.current.none")), "the window is free again");

    // Nobody waits: calling says so, without an error.
    let page = op.post("operator/call-next", &[]).await;
    assert!(page.query.contains("done=empty"), "{}", page.query);
    assert!(page.html.contains(t(UZ, "operator.notice.empty")));

    // Acting on a finished ticket is refused on the page, not with a 500.
    let page = op.post(&format!("operator/tickets/{id}/start"), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("role=\"alert\"") && page.html.contains(t(UZ, "error.ticket_state")), "the reason is shown");
    let page = op.post("operator/tickets/999999/call", &[]).await;
    assert!(page.html.contains(t(UZ, "error.ticket_not_found")));
    let page = op.post(&format!("operator/tickets/{id}/dance"), &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_break_stops_calling_until_the_operator_is_back() {
    let w = world().await;
    let (_, number) = w.kiosk("Kreditlar").await;
    let op = w.browser("operator").await;

    let page = op.post("operator/break", &[("on", "1"), ("reason", "Tushlik")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(t(UZ, "operator.state.break")) && page.html.contains("Tushlik"), "the page says so");
    assert!(page.html.contains("class=\"primary op-call\" type=\"submit\" disabled"), "Call next is switched off");
    assert!(queue_part(&page.html).contains(&number), "the queue is still shown");
    assert!(queue_part(&page.html).contains("type=\"submit\" class=\"small\" disabled"), "and so is calling from it");

    // Pressed anyway (an old tab): refused with the reason.
    let page = op.post("operator/call-next", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(t(UZ, "error.on_break")));

    // The admin's list of operators shows the break too.
    let admin = w.browser("admin").await;
    let list = admin.get("admin/queue/operators").await;
    assert!(list.html.contains(t(UZ, "operator.state.break")));

    let page = op.post("operator/break", &[("on", "0")]).await;
    assert!(page.html.contains(t(UZ, "operator.notice.break_off")));
    assert!(!page.html.contains("class=\"primary op-call\" type=\"submit\" disabled"), "calling is possible again");
    let page = op.post("operator/call-next", &[]).await;
    assert_eq!(text_of(&page.html, "op-number"), Some(number.as_str()));
    // A break cannot start while someone is at the window.
    let page = op.post("operator/break", &[("on", "1"), ("reason", "")]).await;
    assert!(page.html.contains(t(UZ, "error.finish_current")));
}

#[tokio::test]
async fn a_walk_in_vip_is_listed_and_called_first() {
    let w = world().await;
    let (_, kiosk) = w.kiosk("Kassa").await;
    let op = w.browser("operator").await;
    let kassa = w.services["Kassa"].to_string();

    // A phone that is not one: the form again, with what was typed.
    let page = op.post("operator/walk-in", &[("service_id", &kassa), ("priority", "vip"), ("name", "Alisher"), ("phone", "12")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(t(UZ, "validation.phone")) && page.html.contains("value=\"Alisher\""), "{}", page.html);

    let page =
        op.post("operator/walk-in", &[("service_id", &kassa), ("priority", "vip"), ("name", "Alisher"), ("phone", "90 123 45 67")]).await;
    assert!(page.html.contains(&tf(UZ, "operator.notice.issued", &[("number", "W-001")])), "the number is told");
    let list = queue_part(&page.html);
    assert!(list.contains("W-001") && list.contains(&kiosk), "both wait");
    assert!(list.contains(t(UZ, "queue.priority.vip")) && list.contains("Alisher"), "the VIP shows as such");

    // The live fragment: the window's card and the same list, no page around them.
    let part = op.get("operator/queue").await;
    assert!(part.html.starts_with("<div") && !part.html.contains("<html"), "{}", part.html);
    assert!(part.html.contains("id=\"op-queue\"") && queue_part(&part.html).contains("W-001"));
    assert!(part.html.contains(t(UZ, "operator.call_next")) && part.html.contains("name=\"_csrf\""), "forms that still work");

    // VIP goes first, and the page tells why.
    let page = op.post("operator/call-next", &[]).await;
    assert_eq!(text_of(&page.html, "op-number"), Some("W-001"));
    assert!(page.html.contains(&idora::queue::window::reason_text(UZ, "priority:vip")));
    assert!(page.html.contains("Alisher") && page.html.contains("+998901234567"), "name and phone");

    // Sent on to another service: the ticket waits there, the window is free.
    let kredit = w.services["Kreditlar"].to_string();
    let (_, q) = w.api(Method::GET, Some("operator"), &format!("/branches/{}/queue", w.branches[0]), None).await;
    let called = q.as_array().unwrap().iter().find(|t| t["number"] == "W-001").unwrap()["id"].as_u64().unwrap();
    let page = op.post(&format!("operator/tickets/{called}/transfer"), &[("to_service", &kredit)]).await;
    assert!(page.html.contains(&tf(UZ, "operator.notice.transferred", &[("number", "W-001")])), "{}", page.query);
    assert!(queue_part(&page.html).contains("W-001"), "still waiting, for loans, which this operator serves too");

    // Calling the kiosk ticket out of turn, then cancelling it.
    let (_, q) = w.api(Method::GET, Some("operator"), &format!("/branches/{}/queue", w.branches[0]), None).await;
    let k = q.as_array().unwrap().iter().find(|t| t["number"] == kiosk.as_str()).unwrap()["id"].as_u64().unwrap();
    let page = op.post(&format!("operator/tickets/{k}/call"), &[]).await;
    assert_eq!(text_of(&page.html, "op-number"), Some(kiosk.as_str()));
    assert!(page.html.contains(&idora::queue::window::reason_text(UZ, "chosen")));
    let page = op.post(&format!("operator/tickets/{k}/cancel"), &[]).await;
    assert!(page.html.contains(&tf(UZ, "operator.notice.cancelled", &[("number", &kiosk)])));
}

#[tokio::test]
async fn only_operators_open_the_window_page_and_only_managers_the_setup() {
    let w = world().await;
    let employee = w.browser("employee").await;
    let page = employee.get("operator").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("<html"), "an error page, not JSON");
    assert_eq!(employee.get("operator/queue").await.status, StatusCode::FORBIDDEN);
    assert_eq!(employee.post("operator/call-next", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(employee.get("admin/queue/services").await.status, StatusCode::FORBIDDEN);
    assert_eq!(employee.get("admin/queue/operators").await.status, StatusCode::FORBIDDEN);
    let home = employee.get("").await;
    assert!(!home.html.contains("/c/demo/operator\""), "no link to a page they cannot open");

    let operator = w.browser("operator").await;
    let home = operator.get("").await;
    assert!(home.html.contains("href=\"/c/demo/operator\""), "operators find their window from home");
    assert_eq!(operator.get("admin/queue/services").await.status, StatusCode::FORBIDDEN);

    let admin = w.browser("admin").await;
    let home = admin.get("").await;
    let (a, b) = (w.branches[0], w.branches[1]);
    for href in [format!("/c/demo/kiosk/{a}"), format!("/c/demo/display/{a}"), format!("/c/demo/kiosk/{b}"), format!("/c/demo/display/{b}")]
    {
        assert!(home.html.contains(&format!("href=\"{href}\"")), "the dashboard links {href}");
    }
    assert!(home.html.contains("href=\"/c/demo/admin/queue/services\"") && home.html.contains("href=\"/c/demo/admin/queue/operators\""));
    assert_eq!(admin.get("operator").await.status, StatusCode::FORBIDDEN, "an admin does not sit at a window");
}

#[tokio::test]
async fn an_admin_sets_up_a_service_on_its_page() {
    let w = world().await;
    let admin = w.browser("admin").await;
    let list = admin.get("admin/queue/services").await;
    assert_eq!(list.status, StatusCode::OK);
    for (uz, _, _, _) in idora::demo::QUEUE_SERVICES {
        assert!(list.html.contains(uz), "{uz} is listed");
    }
    let new = admin.get("admin/queue/services/new").await;
    assert!(new.html.contains("name=\"branch_ids\""), "branches to tick");

    // Bad minutes: the form again, with the message and what was typed.
    let (a, b) = (w.branches[0].to_string(), w.branches[1].to_string());
    let page = admin
        .post(
            "admin/queue/services/new",
            &[("name_uz", "Omonatlar"), ("minutes", "abc"), ("target_wait_minutes", "20"), ("branch_ids", &a)],
        )
        .await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "/c/demo/admin/queue/services/new"));
    assert!(page.html.contains("role=\"alert\"") && page.html.contains("value=\"Omonatlar\""));
    assert!(page.html.contains("aria-invalid=\"true\""), "the minutes field is marked");

    let page = admin
        .post(
            "admin/queue/services/new",
            &[
                ("name_uz", "Omonatlar"),
                ("name_ru", "Вклады"),
                ("name_en", ""),
                ("minutes", "7"),
                ("target_wait_minutes", "20"),
                ("branch_ids", &a),
            ],
        )
        .await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/c/demo/admin/queue/services"));
    assert!(page.html.contains(t(UZ, "admin.notice.created")) && page.html.contains("Omonatlar"));
    let (_, all) = w.api(Method::GET, Some("admin"), "/services", None).await;
    let made = all.as_array().unwrap().iter().find(|s| s["names"]["uz"] == "Omonatlar").expect("the new service in the API").clone();
    assert_eq!(made["names"], json!({"uz": "Omonatlar", "ru": "Вклады", "en": "Omonatlar"}), "an empty name is the Uzbek one");
    assert_eq!((made["minutes"].as_u64(), made["target_wait_minutes"].as_u64()), (Some(7), Some(20)));
    assert_eq!(made["branch_ids"], json!([w.branches[0]]));
    assert_eq!(made["active"], true);

    // The same name again is a conflict, told on the form.
    let page = admin.post("admin/queue/services/new", &[("name_uz", "omonatlar"), ("minutes", "7"), ("target_wait_minutes", "20")]).await;
    assert!(page.html.contains(t(UZ, "error.name_taken")));

    // Edit: both branches, switched off.
    let id = made["id"].as_u64().unwrap();
    let edit = admin.get(&format!("admin/queue/services/{id}")).await;
    assert!(edit.html.contains("value=\"Вклады\"") && edit.html.contains("name=\"active\""));
    let page = admin
        .post(
            &format!("admin/queue/services/{id}"),
            &[
                ("name_uz", "Omonatlar"),
                ("name_ru", "Вклады"),
                ("name_en", "Deposits"),
                ("minutes", "8"),
                ("target_wait_minutes", "20"),
                ("branch_ids", &a),
                ("branch_ids", &b),
            ],
        )
        .await;
    assert!(page.html.contains(t(UZ, "admin.notice.saved")));
    let (_, all) = w.api(Method::GET, Some("admin"), "/services", None).await;
    let saved = all.as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    assert_eq!((saved["active"].as_bool(), saved["minutes"].as_u64()), (Some(false), Some(8)));
    assert_eq!(saved["branch_ids"], json!([w.branches[0], w.branches[1]]));
    assert_eq!(admin.get("admin/queue/services/99999").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_places_an_operator_at_a_window() {
    let w = world().await;
    let (s, v) = w
        .api(
            Method::POST,
            Some("admin"),
            "/users",
            Some(json!({"username": "kassir2", "full_name": "Oybek Nazarov", "role": "operator", "password": "long-pass-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_u64().unwrap();

    // Not placed yet: the operator is told to ask.
    let kassir = w.s.browser(DEMO, "kassir2", "long-pass-123").await;
    let page = kassir.get("operator").await;
    assert!(page.html.contains(t(UZ, "operator.no_window.title")), "no window yet");

    let admin = w.browser("admin").await;
    let list = admin.get("admin/queue/operators").await;
    assert!(list.html.contains("Oybek Nazarov") && list.html.contains("Nilufar Xasanova"), "both operators are listed");
    assert!(list.html.contains(t(UZ, "qadmin.operators.not_placed")));
    assert!(!list.html.contains("Bekzod Aliyev"), "an employee is not an operator");
    assert!(!list.html.contains("Aziz Karimov"), "nor is the owner, who holds every permission by rule");

    // Window 1 of the head office is taken: told on the form.
    let (a, b) = (w.branches[0].to_string(), w.branches[1].to_string());
    let kassa = w.services["Kassa"].to_string();
    let page = admin.post(&format!("admin/queue/operators/{id}"), &[("branch_id", &a), ("window", "1"), ("service_ids", &kassa)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(&tf(UZ, "error.window_taken", &[("window", "1")])), "{}", page.html);
    let page = admin.post(&format!("admin/queue/operators/{id}"), &[("branch_id", &a), ("window", "x")]).await;
    assert!(page.html.contains("aria-invalid=\"true\""), "a window that is no number is marked");

    let page = admin.post(&format!("admin/queue/operators/{id}"), &[("branch_id", &b), ("window", "2"), ("service_ids", &kassa)]).await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/c/demo/admin/queue/operators"));
    assert!(page.html.contains(t(UZ, "admin.notice.saved")) && page.html.contains("Chilonzor filiali"));
    let (_, ops) = w.api(Method::GET, Some("admin"), "/operators", None).await;
    let placed = ops.as_array().unwrap().iter().find(|o| o["user_id"] == id).expect("placed").clone();
    assert_eq!((placed["branch_id"].as_u64(), placed["window"].as_u64()), (Some(w.branches[1]), Some(2)), "{placed}");

    let page = kassir.get("operator").await;
    assert!(page.html.contains(&tf(UZ, "operator.window", &[("window", "2")])) && page.html.contains("Chilonzor filiali"));
    let edit = admin.get(&format!("admin/queue/operators/{id}")).await;
    assert!(edit.html.contains("value=\"2\""), "the form shows where they sit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_hear_their_branch_queue_live() {
    let w = world().await;
    let topic = format!("queue:branch:{}", w.branches[0]);
    let connect = |who: &str| ws_request(&w.s, DEMO, &w.tokens[who]);
    let (mut ws, _) = tokio_tungstenite::connect_async(connect("operator")).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "hello");
    ws.send(Message::Text(json!({"subscribe": [topic]}).to_string().into())).await.unwrap();
    let sub = next_json(&mut ws).await;
    assert_eq!(sub["topics"], json!([topic]), "{sub}");
    let (_, number) = w.kiosk("Kassa").await;
    let ev = next_json(&mut ws).await;
    assert_eq!((ev["kind"].as_str(), ev["data"]["number"].as_str()), (Some("ticket.issued"), Some(number.as_str())), "{ev}");

    let (mut other, _) = tokio_tungstenite::connect_async(connect("employee")).await.unwrap();
    assert_eq!(next_json(&mut other).await["kind"], "hello");
    other.send(Message::Text(json!({"subscribe": [topic]}).to_string().into())).await.unwrap();
    let sub = next_json(&mut other).await;
    assert_eq!(sub["refused"], json!([topic]), "an employee does not hear the queue");
}

#[tokio::test]
async fn an_admin_sets_the_recall_count_and_takes_an_operator_off_the_window() {
    let w = world().await;
    let admin = w.browser("admin").await;
    // The rules on the services page: a bad count keeps what was typed and says why.
    let page = admin.post("admin/queue/settings", &[("max_recalls", "9")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(&tf(UZ, "validation.max_recalls", &[("max", "5")])), "{}", page.html);
    assert!(page.html.contains("value=\"9\""), "what was typed stays");
    let page = admin.post("admin/queue/settings", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty form is answered on the form");
    assert!(page.html.contains(&tf(UZ, "validation.max_recalls", &[("max", "5")])));
    let page = admin.post("admin/queue/settings", &[("max_recalls", "3")]).await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/c/demo/admin/queue/services"));
    assert!(page.html.contains(t(UZ, "admin.notice.saved")) && page.html.contains("value=\"3\""));
    // Nobody serves the demo's services at the second branch: the list says so.
    assert!(page.html.contains(&tf(UZ, "qadmin.services.unserved", &[("branches", "Chilonzor filiali")])), "{}", page.html);
    let (_, v) = w.api(Method::GET, Some("admin"), "/queue-settings", None).await;
    assert_eq!(v["max_recalls"], 3);

    // The operator has a customer at the window: not taken off; after, taken off.
    let operator = w.users["operator"];
    let (id, number) = w.kiosk("Kassa").await;
    let (s, _) = w.api(Method::POST, Some("operator"), &format!("/tickets/{id}/call"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK);
    let page = admin.post(&format!("admin/queue/operators/{operator}/remove"), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(&tf(UZ, "error.operator_busy", &[("number", &number)])), "{}", page.html);
    w.api(Method::POST, Some("operator"), &format!("/tickets/{id}/no-show"), Some(json!({}))).await;
    let page = admin.post(&format!("admin/queue/operators/{operator}/remove"), &[]).await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/c/demo/admin/queue/operators"));
    assert!(page.html.contains(t(UZ, "qadmin.operators.not_placed")), "listed as not placed");
    let op = w.browser("operator").await;
    assert!(op.get("operator").await.html.contains(t(UZ, "operator.no_window.title")));
}
