//! The queue's public pages over HTTP, as a customer's browser sees them:
//! the kiosk, the display board and its live stream, the tracking page and
//! its live stream. The clock is Wednesday 10:00 in Tashkent unless a test
//! moves it (the demo branches open Mon–Fri 09:00–18:00).

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Wednesday 2026-11-25, 10:00 in Tashkent (UTC+5).
const WEDNESDAY_10: &str = "2026-11-25T05:00:00Z";

struct World {
    s: Server,
    operator: String,
    branches: Vec<u64>,
    /// The demo's services, in order: Kassa, Kreditlar, Plastik kartalar, Valyuta ayirboshlash.
    services: Vec<u64>,
}

async fn world() -> World {
    let s = demo_at(WEDNESDAY_10).await;
    let operator = s.demo_token("operator").await;
    let branches = s.demo_branches().await;
    let mut services: Vec<u64> = s.demo_services().await.into_values().collect();
    services.sort();
    World { s, operator, branches, services }
}

impl World {
    /// A call to the demo company's API.
    async fn api(&self, method: reqwest::Method, token: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), token, body).await
    }

    /// A kiosk ticket for the `i`-th demo service at the first branch.
    async fn take(&self, i: usize) -> Value {
        self.s.kiosk_ticket(self.branches[0], self.services[i]).await
    }

    async fn call_next(&self) -> Value {
        self.s.call_next(&self.operator).await
    }

    /// A page as a browser gets it: the status and the HTML.
    async fn page(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let mut req = self.s.web.get(self.s.url(path)).header("accept", "text/html");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn the_kiosk_offers_the_branchs_services_in_the_companys_language() {
    let w = world().await;
    let a = w.branches[0];
    w.take(0).await;
    w.take(0).await;
    w.take(1).await;
    // A kiosk's browser may say anything: the kiosk speaks the company's language.
    let (s, html) = w.page(&format!("/c/demo/kiosk/{a}"), &[("accept-language", "en-US,en;q=0.9")]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<html lang=\"uz\""), "Uzbek by default");
    assert!(html.contains("Xizmatni tanlang"), "the customer is asked to choose a service");
    for (name, ..) in idora::demo::QUEUE_SERVICES {
        assert!(html.contains(name), "{name} is offered");
    }
    assert!(html.contains("Demo Bank") && html.contains("Bosh ofis"), "whose kiosk and where");
    assert!(html.contains("Navbatda: 2 kishi"), "two wait for Kassa");
    assert!(html.contains("Navbatda: 1 kishi"), "one waits for Kreditlar");
    assert!(html.contains("Navbat yo‘q"), "nobody waits for the others");
    assert!(html.contains("Menda oldindan yozuv bor"), "the booking check-in");
    assert!(html.contains("O‘tkazib yuborish") && html.contains("Chipta olish"), "skip or take");
    assert!(html.contains("Oddiy navbat") && html.contains("Nogironligi bor") && html.contains("Keksa yoshdagi"), "priorities");
    assert!(!html.contains("VIP"), "VIP is for staff only");
    assert_eq!(attr(&html, "data-kiosk", "data-open"), "true");
    assert!(html.contains("/assets/") && html.contains("/kiosk.js") && html.contains("/queue.css"), "its script and looks");
    assert!(!html.contains("<script>") && !html.contains(" style="), "no inline script or style (CSP)");

    // The same kiosk in Russian when a visitor picks it.
    let (_, ru) = w.page(&format!("/c/demo/kiosk/{a}?lang=ru"), &[]).await;
    assert!(ru.contains("Выберите услугу") && ru.contains("Касса") && ru.contains("Обмен валюты"), "Russian");
    assert_eq!(attr(&ru, "data-kiosk", "data-default-lang"), "uz", "and back to Uzbek when idle");

    // A branch that does not exist, or a path that is no branch.
    for bad in ["999", "abc", "-1"] {
        let (s, html) = w.page(&format!("/c/demo/kiosk/{bad}"), &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert!(html.contains("<html"), "a page, not a bare error");
    }
}

#[tokio::test]
async fn the_kiosk_takes_a_ticket_the_way_its_script_does() {
    let w = world().await;
    let a = w.branches[0];
    // The browser keeps cookies like the kiosk's does.
    let kiosk = cookie_client(true);
    let html = kiosk.get(w.s.url(&format!("/c/demo/kiosk/{a}"))).send().await.unwrap().text().await.unwrap();
    let csrf = attr(&html, "data-kiosk", "data-csrf");
    assert!(csrf.len() >= 32, "the page carries the browser's CSRF token");
    let url = w.s.url(&format!("/c/demo/api/v1/branches/{a}/tickets"));
    let body = json!({"service_id": w.services[2], "source": "kiosk", "priority": "elderly", "name": "Aziza", "phone": "+998901234567"});
    let r = kiosk.post(&url).header("x-csrf-token", &csrf).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let t: Value = r.json().await.unwrap();
    assert_eq!((t["number"].as_str(), t["priority"].as_str()), (Some("K-001"), Some("elderly")));
    assert!(t["qr_svg_url"].as_str().unwrap().ends_with("/qr.svg"), "the QR the ticket prints");
    // The friendly messages map these answers: a bad phone names its field.
    let bad = json!({"service_id": w.services[2], "source": "kiosk", "phone": "12"});
    let r = kiosk.post(&url).header("x-csrf-token", &csrf).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "phone");
    // A wrong booking code at the check-in is a 404 the kiosk explains.
    let r = kiosk
        .post(w.s.url(&format!("/c/demo/api/v1/branches/{a}/check-in")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The page's texts for those answers are there, in Uzbek.
    assert!(html.contains("Bu kod bo‘yicha bugun shu filialda yozuv topilmadi"));
    assert!(html.contains("Telefon raqamini tekshiring"));
}

#[tokio::test]
async fn the_kiosk_is_closed_outside_working_hours_and_while_the_company_is_inactive() {
    let w = world().await;
    let a = w.branches[0];
    // Wednesday 20:00 in Tashkent: after hours.
    w.s.clock().set("2026-11-25T15:00:00Z".parse().unwrap());
    let (s, html) = w.page(&format!("/c/demo/kiosk/{a}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(attr(&html, "data-kiosk", "data-open"), "false");
    assert!(html.contains("Hozir yopiq"), "a calm closed state");
    assert!(html.contains("Ertaga soat 09:00-da ochiladi"), "when it opens");
    assert!(html.contains("Ish vaqti") && html.contains("09:00–18:00") && html.contains("09:00–14:00"), "the working hours");
    assert!(!html.contains("data-service="), "no services to tap");
    // Saturday 15:00, after Saturday's short hours: Sunday is a day off, so Monday.
    w.s.clock().set("2026-11-28T10:00:00Z".parse().unwrap());
    let (_, html) = w.page(&format!("/c/demo/kiosk/{a}"), &[]).await;
    assert!(html.contains("Dushanba kuni soat 09:00-da ochiladi"), "{html}");
    // Back in working hours: open.
    w.s.clock().set(WEDNESDAY_10.parse().unwrap());
    let (_, html) = w.page(&format!("/c/demo/kiosk/{a}"), &[]).await;
    assert_eq!(attr(&html, "data-kiosk", "data-open"), "true");

    // A company that is not open for business hands out no tickets.
    idora::tenancy::service::update_company(
        w.s.state(),
        &idora::auth::Caller::System,
        "demo",
        idora::tenancy::service::CompanyPatch { status: Some(idora::store::schema::CompanyStatus::Inactive), ..Default::default() },
    )
    .await
    .unwrap();
    let (s, html) = w.page(&format!("/c/demo/kiosk/{a}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(attr(&html, "data-kiosk", "data-open"), "false");
    assert!(html.contains("Hozir yopiq") && html.contains("chiptalar hozircha berilmaydi"), "{html}");
    assert!(!html.contains("data-service="));
}

#[tokio::test]
async fn an_inactive_company_shows_no_display_board() {
    let w = world().await;
    let a = w.branches[0];
    w.take(0).await;
    let (s, _) = w.page(&format!("/c/demo/display/{a}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    idora::tenancy::service::update_company(
        w.s.state(),
        &idora::auth::Caller::System,
        "demo",
        idora::tenancy::service::CompanyPatch { status: Some(idora::store::schema::CompanyStatus::Inactive), ..Default::default() },
    )
    .await
    .unwrap();
    let (s, html) = w.page(&format!("/c/demo/display/{a}"), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(!html.contains("data-display"), "no board");
    let r = w.s.web.get(w.s.url(&format!("/c/demo/display/{a}/events"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_display_board_shows_the_calls_and_streams_them_live() {
    let w = world().await;
    let a = w.branches[0];
    let first = w.take(0).await;
    let second = w.take(1).await;
    w.take(1).await;

    // Before any call: the board says so calmly.
    let (s, html) = w.page(&format!("/c/demo/display/{a}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Hozircha chaqiruvlar yo‘q"), "nobody called yet");
    assert!(html.contains("Demo Bank") && html.contains("Bosh ofis"));
    assert!(html.contains("10:00"), "the clock in Tashkent's time");
    assert!(html.contains("Chorshanba, 25.11.2026"), "and the date");

    // The live stream: subscribed before the call.
    let mut stream = w.s.web.get(w.s.url(&format!("/c/demo/display/{a}/events"))).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut buf = String::new();
    sse_until(&mut stream, &mut buf, "ready").await;

    let called = w.call_next().await;
    assert_eq!(called["ticket"]["number"], first["number"]);
    let ev = sse_until(&mut stream, &mut buf, "ticket.called").await;
    assert_eq!(ev["kind"], "ticket.called");
    assert_eq!(ev["data"]["number"], first["number"], "{ev}");
    assert_eq!(ev["data"]["window"], 1, "{ev}");
    assert_eq!(ev["data"]["status"], "called");

    // A reload shows the state: the called ticket and its window, large.
    let (_, html) = w.page(&format!("/c/demo/display/{a}"), &[]).await;
    let number = first["number"].as_str().unwrap();
    assert!(html.contains("Chaqirilmoqda"), "now calling");
    assert!(html.contains(&format!("<p class=\"display-now-number\">{number}</p>")), "the number large");
    assert!(html.contains("1-oyna"), "and its window");
    assert!(html.contains(&format!("data-number=\"{number}\"")), "in the list too");
    assert!(!html.contains(&format!("data-number=\"{}\"", second["number"].as_str().unwrap())), "not a waiting one");
    // The waiting count per service: Kreditlar has two (the demo's head office board shows Russian too).
    assert!(html.contains("<span>Kreditlar<span class=\"display-l2\" lang=\"ru\">Кредиты</span></span><b>2</b>"), "{html}");
    // The board speaks the company's language, with the words from the catalogue.
    assert_eq!(attr(&html, "data-display", "data-speech"), "uz-UZ");
    assert!(html.contains("Chipta {number}, {window}-oyna"), "what the board says");

    // Served and finished: it stays in the latest calls, dimmed, and leaves the big panel.
    let id = called["ticket"]["id"].as_u64().unwrap();
    for step in ["start", "finish"] {
        let (s, _) = w.api(reqwest::Method::POST, Some(&w.operator), &format!("/tickets/{id}/{step}"), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK);
    }
    sse_with(&mut stream, &mut buf, "\"status\":\"done\"").await;
    let (_, html) = w.page(&format!("/c/demo/display/{a}"), &[]).await;
    assert!(html.contains(&format!("class=\"done\" data-call=\"{id}\" data-number=\"{number}\"")), "{html}");
    assert!(html.contains("display-now is-empty"), "nobody is on the way to a window now: {html}");

    // An unknown branch.
    let (s, _) = w.page("/c/demo/display/999", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_tracking_page_follows_a_ticket_until_it_is_cancelled() {
    let w = world().await;
    let first = w.take(0).await;
    let mine = w.take(0).await;
    let url = mine["tracking_url"].as_str().unwrap().to_string();
    let number = mine["number"].as_str().unwrap();

    // The company speaks Uzbek; the phone says nothing: Uzbek.
    let (s, html) = w.page(&url, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("<p class=\"track-number\">{number}</p>")), "the number, big");
    assert!(html.contains("Demo Bank") && html.contains("Kassa") && html.contains("Bosh ofis"), "whose, what, where");
    assert!(html.contains("Navbatdasiz"), "the status in words");
    assert!(html.contains("Sizdan oldin") && html.contains(">1 kishi<"), "one ahead");
    assert!(html.contains("Taxminiy kutish") && html.contains("daqiqa"), "the wait");
    assert!(html.contains("Chiptani bekor qilish"), "it can be cancelled");
    assert!(!html.contains("track.status.") && !html.contains("track.note."), "no key shows");
    // The language switch, and the customer's own language.
    assert!(html.contains("/lang?set=ru&amp;next=%2Ft%2F"), "the switch comes back here");
    let (_, ru) = w.page(&url, &[("accept-language", "ru-RU,ru;q=0.9")]).await;
    assert!(ru.contains("Ваш номер") && ru.contains("Вы в очереди") && ru.contains("Касса"), "Russian");
    let (_, en) = w.page(&url, &[("cookie", "idora_lang=en")]).await;
    assert!(en.contains("Your number") && en.contains("Cash desk"), "the chosen language wins");

    // Live: the ticket's stream hears its branch's calls and its own changes.
    let mut stream = w.s.web.get(w.s.url(&format!("{url}/events"))).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut buf = String::new();
    sse_until(&mut stream, &mut buf, "ready").await;
    let called = w.call_next().await;
    assert_eq!(called["ticket"]["number"], first["number"]);
    sse_until(&mut stream, &mut buf, "ticket.called").await;
    let (_, html) = w.page(&url, &[]).await;
    assert!(html.contains(">Hech kim<"), "nobody ahead now");

    // The customer cancels from the page: JSON, with the page's CSRF token.
    let phone = cookie_client(true);
    let html = phone.get(w.s.url(&url)).send().await.unwrap().text().await.unwrap();
    let csrf = attr(&html, "data-track", "data-csrf");
    let r = phone.post(w.s.url(&format!("{url}/cancel"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "not without the token");
    let r = phone
        .post(w.s.url(&format!("{url}/cancel")))
        .header("x-csrf-token", &csrf)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let out: Value = r.json().await.unwrap();
    assert_eq!((out["status"].as_str(), out["can_cancel"].as_bool()), (Some("cancelled"), Some(false)));
    let (kind, _) = sse_with(&mut stream, &mut buf, "\"status\":\"cancelled\"").await;
    assert_eq!(kind, "ticket.changed");
    let (_, html) = w.page(&url, &[]).await;
    assert!(html.contains("Bekor qilindi"), "the cancelled status");
    assert!(html.contains("Bu chipta endi amal qilmaydi"));
    assert!(html.contains("data-cancel-box hidden"), "no cancel button any more");
    let r = phone.post(w.s.url(&format!("{url}/cancel"))).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT, "only once");
}

#[tokio::test]
async fn a_called_ticket_shows_its_window_and_a_booking_its_time_and_code() {
    let w = world().await;
    let t = w.take(3).await;
    let url = t["tracking_url"].as_str().unwrap().to_string();
    w.call_next().await;
    let (_, html) = w.page(&url, &[]).await;
    assert!(html.contains("Sizni chaqirishyapti!"), "called");
    assert!(html.contains("1-oynaga boring"), "go to window 1");
    assert!(!html.contains("data-cancel-box>"), "a called ticket is not the customer's to cancel");

    // A booking for later today: its time and the code for the kiosk.
    let a = w.branches[0];
    let (s, slots) =
        w.api(reqwest::Method::GET, None, &format!("/branches/{a}/slots?service_id={}&date=2026-11-25", w.services[1]), None).await;
    assert_eq!(s, StatusCode::OK, "{slots}");
    let slot = slots.as_array().unwrap().iter().find(|s| s["start"].as_str().unwrap() > "2026-11-25T07:00").unwrap().clone();
    let body = json!({"branch_id": a, "service_id": w.services[1], "start": slot["start"], "name": "Aziza", "phone": "+998901234567"});
    let (s, booked) = w.api(reqwest::Method::POST, None, "/bookings", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");
    let url = booked["ticket"]["tracking_url"].as_str().unwrap().to_string();
    let (_, html) = w.page(&url, &[]).await;
    assert!(html.contains("Yozilgansiz"), "booked");
    assert!(html.contains("Yozilgan vaqt") && html.contains("25.11.2026, "), "its time, in Tashkent's");
    let code = booked["code"].as_str().unwrap();
    assert!(html.contains(&format!("<dd class=\"track-code\">{code}</dd>")), "the code for the kiosk");

    // Checked in at the kiosk: now it waits.
    let (s, v) = w.api(reqwest::Method::POST, None, &format!("/branches/{a}/check-in"), Some(json!({"code": code}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, html) = w.page(&url, &[]).await;
    assert!(html.contains("Navbatdasiz"));
}

#[tokio::test]
async fn the_qr_code_is_an_svg_and_an_unknown_ticket_is_a_clear_404() {
    let w = world().await;
    let t = w.take(0).await;
    let r = w.s.web.get(w.s.url(t["qr_svg_url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().contains("<svg"));

    for bad in ["/t/demo-00000000000000000000000000000000", "/t/nosuch-00000000000000000000000000000000", "/t/garbage"] {
        let (s, html) = w.page(bad, &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert!(html.contains("Bunday chipta topilmadi"), "{bad}: {html}");
    }
    let (_, html) = w.page("/t/garbage", &[("accept-language", "ru")]).await;
    assert!(html.contains("Такой талон не найден"));
}
