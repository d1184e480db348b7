//! `/metrics`: per-route counts and latency by the route's template (never
//! the raw path), store commits and queue depth, open tenants, live
//! connections, the outbox backlog.

use crate::support::*;
use serde_json::json;

/// The value of the first sample line of `name` with all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| (l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))) && labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_name_routes_by_template_and_show_the_store_and_the_tenants() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (me, token) = s.user(&co, "rahbar", "manager").await;
    let deadline = (s.running.state.now() + jiff::SignedDuration::from_hours(48)).to_string();
    let task =
        s.post(&co.path("/tasks"), &token, json!({"title": "Hisobot", "assignee_id": me, "deadline": deadline})).await.check(201).id();
    for _ in 0..3 {
        s.get(&co.path(&format!("/tasks/{task}")), &token).await.check(200);
    }
    s.get(&co.path("/tasks/999999"), &token).await.refused(404, "not_found");
    s.get("/no/such/page", "").await;

    let m = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(m.status(), 200);
    let text = m.text().await.unwrap();
    let route = "route=\"/c/{slug}/api/v1/tasks/{id}\"";
    let n = sample(&text, "idora_http_requests_total", &[route, "method=\"GET\"", "status=\"200\""]).unwrap_or(0.0);
    assert!(n >= 3.0, "three reads of one task under its template: {text}");
    assert!(sample(&text, "idora_http_requests_total", &[route, "status=\"404\""]).is_some(), "{text}");
    assert!(sample(&text, "idora_http_request_seconds_bucket", &[route, "le=\"0.1\""]).is_some(), "a histogram with buckets: {text}");
    assert!(sample(&text, "idora_http_requests_total", &["route=\"unmatched\""]).is_some(), "{text}");
    // Bounded labels: no slug, id or raw path in any route label.
    for l in text.lines().filter(|l| l.contains("route=\"")) {
        let label = l.split("route=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        let raw = label.split('/').any(|seg| seg == "acme" || seg == task.to_string() || seg == "999999" || seg == "such");
        assert!(!raw, "a raw path in a label: {l}");
    }

    assert!(sample(&text, "idora_store_commit_seconds_bucket", &["le=\"0.05\""]).is_some(), "{text}");
    assert!(sample(&text, "idora_store_commit_seconds_count", &[]).unwrap_or(0.0) > 0.0, "{text}");
    assert!(sample(&text, "idora_store_write_queue_depth", &[]).is_some(), "{text}");
    assert!(sample(&text, "idora_tenants_open", &[]).unwrap_or(0.0) >= 1.0, "acme's file is open: {text}");
    assert!(sample(&text, "idora_companies", &["status=\"active\""]).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(sample(&text, "idora_live_connections", &[]).is_some(), "{text}");
    assert!(sample(&text, "idora_connections_open", &[]).unwrap_or(0.0) >= 1.0, "this very connection: {text}");
    assert!(sample(&text, "idora_outbox_backlog", &[]).is_some(), "{text}");
}

#[tokio::test]
async fn a_live_stream_counts_as_a_live_connection_while_it_is_open() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let gauge = |text: &str| sample(text, "idora_live_connections", &[]).unwrap_or(-1.0);
    let before = gauge(&s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(ws_request(&s, &co.slug, &co.admin)).await.unwrap();
    let mut during = before;
    for _ in 0..50 {
        during = gauge(&s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap());
        if during > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(during, before + 1.0, "the WebSocket is counted");
    drop(ws);
}

/// The sample Grafana dashboard: JSON Grafana imports (panels, a Prometheus
/// datasource variable, a schema version), whose queries name only metrics
/// this server exports.
#[tokio::test]
async fn the_grafana_dashboard_plots_metrics_the_server_exports() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/grafana/idora.json")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36, "a schema Grafana 9+ reads");
    assert!(d["title"].is_string() && d["uid"].is_string());
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(vars.iter().any(|v| v["type"] == "datasource" && v["query"] == "prometheus"), "a Prometheus datasource variable");
    let panels = d["panels"].as_array().unwrap();
    let titles: Vec<&str> = panels.iter().map(|p| p["title"].as_str().unwrap()).collect();
    for want in ["Request rate", "p95", "5xx", "commit", "Write-queue", "tenants", "Live connections", "Outbox", "backup"] {
        assert!(titles.iter().any(|t| t.contains(want)), "a panel for {want}: {titles:?}");
    }
    for p in panels {
        assert!(p["gridPos"]["w"].is_u64() && p["gridPos"]["h"].is_u64() && p["type"].is_string(), "{p}");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{p}");
    }

    // Every idora_* name the queries use is in /metrics after some traffic.
    let s = start().await;
    s.company("acme", true).await;
    let out = s.running.state.config.data_dir.parent().unwrap().join("box.tar.zst");
    idora::ops::backup::backup_all(&s.running.state, &out).await.unwrap();
    let metrics = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let mut names: Vec<&str> = text
        .match_indices("idora_")
        .map(|(i, _)| {
            let rest = &text[i..];
            &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 8, "{names:?}");
    for n in names {
        assert!(metrics.lines().any(|l| l.starts_with(n)), "{n} is plotted but not exported: {metrics}");
    }
}
