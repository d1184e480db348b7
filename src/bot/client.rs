//! The bot for clients (the request-bot brief): the main menu, a new
//! request walked field by field through its category's form, "My
//! requests", writing to a request, notices about it, rating, and sharing a
//! phone contact.
//!
//! Every step of a dialogue is stored (`Ctx::set_dialogue`), so a restart
//! halfway through a form continues where the client was. The answers are
//! checked one by one with the form's own rule (`categories::check_answer`)
//! and the request is filed with the web form's (`requests::service::create`).

use super::ui;
use super::update::Ctx;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::i18n::{Lang, t, tf};
use crate::requests::clients::{self, Entry};
use crate::requests::service::{self as svc, ClientInput, NewRequest};
use crate::requests::{categories, number, status_label};
use crate::store::schema::{BotButtonV1, BotMessageV1, BotOutV1, FieldKind, FormField, RequestCategoryV1, RequestChannel};
use crate::telegram::chats;
use crate::tenancy::Tenant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use teloxide::prelude::*;
use teloxide::types::{ButtonRequest, CallbackQuery, KeyboardButton, Message, ReplyMarkup};

/// The dialogues of this part (`Dialogue::area`).
pub const AREA: &str = "client";

/// Most requests "My requests" lists.
const MINE_MAX: usize = 10;
/// Most lines of a request's story shown in one message.
const STORY_MAX: usize = 15;
/// A quoted message is cut to this many characters in lists.
const QUOTE_MAX: usize = 160;

/// A request being filled in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Form {
    category: u64,
    /// Answers by field key, as the core takes them (a date `yyyy-mm-dd`, a
    /// choice's key, a phone normalised); a file field's is the file's
    /// signed reference.
    answers: BTreeMap<String, String>,
    /// A file field's file name, for the summary.
    #[serde(default)]
    file_names: BTreeMap<String, String>,
    text: String,
    files: Vec<Attached>,
    /// Came from the summary's Edit: back to the summary after the answer.
    #[serde(default)]
    review: bool,
}

/// A file the client sent: its signed reference and name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attached {
    r: String,
    name: String,
}

/// Where a client's dialogue is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// Choosing a category.
    Category,
    /// Answering field `index` of the form.
    Field { form: Form, index: usize },
    /// Describing the request in their words, with attachments.
    Text { form: Form },
    /// Reading the summary: Send, Edit or Cancel.
    Summary { form: Form },
    /// Their next message goes to request `request`.
    Write { request: u64 },
    /// Their next message comments the rating of request `request`.
    Comment { request: u64 },
}

fn btn(lang: Lang, key: &str, data: impl Into<String>) -> BotButtonV1 {
    ui::button(t(lang, key), data)
}

fn inline(rows: &[Vec<BotButtonV1>]) -> Option<ReplyMarkup> {
    (!rows.is_empty()).then(|| ReplyMarkup::InlineKeyboard(ui::inline(rows)))
}

/// The client's main menu under the input.
pub fn keyboard(lang: Lang) -> ReplyMarkup {
    let b = |key: &str| KeyboardButton::new(t(lang, key));
    ui::menu(vec![
        vec![b("bot.menu.new_request"), b("bot.menu.my_requests")],
        vec![b("bot.menu.queue"), b("bot.menu.language")],
        vec![b("bot.menu.contact").request(ButtonRequest::Contact)],
    ])
}

/// The client's main menu.
pub async fn menu(ctx: &Ctx<'_>, text: &str) {
    ctx.send(text, Some(keyboard(ctx.lang))).await;
}

/// The person's name as Telegram gives it.
fn full_name(ctx: &Ctx<'_>) -> String {
    let mut name = ctx.from.first_name.trim().to_string();
    if let Some(last) = ctx.from.last_name.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        name.push(' ');
        name.push_str(last);
    }
    let name = ui::cut(&name, svc::NAME_MAX);
    if name.is_empty() { ctx.from.username.clone().unwrap_or_else(|| "Telegram".into()) } else { name }
}

async fn store(ctx: &mut Ctx<'_>, step: &Step) {
    match serde_json::to_value(step) {
        Ok(v) => ctx.set_dialogue(AREA, v).await,
        Err(e) => tracing::warn!(error = %e, "client dialogue not stored"),
    }
}

/// The step under way, when the chat's dialogue is this part's.
fn current(ctx: &Ctx<'_>) -> Option<Step> {
    ctx.dialogue().filter(|d| d.area == AREA).and_then(|d| serde_json::from_value(d.state).ok())
}

// ---------- the menu ----------

