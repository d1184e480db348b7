//! Queue signage as the hall sees it: ticket numbers by source or by
//! service, the operator's "Finish and call next", the display board.
//! The clock is Wednesday 10:00 in Tashkent (the demo branches are open).

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

const WEDNESDAY_10: &str = "2026-11-25T05:00:00Z";

struct World {
    s: Server,
    admin: String,
    operator: String,
    branch: u64,
    /// The demo's services by Uzbek name.
    services: HashMap<String, u64>,
}

async fn world() -> World {
    let s = demo_at(WEDNESDAY_10).await;
    let (admin, operator) = (s.demo_token("admin").await, s.demo_token("operator").await);
    let branch = s.demo_branches().await[0];
    let services = s.demo_services().await;
    World { s, admin, operator, branch, services }
}

impl World {
    async fn api(&self, method: Method, token: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), token, body).await
    }

    async fn admin(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.api(method, Some(&self.admin), path, Some(body)).await
    }

    /// A ticket for the named service at the head office: its number and source.
    async fn take(&self, service: &str, source: &str) -> (String, String) {
        let body = json!({"service_id": self.services[service], "source": source});
        let (s, v) = self.api(Method::POST, None, &format!("/branches/{}/tickets", self.branch), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (v["number"].as_str().unwrap().to_string(), v["source"].as_str().unwrap_or_default().to_string())
    }

    async fn page(&self, path: &str) -> String {
        let r = self.s.web.get(self.s.url(path)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    }
}

#[tokio::test]
async fn a_company_numbers_tickets_by_source_or_by_service() {
    let w = world().await;
    // By source, as the e-queue brief has it: the default.
    let (_, v) = w.api(Method::GET, Some(&w.admin), "/queue-settings", None).await;
    assert_eq!(v["numbering"], "by_source", "{v}");
    assert_eq!(w.take("Kassa", "kiosk").await.0, "K-001");
    assert_eq!(w.take("Kreditlar", "online").await.0, "O-001");

    // Each service gets a prefix; a bad or a shared one is refused.
    let kassa = w.services["Kassa"];
    let kredit = w.services["Kreditlar"];
    let (s, v) = w.admin(Method::PATCH, &format!("/services/{kassa}"), json!({"prefix": "a"})).await;
    assert_eq!((s, v["prefix"].as_str()), (StatusCode::OK, Some("A")), "upper-cased: {v}");
    for bad in ["1A", "ABCD", "Ж", "A-", " A"] {
        let (s, v) = w.admin(Method::PATCH, &format!("/services/{kredit}"), json!({"prefix": bad})).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("prefix")), "{bad}: {v}");
    }
    let (s, v) = w.admin(Method::PATCH, &format!("/services/{kredit}"), json!({"prefix": "a"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("prefix")), "Kassa has A: {v}");
    let (s, _) = w.admin(Method::PATCH, &format!("/services/{kredit}"), json!({"prefix": "KR"})).await;
    assert_eq!(s, StatusCode::OK);
    // Prefixes alone change nothing while the company numbers by source.
    assert_eq!(w.take("Kassa", "kiosk").await.0, "K-002");

    let (s, v) = w.admin(Method::PUT, "/queue-settings", json!({"max_recalls": 2, "numbering": "by_tens"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("numbering")));
    let (s, v) = w.admin(Method::PUT, "/queue-settings", json!({"max_recalls": 2, "numbering": "by_service"})).await;
    assert_eq!((s, v["numbering"].as_str()), (StatusCode::OK, Some("by_service")), "{v}");
    // Left out of a change, the numbering stays.
    let (_, v) = w.admin(Method::PUT, "/queue-settings", json!({"max_recalls": 3})).await;
    assert_eq!((v["max_recalls"].as_u64(), v["numbering"].as_str()), (Some(3), Some("by_service")));

    // By service: each prefix counts on its own, whatever the source; the source stays on the ticket.
    assert_eq!(w.take("Kassa", "kiosk").await, ("A-001".into(), "kiosk".into()));
    assert_eq!(w.take("Kassa", "online").await, ("A-002".into(), "online".into()));
    assert_eq!(w.take("Kreditlar", "kiosk").await.0, "KR-001");
    // A service with no prefix chosen gets a letter of its own.
    let (_, list) = w.api(Method::GET, Some(&w.admin), "/services", None).await;
    let cards = list.as_array().unwrap().iter().find(|s| s["names"]["uz"] == "Plastik kartalar").unwrap();
    let letter = cards["ticket_prefix"].as_str().unwrap().to_string();
    assert!(!letter.is_empty() && letter != "A" && letter != "KR" && cards["prefix"] == "", "{cards}");
    assert_eq!(w.take("Plastik kartalar", "kiosk").await.0, format!("{letter}-001"));
    // The queue in arrival order, as the operators see it.
    let (_, q) = w.api(Method::GET, Some(&w.operator), &format!("/branches/{}/queue", w.branch), None).await;
    let numbers: Vec<&str> = q.as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["K-001", "O-001", "K-002", "A-001", "A-002", "KR-001", &format!("{letter}-001")]);

    // The hall sees the service's number on the board once it is called.
    w.s.call_next(&w.operator).await;
    let html = w.page(&format!("/c/demo/display/{}", w.branch)).await;
    assert!(html.contains("K-001"), "the first to come is called first");

    // Back to numbering by source: the kiosk count goes on, no number is handed out twice.
    w.admin(Method::PUT, "/queue-settings", json!({"max_recalls": 3, "numbering": "by_source"})).await;
    assert_eq!(w.take("Kassa", "kiosk").await.0, "K-003");
    let (_, audit) = w.api(Method::GET, Some(&w.admin), "/audit", None).await;
    assert!(audit.to_string().contains("by_service"), "the change is audited");
}

