//! Notifications over HTTP: the unread count a user sees stays right as
//! tasks arrive, as they read, after old read ones are pruned and after a
//! restart (the count is a stored counter, not a scan of their history).

use crate::support::*;
use jiff::SignedDuration;
use serde_json::json;

#[tokio::test]
async fn unread_counts_hold_through_create_read_prune_and_restart() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let (_, boss) = s.user(&co, "dilnoza", "director").await;
    let (bek, bek_token) = s.user(&co, "bekzod", "employee").await;
    let deadline = jiff::Timestamp::from_millisecond(s.running.state.now_ms()).unwrap() + SignedDuration::from_hours(24 * 90);
    let task = |title: &str| json!({"title": title, "assignee_id": bek, "deadline": deadline.to_string()});
    for title in ["Kassa", "Hisobot", "Audit"] {
        s.post(&co.path("/tasks"), &boss, task(title)).await.check(201);
    }

    let page = s.get(&co.path("/notifications"), &bek_token).await.check(200);
    assert_eq!((page.body["unread"].as_u64(), page.body["items"].as_array().unwrap().len()), (Some(3), 3));
    let ids: Vec<u64> = page.body["items"].as_array().unwrap().iter().map(|n| n["id"].as_u64().unwrap()).collect();
    assert_eq!(s.get(&co.path("/notifications"), &boss).await.check(200).body["unread"], 0, "the one who gave them hears nothing");

    // Reading one, then one again, then all.
    let r = s.post(&co.path("/notifications/read"), &bek_token, json!({"ids": [ids[2]]})).await.check(200);
    assert_eq!((r.body["marked"].as_u64(), r.body["unread"].as_u64()), (Some(1), Some(2)));
    let r = s.post(&co.path("/notifications/read"), &bek_token, json!({"ids": [ids[2]]})).await.check(200);
    assert_eq!((r.body["marked"].as_u64(), r.body["unread"].as_u64()), (Some(0), Some(2)));
    let unread = s.get(&co.path("/notifications?unread=true"), &bek_token).await.check(200);
    assert_eq!(unread.body["items"].as_array().unwrap().iter().map(|n| n["id"].as_u64().unwrap()).collect::<Vec<_>>(), ids[..2].to_vec());
    let r = s.post(&co.path("/notifications/read"), &bek_token, json!({})).await.check(200);
    assert_eq!((r.body["marked"].as_u64(), r.body["unread"].as_u64()), (Some(2), Some(0)));

    // Forty days on, a new task; then read ones older than 30 days are pruned.
    s.advance(SignedDuration::from_hours(24 * 40));
    let bek_token = s.login("acme", "bekzod", USER_PASSWORD).await.check(200).str("access_token");
    let boss = s.login("acme", "dilnoza", USER_PASSWORD).await.check(200).str("access_token");
    s.post(&co.path("/tasks"), &boss, task("Reja")).await.check(201);
    {
        let tenant = s.running.state.tenants.get("acme").unwrap();
        let removed = idora::notify::prune(tenant.db().unwrap(), s.running.state.now_ms(), 30).await.unwrap();
        assert_eq!(removed, 3);
    }
    let page = s.get(&co.path("/notifications"), &bek_token).await.check(200);
    assert_eq!((page.body["unread"].as_u64(), page.body["items"].as_array().unwrap().len()), (Some(1), 1));
    assert_eq!(page.body["items"][0]["read"], false);

    // The count is stored: a restart tells the same.
    let s = s.restart().await;
    let bek_token = s.login("acme", "bekzod", USER_PASSWORD).await.check(200).str("access_token");
    assert_eq!(s.get(&co.path("/notifications"), &bek_token).await.check(200).body["unread"], 1);
}
