//! SLA and statistics: a missed target is marked once — across a restart —
//! and its people hear of it once; the statistics of a small known set of
//! requests, over the API and as CSV.

use crate::support::*;
use idora::auth::Caller;
use idora::requests::service::{self, ClientInput, NewRequest};
use idora::store::schema::{
    Names, Priority, REQUEST_CATEGORIES, REQUESTS, RequestCategoryV1, RequestChannel, RequestStatus, RequestV1, SlaClock,
};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::Value;

fn category(name: &str, team: Vec<u64>, lead: Option<u64>, first: Option<u32>, resolution: Option<u32>) -> RequestCategoryV1 {
    RequestCategoryV1 {
        names: Names { uz: name.into(), ru: format!("{name} ru"), en: format!("{name} en") },
        icon: "card".into(),
        color: "#1f6feb".into(),
        team,
        lead_id: lead,
        auto_assign: true,
        default_priority: Priority::Normal,
        first_response_minutes: first,
        resolution_minutes: resolution,
        clock: SlaClock::AllDay,
        branch_id: None,
        fields: Vec::new(),
        active: true,
        last_assigned: None,
        sort: 0,
    }
}

/// Writes a category straight into the company's store.
async fn add_category(s: &Server, slug: &str, cat: RequestCategoryV1) -> u64 {
    let tenant = s.state().tenants.get(slug).unwrap();
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            let id = idora::store::next_id(tx, "request_category")?;
            REQUEST_CATEGORIES.open(tx)?.insert(id, &cat)?;
            Ok(id)
        })
        .await
        .unwrap()
}

/// The notifications of one kind a user has (signed in afresh: the test
/// clock moves past an access token's life).
async fn notices(s: &Server, slug: &str, username: &str, kind: &str) -> Vec<Value> {
    let token = s.login(slug, username, USER_PASSWORD).await.check(200).str("access_token");
    let page = s.get(&c(slug, "/notifications"), &token).await.check(200);
    page.body["items"].as_array().unwrap().iter().filter(|n| n["kind"] == kind).cloned().collect()
}

fn breach_lines(d: &service::Detail) -> Vec<String> {
    d.history.iter().filter(|e| e.kind == "sla_breach").map(|e| e.field.clone().unwrap_or_default()).collect()
}

#[tokio::test]
async fn an_sla_breach_is_marked_once_across_a_restart_and_told_once() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (ali, _) = s.user(&co, "ali", "employee").await;
    let (lola, _) = s.user(&co, "lola", "manager").await;
    let cat = add_category(&s, "acme", category("Karta", vec![ali], Some(lola), Some(30), Some(120))).await;
    let tenant = s.state().tenants.get("acme").unwrap();
    let input = NewRequest {
        category_id: cat,
        subject: "Karta bloklandi".into(),
        text: "Bankomat kartani qaytarmadi".into(),
        client: ClientInput { name: "Aziz".into(), phone: Some("+998901234567".into()), ..ClientInput::default() },
        ..NewRequest::default()
    };
    let filed = service::create(s.state(), &tenant, &Caller::Public, input).await.unwrap();
    let id = filed.id;
    assert_eq!(filed.request.assignee_id, Some(ali), "round-robin to the team");
    let due = filed.request.first_response_due.unwrap();
    assert_eq!(due, filed.request.created_at + 30 * 60_000, "round the clock: 30 minutes");
    // Once the assignment's notice is sent, the company is next due at the first target.
    s.outbox_sent("acme").await;
    idora::jobs::overdue_tick(s.state()).await;
    assert_eq!(tenant.due(), due, "the company falls due at the request's first target");

    // Not yet due: nothing is marked.
    s.advance(SignedDuration::from_mins(29));
    idora::jobs::overdue_tick(s.state()).await;
    assert!(notices(&s, "acme", "ali", "request_breach").await.is_empty());

    // Past the first response's target.
    s.advance(SignedDuration::from_mins(2));
    assert_eq!(idora::jobs::overdue_tick(s.state()).await, 1, "the company with the late request is visited");
    let d = service::get(tenant.db().unwrap(), &Caller::System, id).unwrap();
    assert!(d.request.first_response_breached && !d.request.resolution_breached);
    assert_eq!(breach_lines(&d), vec!["first_response"]);
    s.outbox_sent("acme").await;
    assert_eq!(notices(&s, "acme", "ali", "request_breach").await.len(), 1, "the assignee hears once");
    assert_eq!(notices(&s, "acme", "lola", "request_breach").await.len(), 1, "the lead hears once");
    idora::jobs::overdue_tick(s.state()).await;
    assert_eq!(tenant.due(), filed.request.resolution_due.unwrap(), "next: the resolution's target");

    // A restart and more ticks mark nothing again.
    drop(tenant);
    let s = s.restart().await;
    for _ in 0..3 {
        idora::jobs::overdue_tick(s.state()).await;
        s.advance(SignedDuration::from_mins(1));
    }
    let tenant = s.state().tenants.get("acme").unwrap();
    let d = service::get(tenant.db().unwrap(), &Caller::System, id).unwrap();
    assert_eq!(breach_lines(&d), vec!["first_response"], "marked once");
    assert_eq!(notices(&s, "acme", "ali", "request_breach").await.len(), 1, "still one notification");

    // The resolution's target passes too: one more mark, one more notice.
    s.advance(SignedDuration::from_mins(120));
    idora::jobs::overdue_tick(s.state()).await;
    idora::jobs::overdue_tick(s.state()).await;
    s.outbox_sent("acme").await;
    let d = service::get(tenant.db().unwrap(), &Caller::System, id).unwrap();
    assert!(d.request.resolution_breached);
    assert_eq!(breach_lines(&d), vec!["first_response", "resolution"]);
    let told = notices(&s, "acme", "ali", "request_breach").await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().all(|n| n["text"].as_str().unwrap().contains("R-000001")), "{told:?}");
    idora::jobs::overdue_tick(s.state()).await;
    assert_eq!(tenant.due(), i64::MAX, "nothing more to watch");
}

