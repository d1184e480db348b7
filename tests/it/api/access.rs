//! Tenant isolation and role changes: a token of one company is refused by
//! every endpoint of another, and a new role applies to the next request.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Every company endpoint that takes a signed-in user, from the OpenAPI
/// document made from the server's own route registrations (a JSON API
/// route is registered together with its entry, so a new one is covered the
/// day it is added), plus the console pages.
fn company_endpoints() -> Vec<(Method, String)> {
    let doc: Value = serde_json::to_value(idora::web::openapi::document()).unwrap();
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let Some(rest) = path.strip_prefix("/c/{slug}") else { continue };
        for (method, op) in ops.as_object().unwrap() {
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            if !secured {
                continue;
            }
            out.push((method.to_uppercase().parse().unwrap(), rest.to_string()));
        }
    }
    assert!(out.len() >= 25, "the OpenAPI document names the company endpoints: {out:?}");
    assert!(out.contains(&(Method::GET, "/api/v1/live".to_string())), "the live socket is in the document");
    for (m, p) in [
        ("GET", "/profile"),
        ("POST", "/profile"),
        ("GET", "/admin"),
        ("GET", "/admin/users"),
        ("GET", "/admin/users/new"),
        ("POST", "/admin/users/new"),
        ("GET", "/admin/users/{id}"),
        ("POST", "/admin/users/{id}"),
        ("POST", "/admin/users/{id}/password"),
        ("GET", "/admin/departments"),
        ("POST", "/admin/departments"),
        ("POST", "/admin/departments/{id}"),
        ("POST", "/admin/departments/{id}/deactivate"),
        ("GET", "/admin/branches"),
        ("GET", "/admin/branches/new"),
        ("POST", "/admin/branches/new"),
        ("GET", "/admin/branches/{id}"),
        ("POST", "/admin/branches/{id}"),
        ("GET", "/admin/roles"),
        ("POST", "/admin/roles"),
        ("GET", "/admin/branding"),
        ("POST", "/admin/branding"),
        ("GET", "/admin/company"),
        ("POST", "/admin/company"),
        ("GET", "/admin/audit"),
        ("GET", "/admin/categories"),
        ("POST", "/admin/categories"),
        ("GET", "/tasks"),
        ("GET", "/tasks/new"),
        ("POST", "/tasks/new"),
        ("GET", "/tasks/{id}"),
        ("GET", "/calendar"),
        ("GET", "/notifications"),
        ("POST", "/notifications/read"),
        ("GET", "/operator"),
        ("GET", "/operator/queue"),
        ("POST", "/operator/call-next"),
        ("POST", "/operator/break"),
        ("POST", "/operator/walk-in"),
        ("POST", "/operator/tickets/{id}/cancel"),
        ("GET", "/admin/queue/services"),
        ("POST", "/admin/queue/services/new"),
        ("POST", "/admin/queue/services/{id}"),
        ("POST", "/admin/queue/settings"),
        ("GET", "/admin/queue/operators"),
        ("POST", "/admin/queue/operators/{id}"),
        ("POST", "/admin/queue/operators/{id}/remove"),
        ("GET", "/queue/stats"),
    ] {
        out.push((m.parse().unwrap(), p.to_string()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_one_company_is_refused_by_every_endpoint_of_another() {
    let s = start().await;
    let a = s.company("alpha", true).await;
    let b = s.company("bravo", true).await;
    let root = s.root().await;
    // Company B has real rows under the ids we will ask for.
    let dept = s.post(&b.path("/departments"), &b.admin, json!({"name": "Kassa"})).await.check(201).id();
    let branch = s.post(&b.path("/branches"), &b.admin, json!({"name": "Filial"})).await.check(201).id();
    assert_eq!(dept, branch, "ids overlap between tables: the test asks for rows that exist");
    let before = s.get(&b.path("/audit"), &b.admin).await.check(200).body["items"].as_array().unwrap().len();

    let endpoints = company_endpoints();
    for (method, rest) in &endpoints {
        let path = format!("/c/bravo{}", rest.replace("{id}", &b.admin_id.to_string()).replace("{role}", "manager"));
        let api = path.contains("/api/v1");
        for (who, token) in [("company alpha's admin", &a.admin), ("the platform admin", &root)] {
            let mut req = s.req(method.clone(), &path, token);
            if *method != Method::GET {
                req = if api { req.json(&json!({"name": "hijack", "role": "owner"})) } else { req.form(&[("name", "hijack")]) };
            }
            let r = s.send(req).await;
            assert_eq!(r.status.as_u16(), 403, "{method} {path} with {who}'s token: {} {}", r.status, r.text);
            if api {
                assert_eq!(r.kind(), "wrong_company", "{method} {path} with {who}'s token: {}", r.text);
            }
        }
        // And the same endpoint does work for its own company (so the
        // refusal above is about the company, not a broken route).
        if *method == Method::GET && api && !rest.ends_with("/live") {
            let own = s.get(&path, &b.admin).await;
            let code = own.status.as_u16();
            assert!(code < 500 && code != 401 && own.kind() != "wrong_company", "{path} for bravo's admin: {} {}", own.status, own.text);
        }
    }

    // Company B is untouched: no audit entry, no new department.
    let after = s.get(&b.path("/audit"), &b.admin).await.check(200).body["items"].as_array().unwrap().len();
    assert_eq!(after, before);
    let depts = s.get(&b.path("/departments"), &b.admin).await.check(200);
    assert_eq!(depts.body.as_array().unwrap().len(), 1);

    // Sessions do not cross either: A's refresh token means nothing to B,
    // and "logging out" of B with it leaves A's session alone.
    s.post(&b.path("/auth/refresh"), "", json!({"refresh_token": a.admin_refresh})).await.refused(401, "unauthorized");
    s.post(&b.path("/auth/logout"), "", json!({"refresh_token": a.admin_refresh})).await.check(204);
    s.post(&a.path("/auth/refresh"), "", json!({"refresh_token": a.admin_refresh})).await.check(200);
    // A's username and password do not open B, though both have a "boss".
    s.post(&a.path("/users"), &a.admin, json!({"username": "only-in-a", "role": "employee", "password": USER_PASSWORD})).await.check(201);
    s.login("bravo", "only-in-a", USER_PASSWORD).await.refused(401, "invalid_credentials");
    // A live token of A does not read B's stream.
    let live = s.post(&a.path("/live/token"), &a.admin, json!({"topics": [format!("user:{}", a.admin_id)]})).await.check(200).str("token");
    s.get(&format!("{}?token={live}", b.path("/live/events")), "").await.refused(403, "wrong_company");
}

#[tokio::test]
async fn a_role_change_applies_to_the_very_next_request() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (id, token) = s.user(&co, "aziz", "employee").await;

    s.get(&co.path("/users"), &token).await.refused(403, "forbidden");

    // The admin makes them a manager: the same token may now list users.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"role": "manager"})).await.check(200);
    s.get(&co.path("/users"), &token).await.check(200);
    let me = s.get(&co.path("/me"), &token).await.check(200);
    assert_eq!(me.body["role"], "manager");
    assert!(me.body["permissions"].as_array().unwrap().contains(&json!("users.view")));

    // The admin takes the permission from the role: refused at once.
    let r = s.put(&co.path("/roles/manager"), &co.admin, json!({"permissions": ["tasks.create", "audit.view"]})).await.check(200);
    assert_eq!(r.body["permissions"], json!(["audit.view", "tasks.create"]));
    s.get(&co.path("/users"), &token).await.refused(403, "forbidden");
    let me = s.get(&co.path("/me"), &token).await.check(200);
    assert_eq!(me.body["permissions"], json!(["audit.view", "tasks.create"]), "/me lists them sorted");

    // And gives it back, and more: allowed at once, even to manage users.
    let perms = json!({"permissions": ["users.view", "users.manage", "audit.view"]});
    s.put(&co.path("/roles/manager"), &co.admin, perms).await.check(200);
    s.get(&co.path("/users"), &token).await.check(200);
    s.post(&co.path("/users"), &token, json!({"username": "newbie", "role": "employee", "password": USER_PASSWORD})).await.check(201);

    // Back to employee: refused again, with the very same token.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"role": "employee"})).await.check(200);
    s.get(&co.path("/users"), &token).await.refused(403, "forbidden");
    s.post(&co.path("/users"), &token, json!({"username": "newbie2", "role": "employee"})).await.refused(403, "forbidden");
}

/// Whether the core refused the read as forbidden.
fn forbidden<T>(r: Result<T, idora::error::AppError>) -> bool {
    matches!(r, Err(e) if e.kind == idora::error::ErrorKind::Forbidden)
}

#[tokio::test]
async fn the_core_checks_who_reads_users_operators_and_the_queue_boards() {
    use idora::auth::{Caller, Principal};
    use idora::org::service as org;
    use idora::queue::{service as queue, tickets};
    let s = start().await;
    let co = s.company("acme", true).await;
    let branch = s.post(&co.path("/branches"), &co.admin, json!({"name": "Filial"})).await.check(201).id();
    let (emp, _) = s.user(&co, "aziz", "employee").await;
    let tenant = s.state().tenants.get("acme").unwrap();
    let db = tenant.db().unwrap();
    let as_user = |id| Caller::User(Box::new(Principal::load(&tenant, id, String::new(), idora::i18n::Lang::Uz).unwrap()));
    let (admin, employee) = (as_user(co.admin_id), as_user(emp));
    let outsiders = [Caller::Public, Caller::Customer("token".into()), Caller::Platform { id: 1, name: "root".into() }];
    let day = 1;

    // Whole accounts: with users.view only. Names: any company user.
    assert_eq!(org::list_users(db, &admin).unwrap().len(), 2);
    assert!(forbidden(org::list_users(db, &employee)));
    let colleagues = org::directory(db, &employee).unwrap();
    assert!(colleagues.iter().any(|(id, c)| *id == emp && c.name == "aziz full" && c.active));
    // Operators and the staff's board: with queue.operate or queue.manage.
    assert!(queue::list_operators(db, &admin).unwrap().is_empty());
    assert!(queue::operator_candidates(db, &admin).is_ok());
    assert!(tickets::queue_of(db, &admin, branch, day).unwrap().is_empty());
    assert!(forbidden(queue::list_operators(db, &employee)));
    assert!(forbidden(queue::operator_candidates(db, &employee)));
    assert!(forbidden(tickets::queue_of(db, &employee, branch, day)));
    assert!(forbidden(tickets::waiting_at(db, &employee, branch, day)));
    for who in &outsiders {
        assert!(forbidden(org::list_users(db, who)));
        assert!(forbidden(org::directory(db, who)));
        assert!(forbidden(queue::list_operators(db, who)));
        assert!(forbidden(tickets::queue_of(db, who, branch, day)));
        assert!(forbidden(tickets::waiting_at(db, who, branch, day)));
    }
    // The hall's board is public by design; a platform admin reads nothing.
    for who in [Caller::Public, Caller::Customer("token".into()), admin.clone()] {
        assert!(tickets::board_calls(&tenant, &who, branch, day).unwrap().is_empty());
        assert!(tickets::waiting_counts(db, &who, branch, day).unwrap().is_empty());
    }
    let platform = Caller::Platform { id: 1, name: "root".into() };
    assert!(forbidden(tickets::board_calls(&tenant, &platform, branch, day)));
    assert!(forbidden(tickets::waiting_counts(db, &platform, branch, day)));
}