#[tokio::test]
async fn the_operator_finishes_and_calls_the_next_in_one_press() {
    let w = world().await;
    let (first, _) = w.take("Kassa", "kiosk").await;
    let (second, _) = w.take("Kassa", "kiosk").await;
    let op = |path: String| {
        let token = w.operator.clone();
        let s = &w.s;
        async move { s.call(Method::POST, &c(DEMO, &path), Some(&token), Some(json!({}))).await }
    };
    let called = w.s.call_next(&w.operator).await;
    let id = called["ticket"]["id"].as_u64().unwrap();
    // Only a customer being served can be finished.
    let (s, v) = op(format!("/tickets/{id}/finish-and-call-next")).await;
    assert_eq!(s, StatusCode::CONFLICT, "called, not yet served: {v}");
    op(format!("/tickets/{id}/start")).await;

    // One press: the customer is done and the next one is on the way.
    let (s, v) = op(format!("/tickets/{id}/finish-and-call-next")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["finished"]["number"].as_str(), v["finished"]["status"].as_str()), (Some(first.as_str()), Some("done")));
    assert_eq!((v["called"]["ticket"]["number"].as_str(), v["called"]["ticket"]["window"].as_u64()), (Some(second.as_str()), Some(1)));
    let next = v["called"]["ticket"]["id"].as_u64().unwrap();
    // Pressed again on the old ticket (a second tab): refused, nobody is called twice.
    let (s, _) = op(format!("/tickets/{id}/finish-and-call-next")).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // On the page: the button is there while serving, and the notice says both.
    let b = w.s.browser(DEMO, "operator", idora::demo::PASSWORD).await;
    let page = b.post(&format!("operator/tickets/{next}/start"), &[]).await;
    let label = idora::i18n::t(idora::i18n::Lang::Uz, "operator.act.finish_next");
    assert!(page.html.contains(label), "the one-press button");
    let (third, _) = w.take("Kassa", "kiosk").await;
    let page = b.post(&format!("operator/tickets/{next}/finish-next"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(&format!("{second} xizmat ko‘rsatildi. {third} chaqirildi.")), "{}", page.query);
    assert_eq!(text_of(&page.html, "op-number"), Some(third.as_str()), "the next number, big");
    let (_, q) = w.api(Method::GET, Some(&w.operator), &format!("/branches/{}/queue", w.branch), None).await;
    let third_id = q[0]["id"].as_u64().unwrap();
    b.post(&format!("operator/tickets/{third_id}/start"), &[]).await;
    // Nobody left: the customer is done and the window is free.
    let page = b.post(&format!("operator/tickets/{third_id}/finish-next"), &[]).await;
    assert!(page.html.contains(&format!("{third} xizmat ko‘rsatildi. Navbatda hech kim yo‘q.")));
    assert!(page.html.contains(idora::i18n::t(idora::i18n::Lang::Uz, "operator.current.none")));
    assert!(page.html.contains("id=\"op-served\">3<"), "three served today");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_operators_finishing_and_calling_at_once_never_share_a_ticket() {
    let w = world().await;
    let kassa = w.services["Kassa"];
    // Sixteen operators at windows 2–17, each serving one customer.
    let mut ops = Vec::new();
    for i in 0..16u64 {
        let name = format!("kassir{i}");
        let body = json!({"username": name, "full_name": format!("Kassir {i}"), "role": "operator", "password": USER_PASSWORD});
        let (s, v) = w.admin(Method::POST, "/users", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let uid = v["id"].as_u64().unwrap();
        let place = json!({"branch_id": w.branch, "window": i + 2, "service_ids": [kassa]});
        let (s, v) = w.admin(Method::PUT, &format!("/operators/{uid}"), place).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let token = w.s.login(DEMO, &name, USER_PASSWORD).await.check(200).str("access_token");
        w.take("Kassa", "kiosk").await;
        let id = w.s.call_next(&token).await["ticket"]["id"].as_u64().unwrap();
        let (s, _) = w.s.call(Method::POST, &c(DEMO, &format!("/tickets/{id}/start")), Some(&token), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK);
        ops.push((token, id));
    }
    // Twenty wait; all sixteen press "Finish and call next" at once.
    for _ in 0..20 {
        w.take("Kassa", "kiosk").await;
    }
    let presses = ops.iter().map(|(token, id)| {
        let (s, token, id) = (&w.s, token.clone(), *id);
        async move { s.call(Method::POST, &c(DEMO, &format!("/tickets/{id}/finish-and-call-next")), Some(&token), Some(json!({}))).await }
    });
    let answers = futures_util::future::join_all(presses).await;
    let mut called = std::collections::HashSet::new();
    for (s, v) in &answers {
        assert_eq!(*s, StatusCode::OK, "{v}");
        assert_eq!(v["finished"]["status"], "done");
        assert!(called.insert(v["called"]["ticket"]["id"].as_u64().unwrap()), "a ticket called twice: {v}");
    }
    assert_eq!(called.len(), 16);
    let (_, q) = w.api(Method::GET, Some(&w.operator), &format!("/branches/{}/queue", w.branch), None).await;
    let q = q.as_array().unwrap();
    assert_eq!(q.iter().filter(|t| t["status"] == "called").count(), 16, "one at each window");
    assert_eq!(q.iter().filter(|t| t["status"] == "waiting").count(), 4);
}

#[tokio::test]
async fn the_board_never_says_no_calls_while_it_lists_calls() {
    use idora::i18n::{Lang, t};
    let w = world().await;
    // In Uzbek alone (the demo board adds Russian under each text).
    let board = format!("/c/demo/display/{}?lang=uz", w.branch);
    let html = w.page(&board).await;
    assert!(html.contains(&format!("<p class=\"display-idle\">{}</p>", t(Lang::Uz, "display.empty"))), "nobody called yet today");
    w.take("Kassa", "kiosk").await;
    let id = w.s.call_next(&w.operator).await["ticket"]["id"].as_u64().unwrap();
    for step in ["start", "finish"] {
        let (s, _) = w.api(Method::POST, Some(&w.operator), &format!("/tickets/{id}/{step}"), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK);
    }
    let html = w.page(&board).await;
    assert!(html.contains("data-number=\"K-001\""), "the call is listed");
    let idle = format!("<p class=\"display-idle\">{}</p>", t(Lang::Uz, "display.between"));
    assert!(html.contains(&idle), "it asks to wait, not that there were no calls: {html}");
    assert!(!html.contains(&format!("<p class=\"display-idle\">{}</p>", t(Lang::Uz, "display.empty"))));
    // The live script knows both texts.
    assert!(html.contains("&quot;between&quot;") || html.contains("\"between\""), "{html}");
}

#[tokio::test]
async fn a_branch_board_speaks_two_languages_and_branches_have_names_in_each() {
    let w = world().await;
    // The demo head office shows Uzbek and Russian; its names in each language.
    let (_, b) = w.api(Method::GET, Some(&w.admin), &format!("/branches/{}", w.branch), None).await;
    assert_eq!((b["board_langs"].clone(), b["name_ru"].as_str()), (json!(["uz", "ru"]), Some("Головной офис")), "{b}");
    w.take("Kassa", "kiosk").await;
    w.s.call_next(&w.operator).await;
    let board = format!("/c/demo/display/{}", w.branch);
    let html = w.page(&board).await;
    assert!(html.contains("Hozir chaqirilmoqda") || html.contains(idora::i18n::t(idora::i18n::Lang::Uz, "display.now_calling")));
    assert!(
        html.contains(&format!(
            "<span class=\"display-l2\" lang=\"ru\">{}</span>",
            idora::i18n::t(idora::i18n::Lang::Ru, "display.now_calling")
        )),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"display-l2\" lang=\"ru\">Окно 1</span>") || html.contains("lang=\"ru\">Окно"),
        "the window in Russian too"
    );
    assert!(html.contains("Касса"), "service names in both");
    // One language when the branch chooses so, or when the URL asks.
    let (s, v) = w.admin(Method::PATCH, &format!("/branches/{}", w.branch), json!({"board_langs": ["ru", "de"]})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("board_langs")));
    let (s, _) = w.admin(Method::PATCH, &format!("/branches/{}", w.branch), json!({"board_langs": ["en"], "name_en": "Main office"})).await;
    assert_eq!(s, StatusCode::OK);
    let html = w.page(&board).await;
    assert!(html.contains("Main office") && !html.contains("class=\"display-l2\""), "English alone, with the English name");
    let html = w.page(&format!("{board}?lang=uz")).await;
    assert!(html.contains("Bosh ofis") && !html.contains("class=\"display-l2\""));
}

