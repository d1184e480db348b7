//! The company admin's API: me, users, departments, branches, roles, audit.

use crate::support::*;
use idora::i18n::Lang;
use serde_json::{Value, json};

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|v| v[key] == value).unwrap_or_else(|| panic!("no {key}={value} in {list}"))
}

#[tokio::test]
async fn me_tells_who_i_am_and_what_i_may_do() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let me = s.get(&co.path("/me"), &co.admin).await.check(200);
    for field in ["id", "username", "full_name", "role", "permissions"] {
        assert!(me.body.get(field).is_some(), "{field} in {}", me.text);
    }
    assert_eq!(me.body["username"], "boss");
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["company"], "acme");
    let perms: Vec<&str> = me.body["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    for p in ["users.view", "users.manage", "departments.manage", "branches.manage", "roles.manage", "audit.view", "company.setup"] {
        assert!(perms.contains(&p), "admin has {p}: {perms:?}");
    }
    assert!(!perms.contains(&"tasks.approve"));

    let (_, employee) = s.user(&co, "aziz", "employee").await;
    let me = s.get(&co.path("/me"), &employee).await.check(200);
    assert_eq!(me.body["role"], "employee");
    assert_eq!(me.body["full_name"], "aziz full");
    assert_eq!(me.body["permissions"], json!([]), "an employee holds no permission the product checks");

    s.get(&co.path("/me"), "").await.refused(401, "unauthorized");
    s.get(&co.path("/me"), "a.b.c").await.refused(401, "unauthorized");
}

