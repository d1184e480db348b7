//! The report engine over HTTP: periods and filters as typed, who may read
//! which report, and the queue, requests and branch reports reading the
//! same figures as the statistics pages (one computation, not two).

use crate::support::*;
use serde_json::Value;

/// Friday 4 December 2026, 12:00 in Tashkent: the branches are open.
const NOW: &str = "2026-12-04T07:00:00Z";

async fn demo_with_history() -> Server {
    let s = demo_at(NOW).await;
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let clock = s.clock();
    idora::demo::seed_history(s.state(), &|t| clock.set(t.unwrap_or(now))).await.unwrap();
    s
}

fn col<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["columns"].as_array().unwrap().iter().find(|c| c["key"] == key).unwrap_or_else(|| panic!("no column {key}: {r}"))
}

#[tokio::test]
async fn periods_are_local_days_and_weeks_start_on_monday() {
    let s = demo_at(NOW).await;
    let director = s.demo_token("director").await;
    let r = s.get(&c("demo", "/reports/queue?period=week"), &director).await.check(200);
    // Friday 4 December: the week of Monday 30 November to Sunday 6 December.
    assert_eq!(r.body["period"]["kind"], "week");
    assert_eq!(r.body["period"]["from"], "2026-11-30");
    assert_eq!(r.body["period"]["to"], "2026-12-06");
    let r = s.get(&c("demo", "/reports/queue"), &director).await.check(200);
    assert_eq!(
        (r.body["period"]["from"].as_str(), r.body["period"]["to"].as_str()),
        (Some("2026-12-01"), Some("2026-12-31")),
        "a month by default"
    );
    let r = s.get(&c("demo", "/reports/queue?period=day&from=2026-11-03"), &director).await.check(200);
    assert_eq!((r.body["period"]["from"].as_str(), r.body["period"]["to"].as_str()), (Some("2026-11-03"), Some("2026-11-03")));

    // Bad input is named, never a 500.
    let r = s.get(&c("demo", "/reports/queue?period=custom&from=2026-11-01"), &director).await.refused(422, "validation");
    assert!(r.text.contains("\"to\""), "{}", r.text);
    s.get(&c("demo", "/reports/queue?period=fortnight"), &director).await.refused(422, "validation");
    s.get(&c("demo", "/reports/queue?period=custom&from=2025-01-01&to=2026-12-01"), &director).await.refused(422, "validation");
    s.get(&c("demo", "/reports/queue?from=2026-02-30"), &director).await.refused(422, "validation");
    s.get(&c("demo", "/reports/queue?branch_id=x"), &director).await.refused(422, "validation");
    s.get(&c("demo", "/reports/payroll"), &director).await.refused(404, "not_found");
    s.get(&c("demo", "/reports/queue.pdf"), &director).await.refused(404, "not_found");
}

#[tokio::test]
async fn the_queue_report_is_the_queue_stats_on_the_engine() {
    let s = demo_with_history().await;
    let director = s.demo_token("director").await;
    let stats = s.get(&c("demo", "/queue-stats?from=2026-12-04&to=2026-12-04"), &director).await.check(200);
    let r = s.get(&c("demo", "/reports/queue?period=day&from=2026-12-04"), &director).await.check(200);
    let overall = &stats.body["overall"];
    assert!(overall["issued"].as_u64().unwrap() > 0, "the demo has a queue today: {overall}");
    let totals = &r.body["totals"];
    assert_eq!(totals["issued"], overall["issued"]);
    assert_eq!(totals["served"], overall["served"]);
    assert_eq!(totals["avg_wait"], overall["avg_wait_secs"]);
    assert_eq!(totals["service_level"], overall["service_level_pct"]);
    assert_eq!(col(&r.body, "avg_wait")["type"], "duration");
    assert_eq!(col(&r.body, "service_level")["type"], "percent");
    let rows = r.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), stats.body["services"].as_array().unwrap().len(), "a row per service");
    let sum: u64 = rows.iter().map(|x| x["issued"].as_u64().unwrap()).sum();
    assert_eq!(sum, overall["issued"].as_u64().unwrap());
    assert_eq!(r.body["tables"][0]["key"], "operators");
    let heat = r.body["charts"].as_array().unwrap().iter().find(|c| c["key"] == "arrivals").unwrap();
    assert_eq!(heat["kind"], "heat");
    assert_eq!(heat["series"].as_array().unwrap().len(), 7, "Monday to Sunday");
    // Friday's row holds today's arrivals.
    let friday: f64 = heat["series"][4]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(0.0)).sum();
    assert_eq!(friday as u64, overall["issued"].as_u64().unwrap());

    // Not for those who neither run the queue nor see every report.
    for who in ["employee", "operator", "manager"] {
        let token = s.demo_token(who).await;
        s.get(&c("demo", "/reports/queue"), &token).await.refused(403, "forbidden");
    }
}

#[tokio::test]
async fn the_requests_report_is_the_request_stats_on_the_engine() {
    let s = demo_with_history().await;
    let director = s.demo_token("director").await;
    let stats = s.get(&c("demo", "/requests/stats?from=2026-11-05&to=2026-12-04"), &director).await.check(200);
    let r = s.get(&c("demo", "/reports/requests?period=custom&from=2026-11-05&to=2026-12-04"), &director).await.check(200);
    let total = &stats.body["total"];
    assert!(total["received"].as_u64().unwrap() > 0, "{total}");
    for (report, stat) in [
        ("received", "received"),
        ("done", "done"),
        ("open", "open"),
        ("first_response", "median_first_response_secs"),
        ("sla_met", "sla_met_pct"),
        ("rating", "rating_avg"),
    ] {
        assert_eq!(r.body["totals"][report], total[stat], "{report}");
    }
    assert_eq!(r.body["rows"].as_array().unwrap().len(), stats.body["categories"].as_array().unwrap().len());
    let keys: Vec<&str> = r.body["tables"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["employees", "teams"]);
    let by_day = &r.body["charts"][0];
    assert_eq!(by_day["labels"].as_array().unwrap().len(), 30, "a label per day");
    let employee = s.demo_token("employee").await;
    s.get(&c("demo", "/reports/requests"), &employee).await.refused(403, "forbidden");
}

#[tokio::test]
async fn branches_are_compared_with_the_previous_period() {
    let s = demo_with_history().await;
    let director = s.demo_token("director").await;
    let r = s.get(&c("demo", "/reports/branches?period=day&from=2026-12-04"), &director).await.check(200);
    let rows = r.body["rows"].as_array().unwrap();
    assert!(rows.len() >= 2, "the demo's branches: {}", r.body);
    // Each branch's visitors are its queue's tickets of the day.
    let mut sum = 0;
    for row in rows {
        let name = row["branch"].as_str().unwrap();
        assert!(!name.is_empty());
        sum += row["visitors"].as_u64().unwrap();
    }
    assert_eq!(r.body["totals"]["visitors"].as_u64().unwrap(), sum);
    let stats = s.get(&c("demo", "/queue-stats?from=2026-12-04&to=2026-12-04"), &director).await.check(200);
    assert_eq!(sum, stats.body["overall"]["issued"].as_u64().unwrap());
    // The day before had no queue in the demo's history: no change to show.
    assert_eq!(r.body["previous"]["from"], "2026-12-03");
    for row in rows {
        if row["visitors_before"] == 0 {
            assert_eq!(row["visitors_change"], Value::Null);
            assert_eq!(row["trend"], "—");
        }
    }
    let manager = s.demo_token("manager").await;
    s.get(&c("demo", "/reports/branches"), &manager).await.refused(403, "forbidden");
}
