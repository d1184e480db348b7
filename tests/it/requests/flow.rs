//! The request rules end to end through the core, on a real server's data:
//! round-robin assignment, public replies and internal notes, what the
//! client's page shows, a client's reply reopening a done request, rating,
//! one client record per person.

use crate::support::*;
use idora::auth::{Caller, Principal};
use idora::chat::NewMessage;
use idora::i18n::Lang;
use idora::requests::service::{self as requests, ClientInput, NewRequest};
use idora::store::schema::{self, Names, Priority, RequestCategoryV1, RequestStatus, SlaClock};
use jiff::SignedDuration;

fn names(uz: &str) -> Names {
    Names { uz: uz.into(), ru: String::new(), en: String::new() }
}

/// A category written straight into the company's file (the admin pages
/// have their own tests).
async fn category(s: &Server, team: Vec<u64>, auto: bool) -> u64 {
    let tenant = s.state().tenants.get(DEMO).unwrap();
    let cat = RequestCategoryV1 {
        names: names("Karta bloklandi"),
        icon: "card".into(),
        color: "#1f6feb".into(),
        team,
        lead_id: None,
        auto_assign: auto,
        default_priority: Priority::High,
        first_response_minutes: Some(30),
        resolution_minutes: Some(240),
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
            schema::REQUEST_CATEGORIES.open(tx)?.insert(id, &cat)?;
            Ok(id)
        })
        .await
        .unwrap()
}

fn user(s: &Server, id: u64) -> Caller {
    let tenant = s.state().tenants.get(DEMO).unwrap();
    Caller::User(Box::new(Principal::load(&tenant, id, "test".into(), Lang::Uz).unwrap()))
}

fn filing(category_id: u64, name: &str, phone: &str) -> NewRequest {
    NewRequest {
        category_id,
        subject: "Karta bloklandi".into(),
        text: "Bankomat kartani qaytarmadi".into(),
        client: ClientInput { name: name.into(), phone: Some(phone.into()), ..ClientInput::default() },
        ..NewRequest::default()
    }
}

#[tokio::test]
async fn a_request_goes_round_robin_hides_notes_from_the_client_and_reopens_on_a_late_reply() {
    let s = demo_at("2026-12-01T10:00:00+05:00").await;
    let users = s.demo_users().await;
    let (a, b) = (users["employee"], users["manager"]);
    let cat = category(&s, vec![a, b], true).await;
    let state = s.state();
    let tenant = state.tenants.get(DEMO).unwrap();

    // Two requests: the team's two members get one each, in turn.
    let one = requests::create(state, &tenant, &Caller::Public, filing(cat, "Aziz Karimov", "+998901234567")).await.unwrap();
    let two = requests::create(state, &tenant, &Caller::Public, filing(cat, "Dilnoza", "+998901112233")).await.unwrap();
    assert_eq!((one.request.assignee_id, two.request.assignee_id), (Some(a), Some(b)));
    assert_eq!(one.request.status, RequestStatus::Assigned);
    assert!(one.tracking_path.starts_with("/r/demo-"));

    // The assignee answers the client and leaves a note for colleagues.
    let emp = user(&s, a);
    s.advance(SignedDuration::from_mins(10));
    let public = NewMessage { text: "Kartangiz blokdan chiqarildi".into(), ..NewMessage::default() };
    requests::reply(state, &tenant, &emp, one.id, public).await.unwrap();
    let note = NewMessage { text: "Mijoz ikkinchi marta murojaat qilmoqda".into(), internal: true, ..NewMessage::default() };
    requests::reply(state, &tenant, &emp, one.id, note).await.unwrap();

    // The client's page: their own words and the reply, never the note.
    let token = &one.request.token;
    let view = requests::public_view(tenant.db().unwrap(), token, state.now_ms()).unwrap();
    let texts: Vec<&str> = view.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Bankomat kartani qaytarmadi", "Kartangiz blokdan chiqarildi"]);
    assert!(view.messages[0].mine && !view.messages[1].mine);
    // The first public reply met the first-response target.
    let detail = requests::get(tenant.db().unwrap(), &emp, one.id).unwrap();
    assert_eq!(detail.request.first_response_at, Some(state.now_ms()));
    // Staff read both.
    let staff = requests::messages(tenant.db().unwrap(), &emp, one.id, Default::default()).unwrap();
    assert_eq!(staff.iter().filter(|m| m.internal).count(), 1);
    // Someone outside the team cannot see it.
    let outsider = user(&s, users["operator"]);
    assert!(requests::get(tenant.db().unwrap(), &outsider, one.id).is_err());

    // Work, review, done; the client rates it once.
    for to in [RequestStatus::InProgress, RequestStatus::PendingReview] {
        requests::change_status(state, &tenant, &emp, one.id, to, None).await.unwrap();
    }
    let director = user(&s, users["director"]);
    requests::change_status(state, &tenant, &director, one.id, RequestStatus::Done, None).await.unwrap();
    let view = requests::public_view(tenant.db().unwrap(), token, state.now_ms()).unwrap();
    assert!(view.may_rate && view.may_write);
    assert!(view.notices.iter().any(|n| n.event == "done"), "told it is done: {:?}", view.notices);

    // Three days later the client writes again: it is open again.
    s.advance(SignedDuration::from_hours(72));
    requests::client_reply(state, &tenant, token, "Yana bloklandi", vec![]).await.unwrap();
    let r = requests::get(tenant.db().unwrap(), &emp, one.id).unwrap().request;
    assert_eq!(r.status, RequestStatus::Reopened);

    // Done again (through review: a reviewer closes only handed-in work),
    // then a reply eight days later is refused: a new request is asked for.
    let early = requests::change_status(state, &tenant, &director, one.id, RequestStatus::Done, None).await.unwrap_err();
    assert_eq!(early.message_key, Some("error.request_transition"));
    for to in [RequestStatus::InProgress, RequestStatus::PendingReview] {
        requests::change_status(state, &tenant, &emp, one.id, to, None).await.unwrap();
    }
    requests::change_status(state, &tenant, &director, one.id, RequestStatus::Done, None).await.unwrap();
    requests::rate(state, &tenant, token, 5, Some("Rahmat")).await.unwrap();
    assert!(requests::rate(state, &tenant, token, 4, None).await.is_err(), "rated once");
    s.advance(SignedDuration::from_hours(24 * 8));
    let late = requests::client_reply(state, &tenant, token, "Salom", vec![]).await.unwrap_err();
    assert_eq!(late.message_key, Some("error.request_closed"));
}