#[tokio::test]
async fn users_are_created_read_and_changed() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let dept = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201).id();
    let branch = s.post(&co.path("/branches"), &co.admin, json!({"name": "Bosh ofis", "address": "Toshkent"})).await.check(201).id();

    // Created with everything; the phone is stored in one normal form.
    let body = json!({
        "username": "Aziz.K", "full_name": "Aziz Karimov", "phone": "+998 (90) 123-45-67", "role": "manager",
        "department_id": dept, "branch_id": branch, "password": USER_PASSWORD, "language": "ru",
    });
    let u = s.post(&co.path("/users"), &co.admin, body).await.check(201);
    let id = u.id();
    assert_eq!(u.body["username"], "aziz.k");
    assert_eq!(u.body["full_name"], "Aziz Karimov");
    assert_eq!(u.body["phone"], "+998901234567");
    assert_eq!(u.body["role"], "manager");
    assert_eq!(u.body["department_id"], dept);
    assert_eq!(u.body["branch_id"], branch);
    assert_eq!(u.body["active"], true);
    assert_eq!(u.body["language"], "ru");
    assert!(u.body.get("password").is_none(), "a given password is never echoed");
    assert!(u.body.get("password_hash").is_none() && !u.text.contains("argon2"), "no hash leaks: {}", u.text);

    // Without a password: one is generated, shown once, and works.
    let g = s.post(&co.path("/users"), &co.admin, json!({"username": "bek", "role": "employee", "phone": "90 765 43 21"})).await.check(201);
    assert_eq!(g.body["phone"], "+998907654321");
    let generated = g.str("password");
    s.login("acme", "bek", &generated).await.check(200);
    let bek = g.id();

    // Read: the list and one.
    let list = s.get(&co.path("/users"), &co.admin).await.check(200);
    assert_eq!(list.body.as_array().unwrap().len(), 3);
    assert!(!list.text.contains("argon2"));
    let one = s.get(&co.path(&format!("/users/{id}")), &co.admin).await.check(200);
    assert_eq!(one.body["username"], "aziz.k");
    s.get(&co.path("/users/999999"), &co.admin).await.refused(404, "not_found");
    s.get(&co.path("/users/abc"), &co.admin).await.refused(404, "not_found");

    // Change every field the contract names.
    let other_branch = s.post(&co.path("/branches"), &co.admin, json!({"name": "Chilonzor"})).await.check(201).id();
    let patch = json!({
        "role": "director", "full_name": "  Aziz K. Karimov ", "phone": "998 90 111 22 33",
        "department_id": null, "branch_id": other_branch, "password": "another-pass-1",
    });
    let r = s.patch(&co.path(&format!("/users/{id}")), &co.admin, patch).await.check(200);
    assert_eq!(r.body["role"], "director");
    assert_eq!(r.body["full_name"], "Aziz K. Karimov");
    assert_eq!(r.body["phone"], "+998901112233");
    assert_eq!(r.body["department_id"], Value::Null);
    assert_eq!(r.body["branch_id"], other_branch);
    s.login("acme", "aziz.k", USER_PASSWORD).await.refused(401, "invalid_credentials");
    let token = s.login("acme", "aziz.k", "another-pass-1").await.check(200).str("access_token");
    // A password an admin set is the user's to replace before anything else.
    s.get(&co.path("/me"), &token).await.refused(403, "password_change_required");
    let body = json!({"current_password": "another-pass-1", "new_password": "aziz-own-pass-1"});
    assert_eq!(s.post(&co.path("/me/password"), &token, body).await.status, reqwest::StatusCode::NO_CONTENT);
    // Clearing the phone, and the untouched fields stay.
    let r = s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"phone": null})).await.check(200);
    assert_eq!(r.body["phone"], Value::Null);
    assert_eq!(r.body["role"], "director");

    // Deactivated: no login, and the open session stops at once.
    let r = s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"active": false})).await.check(200);
    assert_eq!(r.body["active"], false);
    s.get(&co.path("/me"), &token).await.refused(403, "account_inactive");
    s.login("acme", "aziz.k", "aziz-own-pass-1").await.refused(403, "account_inactive");
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"active": true})).await.check(200);
    s.get(&co.path("/me"), &token).await.check(200);

    // Refusals, each naming the field.
    let cases = [
        (json!({"username": "bek", "role": "employee"}), 409, "conflict", ""),
        (json!({"username": "BEK", "role": "employee"}), 409, "conflict", ""),
        (json!({"username": "x", "role": "employee"}), 422, "validation", "username"),
        (json!({"username": "ok-name", "role": "king"}), 422, "validation", "role"),
        (json!({"username": "ok-name", "role": "employee", "phone": "12345"}), 422, "validation", "phone"),
        (json!({"username": "ok-name", "role": "employee", "phone": "call me"}), 422, "validation", "phone"),
        (json!({"username": "ok-name", "role": "employee", "password": "short"}), 422, "validation", "password"),
        (json!({"username": "ok-name", "role": "employee", "department_id": 4242}), 422, "validation", "department_id"),
        (json!({"username": "ok-name", "role": "employee", "branch_id": 4242}), 422, "validation", "branch_id"),
        (json!({"username": "ok-name", "role": "employee", "language": "de"}), 422, "validation", "language"),
        (json!({"username": "ok-name", "role": "employee", "full_name": "a".repeat(200)}), 422, "validation", "full_name"),
        (json!({"username": "ok-name", "role": "employee", "salary": 1}), 422, "validation", ""),
        (json!({"role": "employee"}), 422, "validation", ""),
    ];
    for (body, status, kind, field) in cases {
        let r = s.post(&co.path("/users"), &co.admin, body.clone()).await.refused(status, kind);
        assert_eq!(r.field(), field, "{body}: {}", r.text);
    }
    let user = co.path(&format!("/users/{bek}"));
    for (body, field) in [
        (json!({"role": "king"}), "role"),
        (json!({"phone": "+1"}), "phone"),
        (json!({"password": "short"}), "password"),
        (json!({"department_id": 4242}), "department_id"),
        (json!({"branch_id": 4242}), "branch_id"),
    ] {
        let r = s.patch(&user, &co.admin, body.clone()).await.refused(422, "validation");
        assert_eq!(r.field(), field, "{body}: {}", r.text);
    }
    s.patch(&user, &co.admin, json!({"active": "yes"})).await.refused(422, "validation");
    s.patch(&co.path("/users/999999"), &co.admin, json!({"full_name": "X"})).await.refused(404, "not_found");
    // An admin cannot lock themselves out.
    s.patch(&co.path(&format!("/users/{}", co.admin_id)), &co.admin, json!({"active": false})).await.refused(409, "conflict");
    s.patch(&co.path(&format!("/users/{}", co.admin_id)), &co.admin, json!({"role": "employee"})).await.refused(409, "conflict");
    // A deactivated department cannot take new people.
    s.patch(&co.path(&format!("/departments/{dept}")), &co.admin, json!({"active": false})).await.check(200);
    let r = s.patch(&user, &co.admin, json!({"department_id": dept})).await.refused(422, "validation");
    assert_eq!(r.field(), "department_id");

    // Who may do what: an employee reads themselves only and changes nobody.
    let (me_id, employee) = s.user(&co, "oddiy", "employee").await;
    s.get(&co.path("/users"), &employee).await.refused(403, "forbidden");
    s.get(&co.path(&format!("/users/{me_id}")), &employee).await.check(200);
    s.get(&co.path(&format!("/users/{bek}")), &employee).await.refused(403, "forbidden");
    s.post(&co.path("/users"), &employee, json!({"username": "sneaky", "role": "owner"})).await.refused(403, "forbidden");
    s.patch(&co.path(&format!("/users/{me_id}")), &employee, json!({"role": "admin"})).await.refused(403, "forbidden");
}

