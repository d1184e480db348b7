//! Task reports through `GET /reports/{employee,department,ranking,company}`
//! against figures computed by hand on a week of the demo company's credit
//! department, on a test clock in Asia/Tashkent (UTC+5).
//!
//! The week of Monday 23 – Sunday 29 November 2026, in local time:
//! * Malika (manager) gives Bekzod A, B (due Tue 18:00, 10 and 5 points),
//!   C (due Wed 18:00, 5 points) and G (due Fri 18:00, 3 points) on Monday
//!   09:00. He starts A, B, C at 10:00; hands A in Tue 11:00 (accepted
//!   12:00, in time), B Tue 12:00 (accepted 17:00, in time), C Tue 12:00 —
//!   sent back Tue 13:00, started again at once, handed in Thu 10:00,
//!   accepted Thu 11:00, a day after its deadline. G is never done.
//!   Time in progress: A 25 h, B 26 h, C 26 h + 45 h = 71 h.
//! * Jasur gets D (due Mon 30 Nov 18:00, 7 points), E (due Mon 30 Nov
//!   18:00, 7 points) and F (due Thu 23:00, 13 points) on Monday 09:00. F's
//!   deadline is moved on Thursday 20:00 past midnight, to Fri 01:00, and F
//!   is accepted Fri 00:30: in time. D is accepted Sunday 23:30 (this
//!   week), E Monday 30 Nov 00:10 (the next week).
//! * Reports are read on Monday 30 November, 09:00.

use crate::support::*;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Local time (UTC+5) as UTC.
fn local(s: &str) -> Timestamp {
    let z: jiff::Zoned = format!("{s}[Asia/Tashkent]").parse().unwrap();
    z.timestamp()
}

struct Co {
    s: Server,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, u64>,
    /// Credit (Malika's), cash (the operator's).
    credit: u64,
    cash: u64,
}

const WHO: [&str; 5] = ["director", "manager", "employee", "operator", "jasur"];

impl Co {
    async fn new() -> Co {
        let s = demo_at(&local("2026-11-23T08:00:00").to_string()).await;
        let users = s.demo_users().await;
        let admin = s.demo_token("admin").await;
        let me: Value = s.get(&c(DEMO, "/users"), &admin).await.check(200).body;
        let dept_of =
            |name: &str| me.as_array().unwrap().iter().find(|u| u["username"] == name).unwrap()["department_id"].as_u64().unwrap();
        let (credit, cash) = (dept_of("employee"), dept_of("operator"));
        let body = json!({"username": "jasur", "full_name": "Jasur Ergashev", "role": "employee", "department_id": credit,
            "password": USER_PASSWORD});
        let jasur = s.post(&c(DEMO, "/users"), &admin, body).await.check(201).id();
        let mut ids: HashMap<&'static str, u64> = WHO.iter().filter_map(|w| users.get(*w).map(|id| (*w, *id))).collect();
        ids.insert("jasur", jasur);
        let mut co = Co { s, tokens: HashMap::new(), ids, credit, cash };
        co.sign_in().await;
        co
    }

    async fn sign_in(&mut self) {
        for who in WHO {
            let token = if who == "jasur" {
                self.s.login(DEMO, "jasur", USER_PASSWORD).await.check(200).str("access_token")
            } else {
                self.s.demo_token(who).await
            };
            self.tokens.insert(who, token);
        }
    }

    /// Stands the clock at local time `s`; everyone signs in again.
    async fn at(&mut self, s: &str) {
        self.s.clock().set(local(s));
        self.sign_in().await;
    }

    async fn give(&self, to: &str, title: &str, due: &str, points: u32) -> u64 {
        let body = json!({"title": title, "assignee_id": self.ids[to], "deadline": local(due).to_string(), "points": points});
        self.s.post(&c(DEMO, "/tasks"), &self.tokens["manager"], body).await.check(201).id()
    }

    async fn step(&self, who: &str, id: u64, status: &str) {
        let comment = (status == "redo").then_some("Summalar mos emas");
        self.s
            .post(&c(DEMO, &format!("/tasks/{id}/status")), &self.tokens[who], json!({"status": status, "comment": comment}))
            .await
            .check(200);
    }

