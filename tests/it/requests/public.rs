//! The client's side of requests over HTTP: the categories and their forms,
//! filing (required fields, choices, files by signed refs, the honeypot,
//! the per-address limit), the status by the tracking token (public
//! replies only, never an internal note, also not live), the client's
//! reply reopening a resolved request, rating once, and tokens that do not
//! open (wrong, or another company's).

use crate::support::*;
use idora::auth::{Caller, Principal};
use idora::chat::service::NewMessage;
use idora::requests::service as svc;
use idora::store::schema::{
    ChoiceOption, FieldKind, FormField, Names, Priority, REQUEST_CATEGORIES, RequestCategoryV1, RequestStatus, SlaClock,
};
use reqwest::Method;
use serde_json::{Value, json};

fn names(uz: &str, ru: &str, en: &str) -> Names {
    Names { uz: uz.into(), ru: ru.into(), en: en.into() }
}

/// "Card blocked": a required choice (`card_type`), an optional date and a
/// file field.
pub fn card_category() -> RequestCategoryV1 {
    RequestCategoryV1 {
        names: names("Karta bloklangan", "Карта заблокирована", "Card blocked"),
        icon: "card".into(),
        color: "#1f6feb".into(),
        team: vec![],
        lead_id: None,
        auto_assign: false,
        default_priority: Priority::High,
        first_response_minutes: Some(30),
        resolution_minutes: Some(480),
        clock: SlaClock::AllDay,
        branch_id: None,
        fields: vec![
            FormField {
                key: "card_type".into(),
                kind: FieldKind::Choice,
                labels: names("Karta turi", "Тип карты", "Card type"),
                required: true,
                options: vec![
                    ChoiceOption { key: "uzcard".into(), labels: names("Uzcard", "Uzcard", "Uzcard") },
                    ChoiceOption { key: "humo".into(), labels: names("Humo", "Humo", "Humo") },
                ],
            },
            FormField {
                key: "amount".into(),
                kind: FieldKind::Number,
                labels: names("Summa", "Сумма", "Amount"),
                required: false,
                options: vec![],
            },
            FormField {
                key: "since".into(),
                kind: FieldKind::Date,
                labels: names("Qachondan", "С какого дня", "Since"),
                required: false,
                options: vec![],
            },
            FormField {
                key: "scan".into(),
                kind: FieldKind::File,
                labels: names("Skan", "Скан", "Scan"),
                required: false,
                options: vec![],
            },
        ],
        active: true,
        last_assigned: None,
        sort: 1,
    }
}

/// Puts category `id` into company `slug` through the core.
pub async fn add_category(s: &Server, slug: &str, id: u64, cat: RequestCategoryV1) {
    let tenant = s.state().tenants.get(slug).unwrap();
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            REQUEST_CATEGORIES.open(tx)?.insert(id, &cat)?;
            Ok(())
        })
        .await
        .unwrap();
}

pub fn pub_path(slug: &str, rest: &str) -> String {
    c(slug, &format!("/public{rest}"))
}

fn filing(card: &str) -> Value {
    json!({
        "category_id": 1,
        "subject": "",
        "text": "The ATM kept my card",
        "fields": {"card_type": card, "amount": 150000},
        "client": {"name": "Aziz Karimov", "phone": "+998 90 123 45 67"},
        "lang": "en",
    })
}

/// Files a request of the card category; returns (id, token).
pub async fn file_one(s: &Server, slug: &str) -> (u64, String) {
    let r = s.post(&pub_path(slug, "/requests"), "", filing("humo")).await.check(201);
    let url = r.str("tracking_url");
    let token = url.rsplit_once('-').unwrap().1.to_string();
    (r.id(), token)
}

async fn upload(s: &Server, slug: &str, name: &str, bytes: &[u8]) -> Value {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().part("file", part);
    let resp = s.http.post(s.url(&pub_path(slug, "/files"))).multipart(form).send().await.unwrap();
    Resp::read(resp).await.check(201).body
}

fn staff(s: &Server, slug: &str, id: u64) -> (idora::tenancy::Tenant, Caller) {
    let tenant = s.state().tenants.get(slug).unwrap();
    let who = Caller::User(Box::new(Principal::load(&tenant, id, String::new(), idora::i18n::Lang::En).unwrap()));
    (tenant, who)
}