#[tokio::test]
async fn departments_are_created_listed_and_changed() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let d = s.post(&co.path("/departments"), &co.admin, json!({"name": "  Kredit bo‘limi "})).await.check(201);
    assert_eq!(d.body["name"], "Kredit bo‘limi");
    assert_eq!(d.body["active"], true);
    let id = d.id();
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);

    let list = s.get(&co.path("/departments"), &co.admin).await.check(200);
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    find(&list.body, "name", "Kassa");

    s.post(&co.path("/departments"), &co.admin, json!({"name": "KASSA"})).await.refused(409, "conflict");
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": " "})).await.refused(422, "validation");
    assert_eq!(r.field(), "name");
    s.post(&co.path("/departments"), &co.admin, json!({"name": "a".repeat(81)})).await.refused(422, "validation");
    s.post(&co.path("/departments"), &co.admin, json!({})).await.refused(422, "validation");

    let r = s.patch(&co.path(&format!("/departments/{id}")), &co.admin, json!({"name": "Kreditlar"})).await.check(200);
    assert_eq!(r.body["name"], "Kreditlar");
    s.patch(&co.path(&format!("/departments/{id}")), &co.admin, json!({"name": "Kassa"})).await.refused(409, "conflict");
    let r = s.patch(&co.path(&format!("/departments/{id}")), &co.admin, json!({"active": false})).await.check(200);
    assert_eq!(r.body["active"], false);
    // An inactive department's name is free again.
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kreditlar"})).await.check(201);
    s.patch(&co.path("/departments/999999"), &co.admin, json!({"name": "X"})).await.refused(404, "not_found");

    // Everyone may read them; only those with the permission change them.
    let (_, employee) = s.user(&co, "aziz", "employee").await;
    s.get(&co.path("/departments"), &employee).await.check(200);
    s.post(&co.path("/departments"), &employee, json!({"name": "Mine"})).await.refused(403, "forbidden");
    s.patch(&co.path(&format!("/departments/{id}")), &employee, json!({"name": "Mine"})).await.refused(403, "forbidden");
}