    async fn report(&self, who: &str, name: &str, query: &str) -> Value {
        self.s.get(&c(DEMO, &format!("/reports/{name}?{query}")), &self.tokens[who]).await.check(200).body
    }

    async fn status(&self, who: &str, name: &str, query: &str) -> u16 {
        self.s.get(&c(DEMO, &format!("/reports/{name}?{query}")), &self.tokens[who]).await.pair().0.as_u16()
    }
}

/// The week as described above, read on Monday 30 November 09:00.
async fn week() -> Co {
    let mut co = Co::new().await;
    co.at("2026-11-23T09:00:00").await;
    let a = co.give("employee", "A: oylik hisobot", "2026-11-24T18:00:00", 10).await;
    let b = co.give("employee", "B: kassa jurnali", "2026-11-24T18:00:00", 5).await;
    let c_ = co.give("employee", "C: kreditlar jadvali", "2026-11-25T18:00:00", 5).await;
    co.give("employee", "G: garov bahosi", "2026-11-27T18:00:00", 3).await;
    let d = co.give("jasur", "D: shartnomalar", "2026-11-30T18:00:00", 7).await;
    let e = co.give("jasur", "E: arxiv", "2026-11-30T18:00:00", 7).await;
    let f = co.give("jasur", "F: taqdimot", "2026-11-26T23:00:00", 13).await;
    co.at("2026-11-23T10:00:00").await;
    for id in [a, b, c_] {
        co.step("employee", id, "in_progress").await;
    }
    for id in [d, e, f] {
        co.step("jasur", id, "in_progress").await;
    }
    co.at("2026-11-24T11:00:00").await;
    co.step("employee", a, "pending_review").await;
    co.at("2026-11-24T12:00:00").await;
    co.step("manager", a, "completed").await;
    co.step("employee", b, "pending_review").await;
    co.step("employee", c_, "pending_review").await;
    co.at("2026-11-24T13:00:00").await;
    co.step("manager", c_, "redo").await;
    co.step("employee", c_, "in_progress").await;
    co.at("2026-11-24T17:00:00").await;
    co.step("manager", b, "completed").await;
    co.at("2026-11-26T10:00:00").await;
    co.step("employee", c_, "pending_review").await;
    co.at("2026-11-26T11:00:00").await;
    co.step("manager", c_, "completed").await;
    // F's deadline moves past midnight, before it passes.
    co.at("2026-11-26T20:00:00").await;
    let moved = json!({"deadline": local("2026-11-27T01:00:00").to_string()});
    co.s.patch(&c(DEMO, &format!("/tasks/{f}")), &co.tokens["manager"], moved).await.check(200);
    co.step("jasur", f, "pending_review").await;
    co.at("2026-11-27T00:30:00").await;
    co.step("manager", f, "completed").await;
    co.at("2026-11-29T20:00:00").await;
    co.step("jasur", d, "pending_review").await;
    co.step("jasur", e, "pending_review").await;
    co.at("2026-11-29T23:30:00").await;
    co.step("manager", d, "completed").await;
    co.at("2026-11-30T00:10:00").await;
    co.step("manager", e, "completed").await;
    co.at("2026-11-30T09:00:00").await;
    co
}

fn row<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["rows"].as_array().unwrap().iter().find(|x| x["name"] == name).unwrap_or_else(|| panic!("no row {name} in {r}"))
}