#[tokio::test]
async fn the_same_phone_through_two_channels_is_one_client() {
    let s = demo_at("2026-12-01T10:00:00+05:00").await;
    let users = s.demo_users().await;
    let cat = category(&s, vec![users["employee"]], false).await;
    let state = s.state();
    let tenant = state.tenants.get(DEMO).unwrap();

    // On the web by e-mail, then in Telegram sharing a phone, then the web again with both.
    let mut web = filing(cat, "Aziz", "");
    web.client.phone = None;
    web.client.email = Some("Aziz@Example.uz".into());
    let first = requests::create(state, &tenant, &Caller::Public, web).await.unwrap();
    let mut tg = filing(cat, "Aziz K.", "+998 90 123 45 67");
    tg.client.telegram_id = Some(777);
    tg.client.phone_verified = true;
    let second = requests::create(state, &tenant, &Caller::Public, tg).await.unwrap();
    assert_ne!(first.request.client_id, second.request.client_id, "nothing joined them yet");
    let mut both = filing(cat, "Aziz", "+998901234567");
    both.client.email = Some("aziz@example.uz".into());
    let third = requests::create(state, &tenant, &Caller::Public, both).await.unwrap();

    // One person now: staff see the other two beside the third.
    let dispatcher = user(&s, users["director"]);
    let detail = requests::get(tenant.db().unwrap(), &dispatcher, third.id).unwrap();
    let earlier: Vec<u64> = detail.earlier.iter().map(|(id, _)| *id).collect();
    assert_eq!(earlier, [second.id, first.id]);
    assert!(detail.client.phone_verified && detail.client.telegram);
    assert_eq!(detail.client.email.as_deref(), Some("aziz@example.uz"));
    assert!(idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap().is_empty(), "indexes agree with the rows");
}

#[tokio::test]
async fn the_demo_has_requests_in_every_status() {
    let s = demo_at("2026-12-01T15:00:00+05:00").await;
    let clock = s.clock();
    let now = s.now();
    idora::demo::seed_history(s.state(), &|t| clock.set(t.unwrap_or(now))).await.unwrap();
    let users = s.demo_users().await;
    let tenant = s.state().tenants.get(DEMO).unwrap();
    let db = tenant.db().unwrap();
    let director = user(&s, users["director"]);
    let (all, _) = requests::list(db, None, &director, &requests::Filter::default(), None, 100).unwrap();
    let seen: Vec<RequestStatus> = all.iter().map(|(_, r)| r.status).collect();
    for status in idora::requests::STATUSES {
        assert!(seen.contains(&status), "no demo request is {status:?}: {seen:?}");
    }
    assert!(all.iter().any(|(_, r)| r.rating == Some(5)), "one is rated");
    assert!(idora::store::check::verify_tenant(db).unwrap().is_empty(), "indexes agree with the rows");
}

