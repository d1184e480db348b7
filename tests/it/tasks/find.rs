//! Search on every task tab, as each role sees it: a tab searches its own
//! list (mine, given, the department, everything, an inbox), and never more
//! than the caller may see.

use super::*;

/// The tasks a task tab lists as `who` sees it, searching `q`.
async fn found(w: &World, who: &str, tab: &str, q: &str) -> Vec<u64> {
    let r =
        w.s.web
            .get(format!("{}/c/demo/tasks", w.s.base))
            .query(&[("tab", tab), ("q", q)])
            .bearer_auth(&w.tokens[who])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{who} searches {tab}");
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"type="search" name="q""#), "{who}'s {tab} tab has a search box");
    let mut ids: Vec<u64> =
        html.split("/c/demo/tasks/").skip(1).filter_map(|s| s.split('"').next().and_then(|id| id.parse().ok())).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[tokio::test]
async fn each_tab_searches_its_own_list_within_what_the_role_may_see() {
    let w = world().await;
    let mine = w.task("manager", "employee", "Oylik hisobot").await["id"].as_u64().unwrap();
    let other = w.task("director", "operator", "Kassa hisobot").await["id"].as_u64().unwrap();
    let across = w.task("manager", "operator", "Navbat hisobot").await;
    assert_eq!(across["status"], "awaiting_approval");
    let across = across["id"].as_u64().unwrap();
    w.move_to("employee", mine, "in_progress", None).await;
    w.move_to("employee", mine, "pending_review", None).await;
    search_until(&w, "director", &[("q", "hisobot")], 3).await;

    // Everything the director may see.
    assert_eq!(found(&w, "director", "all", "hisobot").await, vec![mine, other, across]);
    assert_eq!(found(&w, "director", "all", "kassa").await, vec![other]);
    // One's own: assigned to me, given by me.
    assert_eq!(found(&w, "employee", "mine", "hisobot").await, vec![mine]);
    assert_eq!(found(&w, "operator", "mine", "hisobot").await, vec![other, across], "the operator's own, not the employee's");
    assert_eq!(found(&w, "manager", "mine", "hisobot").await, Vec::<u64>::new());
    assert_eq!(found(&w, "manager", "given", "hisobot").await, vec![mine, across]);
    // The inboxes: what waits for this caller and matches.
    assert_eq!(found(&w, "manager", "review", "oylik").await, vec![mine]);
    assert_eq!(found(&w, "manager", "review", "kassa").await, Vec::<u64>::new());
    assert_eq!(found(&w, "director", "approval", "navbat").await, vec![across]);
    assert_eq!(found(&w, "director", "approval", "oylik").await, Vec::<u64>::new(), "handed in, not awaiting approval");
    // The department board searches the manager's department only.
    assert_eq!(found(&w, "manager", "department", "hisobot").await, vec![mine]);
    // A tab the role does not have falls back to its own tasks.
    assert_eq!(found(&w, "employee", "all", "kassa").await, Vec::<u64>::new());
}
