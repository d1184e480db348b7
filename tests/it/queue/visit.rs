//! Booking a visit and the customer's pages, over HTTP against the real
//! server: the slot grid and bookings of the JSON API, check-in and who is
//! called first, then `/c/demo/visit` and the booking forms as a customer
//! sees them.
//!
//! The clock stands on Wednesday 2026-11-25, 10:00 in Tashkent (05:00 UTC).
//! Demo Bank: branch 1 "Bosh ofis" Mon–Fri 09–18 and Sat 09–14, branch 2
//! "Chilonzor filiali" Mon–Sat 09–17; four services at both; the operator
//! at window 1 of branch 1 serves all four (one booking per slot there, and
//! one at branch 2, where nobody sits yet).

use crate::support::*;
use jiff::Timestamp;
use reqwest::{Client, Method, StatusCode, header};
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T05:00:00Z";

struct World {
    s: Server,
    /// A browser: cookies kept, redirects shown rather than followed.
    http: Client,
    /// Branch 1 (Bosh ofis), branch 2 (Chilonzor filiali).
    b1: u64,
    b2: u64,
    /// Kassa (5 min), Kreditlar (20 min).
    kassa: u64,
    kredit: u64,
}

async fn world() -> World {
    let s = demo_at(NOW).await;
    let tenant = s.state().tenants.get("demo").unwrap();
    let db = tenant.db().unwrap();
    let branches = idora::org::service::list_branches(db).unwrap();
    let find_branch = |name: &str| branches.iter().find(|(_, b)| b.name == name).unwrap().0;
    let services = idora::queue::service::list_services(db).unwrap();
    let find_service = |name: &str| services.iter().find(|(_, s)| s.name_uz == name).unwrap().0;
    let http = cookie_client(false);
    let (b1, b2) = (find_branch("Bosh ofis"), find_branch("Chilonzor filiali"));
    let (kassa, kredit) = (find_service("Kassa"), find_service("Kreditlar"));
    drop(tenant);
    World { s, http, b1, b2, kassa, kredit }
}

/// A Tashkent wall-clock time on a day, as UTC RFC 3339.
fn at(day: &str, hhmm: &str) -> String {
    let ts: Timestamp = format!("{day}T{hhmm}:00+05:00[Asia/Tashkent]").parse::<jiff::Zoned>().unwrap().timestamp();
    ts.to_string()
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
}

impl World {
    fn url(&self, path: &str) -> String {
        self.s.url(path)
    }

    /// A call to the demo company's API (without cookies).
    async fn api(&self, method: Method, token: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &c(DEMO, path), token, body).await
    }

    async fn slots(&self, branch: u64, query: &str) -> (StatusCode, Value) {
        self.api(Method::GET, None, &format!("/branches/{branch}/slots?{query}"), None).await
    }

    async fn book(&self, branch: u64, service: u64, start: &str, name: &str, phone: &str) -> (StatusCode, Value) {
        let body = json!({"branch_id": branch, "service_id": service, "start": start, "name": name, "phone": phone});
        self.api(Method::POST, None, "/bookings", Some(body)).await
    }

    async fn check_in(&self, branch: u64, code: &str) -> (StatusCode, Value) {
        self.api(Method::POST, None, &format!("/branches/{branch}/check-in"), Some(json!({"code": code}))).await
    }

    async fn kiosk(&self, branch: u64, service: u64) -> String {
        self.s.kiosk_ticket(branch, service).await["number"].as_str().unwrap().to_string()
    }

    /// Signs the operator in (tokens live 15 minutes; the clock moves).
    async fn operator(&self) -> String {
        self.s.demo_token("operator").await
    }

    async fn call_next(&self, token: &str) -> Value {
        self.s.call_next(token).await
    }

    /// Starts and finishes the ticket at the operator's window.
    async fn serve(&self, token: &str, id: u64) {
        for step in ["start", "finish"] {
            let (s, v) = self.api(Method::POST, Some(token), &format!("/tickets/{id}/{step}"), Some(json!({}))).await;
            assert_eq!(s, StatusCode::OK, "{step}: {v}");
        }
    }

    fn advance_to(&self, rfc3339: &str) {
        self.s.clock().set(rfc3339.parse().unwrap());
    }

    async fn get_page(&self, path: &str) -> (StatusCode, String) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Posts a form as a browser would; returns the status, the redirect and the page.
    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
        let r = self.http.post(self.url(path)).form(fields).send().await.unwrap();
        let status = r.status();
        let location = r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        (status, location, r.text().await.unwrap())
    }
}

