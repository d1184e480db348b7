//! Chat over real HTTP and WebSocket: a task's discussion live between its
//! manager and its assignee, unread counts and read marks, one
//! notification for a burst, mentions, edit and delete within 15 minutes,
//! groups whose removed member stops hearing at once, and an outsider who
//! finds nothing (404) wherever they look.

use super::*;

use idora::i18n::{Lang, tn};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl World {
    async fn socket(&self, who: &str) -> Socket {
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&self.s, DEMO, &self.tokens[who])).await.unwrap();
        assert_eq!(next_json(&mut ws).await["kind"], "hello");
        ws
    }

    async fn say(&self, who: &str, path: &str, text: &str) -> Value {
        let (s, v) = self.post(who, path, json!({ "text": text })).await;
        assert_eq!(s, StatusCode::CREATED, "{who} writes {text:?}: {v}");
        v
    }
}

/// The `chat.message` event of message `id` (others are passed over).
async fn heard(ws: &mut Socket, id: &Value) -> Value {
    loop {
        let v = next_of(ws, "chat.message").await;
        if v["data"]["id"] == *id {
            return v;
        }
    }
}

/// The next event of `kind` on the socket (others are passed over).
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["kind"] == kind {
            return v;
        }
    }
}

#[tokio::test]
async fn two_people_discuss_a_task_live_with_unread_counts_and_one_notification_per_burst() {
    let w = world().await;
    let id = w.task("manager", "employee", "Kassa hisobotini tekshirish").await["id"].as_u64().unwrap();
    let mut emp = w.socket("employee").await;
    let mut man = w.socket("manager").await;

    // Nothing said yet: an empty discussion, no thread.
    let (s, v) = w.get("employee", &format!("/tasks/{id}/messages")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"thread_id": null, "items": []}));

    // The manager writes: the assignee's page hears it at once, with one unread.
    let m1 = w.say("manager", &format!("/tasks/{id}/messages"), "Bugun 17:00 gacha, iltimos").await;
    let thread = m1["thread_id"].as_u64().unwrap();
    assert_eq!(m1["author_name"], "Malika Yusupova");
    let ev = next_of(&mut emp, "chat.message").await;
    assert_eq!(ev["data"], json!({"thread_id": thread, "id": m1["id"], "unread": 1, "total": 1}));
    assert_eq!(ev["topic"], format!("user:{}", w.ids["employee"]));

    // The assignee reads it and answers, quoting it.
    let (_, page) = w.get("employee", &format!("/threads/{thread}/messages")).await;
    assert_eq!(page["items"][0]["text"], "Bugun 17:00 gacha, iltimos");
    let (s, r) = w.post("employee", &format!("/tasks/{id}/messages"), json!({"text": "Xo‘p, bajaraman", "reply_to": m1["id"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["reply_to"]["author_name"], "Malika Yusupova");
    assert_eq!(r["reply_to"]["text"], "Bugun 17:00 gacha, iltimos");
    let ev = heard(&mut man, &r["id"]).await;
    assert_eq!(ev["data"]["unread"], 1, "the manager has the answer unread");
    // Writing is reading: the assignee has nothing unread now.
    let (_, list) = w.get("employee", "/threads").await;
    assert_eq!(list["unread"], 0);
    assert_eq!(list["items"][0]["title"], "Kassa hisobotini tekshirish");
    assert_eq!(list["items"][0]["kind"], "task");

    // A burst of three from the manager: three unread, ONE notification that says three.
    for text in ["Birinchi", "Ikkinchi", "Uchinchi"] {
        w.say("manager", &format!("/threads/{thread}/messages"), text).await;
    }
    let (_, list) = w.get("employee", "/threads").await;
    assert_eq!((list["unread"].as_u64(), list["items"][0]["unread"].as_u64()), (Some(3), Some(3)));
    let chat_notes: Vec<Value> =
        w.notes("employee").await.into_iter().filter(|n| n["kind"] == "chat_message" && n["read"] == false).collect();
    assert_eq!(chat_notes.len(), 1, "one notification for the burst (the first was read by answering): {chat_notes:?}");
    let want = tn(Lang::Uz, "notify.chat_messages", 3, &[("title", "Kassa hisobotini tekshirish"), ("by", "Malika Yusupova")]);
    assert_eq!(chat_notes[0]["text"], want);
    assert_eq!(chat_notes[0]["task_id"], id);

    // Reading up to the second of them leaves one; reading all, none, and the notification is read.
    let (_, msgs) = w.get("employee", &format!("/threads/{thread}/messages?after={}", r["id"])).await;
    let ids: Vec<u64> = msgs["items"].as_array().unwrap().iter().map(|m| m["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 3, "catching up after a message returns what came after it");
    let (s, v) = w.post("employee", &format!("/threads/{thread}/read"), json!({"message_id": ids[1]})).await;
    assert_eq!((s, v["unread"].as_u64()), (StatusCode::OK, Some(1)));
    let ev = next_of(&mut emp, "chat.read").await;
    assert_eq!(ev["data"]["unread"], 1);
    // The manager's page hears how far the assignee read.
    let seen = next_of(&mut man, "chat.read").await;
    assert_eq!(seen["data"], json!({"thread_id": thread, "user_id": w.ids["employee"], "message_id": ids[1]}));
    let (_, v) = w.post("employee", &format!("/threads/{thread}/read"), json!({})).await;
    assert_eq!(v["unread"], 0);
    assert!(w.notes("employee").await.iter().filter(|n| n["kind"] == "chat_message").all(|n| n["read"] == true));

    // Typing reaches the other page, with the name.
    let (s, _) = w.post("employee", &format!("/threads/{thread}/typing"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let ev = next_of(&mut man, "chat.typing").await;
    assert_eq!(ev["data"], json!({"thread_id": thread, "user_id": w.ids["employee"], "name": "Bekzod Aliyev"}));

    // The next message after reading makes a new notification.
    w.say("manager", &format!("/threads/{thread}/messages"), "Rahmat!").await;
    let unread: Vec<Value> = w.notes("employee").await.into_iter().filter(|n| n["kind"] == "chat_message" && n["read"] == false).collect();
    assert_eq!(unread.len(), 1);
    assert_eq!(
        unread[0]["text"],
        idora::i18n::tf(Lang::Uz, "notify.chat_message", &[("title", "Kassa hisobotini tekshirish"), ("by", "Malika Yusupova")])
    );
}

#[tokio::test]
async fn an_outsider_finds_no_thread_and_cannot_write_or_watch() {
    let w = world().await;
    let id = w.task("manager", "employee", "Maxfiy hisobot").await["id"].as_u64().unwrap();
    let m = w.say("manager", &format!("/tasks/{id}/messages"), "Faqat biz uchun").await;
    let thread = m["thread_id"].as_u64().unwrap();
    let mid = m["id"].as_u64().unwrap();
    let mut op = w.socket("operator").await;

    // The operator (another department, no view of this task) finds nothing anywhere.
    for path in [format!("/tasks/{id}/messages"), format!("/threads/{thread}/messages")] {
        let (s, v) = w.get("operator", &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
        assert_eq!(kind(&v), "not_found");
    }
    for (path, body) in [
        (format!("/tasks/{id}/messages"), json!({"text": "Salom"})),
        (format!("/threads/{thread}/messages"), json!({"text": "Salom"})),
        (format!("/threads/{thread}/read"), json!({})),
        (format!("/threads/{thread}/typing"), json!({})),
    ] {
        let (s, _) = w.post("operator", &path, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = w.patch("operator", &format!("/messages/{mid}"), json!({"text": "o‘zgartirdim"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = w.get("operator", "/threads").await;
    assert_eq!(list["items"], json!([]));

    // The operator's socket hears nothing of it: the next thing it hears is a direct message meant for them.
    w.say("manager", &format!("/threads/{thread}/messages"), "Yana bir gap").await;
    let (_, direct) = w.post("manager", "/threads", json!({"kind": "direct", "user_id": w.ids["operator"]})).await;
    w.say("manager", &format!("/threads/{}/messages", direct["id"]), "Nilufar, salom").await;
    let ev = next_of(&mut op, "chat.message").await;
    assert_eq!(ev["data"]["thread_id"], direct["id"], "the first chat event the operator hears is their own");

    // The director sees every task, so reads its thread.
    let (s, _) = w.get("director", &format!("/threads/{thread}/messages")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_member_taken_out_of_a_group_stops_hearing_at_once() {
    let w = world().await;
    let (emp, op) = (w.ids["employee"], w.ids["operator"]);
    // An employee may not make groups; a manager may.
    let (s, _) = w.post("employee", "/threads", json!({"kind": "group", "name": "Kassa", "member_ids": [op]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, g) = w.post("manager", "/threads", json!({"kind": "group", "name": "Kassa jamoasi", "member_ids": [emp, op]})).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!((g["kind"].as_str(), g["title"].as_str()), (Some("group"), Some("Kassa jamoasi")));
    let gid = g["id"].as_u64().unwrap();

    let mut ops = w.socket("operator").await;
    w.say("manager", &format!("/threads/{gid}/messages"), "Ertaga yig‘ilish").await;
    assert_eq!(next_of(&mut ops, "chat.message").await["data"]["thread_id"], gid);

    // Taken out: told once, then nothing more of the group, and the thread is gone for them.
    let (s, _) = w.patch("manager", &format!("/threads/{gid}"), json!({"member_ids": [w.ids["manager"], emp]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(next_of(&mut ops, "chat.removed").await["data"]["thread_id"], gid);
    w.say("manager", &format!("/threads/{gid}/messages"), "Nilufar endi guruhda emas").await;
    let (_, direct) = w.post("employee", "/threads", json!({"kind": "direct", "user_id": op})).await;
    w.say("employee", &format!("/threads/{}/messages", direct["id"]), "Salom").await;
    let ev = next_of(&mut ops, "chat.message").await;
    assert_eq!(ev["data"]["thread_id"], direct["id"], "the group's message never reached the removed member");
    let (s, _) = w.get("operator", &format!("/threads/{gid}/messages")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Their unread total no longer counts the group.
    let (_, list) = w.get("operator", "/threads").await;
    assert_eq!(list["unread"], 1, "only the direct message: {list}");

    // The same direct chat every time, from either side.
    let (_, again) = w.post("operator", "/threads", json!({"kind": "direct", "user_id": emp})).await;
    assert_eq!(again["id"], direct["id"]);
    assert_eq!(again["title"], "Bekzod Aliyev");
}

#[tokio::test]
async fn mentions_notify_who_may_read_and_messages_change_only_for_fifteen_minutes() {
    let mut w = world().await;
    let id = w.task("manager", "employee", "Hujjatlar").await["id"].as_u64().unwrap();
    // The director may read the task; the operator may not: only the director is mentioned.
    let m = w.say("manager", &format!("/tasks/{id}/messages"), "@director ko‘rib chiqing, @operator ham; a@b.uz").await;
    assert_eq!(m["mentions"], json!([w.ids["director"]]));
    let notes = w.notes("director").await;
    let mention: Vec<&Value> = notes.iter().filter(|n| n["kind"] == "chat_mention").collect();
    assert_eq!(mention.len(), 1);
    assert_eq!(mention[0]["text"], idora::i18n::tf(Lang::Uz, "notify.chat_mention", &[("title", "Hujjatlar"), ("by", "Malika Yusupova")]));
    assert!(w.notes("operator").await.iter().all(|n| n["kind"] != "chat_mention"));

    // Edit: one's own, within 15 minutes.
    let mid = m["id"].as_u64().unwrap();
    let (s, v) = w.patch("employee", &format!("/messages/{mid}"), json!({"text": "meniki"})).await;
    assert_eq!((s, kind(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = w.patch("manager", &format!("/messages/{mid}"), json!({"text": "@director ko‘rib chiqing"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((v["text"].as_str(), v["edited"].as_bool()), (Some("@director ko‘rib chiqing"), Some(true)));
    let late = w.say("manager", &format!("/tasks/{id}/messages"), "Eski gap").await;
    let del = w.say("manager", &format!("/tasks/{id}/messages"), "Xato yozdim").await;
    let (s, v) = w.call(Method::DELETE, "manager", &format!("/messages/{}", del["id"]), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((v["deleted"].as_bool(), v["text"].as_str(), v["deleted_by"].as_u64()), (Some(true), Some(""), Some(w.ids["manager"])));
    let (_, page) = w.get("employee", &format!("/tasks/{id}/messages")).await;
    let last = page["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["id"].clone(), last["deleted"].clone(), last["text"].clone()),
        (del["id"].clone(), json!(true), json!("")),
        "a deleted message stays as deleted"
    );

    w.advance(SignedDuration::from_mins(16)).await;
    let (s, v) = w.patch("manager", &format!("/messages/{}", late["id"]), json!({"text": "kech"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["message"], msg_with(Lang::Uz, "error.chat_too_late", &[("minutes", "15")]));
    let (s, _) = w.call(Method::DELETE, "manager", &format!("/messages/{}", late["id"]), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_messages_are_refused_with_a_reason_and_change_nothing() {
    let w = world().await;
    let id = w.task("manager", "employee", "Tekshiruv").await["id"].as_u64().unwrap();
    let other = w.task("manager", "employee", "Boshqa").await["id"].as_u64().unwrap();
    let elsewhere = w.say("manager", &format!("/tasks/{other}/messages"), "Boshqa joyda").await;
    let path = format!("/tasks/{id}/messages");
    for (body, field, message) in [
        (json!({"text": "   "}), "text", msg(Lang::Uz, "validation.chat_empty")),
        (json!({"text": "x".repeat(4001)}), "text", msg_with(Lang::Uz, "validation.text_too_long", &[("max", "4000")])),
        (json!({"text": "javob", "reply_to": elsewhere["id"]}), "reply_to", msg(Lang::Uz, "validation.chat_reply_elsewhere")),
        (json!({"text": "fayl", "file_ids": [999_999]}), "file_ids", msg_with(Lang::Uz, "files.unknown", &[("id", "999999")])),
    ] {
        let (s, v) = w.post("manager", &path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
        assert_eq!(v["error"]["message"], message, "{body}");
    }
    let (_, page) = w.get("manager", &path).await;
    assert_eq!(page["items"], json!([]), "nothing was stored");
    let (s, _) = w.get("manager", &format!("/threads/{}/messages?limit=0", elsewhere["thread_id"])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = w.post("manager", "/threads", json!({"kind": "direct", "user_id": w.ids["manager"]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn russian_counts_take_the_right_form() {
    let args = [("title", "Отчёт"), ("by", "Малика")];
    assert_eq!(tn(Lang::Ru, "chat.count", 1, &[]), "1 сообщение");
    assert_eq!(tn(Lang::Ru, "chat.count", 3, &[]), "3 сообщения");
    assert_eq!(tn(Lang::Ru, "chat.count", 5, &[]), "5 сообщений");
    assert_eq!(tn(Lang::Ru, "chat.count", 21, &[]), "21 сообщение");
    assert_eq!(tn(Lang::Ru, "notify.chat_messages", 3, &args), "3 новых сообщения в «Отчёт», последнее от Малика.");
    assert_eq!(tn(Lang::Ru, "notify.chat_messages", 11, &args), "11 новых сообщений в «Отчёт», последнее от Малика.");
}

#[tokio::test]
async fn search_finds_messages_in_latin_and_cyrillic_only_where_the_searcher_may_read() {
    let w = world().await;
    let id = w.task("manager", "employee", "Kassa").await["id"].as_u64().unwrap();
    let m = w.say("manager", &format!("/tasks/{id}/messages"), "Shartnoma nusxasini ertaga olib keling").await;
    let (_, g) = w.post("manager", "/threads", json!({"kind": "group", "name": "Kredit", "member_ids": [w.ids["employee"]]})).await;
    w.say("manager", &format!("/threads/{}/messages", g["id"]), "Shartnomalar ro‘yxati tayyor").await;
    let gone = w.say("manager", &format!("/tasks/{id}/messages"), "Shartnoma xato").await;
    w.call(Method::DELETE, "manager", &format!("/messages/{}", gone["id"]), None).await;
    let state = w.s.state();
    let tenant = state.tenants.get(DEMO).unwrap();
    state.search.get(&tenant).unwrap().flush().await;

    // Cyrillic finds Latin; the word's beginning is enough; a deleted message is not found.
    let (s, v) = w.get("employee", "/search/messages?q=%D1%88%D0%B0%D1%80%D1%82%D0%BD%D0%BE%D0%BC").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let found: Vec<u64> = v["items"].as_array().unwrap().iter().map(|h| h["message_id"].as_u64().unwrap()).collect();
    assert_eq!(found.len(), 2, "{v}");
    assert!(found.contains(&m["id"].as_u64().unwrap()));
    let hit = v["items"].as_array().unwrap().iter().find(|h| h["message_id"] == m["id"]).unwrap();
    assert_eq!((hit["title"].as_str(), hit["task_id"].as_u64()), (Some("Kassa"), Some(id)));
    // The operator reads neither the task nor the group.
    let (_, v) = w.get("operator", "/search/messages?q=shartnoma").await;
    assert_eq!(v["items"], json!([]));
    // The director reads the task's thread, not the group.
    let (_, v) = w.get("director", "/search/messages?q=shartnoma").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_file_in_a_task_thread_is_readable_by_who_may_read_the_thread_and_no_one_else() {
    let w = world().await;
    let id = w.task("manager", "employee", "Kvitansiya").await["id"].as_u64().unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(crate::files::png(64, 48)).file_name("kvitansiya.png"));
    let up = w.s.send(w.s.req(Method::POST, &c(DEMO, "/files"), &w.tokens["manager"]).multipart(form)).await.check(201);
    let file = up.id();
    let path = format!("/files/{file}");
    // Not attached yet: only its uploader reads it.
    let (s, _) = w.get("employee", &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Someone else's upload cannot be attached.
    let (s, v) = w.post("employee", &format!("/tasks/{id}/messages"), json!({"text": "meniki", "file_ids": [file]})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("file_ids")));

    let (s, m) = w.post("manager", &format!("/tasks/{id}/messages"), json!({"text": "Kvitansiya", "file_ids": [file]})).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(m["files"][0]["name"], "kvitansiya.png");
    assert_eq!(m["files"][0]["mime"], "image/png");
    // The assignee and the director may read the task, so the file and its thumbnail.
    for who in ["employee", "director"] {
        let r = w.s.send(w.s.req(Method::GET, &c(DEMO, &path), &w.tokens[who])).await;
        assert_eq!(r.status, StatusCode::OK, "{who}");
        assert_eq!(r.header("content-type"), Some("image/png"));
        let r = w.s.send(w.s.req(Method::GET, &c(DEMO, &format!("{path}/thumb")), &w.tokens[who])).await;
        assert_eq!(r.status, StatusCode::OK, "{who}: thumbnail");
    }
    // The operator may not: 404 on the file and on its thumbnail, as if it did not exist.
    for p in [path.clone(), format!("{path}/thumb")] {
        let (s, v) = w.get("operator", &p).await;
        assert_eq!((s, kind(&v)), (StatusCode::NOT_FOUND, "not_found"), "{p}");
    }
    // The assignee was told about the file on their task.
    let notes = w.notes("employee").await;
    assert!(notes.iter().any(|n| n["kind"] == "task_file" && n["task_id"] == id), "{notes:?}");

    // Deleted: the message no longer lists it, and the assignee no longer reads it.
    let (s, _) = w.call(Method::DELETE, "manager", &format!("/messages/{}", m["id"]), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.get("employee", &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, page) = w.get("employee", &format!("/tasks/{id}/messages")).await;
    assert_eq!(page["items"][0]["files"], json!([]));
}