#[tokio::test]
async fn branches_keep_their_working_hours() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let hours = json!({
        "mon": ["09:00", "18:00"], "tue": ["09:00", "18:00"], "wed": ["09:00", "18:00"],
        "thu": ["09:00", "18:00"], "fri": ["09:00", "17:30"], "sat": ["10:00", "14:00"], "sun": null,
    });
    let b =
        s.post(&co.path("/branches"), &co.admin, json!({"name": "Bosh ofis", "address": "Amir Temur 1", "hours": hours})).await.check(201);
    let id = b.id();
    assert_eq!(b.body["name"], "Bosh ofis");
    assert_eq!(b.body["address"], "Amir Temur 1");
    assert_eq!(b.body["hours"], hours);
    assert_eq!(b.body["active"], true);

    // No hours: open around the clock.
    let open = s.post(&co.path("/branches"), &co.admin, json!({"name": "24/7"})).await.check(201);
    assert_eq!(open.body["hours"], Value::Null);
    assert_eq!(open.body["address"], "");

    let list = s.get(&co.path("/branches"), &co.admin).await.check(200);
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    assert_eq!(find(&list.body, "name", "Bosh ofis")["hours"]["sun"], Value::Null);
    let one = s.get(&co.path(&format!("/branches/{id}")), &co.admin).await.check(200);
    assert_eq!(one.body["hours"]["fri"], json!(["09:00", "17:30"]));
    s.get(&co.path("/branches/999999"), &co.admin).await.refused(404, "not_found");

    // Bad hours are told, with the day.
    for bad in [
        json!({"mon": ["9", "18:00"]}),
        json!({"mon": ["25:00", "26:00"]}),
        json!({"tue": ["18:00", "09:00"]}),
        json!({"wed": ["09:00", "09:00"]}),
        json!({"thu": ["09:60", "18:00"]}),
    ] {
        let r = s.post(&co.path("/branches"), &co.admin, json!({"name": "Bad", "hours": bad.clone()})).await.refused(422, "validation");
        assert_eq!(r.field(), "hours", "{bad}: {}", r.text);
        let day = bad.as_object().unwrap().keys().next().unwrap().clone();
        assert!(r.message().contains(&day), "the message names {day}: {}", r.message());
    }
    // Wrong shapes.
    for bad in [json!({"mon": ["09:00"]}), json!({"mon": "09:00-18:00"}), json!({"monday": ["09:00", "18:00"]}), json!([1, 2])] {
        s.post(&co.path("/branches"), &co.admin, json!({"name": "Bad", "hours": bad})).await.refused(422, "validation");
    }
    s.patch(&co.path(&format!("/branches/{id}")), &co.admin, json!({"hours": {"sat": ["14:00", "10:00"]}}))
        .await
        .refused(422, "validation");
    s.post(&co.path("/branches"), &co.admin, json!({"name": "bosh OFIS"})).await.refused(409, "conflict");

    // Change: name, address, new hours, then around the clock, then closed.
    let r = s
        .patch(
            &co.path(&format!("/branches/{id}")),
            &co.admin,
            json!({"name": "Markaziy", "address": "Yunusobod", "hours": {"mon": ["08:00", "24:00"]}}),
        )
        .await
        .check(200);
    assert_eq!(r.body["name"], "Markaziy");
    assert_eq!(r.body["address"], "Yunusobod");
    assert_eq!(r.body["hours"]["mon"], json!(["08:00", "24:00"]));
    assert_eq!(r.body["hours"]["tue"], Value::Null, "days left out are closed");
    let r = s.patch(&co.path(&format!("/branches/{id}")), &co.admin, json!({"address": "Yunusobod 2"})).await.check(200);
    assert_eq!(r.body["hours"]["mon"], json!(["08:00", "24:00"]), "hours left out stay");
    let r = s.patch(&co.path(&format!("/branches/{id}")), &co.admin, json!({"hours": null})).await.check(200);
    assert_eq!(r.body["hours"], Value::Null);
    let r = s.patch(&co.path(&format!("/branches/{id}")), &co.admin, json!({"active": false})).await.check(200);
    assert_eq!(r.body["active"], false);
    s.patch(&co.path("/branches/999999"), &co.admin, json!({"name": "X"})).await.refused(404, "not_found");

    let (_, employee) = s.user(&co, "aziz", "employee").await;
    s.get(&co.path("/branches"), &employee).await.check(200);
    s.post(&co.path("/branches"), &employee, json!({"name": "Mine"})).await.refused(403, "forbidden");
    s.patch(&co.path(&format!("/branches/{id}")), &employee, json!({"name": "Mine"})).await.refused(403, "forbidden");
}

