//! Queue setup through HTTP: services offered at branches, operators at
//! windows.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

struct World {
    s: Server,
    tokens: HashMap<&'static str, String>,
    users: HashMap<String, u64>,
    branches: Vec<u64>,
}

/// The demo company on the system clock.
async fn world() -> World {
    signed_in(demo_on_system_clock().await).await
}

/// The demo company on a clock the test moves.
async fn world_with(clock: Arc<idora::clock::ManualClock>) -> World {
    signed_in(demo(clock).await).await
}

async fn signed_in(s: Server) -> World {
    let (users, branches) = (s.demo_users().await, s.demo_branches().await);
    let mut w = World { s, tokens: HashMap::new(), users, branches };
    for who in ["admin", "director", "operator", "employee"] {
        w.relogin(who).await;
    }
    w
}

impl World {
    /// A call to the demo company's API as `who` (or nobody).
    async fn call(&self, method: reqwest::Method, who: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), who.map(|w| self.tokens[w].as_str()), body).await
    }

    /// Signs in (again: access tokens live 15 minutes of the test clock).
    async fn relogin(&mut self, who: &'static str) {
        self.tokens.insert(who, self.s.demo_token(who).await);
    }

    /// A public tracking call: `/t/{token}/…` at the root.
    async fn public(&self, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
        let body = (method == reqwest::Method::POST).then(|| json!({}));
        self.s.call(method, path, None, body).await
    }
}

