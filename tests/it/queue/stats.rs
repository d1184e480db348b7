//! Queue stats through HTTP: one scripted morning at the demo bank's head
//! office, every figure checked against a value worked out by hand.

use crate::support::*;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

struct World {
    s: Server,
    /// Access tokens and when they were taken (they live 15 minutes).
    tokens: std::sync::Mutex<HashMap<&'static str, (String, jiff::Timestamp)>>,
    branches: Vec<u64>,
    /// Demo service ids by their Uzbek name.
    services: HashMap<String, u64>,
}

/// Wednesday 2026-11-25, 09:00 in Tashkent (UTC+5): the head office opens.
const OPENING: &str = "2026-11-25T04:00:00Z";

async fn world() -> World {
    let s = demo_at(OPENING).await;
    let (branches, services) = (s.demo_branches().await, s.demo_services().await);
    World { s, tokens: Default::default(), branches, services }
}

impl World {
    /// A fresh access token of a demo user (signed in again once ten minutes old).
    async fn token(&self, who: &'static str) -> String {
        let now = self.s.now();
        if let Some((t, at)) = self.tokens.lock().unwrap().get(who)
            && now.duration_since(*at) < SignedDuration::from_mins(10)
        {
            return t.clone();
        }
        let t = self.s.demo_token(who).await;
        self.tokens.lock().unwrap().insert(who, (t.clone(), now));
        t
    }

    /// A URL of the demo company's API.
    fn url(&self, path: &str) -> String {
        self.s.url(&c(DEMO, path))
    }

    async fn call(&self, method: Method, who: Option<&'static str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = match who {
            Some(w) => Some(self.token(w).await),
            None => None,
        };
        self.s.call(method, &c(DEMO, path), token.as_deref(), body).await
    }

    /// Sets the clock to a local time of the day, `"09:03"`.
    fn at(&self, hhmm: &str) {
        let (h, m) = hhmm.split_once(':').unwrap();
        let start: jiff::Timestamp = OPENING.parse().unwrap();
        let mins = (h.parse::<i64>().unwrap() - 9) * 60 + m.parse::<i64>().unwrap();
        self.s.clock().set(start + SignedDuration::from_mins(mins));
    }

    /// A kiosk ticket at the head office: (id, quote (low, high), tracking token).
    async fn kiosk(&self, service: &str) -> (u64, (u64, u64), String) {
        let v = self.s.kiosk_ticket(self.branches[0], self.services[service]).await;
        let est = &v["estimate_minutes"];
        let token = v["tracking_url"].as_str().unwrap().trim_start_matches("/t/").to_string();
        (v["id"].as_u64().unwrap(), (est["low"].as_u64().unwrap(), est["high"].as_u64().unwrap()), token)
    }

    async fn op(&self, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(Method::POST, Some("operator"), path, body).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    /// Calls the next customer and checks who it is.
    async fn call_next(&self, expect: u64) {
        let v = self.s.call_next(&self.token("operator").await).await;
        assert_eq!(v["ticket"]["id"].as_u64(), Some(expect), "{v}");
    }

    async fn stats(&self, who: &'static str, query: &str) -> (StatusCode, Value) {
        self.call(Method::GET, Some(who), &format!("/queue-stats{query}"), None).await
    }
}