#[tokio::test]
async fn the_form_names_what_is_wrong_and_files_with_a_file() {
    let s = start().await;
    let co = s.company("acme", true).await;
    add_category(&s, "acme", 1, card_category()).await;

    // The categories with their forms, in the asked language.
    let cats = s.get(&(pub_path("acme", "/request-categories") + "?lang=ru"), "").await.check(200).body;
    assert_eq!(cats[0]["name"], "Карта заблокирована");
    assert_eq!(cats[0]["fields"][0]["key"], "card_type");
    assert_eq!(cats[0]["fields"][0]["type"], "choice");
    assert_eq!(cats[0]["fields"][0]["required"], true);
    assert_eq!(cats[0]["fields"][0]["options"][1]["key"], "humo");

    // A required field missing is named; a choice outside its options is refused.
    let mut b = filing("humo");
    b["fields"].as_object_mut().unwrap().remove("card_type");
    let r = s.post(&pub_path("acme", "/requests"), "", b).await.refused(422, "validation");
    assert_eq!(r.field(), "fields.card_type");
    let r = s.post(&pub_path("acme", "/requests"), "", filing("visa")).await.refused(422, "validation");
    assert_eq!(r.field(), "fields.card_type");
    // No way to answer: refused, naming the phone.
    let mut b = filing("humo");
    b["client"] = json!({"name": "Aziz"});
    assert_eq!(s.post(&pub_path("acme", "/requests"), "", b).await.refused(422, "validation").field(), "client.phone");

    // A file uploaded by the client, attached by its ref.
    let f = upload(&s, "acme", "passport.pdf", b"%PDF-1.4 a passport scan").await;
    assert_eq!(f["name"], "passport.pdf");
    let mut b = filing("humo");
    b["file_ids"] = json!([f["ref"]]);
    let r = s.post(&pub_path("acme", "/requests"), "", b).await.check(201);
    assert_eq!(r.str("number"), format!("R-{:06}", r.id()));
    assert_eq!(r.str("status"), "new");
    let url = r.str("tracking_url");
    assert!(url.contains("/r/acme-"), "{url}");
    let token = url.rsplit_once('-').unwrap().1.to_string();
    let v = s.get(&pub_path("acme", &format!("/requests/{token}")), "").await.check(200).body;
    assert_eq!(v["status"], "new");
    assert_eq!(v["category"], "Card blocked");
    let answers: Vec<(&str, &str)> =
        v["fields"].as_array().unwrap().iter().map(|a| (a["label"].as_str().unwrap(), a["value"].as_str().unwrap())).collect();
    assert_eq!(answers, [("Card type", "Humo"), ("Amount", "150000")]);
    assert_eq!(v["messages"][0]["text"], "The ATM kept my card");
    assert_eq!(v["messages"][0]["mine"], true);
    assert_eq!(v["messages"][0]["files"][0]["name"], "passport.pdf");
    // The status page reads that file; staff see the request with it.
    let fid = v["messages"][0]["files"][0]["id"].as_u64().unwrap();
    let got = s.http.get(s.url(&pub_path("acme", &format!("/requests/{token}/files/{fid}")))).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"%PDF-1.4 a passport scan");
    let _ = co;

    // A forged ref, or another file's id under a real ref's signature, is refused.
    let mut b = filing("humo");
    b["file_ids"] = json!([format!("{}.{}", fid + 1, f["ref"].as_str().unwrap().split_once('.').unwrap().1)]);
    assert_eq!(s.post(&pub_path("acme", "/requests"), "", b).await.refused(422, "validation").field(), "file_ids");
    let mut b = filing("humo");
    b["file_ids"] = json!(["12.deadbeef"]);
    assert_eq!(s.post(&pub_path("acme", "/requests"), "", b).await.refused(422, "validation").field(), "file_ids");
}