#[tokio::test]
async fn services_are_offered_at_chosen_branches() {
    let w = world().await;
    let (a, b) = (w.branches[0], w.branches[1]);
    let body = json!({"name": {"uz": "Omonatlar", "ru": "Вклады", "en": "Deposits"}, "minutes": 7, "branch_ids": [a, b, a]});
    let (s, kassa) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{kassa}");
    assert_eq!(kassa["branch_ids"], json!([a, b]), "each branch once");
    assert_eq!(kassa["target_wait_minutes"], 15, "a default service level");
    assert_eq!(kassa["name"], "Omonatlar", "the company speaks Uzbek");
    let (_, v) = w.call(reqwest::Method::GET, Some("admin"), "/services", None).await;
    assert_eq!(v.as_array().unwrap().len(), 1 + idora::demo::QUEUE_SERVICES.len(), "the demo's services and this one");

    // One name for all languages is fine; bad input names its field.
    let (s, _) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kredit", "minutes": 20, "branch_ids": [a]}))).await;
    assert_eq!(s, StatusCode::CREATED);
    // Empty Russian and English names take the Uzbek one, as on the setup page.
    let body = json!({"name": {"uz": "Ipoteka", "ru": " ", "en": ""}, "minutes": 30, "branch_ids": [a]});
    let (s, v) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v["names"]["ru"].as_str(), v["names"]["en"].as_str()), (Some("Ipoteka"), Some("Ipoteka")), "{v}");
    for (body, field) in [
        (json!({"name": "", "minutes": 5}), "name"),
        (json!({"name": "X", "minutes": 0}), "minutes"),
        (json!({"name": "X", "minutes": 5, "target_wait_minutes": 1000}), "target_wait_minutes"),
        (json!({"name": "X", "minutes": 5, "branch_ids": [999]}), "branch_ids"),
    ] {
        let (s, v) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(body)).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
    let (s, _) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "kassa", "minutes": 5}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w.call(reqwest::Method::POST, Some("employee"), "/services", Some(json!({"name": "Y", "minutes": 5}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let id = kassa["id"].as_u64().unwrap();
    let (s, v) =
        w.call(reqwest::Method::PATCH, Some("director"), &format!("/services/{id}"), Some(json!({"minutes": 9, "branch_ids": [b]}))).await;
    assert_eq!((s, v["minutes"].as_u64(), v["branch_ids"].clone()), (StatusCode::OK, Some(9), json!([b])));
    let (s, _) = w.call(reqwest::Method::PATCH, Some("director"), "/services/999", Some(json!({"minutes": 9}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The audit log tells who changed the service.
    let (_, audit) = w.call(reqwest::Method::GET, Some("admin"), "/audit", None).await;
    assert!(audit.to_string().contains("service.update"), "{audit}");
}

#[tokio::test]
async fn operators_sit_at_one_window_serving_services_of_their_branch() {
    let w = world().await;
    let (a, b) = (w.branches[0], w.branches[1]);
    let (_, kassa) = w
        .call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Omonatlar", "minutes": 7, "branch_ids": [a]})))
        .await;
    let (_, kredit) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kredit", "minutes": 20, "branch_ids": [b]}))).await;
    let operator = w.users["operator"];
    let path = format!("/operators/{operator}");

    let body = json!({"branch_id": a, "window": 3, "service_ids": [kassa["id"]]});
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), &path, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["window"].as_u64(), v["branch_id"].as_u64()), (Some(3), Some(a)));
    let (s, list) = w.call(reqwest::Method::GET, Some("operator"), "/operators", None).await;
    assert_eq!((s, list.as_array().unwrap().len()), (StatusCode::OK, 1));

    // A service the branch does not offer, a bad window, a non-operator.
    let (s, v) =
        w.call(reqwest::Method::PUT, Some("admin"), &path, Some(json!({"branch_id": a, "window": 3, "service_ids": [kredit["id"]]}))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service_ids")));
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), &path, Some(json!({"branch_id": a, "window": 0, "service_ids": []}))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("window")));
    let employee = w.users["employee"];
    let (s, v) = w
        .call(
            reqwest::Method::PUT,
            Some("admin"),
            &format!("/operators/{employee}"),
            Some(json!({"branch_id": a, "window": 4, "service_ids": []})),
        )
        .await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("user_id")));

    // One window, one operator: a second operator cannot take window 3.
    let (s, second) = w
        .call(
            reqwest::Method::POST,
            Some("admin"),
            "/users",
            Some(json!({"username": "kassir2", "role": "operator", "password": "long-pass-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let second = second["id"].as_u64().unwrap();
    let (s, v) = w
        .call(
            reqwest::Method::PUT,
            Some("admin"),
            &format!("/operators/{second}"),
            Some(json!({"branch_id": a, "window": 3, "service_ids": []})),
        )
        .await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (s, _) = w
        .call(
            reqwest::Method::PUT,
            Some("admin"),
            &format!("/operators/{second}"),
            Some(json!({"branch_id": b, "window": 3, "service_ids": [kredit["id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "window 3 of another branch is free");
    let (s, _) = w.call(reqwest::Method::PUT, Some("operator"), &path, Some(json!({"branch_id": a, "window": 5, "service_ids": []}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "operators do not place themselves");
    let (s, _) = w.call(reqwest::Method::GET, Some("employee"), "/operators", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Kassa at both branches, the first branch open around the clock.
async fn kassa(w: &World) -> (u64, u64) {
    let (a, b) = (w.branches[0], w.branches[1]);
    let (s, _) = w.call(reqwest::Method::PATCH, Some("admin"), &format!("/branches/{a}"), Some(json!({"hours": null}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = w
        .call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Omonatlar", "minutes": 6, "branch_ids": [a, b]})))
        .await;
    (a, v["id"].as_u64().unwrap())
}

async fn take(w: &World, who: Option<&str>, branch: u64, body: Value) -> (StatusCode, Value) {
    w.call(reqwest::Method::POST, who, &format!("/branches/{branch}/tickets"), Some(body)).await
}

#[tokio::test]
async fn tickets_are_numbered_per_source_and_branch() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    let (s, t1) = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t1}");
    assert_eq!((t1["number"].as_str(), t1["status"].as_str(), t1["people_ahead"].as_u64()), (Some("K-001"), Some("waiting"), Some(0)));
    assert!(t1["tracking_url"].as_str().unwrap().starts_with("/t/") && t1["tracking_url"].as_str().unwrap().len() > 30);
    let (_, t2) = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk", "phone": "90 123 45 67", "priority": "elderly"})).await;
    assert_eq!((t2["number"].as_str(), t2["people_ahead"].as_u64()), (Some("K-002"), Some(0)), "the elderly go first: {t2}");
    let (_, o1) = take(&w, None, a, json!({"service_id": kassa, "source": "online"})).await;
    assert_eq!(o1["number"], "O-001", "each source counts on its own");
    assert_eq!(o1["people_ahead"], 2);
    assert!(o1["estimate_minutes"]["high"].as_u64().unwrap() >= o1["estimate_minutes"]["low"].as_u64().unwrap());
    assert!(o1["estimate_minutes"]["low"].as_u64().unwrap() >= 9, "two ahead at 6 minutes: {}", o1["estimate_minutes"]);
    let (s, w1) = take(&w, Some("operator"), a, json!({"service_id": kassa, "source": "walk_in", "priority": "vip"})).await;
    assert_eq!((s, w1["number"].as_str(), w1["priority"].as_str()), (StatusCode::CREATED, Some("W-001"), Some("vip")));

    // Refused: walk-in without staff, VIP from the kiosk, bad phone, unknown source, a service not offered.
    let (s, _) = take(&w, None, a, json!({"service_id": kassa, "source": "walk_in"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"service_id": kassa, "source": "kiosk", "priority": "vip"}), "priority"),
        (json!({"service_id": kassa, "source": "kiosk", "phone": "12"}), "phone"),
        (json!({"service_id": kassa, "source": "fax"}), "source"),
        (json!({"service_id": 999, "source": "kiosk"}), "service_id"),
    ] {
        let (s, v) = take(&w, None, a, body).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
    let (s, _) = take(&w, None, 999, json!({"service_id": kassa, "source": "kiosk"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The queue, in arrival order, for staff only.
    let (s, q) = w.call(reqwest::Method::GET, Some("operator"), &format!("/branches/{a}/queue"), None).await;
    assert_eq!(s, StatusCode::OK);
    let numbers: Vec<&str> = q.as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["K-001", "K-002", "O-001", "W-001"]);
    let (s, _) = w.call(reqwest::Method::GET, Some("employee"), &format!("/branches/{a}/queue"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_kiosk_tickets_at_once_are_all_distinct_and_stored() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    let mut handles = Vec::new();
    for _ in 0..50 {
        let (http, url) = (w.s.web.clone(), format!("{}/c/demo/api/v1/branches/{a}/tickets", w.s.base));
        handles.push(tokio::spawn(async move {
            let r = http.post(url).json(&json!({"service_id": kassa, "source": "kiosk"})).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_string()
        }));
    }
    let mut numbers = Vec::new();
    for h in handles {
        numbers.push(h.await.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|i| format!("K-{i:03}")).collect();
    assert_eq!(numbers, expected, "50 distinct numbers, none skipped");
    let (_, q) = w.call(reqwest::Method::GET, Some("operator"), &format!("/branches/{a}/queue"), None).await;
    assert_eq!(q.as_array().unwrap().len(), 50, "every ticket is stored");
}

#[tokio::test]
async fn closed_branches_and_closed_companies_give_no_tickets() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    // Closed every day of the week.
    let closed = json!({"hours": {"mon": null, "tue": null, "wed": null, "thu": null, "fri": null, "sat": null, "sun": null}});
    let (s, v) = w.call(reqwest::Method::PATCH, Some("admin"), &format!("/branches/{a}"), Some(closed)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    assert_eq!(v["error"]["message"], "Filial hozir yopiq.");
    // A deactivated company takes no tickets at all.
    let (s, _) = w.call(reqwest::Method::PATCH, Some("admin"), &format!("/branches/{a}"), Some(json!({"hours": null}))).await;
    assert_eq!(s, StatusCode::OK);
    let state = w.s.state().clone();
    idora::tenancy::service::update_company(
        &state,
        &idora::auth::Caller::System,
        "demo",
        idora::tenancy::service::CompanyPatch { status: Some(idora::store::schema::CompanyStatus::Inactive), ..Default::default() },
    )
    .await
    .unwrap();
    let (s, v) = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::FORBIDDEN, Some("company_inactive")));
}

#[tokio::test]
async fn the_count_starts_again_at_midnight_in_the_companys_time_zone() {
    // 23:58 in Tashkent (UTC+5) is 18:58 UTC.
    let clock = Arc::new(idora::clock::ManualClock::new("2026-11-25T18:58:00Z".parse().unwrap()));
    let w = world_with(clock.clone()).await;
    let (a, kassa) = kassa(&w).await;
    let b = w.branches[1];
    let (s, b1) = w.call(reqwest::Method::PATCH, Some("admin"), &format!("/branches/{b}"), Some(json!({"hours": null}))).await;
    assert_eq!(s, StatusCode::OK, "{b1}");
    assert_eq!(take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1["number"], "K-001");
    assert_eq!(take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1["number"], "K-002");
    assert_eq!(
        take(&w, None, b, json!({"service_id": kassa, "source": "kiosk"})).await.1["number"],
        "K-001",
        "each branch counts on its own"
    );
    // 19:01 UTC is already tomorrow in Tashkent (though still today in UTC).
    clock.advance(jiff::SignedDuration::from_mins(3));
    assert_eq!(take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1["number"], "K-001");
    let tenant = w.s.state().tenants.get("demo").unwrap();
    let db = tenant.db().unwrap();
    assert_eq!(idora::queue::tickets::counter(db, a, 20261125, 'K').unwrap(), 2);
    assert_eq!(idora::queue::tickets::counter(db, a, 20261126, 'K').unwrap(), 1);
    assert_eq!(idora::queue::tickets::count_of_day(db, a, 20261126).unwrap(), 1);
}

/// The operator placed at window 3 of the first branch, serving Kassa.
async fn at_window(w: &World, branch: u64, service: u64) {
    let body = json!({"branch_id": branch, "window": 3, "service_ids": [service]});
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), &format!("/operators/{}", w.users["operator"]), Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn op(w: &World, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    w.call(reqwest::Method::POST, Some("operator"), path, Some(body.unwrap_or(json!({})))).await
}

#[tokio::test]
async fn who_is_called_next_priority_with_aging_then_arrival() {
    let clock = Arc::new(idora::clock::ManualClock::new("2026-11-25T06:00:00Z".parse().unwrap()));
    let w = world_with(clock.clone()).await;
    let (a, kassa) = kassa(&w).await;
    let (_, kredit) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kredit", "minutes": 20, "branch_ids": [a]}))).await;
    at_window(&w, a, kassa).await;
    let (s, _) = op(&w, "/operator/call-next", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "nobody waits yet");

    // 06:00 a normal ticket; 06:05 a kredit ticket (not this window's); 06:22 a VIP.
    let n1 = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1["number"].clone();
    clock.advance(jiff::SignedDuration::from_mins(5));
    take(&w, None, a, json!({"service_id": kredit["id"], "source": "kiosk"})).await;
    clock.advance(jiff::SignedDuration::from_mins(5));
    let n2_ticket = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    let n2 = n2_ticket["number"].clone();
    let vip = take(&w, Some("operator"), a, json!({"service_id": kassa, "source": "walk_in", "priority": "vip"})).await.1;
    assert_eq!(vip["people_ahead"], 0, "the VIP is told they are next: {vip}");
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&n2_ticket))).await;
    assert_eq!(st["people_ahead"], 2, "the VIP and the earlier ticket are ahead of the second: {st}");
    let v1 = vip["number"].clone();
    // At 06:10 the VIP (bonus 20) beats the normal ticket that waited 10 min.
    let (s, c) = op(&w, "/operator/call-next", None).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["ticket"]["number"], v1);
    assert_eq!((c["reason_code"].as_str(), c["reason"].as_str()), (Some("priority:vip"), Some("Ustuvorlik: VIP")));
    assert_eq!(c["ticket"]["window"], 3);
    let vip_id = c["ticket"]["id"].as_u64().unwrap();
    let (s, v) = op(&w, "/operator/call-next", None).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "finish the current customer first");
    assert_eq!(op(&w, &format!("/tickets/{vip_id}/finish"), None).await.0, StatusCode::CONFLICT, "not started yet");
    assert_eq!(op(&w, &format!("/tickets/{vip_id}/start"), None).await.1["status"], "serving");
    assert_eq!(op(&w, &format!("/tickets/{vip_id}/finish"), None).await.1["status"], "done");

    // Aging: a VIP arriving now does not jump a ticket that has waited 25 minutes.
    clock.advance(jiff::SignedDuration::from_mins(15));
    let mut w = w;
    // Tokens live 15 minutes; the operator signs in again after the clock moves.
    w.relogin("operator").await;
    w.relogin("admin").await;
    take(&w, Some("operator"), a, json!({"service_id": kassa, "source": "walk_in", "priority": "vip"})).await;
    let (_, c) = op(&w, "/operator/call-next", None).await;
    assert_eq!(c["ticket"]["number"], n1, "waited 25 min beats a fresh VIP");
    assert_eq!(c["reason_code"], "waited:25");
    // The recall ladder: two recalls, then a no-show.
    let id = c["ticket"]["id"].as_u64().unwrap();
    assert_eq!(op(&w, &format!("/tickets/{id}/recall"), None).await.1["status"], "called");
    assert_eq!(op(&w, &format!("/tickets/{id}/recall"), None).await.1["status"], "called");
    assert_eq!(op(&w, &format!("/tickets/{id}/recall"), None).await.1["status"], "no_show");
    // Then the fresh VIP (20 + 0) against the normal ticket that waited 15: the VIP.
    let (_, c) = op(&w, "/operator/call-next", None).await;
    assert_eq!(c["ticket"]["priority"], "vip");
    let id = c["ticket"]["id"].as_u64().unwrap();
    assert_eq!(op(&w, &format!("/tickets/{id}/no-show"), None).await.1["status"], "no_show");

    // A break: no calls until back; the kredit ticket is never this window's.
    let (s, b) = op(&w, "/operator/break", Some(json!({"on": true, "reason": "Tushlik"}))).await;
    assert_eq!((s, b["on_break"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(op(&w, "/operator/call-next", None).await.0, StatusCode::CONFLICT);
    op(&w, "/operator/break", Some(json!({"on": false}))).await;
    let (_, c) = op(&w, "/operator/call-next", None).await;
    assert_eq!(c["ticket"]["number"], n2);
    let id = c["ticket"]["id"].as_u64().unwrap();
    op(&w, &format!("/tickets/{id}/start"), None).await;
    op(&w, &format!("/tickets/{id}/finish"), None).await;
    assert_eq!(op(&w, "/operator/call-next", None).await.0, StatusCode::NO_CONTENT, "only the kredit ticket is left");

    // Someone else's ticket, and someone with no window.
    let (s, _) = w.call(reqwest::Method::POST, Some("admin"), "/operator/call-next", Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

fn tracking(t: &Value) -> String {
    t["tracking_url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn operators_call_a_chosen_ticket_cancel_and_transfer_keeping_the_arrival() {
    let clock = Arc::new(idora::clock::ManualClock::new("2026-11-25T06:00:00Z".parse().unwrap()));
    let mut w = world_with(clock.clone()).await;
    let (a, kassa) = kassa(&w).await;
    let (_, kredit) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kredit", "minutes": 20, "branch_ids": [a]}))).await;
    let kredit = kredit["id"].as_u64().unwrap();
    at_window(&w, a, kassa).await;

    // 11:00 Tashkent: t1 (kassa); 11:05 k1 (kredit); 11:10 t2, t3 (kassa).
    let t1 = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    clock.advance(jiff::SignedDuration::from_mins(5));
    let k1 = take(&w, None, a, json!({"service_id": kredit, "source": "kiosk"})).await.1;
    clock.advance(jiff::SignedDuration::from_mins(5));
    let t2 = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    let t3 = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;

    // Called out of turn: t3 before t1 and t2.
    let t3_id = t3["id"].as_u64().unwrap();
    let (s, c) = op(&w, &format!("/tickets/{t3_id}/call"), None).await;
    assert_eq!((s, c["status"].as_str(), c["window"].as_u64()), (StatusCode::OK, Some("called"), Some(3)), "{c}");
    let (s, _) = op(&w, &format!("/tickets/{}/call", t2["id"]), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "one customer at a time");
    // Staff may cancel a called ticket; the customer may not cancel it any more.
    let (s, v) = w.public(reqwest::Method::POST, &format!("{}/cancel", tracking(&t3))).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{v}");
    let (s, v) = op(&w, &format!("/tickets/{t3_id}/cancel"), None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    let (s, _) = op(&w, &format!("/tickets/{t3_id}/cancel"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "cancelled once");
    // The customer cancels a waiting ticket from the tracking page.
    let (s, v) = w.public(reqwest::Method::POST, &format!("{}/cancel", tracking(&t2))).await;
    assert_eq!((s, v["status"].as_str(), v["can_cancel"].as_bool()), (StatusCode::OK, Some("cancelled"), Some(false)), "{v}");
    let (s, _) = w.call(reqwest::Method::POST, Some("employee"), &format!("/tickets/{}/cancel", t1["id"]), Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "employees do not run the queue");

    // t1 is called and sent on to kredit at 11:20: same number, its 11:00 arrival kept.
    clock.advance(jiff::SignedDuration::from_mins(10));
    w.relogin("operator").await;
    w.relogin("admin").await;
    let (_, c) = op(&w, "/operator/call-next", None).await;
    assert_eq!(c["ticket"]["number"], t1["number"]);
    let (s, v) = op(&w, &format!("/tickets/{}/transfer", t1["id"]), Some(json!({"service_id": 999}))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service_id")));
    let (s, moved) = op(&w, &format!("/tickets/{}/transfer", t1["id"]), Some(json!({"service_id": kredit}))).await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!((moved["number"].as_str(), moved["status"].as_str()), (t1["number"].as_str(), Some("waiting")));
    assert_eq!(moved["service_id"].as_u64(), Some(kredit));
    assert_eq!(moved["arrived_at"], t1["arrived_at"], "the arrival is kept");
    assert_eq!(moved["transferred_from"], t1["id"]);
    // The customer's tracking page follows the ticket to the new service.
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&t1))).await;
    assert_eq!((st["status"].as_str(), st["service_id"].as_u64(), st["people_ahead"].as_u64()), (Some("waiting"), Some(kredit), Some(0)));
    let (_, k1st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&k1))).await;
    assert_eq!(k1st["people_ahead"], 1, "t1 arrived first, so it is ahead of k1: {k1st}");

    // At a kredit window, t1 (arrived 11:00) goes before k1 (11:05).
    let body = json!({"branch_id": a, "window": 3, "service_ids": [kredit]});
    w.call(reqwest::Method::PUT, Some("admin"), &format!("/operators/{}", w.users["operator"]), Some(body)).await;
    let (_, c) = op(&w, "/operator/call-next", None).await;
    assert_eq!((c["ticket"]["number"].as_str(), c["ticket"]["id"].as_u64()), (t1["number"].as_str(), moved["id"].as_u64()));
    let id = c["ticket"]["id"].as_u64().unwrap();
    assert_eq!(op(&w, &format!("/tickets/{id}/no-show"), None).await.1["status"], "no_show");
    // A ticket of another branch cannot be called here.
    let (s, other) = take(&w, None, w.branches[1], json!({"service_id": kassa, "source": "kiosk"})).await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    let (s, v) = op(&w, &format!("/tickets/{}/call", other["id"]), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn unserved_tickets_expire_at_the_branchs_end_of_day() {
    // Wednesday 17:50 in Tashkent; the head office closes at 18:00.
    let clock = Arc::new(idora::clock::ManualClock::new("2026-11-25T12:50:00Z".parse().unwrap()));
    let w = world_with(clock.clone()).await;
    let a = w.branches[0];
    let (_, services) = w.call(reqwest::Method::GET, Some("admin"), "/services", None).await;
    let kassa = services[0]["id"].as_u64().unwrap();
    let late = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    let served = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    let called = op(&w, &format!("/tickets/{}/call", served["id"]), None).await.1;
    assert_eq!(called["status"], "called", "{called}");
    op(&w, &format!("/tickets/{}/start", served["id"]), None).await;

    let state = w.s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    let expire = || idora::queue::tickets::expire_due(&state, &tenant);
    clock.advance(jiff::SignedDuration::from_mins(9));
    assert_eq!(expire().await.unwrap(), 0, "17:59: still open");
    clock.advance(jiff::SignedDuration::from_mins(1));
    assert_eq!(expire().await.unwrap(), 1, "18:00: the waiting ticket expires");
    assert_eq!(expire().await.unwrap(), 0, "once");
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&late))).await;
    assert_eq!((st["status"].as_str(), st["can_cancel"].as_bool()), (Some("expired"), Some(false)));
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&served))).await;
    assert_eq!(st["status"], "serving", "the customer at the window is still served at closing time");
    // The next morning what was left of yesterday expires too.
    clock.advance(jiff::SignedDuration::from_hours(15));
    assert_eq!(expire().await.unwrap(), 1);
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&served))).await;
    assert_eq!(st["status"], "expired");
    let (s, _) = w.public(reqwest::Method::GET, "/t/demo-00000000000000000000000000000000/status").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_minute_tick_expires_tickets_when_their_branch_closes() {
    // Wednesday 17:50 in Tashkent; the head office closes at 18:00.
    let clock = std::sync::Arc::new(idora::clock::ManualClock::new("2026-11-25T12:50:00Z".parse().unwrap()));
    let w = world_with(clock.clone()).await;
    let state = w.s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    let a = w.branches[0];
    let (_, services) = w.call(reqwest::Method::GET, Some("admin"), "/services", None).await;
    let kassa = services[0]["id"].as_u64().unwrap();
    idora::jobs::overdue_tick(&state).await;
    let late = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    let served = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    op(&w, &format!("/tickets/{}/call", served["id"]), None).await;
    op(&w, &format!("/tickets/{}/start", served["id"]), None).await;
    let closing = "2026-11-25T13:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    assert!(tenant.due() <= closing, "taking a ticket makes the company due by closing time");
    let status = |t: &Value| {
        let path = format!("{}/status", tracking(t));
        let w = &w;
        async move { w.public(reqwest::Method::GET, &path).await.1["status"].as_str().unwrap_or_default().to_string() }
    };

    clock.advance(jiff::SignedDuration::from_mins(9));
    idora::jobs::overdue_tick(&state).await;
    assert_eq!(status(&late).await, "waiting", "17:59: still open");
    clock.advance(jiff::SignedDuration::from_mins(1));
    idora::jobs::overdue_tick(&state).await;
    assert_eq!(status(&late).await, "expired", "18:00: the waiting ticket expires");
    assert_eq!(status(&served).await, "serving", "the customer at the window is still served");
    clock.advance(jiff::SignedDuration::from_hours(15));
    idora::jobs::overdue_tick(&state).await;
    assert_eq!(status(&served).await, "expired", "the next morning what was left expires too");
}

#[tokio::test]
async fn the_wait_estimate_learns_from_real_service_times_and_phones_are_indexed() {
    let clock = Arc::new(idora::clock::ManualClock::new("2026-11-25T06:00:00Z".parse().unwrap()));
    let w = world_with(clock.clone()).await;
    let (a, kassa) = kassa(&w).await; // 6 minutes configured
    at_window(&w, a, kassa).await;
    // Three customers served in 2 minutes each.
    for _ in 0..3 {
        take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
        let id = op(&w, "/operator/call-next", None).await.1["ticket"]["id"].as_u64().unwrap();
        op(&w, &format!("/tickets/{id}/start"), None).await;
        clock.advance(jiff::SignedDuration::from_mins(2));
        assert_eq!(op(&w, &format!("/tickets/{id}/finish"), None).await.1["status"], "done");
    }
    // Now two wait ahead of a new customer: 2 × 2 min = 4 min expected;
    // quoted 4–7 min (−20 %, +25 % and a visit's margin). With the
    // configured 6 minutes it would have been 10–20.
    take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    let (_, t) = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk", "phone": "+998 90 123 45 67"})).await;
    assert_eq!(t["people_ahead"], 2);
    assert_eq!((t["estimate_minutes"]["low"].as_u64(), t["estimate_minutes"]["high"].as_u64()), (Some(4), Some(7)), "{t}");

    // The phone index across companies ("my queues" in the bot).
    let history = idora::queue::tickets::customer_history(&w.s.state().platform, "90 123 45 67", 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].slug.as_str(), history[0].number.as_str()), ("demo", t["number"].as_str().unwrap()));
    assert!(tracking(&t).ends_with(&history[0].token));
}

#[tokio::test]
async fn the_server_stops_while_display_boards_are_connected() {
    let w = world().await;
    let url = format!("{}/c/demo/display/{}/events", w.s.base, w.branches[0]);
    let mut board = w.s.web.get(url).send().await.unwrap();
    assert_eq!(board.status(), StatusCode::OK);
    let first = board.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: ready"), "{first:?}");
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), w.s.running.shutdown()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "a graceful stop must not wait for open streams: {stopped:?}");
    // The board's stream has ended; its EventSource will reconnect.
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), async { while let Ok(Some(_)) = board.chunk().await {} }).await;
    assert!(rest.is_ok(), "the stream ended");
}

#[tokio::test]
async fn the_company_chooses_how_many_recalls_come_before_a_no_show() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    at_window(&w, a, kassa).await;
    let (s, v) = w.call(reqwest::Method::GET, Some("operator"), "/queue-settings", None).await;
    assert_eq!((s, v["max_recalls"].as_u64()), (StatusCode::OK, Some(2)), "two by default");
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), "/queue-settings", Some(json!({"max_recalls": 9}))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("max_recalls")));
    let (s, _) = w.call(reqwest::Method::PUT, Some("operator"), "/queue-settings", Some(json!({"max_recalls": 1}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "operators do not set the rules");
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), "/queue-settings", Some(json!({"max_recalls": 1}))).await;
    assert_eq!((s, v["max_recalls"].as_u64()), (StatusCode::OK, Some(1)));

    take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    let id = op(&w, "/operator/call-next", None).await.1["ticket"]["id"].as_u64().unwrap();
    assert_eq!(op(&w, &format!("/tickets/{id}/recall"), None).await.1["status"], "called", "one recall");
    assert_eq!(op(&w, &format!("/tickets/{id}/recall"), None).await.1["status"], "no_show", "then a no-show");
    let (_, audit) = w.call(reqwest::Method::GET, Some("admin"), "/audit", None).await;
    assert!(audit.to_string().contains("queue.settings"), "{audit}");
}

