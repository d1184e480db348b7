//! The home page as each role sees it: what needs them now, in numbers that
//! link to the filtered list, on the demo company with its weeks of history
//! (`demo::seed_history`), and the empty states of a company with none.

use crate::support::*;
use reqwest::StatusCode;

/// Friday 4 December 2026, 12:00 in Tashkent: the branches are open.
const NOW: &str = "2026-12-04T07:00:00Z";

/// The demo company with its history written up to `NOW`.
async fn demo_with_history() -> Server {
    demo_with_history_at(NOW).await
}

/// The demo company with its history written up to `at`.
async fn demo_with_history_at(at: &str) -> Server {
    let s = demo_at(at).await;
    let now: jiff::Timestamp = at.parse().unwrap();
    let clock = s.clock();
    idora::demo::seed_history(s.state(), &|t| clock.set(t.unwrap_or(now))).await.unwrap();
    assert_eq!(s.now(), now, "the clock is back at now");
    s
}

/// The home page as `who` sees it.
async fn home(s: &Server, who: &str) -> String {
    let token = s.demo_token(who).await;
    let r = s.web.get(format!("{}/c/demo/", s.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{who} opens home");
    r.text().await.unwrap()
}

/// A page as `who` sees it.
async fn page(s: &Server, who: &str, path: &str) -> String {
    let token = s.demo_token(who).await;
    let r = s.web.get(format!("{}{path}", s.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{who} opens {path}");
    r.text().await.unwrap()
}

/// The number of the figure `id` and where it links.
fn figure(html: &str, id: &str) -> (String, String) {
    let at = html.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no figure #{id}"));
    let start = html[..at].rfind('<').unwrap();
    let tag = &html[start..at + html[at..].find('>').unwrap()];
    let href = tag.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let n = html[at..].split("figure-n\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    (n, href)
}

fn n(html: &str, id: &str) -> String {
    figure(html, id).0
}

#[tokio::test]
async fn each_role_sees_what_needs_them_now_on_the_demo_history() {
    let s = demo_with_history().await;

    // The employee: two due today (one being worked on), two late, one sent back with its reason.
    let h = home(&s, "employee").await;
    assert!(h.contains(r#"data-dashboard="employee""#));
    assert_eq!(n(&h, "n-due-today"), "2");
    assert_eq!(n(&h, "n-overdue"), "2");
    assert_eq!(n(&h, "n-redo"), "1");
    assert!(h.contains("Chilonzor filiali summalari hisobotdagi bilan mos kelmaydi"), "the redo reason is shown");
    assert!(h.contains("data-countdown"), "deadlines count down");
    assert_eq!(figure(&h, "n-overdue").1, "/c/demo/tasks?tab=mine&status=overdue");
    assert_eq!(figure(&h, "n-redo").1, "/c/demo/tasks?tab=mine&status=redo");
    assert_eq!(figure(&h, "n-due-today").1, "/c/demo/tasks?tab=mine&due_from=2026-12-04&due_to=2026-12-04");
    // Points: 20 today, so this week and month; 55 in all; first of the four who earned any this month.
    assert_eq!(text_of_id(&h, "points-week"), "20");
    assert_eq!(text_of_id(&h, "points-month"), "20");
    assert_eq!(text_of_id(&h, "points-total"), "55");
    assert_eq!(text_of_id(&h, "points-place"), "4 tadan 1-o‘rin", "in the company's language, Uzbek");
    // The links list what they count.
    let due = page(&s, "employee", &figure(&h, "n-due-today").1).await;
    assert!(due.contains("Kredit qo‘mitasi bayonnomasi") && due.contains("Yangi mijoz arizasini rasmiylashtirish"));
    assert!(!due.contains("Muddati o‘tgan to‘lovlar ro‘yxati"), "a late task is not due today");
    let late = page(&s, "employee", &figure(&h, "n-overdue").1).await;
    assert!(late.contains("Muddati o‘tgan to‘lovlar ro‘yxati") && late.contains("Kredit xavfi bo‘yicha eslatma"));

    // The manager: two to review, the department's two late tasks, Jasur overloaded, 30 points this month.
    let h = home(&s, "manager").await;
    assert!(h.contains(r#"data-dashboard="manager""#));
    assert_eq!(figure(&h, "n-review"), ("2".into(), "/c/demo/tasks?tab=review".into()));
    assert_eq!(n(&h, "n-team-overdue"), "2");
    assert_eq!(n(&h, "n-team-points"), "30");
    let users = s.demo_users().await;
    let jasur = users["jasur"];
    assert!(
        h.contains(&format!(r#"<li class="overloaded"><a href="/c/demo/tasks?tab=department&amp;assignee_id={jasur}">Jasur Ergashev</a>"#))
    );
    let board = page(&s, "manager", &format!("/c/demo/tasks?tab=department&assignee_id={jasur}")).await;
    assert!(board.contains("Qarzdorlarga xatlar") && !board.contains("Kredit qo‘mitasi bayonnomasi"), "the board shows Jasur's cards only");

    // The director: two tasks and one extension to decide, four late tasks by department,
    // today's queue at both branches, the best of the month.
    let h = home(&s, "director").await;
    assert!(h.contains(r#"data-dashboard="director""#));
    assert_eq!(figure(&h, "n-approval"), ("2".into(), "/c/demo/tasks?tab=approval".into()));
    assert_eq!(n(&h, "n-extensions"), "1");
    assert!(h.contains("Kredit xavfi bo‘yicha eslatma"), "the task whose deadline is asked to move is listed");
    assert_eq!(text_of_id(&h, "n-overdue"), "4");
    let mut depts: Vec<(u64, String)> = {
        let token = s.demo_token("admin").await;
        let v = s.get(&c(DEMO, "/departments"), &token).await.check(200).body;
        v.as_array().unwrap().iter().map(|d| (d["id"].as_u64().unwrap(), d["name"].as_str().unwrap().to_string())).collect()
    };
    depts.sort();
    for (id, name, late) in [(depts[0].0, &depts[0].1, 2), (depts[1].0, &depts[1].1, 1), (depts[2].0, &depts[2].1, 1)] {
        let link = format!(
            r#"<a href="/c/demo/tasks?tab=all&amp;status=overdue&amp;department_id={id}"><span>{name}</span><strong class="late">{late}</strong>"#
        );
        assert!(h.contains(&link), "{name}: {late} late, linked");
    }
    let late = page(&s, "director", &format!("/c/demo/tasks?tab=all&status=overdue&department_id={}", depts[1].0)).await;
    assert!(late.contains("Kassa apparatini ta’mirlatish"));
    let head_row = &h[h.find(r#"<tr data-branch="1">"#).expect("the head office's queue")..];
    let cells: Vec<&str> =
        head_row.split("<a href=\"/c/demo/queue/stats?branch_id=1\">").skip(2).take(2).map(|c| c.split('<').next().unwrap()).collect();
    assert_eq!(cells, ["9", "5"], "nine waiting, five served at the head office");
    assert!(h.contains(r#"<tr data-branch="2">"#), "and the second branch");
    let token = s.demo_token("director").await;
    let ru = s
        .web
        .get(format!("{}/c/demo/", s.base))
        .bearer_auth(&token)
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ru.contains("Головной офис") && ru.contains("Чиланзарский филиал"), "branch names in the reader's language");
    let best = &h[h.find(r#"id="desk-best""#).unwrap()..];
    let bekzod = users["employee"];
    assert!(
        best.find(&format!(r#"data-user="{bekzod}""#)).unwrap() < best.find(&format!(r#"data-user="{jasur}""#)).unwrap(),
        "Bekzod leads"
    );

    // The operator: window 1 of the head office, nine waiting, five served by them.
    let h = home(&s, "operator").await;
    assert!(h.contains(r#"data-dashboard="operator""#));
    assert_eq!(figure(&h, "n-waiting"), ("9".into(), "/c/demo/operator".into()));
    assert_eq!(n(&h, "n-served"), "5");

    // The API says the same, for the same caller.
    let token = s.demo_token("director").await;
    let v = s.get(&c(DEMO, "/dashboard"), &token).await.check(200).body;
    assert_eq!(v["kind"], "director");
    assert_eq!((v["company"]["approval"].as_u64(), v["company"]["overdue"].as_u64()), (Some(2), Some(4)));
    assert_eq!(v["company"]["extensions"][0]["title"], "Kredit xavfi bo‘yicha eslatma");
    assert_eq!((v["company"]["queue"][0]["waiting"].as_u64(), v["company"]["queue"][0]["served"].as_u64()), (Some(9), Some(5)));
    assert!(v["mine"].is_null() && v["setup"].is_null(), "a director's dashboard: {v}");
    let token = s.demo_token("employee").await;
    let v = s.get(&c(DEMO, "/dashboard"), &token).await.check(200).body;
    assert_eq!(v["mine"]["points"], serde_json::json!({"total": 55, "week": 20, "month": 20}));
    assert_eq!((v["mine"]["place"].as_u64(), v["mine"]["ranked"].as_u64()), (Some(1), Some(4)));
    assert!(v["mine"]["redo"][0]["reason"].as_str().unwrap().starts_with("Chilonzor filiali"));

    // The admin: the setup checklist until the company is complete (no branding yet) ...
    let h = home(&s, "admin").await;
    assert!(h.contains(r#"data-dashboard="admin""#));
    assert!(h.contains(r#"<li class="done" data-step="branches">"#));
    assert!(h.contains(r#"data-step="branding""#) && !h.contains(r#"class="done" data-step="branding""#), "branding is still to do: {h}");
    assert!(
        h.contains(r#"data-step="telegram"><span class="tick" aria-hidden="true">○</span><a href="/c/demo/admin/telegram">"#),
        "connecting the Telegram bot is offered, not done: {h}"
    );
    assert!(!h.contains(r#"id="desk-audit""#));
    // ... then the recent changes.
    let tenant = s.state().tenants.get(DEMO).unwrap();
    let change = idora::org::branding::BrandingChange { primary_color: Some(Some("#0a7d5a".into())), logo: None, remove_logo: false };
    idora::org::branding::update(s.state(), &tenant, &idora::auth::Caller::System, change).await.unwrap();
    let h = home(&s, "admin").await;
    assert!(!h.contains(r#"id="desk-setup""#), "the checklist is gone once complete");
    assert!(h.contains(r#"id="desk-audit""#) && h.contains("/c/demo/admin/audit"));
}

#[tokio::test]
async fn empty_dashboards_say_what_to_do_next() {
    let s = demo_at(NOW).await;
    let lang = idora::i18n::Lang::Uz;
    let h = home(&s, "employee").await;
    assert_eq!(n(&h, "n-due-today"), "0");
    assert!(h.contains(&msg(lang, "desk.mine.empty")));
    assert!(h.contains(&msg(lang, "desk.mine.no_points")));
    let h = home(&s, "manager").await;
    assert_eq!(n(&h, "n-review"), "0");
    assert!(h.contains(&msg(lang, "desk.team.load_empty")));
    let h = home(&s, "director").await;
    for key in ["desk.company.waiting_empty", "desk.company.overdue_empty", "desk.company.best_empty"] {
        assert!(h.contains(&msg(lang, key)), "{key}");
    }
    let h = home(&s, "operator").await;
    assert_eq!(n(&h, "n-waiting"), "0");
    assert_eq!(n(&h, "n-served"), "0");
}

#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn measure_dashboards_over_a_long_history() {
    use idora::store::schema::TaskStatus as S;
    let s = demo_with_history().await;
    let st = s.state();
    let tenant = st.tenants.get(DEMO).unwrap();
    let users = s.demo_users().await;
    let caller = |u: &str| {
        idora::auth::Caller::User(Box::new(idora::auth::Principal::load(&tenant, users[u], "t".into(), idora::i18n::Lang::Uz).unwrap()))
    };
    let (manager, employee) = (caller("manager"), caller("employee"));
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let t0 = std::time::Instant::now();
    for i in 0..n {
        let input = idora::tasks::service::NewTask {
            title: format!("Eski vazifa {i}"),
            assignee_id: users["employee"],
            deadline: (s.now() + jiff::SignedDuration::from_hours(24)).to_string(),
            points: 1,
            ..Default::default()
        };
        let (id, _) = idora::tasks::service::create(st, &tenant, &manager, input).await.unwrap();
        for (who, to) in [(&employee, S::InProgress), (&employee, S::PendingReview), (&manager, S::Completed)] {
            idora::tasks::service::change_status(st, &tenant, who, id, to, None).await.unwrap();
        }
    }
    eprintln!("{n} tasks written in {:?}", t0.elapsed());
    let tz = tenant.timezone();
    for u in ["employee", "manager", "director", "operator", "admin"] {
        let who = caller(u);
        let t = std::time::Instant::now();
        for _ in 0..10 {
            idora::home::dashboard(tenant.db().unwrap(), &who, st.now_ms(), &tz).unwrap();
        }
        eprintln!("{u}: {:?} per dashboard", t.elapsed() / 10);
    }
}

/// The cells of a branch's row in the director's "today's queue": waiting,
/// served, longest wait, as the page shows them.
fn queue_row(h: &str, branch: u64) -> Vec<String> {
    let row = &h[h.find(&format!(r#"<tr data-branch="{branch}">"#)).unwrap_or_else(|| panic!("no row of branch {branch}"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td")
        .skip(2)
        .map(|c| {
            c.split('>')
                .skip(1)
                .filter(|p| !p.starts_with('<'))
                .map(|p| p.split('<').next().unwrap())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .collect()
}

/// A demo started at night (02:00 in Tashkent, before the branches open)
/// has no customers from the future: today's queue is empty and the longest
/// wait reads "—", not "0 min"; started just after opening, the waits are
/// real minutes since the doors opened; started after closing, nobody is
/// left waiting overnight.
#[tokio::test]
async fn the_demo_queue_today_makes_sense_at_any_hour() {
    // Saturday 02:00 in Tashkent.
    let s = demo_with_history_at("2026-12-04T21:00:00Z").await;
    let h = home(&s, "director").await;
    assert_eq!(queue_row(&h, 1), ["0", "0", "—"], "nobody waits before opening");
    drop(s);

    // Friday 09:25 in Tashkent: open since 09:00.
    let s = demo_with_history_at("2026-12-04T04:25:00Z").await;
    let h = home(&s, "director").await;
    let row = queue_row(&h, 1);
    let waiting: u32 = row[0].parse().unwrap();
    assert!(waiting > 0, "customers came after opening: {row:?}");
    let longest: u32 = row[2].trim_end_matches(" daq").parse().unwrap_or_else(|_| panic!("minutes, got {row:?}"));
    assert!((1..=25).contains(&longest), "waiting since the doors opened at most: {row:?}");
    drop(s);

    // Friday 20:00 in Tashkent: closed at 18:00.
    let s = demo_with_history_at("2026-12-04T15:00:00Z").await;
    let h = home(&s, "director").await;
    let row = queue_row(&h, 1);
    assert_eq!((row[0].as_str(), row[2].as_str()), ("0", "—"), "nobody left waiting after closing: {row:?}");
    assert_ne!(row[1], "0", "the day's served are counted: {row:?}");
}

/// The text a reader sees on a page: no tags, no scripts, no attributes.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        let end = if tail.starts_with("<script") { tail.find("</script>").map(|e| e + 9) } else { tail.find('>').map(|e| e + 1) };
        rest = &tail[end.unwrap_or(tail.len())..];
    }
    out.push_str(rest);
    out
}

/// The first piece of `text` of the shape (`d` a digit, anything else itself).
fn find_shape(text: &str, shape: &str) -> Option<String> {
    let (t, p) = (text.as_bytes(), shape.as_bytes());
    (0..t.len().saturating_sub(p.len() - 1))
        .find(|&i| p.iter().enumerate().all(|(j, c)| if *c == b'd' { t[i + j].is_ascii_digit() } else { t[i + j] == *c }))
        .map(|i| text[i..i + p.len()].to_string())
}

/// Dates on pages read dd.mm.yyyy with 24-hour times in every language —
/// never the ISO `2026-12-04` of form values and the API.
#[tokio::test]
async fn pages_show_dates_as_dd_mm_yyyy_in_every_language() {
    let s = demo_with_history().await;
    let iso = |t: &str| find_shape(t, "dddd-dd-dd");
    let local = |t: &str| find_shape(t, "dd.dd.dddd dd:dd");
    for lang in ["uz", "ru", "en"] {
        for (who, path, has_time) in [
            ("director", "/c/demo/tasks?tab=all", true),
            ("director", "/c/demo/tasks/1", true),
            ("director", "/c/demo/queue/stats", false),
            ("admin", "/c/demo/admin/audit", true),
            ("admin", "/c/demo/", false),
        ] {
            let token = s.demo_token(who).await;
            let r = s.web.get(format!("{}{path}", s.base)).bearer_auth(&token).header("accept-language", lang).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{who} opens {path}");
            let text = visible_text(&r.text().await.unwrap());
            assert_eq!(iso(&text), None, "{path} in {lang} shows an ISO date");
            if has_time {
                assert!(local(&text).is_some(), "{path} in {lang} shows a dd.mm.yyyy hh:mm time");
            }
        }
    }
}
