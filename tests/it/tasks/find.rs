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

    // The API searches the same lists.
    let api = |who: &'static str, within: &'static str| {
        let w = &w;
        async move {
            let (s, v) = w.get(who, &format!("/search/tasks?q=hisobot&within={within}")).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let mut ids: Vec<u64> = v["items"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(api("employee", "mine").await, vec![mine]);
    assert_eq!(api("manager", "given").await, vec![mine, across]);
    assert_eq!(api("manager", "review").await, vec![mine]);
    assert_eq!(api("director", "approval").await, vec![across]);
    assert_eq!(api("employee", "approval").await, Vec::<u64>::new());
    assert_eq!(api("director", "all").await, vec![mine, other, across]);
    let (s, v) = w.get("director", "/search/tasks?q=hisobot&within=everything").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("within")), "{v}");
}

/// The usernames `who` gets from `GET /users` with `query`.
async fn users(w: &World, who: &str, query: &str) -> Vec<String> {
    let (s, v) = w.get(who, &format!("/users?{query}")).await;
    assert_eq!(s, StatusCode::OK, "{who} lists users with {query}: {v}");
    v.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_users_list_searches_and_filters_by_role_department_branch_and_state() {
    let w = world().await;
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["employee"]), json!({"full_name": "Бекзод Тедеев"})).await;
    assert_eq!(s, StatusCode::OK);
    let employee = w.get("admin", &format!("/users/{}", w.ids["employee"])).await.1;
    let everyone = users(&w, "admin", "").await;
    assert!(everyone.len() >= 6, "{everyone:?}");

    // Words in any script, any case, in the name or the username.
    assert_eq!(users(&w, "admin", "q=bekzod").await, vec!["employee"], "a Latin word finds a Cyrillic name");
    assert_eq!(users(&w, "admin", "q=TEDEEV").await, vec!["employee"]);
    assert_eq!(users(&w, "admin", "q=manag").await, vec!["manager"], "part of a username");
    assert_eq!(users(&w, "admin", "role=manager").await, vec!["manager"]);
    let dept = employee["department_id"].as_u64().unwrap();
    let in_dept = users(&w, "admin", &format!("department_id={dept}")).await;
    assert!(in_dept.contains(&"employee".to_string()) && !in_dept.contains(&"operator".to_string()), "{in_dept:?}");
    if let Some(branch) = employee["branch_id"].as_u64() {
        assert!(users(&w, "admin", &format!("branch_id={branch}")).await.contains(&"employee".to_string()));
    }
    assert_eq!(users(&w, "admin", &format!("q=bekzod&role=employee&department_id={dept}&active=true")).await, vec!["employee"]);
    assert_eq!(users(&w, "admin", "q=bekzod&role=manager").await, Vec::<String>::new(), "every filter narrows");

    // Switched off: listed last, and alone under active=false.
    let (s, _) = w.patch("admin", &format!("/users/{}", w.ids["operator"]), json!({"active": false})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(users(&w, "admin", "active=false").await, vec!["operator"]);
    assert!(!users(&w, "admin", "active=true").await.contains(&"operator".to_string()));
    assert_eq!(users(&w, "admin", "").await.last().map(String::as_str), Some("operator"), "active users first");

    // Bad input is a 422 naming the field; without users.view, a 403.
    let (s, v) = w.get("admin", "/users?role=wizard").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("role")), "{v}");
    let (s, v) = w.get("admin", &format!("/users?q={}", "x".repeat(201))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("q")), "{v}");
    let (s, v) = w.get("admin", "/users?active=maybe").await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")), "an unreadable parameter, as documented");
    let (s, _) = w.get("employee", "/users?q=bekzod").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The page: the same query through its form.
    let r =
        w.s.web
            .get(format!("{}/c/demo/admin/users", w.s.base))
            .query(&[("q", "бекзод"), ("active", "yes")])
            .bearer_auth(&w.tokens["admin"])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"type="search" name="q""#) && html.contains(r#"name="role""#) && html.contains(r#"name="branch_id""#));
    assert!(html.contains(">employee<"), "the match is listed");
    assert!(!html.contains(">manager<") && !html.contains(">operator<"), "the others are not");
}