/// Sharing a phone contact: their own verifies their phone and joins what
/// they filed with it through other channels.
pub async fn on_contact(ctx: &mut Ctx<'_>, msg: &Message) {
    let Some(contact) = msg.contact() else { return ctx.hint().await };
    if contact.user_id != Some(ctx.from.id) {
        let text = ctx.t("bot.client.contact_not_own");
        return menu(ctx, text).await;
    }
    let name = full_name(ctx);
    match clients::verify_phone(ctx.state, ctx.tenant, ctx.telegram_id(), &name, &contact.phone_number, ctx.lang).await {
        Ok(v) => {
            let id = v.client_id;
            if let Err(e) = chats::update(ctx.tenant, ctx.state.now_ms(), ctx.chat_id, move |c| c.client_id = Some(id)).await {
                tracing::warn!(company = %ctx.tenant.slug, error = %e, "the chat's client not recorded");
            }
            let mut text = tf(ctx.lang, "bot.client.contact_done", &[("phone", &v.phone)]);
            if v.requests > 0 {
                text.push('\n');
                text.push_str(&tf(ctx.lang, "bot.client.contact_requests", &[("count", &v.requests.to_string())]));
            }
            menu(ctx, &text).await;
        }
        Err(e) => {
            let text = e.info().message(ctx.lang);
            menu(ctx, &text).await;
        }
    }
}

/// A message while one of this part's dialogues is under way.
pub async fn on_dialogue(ctx: &mut Ctx<'_>, state: serde_json::Value, msg: &Message) {
    // A tap on the menu leaves the dialogue for what it asks.
    if let Some(text) = msg.text().map(str::trim) {
        let menu_keys = ["bot.menu.new_request", "bot.menu.my_requests", "bot.menu.queue", "bot.menu.language", "bot.menu.contact"];
        if menu_keys.iter().any(|k| t(ctx.lang, k) == text) {
            ctx.clear_dialogue().await;
            if on_menu_text(ctx, text).await || super::queue::on_menu_text(ctx, text).await {
                return;
            }
            if text == ctx.t("bot.menu.language") {
                ctx.send(ctx.t("bot.lang.choose"), Some(ReplyMarkup::InlineKeyboard(ui::lang_buttons()))).await;
                return;
            }
            return ctx.hint().await;
        }
    }
    let Ok(step) = serde_json::from_value::<Step>(state) else {
        ctx.clear_dialogue().await;
        return ctx.hint().await;
    };
    match step {
        Step::Category => ask_category(ctx, Some("bot.client.use_buttons")).await,
        Step::Field { form, index } => answer_field(ctx, form, index, msg).await,
        Step::Text { form } => describe(ctx, form, msg).await,
        Step::Summary { form } => {
            ctx.say(ctx.t("bot.client.use_buttons")).await;
            summary(ctx, form).await;
        }
        Step::Write { request } => write(ctx, request, msg).await,
        Step::Comment { request } => comment(ctx, request, msg).await,
    }
}

pub async fn on_menu_text(ctx: &mut Ctx<'_>, text: &str) -> bool {
    if text == ctx.t("bot.menu.new_request") {
        ctx.clear_dialogue().await;
        ask_category(ctx, None).await;
        true
    } else if text == ctx.t("bot.menu.my_requests") {
        ctx.clear_dialogue().await;
        mine(ctx).await;
        true
    } else if text == ctx.t("bot.menu.contact") {
        // Typed rather than pressed: only the button shares the number.
        let text = ctx.t("bot.client.contact_button");
        menu(ctx, text).await;
        true
    } else {
        false
    }
}

pub async fn on_command(ctx: &mut Ctx<'_>, cmd: &str, _arg: &str, _msg: &Message) -> bool {
    match cmd {
        "new" | "request" => {
            ctx.clear_dialogue().await;
            ask_category(ctx, None).await;
            true
        }
        "requests" | "my" => {
            mine(ctx).await;
            true
        }
        _ => false,
    }
}

pub async fn on_start(_ctx: &mut Ctx<'_>, _arg: &str) -> bool {
    false
}

pub fn owns_callback(area: &str) -> bool {
    area == "c"
}

