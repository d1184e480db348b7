//! Scheduled reports: made over the API by the admin, run by the minute's
//! job once at their moment in the company's time zone, delivered to each
//! recipient as them (in-app, and on Telegram with the chart and the XLSX).

use crate::bot::{Bot, WAIT};
use crate::support::telegram::TgUser;
use crate::support::{DEMO, c, msg};
use idora::i18n::Lang;
use serde_json::{Value, json};

/// Saturday 5 December 2026, 10:00 in Tashkent.
const SATURDAY: &str = "2026-12-05T10:00:00+05:00";

fn weekly(manager: u64) -> Value {
    json!({"report": "department", "every": "week", "weekday": 1, "time": "09:00",
           "recipients": [manager], "channels": ["in_app", "telegram"]})
}

/// To Monday 7 December 09:00 in Tashkent (47 hours on).
fn to_monday(b: &Bot) {
    b.s.advance(jiff::SignedDuration::from_hours(47));
}

#[tokio::test]
async fn the_admin_schedules_a_weekly_report_and_it_runs_once_on_monday_at_nine() {
    let b = Bot::start_at(SATURDAY).await;
    let manager = b.s.demo_users().await["manager"];
    let url = c(DEMO, "/report-schedules");
    let r = b.s.post(&url, &b.admin, weekly(manager)).await.check(201);
    let id = r.body["id"].as_u64().unwrap();
    assert_eq!(r.body["next_run_local"], "2026-12-07 09:00", "Monday at nine, company time");
    assert_eq!(r.body["next_run"], "2026-12-07T04:00:00Z");
    assert_eq!(r.body["recipients"][0]["name"], "Malika Yusupova");
    assert_eq!(r.body["last_run"], Value::Null);

    let state = &b.s.running.state;
    assert_eq!(idora::reports::schedule::tick(state).await, 0, "not before Monday");
    to_monday(&b);
    assert_eq!(idora::reports::schedule::tick(state).await, 1);
    assert_eq!(idora::reports::schedule::tick(state).await, 0, "once");
    // Two days on: a fresh sign-in.
    let admin = b.s.demo_token("admin").await;
    let list = b.s.get(&url, &admin).await.check(200);
    let s = &list.body["items"][0];
    assert_eq!(s["id"].as_u64(), Some(id));
    assert_eq!(s["last_run"], "2026-12-07T04:00:00Z");
    assert_eq!(s["next_run_local"], "2026-12-14 09:00");

    // Changed and removed by the admin.
    let p = b.s.patch(&c(DEMO, &format!("/report-schedules/{id}")), &admin, json!({"time": "19:00", "every": "day"})).await.check(200);
    assert_eq!(p.body["next_run_local"], "2026-12-07 19:00");
    b.s.send(b.s.req(reqwest::Method::DELETE, &c(DEMO, &format!("/report-schedules/{id}")), &admin)).await.check(204);
    assert_eq!(b.s.get(&url, &admin).await.check(200).body["items"], json!([]));
    b.s.send(b.s.req(reqwest::Method::DELETE, &c(DEMO, &format!("/report-schedules/{id}")), &admin)).await.refused(404, "not_found");
}

#[tokio::test]
async fn an_employee_may_not_schedule_and_bad_input_is_explained() {
    let b = Bot::start_at(SATURDAY).await;
    let manager = b.s.demo_users().await["manager"];
    let url = c(DEMO, "/report-schedules");
    let employee = b.s.demo_token("employee").await;
    b.s.post(&url, &employee, weekly(manager)).await.refused(403, "forbidden");
    b.s.get(&url, &employee).await.refused(403, "forbidden");

    for (field, body, key) in [
        ("time", json!({"time": "9:00"}), "report_schedules.invalid.time"),
        ("time", json!({"time": "24:00"}), "report_schedules.invalid.time"),
        ("report", json!({"report": "salaries"}), "report_schedules.invalid.report"),
        ("weekday", json!({"weekday": 8}), "report_schedules.invalid.weekday"),
        ("recipients", json!({"recipients": []}), "report_schedules.invalid.recipients"),
        ("recipients", json!({"recipients": [999_999]}), "report_schedules.invalid.recipients"),
        ("channels", json!({"channels": ["fax"]}), "report_schedules.invalid.channels"),
    ] {
        let mut bad = weekly(manager);
        for (k, v) in body.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let r = b.s.post(&url, &b.admin, bad).await.refused(422, "validation");
        assert_eq!(r.field(), field);
        assert_eq!(r.message(), msg(Lang::Uz, key), "{field}");
    }
    assert_eq!(b.s.get(&url, &b.admin).await.check(200).body["items"], json!([]));
}

/// Needs the `department` report (`tasks::report::department`) and the XLSX
/// writer (`reports::export::xlsx`) of the merged tree: in the charts
/// branch both are stubs, and the recipient is left out as "not available".
#[tokio::test]
async fn the_manager_gets_the_report_in_the_app_once_and_on_telegram_with_chart_and_xlsx() {
    let b = Bot::start_at("2026-12-07T08:00:00+05:00").await;
    let malika = TgUser::new(555_301, "Malika", "uz");
    let manager = b.link("manager", &malika).await;
    b.s.post(&c(DEMO, "/report-schedules"), &b.admin, weekly(manager)).await.check(201);
    let state = &b.s.running.state;
    b.s.advance(jiff::SignedDuration::from_mins(60));
    // The minute's jobs, as the server runs them: the company is due at the schedule's time.
    idora::jobs::overdue_tick(state).await;
    idora::jobs::overdue_tick(state).await;

    let token = b.s.demo_token("manager").await;
    let notes = b.s.get(&c(DEMO, "/notifications"), &token).await.check(200);
    let ours: Vec<&Value> = notes.body["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "report_scheduled").collect();
    assert_eq!(ours.len(), 1, "one notification: {:?}", notes.body);
    let photo = b.tg.wait_for(&b.token, malika.id, |s| s.method == "sendPhoto", WAIT).await;
    assert!(photo.file.as_ref().unwrap().1.starts_with(b"\x89PNG"), "the chart");
    let doc = b.tg.wait_for(&b.token, malika.id, |s| s.method == "sendDocument", WAIT).await;
    assert!(doc.file.as_ref().unwrap().0.ends_with(".xlsx"), "the XLSX");
    let admin = b.s.demo_token("admin").await;
    let list = b.s.get(&c(DEMO, "/report-schedules"), &admin).await.check(200);
    assert_eq!(list.body["items"][0]["recipients"][0]["skipped"], Value::Null);
}