#[tokio::test]
async fn an_operator_leaves_the_window_only_when_nobody_is_at_it() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    at_window(&w, a, kassa).await;
    let me = w.users["operator"];
    take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    let (_, c) = op(&w, "/operator/call-next", None).await;
    let number = c["ticket"]["number"].as_str().unwrap().to_string();
    let (s, v) = w.call(reqwest::Method::DELETE, Some("admin"), &format!("/operators/{me}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(&number), "the message names the customer: {v}");
    let (s, _) = w.call(reqwest::Method::DELETE, Some("operator"), &format!("/operators/{me}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    op(&w, &format!("/tickets/{}/no-show", c["ticket"]["id"]), None).await;
    let (s, _) = w.call(reqwest::Method::DELETE, Some("admin"), &format!("/operators/{me}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = w.call(reqwest::Method::GET, Some("admin"), "/operators", None).await;
    assert!(list.as_array().unwrap().iter().all(|o| o["user_id"] != me), "{list}");
    let (s, v) = op(&w, "/operator/call-next", None).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "no window, no calls: {v}");
    let (s, _) = w.call(reqwest::Method::DELETE, Some("admin"), &format!("/operators/{me}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn at_a_round_the_clock_branch_midnight_keeps_the_customer_at_the_window() {
    // 23:50 in Tashkent; the branch never closes, and closes its day at 24:00 for bookings.
    let clock = Arc::new(idora::clock::ManualClock::new("2026-11-25T18:50:00Z".parse().unwrap()));
    let w = world_with(clock.clone()).await;
    let (a, kassa) = kassa(&w).await; // hours: none (always open)
    at_window(&w, a, kassa).await;
    let waiting = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    let called = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await.1;
    assert_eq!(op(&w, &format!("/tickets/{}/call", called["id"]), None).await.1["status"], "called");
    let state = w.s.state().clone();
    let tenant = state.tenants.get("demo").unwrap();
    clock.advance(jiff::SignedDuration::from_mins(14)); // 00:04 (tokens live 15 minutes)
    assert_eq!(idora::queue::tickets::expire_due(&state, &tenant).await.unwrap(), 1, "yesterday's waiting ticket");
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&waiting))).await;
    assert_eq!(st["status"], "expired");
    let (_, st) = w.public(reqwest::Method::GET, &format!("{}/status", tracking(&called))).await;
    assert_eq!(st["status"], "called", "the customer walking to the window is not thrown out at midnight");
    assert_eq!(op(&w, &format!("/tickets/{}/start", called["id"]), None).await.1["status"], "serving");

    // Slots run up to midnight: 24:00 closing hours do not break the slot grid.
    let all_day = json!({"hours": {"mon": ["09:00", "24:00"], "tue": ["09:00", "24:00"], "wed": ["09:00", "24:00"],
        "thu": ["09:00", "24:00"], "fri": ["09:00", "24:00"], "sat": ["09:00", "24:00"], "sun": ["09:00", "24:00"]}});
    let b = w.branches[1];
    let (s, v) = w.call(reqwest::Method::PATCH, Some("admin"), &format!("/branches/{b}"), Some(all_day)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, slots) = w.call(reqwest::Method::GET, None, &format!("/branches/{b}/slots?service_id={kassa}&date=2026-11-27"), None).await;
    assert_eq!(s, StatusCode::OK, "{slots}");
    let last = slots.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["end"], "2026-11-27T19:00:00Z", "the last slot ends at midnight in Tashkent: {last}");
    let body = json!({"branch_id": b, "service_id": kassa, "start": last["start"], "name": "Ali", "phone": "+998901234567"});
    let (s, v) = w.call(reqwest::Method::POST, None, "/bookings", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    assert_eq!(s, StatusCode::CREATED, "the company still writes");
}

#[tokio::test]
async fn operators_act_at_their_own_branch_and_names_stay_unique() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    let b = w.branches[1];
    at_window(&w, a, kassa).await;
    // A waiting ticket at the other branch is not this operator's to cancel.
    w.call(reqwest::Method::PATCH, Some("admin"), &format!("/branches/{b}"), Some(json!({"hours": null}))).await;
    let (s, there) = take(&w, Some("operator"), b, json!({"service_id": kassa, "source": "walk_in"})).await;
    assert_eq!(s, StatusCode::CREATED, "{there}");
    let (s, v) = op(&w, &format!("/tickets/{}/cancel", there["id"]), None).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    let (s, _) = w.call(reqwest::Method::POST, Some("admin"), &format!("/tickets/{}/cancel", there["id"]), Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "a queue manager may");
    // Not moved to another branch while a customer is called to the window.
    take(&w, None, a, json!({"service_id": kassa, "source": "kiosk"})).await;
    let (_, c) = op(&w, "/operator/call-next", None).await;
    let body = json!({"branch_id": b, "window": 3, "service_ids": [kassa]});
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), &format!("/operators/{}", w.users["operator"]), Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(c["ticket"]["number"].as_str().unwrap()), "{v}");
    // An unknown branch has no queue.
    let (s, v) = w.call(reqwest::Method::GET, Some("operator"), "/branches/9999/queue", None).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{v}");
    // Renaming onto another active service's name, or switching a twin back on, is refused.
    let (_, services) = w.call(reqwest::Method::GET, Some("admin"), "/services", None).await;
    let first = services[0]["id"].as_u64().unwrap();
    let (s, _) = w
        .call(reqwest::Method::PATCH, Some("admin"), &format!("/services/{kassa}"), Some(json!({"name": services[0]["names"]["uz"]})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    w.call(reqwest::Method::PATCH, Some("admin"), &format!("/services/{first}"), Some(json!({"active": false}))).await;
    let (s, twin) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": services[0]["names"]["uz"], "minutes": 5}))).await;
    assert_eq!(s, StatusCode::CREATED, "{twin}");
    let (s, _) = w.call(reqwest::Method::PATCH, Some("admin"), &format!("/services/{first}"), Some(json!({"active": true}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "two active services would share a name");
}

#[tokio::test]
async fn a_stale_staff_token_is_refused_not_taken_for_the_public() {
    let w = world().await;
    let (a, kassa) = kassa(&w).await;
    let url = format!("{}/c/demo/api/v1/branches/{a}/tickets", w.s.base);
    let r = w.s.web.post(url).bearer_auth("not-a-token").json(&json!({"service_id": kassa, "source": "walk_in"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a bad token says so");
}
