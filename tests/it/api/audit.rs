//! The audit log in words: each entry as a sentence with names (not ids or
//! codes), filtered by who, what kind and date, page by page — in the API
//! and on the admin page.

use crate::support::*;
use idora::i18n::{Lang, t, tf};
use reqwest::StatusCode;
use serde_json::{Value, json};

const UZ: Lang = Lang::Uz;
/// Monday 2 March 2026, 10:00 in Tashkent.
const MONDAY: &str = "2026-03-02T05:00:00Z";

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_audit_log_says_what_changed_in_words_and_filters_by_who_what_and_when() {
    let s = demo_at(MONDAY).await;
    let admin = s.demo_token("admin").await;
    let users = s.demo_users().await;
    let services = s.demo_services().await;
    let head = s.demo_branches().await[0];
    let nilufar = users["operator"];

    // The admin gives Nilufar's window two services, and makes Bekzod a manager.
    let body = json!({"branch_id": head, "window": 1, "service_ids": [services["Kassa"], services["Kreditlar"]]});
    s.put(&c(DEMO, &format!("/operators/{nilufar}")), &admin, body).await.check(200);
    s.patch(&c(DEMO, &format!("/users/{}", users["employee"])), &admin, json!({"role": "manager"})).await.check(200);

    let all = s.get(&c(DEMO, "/audit"), &admin).await.check(200).body;
    let newest = items(&all);
    let window = newest.iter().find(|i| i["action"] == "operator.update").expect("the window change");
    let expected = format!(
        "{}: {} Kassa, Kreditlar",
        tf(UZ, "admin.audit.subject.window", &[("window", "1"), ("name", "Nilufar Xasanova")]),
        lower_first(t(UZ, "admin.audit.field.service_ids"))
    );
    assert_eq!(window["summary"], expected.as_str());
    assert_eq!(window["title"], t(UZ, "admin.audit.act.operator_update"));
    assert_eq!(window["kind"], "operator");
    let role = &newest[0];
    assert_eq!(role["action"], "user.update");
    let said = role["summary"].as_str().unwrap();
    assert!(
        said.starts_with("Bekzod Aliyev: ") && said.contains(t(UZ, "role.employee")) && said.contains(t(UZ, "role.manager")),
        "names, not ids or codes: {said}"
    );
    assert!(!said.contains("employee") && !said.contains("user:"), "{said}");

    // Who: the admin's two changes; the system's seeding, none of the admin's.
    let mine = items(&s.get(&c(DEMO, &format!("/audit?actor_id={}", users["admin"])), &admin).await.check(200).body);
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|i| i["actor_name"] == "Sardor Tursunov"));
    let system = items(&s.get(&c(DEMO, "/audit?actor_id=0"), &admin).await.check(200).body);
    assert!(!system.is_empty() && system.iter().all(|i| i["actor_id"] == 0));

    // What kind.
    let ops = items(&s.get(&c(DEMO, "/audit?kind=operator"), &admin).await.check(200).body);
    assert!(!ops.is_empty() && ops.iter().all(|i| i["kind"] == "operator"), "{ops:?}");
    s.get(&c(DEMO, "/audit?kind=nonsense"), &admin).await.refused(422, "validation");

    // When: today has them, tomorrow and yesterday do not.
    let today = items(&s.get(&c(DEMO, "/audit?from=2026-03-02&to=2026-03-02"), &admin).await.check(200).body);
    assert_eq!(today.len(), newest.len());
    assert!(items(&s.get(&c(DEMO, "/audit?from=2026-03-03"), &admin).await.check(200).body).is_empty());
    assert!(items(&s.get(&c(DEMO, "/audit?to=2026-03-01"), &admin).await.check(200).body).is_empty());
    s.get(&c(DEMO, "/audit?from=02.03.2026"), &admin).await.refused(422, "validation");

    // Pages keep the filter.
    let users_kind = items(&s.get(&c(DEMO, "/audit?kind=user"), &admin).await.check(200).body);
    assert!(users_kind.len() >= 3, "the demo's users and the change: {}", users_kind.len());
    let first = s.get(&c(DEMO, "/audit?kind=user&limit=2"), &admin).await.check(200).body;
    let cursor = first["next_cursor"].as_u64().expect("more to come");
    let next = items(&s.get(&c(DEMO, &format!("/audit?kind=user&limit=2&before={cursor}")), &admin).await.check(200).body);
    assert!(!next.is_empty() && next.iter().all(|i| i["kind"] == "user" && i["id"].as_u64().unwrap() < cursor));
    let ids: Vec<u64> = items(&first).iter().chain(next.iter()).map(|i| i["id"].as_u64().unwrap()).collect();
    let expect: Vec<u64> = users_kind.iter().take(ids.len()).map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, expect, "page after page, nothing skipped");
}

#[tokio::test]
async fn the_audit_page_shows_sentences_and_filters() {
    let s = demo_at(MONDAY).await;
    let admin = s.demo_token("admin").await;
    let users = s.demo_users().await;
    let services = s.demo_services().await;
    let head = s.demo_branches().await[0];
    let body = json!({"branch_id": head, "window": 1, "service_ids": [services["Kassa"], services["Kreditlar"]]});
    s.put(&c(DEMO, &format!("/operators/{}", users["operator"])), &admin, body).await.check(200);

    let b = s.browser(DEMO, "admin", idora::demo::PASSWORD).await;
    let page = b.get("admin/audit?kind=operator").await;
    assert_eq!(page.status, StatusCode::OK);
    let sentence = format!(
        "{}: {} Kassa, Kreditlar",
        tf(UZ, "admin.audit.subject.window", &[("window", "1"), ("name", "Nilufar Xasanova")]),
        lower_first(t(UZ, "admin.audit.field.service_ids"))
    );
    assert!(page.html.contains(&sentence), "{sentence} in {}", page.html);
    assert!(page.html.contains(t(UZ, "admin.audit.act.operator_update")));
    assert!(!page.html.contains(t(UZ, "admin.audit.act.user_create")), "only the kind asked for");
    // The filters: who by name, the kind chosen, the dates.
    assert!(page.html.contains(r#"name="who""#) && page.html.contains(">Nilufar Xasanova</option>"));
    assert!(page.html.contains(r#"<option value="operator" selected>"#), "{}", page.html);
    assert!(page.html.contains(r#"type="date" name="from""#) && page.html.contains(r#"type="date" name="to""#));
    let none = b.get("admin/audit?from=2026-03-03").await;
    assert!(none.html.contains(t(UZ, "admin.audit.none_match")));
}