#[tokio::test]
async fn the_role_matrix_is_read_and_edited_but_the_owner_is_fixed() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let roles = s.get(&co.path("/roles"), &co.admin).await.check(200);
    let names: Vec<&str> = roles.body.as_array().unwrap().iter().map(|r| r["role"].as_str().unwrap()).collect();
    assert_eq!(names, ["owner", "director", "admin", "manager", "employee", "operator"]);
    let owner = find(&roles.body, "role", "owner");
    assert_eq!(owner["editable"], false);
    // Only the permissions something checks are offered: the owner holds
    // them all, and the reserved one (chat) appears nowhere in the matrix.
    let offered: Vec<&str> = owner["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(offered.len(), 20, "{offered:?}");
    assert!(offered.contains(&"reports.view_department"), "department reports are checked now");
    assert!(offered.contains(&"tasks.approve") && offered.contains(&"queue.operate") && offered.contains(&"company.setup"));
    assert!(offered.contains(&"requests.handle") && offered.contains(&"requests.manage"), "requests are checked now");
    for reserved in ["chat.use"] {
        assert!(!roles.text.contains(reserved), "{reserved} is offered: {}", roles.text);
        let r = s.put(&co.path("/roles/manager"), &co.admin, json!({"permissions": [reserved]})).await.refused(422, "validation");
        assert!(r.message().contains(reserved), "{}", r.message());
    }
    assert_eq!(find(&roles.body, "role", "operator")["permissions"], json!(["queue.operate"]));

    let r = s
        .put(&co.path("/roles/operator"), &co.admin, json!({"permissions": ["audit.view", "queue.operate", "users.view", "audit.view"]}))
        .await
        .check(200);
    assert_eq!(r.body["role"], "operator");
    assert_eq!(r.body["permissions"], json!(["users.view", "audit.view", "queue.operate"]), "deduplicated, in the matrix's order");
    let roles = s.get(&co.path("/roles"), &co.admin).await.check(200);
    assert_eq!(find(&roles.body, "role", "operator")["permissions"], json!(["users.view", "audit.view", "queue.operate"]));

    let r = s.put(&co.path("/roles/owner"), &co.admin, json!({"permissions": []})).await.refused(422, "validation");
    assert_eq!(r.message(), msg(Lang::En, "validation.owner_fixed"));
    s.put(&co.path("/roles/king"), &co.admin, json!({"permissions": []})).await.refused(404, "not_found");
    let r = s.put(&co.path("/roles/manager"), &co.admin, json!({"permissions": ["fly"]})).await.refused(422, "validation");
    assert_eq!(r.field(), "permissions");
    assert!(r.message().contains("fly"), "{}", r.message());
    s.put(&co.path("/roles/manager"), &co.admin, json!({"permissions": "all"})).await.refused(422, "validation");

    let (_, manager) = s.user(&co, "malika", "manager").await;
    s.get(&co.path("/roles"), &manager).await.check(200);
    s.put(&co.path("/roles/manager"), &manager, json!({"permissions": ["roles.manage"]})).await.refused(403, "forbidden");
}

#[tokio::test]
async fn the_audit_log_tells_who_did_what_and_what_changed() {
    let s = start().await;
    let co = s.company("acme", true).await;
    s.patch(&co.path(&format!("/users/{}", co.admin_id)), &co.admin, json!({"full_name": "Sardor Tursunov"})).await.check(200);
    let admin = s.login("acme", "boss", ADMIN_PASSWORD).await.check(200).str("access_token");
    let id = s.add_user(&co, "aziz", "employee").await;
    s.patch(&co.path(&format!("/users/{id}")), &admin, json!({"role": "manager", "password": "secret-new-1"})).await.check(200);
    let dept = s.post(&co.path("/departments"), &admin, json!({"name": "Kassa"})).await.check(201).id();
    s.patch(&co.path(&format!("/departments/{dept}")), &admin, json!({"name": "Kassa-2"})).await.check(200);
    let hours = json!({"mon": ["09:00", "18:00"]});
    let branch = s.post(&co.path("/branches"), &admin, json!({"name": "Filial", "hours": hours})).await.check(201).id();
    s.patch(&co.path(&format!("/branches/{branch}")), &admin, json!({"hours": null})).await.check(200);
    s.put(&co.path("/roles/operator"), &admin, json!({"permissions": ["audit.view"]})).await.check(200);

    let audit = s.get(&co.path("/audit"), &admin).await.check(200);
    let items = audit.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|i| i["action"].as_str().unwrap()).collect();
    // Newest first.
    assert_eq!(
        &actions[..7],
        ["role.update", "branch.update", "branch.create", "department.update", "department.create", "user.update", "user.create"],
        "{actions:?}"
    );

    let role_change = items.iter().find(|i| i["action"] == "user.update" && i["target"] == format!("user:{id}")).unwrap();
    assert_eq!(role_change["actor_id"], co.admin_id);
    assert_eq!(role_change["actor_name"], "Sardor Tursunov");
    assert!(role_change["at"].as_str().unwrap().ends_with('Z'));
    let changes = role_change["changes"].as_array().unwrap();
    let role = changes.iter().find(|c| c["field"] == "role").unwrap();
    assert_eq!((role["from"].as_str(), role["to"].as_str()), (Some("employee"), Some("manager")));
    let pw = changes.iter().find(|c| c["field"] == "password").unwrap();
    assert_eq!(pw["from"], Value::Null);
    assert!(!audit.text.contains("secret-new-1") && !audit.text.contains("argon2"), "no password in the log");

    let dept_change = items.iter().find(|i| i["action"] == "department.update").unwrap();
    assert_eq!(dept_change["target"], format!("department:{dept}"));
    assert_eq!(dept_change["changes"], json!([{"field": "name", "from": "Kassa", "to": "Kassa-2"}]));
    let branch_change = items.iter().find(|i| i["action"] == "branch.update").unwrap();
    assert_eq!(branch_change["changes"][0]["field"], "hours");
    assert_eq!(branch_change["changes"][0]["to"], "24/7");
    let roles_change = items.iter().find(|i| i["action"] == "role.update").unwrap();
    assert_eq!(roles_change["target"], "role:operator");
    assert_eq!(roles_change["changes"][0]["to"], "audit.view");

    // Pages of the log.
    let page = s.get(&format!("{}?limit=2", co.path("/audit")), &admin).await.check(200);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let cursor = page.body["next_cursor"].as_u64().unwrap();
    let next = s.get(&format!("{}?limit=2&before={cursor}", co.path("/audit")), &admin).await.check(200);
    assert_eq!(next.body["items"][0]["action"], actions[2]);
    s.get(&format!("{}?limit=lots", co.path("/audit")), &admin).await.refused(400, "bad_request");

    let (_, employee) = s.user(&co, "bek", "employee").await;
    s.get(&co.path("/audit"), &employee).await.refused(403, "forbidden");
}

