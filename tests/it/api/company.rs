//! A company admin edits the company's own name, contact details and time
//! zone, through the API and the admin console; the platform keeps the rest.

use crate::support::*;
use idora::i18n::Lang;
use serde_json::json;

#[tokio::test]
async fn a_company_admin_edits_name_contacts_and_time_zone() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let now = s.get(&co.path("/company"), &co.admin).await.check(200);
    assert_eq!(now.body["name"], "acme Ltd");
    assert_eq!(now.body["timezone"], "Asia/Tashkent");
    assert_eq!((now.body["phone"].as_str(), now.body["email"].as_str()), (Some(""), Some("")));

    let body = json!({
        "name": "  Acme Savdo  ",
        "phone": "90 123 45 67",
        "address": "Toshkent, Amir Temur 1",
        "email": "info@acme.uz",
        "timezone": "Asia/Samarkand",
    });
    let r = s.put(&co.path("/company"), &co.admin, body).await.check(200);
    assert_eq!(r.body["name"], "Acme Savdo");
    assert_eq!(r.body["phone"], "+998901234567", "kept in the one phone format");
    assert_eq!(r.body["address"], "Toshkent, Amir Temur 1");
    assert_eq!(r.body["email"], "info@acme.uz");
    assert_eq!(r.body["timezone"], "Asia/Samarkand");
    assert_eq!((r.body["slug"].as_str(), r.body["active"].as_bool()), (Some("acme"), Some(true)));

    // An absent field stays, an empty contact field clears it.
    let r = s.put(&co.path("/company"), &co.admin, json!({"email": ""})).await.check(200);
    assert_eq!((r.body["email"].as_str(), r.body["name"].as_str()), (Some(""), Some("Acme Savdo")));

    // The platform sees the same company.
    let root = s.root().await;
    let list = s.get("/api/v1/companies", &root).await.check(200);
    let acme = list.body.as_array().unwrap().iter().find(|c| c["slug"] == "acme").unwrap();
    assert_eq!((acme["name"].as_str(), acme["timezone"].as_str()), (Some("Acme Savdo"), Some("Asia/Samarkand")));

    // Audited in the company's own log, with what changed.
    let audit = s.get(&co.path("/audit"), &co.admin).await.check(200);
    let items = audit.body["items"].as_array().unwrap();
    let first = items.iter().rev().find(|i| i["action"] == "company.update").unwrap();
    assert_eq!(first["target"], "company:acme");
    assert_eq!(first["actor_id"], co.admin_id);
    let fields: Vec<&str> = first["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "timezone", "phone", "address", "email"]);
    assert_eq!(items.iter().filter(|i| i["action"] == "company.update").count(), 2);

    // It survives a restart (the record is read back in its new version).
    let s = s.restart().await;
    let admin = s.login("acme", "boss", ADMIN_PASSWORD).await.check(200).str("access_token");
    let after = s.get(&co.path("/company"), &admin).await.check(200);
    assert_eq!((after.body["name"].as_str(), after.body["phone"].as_str()), (Some("Acme Savdo"), Some("+998901234567")));
    assert_eq!(after.body["timezone"], "Asia/Samarkand");
}

#[tokio::test]
async fn bad_company_settings_are_refused_field_by_field() {
    let s = start().await;
    let co = s.company("acme", true).await;
    for (body, field) in [
        (json!({"name": "  "}), "name"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"phone": "call me"}), "phone"),
        (json!({"email": "not-an-address"}), "email"),
        (json!({"email": "a@b"}), "email"),
        (json!({"address": "x".repeat(201)}), "address"),
    ] {
        let r = s.put(&co.path("/company"), &co.admin, body.clone()).await.refused(422, "validation");
        assert_eq!(r.field(), field, "{body}");
    }
    let r = s.put(&co.path("/company"), &co.admin, json!({"timezone": "Mars/Olympus"})).await.refused(422, "validation");
    assert_eq!(r.message(), msg(Lang::En, "validation.timezone"));
    // The platform's fields are not the company's to change.
    for body in [json!({"slug": "other"}), json!({"status": "inactive"}), json!({"active": false})] {
        let (status, _) = s.call(reqwest::Method::PUT, &co.path("/company"), Some(&co.admin), Some(body.clone())).await;
        assert!(status.is_client_error(), "{body}: {status}");
    }
    let now = s.get(&co.path("/company"), &co.admin).await.check(200);
    assert_eq!((now.body["name"].as_str(), now.body["active"].as_bool()), (Some("acme Ltd"), Some(true)), "nothing changed");
}

