//! One event, one notification, naming the person who did the thing: a
//! task a director approves reaches its assignee once, as a new task from
//! the manager who created it (not from the approver); and the sentence is
//! grammatical in every language with any name (no suffix glued to a name).

use super::*;
use idora::i18n::{Lang, tf};

#[tokio::test]
async fn an_approved_task_reaches_its_assignee_once_from_its_creator() {
    let w = world().await;
    // The manager (Malika Yusupova) gives the operator, outside her department, a task.
    let id = w.task("manager", "operator", "Navbat tizimi").await["id"].as_u64().unwrap();
    let (s, _) = w.post("director", &format!("/tasks/{id}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK);

    let about: Vec<Value> = w.notes("operator").await.into_iter().filter(|n| n["task_id"] == id).collect();
    assert_eq!(about.len(), 1, "one event, one notification: {about:?}");
    assert_eq!(about[0]["kind"], "task_assigned");
    let text = about[0]["text"].as_str().unwrap();
    assert!(text.contains("Malika Yusupova"), "names the creator: {text}");
    assert!(!text.contains("Dilnoza Rahimova"), "not the approver: {text}");
    assert_eq!(text, tf(Lang::Uz, "notify.task_assigned", &[("title", "Navbat tizimi"), ("by", "Malika Yusupova")]));

    // The creator hears once that it was approved, by whom.
    let creator: Vec<Value> = w.notes("manager").await.into_iter().filter(|n| n["task_id"] == id).collect();
    assert_eq!(creator.len(), 1, "{creator:?}");
    assert!(creator[0]["text"].as_str().unwrap().contains("Dilnoza Rahimova"));
}

#[tokio::test]
async fn closing_the_last_open_task_tells_its_creator_once() {
    let w = world().await;
    // The manager hands out one task; the director, not the manager, accepts it.
    let id = w.task("manager", "employee", "Yillik hisobot").await["id"].as_u64().unwrap();
    w.move_to("employee", id, "in_progress", None).await;
    w.move_to("employee", id, "pending_review", None).await;
    let before = w.notes("manager").await.len();
    let (s, _) = w.move_to("director", id, "completed", None).await;
    assert_eq!(s, StatusCode::OK);

    // One event, one notification: the task and that everything is done, in one.
    let notes = w.notes("manager").await;
    assert_eq!(notes.len(), before + 1, "one notification for the completion: {notes:?}");
    let last = notes.iter().find(|n| n["task_id"] == id && n["kind"] == "tasks_all_done").expect("the all-done notice names the task");
    let text = last["text"].as_str().unwrap();
    assert!(text.contains("Yillik hisobot") && text.contains("Dilnoza Rahimova"), "the task and who closed it: {text}");
    assert!(text.ends_with(idora::i18n::t(Lang::Uz, "notify.tasks_all_done")), "and that all is done: {text}");
    assert!(!notes.iter().any(|n| n["task_id"] == id && n["kind"] == "task_status" && n["text"].as_str().unwrap().contains("Dilnoza")));
    // The assignee hears of the completion as before, once.
    let mine: Vec<Value> = w.notes("employee").await.into_iter().filter(|n| n["task_id"] == id && n["kind"] != "task_assigned").collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["kind"], "task_status");

    // A task the creator assigned to themselves, closed by the director: still one.
    let own = w.task("manager", "manager", "O‘zim uchun").await["id"].as_u64().unwrap();
    w.move_to("manager", own, "in_progress", None).await;
    w.move_to("manager", own, "pending_review", None).await;
    let before = w.notes("manager").await.len();
    w.move_to("director", own, "completed", None).await;
    let notes = w.notes("manager").await;
    assert_eq!(notes.len(), before + 1, "{notes:?}");
    assert_eq!(notes.iter().filter(|n| n["task_id"] == own && n["kind"] != "task_assigned").count(), 1);
}

#[test]
fn names_are_never_glued_to_a_suffix_or_declined() {
    let by = "Dilnoza Rahimova";
    for lang in [Lang::Uz, Lang::Ru, Lang::En] {
        for key in ["notify.task_assigned", "notify.task_deadline", "notify.task_approval", "notify.task_extension"] {
            let text = tf(lang, key, &[("title", "X"), ("by", by)]);
            assert!(text.contains(by), "{lang:?} {key}: {text}");
            let after = &text[text.find(by).unwrap() + by.len()..];
            let next = after.split_whitespace().next().unwrap_or("");
            assert!(
                !["dan", "ga", "ning", "ni", "da"].contains(&next.trim_matches(|c: char| !c.is_alphabetic())),
                "{lang:?} {key}: an Uzbek suffix written apart from the name: {text}"
            );
        }
    }
    // Russian never puts a name after a preposition that needs another case.
    for key in ["notify.task_assigned", "notify.task_deadline"] {
        let text = tf(Lang::Ru, key, &[("title", "X"), ("by", by)]);
        assert!(!text.contains(&format!("от {by}")) && !text.contains("изменил(а)"), "{text}");
    }
}