pub async fn on_callback(ctx: &mut Ctx<'_>, q: &CallbackQuery, _area: &str, rest: &str) -> Option<String> {
    let lang = ctx.lang;
    let gone = move || Some(t(lang, "bot.unknown_button").to_string());
    let mut parts = rest.split(':');
    let what = parts.next().unwrap_or("");
    let arg: Vec<&str> = parts.collect();
    let num = |i: usize| arg.get(i).and_then(|s| s.parse::<u64>().ok());
    match (what, current(ctx)) {
        ("k", Some(Step::Category)) => {
            let id = num(0)?;
            let Some(cat) = category(ctx, id) else { return gone() };
            drop_buttons(ctx, q).await;
            ctx.say(&tf(ctx.lang, "bot.client.chosen", &[("category", cat.names.get(ctx.lang))])).await;
            ask_field(ctx, Form { category: id, ..Form::default() }, 0).await;
            None
        }
        ("v", Some(Step::Field { mut form, index })) if num(0) == Some(index as u64) => {
            let cat = category(ctx, form.category)?;
            let f = cat.fields.get(index)?;
            let opt = f.options.get(usize::try_from(num(1)?).ok()?)?;
            drop_buttons(ctx, q).await;
            ctx.say(&format!("{}: {}", f.labels.get(ctx.lang), opt.labels.get(ctx.lang))).await;
            form.answers.insert(f.key.clone(), opt.key.clone());
            next_field(ctx, form, index).await;
            None
        }
        ("s", Some(Step::Field { mut form, index })) if num(0) == Some(index as u64) => {
            let cat = category(ctx, form.category)?;
            let f = cat.fields.get(index)?;
            if f.required {
                return Some(t(ctx.lang, "validation.required").to_string());
            }
            drop_buttons(ctx, q).await;
            form.answers.remove(&f.key);
            form.file_names.remove(&f.key);
            next_field(ctx, form, index).await;
            None
        }
        ("n", Some(Step::Text { form })) => {
            if form.text.trim().is_empty() && form.files.is_empty() && form.answers.is_empty() {
                return Some(t(ctx.lang, "bot.client.describe_first").to_string());
            }
            drop_buttons(ctx, q).await;
            summary(ctx, form).await;
            None
        }
        ("send", Some(Step::Summary { form })) => {
            drop_buttons(ctx, q).await;
            send(ctx, form).await;
            None
        }
        ("edit", Some(Step::Summary { form })) => {
            let cat = category(ctx, form.category)?;
            let mut rows: Vec<Vec<BotButtonV1>> =
                cat.fields.iter().enumerate().map(|(i, f)| vec![ui::button(f.labels.get(ctx.lang), format!("c:e:{i}"))]).collect();
            rows.push(vec![btn(ctx.lang, "bot.client.edit_text", "c:e:t")]);
            rows.push(vec![btn(ctx.lang, "bot.client.btn.back", "c:sum")]);
            drop_buttons(ctx, q).await;
            ctx.send(ctx.t("bot.client.edit_what"), inline(&rows)).await;
            None
        }
        ("sum", Some(Step::Summary { form })) => {
            drop_buttons(ctx, q).await;
            summary(ctx, form).await;
            None
        }
        ("e", Some(Step::Summary { mut form })) => {
            drop_buttons(ctx, q).await;
            form.review = true;
            if arg.first() == Some(&"t") {
                form.text.clear();
                form.files.clear();
                ctx.say(ctx.t("bot.client.describe_again")).await;
                store(ctx, &Step::Text { form: form.clone() }).await;
                ask_text(ctx).await;
            } else {
                let index = usize::try_from(num(0)?).ok()?;
                ask_field(ctx, form, index).await;
            }
            None
        }
        ("x", Some(Step::Summary { .. } | Step::Field { .. } | Step::Text { .. } | Step::Category)) => {
            drop_buttons(ctx, q).await;
            ctx.clear_dialogue().await;
            let text = ctx.t("bot.client.cancelled");
            menu(ctx, text).await;
            None
        }
        ("m", _) => {
            mine(ctx).await;
            None
        }
        ("o", _) => {
            open(ctx, num(0)?).await;
            None
        }
        ("w", _) => {
            let id = num(0)?;
            let db = ctx.tenant.db().ok()?;
            let token = match clients::token_of(db, ctx.telegram_id(), id) {
                Ok(token) => token,
                Err(e) => return Some(e.info().message(ctx.lang)),
            };
            let view = svc::public_view(db, &token, ctx.state.now_ms()).ok()?;
            if !view.may_write {
                return Some(ctx.t("bot.client.closed").to_string());
            }
            store(ctx, &Step::Write { request: id }).await;
            ctx.send(&tf(ctx.lang, "bot.client.write_prompt", &[("number", &number(id))]), None).await;
            None
        }
        ("r", _) => {
            let id = num(0)?;
            let stars = u8::try_from(num(1)?).ok()?;
            rate(ctx, q, id, stars).await
        }
        ("sc", Some(Step::Comment { .. })) => {
            drop_buttons(ctx, q).await;
            ctx.clear_dialogue().await;
            let text = ctx.t("bot.client.thanks");
            menu(ctx, text).await;
            None
        }
        _ => gone(),
    }
}

/// Takes the buttons off the message that was pressed (they did their work).
async fn drop_buttons(ctx: &Ctx<'_>, q: &CallbackQuery) {
    if let Some(m) = &q.message {
        let _ = ctx.bot.edit_message_reply_markup(m.chat().id, m.id()).await;
    }
}

// ---------- a new request ----------

