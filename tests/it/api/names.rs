//! Departments and task categories have names in Uzbek (the one given),
//! Russian and English: the API keeps all three, and every page shows the
//! reader's own, or the one given when theirs is missing.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn department_and_category_names_are_read_in_each_ones_language() {
    let s = start().await;
    let co = s.company("acme", true).await;

    // The API round trip: three names in, three names out, trimmed.
    let body = json!({"name": "Kredit bo‘limi", "name_ru": "  Кредитный отдел ", "name_en": "Loans department"});
    let credit = s.post(&co.path("/departments"), &co.admin, body).await.check(201);
    assert_eq!(
        (credit.str("name"), credit.str("name_ru"), credit.str("name_en")),
        ("Kredit bo‘limi".into(), "Кредитный отдел".into(), "Loans department".into())
    );
    let credit = credit.id();
    // One name alone: no translations, and the same length rule for them.
    let cash = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);
    assert_eq!((cash.str("name_ru"), cash.str("name_en")), (String::new(), String::new()));
    let cash = cash.id();
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "IT", "name_ru": "И".repeat(81)})).await.refused(422, "validation");
    assert_eq!(r.field(), "name_ru");
    let r =
        s.patch(&co.path(&format!("/departments/{cash}")), &co.admin, json!({"name_en": "x".repeat(81)})).await.refused(422, "validation");
    assert_eq!(r.field(), "name_en");
    // A translation is set, then cleared with "", the other names untouched.
    let r = s.patch(&co.path(&format!("/departments/{cash}")), &co.admin, json!({"name_en": "Cash desk"})).await.check(200);
    assert_eq!((r.str("name"), r.str("name_en")), ("Kassa".into(), "Cash desk".into()));
    let r = s.patch(&co.path(&format!("/departments/{cash}")), &co.admin, json!({"name_en": ""})).await.check(200);
    assert_eq!((r.str("name"), r.str("name_en")), ("Kassa".into(), String::new()));
    let list = s.get(&co.path("/departments"), &co.admin).await.check(200);
    let listed = list.body.as_array().unwrap().iter().find(|d| d["id"] == credit).unwrap().clone();
    assert_eq!(listed["name_ru"], "Кредитный отдел");

    // Categories alike.
    let body = json!({"name": "Hisobot", "color": "#1f6feb", "name_ru": "Отчёт", "name_en": "Report"});
    let report = s.post(&co.path("/categories"), &co.admin, body).await.check(201);
    assert_eq!((report.str("name_ru"), report.str("name_en")), ("Отчёт".into(), "Report".into()));
    let report = report.id();
    let r = s.patch(&co.path(&format!("/categories/{report}")), &co.admin, json!({"name_ru": "Отчёты"})).await.check(200);
    assert_eq!((r.str("name"), r.str("name_ru"), r.str("name_en")), ("Hisobot".into(), "Отчёты".into(), "Report".into()));
    let long = json!({"name": "X", "color": "#000000", "name_en": "y".repeat(61)});
    assert_eq!(s.post(&co.path("/categories"), &co.admin, long).await.refused(422, "validation").field(), "name_en");
    let docs = s.post(&co.path("/categories"), &co.admin, json!({"name": "Hujjatlar", "color": "#0a7d5a"})).await.check(201).id();

    // People in each language, in the credit department.
    let mut ids = std::collections::HashMap::new();
    for (username, role, language) in
        [("olga", "admin", "ru"), ("john", "admin", "en"), ("aziz", "employee", "uz"), ("malika", "manager", "ru")]
    {
        let body = json!({"username": username, "full_name": format!("{username} full"), "role": role, "password": USER_PASSWORD,
            "language": language, "department_id": credit});
        ids.insert(username, s.post(&co.path("/users"), &co.admin, body).await.check(201).id());
    }
    let body = json!({"username": "bek", "full_name": "Bek Kassir", "role": "employee", "password": USER_PASSWORD, "department_id": cash});
    s.post(&co.path("/users"), &co.admin, body).await.check(201);

    // The users list: the department column and its filter, in Russian for
    // Olga; the cash department has no Russian name, so its one name.
    let olga = s.browser("acme", "olga", USER_PASSWORD).await;
    let users = olga.get("admin/users").await.html;
    assert!(users.contains(">Кредитный отдел</td>"), "the column in Russian: {users}");
    assert!(users.contains(&format!("<option value=\"{credit}\">Кредитный отдел</option>")), "the filter in Russian: {users}");
    assert!(users.contains(">Kassa</td>") && users.contains(&format!("<option value=\"{cash}\">Kassa</option>")), "falls back");
    assert!(!users.contains("Kredit bo‘limi") && !users.contains("Loans department"), "no other language");
    let john = s.browser("acme", "john", USER_PASSWORD).await;
    let users = john.get("admin/users").await.html;
    assert!(users.contains(">Loans department</td>") && !users.contains("Кредитный отдел"), "in English for John");

    // A task with a category: its page names the category in the reader's language.
    let body = json!({"title": "Oylik hisobot", "assignee_id": ids["aziz"], "deadline": (s.now() + jiff::SignedDuration::from_hours(24)).to_string(),
        "category_id": report});
    let malika = s.login("acme", "malika", USER_PASSWORD).await.check(200).str("access_token");
    let task = s.post(&co.path("/tasks"), &malika, body).await.check(201).id();
    let page = olga.get(&format!("tasks/{task}")).await.html;
    assert!(page.contains("Отчёты</span>") && !page.contains("Hisobot</span>"), "the category in Russian: {page}");
    let page = john.get(&format!("tasks/{task}")).await.html;
    assert!(page.contains("Report</span>"), "in English: {page}");
    let aziz = s.browser("acme", "aziz", USER_PASSWORD).await;
    let page = aziz.get(&format!("tasks/{task}")).await.html;
    assert!(page.contains("Hisobot</span>"), "in Uzbek, the name given: {page}");
    // The task list's filters, and the new task form's assignees ("Name — Department").
    let list = olga.get("tasks?tab=all").await.html;
    assert!(list.contains(&format!("<option value=\"{report}\">Отчёты</option>")), "category filter in Russian: {list}");
    assert!(list.contains(&format!("<option value=\"{docs}\">Hujjatlar</option>")), "and the one name without a Russian one");
    let malika = s.browser("acme", "malika", USER_PASSWORD).await;
    let form = malika.get("tasks/new").await.html;
    assert!(form.contains("aziz full — Кредитный отдел"), "{form}");
    // The manager's home dashboard names her department in Russian.
    let home = malika.get("").await.html;
    assert!(home.contains(" · Кредитный отдел"), "{home}");

    // The admin pages hold all three names for editing, and the audit log tells it in Russian.
    let admin = olga.get("admin/departments").await.html;
    for v in ["value=\"Kredit bo‘limi\"", "value=\"Кредитный отдел\"", "value=\"Loans department\""] {
        assert!(admin.contains(v), "{v} in {admin}");
    }
    let saved = olga.post(&format!("admin/departments/{cash}"), &[("name", "Kassa"), ("name_ru", "Касса"), ("name_en", "")]).await;
    assert_eq!(saved.query, "done=saved");
    let audit = olga.get("admin/audit").await.html;
    assert!(audit.contains("Касса"), "the audit sentence names the department in Russian: {audit}");
    let users = olga.get("admin/users").await.html;
    assert!(users.contains(">Касса</td>"), "the new Russian name shows at once");
}