#[tokio::test]
async fn the_honeypot_files_nothing_and_an_address_is_limited() {
    let s = start().await;
    let co = s.company("acme", true).await;
    add_category(&s, "acme", 1, card_category()).await;
    let (tenant, admin) = staff(&s, "acme", co.admin_id);

    // A bot that fills the hidden field is answered like anyone, and nothing is filed.
    let mut b = filing("humo");
    b["website"] = json!("http://spam.example");
    let r = s.post(&pub_path("acme", "/requests"), "", b).await.check(201);
    assert!(r.str("number").starts_with("R-") && r.str("tracking_url").contains("/r/acme-"));
    let (list, _) = svc::list(tenant.db().unwrap(), None, &admin, &svc::Filter::default(), None, 50).unwrap();
    assert!(list.is_empty(), "the honeypot filed nothing");

    // The bot's try counted; four more pass, the next is refused with a wait.
    for _ in 0..4 {
        s.post(&pub_path("acme", "/requests"), "", filing("humo")).await.check(201);
    }
    let r = s.post(&pub_path("acme", "/requests"), "", filing("humo")).await.refused(429, "rate_limited");
    assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().unwrap() >= 1));
    assert_eq!(r.message(), msg(idora::i18n::Lang::En, "request_public.error.too_many"));
    let (list, _) = svc::list(tenant.db().unwrap(), None, &admin, &svc::Filter::default(), None, 50).unwrap();
    assert_eq!(list.len(), 4);
}