/// The active category `id`, as clients may file in it.
fn category(ctx: &Ctx<'_>, id: u64) -> Option<RequestCategoryV1> {
    let db = ctx.tenant.db().ok()?;
    svc::public_categories(db).ok()?.into_iter().find(|(i, _)| *i == id).map(|(_, c)| c)
}

async fn ask_category(ctx: &mut Ctx<'_>, note: Option<&str>) {
    let cats = ctx.tenant.db().and_then(svc::public_categories).unwrap_or_default();
    if cats.is_empty() {
        ctx.clear_dialogue().await;
        let text = ctx.t("bot.client.no_categories");
        return menu(ctx, text).await;
    }
    if let Some(key) = note {
        ctx.say(ctx.t(key)).await;
    }
    let mut rows: Vec<Vec<BotButtonV1>> = cats.iter().map(|(id, c)| vec![ui::button(c.names.get(ctx.lang), format!("c:k:{id}"))]).collect();
    rows.push(vec![btn(ctx.lang, "bot.client.btn.cancel", "c:x")]);
    store(ctx, &Step::Category).await;
    ctx.send(ctx.t("bot.client.choose_category"), inline(&rows)).await;
}

/// The question of field `index` (past the last: the description).
async fn ask_field(ctx: &mut Ctx<'_>, form: Form, index: usize) {
    let Some(cat) = category(ctx, form.category) else {
        return ask_category(ctx, Some("bot.client.category_gone")).await;
    };
    let Some(f) = cat.fields.get(index) else {
        if form.review {
            return summary(ctx, form).await;
        }
        store(ctx, &Step::Text { form }).await;
        return ask_text(ctx).await;
    };
    store(ctx, &Step::Field { form, index }).await;
    let lang = ctx.lang;
    let mut text = tf(
        lang,
        "bot.client.field",
        &[("n", &(index + 1).to_string()), ("total", &cat.fields.len().to_string()), ("label", f.labels.get(lang))],
    );
    if !f.required {
        text.push(' ');
        text.push_str(t(lang, "bot.client.optional"));
    }
    text.push('\n');
    text.push_str(t(lang, hint_key(f.kind)));
    let mut rows: Vec<Vec<BotButtonV1>> = Vec::new();
    if f.kind == FieldKind::Choice {
        rows.extend(f.options.iter().enumerate().map(|(i, o)| vec![ui::button(o.labels.get(lang), format!("c:v:{index}:{i}"))]));
    }
    if !f.required {
        rows.push(vec![btn(lang, "bot.client.btn.skip", format!("c:s:{index}"))]);
    }
    ctx.send(&text, inline(&rows)).await;
}

fn hint_key(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text | FieldKind::LongText => "bot.client.hint.text",
        FieldKind::Number => "bot.client.hint.number",
        FieldKind::Date => "bot.client.hint.date",
        FieldKind::Choice => "bot.client.hint.choice",
        FieldKind::Phone => "bot.client.hint.phone",
        FieldKind::File => "bot.client.hint.file",
    }
}

async fn next_field(ctx: &mut Ctx<'_>, form: Form, index: usize) {
    if form.review {
        return summary(ctx, form).await;
    }
    ask_field(ctx, form, index + 1).await;
}

/// A date as people in Uzbekistan write it (25.03.2026, 25/03/2026) in the
/// form's `yyyy-mm-dd`; anything else as typed (the form's check explains).
fn date_in(v: &str) -> String {
    let parts: Vec<&str> = v.trim().split(['.', '/', '-']).collect();
    if let [d, m, y] = parts[..]
        && y.len() == 4
        && (1..=2).contains(&d.len())
        && (1..=2).contains(&m.len())
        && [d, m, y].iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        return format!("{y}-{m:0>2}-{d:0>2}");
    }
    v.trim().to_string()
}

/// A photo, document or voice message: (Telegram's file id, name, size).
fn attachment(msg: &Message) -> Option<(String, String, u64)> {
    if let Some(p) = msg.photo().and_then(|sizes| sizes.last()) {
        return Some((p.file.id.0.clone(), format!("photo-{}.jpg", msg.id.0), u64::from(p.file.size)));
    }
    if let Some(d) = msg.document() {
        return Some((d.file.id.0.clone(), d.file_name.clone().unwrap_or_else(|| "document".into()), u64::from(d.file.size)));
    }
    if let Some(v) = msg.voice() {
        return Some((v.file.id.0.clone(), format!("voice-{}.ogg", msg.id.0), u64::from(v.file.size)));
    }
    None
}

/// Puts the file a client sent into the file store: its signed reference.
async fn fetch(ctx: &Ctx<'_>, file_id: &str, name: &str, size: u64) -> Result<Attached, AppError> {
    let meta = ui::fetch_file(ctx.state, ctx.tenant, ctx.bot, crate::files::ANON_UPLOADER, file_id, name, Some(size)).await?;
    Ok(Attached { r: svc::file_ref(ctx.state, &ctx.tenant.slug, meta.id), name: meta.name })
}