fn names(r: &Value) -> Vec<String> {
    r["rows"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_employees_week_on_time_share_redo_time_and_points() {
    let co = week().await;
    let r = co.report("employee", "employee", "period=week&from=2026-11-23").await;
    assert_eq!(names(&r), ["Bekzod Aliyev"], "an employee reads only themselves");
    let me = row(&r, "Bekzod Aliyev");
    assert_eq!(me["received"], 4);
    assert_eq!(me["done"], 3);
    assert_eq!(me["on_time"], 2);
    assert_eq!(me["on_time_pct"], 66.7, "2 of 3 in time");
    assert_eq!(me["overdue"], 2, "C accepted after its deadline, G not done by its");
    assert_eq!(me["redo"], 1);
    assert_eq!(me["avg_work"], (25 + 26 + 71) * 3600 / 3, "(25 h + 26 h + 71 h) / 3, in seconds");
    assert_eq!(me["points"], 20);
    assert_eq!(r["totals"]["points"], 20);
    assert_eq!(r["period"], json!({"kind": "week", "from": "2026-11-23", "to": "2026-11-29"}));
    // The points by day, 90 days ending with the period: A and B on Tuesday 24th, C on Thursday 26th.
    let chart = &r["charts"][0];
    assert_eq!(chart["key"], "points");
    let labels = chart["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 90);
    assert_eq!(labels[89], "29.11", "the last day, as the axis shows it");
    let values = chart["series"][0]["values"].as_array().unwrap();
    assert_eq!(values[84], 15.0, "Tuesday 24th: A (10) and B (5)");
    assert_eq!(values[85], 0.0);
    assert_eq!(values[86], 5.0, "Thursday 26th: C");
    // The column labels in the reader's language.
    let cols = r["columns"].as_array().unwrap();
    assert!(cols.iter().any(|c| c["key"] == "on_time_pct" && c["type"] == "percent"));
}

#[tokio::test]
async fn a_week_runs_monday_to_sunday_in_tashkent_and_a_moved_deadline_counts_where_it_now_is() {
    let co = week().await;
    // D accepted Sunday 23:30 local (18:30 UTC) counts in its week; E at Monday 00:10 local (Sunday 19:10 UTC) in the next.
    for from in ["2026-11-23", "2026-11-29"] {
        let r = co.report("jasur", "employee", &format!("period=week&from={from}")).await;
        let me = row(&r, "Jasur Ergashev");
        assert_eq!((me["done"].clone(), me["points"].clone()), (json!(2), json!(20)), "D and F in the week of {from}");
        assert_eq!(me["on_time_pct"], 100.0, "F accepted at 00:30 within its deadline moved to 01:00");
        assert_eq!(me["overdue"], 0);
    }
    let next = co.report("jasur", "employee", "period=week&from=2026-11-30").await;
    let me = row(&next, "Jasur Ergashev");
    assert_eq!((me["done"].clone(), me["points"].clone(), me["received"].clone()), (json!(1), json!(7), json!(0)), "E, the next week");
    // F's deadline was Thursday 23:00 and is now Friday 01:00: Thursday has no deadline of Jasur's, Friday has, met.
    let thu = co.report("jasur", "employee", "period=day&from=2026-11-26").await;
    assert_eq!((row(&thu, "Jasur Ergashev")["overdue"].clone(), row(&thu, "Jasur Ergashev")["done"].clone()), (json!(0), json!(0)));
    let fri = co.report("jasur", "employee", "period=day&from=2026-11-27").await;
    let f = row(&fri, "Jasur Ergashev");
    assert_eq!((f["done"].clone(), f["on_time"].clone(), f["points"].clone()), (json!(1), json!(1), json!(13)));
}

#[tokio::test]
async fn the_department_by_person_with_workload_and_the_late_list() {
    let co = week().await;
    let r = co.report("manager", "department", "period=week&from=2026-11-23").await;
    assert_eq!(names(&r), ["Bekzod Aliyev", "Jasur Ergashev", "Malika Yusupova"]);
    let t = &r["totals"];
    assert_eq!((t["received"].clone(), t["done"].clone(), t["on_time"].clone()), (json!(7), json!(5), json!(4)));
    assert_eq!(t["on_time_pct"], 80.0);
    assert_eq!((t["overdue"].clone(), t["redo"].clone(), t["points"].clone()), (json!(2), json!(1), json!(40)));
    assert_eq!(row(&r, "Bekzod Aliyev")["workload"], 1, "G is open");
    assert_eq!(row(&r, "Jasur Ergashev")["workload"], 0);
    let late = &r["tables"][0];
    assert_eq!(late["key"], "overdue");
    let rows = late["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["task"], "G: garov bahosi");
    assert_eq!(rows[0]["assignee"], "Bekzod Aliyev");
    assert_eq!(rows[0]["deadline"], "2026-11-27T13:00:00Z");
    assert_eq!(rows[0]["late"], (2 * 24 + 15) * 3600, "Friday 18:00 to Monday 09:00");
    let chart = &r["charts"][0];
    assert_eq!(chart["kind"], "stacked_bars");
    assert_eq!(chart["series"][0]["values"], json!([2.0, 2.0, 0.0]), "on time: Bekzod A and B, Jasur D and F");
    assert_eq!(chart["series"][1]["values"], json!([1.0, 0.0, 0.0]), "late: Bekzod's C");
}

#[tokio::test]
async fn equal_points_share_a_place_and_the_next_place_is_skipped() {
    let co = week().await;
    let r = co.report("manager", "ranking", "period=week&from=2026-11-23").await;
    let places: Vec<(String, i64, i64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].as_str().unwrap().to_string(), x["place"].as_i64().unwrap(), x["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        places,
        [("Bekzod Aliyev".into(), 1, 20), ("Jasur Ergashev".into(), 1, 20), ("Malika Yusupova".into(), 3, 0)],
        "20 and 20 share the first place; the next is third"
    );
    assert!(r["notes"][0].as_str().unwrap().contains("1, 1, 3"), "the rule is shown: {}", r["notes"]);
    // In Russian for a Russian reader.
    let ru =
        co.s.send(
            co.s.req(reqwest::Method::GET, &c(DEMO, "/reports/ranking?period=week&from=2026-11-23"), &co.tokens["manager"])
                .header("accept-language", "ru"),
        )
        .await
        .check(200)
        .body;
    assert!(ru["notes"][0].as_str().unwrap().contains("баллам"), "{}", ru["notes"]);
}

#[tokio::test]
async fn an_employee_never_reads_a_colleague_and_a_manager_only_their_department() {
    let co = week().await;
    let (jasur, operator) = (co.ids["jasur"], co.ids["operator"]);
    // The employee: only their own row; a colleague, the team, the company: refused.
    let r = co.report("employee", "employee", "period=month").await;
    assert_eq!(names(&r), ["Bekzod Aliyev"]);
    assert!(!r.to_string().contains("Jasur"), "no colleague anywhere in the answer");
    assert_eq!(co.status("employee", "employee", &format!("user_id={jasur}")).await, 403);
    for name in ["department", "ranking", "company"] {
        assert_eq!(co.status("employee", name, "period=month").await, 403, "{name}");
    }
    // The manager: their department, not another one, nor its people, nor the company.
    let cash = co.cash;
    assert_eq!(co.status("manager", "department", &format!("department_id={cash}")).await, 403);
    assert_eq!(co.status("manager", "ranking", &format!("department_id={cash}")).await, 403);
    assert_eq!(co.status("manager", "employee", &format!("user_id={operator}")).await, 403);
    assert_eq!(co.status("manager", "company", "").await, 403);
    let mine = co.report("manager", "employee", &format!("user_id={jasur}&period=week&from=2026-11-23")).await;
    assert_eq!(names(&mine), ["Jasur Ergashev"]);
    let team = co.report("manager", "employee", "period=week&from=2026-11-23").await;
    assert_eq!(names(&team), ["Bekzod Aliyev", "Jasur Ergashev", "Malika Yusupova"], "the department, not the operator");
    // The director reads any department.
    let other = co.report("director", "department", &format!("department_id={cash}&period=week&from=2026-11-23")).await;
    assert_eq!(names(&other), ["Nilufar Xasanova"]);
    assert_eq!(co.status("director", "department", &format!("department_id={}", co.credit)).await, 200);
}

#[tokio::test]
async fn the_company_against_the_previous_week() {
    let mut co = week().await;
    // On its Monday the week has had one day: it is compared with the Monday before.
    let r = co.report("director", "company", "period=week&from=2026-11-30").await;
    assert_eq!(r["previous"], json!({"kind": "custom", "from": "2026-11-23", "to": "2026-11-23"}));
    // Once it is over, with the whole week before.
    co.at("2026-12-07T09:00:00").await;
    let r = co.report("director", "company", "period=week&from=2026-11-30").await;
    assert_eq!(r["previous"], json!({"kind": "week", "from": "2026-11-23", "to": "2026-11-29"}));
    let credit = r["rows"].as_array().unwrap().iter().find(|x| x["department_id"] == co.credit).unwrap();
    assert_eq!(credit["people"], 3);
    assert_eq!(credit["done"], 1, "E, accepted Monday 00:10");
    assert_eq!(credit["done_before"], 5, "A, B, C, D, F the week before");
    assert_eq!(credit["change_pct"], -80.0);
    assert_eq!(credit["points"], 7);
    assert_eq!(r["totals"]["done"], 1);
    assert_eq!(r["totals"]["change_pct"], -80.0);
    let trends = r["tables"].as_array().unwrap().iter().find(|t| t["key"] == "trends").unwrap();
    let done = &trends["rows"][1];
    assert_eq!((done["this_period"].clone(), done["previous_period"].clone()), (json!(1), json!(5)), "counts are whole numbers");
    assert_eq!(done["change_pct"], -80.0);
    assert_eq!(done["trend"], "▼ −80 %");
    let points = &trends["rows"][6];
    assert_eq!(
        (points["this_period"].clone(), points["previous_period"].clone(), points["change_pct"].clone()),
        (json!(7), json!(40), json!(-82.5))
    );
    let best = r["tables"].as_array().unwrap().iter().find(|t| t["key"] == "best").unwrap();
    assert_eq!(best["rows"].as_array().unwrap().len(), 1, "only Jasur earned points this week");
    assert_eq!(best["rows"][0]["name"], "Jasur Ergashev");
    let by_day = r["charts"].as_array().unwrap().iter().find(|c| c["key"] == "done_by_day").unwrap();
    assert_eq!(by_day["kind"], "line");
    assert_eq!(by_day["series"][0]["values"][0], 1.0, "Monday 30th: E");
    assert_eq!(by_day["series"][1]["values"], json!([0.0, 2.0, 0.0, 1.0, 1.0, 0.0, 1.0]), "the week before, Monday to Sunday");
    // Last week read as its own period: the credit department's 80 % in time.
    let before = co.report("director", "company", "period=week&from=2026-11-23").await;
    let credit = before["rows"].as_array().unwrap().iter().find(|x| x["department_id"] == co.credit).unwrap();
    assert_eq!((credit["received"].clone(), credit["on_time_pct"].clone(), credit["overdue"].clone()), (json!(7), json!(80.0), json!(2)));
}

/// The reviewer's time is not the assignee's lateness: a task handed in
/// before its deadline and accepted after it is done on time, and one
/// waiting in review past its deadline, handed in before it, is not
/// overdue (as on the dashboards, whose clock stops at hand-in). One handed
/// in after its deadline is late.
#[tokio::test]
async fn handed_in_by_the_deadline_is_on_time_whenever_it_is_accepted() {
    let mut co = Co::new().await;
    co.at("2026-11-23T09:00:00").await;
    let h = co.give("employee", "H: hisobot", "2026-11-23T18:00:00", 5).await;
    let i = co.give("employee", "I: jadval", "2026-11-23T18:00:00", 5).await;
    let l = co.give("employee", "L: xat", "2026-11-23T18:00:00", 5).await;
    co.at("2026-11-23T10:00:00").await;
    for id in [h, i, l] {
        co.step("employee", id, "in_progress").await;
    }
    co.at("2026-11-23T17:00:00").await;
    co.step("employee", h, "pending_review").await;
    co.step("employee", i, "pending_review").await;
    // L is handed in after its deadline.
    co.at("2026-11-23T19:00:00").await;
    co.step("employee", l, "pending_review").await;
    // The manager reviews the next morning: H and L accepted, I still waiting.
    co.at("2026-11-24T10:00:00").await;
    co.step("manager", h, "completed").await;
    co.step("manager", l, "completed").await;
    co.at("2026-11-24T12:00:00").await;
    let r = co.report("manager", "employee", "period=week&from=2026-11-23").await;
    let bekzod = row(&r, "Bekzod Aliyev");
    assert_eq!(bekzod["done"], 2);
    assert_eq!(bekzod["on_time"], 1, "H, handed in at 17:00 for 18:00; not L, handed in at 19:00");
    assert_eq!(bekzod["on_time_pct"], 50.0);
    assert_eq!(bekzod["overdue"], 1, "L only: I waits in review, handed in on time");
}
