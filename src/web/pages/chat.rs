//! Chat pages: the list of one's chats, a direct or group chat, and the
//! discussion panel a task page shows beside its details. The messages are
//! rendered here; `chat.js` sends, uploads, records voice and keeps the
//! thread live by asking for the items after the last one it has.

use super::org::{Ctx, Section};
use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::{self, MessageOut, Target, ThreadOut, Window};
use crate::error::AppError;
use crate::i18n::{Lang, t, tn};
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::csrf_field;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chats", get(list_page))
        .route("/chats/direct", post(open_direct))
        .route("/chats/department", post(open_department))
        .route("/chats/groups", post(create_group))
        .route("/chats/{id}", get(thread_page))
        .route("/chats/{id}/items", get(thread_items))
        .route("/tasks/{id}/chat-items", get(task_items))
}

/// How many messages a thread shows at first.
const FIRST_PAGE: usize = 50;

fn kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "task" => t(lang, "chat.kind_task"),
        "request" => t(lang, "chat.kind_request"),
        "direct" => t(lang, "chat.kind_direct"),
        "department" => t(lang, "chat.kind_department"),
        _ => t(lang, "chat.kind_group"),
    }
}

fn hm(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

fn day(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%d.%m.%Y").to_string()
}

/// When a thread last moved: the time today, else the date.
fn when(ms: i64, now: i64, tz: &jiff::tz::TimeZone) -> String {
    if day(ms, tz) == day(now, tz) { hm(ms, tz) } else { day(ms, tz) }
}

/// A message's text: links become links, `@name` mentions stand out; the
/// rest is text (maud escapes it). Line breaks stay (CSS `pre-wrap`).
pub(crate) fn rich_text(text: &str) -> Markup {
    let mut parts: Vec<(u8, &str)> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // The next word that is a link or a mention.
        let mut found: Option<(usize, usize, u8)> = None;
        let mut offset = 0;
        for word in rest.split_inclusive(char::is_whitespace) {
            let w = word.trim_end();
            if w.starts_with("https://") || w.starts_with("http://") {
                let w = w.trim_end_matches(['.', ',', ')', ';', ':', '!', '?', '»', '"']);
                found = Some((offset, w.len(), 1));
                break;
            }
            if w.len() > 1 && w.starts_with('@') {
                let n = w
                    .char_indices()
                    .skip(1)
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
                    .map(|(i, _)| i)
                    .unwrap_or(w.len());
                let n = w.get(..n).map(|s| s.trim_end_matches(['.', '-']).len()).unwrap_or(0);
                if n > 1 {
                    found = Some((offset, n, 2));
                    break;
                }
            }
            offset += word.len();
        }
        match found {
            Some((at, len, kind)) => {
                parts.push((0, rest.get(..at).unwrap_or("")));
                parts.push((kind, rest.get(at..at + len).unwrap_or("")));
                rest = rest.get(at + len..).unwrap_or("");
            }
            None => {
                parts.push((0, rest));
                rest = "";
            }
        }
    }
    html! {
        @for (kind, s) in parts {
            @match kind {
                1 => a href=(s) rel="noopener noreferrer nofollow" target="_blank" { (s) },
                2 => span.mention { (s) },
                _ => (s),
            }
        }
    }
}