#[tokio::test]
async fn branding_colour_is_set_and_applied() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let b = s.get(&co.path("/branding"), &co.admin).await.check(200);
    assert_eq!(b.body["primary_color"], "#1f6feb");
    assert_eq!(b.body["logo_url"], Value::Null);

    let b = s.patch(&co.path("/branding"), &co.admin, json!({"primary_color": " #ABCDEF "})).await.check(200);
    assert_eq!(b.body["primary_color"], "#abcdef");
    let css = s.get("/c/acme/brand.css", "").await.check(200);
    assert!(css.text.contains("#abcdef"), "{}", css.text);
    s.get("/c/acme/logo", "").await.check(404);

    for bad in ["red", "#abc", "#abcdeg", "#ééé"] {
        let r = s.patch(&co.path("/branding"), &co.admin, json!({"primary_color": bad})).await.refused(422, "validation");
        assert_eq!(r.field(), "primary_color", "{bad}");
    }
    let b = s.patch(&co.path("/branding"), &co.admin, json!({"primary_color": null})).await.check(200);
    assert_eq!(b.body["primary_color"], "#1f6feb");

    let (_, employee) = s.user(&co, "aziz", "employee").await;
    s.get(&co.path("/branding"), &employee).await.check(200);
    s.patch(&co.path("/branding"), &employee, json!({"primary_color": "#000000"})).await.refused(403, "forbidden");
    let audit = s.get(&co.path("/audit"), &co.admin).await.check(200);
    assert!(
        audit.body["items"].as_array().unwrap().iter().any(|i| i["action"].as_str().unwrap().starts_with("branding")),
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn only_an_owner_makes_or_changes_an_owner() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let body = json!({"username": "boss2", "role": "owner", "password": "long-password-1"});
    let r = s.post(&co.path("/users"), &co.admin, body).await.refused(403, "forbidden");
    assert_eq!(r.message(), msg(Lang::En, "error.owner_only"));
    let (employee, _) = s.user(&co, "aziz", "employee").await;
    s.patch(&co.path(&format!("/users/{employee}")), &co.admin, json!({"role": "owner"})).await.refused(403, "forbidden");
    // The platform created this company without an owner; the system gives one.
    let owner_id = {
        let state = s.running.state.clone();
        let tenant = state.tenants.get("acme").unwrap();
        let input = idora::org::service::NewUser { username: "founder".into(), role: "owner".into(), ..Default::default() };
        idora::org::service::insert_user(
            tenant.db().unwrap(),
            state.now_ms(),
            &idora::auth::Caller::System,
            input,
            "founder-password".into(),
        )
        .await
        .unwrap()
    };
    let owner = s.login("acme", "founder", "founder-password").await.check(200).str("access_token");
    // An admin cannot switch the owner off or demote them; the owner can make another owner.
    s.patch(&co.path(&format!("/users/{owner_id}")), &co.admin, json!({"active": false})).await.refused(403, "forbidden");
    s.patch(&co.path(&format!("/users/{employee}")), &owner, json!({"role": "owner"})).await.check(200);
}

