//! Request categories and notification templates over HTTP: what an admin
//! sets up, the errors naming the field at fault, a form change that leaves
//! old requests as they were filed, templates refused at save, and who may.

use crate::support::*;
use idora::auth::Caller;
use idora::i18n::Lang;
use idora::requests::service::{self, ClientInput, NewRequest};
use reqwest::Method;
use serde_json::{Value, json};

const START: &str = "2026-11-25T06:00:00Z";

fn card_blocked() -> Value {
    json!({
        "names": {"uz": "Karta bloklangan", "ru": "Карта заблокирована", "en": "Card blocked"},
        "icon": "card",
        "color": "#C0392B",
        "fields": [
            {"key": "card_type", "type": "choice", "labels": {"uz": "Karta turi", "ru": "Тип карты", "en": "Card type"}, "required": true,
             "options": [{"key": "uzcard", "labels": {"uz": "Uzcard"}}, {"key": "humo", "labels": {"uz": "Humo"}}]},
            {"key": "last4", "type": "text", "labels": {"uz": "Oxirgi 4 raqam"}, "required": false}
        ],
        "auto_assign": false,
        "default_priority": "high",
        "sla": {"first_response_minutes": 30, "resolution_minutes": 480, "clock": "working_hours"}
    })
}

async fn error_of(s: &Server, method: Method, path: &str, token: &str, body: Value) -> (u16, String, String) {
    let r = s.send(s.req(method, &c(DEMO, path), token).json(&body)).await;
    (r.status.as_u16(), r.field().to_string(), r.message().to_string())
}

#[tokio::test]
async fn an_admin_sets_up_categories_and_each_mistake_names_its_field() {
    let s = demo_at(START).await;
    let admin = s.demo_token("admin").await;
    let users = s.demo_users().await;
    let (employee, manager) = (users["employee"], users["manager"]);

    let mut body = card_blocked();
    body["team_ids"] = json!([employee, manager]);
    body["lead_id"] = json!(manager);
    let made = s.post(&c(DEMO, "/request-categories"), &admin, body).await.check(201).body;
    let id = made["id"].as_u64().unwrap();
    assert_eq!(made["color"], "#c0392b");
    assert_eq!(made["team_ids"], json!([employee, manager]));
    assert_eq!(made["sla"], json!({"first_response_minutes": 30, "resolution_minutes": 480, "clock": "working_hours"}));
    assert_eq!(made["fields"][0]["options"][1]["key"], "humo");
    assert!(made["fields"][1].get("options").is_none(), "a text field has no options: {made}");

    // Mistakes, each naming its field, in the caller's words.
    let bad: [(Value, &str, &str); 12] = [
        (json!({"names": {"uz": "  "}}), "names.uz", "validation.required"),
        (json!({"names": {"uz": "X"}, "icon": "rocket"}), "icon", "validation.request_icon"),
        (json!({"names": {"uz": "X"}, "color": "red"}), "color", "validation.color"),
        (json!({"names": {"uz": "X"}, "team_ids": [987654]}), "team_ids", "validation.request_user"),
        (json!({"names": {"uz": "X"}, "lead_id": 987654}), "lead_id", "validation.request_user"),
        (json!({"names": {"uz": "X"}, "branch_id": 987654}), "branch_id", "validation.branch"),
        (
            json!({"names": {"uz": "X"}, "sla": {"first_response_minutes": 600, "resolution_minutes": 60}}),
            "sla.first_response_minutes",
            "validation.request_sla_order",
        ),
        (json!({"names": {"uz": "X"}, "sla": {"resolution_minutes": 0}}), "sla.resolution_minutes", "validation.request_minutes"),
        (
            json!({"names": {"uz": "X"}, "fields": [{"key": "a", "type": "text", "labels": {"uz": "A"}}, {"key": "a", "type": "date", "labels": {"uz": "B"}}]}),
            "fields.1.key",
            "validation.request_field_key_taken",
        ),
        (
            json!({"names": {"uz": "X"}, "fields": [{"key": "Passport", "type": "text", "labels": {"uz": "A"}}]}),
            "fields.0.key",
            "validation.request_field_key",
        ),
        (
            json!({"names": {"uz": "X"}, "fields": [{"key": "kind", "type": "choice", "labels": {"uz": "A"}, "options": []}]}),
            "fields.0.options",
            "validation.request_options",
        ),
        (
            json!({"names": {"uz": "X"}, "fields": [{"key": "kind", "type": "choice", "labels": {"uz": "A"}, "options": [{"key": "x", "labels": {"uz": ""}}]}]}),
            "fields.0.options.0.labels.uz",
            "validation.required",
        ),
    ];
    for (body, field, key) in bad {
        let (status, f, m) = error_of(&s, Method::POST, "/request-categories", &admin, body.clone()).await;
        assert_eq!((status, f.as_str()), (422, field), "{body}");
        let want = match key {
            "validation.request_minutes" => msg_with(Lang::Uz, key, &[("max", "525600")]),
            "validation.request_options" => msg_with(Lang::Uz, key, &[("max", "50")]),
            _ => msg(Lang::Uz, key),
        };
        assert_eq!(m, want, "{body}");
    }

    // PATCH changes only what it names; null clears the lead.
    let p = s
        .patch(&c(DEMO, &format!("/request-categories/{id}")), &admin, json!({"lead_id": null, "default_priority": "urgent"}))
        .await
        .check(200)
        .body;
    assert_eq!((p["lead_id"].clone(), p["default_priority"].clone(), p["icon"].clone()), (Value::Null, json!("urgent"), json!("card")));
    assert_eq!(p["names"]["ru"], "Карта заблокирована");
    let (status, field, _) =
        error_of(&s, Method::PATCH, &format!("/request-categories/{id}"), &admin, json!({"names": {"uz": "Ok", "ru": "a\u{85}b"}})).await;
    assert_eq!((status, field.as_str()), (422, "names.ru"));

    // Listed in their order, retired ones too.
    let second = s.post(&c(DEMO, "/request-categories"), &admin, json!({"names": {"uz": "Avval"}, "sort": 0})).await.check(201).id();
    let list = s.get(&c(DEMO, "/request-categories"), &admin).await.check(200).body;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["names"]["uz"].as_str().unwrap()).collect();
    assert_eq!(names, ["Avval", "Karta bloklangan"]);

    // An unused category is removed; the audit log has the whole story.
    let gone = s.send(s.req(Method::DELETE, &c(DEMO, &format!("/request-categories/{second}")), &admin)).await.check(200).body;
    assert_eq!(gone["result"], "removed");
    let r = s.send(s.req(Method::PATCH, &c(DEMO, &format!("/request-categories/{second}")), &admin).json(&json!({"sort": 2}))).await;
    assert_eq!(r.status.as_u16(), 404);
    let audit = s.get(&c(DEMO, "/audit?kind=request_category"), &admin).await.check(200).body.to_string();
    for act in ["request_category.create", "request_category.update", "request_category.delete"] {
        assert!(audit.contains(act), "{act} in {audit}");
    }

    // An employee may neither read nor change categories.
    let emp = s.demo_token("employee").await;
    assert_eq!(s.get(&c(DEMO, "/request-categories"), &emp).await.status.as_u16(), 403);
    let r = s.send(s.req(Method::POST, &c(DEMO, "/request-categories"), &emp).json(&card_blocked())).await;
    assert_eq!(r.status.as_u16(), 403);
}