/// The morning, in local time (every customer's service has a 15-minute target):
///
/// ```text
/// 09:00 T1 Kassa       quoted 0–5    09:03 called (wait 3)   09:04–09:08 served (4)
/// 09:02 T2 Kassa       quoted 4–12   09:08 called (wait 6), 09:09 recalled, 09:10 no-show
/// 09:04 T3 Kreditlar   quoted 0–5    09:10 called (wait 6)   09:11–09:31 served (20)
/// 09:09 T4 Kassa       quoted 0–5    09:48 called (wait 39)  09:49–09:55 served (6)
/// 09:12 T5 Plastik     quoted 0–5    09:55 called (wait 43)  09:56–10:06 served (10)
/// 09:15 T6 Kassa       quoted 4–12   09:20 cancelled by the customer
///                      09:32–09:47 the operator is on a break (15)
/// 10:06 T7 Valyuta     quoted 0–5    10:08 called (wait 2)   10:09–10:14 served (5), sent on to Kassa
/// 10:14 T8 Kassa (T7's continuation) 10:16 called (wait 2 from the transfer) 10:17–10:21 served (4)
/// ```
///
/// Quotes: one operator; nobody of the service ahead gives 0 – min(visit, 5);
/// one Kassa customer ahead (5 min, nothing learned yet) gives
/// ⌈240/60⌉ = 4 – ⌈375/60⌉ + 5 = 12.
#[tokio::test]
async fn a_scripted_morning_gives_the_figures_worked_out_by_hand() {
    let w = world().await;
    w.at("09:00");
    let (t1, q1, _) = w.kiosk("Kassa").await;
    w.at("09:02");
    let (t2, q2, _) = w.kiosk("Kassa").await;
    w.at("09:03");
    w.call_next(t1).await;
    w.at("09:04");
    w.op(&format!("/tickets/{t1}/start"), None).await;
    let (t3, q3, _) = w.kiosk("Kreditlar").await;
    w.at("09:08");
    w.op(&format!("/tickets/{t1}/finish"), None).await;
    w.call_next(t2).await;
    w.at("09:09");
    w.op(&format!("/tickets/{t2}/recall"), None).await;
    let (t4, q4, _) = w.kiosk("Kassa").await;
    w.at("09:10");
    w.op(&format!("/tickets/{t2}/no-show"), None).await;
    w.call_next(t3).await;
    w.at("09:11");
    w.op(&format!("/tickets/{t3}/start"), None).await;
    w.at("09:12");
    let (t5, q5, _) = w.kiosk("Plastik kartalar").await;
    w.at("09:15");
    let (_t6, q6, token6) = w.kiosk("Kassa").await;
    w.at("09:20");
    let r = w.s.web.post(format!("{}/t/{token6}/cancel", w.s.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    w.at("09:31");
    w.op(&format!("/tickets/{t3}/finish"), None).await;
    w.at("09:32");
    w.op("/operator/break", Some(json!({"on": true, "reason": "Tushlik"}))).await;
    w.at("09:47");
    w.op("/operator/break", Some(json!({"on": false}))).await;
    w.at("09:48");
    w.call_next(t4).await;
    w.at("09:49");
    w.op(&format!("/tickets/{t4}/start"), None).await;
    w.at("09:55");
    w.op(&format!("/tickets/{t4}/finish"), None).await;
    w.call_next(t5).await;
    w.at("09:56");
    w.op(&format!("/tickets/{t5}/start"), None).await;
    w.at("10:06");
    w.op(&format!("/tickets/{t5}/finish"), None).await;
    let (t7, q7, _) = w.kiosk("Valyuta ayirboshlash").await;
    w.at("10:08");
    w.call_next(t7).await;
    w.at("10:09");
    w.op(&format!("/tickets/{t7}/start"), None).await;
    w.at("10:14");
    let t8 = w.op(&format!("/tickets/{t7}/transfer"), Some(json!({"service_id": w.services["Kassa"]}))).await;
    let t8 = t8["id"].as_u64().unwrap();
    w.at("10:16");
    w.call_next(t8).await;
    w.at("10:17");
    w.op(&format!("/tickets/{t8}/start"), None).await;
    w.at("10:21");
    w.op(&format!("/tickets/{t8}/finish"), None).await;
    assert_eq!([q1, q2, q3, q4, q5, q6, q7], [(0, 5), (4, 12), (0, 5), (0, 5), (0, 5), (4, 12), (0, 5)], "the quotes worked out above");
    w.at("11:00");

    let head = w.branches[0];
    let (s, v) = w.stats("director", &format!("?branch_id={head}&from=2026-11-25&to=2026-11-25")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["from"].as_str(), v["to"].as_str(), v["branch_id"].as_u64()), (Some("2026-11-25"), Some("2026-11-25"), Some(head)));
    assert_eq!(v["branch_name"], "Bosh ofis");
    let o = &v["overall"];
    // Issued: T1–T7 (T8 continues T7). Called: T1–T5, T7, T8 = 7.
    assert_eq!((o["issued"].as_u64(), o["called"].as_u64(), o["served"].as_u64()), (Some(7), Some(7), Some(5)), "{o}");
    // Waits 3, 6 (to the first call, not the recall), 6, 39, 43, 2, 2 (T8 from
    // the transfer, not from 10:06): 101 min / 7 = 14.43 min = 865.7 s.
    assert_eq!(o["avg_wait_secs"], 866);
    // Nearest rank ⌈0.9 × 7⌉ = 7th of 2, 2, 3, 6, 6, 39, 43: 43 min.
    assert_eq!(o["p90_wait_secs"], 43 * 60);
    // Service: 4, 20, 6, 10, 4 (done) and 5 (T7, transferred after starting): 49 min / 6 = 490 s.
    assert_eq!(o["avg_service_secs"], 490);
    // Within 15 minutes: 3, 6, 6, 2, 2 → 5 of 7 = 71.4 %.
    assert_eq!((o["within_target"].as_u64(), o["service_level_pct"].as_f64()), (Some(5), Some(71.4)));
    // One no-show of 7 called: 14.3 %.
    assert_eq!((o["no_shows"].as_u64(), o["no_show_pct"].as_f64()), (Some(1), Some(14.3)));
    assert_eq!((o["cancelled_before_call"].as_u64(), o["expired"].as_u64()), (Some(1), Some(0)));
    // Estimate: T1 |3 − 2.5| = 0.5 in, T2 |6 − 8| = 2 in, T3 |6 − 2.5| = 3.5 out,
    // T4 |39 − 2.5| = 36.5 out, T5 |43 − 2.5| = 40.5 out, T7 |2 − 2.5| = 0.5 in;
    // T8 (a continuation) and T6 (never called) left out: 83.5 / 6 = 13.92 min, 3 of 6 inside.
    assert_eq!(o["estimate"], json!({"samples": 6, "mae_minutes": 13.92, "within_range_pct": 50.0}));

    let svc = |name: &str| -> Value {
        let id = w.services[name];
        v["services"].as_array().unwrap().iter().find(|s| s["service_id"].as_u64() == Some(id)).unwrap()["figures"].clone()
    };
    assert_eq!(v["services"].as_array().unwrap().len(), 4, "the four demo services");
    let kassa = svc("Kassa");
    // Kassa: issued T1, T2, T4, T6; called T1, T2, T4, T8 with waits 3, 6, 39, 2.
    assert_eq!((kassa["issued"].as_u64(), kassa["called"].as_u64(), kassa["served"].as_u64()), (Some(4), Some(4), Some(3)));
    assert_eq!(kassa["avg_wait_secs"], 750, "50 min / 4 = 12.5 min");
    assert_eq!(kassa["p90_wait_secs"], 39 * 60, "⌈3.6⌉ = 4th of 2, 3, 6, 39");
    assert_eq!(kassa["avg_service_secs"], 280, "(4 + 6 + 4) / 3 min");
    assert_eq!((kassa["service_level_pct"].as_f64(), kassa["no_show_pct"].as_f64()), (Some(75.0), Some(25.0)));
    assert_eq!(kassa["cancelled_before_call"], 1);
    assert_eq!(kassa["estimate"], json!({"samples": 3, "mae_minutes": 13.0, "within_range_pct": 66.7}));
    let kredit = svc("Kreditlar");
    assert_eq!(
        (kredit["avg_wait_secs"].as_u64(), kredit["p90_wait_secs"].as_u64(), kredit["avg_service_secs"].as_u64()),
        (Some(360), Some(360), Some(1200))
    );
    assert_eq!(kredit["service_level_pct"], 100.0);
    let plastik = svc("Plastik kartalar");
    assert_eq!((plastik["avg_wait_secs"].as_u64(), plastik["service_level_pct"].as_f64()), (Some(43 * 60), Some(0.0)));
    let valyuta = svc("Valyuta ayirboshlash");
    assert_eq!(
        (valyuta["issued"].as_u64(), valyuta["served"].as_u64(), valyuta["avg_service_secs"].as_u64()),
        (Some(1), Some(0), Some(300))
    );

    // Arrivals: Wednesday (row 2), six at 09 and T7 at 10; T8 is no new arrival.
    let wed = &v["arrivals"][2];
    assert_eq!((wed[9].as_u64(), wed[10].as_u64()), (Some(6), Some(1)));
    let total: u64 = v["arrivals"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total, 7);

    // The operator: serving 49 min; break 15 min; the day runs from the first
    // call (09:03) to the last finish (10:21) = 78 min, so idle = 78 − 49 − 15 = 14 min.
    let ops = v["operators"].as_array().unwrap();
    assert_eq!(ops.len(), 1, "{ops:?}");
    let op = &ops[0];
    assert_eq!(op["name"], "Nilufar Xasanova");
    assert_eq!((op["called"].as_u64(), op["served"].as_u64(), op["no_shows"].as_u64()), (Some(7), Some(5), Some(1)));
    assert_eq!(
        (op["serving_secs"].as_u64(), op["break_secs"].as_u64(), op["idle_secs"].as_u64()),
        (Some(49 * 60), Some(15 * 60), Some(14 * 60))
    );
    assert_eq!(op["avg_service_secs"], 490);

    // Every branch gives the same here (the other branch was quiet); the
    // default range is today; another day has nothing.
    let (_, all) = w.stats("director", "").await;
    assert_eq!((all["overall"].clone(), all["branch_id"].clone()), (v["overall"].clone(), Value::Null));
    let (_, other) = w.stats("admin", &format!("?branch_id={}", w.branches[1])).await;
    assert_eq!((other["overall"]["issued"].as_u64(), other["operators"].as_array().map(Vec::len)), (Some(0), Some(0)));
    let (_, before) = w.stats("director", "?from=2026-11-01&to=2026-11-24").await;
    assert_eq!((before["overall"]["issued"].as_u64(), before["overall"]["avg_wait_secs"].clone()), (Some(0), Value::Null));
    assert_eq!(before["operators"][0]["break_secs"], 0, "breaks are clipped to the range");

    // The CSV: a BOM, the header, the total, one row per service and per operator.
    let r =
        w.s.web
            .get(w.url(&format!("/queue-stats.csv?branch_id={head}&from=2026-11-25&to=2026-11-25")))
            .bearer_auth(w.token("director").await)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;") && disposition.contains("queue-stats-2026-11-25-2026-11-25.csv"), "{disposition}");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + 4 + 1, "header, total, four services, one operator:\n{text}");
    assert!(lines[0].starts_with("Turi;Nomi;Chiptalar;"), "an Uzbek header with `;` for Excel: {}", lines[0]);
    assert!(lines[1].starts_with("Jami;Bosh ofis;7;7;5;14,4;43;8,2;71,4;1;14,3;1;0;13,92;50;"), "{}", lines[1]);
    for name in ["Kassa", "Kreditlar", "Plastik kartalar", "Valyuta ayirboshlash"] {
        assert!(lines.iter().any(|l| l.starts_with(&format!("Xizmat;{name};"))), "a row for {name}:\n{text}");
    }
    assert!(lines[6].starts_with("Operator;Nilufar Xasanova;;7;5;"), "{}", lines[6]);
    assert!(lines[6].ends_with(";49;14;15"), "serving, idle, break minutes: {}", lines[6]);

    // The page draws it.
    let r = w.s.web.get(format!("{}/c/demo/queue/stats", w.s.base)).bearer_auth(w.token("director").await).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Navbat statistikasi") && html.contains("<svg") && html.contains("Nilufar Xasanova"), "{html}");
}

#[tokio::test]
async fn only_managers_see_the_stats_and_bad_input_is_refused() {
    let w = world().await;
    for who in ["employee", "operator"] {
        let (s, v) = w.stats(who, "").await;
        assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{who}");
        let r = w.s.web.get(w.url("/queue-stats.csv")).bearer_auth(w.token(who).await).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = w.s.web.get(format!("{}/c/demo/queue/stats", w.s.base)).bearer_auth(w.token(who).await).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let (s, _) = w.call(Method::GET, None, "/queue-stats", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    for (query, field) in [
        ("?from=2026-13-01", "from"),
        ("?from=yesterday", "from"),
        ("?to=2026-02-30", "to"),
        ("?from=2026-11-26&to=2026-11-25", "to"),
        ("?from=2025-11-24&to=2026-11-25", "to"),
        ("?branch_id=abc", "branch_id"),
        ("?branch_id=999", "branch_id"),
    ] {
        let (s, v) = w.stats("director", query).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{query}: {v}");
        let r = w.s.web.get(w.url(&format!("/queue-stats.csv{query}"))).bearer_auth(w.token("director").await).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    // 366 days is the longest range.
    let (s, v) = w.stats("director", "?from=2025-11-25&to=2026-11-25").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The page shows a bad date next to the form, as every form does.
    let r =
        w.s.web
            .get(format!("{}/c/demo/queue/stats?from=2026-13-01", w.s.base))
            .bearer_auth(w.token("director").await)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
}