/// The whole story over HTTP: a client files with a file and gets a
/// tracking link; the category hands requests round-robin; the assignee
/// answers publicly and leaves an internal note; the client's status shows
/// the answer and never the note; done, then the client writes again and it
/// reopens; another company sees none of it.
#[tokio::test]
async fn the_whole_story_over_http() {
    use serde_json::json;
    let s = demo_at("2026-12-01T10:00:00+05:00").await;
    let users = s.demo_users().await;
    let (admin, director, employee) = (s.demo_token("admin").await, s.demo_token("director").await, s.demo_token("employee").await);
    let names = |uz: &str| json!({"uz": uz, "ru": "", "en": ""});
    let cat = s
        .post(
            &c(DEMO, "/request-categories"),
            &admin,
            json!({"names": names("Karta bloklandi"), "color": "#1f6feb", "icon": "card",
                   "fields": [{"key": "last4", "type": "text", "labels": names("Oxirgi 4 raqam"), "required": true}],
                   "team_ids": [users["employee"], users["manager"]], "auto_assign": true,
                   "sla": {"first_response_minutes": 30, "resolution_minutes": 240, "clock": "all_day"}}),
        )
        .await
        .check(201)
        .id();

    // The client uploads a photo, then files with it.
    let part = reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\nfake".to_vec()).file_name("karta.png");
    let up = Resp::read(
        s.http.post(s.url(&c(DEMO, "/public/files"))).multipart(reqwest::multipart::Form::new().part("file", part)).send().await.unwrap(),
    )
    .await
    .check(201);
    let file_ref = up.str("ref");
    let body = |name: &str, phone: &str| {
        json!({"category_id": cat, "subject": "", "text": "Bankomat kartani qaytarmadi", "fields": {"last4": "4417"},
               "file_ids": [file_ref], "client": {"name": name, "phone": phone}})
    };
    let missing = s
        .post(
            &c(DEMO, "/public/requests"),
            "",
            json!({"category_id": cat, "text": "x", "fields": {}, "client": {"name": "A", "phone": "+998901234567"}}),
        )
        .await;
    let missing = missing.refused(422, "validation");
    assert_eq!(missing.field(), "fields.last4", "the missing field is named");
    let one = s.post(&c(DEMO, "/public/requests"), "", body("Aziz Karimov", "+998901234567")).await.check(201);
    let tracking = one.str("tracking_url");
    assert!(tracking.contains("/r/demo-"), "{tracking}");
    let token = tracking.rsplit('-').next().unwrap().to_string();
    let (id, number) = (one.id(), one.str("number"));
    assert_eq!(number, format!("R-{id:06}"));
    // The second goes to the other team member.
    let mut second = body("Dilnoza", "+998901112233");
    second["file_ids"] = json!([]);
    let two = s.post(&c(DEMO, "/public/requests"), "", second).await.check(201).id();
    let assignee = |v: &serde_json::Value| v["assignee_id"].as_u64();
    let first_to = assignee(&s.get(&c(DEMO, &format!("/requests/{id}")), &director).await.check(200).body);
    let second_to = assignee(&s.get(&c(DEMO, &format!("/requests/{two}")), &director).await.check(200).body);
    assert_eq!((first_to, second_to), (Some(users["employee"]), Some(users["manager"])), "round-robin");

    // The assignee answers the client and writes a note for colleagues.
    s.post(&c(DEMO, &format!("/requests/{id}/messages")), &employee, json!({"text": "Kartangiz filialda", "internal": false}))
        .await
        .check(201);
    s.post(&c(DEMO, &format!("/requests/{id}/messages")), &employee, json!({"text": "Ichki: bankomatni tekshirish", "internal": true}))
        .await
        .check(201);
    let status = s.get(&c(DEMO, &format!("/public/requests/{token}")), "").await.check(200);
    let text = status.body.to_string();
    assert!(text.contains("Kartangiz filialda") && text.contains("karta.png"), "{text}");
    assert!(!text.contains("Ichki"), "the note never reaches the client: {text}");

    // Worked, reviewed, done; three days later the client writes again.
    for (who, to) in [(&employee, "in_progress"), (&employee, "pending_review"), (&director, "done")] {
        s.post(&c(DEMO, &format!("/requests/{id}/status")), who, json!({"status": to})).await.check(200);
    }
    s.advance(jiff::SignedDuration::from_hours(72));
    s.post(&c(DEMO, &format!("/public/requests/{token}/messages")), "", json!({"text": "Yana bloklandi"})).await.check(201);
    // (Signed in again: three days outlive an access token.)
    let (employee, manager) = (s.demo_token("employee").await, s.demo_token("manager").await);
    let again = s.get(&c(DEMO, &format!("/requests/{id}")), &employee).await.check(200);
    assert_eq!(again.body["status"], "reopened");
    // The manager (the other team member) also sees it; the operator does not.
    s.get(&c(DEMO, &format!("/requests/{id}")), &manager).await.check(200);
    let operator = s.demo_token("operator").await;
    s.get(&c(DEMO, &format!("/requests/{id}")), &operator).await.refused(404, "not_found");

    // Another company: neither the request nor its client's page.
    let state = s.state();
    idora::tenancy::service::upsert_platform_admin(&state.platform, state.now_ms(), ROOT, ROOT_PASSWORD.into()).await.unwrap();
    let other = s.company("other", true).await;
    s.get(&other.path(&format!("/requests/{id}")), &other.admin).await.refused(404, "not_found");
    s.get(&c("other", &format!("/public/requests/{token}")), "").await.refused(404, "not_found");
    let list = s.get(&other.path("/requests"), &other.admin).await.check(200);
    assert_eq!(list.body["items"], json!([]), "nothing of Demo Bank's");
}