#[tokio::test]
async fn an_admin_sets_a_branch_s_names_and_board_languages_on_its_form() {
    let w = world().await;
    let admin = w.s.browser(DEMO, "admin", idora::demo::PASSWORD).await;
    let form = admin.get(&format!("admin/branches/{}", w.branch)).await;
    assert!(form.html.contains("name=\"name_ru\"") && form.html.contains("value=\"Головной офис\""), "the Russian name to edit");
    assert!(form.html.contains("name=\"board_second\""), "the board's second language");
    let mut fields = vec![
        ("name", "Bosh ofis"),
        ("name_ru", "Главный офис"),
        ("name_en", "Head office"),
        ("address", "Toshkent"),
        ("board_main", "ru"),
        ("board_second", "en"),
        ("always", "1"),
        ("active", "1"),
    ];
    let saved = admin.post(&format!("admin/branches/{}", w.branch), &fields).await;
    assert_eq!(saved.status, StatusCode::OK);
    assert_eq!(saved.path, "/c/demo/admin/branches", "back to the list: {}", saved.html);
    let (_, b) = w.api(Method::GET, Some(&w.admin), &format!("/branches/{}", w.branch), None).await;
    assert_eq!(
        (b["name_ru"].as_str(), b["name_en"].as_str(), b["board_langs"].clone()),
        (Some("Главный офис"), Some("Head office"), json!(["ru", "en"]))
    );
    let html = w.page(&format!("/c/demo/display/{}", w.branch)).await;
    assert!(html.contains("Главный офис") && html.contains("lang=\"en\""), "the board in Russian, then English");
    // A language the board cannot speak is refused next to its field, and nothing is lost.
    fields[5] = ("board_second", "de");
    let refused = admin.post(&format!("admin/branches/{}", w.branch), &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("value=\"Главный офис\""), "the typed names are kept");
    // No board language chosen: the company's language alone.
    fields[4] = ("board_main", "");
    fields[5] = ("board_second", "");
    admin.post(&format!("admin/branches/{}", w.branch), &fields).await;
    let (_, b) = w.api(Method::GET, Some(&w.admin), &format!("/branches/{}", w.branch), None).await;
    assert_eq!(b["board_langs"], json!([]));
}