#[tokio::test]
async fn targets_count_in_the_branchs_working_hours_in_the_company_time_zone() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let wd = serde_json::json!(["09:00", "18:00"]);
    let hours = serde_json::json!({"mon": wd, "tue": wd, "wed": wd, "thu": wd, "fri": wd, "sat": null, "sun": null});
    let branch = s.post(&co.path("/branches"), &co.admin, serde_json::json!({"name": "Bosh ofis", "hours": hours})).await.check(201).id();
    let (ali, _) = s.user(&co, "ali", "employee").await;
    let own = RequestCategoryV1 {
        clock: SlaClock::WorkingHours,
        branch_id: Some(branch),
        ..category("Karta", vec![ali], None, Some(60), Some(600))
    };
    let own = add_category(&s, "acme", own).await;
    // Without a branch of its own: the company's first branch.
    let first = RequestCategoryV1 { clock: SlaClock::WorkingHours, ..category("Kredit", vec![ali], None, Some(60), None) };
    let first = add_category(&s, "acme", first).await;
    let tenant = s.state().tenants.get("acme").unwrap();
    let tz = tenant.timezone();
    assert_eq!(tz.iana_name(), Some("Asia/Tashkent"));
    let local = |s: &str| s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(tz.clone()).unwrap().timestamp();
    // Friday 17:30 in Tashkent.
    s.clock().set(local("2026-12-04T17:30"));
    let file = |category_id: u64| NewRequest {
        category_id,
        subject: "Karta".into(),
        text: "Yordam kerak".into(),
        client: ClientInput { name: "Aziz".into(), phone: Some("+998901234567".into()), ..ClientInput::default() },
        ..NewRequest::default()
    };
    let r = service::create(s.state(), &tenant, &Caller::Public, file(own)).await.unwrap().request;
    assert_eq!(r.first_response_due, Some(local("2026-12-07T09:30").as_millisecond()), "an hour of work: Monday 09:30");
    assert_eq!(r.resolution_due, Some(local("2026-12-08T09:30").as_millisecond()), "ten hours: 30 min Friday, 9 h Monday, 30 min Tuesday");
    let r = service::create(s.state(), &tenant, &Caller::Public, file(first)).await.unwrap().request;
    assert_eq!(r.first_response_due, Some(local("2026-12-07T09:30").as_millisecond()));
}

/// One request as the statistics read it: filed at `at` + offsets in minutes.
#[allow(clippy::too_many_arguments)]
fn request(
    cat: u64,
    assignee: u64,
    at: i64,
    status: RequestStatus,
    first_after: Option<i64>,
    resolved_after: Option<i64>,
    dues: (Option<i64>, Option<i64>),
    rating: Option<u8>,
) -> RequestV1 {
    let min = |m: i64| at + m * 60_000;
    RequestV1 {
        client_id: 1,
        channel: RequestChannel::Web,
        category_id: cat,
        fields: Vec::new(),
        subject: "Savol".into(),
        text: "Matn".into(),
        status,
        priority: Priority::Normal,
        assignee_id: Some(assignee),
        created_by: None,
        created_at: at,
        updated_at: at,
        token: format!("{:032x}", at),
        first_response_due: dues.0.map(min),
        resolution_due: dues.1.map(min),
        first_response_at: first_after.map(min),
        resolved_at: resolved_after.map(min),
        paused_at: None,
        first_response_breached: false,
        resolution_breached: false,
        reject_reason: None,
        rating,
        rating_comment: None,
        thread_id: 0,
    }
}