#[tokio::test]
async fn the_client_sees_public_replies_never_notes_and_a_reply_reopens() {
    let s = start().await;
    let co = s.company("acme", true).await;
    add_category(&s, "acme", 1, card_category()).await;
    let (id, token) = file_one(&s, "acme").await;
    let (tenant, admin) = staff(&s, "acme", co.admin_id);
    let state = s.state();

    // The status page's live stream, open before the staff write.
    let mut live = s.http.get(s.url(&pub_path("acme", &format!("/requests/{token}/events")))).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let mut buf = String::new();
    sse_until(&mut live, &mut buf, "ready").await;

    let note = NewMessage { text: "Internal: check the ATM log".into(), internal: true, ..NewMessage::default() };
    svc::reply(state, &tenant, &admin, id, note).await.unwrap();
    let answer = NewMessage { text: "Your card is at the branch".into(), ..NewMessage::default() };
    svc::reply(state, &tenant, &admin, id, answer).await.unwrap();
    let (_, m) = sse_with(&mut live, &mut buf, "Your card is at the branch").await;
    assert_eq!(m["data"]["text"], "Your card is at the branch", "{m}");
    assert!(!buf.contains("Internal"), "the note never reaches the client's stream");

    let v = s.get(&pub_path("acme", &format!("/requests/{token}")), "").await.check(200).body;
    let texts: Vec<&str> = v["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["The ATM kept my card", "Your card is at the branch"]);
    assert!(!v.to_string().contains("Internal"));
    assert_eq!(v["messages"][1]["mine"], false);
    assert!(v["notices"].as_array().unwrap().iter().any(|n| n["event"] == "staff_replied"));
    assert_eq!(v["may_rate"], false);

    // Resolved: the client may still write within 7 days, which reopens it.
    svc::assign(state, &tenant, &admin, id, co.admin_id, None).await.unwrap();
    svc::change_status(state, &tenant, &admin, id, RequestStatus::InProgress, None).await.unwrap();
    svc::change_status(state, &tenant, &admin, id, RequestStatus::PendingReview, None).await.unwrap();
    svc::change_status(state, &tenant, &admin, id, RequestStatus::Done, None).await.unwrap();
    let v = s.get(&pub_path("acme", &format!("/requests/{token}")), "").await.check(200).body;
    assert_eq!((v["status"].as_str(), v["may_write"].as_bool(), v["may_rate"].as_bool()), (Some("done"), Some(true), Some(true)));
    s.advance(jiff::SignedDuration::from_hours(24 * 3));
    let m = s.post(&pub_path("acme", &format!("/requests/{token}/messages")), "", json!({"text": "It is not there"})).await.check(201);
    assert_eq!(m.body["mine"], true);
    let v = s.get(&pub_path("acme", &format!("/requests/{token}")), "").await.check(200).body;
    assert_eq!(v["status"], "reopened");
    assert_eq!(v["messages"].as_array().unwrap().last().unwrap()["text"], "It is not there");

    // Done again, rated once; a second rating is refused.
    svc::change_status(state, &tenant, &admin, id, RequestStatus::InProgress, None).await.unwrap();
    svc::change_status(state, &tenant, &admin, id, RequestStatus::PendingReview, None).await.unwrap();
    svc::change_status(state, &tenant, &admin, id, RequestStatus::Done, None).await.unwrap();
    let rating = pub_path("acme", &format!("/requests/{token}/rating"));
    assert_eq!(s.post(&rating, "", json!({"rating": 6})).await.refused(422, "validation").field(), "rating");
    let v = s.post(&rating, "", json!({"rating": 5, "comment": "Thank you"})).await.check(200).body;
    assert_eq!((v["rating"].as_u64(), v["may_rate"].as_bool()), (Some(5), Some(false)));
    s.post(&rating, "", json!({"rating": 1})).await.refused(409, "conflict");

    // More than 7 days after: closed, said so.
    s.advance(jiff::SignedDuration::from_hours(24 * 8));
    let r = s.post(&pub_path("acme", &format!("/requests/{token}/messages")), "", json!({"text": "Hello?"})).await.refused(409, "conflict");
    assert_eq!(r.message(), msg(idora::i18n::Lang::En, "error.request_closed"));
}

#[tokio::test]
async fn a_token_opens_only_its_own_request_in_its_own_company() {
    let s = start().await;
    s.company("acme", true).await;
    s.company("other", true).await;
    add_category(&s, "acme", 1, card_category()).await;
    add_category(&s, "other", 1, card_category()).await;
    let (_, token) = file_one(&s, "acme").await;

    s.get(&pub_path("acme", &format!("/requests/{token}")), "").await.check(200);
    // Another company's address does not know it.
    s.get(&pub_path("other", &format!("/requests/{token}")), "").await.refused(404, "not_found");
    let (st, _) = s.call(Method::POST, &pub_path("other", &format!("/requests/{token}/messages")), None, Some(json!({"text": "hi"}))).await;
    assert_eq!(st, 404);
    // A wrong or malformed token.
    s.get(&pub_path("acme", &format!("/requests/{}", "0".repeat(32))), "").await.refused(404, "not_found");
    s.get(&pub_path("acme", "/requests/nope"), "").await.refused(404, "not_found");
    // The status page: its company's, and not under another's name.
    let page = s.web.get(s.url(&format!("/r/acme-{token}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = s.web.get(s.url(&format!("/r/other-{token}"))).send().await.unwrap();
    assert_eq!(page.status(), 404);
    // An inactive company takes no requests.
    s.company("sleepy", false).await;
    add_category(&s, "sleepy", 1, card_category()).await;
    s.post(&pub_path("sleepy", "/requests"), "", filing("humo")).await.refused(403, "company_inactive");
}

#[tokio::test]
async fn a_file_of_an_internal_note_is_not_the_clients_to_read() {
    let s = start().await;
    let co = s.company("acme", true).await;
    add_category(&s, "acme", 1, card_category()).await;
    let (id, token) = file_one(&s, "acme").await;
    let (tenant, admin) = staff(&s, "acme", co.admin_id);
    // A staff member's file on an internal note.
    let part = reqwest::multipart::Part::bytes(b"secret log".to_vec()).file_name("log.txt");
    let resp = s
        .http
        .post(s.url(&co.path("/files")))
        .bearer_auth(&co.admin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let fid = Resp::read(resp).await.check(201).id();
    let note = NewMessage { text: "see log".into(), internal: true, file_ids: vec![fid], ..NewMessage::default() };
    svc::reply(s.state(), &tenant, &admin, id, note).await.unwrap();
    s.get(&pub_path("acme", &format!("/requests/{token}/files/{fid}")), "").await.refused(404, "not_found");
}

/// The CSRF token a page's multipart form carries in its action (`?_csrf=`).
fn action_csrf(html: &str) -> String {
    let at = html.find("?_csrf=").expect("a multipart form") + "?_csrf=".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_web_form_says_each_mistake_once_keeps_the_input_and_lands_on_the_live_page() {
    use reqwest::multipart::{Form, Part};
    let s = start().await;
    let co = s.company("acme", true).await;
    add_category(&s, "acme", 1, card_category()).await;
    let web = cookie_client(false);
    let list = web.get(s.url("/c/acme/request")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("/c/acme/request?category=1") && list.contains("Card blocked"), "{list}");
    let form = web.get(s.url("/c/acme/request?category=1")).send().await.unwrap().text().await.unwrap();
    assert!(form.contains(r#"name="website""#), "the honeypot is there");
    assert!(form.contains(r#"type="radio" name="fields.card_type" value="humo""#));
    assert!(form.contains(r#"type="date" name="fields.since""#));
    let csrf = action_csrf(&form);
    let post = |form: Form| web.post(s.url(&format!("/c/acme/request?_csrf={csrf}"))).multipart(form).send();
    let base = || {
        Form::new()
            .text("category", "1")
            .text("subject", "Kept subject")
            .text("text", "The ATM kept my card")
            .text("client.name", "Aziz")
            .text("client.phone", "+998 90 123 45 67")
            .text("website", "")
    };

    // The choice left out: the form again, the mistake said once, by its field, the rest kept
    // (the file sent with it too, to be sent again with one tap).
    let receipt = Part::bytes(b"%PDF-1.4 receipt".to_vec()).file_name("receipt.pdf");
    let r = post(base().part("files", receipt)).await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let said = msg(idora::i18n::Lang::En, "validation.required");
    assert_eq!(html.matches(&said).count(), 1, "said once: {html}");
    let near = &html[html.find("fields.card_type").unwrap()..];
    assert!(near[..near.find("</fieldset>").unwrap()].contains(&said), "next to its field");
    assert!(html.contains(r#"value="Kept subject""#) && html.contains("The ATM kept my card"));
    let kept = attr(&html, r#"name="kept""#, "value");
    assert!(kept.ends_with("/receipt.pdf"), "{kept}");

    // A file field takes only a file sent with the form, never an id typed in
    // (someone else's upload): filed without it.
    let theirs = upload(&s, "acme", "someone-elses.pdf", b"%PDF-1.4 not yours").await;
    let r = post(base().text("fields.card_type", "uzcard").text("fields.scan", theirs["id"].to_string())).await.unwrap();
    assert_eq!(r.status(), 303);
    let page = web.get(s.url(r.headers()["location"].to_str().unwrap())).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Uzcard") && !page.contains(&msg(idora::i18n::Lang::En, "request_public.open_file")));

    // With a file: filed, and the client lands on the status page.
    let file = Part::bytes(b"%PDF-1.4 scan".to_vec()).file_name("scan.pdf");
    let r = post(base().text("fields.card_type", "humo").text("kept", kept.clone()).part("files", file)).await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/r/acme-"), "{to}");
    let token = to.rsplit_once('-').unwrap().1.to_string();
    let (tenant, admin) = staff(&s, "acme", co.admin_id);
    let id = svc::by_token(tenant.db().unwrap(), &token).unwrap().0;
    let note = NewMessage { text: "Internal: call the branch".into(), internal: true, ..NewMessage::default() };
    svc::reply(s.state(), &tenant, &admin, id, note).await.unwrap();
    svc::reply(s.state(), &tenant, &admin, id, NewMessage { text: "We found your card".into(), ..NewMessage::default() }).await.unwrap();

    let page = web.get(s.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("R-{id:06}")) && page.contains("Humo") && page.contains("scan.pdf") && page.contains("receipt.pdf"));
    assert!(page.contains("We found your card"));
    assert!(!page.contains("Internal"), "no internal note on the client's page");
    assert!(page.contains(&format!("data-rq-live=\"/c/acme/api/v1/public/requests/{token}/events\"")));

    // The client writes back from the page.
    let csrf = action_csrf(&page);
    let r = web
        .post(s.url(&format!("{to}/reply?_csrf={csrf}")))
        .multipart(Form::new().text("text", "Thank you, I will come"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = web.get(s.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Thank you, I will come"));
    // A form without the page's token is refused.
    let r = web.post(s.url(&format!("{to}/reply"))).multipart(Form::new().text("text", "x")).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Resolved: the page says so, offers the rating and takes it once.
    let state = s.state();
    svc::assign(state, &tenant, &admin, id, co.admin_id, None).await.unwrap();
    for to in [RequestStatus::InProgress, RequestStatus::PendingReview, RequestStatus::Done] {
        svc::change_status(state, &tenant, &admin, id, to, None).await.unwrap();
    }
    let page = web.get(s.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("rq-st-done") && page.contains(r#"name="rating""#), "the rating is offered");
    let csrf = csrf_of(&page);
    let r = web
        .post(s.url(&format!("{to}/rate")))
        .form(&[("rating", "4"), ("comment", "Quick"), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = web.get(s.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(r#"name="rating""#), "rated once: no second form");
    assert!(page.contains(&msg_with(idora::i18n::Lang::En, "request_public.rated", &[("rating", "4")])));
    let r = web.post(s.url(&format!("{to}/rate"))).form(&[("rating", "5"), ("_csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(&msg(idora::i18n::Lang::En, "error.request_rated")));
}