async fn answer_field(ctx: &mut Ctx<'_>, mut form: Form, index: usize, msg: &Message) {
    let Some(cat) = category(ctx, form.category) else {
        return ask_category(ctx, Some("bot.client.category_gone")).await;
    };
    let Some(f) = cat.fields.get(index).cloned() else {
        return ask_field(ctx, form, index).await;
    };
    if f.kind == FieldKind::File {
        let Some((fid, name, size)) = attachment(msg) else {
            ctx.say(ctx.t("bot.client.need_file")).await;
            return ask_field(ctx, form, index).await;
        };
        match fetch(ctx, &fid, &name, size).await {
            Ok(a) => {
                form.file_names.insert(f.key.clone(), a.name.clone());
                form.answers.insert(f.key.clone(), a.r);
            }
            Err(e) => {
                ctx.say_error(&e).await;
                return ask_field(ctx, form, index).await;
            }
        }
        return next_field(ctx, form, index).await;
    }
    let Some(typed) = msg.text().map(str::trim) else {
        ctx.say(ctx.t("bot.client.need_text")).await;
        return ask_field(ctx, form, index).await;
    };
    match check(&f, typed, ctx.lang) {
        Ok(Some(value)) => {
            form.answers.insert(f.key.clone(), value);
            next_field(ctx, form, index).await;
        }
        Ok(None) => {
            form.answers.remove(&f.key);
            next_field(ctx, form, index).await;
        }
        Err(text) => {
            ctx.say(&text).await;
            ask_field(ctx, form, index).await;
        }
    }
}

/// One typed answer checked with the form's rule: the value the core
/// takes, `None` for an optional one left out, or what is wrong.
fn check(f: &FormField, typed: &str, lang: Lang) -> Result<Option<String>, String> {
    let raw = match f.kind {
        FieldKind::Date => date_in(typed),
        // A choice typed rather than pressed: its label (any language) or key.
        FieldKind::Choice => f
            .options
            .iter()
            .find(|o| {
                let l = typed.to_lowercase();
                o.key == typed || [&o.labels.uz, &o.labels.ru, &o.labels.en].iter().any(|n| !n.is_empty() && n.to_lowercase() == l)
            })
            .map(|o| o.key.clone())
            .unwrap_or_else(|| typed.to_string()),
        _ => typed.to_string(),
    };
    match categories::check_answer(f, &raw) {
        Ok(v) => Ok(v.map(|v| v.value)),
        Err(e) if f.kind == FieldKind::Date => Err(if e.message_key == Some("validation.required") {
            e.info().message(lang)
        } else {
            t(lang, "bot.client.bad_date").to_string()
        }),
        Err(e) => Err(e.info().message(lang)),
    }
}

async fn ask_text(ctx: &Ctx<'_>) {
    let rows = vec![vec![btn(ctx.lang, "bot.client.btn.next", "c:n")], vec![btn(ctx.lang, "bot.client.btn.cancel", "c:x")]];
    ctx.send(ctx.t("bot.client.describe"), inline(&rows)).await;
}

/// The description: text is added to it, photos, documents and voice
/// messages are attached (a caption joins the text).
async fn describe(ctx: &mut Ctx<'_>, mut form: Form, msg: &Message) {
    let lang = ctx.lang;
    let added = if let Some((fid, name, size)) = attachment(msg) {
        if form.files.len() >= crate::files::MAX_PER_MESSAGE {
            ctx.say(&tf(lang, "files.too_many", &[("max", &crate::files::MAX_PER_MESSAGE.to_string())])).await;
            return;
        }
        match fetch(ctx, &fid, &name, size).await {
            Ok(a) => {
                let text = tf(lang, "bot.client.added_file", &[("name", &a.name)]);
                form.files.push(a);
                if let Some(c) = msg.caption().map(str::trim).filter(|c| !c.is_empty()) {
                    add_text(&mut form.text, c);
                }
                text
            }
            Err(e) => return ctx.say_error(&e).await,
        }
    } else if let Some(text) = msg.text().map(str::trim).filter(|s| !s.is_empty()) {
        let mut joined = form.text.clone();
        add_text(&mut joined, text);
        if joined.chars().count() > svc::TEXT_MAX {
            ctx.say(&tf(lang, "validation.text_too_long", &[("max", &svc::TEXT_MAX.to_string())])).await;
            return;
        }
        form.text = joined;
        t(lang, "bot.client.added_text").to_string()
    } else {
        ctx.say(ctx.t("bot.client.describe_what")).await;
        return;
    };
    let review = form.review;
    store(ctx, &Step::Text { form }).await;
    let mut rows = vec![vec![btn(lang, "bot.client.btn.next", "c:n")]];
    if !review {
        rows.push(vec![btn(lang, "bot.client.btn.cancel", "c:x")]);
    }
    ctx.send(&added, inline(&rows)).await;
}