fn starts(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap().to_string()).collect()
}

// ---------- the JSON API ----------

#[tokio::test]
async fn the_slot_grid_follows_hours_and_minutes() {
    let w = world().await;
    let q = |service: u64, date: &str| format!("service_id={service}&date={date}");

    // Today, Wednesday: Kassa takes 5 minutes, so slots are 10 minutes long,
    // from the first one after now (10:00 is now, so it has gone) to 18:00.
    let (s, today) = w.slots(w.b1, &q(w.kassa, "2026-11-25")).await;
    assert_eq!(s, StatusCode::OK, "{today}");
    let list = today.as_array().unwrap();
    assert_eq!(list.first().unwrap()["start"].as_str(), Some(at("2026-11-25", "10:10").as_str()), "past slots are left out");
    assert_eq!(list.last().unwrap()["end"].as_str(), Some(at("2026-11-25", "18:00").as_str()), "none ends after closing");
    assert_eq!(list.len(), 47, "10:10 … 17:50");
    for slot in list {
        let (start, end) = (ms(slot["start"].as_str().unwrap()), ms(slot["end"].as_str().unwrap()));
        assert_eq!(end - start, 10 * 60_000, "{slot}");
        assert_eq!(slot["free"], 1, "one operator serves Kassa at branch 1");
    }

    // Tomorrow from opening; Kreditlar in 20-minute steps.
    let (_, thu) = w.slots(w.b1, &q(w.kassa, "2026-11-26")).await;
    assert_eq!(starts(&thu).first().map(String::as_str), Some(at("2026-11-26", "09:00").as_str()));
    assert_eq!(thu.as_array().unwrap().len(), 54);
    let (_, kredit) = w.slots(w.b1, &q(w.kredit, "2026-11-26")).await;
    let kredit_starts = starts(&kredit);
    assert_eq!(kredit_starts.len(), 27, "09:00 … 17:40 in 20-minute steps");
    assert_eq!(kredit_starts[1], at("2026-11-26", "09:20"));
    assert_eq!(kredit.as_array().unwrap().last().unwrap()["end"].as_str(), Some(at("2026-11-26", "18:00").as_str()));

    // Saturday: branch 1 closes at 14:00, branch 2 at 17:00 (and has the fallback capacity of one).
    let (_, sat1) = w.slots(w.b1, &q(w.kassa, "2026-11-28")).await;
    assert_eq!(sat1.as_array().unwrap().len(), 30);
    assert_eq!(sat1.as_array().unwrap().last().unwrap()["end"].as_str(), Some(at("2026-11-28", "14:00").as_str()));
    let (_, sat2) = w.slots(w.b2, &q(w.kassa, "2026-11-28")).await;
    assert_eq!(sat2.as_array().unwrap().len(), 48);
    assert!(sat2.as_array().unwrap().iter().all(|s| s["free"] == 1), "no operator at branch 2: one per slot");
    // Sunday: closed, no slots (not an error).
    let (s, sun) = w.slots(w.b1, &q(w.kassa, "2026-11-29")).await;
    assert_eq!((s, sun), (StatusCode::OK, json!([])));

    // Thirty days ahead is the limit; the past and bad input are 422 naming the field.
    let (s, _) = w.slots(w.b1, &q(w.kassa, "2026-12-25")).await;
    assert_eq!(s, StatusCode::OK, "30 days ahead");
    for (query, field) in [
        (q(w.kassa, "2026-12-26"), "date"),
        (q(w.kassa, "2026-11-24"), "date"),
        (q(w.kassa, "tomorrow"), "date"),
        (format!("service_id={}", w.kassa), "date"),
        ("date=2026-11-26".to_string(), "service_id"),
        (q(9999, "2026-11-26"), "service_id"),
    ] {
        let (s, v) = w.slots(w.b1, &query).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{query}: {v}");
    }
    let (s, _) = w.slots(9999, &q(w.kassa, "2026-11-26")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_slot_is_booked_once_and_cancelling_frees_it() {
    let w = world().await;
    let nine = at("2026-11-26", "09:00");
    let (s, v) = w.book(w.b1, w.kassa, &nine, "Aziza Karimova", "90 123 45 67").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let code = v["code"].as_str().unwrap();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "six digits: {code}");
    let ticket = &v["ticket"];
    assert_eq!((ticket["number"].as_str(), ticket["status"].as_str()), (Some("O-001"), Some("booked")));
    assert_eq!(ticket["booked_for"].as_str(), Some(nine.as_str()));
    let tracking = ticket["tracking_url"].as_str().unwrap();
    assert!(tracking.starts_with("/t/demo-"), "{tracking}");
    let token = tracking.trim_start_matches("/t/");

    // The slot is full now; booking it again is a conflict.
    let (_, thu) = w.slots(w.b1, &format!("service_id={}&date=2026-11-26", w.kassa)).await;
    assert_eq!(thu.as_array().unwrap()[0]["free"], 0);
    assert_eq!(thu.as_array().unwrap()[1]["free"], 1);
    let (s, v) = w.book(w.b1, w.kassa, &nine, "Bobur", "+998 91 000 00 00").await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{v}");
    assert_eq!(v["error"]["message"], "Bu vaqt band. Boshqasini tanlang.");
    // The one operator at the head office serves every service: at 09:00 they
    // are booked, so no other service can be booked then either (a credit
    // visit of 20 minutes from 09:00 would overlap too).
    let (s, v) = w.book(w.b1, w.kredit, &nine, "Bobur", "+998 91 000 00 00").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, kredit_slots) = w.slots(w.b1, &format!("service_id={}&date=2026-11-26", w.kredit)).await;
    assert_eq!(kredit_slots[0]["free"], 0, "the 09:00–09:20 credit slot overlaps the booked 09:00–09:10: {kredit_slots}");
    assert_eq!(kredit_slots[1]["free"], 1);
    // Another branch has its own slots and its own numbers.
    let (s, v) = w.book(w.b2, w.kassa, &nine, "Bobur", "+998 91 000 00 00").await;
    assert_eq!((s, v["ticket"]["number"].as_str()), (StatusCode::CREATED, Some("O-001")), "{v}");

    // Bad input names its field.
    for (start, name, phone, field) in [
        (nine.as_str(), "Bobur", "12", "phone"),
        (nine.as_str(), "Bobur", "", "phone"),
        (nine.as_str(), "  ", "90 123 45 67", "name"),
        (&at("2026-11-26", "09:05") as &str, "Bobur", "90 123 45 67", "start"),
        (&at("2026-11-25", "09:00"), "Bobur", "90 123 45 67", "start"),
        (&at("2026-11-29", "10:00"), "Bobur", "90 123 45 67", "start"),
        (&at("2026-12-30", "10:00"), "Bobur", "90 123 45 67", "start"),
    ] {
        let (s, v) = w.book(w.b1, w.kredit, start, name, phone).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{start} {name} {phone}: {v}");
    }

    // The customer cancels with the tracking token: the slot is free again.
    let r = w.http.get(w.url(&format!("/t/{token}/status"))).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "booked");
    let r = w.http.post(w.url(&format!("/t/{token}/cancel"))).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    let (_, thu) = w.slots(w.b1, &format!("service_id={}&date=2026-11-26", w.kassa)).await;
    assert_eq!(thu.as_array().unwrap()[0]["free"], 1, "cancelling frees the slot");
    let (s, v) = w.book(w.b1, w.kassa, &nine, "Bobur", "+998 91 000 00 00").await;
    assert_eq!((s, v["ticket"]["number"].as_str()), (StatusCode::CREATED, Some("O-002")), "{v}");
    // A cancelled booking's code no longer checks in.
    w.advance_to(&at("2026-11-26", "08:55"));
    assert_eq!(w.check_in(w.b1, code).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn checked_in_bookings_are_called_first_at_their_time() {
    let w = world().await;
    let (s, first) = w.book(w.b1, w.kassa, &at("2026-11-25", "10:30"), "Aziza", "90 123 45 67").await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (_, late) = w.book(w.b1, w.kassa, &at("2026-11-25", "11:00"), "Bobur", "91 123 45 67").await;
    let (_, tomorrow) = w.book(w.b1, w.kassa, &at("2026-11-26", "10:00"), "Dilnoza", "93 123 45 67").await;
    let code = |v: &Value| v["code"].as_str().unwrap().to_string();

    // Two customers take kiosk tickets at 10:00.
    assert_eq!(w.kiosk(w.b1, w.kassa).await, "K-001");
    assert_eq!(w.kiosk(w.b1, w.kassa).await, "K-002");

    // 10:05: Aziza checks in at the kiosk with her code.
    w.advance_to(&at("2026-11-25", "10:05"));
    let wrong = if code(&first) == "999999" { "100000".to_string() } else { (code(&first).parse::<u32>().unwrap() + 1).to_string() };
    let (s, v) = w.check_in(w.b1, &wrong).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "a wrong code");
    let (s, v) = w.check_in(w.b1, "12").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code")));
    assert_eq!(w.check_in(w.b1, &code(&tomorrow)).await.0, StatusCode::NOT_FOUND, "tomorrow's booking is not today's");
    assert_eq!(w.check_in(w.b2, &code(&first)).await.0, StatusCode::NOT_FOUND, "another branch");
    let (s, v) = w.check_in(w.b1, &code(&first)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["number"].as_str(), v["status"].as_str()), (Some("O-001"), Some("waiting")));
    let (s, v) = w.check_in(w.b1, &code(&first)).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "twice");

    // 10:30, her time: she is called before the kiosk tickets that came earlier.
    w.advance_to(&at("2026-11-25", "10:30"));
    let op = w.operator().await;
    let c = w.call_next(&op).await;
    assert_eq!(c["ticket"]["number"], "O-001", "{c}");
    assert_eq!(c["reason_code"], "booked:10:30");
    assert_eq!(c["reason"], "10:30-ga yozilgan");
    w.serve(&op, c["ticket"]["id"].as_u64().unwrap()).await;
    for number in ["K-001", "K-002"] {
        let c = w.call_next(&op).await;
        assert_eq!(c["ticket"]["number"], number, "{c}");
        w.serve(&op, c["ticket"]["id"].as_u64().unwrap()).await;
    }

    // Bobur booked 11:00 but comes at 11:30, long after the grace: he queues
    // behind the kiosk ticket taken at 11:20.
    w.advance_to(&at("2026-11-25", "11:20"));
    assert_eq!(w.kiosk(w.b1, w.kassa).await, "K-003");
    w.advance_to(&at("2026-11-25", "11:30"));
    const { assert!(idora::queue::booking::GRACE_MS < 30 * 60_000) };
    let (s, v) = w.check_in(w.b1, &code(&late)).await;
    assert_eq!((s, v["status"].as_str(), v["people_ahead"].as_u64()), (StatusCode::OK, Some("waiting"), Some(1)), "{v}");
    let op = w.operator().await;
    let c = w.call_next(&op).await;
    assert_eq!((c["ticket"]["number"].as_str(), c["reason_code"].as_str()), (Some("K-003"), Some("waited:10")), "{c}");
    w.serve(&op, c["ticket"]["id"].as_u64().unwrap()).await;
    let c = w.call_next(&op).await;
    assert_eq!((c["ticket"]["number"].as_str(), c["reason_code"].as_str()), (Some("O-002"), Some("waited:0")), "{c}");

    // The next morning, Dilnoza checks in for her 10:00 slot.
    w.advance_to(&at("2026-11-26", "09:55"));
    let (s, v) = w.check_in(w.b1, &code(&tomorrow)).await;
    assert_eq!((s, v["number"].as_str()), (StatusCode::OK, Some("O-001")), "{v}");
}