#[tokio::test]
async fn only_those_who_set_the_company_up_may_change_it() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (_, employee) = s.user(&co, "aziz", "employee").await;
    let (_, manager) = s.user(&co, "malika", "manager").await;
    let (_, director) = s.user(&co, "dilshod", "director").await;
    s.get(&co.path("/company"), &employee).await.check(200);
    for who in [&employee, &manager] {
        s.put(&co.path("/company"), who, json!({"name": "Mine now"})).await.refused(403, "forbidden");
    }
    s.put(&co.path("/company"), &director, json!({"name": "Acme Group"})).await.check(200);
    // A platform admin's token is not a company user's.
    let root = s.root().await;
    let (status, _) = s.call(reqwest::Method::PUT, &co.path("/company"), Some(&root), Some(json!({"name": "Root Co"}))).await;
    assert!(status == 401 || status == 403, "{status}");
    // Taking the permission from the role closes the door.
    let perms = json!({"permissions": ["users.view", "tasks.create"]});
    s.put(&co.path("/roles/director"), &co.admin, perms).await.check(200);
    s.put(&co.path("/company"), &director, json!({"name": "Acme Again"})).await.refused(403, "forbidden");
    let now = s.get(&co.path("/company"), &co.admin).await.check(200);
    assert_eq!(now.body["name"], "Acme Group");
}

#[tokio::test]
async fn the_company_section_of_the_admin_console() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let admin = s.browser("acme", "boss", ADMIN_PASSWORD).await;
    let index = admin.get("admin").await;
    assert!(index.html.contains("admin/company"), "the console links the section");
    let page = admin.get("admin/company").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(r#"value="acme Ltd""#), "the form shows the name");
    assert!(page.html.contains(r#"value="Asia/Tashkent""#));

    let fields = [
        ("name", "Acme Savdo"),
        ("phone", "+998 71 200 00 00"),
        ("address", "Chilonzor 5"),
        ("email", "hi@acme.uz"),
        ("timezone", "Asia/Samarkand"),
    ];
    let saved = admin.post("admin/company", &fields).await;
    assert_eq!((saved.status.as_u16(), saved.path.as_str(), saved.query.as_str()), (200, "/c/acme/admin/company", "done=saved"));
    assert!(saved.html.contains(&msg(Lang::En, "admin.notice.saved")));
    assert!(saved.html.contains(r#"value="+998712000000""#) && saved.html.contains(r#"value="Chilonzor 5""#), "{}", saved.html);
    let api = s.get(&co.path("/company"), &co.admin).await.check(200);
    assert_eq!((api.body["name"].as_str(), api.body["timezone"].as_str()), (Some("Acme Savdo"), Some("Asia/Samarkand")));

    // A refused form comes back with what was typed and the reason.
    let bad = [("name", "Acme Two"), ("phone", ""), ("address", ""), ("email", "nope"), ("timezone", "Asia/Samarkand")];
    let refused = admin.post("admin/company", &bad).await;
    assert_eq!((refused.status.as_u16(), refused.path.as_str()), (422, "/c/acme/admin/company"), "the form again, not a redirect");
    assert!(refused.html.contains(&msg(Lang::En, "validation.email")), "{}", refused.html);
    assert!(refused.html.contains(r#"value="Acme Two""#));
    let api = s.get(&co.path("/company"), &co.admin).await.check(200);
    assert_eq!(api.body["name"], "Acme Savdo", "nothing saved");

    // The audit page names the change.
    let audit = admin.get("admin/audit").await;
    assert!(audit.html.contains(&msg(Lang::En, "admin.audit.act.company_update")));

    // An employee neither sees the section nor opens it.
    s.add_user(&co, "aziz", "employee").await;
    let employee = s.browser("acme", "aziz", USER_PASSWORD).await;
    assert!(!employee.get("").await.html.contains("admin/company"));
    assert_eq!(employee.get("admin/company").await.status, 403);
}