/// Filed through the core (the staff API and the public form are other
/// work): the form changed afterwards, the request still says what it said.
#[tokio::test]
async fn a_form_change_leaves_an_old_request_as_it_was_filed() {
    let s = demo_at(START).await;
    let admin = s.demo_token("admin").await;
    let id = s.post(&c(DEMO, "/request-categories"), &admin, card_blocked()).await.check(201).id();

    let state = s.state();
    let tenant = state.tenants.get(DEMO).unwrap();
    let input = NewRequest {
        category_id: id,
        subject: String::new(),
        text: "Bankomat kartani qaytarmadi".into(),
        fields: [("card_type".to_string(), "humo".to_string()), ("last4".to_string(), "4321".to_string())].into(),
        file_ids: vec![],
        client: ClientInput { name: "Aziz Karimov".into(), phone: Some("+998901234567".into()), ..Default::default() },
        channel: None,
        priority: None,
    };
    let filed = service::create(state, &tenant, &Caller::Public, input).await.unwrap();

    // The form is rewritten: labels change, an option and a field go, a new required field comes.
    let form = json!({"fields": [
        {"key": "card_type", "type": "choice", "labels": {"uz": "Qaysi karta"}, "required": true, "options": [{"key": "uzcard", "labels": {"uz": "UzCard"}}]},
        {"key": "passport", "type": "text", "labels": {"uz": "Pasport"}, "required": true}
    ]});
    s.patch(&c(DEMO, &format!("/request-categories/{id}")), &admin, form).await.check(200);

    let d = service::get(tenant.db().unwrap(), &Caller::System, filed.id).unwrap();
    let shown: Vec<(String, String, Option<String>)> =
        d.request.fields.iter().map(|f| (f.labels.uz.clone(), f.value.clone(), f.shown.as_ref().map(|n| n.uz.clone()))).collect();
    assert_eq!(
        shown,
        [("Karta turi".into(), "humo".into(), Some("Humo".into())), ("Oxirgi 4 raqam".into(), "4321".into(), None)],
        "the request keeps the labels it was filed with"
    );
    assert_eq!(d.request.fields[0].labels.ru, "Тип карты");

    // The deleted category had a request: it is retired, not removed.
    let r = s.send(s.req(Method::DELETE, &c(DEMO, &format!("/request-categories/{id}")), &admin)).await.check(200).body;
    assert_eq!(r["result"], "deactivated");
    let list = s.get(&c(DEMO, "/request-categories"), &admin).await.check(200).body;
    let cat = list.as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(cat["active"], false);
    assert_eq!(cat["fields"][1]["key"], "passport");
}