// ---------- the pages ----------

#[tokio::test]
async fn the_visit_page_lists_branches_hours_and_services_in_uzbek() {
    let w = world().await;
    // The portal sends customers to the company's page.
    let (s, portal) = w.get_page("/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(portal.contains(r#"href="/c/demo/visit""#), "{portal}");

    w.kiosk(w.b1, w.kassa).await;
    w.kiosk(w.b1, w.kassa).await;
    let (s, page) = w.get_page("/c/demo/visit").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(r#"<html lang="uz">"#), "the company speaks Uzbek");
    for text in [
        "Demo Bank",
        "Bosh ofis",
        "Toshkent, Amir Temur ko‘chasi, 1",
        "Chilonzor filiali",
        "Dushanba",
        "09:00–18:00",
        "09:00–14:00",
        "09:00–17:00",
        "Yakshanba",
        "Dam olish kuni",
        "Hozir ochiq · 18:00 gacha",
        "Hozir ochiq · 17:00 gacha",
        "Kassa",
        "Kreditlar",
        "Plastik kartalar",
        "Valyuta ayirboshlash",
        "~5 daq.",
        "~20 daq.",
        "Navbatda: 2 kishi",
        "Navbat yo‘q",
        "Hozir navbat olish",
        "Tashrifga yozilish",
    ] {
        assert!(page.contains(text), "{text:?} missing on the visit page");
    }
    assert!(page.contains(&format!(r#"href="/c/demo/visit/book?branch={}""#, w.b1)));
    assert!(page.contains(&format!(r#"href="/c/demo/visit/book?branch={}""#, w.b2)));

    // In Russian when the browser asks for it.
    let ru =
        w.http.get(w.url("/c/demo/visit")).header(header::ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9").send().await.unwrap().text().await.unwrap();
    for text in ["Касса", "Кредиты", "Понедельник", "Выходной", "Встать в очередь сейчас", "Записаться на визит", "В очереди: 2"]
    {
        assert!(ru.contains(text), "{text:?} missing in Russian");
    }

    // Late in the evening the branches are closed: no "take a ticket now", booking still offered.
    w.advance_to(&at("2026-11-25", "19:00"));
    let (_, page) = w.get_page("/c/demo/visit").await;
    assert!(page.contains("Hozir yopiq") && !page.contains("Hozir navbat olish"));
    assert!(page.contains("Tashrifga yozilish"));
}

#[tokio::test]
async fn an_online_ticket_is_taken_from_the_visit_page() {
    let w = world().await;
    let (_, page) = w.get_page("/c/demo/visit").await;
    let csrf = csrf_of(&page);
    let (b1, kassa) = (w.b1.to_string(), w.kassa.to_string());

    // Without the CSRF token the post is refused.
    let (s, _, _) = w.post_form("/c/demo/visit/ticket", &[("branch", &b1), ("service", &kassa)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A bad phone: the page again, the message under the field, the input kept.
    let fields = [("_csrf", csrf.as_str()), ("branch", &b1), ("service", &kassa), ("name", "Aziza"), ("phone", "12")];
    let (s, _, page) = w.post_form("/c/demo/visit/ticket", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Telefon raqamini kiriting"), "the phone's message");
    assert!(page.contains(r#"value="Aziza""#) && page.contains(r#"value="12""#), "what was typed is kept");
    assert!(page.contains("<details class=\"visit-take\" open"), "the form stays open");

    // Name and phone are optional; the customer lands on the tracking page.
    let fields = [("_csrf", csrf.as_str()), ("branch", &b1), ("service", &kassa), ("name", ""), ("phone", "")];
    let (s, location, _) = w.post_form("/c/demo/visit/ticket", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.starts_with("/t/demo-"), "{location}");
    let status: Value = w.http.get(w.url(&format!("{location}/status"))).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["number"].as_str(), status["status"].as_str()), (Some("O-001"), Some("waiting")));

    // Closed at night: the form says so instead of failing.
    w.advance_to(&at("2026-11-25", "19:00"));
    let (s, _, page) = w.post_form("/c/demo/visit/ticket", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Filial hozir yopiq."), "the reason is said");
}

#[tokio::test]
async fn booking_through_the_forms_end_to_end() {
    let w = world().await;
    let (b1, kassa) = (w.b1.to_string(), w.kassa.to_string());

    // Branch and service, then today's times (10:00 has passed; Sunday is closed).
    let (s, page) = w.get_page(&format!("/c/demo/visit/book?branch={b1}&service={kassa}")).await;
    assert_eq!(s, StatusCode::OK);
    for text in ["Tashrifga yozilish", "Bugun", "Ertaga", "Dam olish", "25-noyabr, chorshanba", ">10:10<", ">17:50<"] {
        assert!(page.contains(text), "{text:?} missing on the booking page");
    }
    assert!(!page.contains(">10:00<"), "a past time is not offered");
    assert!(!page.contains(">18:00<"), "nothing ends after closing");

    // Thursday 09:00: its link leads to the form for name and phone.
    let nine = ms(&at("2026-11-26", "09:00"));
    let (_, page) = w.get_page(&format!("/c/demo/visit/book?branch={b1}&service={kassa}&date=2026-11-26")).await;
    let link = format!("/c/demo/visit/book?branch={b1}&amp;service={kassa}&amp;date=2026-11-26&amp;start={nine}#details");
    assert!(page.contains(&link), "a link for 09:00");
    assert!(!page.contains(r#"name="phone""#), "no form before a time is chosen");
    let (_, page) = w.get_page(&link.replace("&amp;", "&").replace("#details", "")).await;
    assert!(page.contains("26-noyabr, payshanba, soat 09:00"), "the chosen time is shown");
    assert!(page.contains(r#"name="phone""#) && page.contains(r#"name="name""#));
    let csrf = csrf_of(&page);
    let start = nine.to_string();
    let form = |name: &'static str, phone: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("branch", b1.clone()),
            ("service", kassa.clone()),
            ("date", "2026-11-26".to_string()),
            ("start", start.clone()),
            ("name", name.to_string()),
            ("phone", phone.to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let (http, url) = (w.http.clone(), w.url("/c/demo/visit/book"));
        async move {
            let r = http.post(url).form(&fields).send().await.unwrap();
            let location = r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
            (r.status(), location, r.text().await.unwrap())
        }
    };

    // A bad phone: the form again with the backend's message by the field, the name kept.
    let (s, _, page) = post(form("Aziza Karimova", "12")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Telefon raqamini kiriting, masalan +998 90 123 45 67."), "the phone's message");
    assert!(page.contains(r#"value="Aziza Karimova""#), "the name is kept");
    assert!(page.contains(r#"aria-invalid="true""#));
    assert!(page.contains("soat 09:00"), "the chosen time is kept");
    let (_, _, page) = post(form("", "90 123 45 67")).await;
    assert!(page.contains("Majburiy maydon."), "the name is required");

    // Good input: the confirmation with the code, the number and the time.
    let (s, location, _) = post(form("Aziza Karimova", "90 123 45 67")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.starts_with("/c/demo/visit/booked/"), "{location}");
    let (s, done) = w.get_page(&location).await;
    assert_eq!(s, StatusCode::OK);
    for text in ["Siz yozildingiz", "O-001", "26-noyabr, payshanba", "09:00–09:10", "Bosh ofis", "Kassa", "kioskda kiriting"] {
        assert!(done.contains(text), "{text:?} missing on the confirmation");
    }
    let code = text_of_id(&done, "code");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let token = location.trim_start_matches("/c/demo/visit/booked/").to_string();
    assert!(done.contains(&format!(r#"src="/t/demo-{token}/qr.svg""#)), "the QR code of the tracking page");
    assert!(done.contains(&format!(r#"href="/t/demo-{token}""#)), "a link to the tracking page");
    let qr = w.http.get(w.url(&format!("/t/demo-{token}/qr.svg"))).send().await.unwrap();
    assert_eq!(qr.status(), StatusCode::OK);

    // Someone else tries the same time: told it was just taken, the input kept, other times offered.
    let (s, _, page) = post(form("Bobur Aliyev", "91 765 43 21")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Bu vaqtni hozirgina boshqa mijoz band qildi."), "the conflict is explained");
    assert!(page.contains(r#"value="Bobur Aliyev""#) && page.contains(r#"value="91 765 43 21""#), "the input is kept");
    assert!(page.contains(r#"<span class="visit-slot full" aria-disabled="true""#), "the taken time is shown disabled");
    // Choosing 09:10 instead keeps the name and phone.
    let ten_past = ms(&at("2026-11-26", "09:10")).to_string();
    let mut choose = form("Bobur Aliyev", "91 765 43 21");
    choose.retain(|(k, _)| *k != "start" && *k != "date");
    choose.push(("choose", "1".into()));
    choose.push(("start", ten_past.clone()));
    let (s, _, page) = post(choose).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("soat 09:10") && page.contains(r#"value="Bobur Aliyev""#), "the new time with the name kept");
    let mut again = form("Bobur Aliyev", "91 765 43 21");
    again.retain(|(k, _)| *k != "start");
    again.push(("start", ten_past));
    let (s, location, _) = post(again).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, done) = w.get_page(&location.unwrap()).await;
    assert!(done.contains("O-002") && done.contains("09:10–09:20"));

    // A time that has passed, or a made-up one: the times again with the reason.
    let mut past = form("Bobur", "91 765 43 21");
    past.retain(|(k, _)| *k != "start");
    past.push(("start", ms(&at("2026-11-25", "09:00")).to_string()));
    let (s, _, page) = post(past).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Bu vaqt o‘tib ketdi."), "{page}");
    let mut junk = form("Bobur", "91 765 43 21");
    junk.retain(|(k, _)| *k != "start" && *k != "branch");
    junk.push(("start", "soon".into()));
    junk.push(("branch", "x".into()));
    let (s, _, page) = post(junk).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Taklif qilingan vaqtlardan birini tanlang."));

    // The code checks in at the branch on the day.
    w.advance_to(&at("2026-11-26", "08:55"));
    let (s, v) = w.check_in(w.b1, &code).await;
    assert_eq!((s, v["number"].as_str()), (StatusCode::OK, Some("O-001")), "{v}");
    let (_, done) = w.get_page(&format!("/c/demo/visit/booked/{token}")).await;
    assert!(done.contains("Siz kelganingizni belgiladingiz"), "the confirmation knows");

    // Bad query input never fails the page.
    let (s, _) = w.get_page("/c/demo/visit/book?branch=x&service=&date=yesterday&start=-1").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.get_page("/c/demo/visit/booked/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn in_russian_and_when_the_company_is_not_open() {
    let w = world().await;
    let (_, page) = w.get_page(&format!("/c/demo/visit/book?branch={}&service={}&date=2026-11-26", w.b1, w.kassa)).await;
    // The language switch comes back to the same step.
    let back = format!("/c/demo/visit/book?branch={}&service={}&date=2026-11-26", w.b1, w.kassa);
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    let switch = format!("/c/demo/lang?set=ru&amp;next={next}");
    assert!(page.contains(&switch), "a language link back to this step");
    let r = w.http.get(w.url(&switch.replace("&amp;", "&"))).send().await.unwrap();
    assert!(r.status().is_redirection());
    let (_, ru) = w.get_page(&format!("/c/demo/visit/book?branch={}&service={}&date=2026-11-26", w.b1, w.kassa)).await;
    assert!(ru.contains("Запись на визит") && ru.contains("Четверг, 26 ноября") && ru.contains("Касса"), "in Russian");

    idora::tenancy::service::update_company(
        w.s.state(),
        &idora::auth::Caller::System,
        "demo",
        idora::tenancy::service::CompanyPatch { status: Some(idora::store::schema::CompanyStatus::Inactive), ..Default::default() },
    )
    .await
    .unwrap();
    for path in ["/c/demo/visit", "/c/demo/visit/book"] {
        let (s, page) = w.get_page(path).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("Ещё не открыто"), "{path}: a calm page");
        assert!(!page.contains("Касса"));
    }
    let (_, portal) = w.get_page("/").await;
    assert!(!portal.contains("/c/demo/visit"), "an inactive company is not on the portal");
}

#[tokio::test]
async fn an_inactive_company_offers_no_booking_slots() {
    let w = world().await;
    let q = format!("service_id={}&date=2026-11-26", w.kassa);
    let (s, v) = w.slots(w.b1, &q).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v.as_array().unwrap().is_empty());
    idora::tenancy::service::update_company(
        w.s.state(),
        &idora::auth::Caller::System,
        "demo",
        idora::tenancy::service::CompanyPatch { status: Some(idora::store::schema::CompanyStatus::Inactive), ..Default::default() },
    )
    .await
    .unwrap();
    let (s, v) = w.slots(w.b1, &q).await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::FORBIDDEN, Some("company_inactive")), "{v}");
}

#[tokio::test]
async fn public_form_posts_are_rate_limited_per_address() {
    let w = world().await;
    let (_, page) = w.get_page("/c/demo/visit").await;
    let csrf = csrf_of(&page);
    let (b1, kassa) = (w.b1.to_string(), w.kassa.to_string());
    let fields = [("_csrf", csrf.as_str()), ("branch", &b1), ("service", &kassa), ("name", ""), ("phone", "12")];
    let mut limited = None;
    for i in 0..130 {
        let (s, _, page) = w.post_form("/c/demo/visit/ticket", &fields).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a refused form, the phone or the rate");
        if page.contains("Juda ko‘p urinish") {
            limited = Some(i);
            break;
        }
    }
    let limited = limited.expect("the limiter answers");
    assert!(limited >= 100, "not before the quota: {limited}");
    // The JSON API shares the quota.
    let (s, _) = w.book(w.b1, w.kassa, &at("2026-11-26", "09:00"), "Aziza", "90 123 45 67").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}
