//! Queue setup through HTTP: services offered at branches, operators at
//! windows.

use idora::app::AppState;
use idora::config::Config;
use idora::server::Running;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

struct World {
    server: Running,
    http: Client,
    tokens: HashMap<&'static str, String>,
    users: HashMap<String, u64>,
    branches: Vec<u64>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let config =
        Config { data_dir: dir.path().to_path_buf(), listen: "127.0.0.1:0".parse().unwrap(), login_per_minute: 1000, ..Config::default() };
    let state = AppState::open_default(config).unwrap();
    idora::demo::seed(&state).await.unwrap();
    let server = idora::server::start(state).await.unwrap();
    let mut w = World { server, http: Client::new(), tokens: HashMap::new(), users: HashMap::new(), branches: vec![], _dir: dir };
    for who in ["admin", "director", "operator", "employee"] {
        let (s, v) = w.call(reqwest::Method::POST, None, "/auth/login", Some(json!({"username": who, "password": "idora-demo"}))).await;
        assert_eq!(s, StatusCode::OK);
        w.tokens.insert(who, v["access_token"].as_str().unwrap().to_string());
    }
    let (_, users) = w.call(reqwest::Method::GET, Some("admin"), "/users", None).await;
    for u in users.as_array().unwrap() {
        w.users.insert(u["username"].as_str().unwrap().to_string(), u["id"].as_u64().unwrap());
    }
    let (_, branches) = w.call(reqwest::Method::GET, Some("admin"), "/branches", None).await;
    w.branches = branches.as_array().unwrap().iter().map(|b| b["id"].as_u64().unwrap()).collect();
    w
}

impl World {
    async fn call(&self, method: reqwest::Method, who: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}/c/demo/api/v1{path}", self.server.url()));
        if let Some(w) = who {
            req = req.bearer_auth(&self.tokens[w]);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

#[tokio::test]
async fn services_are_offered_at_chosen_branches() {
    let w = world().await;
    let (a, b) = (w.branches[0], w.branches[1]);
    let body = json!({"name": {"uz": "Kassa", "ru": "Касса", "en": "Cash desk"}, "minutes": 7, "branch_ids": [a, b, a]});
    let (s, kassa) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{kassa}");
    assert_eq!(kassa["branch_ids"], json!([a, b]), "each branch once");
    assert_eq!(kassa["target_wait_minutes"], 15, "a default service level");
    assert_eq!(kassa["name"], "Kassa", "the company speaks Uzbek");
    let (_, v) = w.call(reqwest::Method::GET, Some("admin"), "/services", None).await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    // One name for all languages is fine; bad input names its field.
    let (s, _) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kredit", "minutes": 20, "branch_ids": [a]}))).await;
    assert_eq!(s, StatusCode::CREATED);
    for (body, field) in [
        (json!({"name": "", "minutes": 5}), "name"),
        (json!({"name": "X", "minutes": 0}), "minutes"),
        (json!({"name": "X", "minutes": 5, "target_wait_minutes": 1000}), "target_wait_minutes"),
        (json!({"name": "X", "minutes": 5, "branch_ids": [999]}), "branch_ids"),
    ] {
        let (s, v) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(body)).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
    let (s, _) = w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "kassa", "minutes": 5}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w.call(reqwest::Method::POST, Some("employee"), "/services", Some(json!({"name": "Y", "minutes": 5}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let id = kassa["id"].as_u64().unwrap();
    let (s, v) =
        w.call(reqwest::Method::PATCH, Some("director"), &format!("/services/{id}"), Some(json!({"minutes": 9, "branch_ids": [b]}))).await;
    assert_eq!((s, v["minutes"].as_u64(), v["branch_ids"].clone()), (StatusCode::OK, Some(9), json!([b])));
    let (s, _) = w.call(reqwest::Method::PATCH, Some("director"), "/services/999", Some(json!({"minutes": 9}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The audit log tells who changed the service.
    let (_, audit) = w.call(reqwest::Method::GET, Some("admin"), "/audit", None).await;
    assert!(audit.to_string().contains("service.update"), "{audit}");
}

#[tokio::test]
async fn operators_sit_at_one_window_serving_services_of_their_branch() {
    let w = world().await;
    let (a, b) = (w.branches[0], w.branches[1]);
    let (_, kassa) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kassa", "minutes": 7, "branch_ids": [a]}))).await;
    let (_, kredit) =
        w.call(reqwest::Method::POST, Some("admin"), "/services", Some(json!({"name": "Kredit", "minutes": 20, "branch_ids": [b]}))).await;
    let operator = w.users["operator"];
    let path = format!("/operators/{operator}");

    let body = json!({"branch_id": a, "window": 3, "service_ids": [kassa["id"]]});
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), &path, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["window"].as_u64(), v["branch_id"].as_u64()), (Some(3), Some(a)));
    let (s, list) = w.call(reqwest::Method::GET, Some("operator"), "/operators", None).await;
    assert_eq!((s, list.as_array().unwrap().len()), (StatusCode::OK, 1));

    // A service the branch does not offer, a bad window, a non-operator.
    let (s, v) =
        w.call(reqwest::Method::PUT, Some("admin"), &path, Some(json!({"branch_id": a, "window": 3, "service_ids": [kredit["id"]]}))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service_ids")));
    let (s, v) = w.call(reqwest::Method::PUT, Some("admin"), &path, Some(json!({"branch_id": a, "window": 0, "service_ids": []}))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("window")));
    let employee = w.users["employee"];
    let (s, v) = w
        .call(
            reqwest::Method::PUT,
            Some("admin"),
            &format!("/operators/{employee}"),
            Some(json!({"branch_id": a, "window": 4, "service_ids": []})),
        )
        .await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("user_id")));

    // One window, one operator: a second operator cannot take window 3.
    let (s, second) = w
        .call(
            reqwest::Method::POST,
            Some("admin"),
            "/users",
            Some(json!({"username": "kassir2", "role": "operator", "password": "long-pass-123"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let second = second["id"].as_u64().unwrap();
    let (s, v) = w
        .call(
            reqwest::Method::PUT,
            Some("admin"),
            &format!("/operators/{second}"),
            Some(json!({"branch_id": a, "window": 3, "service_ids": []})),
        )
        .await;
    assert_eq!((s, v["error"]["kind"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (s, _) = w
        .call(
            reqwest::Method::PUT,
            Some("admin"),
            &format!("/operators/{second}"),
            Some(json!({"branch_id": b, "window": 3, "service_ids": [kredit["id"]]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "window 3 of another branch is free");
    let (s, _) = w.call(reqwest::Method::PUT, Some("operator"), &path, Some(json!({"branch_id": a, "window": 5, "service_ids": []}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "operators do not place themselves");
    let (s, _) = w.call(reqwest::Method::GET, Some("employee"), "/operators", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