fn add_text(to: &mut String, more: &str) {
    if !to.is_empty() {
        to.push('\n');
    }
    to.push_str(more);
}

/// The request as it will be sent, with Send / Edit / Cancel.
async fn summary(ctx: &mut Ctx<'_>, mut form: Form) {
    let Some(cat) = category(ctx, form.category) else {
        return ask_category(ctx, Some("bot.client.category_gone")).await;
    };
    form.review = false;
    let lang = ctx.lang;
    let mut text = format!("{}\n\n{}: {}", t(lang, "bot.client.summary"), t(lang, "bot.client.category"), cat.names.get(lang));
    for f in &cat.fields {
        let shown = match form.answers.get(&f.key) {
            None => "—".to_string(),
            Some(_) if f.kind == FieldKind::File => form.file_names.get(&f.key).cloned().unwrap_or_else(|| "📎".into()),
            Some(v) => categories::check_answer(f, v).ok().flatten().map(|fv| svc::shown_value(&fv, lang)).unwrap_or_else(|| v.clone()),
        };
        text.push_str(&format!("\n{}: {shown}", f.labels.get(lang)));
    }
    let described = if form.text.trim().is_empty() { "—".to_string() } else { ui::cut(&form.text, 1500) };
    text.push_str(&format!("\n{}: {described}", t(lang, "bot.client.text")));
    if !form.files.is_empty() {
        let names: Vec<&str> = form.files.iter().map(|a| a.name.as_str()).collect();
        text.push_str(&format!("\n{}: {}", t(lang, "bot.client.files"), names.join(", ")));
    }
    store(ctx, &Step::Summary { form }).await;
    let rows = vec![vec![
        btn(lang, "bot.client.btn.send", "c:send"),
        btn(lang, "bot.client.btn.edit", "c:edit"),
        btn(lang, "bot.client.btn.cancel", "c:x"),
    ]];
    ctx.send(&text, inline(&rows)).await;
}

/// Files the request as the web form does, from Telegram.
async fn send(ctx: &mut Ctx<'_>, form: Form) {
    let Some(cat) = category(ctx, form.category) else {
        return ask_category(ctx, Some("bot.client.category_gone")).await;
    };
    // Kept as it is: they may send it once the hour is up.
    if let Err(e) = ctx.tenant.db().and_then(|db| clients::check_filing_pace(db, ctx.telegram_id(), ctx.state.now_ms())) {
        return ctx.say_error(&e).await;
    }
    let slug = ctx.tenant.slug.clone();
    let mut fields = BTreeMap::new();
    for (k, v) in &form.answers {
        let is_file = cat.fields.iter().any(|f| &f.key == k && f.kind == FieldKind::File);
        let v = if is_file {
            match svc::check_file_ref(ctx.state, &slug, v) {
                Ok(id) => id.to_string(),
                Err(e) => return ctx.say_error(&e).await,
            }
        } else {
            v.clone()
        };
        fields.insert(k.clone(), v);
    }
    let mut file_ids = Vec::new();
    for a in &form.files {
        match svc::check_file_ref(ctx.state, &slug, &a.r) {
            Ok(id) => file_ids.push(id),
            Err(e) => return ctx.say_error(&e).await,
        }
    }
    let subject = form.text.lines().map(str::trim).find(|l| !l.is_empty()).map(|l| ui::cut(l, 100)).unwrap_or_default();
    let input = NewRequest {
        category_id: form.category,
        subject,
        text: form.text.clone(),
        fields,
        file_ids,
        client: ClientInput { name: full_name(ctx), telegram_id: Some(ctx.telegram_id()), lang: Some(ctx.lang), ..ClientInput::default() },
        channel: Some(RequestChannel::Telegram),
        priority: None,
    };
    match svc::create(ctx.state, ctx.tenant, &Caller::Public, input).await {
        Ok(filed) => {
            ctx.clear_dialogue().await;
            let id = filed.request.client_id;
            if let Err(e) = chats::update(ctx.tenant, ctx.state.now_ms(), ctx.chat_id, move |c| c.client_id = Some(id)).await {
                tracing::warn!(company = %ctx.tenant.slug, error = %e, "the chat's client not recorded");
            }
            let text = tf(ctx.lang, "bot.client.sent", &[("number", &number(filed.id))]);
            menu(ctx, &text).await;
        }
        Err(e) => {
            ctx.say_error(&e).await;
            summary(ctx, form).await;
        }
    }
}

// ---------- my requests ----------