#[tokio::test]
async fn templates_are_checked_when_saved_previewed_and_reset() {
    let s = demo_at(START).await;
    let admin = s.demo_token("admin").await;
    let path = c(DEMO, "/notification-templates/received/ru");

    let all = s.get(&c(DEMO, "/notification-templates"), &admin).await.check(200).body;
    assert_eq!(all.as_array().unwrap().len(), 8 * 3);
    assert!(all.as_array().unwrap().iter().all(|t| t["is_default"] == true));
    let default = s.get(&path, &admin).await.check(200).body;
    assert_eq!(default["text"], msg(Lang::Ru, "request.template.received"));

    // An unknown placeholder is refused at save, and named.
    let r = s.put(&path, &admin, json!({"text": "Заявка {number} от {client}"})).await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.field(), "text");
    assert!(r.message().contains("{client}"), "{}", r.message());
    let r = s.put(&path, &admin, json!({"text": "Заявка {number"})).await;
    assert_eq!((r.status.as_u16(), r.message().to_string()), (422, msg(Lang::Uz, "validation.template_braces")));
    assert_eq!(s.get(&path, &admin).await.check(200).body["is_default"], true, "nothing saved");

    // Saved, it is the company's text.
    let saved = s.put(&path, &admin, json!({"text": "  {client_name}, ваша заявка {number} принята: {link}  "})).await.check(200).body;
    assert_eq!(
        (saved["text"].clone(), saved["is_default"].clone()),
        (json!("{client_name}, ваша заявка {number} принята: {link}"), json!(false))
    );
    assert_eq!(s.get(&path, &admin).await.check(200).body["is_default"], false);

    // A client filing now is told in the company's words.
    let cat = s.post(&c(DEMO, "/request-categories"), &admin, json!({"names": {"uz": "Savol", "ru": "Вопрос"}})).await.check(201).id();
    let state = s.state();
    let tenant = state.tenants.get(DEMO).unwrap();
    let input = NewRequest {
        category_id: cat,
        subject: String::new(),
        text: "Здравствуйте".into(),
        fields: Default::default(),
        file_ids: vec![],
        client: ClientInput { name: "Ольга".into(), phone: Some("+998901112233".into()), lang: Some(Lang::Ru), ..Default::default() },
        channel: None,
        priority: None,
    };
    let filed = service::create(state, &tenant, &Caller::Public, input).await.unwrap();
    let view = service::public_view(tenant.db().unwrap(), &filed.request.token, state.now_ms()).unwrap();
    let received = view.notices.iter().find(|n| n.event == "received").expect("a notice of receipt");
    assert!(
        received.text.starts_with(&format!("Ольга, ваша заявка {} принята: {}", idora::requests::number(filed.id), filed.tracking_path)),
        "{}",
        received.text
    );

    // Preview fills sample data; a bad text is refused the same way.
    let p = s
        .post(&c(DEMO, "/notification-templates/preview"), &admin, json!({"text": "{number}: {status}, {client_name}", "lang": "ru"}))
        .await
        .check(200)
        .body;
    assert_eq!(
        p["text"],
        format!("R-000123: {}, {}", msg(Lang::Ru, "request.status.in_progress"), msg(Lang::Ru, "request_admin.sample.client_name"))
    );
    let r = s.post(&c(DEMO, "/notification-templates/preview"), &admin, json!({"text": "{nomer}", "lang": "uz"})).await;
    assert_eq!(r.status.as_u16(), 422);
    assert!(r.message().contains("{nomer}"));

    // Reset brings the default back.
    let back = s.send(s.req(Method::DELETE, &path, &admin)).await.check(200).body;
    assert_eq!((back["text"].clone(), back["is_default"].clone()), (json!(msg(Lang::Ru, "request.template.received")), json!(true)));
    assert_eq!(s.get(&path, &admin).await.check(200).body["is_default"], true);
    assert_eq!(s.get(&c(DEMO, "/notification-templates/nothing/ru"), &admin).await.status.as_u16(), 404);

    // Only those with requests.manage: an employee and a manager may not.
    for who in ["employee", "manager"] {
        let t = s.demo_token(who).await;
        assert_eq!(s.put(&path, &t, json!({"text": "{number}"})).await.status.as_u16(), 403, "{who}");
        assert_eq!(s.get(&c(DEMO, "/notification-templates"), &t).await.status.as_u16(), 403, "{who}");
    }
}