/// The attachments of a message: a photo as its thumbnail (opening the
/// viewer), a voice note or a video as a player that seeks (Range), any
/// other file as a download with its name and size.
pub(crate) fn attachments(c: &Ctx, files: &[crate::files::FileMeta]) -> Markup {
    html! {
        @if !files.is_empty() {
            ul.msg-files {
                @for f in files {
                    @let url = c.url(&format!("api/v1/files/{}", f.id));
                    li {
                        @if crate::files::thumb::wanted(&f.mime) {
                            a.msg-image href=(url) target="_blank" data-viewer="" title=(f.name) {
                                img.msg-thumb src=(c.url(&format!("api/v1/files/{}/thumb", f.id))) data-full=(url) alt=(f.name) loading="lazy";
                            }
                        } @else if f.mime.starts_with("audio/") {
                            audio.msg-audio controls preload="metadata" src=(url) title=(f.name) {}
                        } @else if f.mime.starts_with("video/") {
                            video.msg-video controls preload="metadata" src=(url) title=(f.name) {}
                        } @else {
                            a.file-link href=(url) download=(f.name) {
                                span.file-name { (f.name) }
                                span.file-size { (crate::files::human_size(f.size)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One message as a list item. `me` may reply to any, and edit or delete
/// their own for 15 minutes (the page hides the buttons after that; the
/// server refuses anyway).
fn item(c: &Ctx, m: &MessageOut, now: i64, prev_day: Option<&str>) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let mine = m.author_id == c.user.id;
    let editable = mine && !m.deleted && now - m.created_at_ms <= chat::EDIT_WINDOW_MS;
    let this_day = day(m.created_at_ms, &tz);
    html! {
        @if prev_day != Some(this_day.as_str()) {
            li.msg-day data-day=(this_day) { span { (this_day) } }
        }
        li.msg.mine[mine].deleted[m.deleted] #(format!("m-{}", m.id)) data-id=(m.id) data-thread=(m.thread_id) data-author=(m.author_name)
            data-editable-until=[editable.then(|| m.created_at_ms + chat::EDIT_WINDOW_MS)] {
            div.msg-head {
                strong.msg-author { (m.author_name) }
                " "
                time.msg-time datetime=(crate::clock::from_ms(m.created_at_ms).to_string()) title=(format!("{} {}", this_day, hm(m.created_at_ms, &tz))) { (hm(m.created_at_ms, &tz)) }
                @if m.edited && !m.deleted {
                    " " span.msg-edited { (t(lang, "chat.edited")) }
                }
            }
            @if m.deleted {
                p.msg-text.muted { em { (t(lang, "chat.deleted")) } }
            } @else {
                @if let Some(q) = &m.reply_to {
                    a.msg-quote href=(format!("#m-{}", q.id)) {
                        strong { (q.author_name) }
                        " "
                        @if q.deleted { em { (t(lang, "chat.deleted")) } } @else { (q.text) }
                    }
                }
                @if !m.text.is_empty() {
                    p.msg-text { (rich_text(&m.text)) }
                }
                (attachments(c, &m.files))
                div.msg-actions {
                    button.link type="button" data-act="reply" { (t(lang, "chat.reply")) }
                    @if editable {
                        button.link type="button" data-act="edit" { (t(lang, "chat.edit")) }
                        button.link type="button" data-act="delete" data-confirm=(t(lang, "chat.delete_confirm")) { (t(lang, "chat.delete")) }
                    }
                }
            }
        }
    }
}

fn items(c: &Ctx, msgs: &[MessageOut], now: i64, mut prev_day: Option<String>) -> Markup {
    let tz = c.tenant().timezone();
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        out.push(item(c, m, now, prev_day.as_deref()));
        prev_day = Some(day(m.created_at_ms, &tz));
    }
    html! { @for m in out { (m) } }
}

/// The discussion of a task (`task_id`) or a thread: its messages, the
/// composer, and what `chat.js` needs to keep it live.
pub(crate) fn panel(state: &AppState, c: &Ctx, target: Target, title: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let (thread, msgs) = chat::messages(db, &who, target, Window { limit: FIRST_PAGE, ..Window::default() })?;
    let now = state.now_ms();
    let (post_url, items_url) = match target {
        Target::Task(id) => (c.url(&format!("api/v1/tasks/{id}/messages")), c.url(&format!("tasks/{id}/chat-items"))),
        Target::Thread(id) => (c.url(&format!("api/v1/threads/{id}/messages")), c.url(&format!("chats/{id}/items"))),
    };
    let first = msgs.first().map(|m| m.id);
    Ok(html! {
        section.card.chat-panel #chat data-thread=[thread] data-post=(post_url) data-items=(items_url)
            data-files=(c.url("api/v1/files")) data-api=(c.url("api/v1")) data-me=(c.user.id)
            data-upload-failed=(t(lang, "chat.upload_failed")) data-typing=(t(lang, "chat.typing")) data-save=(t(lang, "chat.save"))
            data-cancel=(t(lang, "chat.cancel")) data-replying=(t(lang, "chat.replying_to")) {
            h2.chat-title { (title.unwrap_or(t(lang, "chat.thread"))) }
            @if msgs.len() == FIRST_PAGE && let Some(f) = first {
                button.link.chat-older type="button" data-before=(f) { (t(lang, "chat.older")) }
            }
            ol.chat-messages aria-live="polite" {
                @if msgs.is_empty() {
                    li.chat-empty { (t(lang, "chat.no_messages")) }
                }
                (items(c, &msgs, now, None))
            }
            p.chat-typing aria-live="polite" hidden {}
            form.chat-compose action=(post_url) method="post" {
                div.chat-reply hidden {
                    span.chat-reply-text {}
                    button.link type="button" data-act="unreply" aria-label=(t(lang, "chat.cancel")) { "×" }
                }
                ul.chat-pending {}
                label.visually-hidden for="chat-text" { (t(lang, "chat.placeholder")) }
                textarea #chat-text name="text" rows="2" maxlength=(chat::TEXT_MAX) placeholder=(t(lang, "chat.placeholder")) {}
                div.chat-tools {
                    label.button.chat-attach {
                        span { (t(lang, "chat.attach")) }
                        input.visually-hidden type="file" multiple data-pick="files";
                    }
                    label.button.chat-camera {
                        span { (t(lang, "chat.camera")) }
                        input.visually-hidden type="file" accept="image/*,video/*" capture="environment" data-pick="camera";
                    }
                    button.button.chat-voice type="button" data-stop=(t(lang, "chat.stop")) { span { (t(lang, "chat.voice")) } }
                    button.button.primary.chat-send type="submit" { (t(lang, "chat.send")) }
                }
                p.form-error.chat-error role="alert" hidden {}
            }
        }
    })
}

// ---------- the list of chats ----------

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
}

async fn list_page(State(state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<ListQuery>) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let q = q.q.chars().take(200).collect::<String>();
    let threads = chat::threads(db, &who, &q)?;
    let hits = if q.trim().is_empty() { Vec::new() } else { chat::search(db, &*state.search.get(c.tenant())?, &who, &q, 30)? };
    let now = state.now_ms();
    let tz = c.tenant().timezone();
    let colleagues: Vec<(u64, String)> = {
        let mut v: Vec<(u64, String)> = crate::org::service::directory(db, &who)?
            .into_iter()
            .filter(|(id, u)| u.active && *id != c.user.id)
            .map(|(id, u)| (id, u.name))
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    };
    let title = t(lang, "chat.title");
    let body = html! {
        div.page-head {
            h1 { (title) }
        }
        form.search-bar method="get" action=(c.url("chats")) role="search" {
            label.visually-hidden for="chat-q" { (t(lang, "chat.search")) }
            input #chat-q type="search" name="q" value=(q) placeholder=(t(lang, "chat.search")) maxlength="200";
        }
        div.chat-start {
            form.inline-form method="post" action=(c.url("chats/direct")) {
                (csrf_field(c.csrf()))
                label.visually-hidden for="chat-colleague" { (t(lang, "chat.new_direct")) }
                select #chat-colleague name="user_id" required {
                    option value="" { (t(lang, "chat.new_direct")) "…" }
                    @for (id, name) in &colleagues {
                        option value=(id) { (name) }
                    }
                }
                button.button.primary type="submit" { (t(lang, "chat.open")) }
            }
            @if c.user.account.department_id.is_some() {
                form.inline-form method="post" action=(c.url("chats/department")) {
                    (csrf_field(c.csrf()))
                    button.button type="submit" { (t(lang, "chat.my_department")) }
                }
            }
            @if chat::may_manage_groups(&who) {
                details.chat-new-group {
                    summary.button { "+ " (t(lang, "chat.new_group")) }
                    form.stack method="post" action=(c.url("chats/groups")) {
                        (csrf_field(c.csrf()))
                        label for="group-name" { (t(lang, "chat.group_name")) }
                        input #group-name name="name" required maxlength=(chat::NAME_MAX);
                        fieldset.member-pick {
                            legend { (t(lang, "chat.members")) }
                            @for (id, name) in &colleagues {
                                label.check { input type="checkbox" name="member" value=(id); " " (name) }
                            }
                        }
                        button.button.primary type="submit" { (t(lang, "chat.create")) }
                    }
                }
            }
        }
        @if !hits.is_empty() {
            h2.chat-hits-title { (t(lang, "chat.found_messages")) }
            ul.thread-list.chat-hits {
                @for h in &hits {
                    li.thread-row {
                        a href=(match h.task_id { Some(task) => c.url(&format!("tasks/{task}#m-{}", h.message_id)), None => c.url(&format!("chats/{}#m-{}", h.thread_id, h.message_id)) }) {
                            strong.thread-title { (h.title) }
                            time.thread-when { (when(h.created_at_ms, now, &tz)) }
                            span.thread-preview { (h.author_name) ": " (h.text) }
                        }
                    }
                }
            }
        }
        @if threads.is_empty() && hits.is_empty() {
            p.empty { (if q.trim().is_empty() { t(lang, "chat.empty") } else { t(lang, "chat.nothing_found") }) }
        } @else if !threads.is_empty() {
            @if !hits.is_empty() { h2.chat-hits-title { (t(lang, "chat.title")) } }
            ul.thread-list data-chat-list="" {
                @for th in &threads {
                    (thread_row(&c, th, now, &tz))
                }
            }
        }
    };
    Ok(c.render(title, Section::Chats, None, body))
}

fn thread_row(c: &Ctx, th: &ThreadOut, now: i64, tz: &jiff::tz::TimeZone) -> Markup {
    let lang = c.lang();
    let href = match (th.kind, th.task_id) {
        ("task", Some(task)) => c.url(&format!("tasks/{task}#chat")),
        ("request", Some(request)) => c.url(&format!("requests/{request}#conversation")),
        _ => c.url(&format!("chats/{}", th.id)),
    };
    html! {
        li.thread-row.unread[th.unread > 0] data-thread=(th.id) {
            a href=(href) {
                span.thread-kind { (kind_label(lang, th.kind)) }
                strong.thread-title { (th.title) }
                time.thread-when { (when(th.last_at_ms, now, tz)) }
                span.thread-preview { (th.preview) }
                @if th.unread > 0 {
                    span.nav-badge.thread-unread title=(tn(lang, "chat.unread", th.unread, &[])) { (th.unread) }
                }
            }
        }
    }
}

// ---------- one chat ----------

async fn thread_page(State(state): State<AppState>, user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let th = chat::thread(db, &who, id)?;
    // A task's discussion lives on the task's page.
    if let ("task", Some(task)) = (th.kind, th.task_id) {
        return Ok(Redirect::to(&c.url(&format!("tasks/{task}#chat"))).into_response());
    }
    // A request's conversation lives on the request's page (public replies and notes apart).
    if let ("request", Some(request)) = (th.kind, th.task_id) {
        return Ok(Redirect::to(&c.url(&format!("requests/{request}#conversation"))).into_response());
    }
    let members = if th.kind == "group" { chat::members(db, &who, id)? } else { Vec::new() };
    let panel = panel(&state, &c, Target::Thread(id), Some(&th.title))?;
    let body = html! {
        p.back { a href=(c.url("chats")) { "← " (t(lang, "chat.title")) } }
        @if !members.is_empty() {
            details.chat-members {
                summary { (t(lang, "chat.members")) " · " (members.len()) }
                ul { @for (_, name) in &members { li { (name) } } }
            }
        }
        (panel)
    };
    Ok(c.render(&th.title, Section::Chats, None, body).into_response())
}

#[derive(Deserialize, Default)]
struct ItemsQuery {
    after: Option<u64>,
    before: Option<u64>,
    /// One message (after an edit or a delete).
    id: Option<u64>,
    /// The day of the message the new ones follow (no repeated day line).
    day: Option<String>,
}

async fn items_of(state: &AppState, c: &Ctx, target: Target, q: ItemsQuery) -> Result<Markup, AppError> {
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let now = state.now_ms();
    if let Some(id) = q.id {
        let m = chat::message(db, &who, id)?;
        return Ok(item(c, &m, now, Some(&day(m.created_at_ms, &c.tenant().timezone()))));
    }
    let (_, msgs) = chat::messages(db, &who, target, Window { before: q.before, after: q.after, limit: chat::PAGE_MAX })?;
    Ok(items(c, &msgs, now, q.day))
}

async fn thread_items(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Query(q): Query<ItemsQuery>,
) -> Result<Markup, AppError> {
    items_of(&state, &Ctx::new(user, page), Target::Thread(id), q).await
}

async fn task_items(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Query(q): Query<ItemsQuery>,
) -> Result<Markup, AppError> {
    items_of(&state, &Ctx::new(user, page), Target::Task(id), q).await
}

// ---------- starting a chat ----------

#[derive(Deserialize)]
struct DirectForm {
    user_id: String,
}

async fn open_direct(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<DirectForm>,
) -> Result<Redirect, AppError> {
    let c = Ctx::new(user, page);
    let other = f.user_id.trim().parse().map_err(|_| AppError::invalid("user_id", "validation.required"))?;
    let id = chat::open_direct(c.tenant(), &Caller::from(&c.user), other, state.now_ms()).await?;
    Ok(Redirect::to(&c.url(&format!("chats/{id}"))))
}

async fn open_department(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Redirect, AppError> {
    let c = Ctx::new(user, page);
    let id = chat::open_department(c.tenant(), &Caller::from(&c.user), state.now_ms()).await?;
    Ok(Redirect::to(&c.url(&format!("chats/{id}"))))
}

async fn create_group(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Redirect, AppError> {
    let c = Ctx::new(user, page);
    let name = f.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let members: Vec<u64> = f.iter().filter(|(k, _)| k == "member").filter_map(|(_, v)| v.parse().ok()).collect();
    let id = chat::create_group(&state, c.tenant(), &Caller::from(&c.user), &name, members).await?;
    Ok(Redirect::to(&c.url(&format!("chats/{id}"))))
}