async fn mine(ctx: &Ctx<'_>) {
    let lang = ctx.lang;
    let list = match ctx.tenant.db().and_then(|db| clients::of_telegram(db, ctx.telegram_id(), MINE_MAX)) {
        Ok(l) => l,
        Err(e) => return ctx.say_error(&e).await,
    };
    if list.is_empty() {
        return menu(ctx, t(lang, "bot.client.mine_none")).await;
    }
    let mut text = t(lang, "bot.client.mine").to_string();
    let mut rows = Vec::new();
    for m in &list {
        let cat = m.category.as_ref().map(|c| c.names.get(lang)).unwrap_or("");
        text.push_str(&format!("\n\n{} · {cat}\n{}: {}", number(m.id), t(lang, "bot.client.status"), status_label(lang, m.request.status)));
        text.push_str(&format!("\n{}", ui::cut(&m.request.subject, 80)));
        if let Some(r) = &m.last_reply {
            text.push_str(&format!("\n💬 {}: {}", r.author_name, ui::cut(&r.text, QUOTE_MAX)));
        }
        rows.push(vec![ui::button(format!("{} · {}", number(m.id), status_label(lang, m.request.status)), format!("c:o:{}", m.id))]);
    }
    ctx.send(&text, inline(&rows)).await;
}

fn when(tenant: &Tenant, ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|ts| ts.to_zoned(tenant.timezone()).strftime("%d.%m %H:%M").to_string()).unwrap_or_default()
}

/// One request's story as its client may read it, with what they may do.
async fn open(ctx: &Ctx<'_>, id: u64) {
    let lang = ctx.lang;
    let story = ctx.tenant.db().and_then(|db| {
        let token = clients::token_of(db, ctx.telegram_id(), id)?;
        clients::story(db, &token, ctx.state.now_ms())
    });
    let (view, entries) = match story {
        Ok(s) => s,
        Err(e) => return ctx.say_error(&e).await,
    };
    let r = &view.request;
    let cat = view.category.as_ref().map(|c| c.names.get(lang)).unwrap_or("");
    let mut text = format!(
        "{} · {cat}\n{}\n{}: {}",
        number(view.id),
        ui::cut(&r.subject, 120),
        t(lang, "bot.client.status"),
        status_label(lang, r.status)
    );
    if let Some(reason) = r.reject_reason.as_ref().filter(|_| r.status == crate::store::schema::RequestStatus::Rejected) {
        text.push_str(&format!("\n{}: {reason}", t(lang, "bot.client.reason")));
    }
    if let Some(n) = r.rating {
        text.push_str(&format!("\n{}: {}", t(lang, "bot.client.rating"), "⭐".repeat(usize::from(n))));
    }
    text.push_str(&format!("\n\n{}", t(lang, "bot.client.history")));
    let skip = entries.len().saturating_sub(STORY_MAX);
    for e in entries.iter().skip(skip) {
        let line = match e {
            Entry::Status { at, to } => {
                format!("{} · {}: {}", when(ctx.tenant, *at), t(lang, "bot.client.status"), status_label(lang, *to))
            }
            Entry::Message(m) => {
                let who = if m.mine { t(lang, "bot.client.you").to_string() } else { m.author_name.clone() };
                let mut s = format!("{} · {who}: {}", when(ctx.tenant, m.created_at_ms), ui::cut(&m.text, 500));
                for f in &m.files {
                    s.push_str(&format!(" 📎 {}", f.name));
                }
                s
            }
        };
        text.push('\n');
        text.push_str(&line);
    }
    let mut rows = Vec::new();
    if view.may_write {
        rows.push(vec![btn(lang, "bot.client.btn.write", format!("c:w:{id}"))]);
    }
    if view.may_rate {
        rows.push(stars(id));
    }
    rows.push(vec![btn(lang, "bot.client.btn.mine", "c:m")]);
    ctx.send(&ui::cut(&text, 4000), inline(&rows)).await;
}

fn stars(id: u64) -> Vec<BotButtonV1> {
    (1..=5u8).map(|n| ui::button("⭐".repeat(usize::from(n)), format!("c:r:{id}:{n}"))).collect()
}

/// The client's next message into request `id`'s conversation.
/// A reply to one of the bot's messages about a request (a notice, its
/// history): it goes into that request as the client's message. `false`
/// when the message replied to is about no request of theirs.
pub async fn on_reply(ctx: &mut Ctx<'_>, msg: &Message, replied: &Message) -> bool {
    let about = ctx.tenant.db().and_then(|db| crate::telegram::chats::message(db, ctx.chat_id, i64::from(replied.id.0)));
    let Ok(Some(about)) = about else { return false };
    let Some(id) = about.request_id else { return false };
    write(ctx, id, msg).await;
    true
}