#[tokio::test]
async fn statistics_of_a_known_set_of_requests() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (ali, _) = s.user(&co, "ali", "employee").await;
    let (bek, _) = s.user(&co, "bek", "employee").await;
    let (_, emp_token) = s.user(&co, "vali", "employee").await;
    let (_, manager) = s.user(&co, "lola", "manager").await;
    let cards = add_category(&s, "acme", category("Karta", vec![ali], None, Some(30), Some(120))).await;
    let loans = add_category(&s, "acme", category("Kredit", vec![bek], None, Some(60), Some(120))).await;
    let tenant = s.state().tenants.get("acme").unwrap();
    let tz = tenant.timezone();
    let at = |h: i8| jiff::civil::date(2026, 11, 10).at(h, 0, 0, 0).to_zoned(tz.clone()).unwrap().timestamp().as_millisecond();
    let set = vec![
        // Done in time, rated 5.
        request(cards, ali, at(9), RequestStatus::Done, Some(10), Some(60), (Some(30), Some(120)), Some(5)),
        // Done late (not marked: the figures see it), rated 3.
        request(cards, ali, at(10), RequestStatus::Done, Some(40), Some(200), (Some(30), Some(120)), Some(3)),
        // Open, its resolution marked breached.
        RequestV1 {
            resolution_breached: true,
            ..request(cards, ali, at(11), RequestStatus::InProgress, Some(20), None, (Some(30), Some(120)), None)
        },
        // Open, nothing due yet: not in the SLA figure.
        request(loans, bek, at(12), RequestStatus::Assigned, None, None, (Some(60), Some(120)), None),
        // Rejected in time with no reply.
        request(loans, bek, at(13), RequestStatus::Rejected, None, Some(30), (Some(60), Some(120)), None),
    ];
    tenant
        .db()
        .unwrap()
        .write(move |tx| {
            for r in &set {
                let id = idora::store::next_id(tx, "request")?;
                REQUESTS.open(tx)?.insert(id, r)?;
            }
            Ok(())
        })
        .await
        .unwrap();

    let path = co.path("/requests/stats?from=2026-11-09&to=2026-11-11");
    let st = s.get(&path, &manager).await.check(200).body;
    let total = &st["total"];
    assert_eq!(
        (total["received"].as_u64(), total["done"].as_u64(), total["rejected"].as_u64(), total["open"].as_u64()),
        (Some(5), Some(2), Some(1), Some(2)),
        "{st}"
    );
    assert_eq!(total["median_first_response_secs"], 20 * 60, "10, 20, 40 minutes");
    assert_eq!(total["median_resolution_secs"], 60 * 60, "60 and 200 minutes: the lower middle");
    assert_eq!((total["sla_counted"].as_u64(), total["sla_met"].as_u64(), total["sla_met_pct"].as_f64()), (Some(4), Some(2), Some(50.0)));
    assert_eq!((total["rating_avg"].as_f64(), total["rating_count"].as_u64()), (Some(4.0), Some(2)));
    let row = |list: &str, id: u64| st[list].as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap();
    let karta = row("categories", cards);
    assert_eq!((karta["name"].as_str(), karta["figures"]["received"].as_u64()), (Some("Karta en"), Some(3)));
    assert_eq!(karta["figures"]["sla_met_pct"], 33.3);
    assert_eq!(row("employees", bek)["figures"]["received"], 2);
    assert_eq!(row("teams", loans)["name"], "bek full");
    let days = st["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!((days[1]["date"].as_str(), days[1]["received"].as_u64(), days[1]["done"].as_u64()), (Some("2026-11-10"), Some(5), Some(2)));
    assert_eq!(days[0]["received"], 0);

    // One category.
    let one = s.get(&format!("{path}&category_id={loans}"), &manager).await.check(200).body;
    assert_eq!((one["total"]["received"].as_u64(), one["categories"].as_array().unwrap().len()), (Some(2), 1));
    // Not for an employee; a bad range is a 422 naming the field.
    s.get(&path, &emp_token).await.refused(403, "forbidden");
    let bad = s.get(&co.path("/requests/stats?from=2026-11-12&to=2026-11-11"), &manager).await;
    assert_eq!((bad.status, bad.field()), (StatusCode::UNPROCESSABLE_ENTITY, "to"));

    // The page: the totals, the chart with its words and the table of days.
    let page = |token: String| {
        s.web.get(s.url("/c/acme/requests/stats?from=2026-11-09&to=2026-11-11")).bearer_auth(token).header("accept-language", "en").send()
    };
    let r = page(manager.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Over 3 days 5 requests were received and 2 done."), "the chart's description");
    assert!(html.contains("10.11.2026: Received 5, Done 2"), "each day's bars say their numbers");
    assert!(html.contains("Karta en") && html.contains("bek full") && html.contains("50%"), "the tables and the SLA tile");
    assert_eq!(page(emp_token.clone()).await.unwrap().status(), StatusCode::FORBIDDEN);

    // The CSV, in Russian: a BOM, the header, `;` and a decimal comma.
    let r = s
        .web
        .get(s.url("/c/acme/requests/stats.csv?from=2026-11-09&to=2026-11-11"))
        .bearer_auth(&manager)
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Тип;Название;Поступило;Выполнено;"), "{}", lines[0]);
    assert_eq!(lines[1], "Итого;;5;2;1;2;20;60;50;4,00;2", "{text}");
    assert!(lines.iter().any(|l| l.starts_with("Категория;Karta ru;3;2;0;1;20;60;33,3;4,00;2")), "{text}");
    assert!(lines.contains(&"День;2026-11-10;5;2;;;;;;;"), "{text}");
}