/// The admin pages as a plain HTML form: field rows in the order posted,
/// the spare blank row ignored, a mistake shown at its row; the templates'
/// preview and a refused placeholder.
#[tokio::test]
async fn the_admin_pages_build_a_form_and_preview_a_template() {
    let s = demo_at(START).await;
    let b = s.browser(DEMO, "admin", idora::demo::PASSWORD).await;
    let users = s.demo_users().await;
    let employee = users["employee"].to_string();
    let base: Vec<(&str, &str)> = vec![
        ("name_uz", "Hisob ochish"),
        ("name_ru", "Открытие счёта"),
        ("icon", "account"),
        ("color", "#2255aa"),
        ("team", &employee),
        ("default_priority", "normal"),
        ("first", "2"),
        ("first_unit", "hours"),
        ("resolution", "90"),
        ("resolution_unit", "minutes"),
        ("clock", "all_day"),
        ("active", "1"),
        ("field-a-key", "passport"),
        ("field-a-type", "text"),
        ("field-a-uz", "Pasport"),
        ("field-a-required", "1"),
        ("field-b-key", "currency"),
        ("field-b-type", "choice"),
        ("field-b-uz", "Valyuta"),
        ("field-b-options", "uzs = So‘m | Сум\nusd = Dollar"),
        ("field-new-key", ""),
        ("field-new-type", "text"),
        ("field-new-uz", ""),
    ];
    // Two hours to answer but ninety minutes to resolve: refused, the form kept.
    let seen = b.post("admin/request-categories", &base).await;
    assert_eq!(seen.status.as_u16(), 422);
    assert!(seen.html.contains(&msg(Lang::Uz, "validation.request_sla_order")), "the reason is shown");
    assert!(seen.html.contains("Hisob ochish") && seen.html.contains("uzs = So‘m | Сум"), "what was typed stays");

    let mut ok = base.clone();
    ok.retain(|(k, _)| *k != "resolution_unit");
    ok.push(("resolution_unit", "hours"));
    let seen = b.post("admin/request-categories", &ok).await;
    assert_eq!(seen.status.as_u16(), 200, "{}", seen.html);
    assert!(seen.path.ends_with("/admin/request-categories") && seen.html.contains("Hisob ochish"));

    let admin = s.demo_token("admin").await;
    let list = s.get(&c(DEMO, "/request-categories"), &admin).await.check(200).body;
    let cat = &list[0];
    assert_eq!(cat["sla"]["first_response_minutes"], 120);
    assert_eq!(cat["sla"]["resolution_minutes"], 90 * 60);
    assert_eq!(cat["team_ids"], json!([users["employee"]]));
    let keys: Vec<&str> = cat["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["passport", "currency"], "the spare row is no field");
    assert_eq!(cat["fields"][1]["options"][0], json!({"key": "uzs", "labels": {"uz": "So‘m", "ru": "Сум", "en": ""}}));

    // A bad key in the second row is shown at that row.
    let id = cat["id"].as_u64().unwrap();
    let mut bad = ok.clone();
    for p in bad.iter_mut() {
        if p.0 == "field-b-key" {
            p.1 = "Currency";
        }
    }
    let seen = b.post(&format!("admin/request-categories/{id}"), &bad).await;
    assert_eq!(seen.status.as_u16(), 422);
    assert!(seen.html.contains(&msg(Lang::Uz, "validation.request_field_key")));

    // Templates: a preview with sample data, an unknown placeholder refused.
    let seen = b.post("admin/request-templates/done/uz", &[("text", "{number} tayyor, {client_name}"), ("action", "preview")]).await;
    assert_eq!(seen.status.as_u16(), 200);
    assert!(seen.html.contains(&format!("R-000123 tayyor, {}", msg(Lang::Uz, "request_admin.sample.client_name"))));
    let seen = b.post("admin/request-templates/done/uz", &[("text", "{raqam} tayyor"), ("action", "save")]).await;
    assert_eq!(seen.status.as_u16(), 422);
    assert!(seen.html.contains("{raqam}"));
    let seen = b.post("admin/request-templates/done/uz", &[("text", "{number} tayyor"), ("action", "save")]).await;
    assert_eq!(seen.status.as_u16(), 200);
    assert_eq!(s.get(&c(DEMO, "/notification-templates/done/uz"), &admin).await.check(200).body["text"], "{number} tayyor");

    // An employee has no such pages.
    let e = s.browser(DEMO, "employee", idora::demo::PASSWORD).await;
    assert_eq!(e.get("admin/request-templates").await.status.as_u16(), 403);
}