async fn write(ctx: &mut Ctx<'_>, id: u64, msg: &Message) {
    let token = match ctx.tenant.db().and_then(|db| clients::token_of(db, ctx.telegram_id(), id)) {
        Ok(t) => t,
        Err(e) => {
            ctx.clear_dialogue().await;
            return ctx.say_error(&e).await;
        }
    };
    let mut text = msg.text().or(msg.caption()).unwrap_or("").trim().to_string();
    let mut files = Vec::new();
    if let Some((fid, name, size)) = attachment(msg) {
        match fetch(ctx, &fid, &name, size).await {
            Ok(a) => match svc::check_file_ref(ctx.state, &ctx.tenant.slug, &a.r) {
                Ok(fid) => files.push(fid),
                Err(e) => return ctx.say_error(&e).await,
            },
            Err(e) => return ctx.say_error(&e).await,
        }
    } else if text.is_empty() {
        ctx.say(ctx.t("bot.client.describe_what")).await;
        return;
    }
    text = text.chars().take(svc::TEXT_MAX).collect();
    match svc::client_reply(ctx.state, ctx.tenant, &token, &text, files).await {
        Ok(_) => {
            ctx.clear_dialogue().await;
            let text = tf(ctx.lang, "bot.client.written", &[("number", &number(id))]);
            menu(ctx, &text).await;
        }
        Err(e) => {
            ctx.clear_dialogue().await;
            let text = e.info().message(ctx.lang);
            menu(ctx, &text).await;
        }
    }
}

async fn rate(ctx: &mut Ctx<'_>, q: &CallbackQuery, id: u64, stars: u8) -> Option<String> {
    let db = ctx.tenant.db().ok()?;
    let token = match clients::token_of(db, ctx.telegram_id(), id) {
        Ok(t) => t,
        Err(e) => return Some(e.info().message(ctx.lang)),
    };
    match svc::rate(ctx.state, ctx.tenant, &token, stars, None).await {
        Ok(_) => {
            drop_buttons(ctx, q).await;
            store(ctx, &Step::Comment { request: id }).await;
            let text = tf(ctx.lang, "bot.client.rated", &[("stars", &"⭐".repeat(usize::from(stars)))]);
            ctx.send(&text, inline(&[vec![btn(ctx.lang, "bot.client.btn.skip", "c:sc")]])).await;
            None
        }
        Err(e) => Some(e.info().message(ctx.lang)),
    }
}

async fn comment(ctx: &mut Ctx<'_>, id: u64, msg: &Message) {
    let Some(text) = msg.text().map(str::trim).filter(|s| !s.is_empty()) else {
        ctx.say(ctx.t("bot.client.comment_text")).await;
        return;
    };
    let done = match ctx.tenant.db().and_then(|db| clients::token_of(db, ctx.telegram_id(), id)) {
        Ok(token) => clients::comment_rating(ctx.state, ctx.tenant, &token, text).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => {
            ctx.clear_dialogue().await;
            let text = ctx.t("bot.client.comment_saved");
            menu(ctx, text).await;
        }
        Err(e) if e.field.is_some() => ctx.say_error(&e).await,
        Err(e) => {
            ctx.clear_dialogue().await;
            let text = e.info().message(ctx.lang);
            menu(ctx, &text).await;
        }
    }
}

// ---------- notices ----------

/// A client notice about their request, as worded when it happened (the
/// company's template in their language), marked delivered; a reply's
/// notice carries the reply, a request's "rate us" the stars.
pub async fn render_notice(state: &AppState, tenant: &Tenant, client_id: u64, notice_id: u64) -> Result<Option<BotOutV1>, AppError> {
    let Some(n) = clients::deliver_notice(tenant, client_id, notice_id).await? else { return Ok(None) };
    let lang = n.lang;
    let rid = n.notice.request_id;
    let mut text = n.notice.text.clone();
    // Without the site's address the status page's link is a bare path no
    // phone can open: the request's number stands in for it (Open shows it here).
    if state.config.public_url.as_deref().is_none_or(str::is_empty) {
        text = text.replace(&svc::tracking_path(&tenant.slug, &n.request.token), &number(rid));
    }
    if let Some(m) = n.reply.as_ref().filter(|m| !m.text.is_empty()) {
        text.push_str(&format!("\n\n{}: {}", m.author_name, m.text));
    }
    let mut buttons = vec![vec![btn(lang, "bot.client.btn.open", format!("c:o:{rid}"))]];
    if n.may_rate && n.notice.event == crate::requests::templates::Event::RateUs.code() {
        buttons.insert(0, stars(rid));
    }
    let about = BotMessageV1 { request_id: Some(rid), ..Default::default() };
    Ok(Some(BotOutV1 { text, buttons, about, ..Default::default() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_as_people_write_it_becomes_the_forms() {
        assert_eq!(date_in("25.03.2026"), "2026-03-25");
        assert_eq!(date_in("5/3/2026"), "2026-03-05");
        assert_eq!(date_in("2026-03-25"), "2026-03-25");
        assert_eq!(date_in("kecha"), "kecha");
    }
}