#[tokio::test]
async fn an_admin_cannot_take_role_management_from_their_own_role() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let r = s.put(&co.path("/roles/admin"), &co.admin, json!({"permissions": ["users.view"]})).await.refused(409, "conflict");
    assert_eq!(r.message(), msg(Lang::En, "error.own_roles_manage"));
    s.put(&co.path("/roles/admin"), &co.admin, json!({"permissions": ["users.view", "roles.manage"]})).await.check(200);
}

#[tokio::test]
async fn a_new_password_ends_the_other_sessions() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let id = s.add_user(&co, "aziz", "employee").await;
    let first = s.login("acme", "aziz", USER_PASSWORD).await.check(200);
    let (access, refresh) = (first.str("access_token"), first.str("refresh_token"));
    s.get(&co.path("/me"), &access).await.check(200);
    // The admin resets the password: the old session is over at once.
    s.patch(&co.path(&format!("/users/{id}")), &co.admin, json!({"password": "brand-new-pass-2"})).await.check(200);
    s.get(&co.path("/me"), &access).await.refused(401, "unauthorized");
    let r = s.send(s.http.post(s.url(&co.path("/auth/refresh"))).json(&json!({"refresh_token": refresh}))).await;
    assert_eq!(r.status, 401, "{}", r.text);
    s.login("acme", "aziz", "brand-new-pass-2").await.check(200);
}

#[tokio::test]
async fn the_role_matrix_page_offers_only_checked_permissions() {
    let s = start().await;
    s.company("acme", true).await;
    let admin = s.browser("acme", "boss", ADMIN_PASSWORD).await;
    let page = admin.get("admin/roles").await;
    assert_eq!(page.status, 200);
    for offered in idora::auth::rbac::PERMISSIONS {
        assert!(page.html.contains(&format!(r#"value="manager:{offered}""#)), "{offered} is offered");
    }
    for reserved in idora::auth::rbac::RESERVED {
        assert!(!page.html.contains(reserved), "{reserved} is not offered");
    }
    // Human labels, not codes, and one way to save.
    for code in idora::auth::rbac::PERMISSIONS {
        assert!(!page.html.contains(&format!(">{code}<")), "{code} is shown as a label, not as code");
        let key = format!("admin.perm.{}", code.replace('.', "_"));
        assert!(page.html.contains(&msg(idora::i18n::Lang::En, &key)), "{code} has its label");
    }
    let form = &page.html[page.html.find(r#"action="/c/acme/admin/roles""#).unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    assert_eq!(form.matches(r#"type="submit""#).count(), 1, "one save button: {form}");
    // A reserved permission sent by an old form is refused, not stored.
    let r = admin.post("admin/roles", &[("role", "manager"), ("p", "manager:users.view"), ("p", "manager:chat.use")]).await;
    assert!(r.html.contains("chat.use"), "the refusal names it");
    let again = admin.get("admin/roles").await;
    assert!(!again.html.contains("chat.use"));
}

#[tokio::test]
async fn an_employee_reads_their_own_account_but_not_others_nor_the_audit_log() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (me, token) = s.user(&co, "aziz", "employee").await;
    let (other, _) = s.user(&co, "bek", "employee").await;
    let mine = s.get(&co.path(&format!("/users/{me}")), &token).await.check(200);
    assert_eq!(mine.body["username"], "aziz");
    s.get(&co.path(&format!("/users/{other}")), &token).await.refused(403, "forbidden");
    s.get(&co.path("/audit"), &token).await.refused(403, "forbidden");
    // The admin sees both.
    assert_eq!(s.get(&co.path(&format!("/users/{other}")), &co.admin).await.check(200).body["username"], "bek");
    s.get(&co.path("/audit"), &co.admin).await.check(200);
}
