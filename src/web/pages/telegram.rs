//! The company's Telegram bot in the admin console (`/admin/telegram`):
//! how to make a bot with @BotFather and connect it, then its name, link
//! and QR, whether it runs (or why Telegram refused it), the token masked,
//! the digest's time and Disconnect. Also the "Telegram" cards of a user's
//! admin page and of one's own profile: a one-time link (with its QR) that
//! links a Telegram account, whether one is linked, and Unlink.
//!
//! Every change goes through the core (`bot::connect`, `telegram::*`,
//! `telegram::links`); these handlers read forms and draw pages.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::org::service::{format_hhmm, parse_hhmm};
use crate::store::schema::{AccountV1, BotConfigV1, BotState, LinkCodeV1};
use crate::telegram::{self, links};
use crate::web::assets;
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{self, FormError, Input, checkbox, csrf_field, post_button};
use crate::web::pages::org::{Ctx, Section};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/telegram", get(page).post(connect_submit))
        .route("/admin/telegram/digest", post(digest_submit))
        .route("/admin/telegram/disconnect", post(disconnect_submit))
        .route("/admin/users/{id}/telegram", post(user_link_submit))
        .route("/admin/users/{id}/telegram/unlink", post(user_unlink_submit))
        .route("/profile/telegram", post(own_link_submit))
        .route("/profile/telegram/unlink", post(own_unlink_submit))
}

/// @BotFather, where every Telegram bot is made.
const BOTFATHER: &str = "https://t.me/BotFather";

fn styles() -> Markup {
    html! { link rel="stylesheet" href=(assets::url("telegram.css")); }
}

/// A QR code of `url` (an inline SVG: shapes and attributes only, which the
/// page's CSP allows), or nothing when the URL is too long for one.
fn qr(url: &str, label: &str) -> Markup {
    let Ok(svg) = crate::queue::tickets::qr_svg(url) else { return html! {} };
    // The SVG's XML declaration has no place inside HTML.
    let svg = svg.find("<svg").and_then(|at| svg.get(at..)).unwrap_or("");
    html! { div.tg-qr role="img" aria-label=(label) { (PreEscaped(svg)) } }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

// ---------- the admin's Telegram page ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    token: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DigestForm {
    digest_time: String,
}

/// What the forms show again after a failure.
#[derive(Default)]
struct Shown<'a> {
    token: &'a str,
    token_err: Option<FormError>,
    digest: Option<&'a str>,
    digest_err: Option<FormError>,
}

fn require(user: &CurrentUser) -> Result<(), AppError> {
    user.require(telegram::MANAGE)
}

async fn page(State(state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let notice = match q.done.as_deref() {
        Some("connected") => Some(t(lang, "telegram.page.connected_notice")),
        Some("digest") => Some(t(lang, "telegram.page.digest_saved")),
        Some("disconnected") => Some(t(lang, "telegram.page.disconnected_notice")),
        _ => None,
    };
    view(&state, &c, &Shown::default(), notice)
}

fn view(state: &AppState, c: &Ctx, shown: &Shown, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let cfg = telegram::config(c.tenant().db()?)?;
    let title = t(lang, "telegram.page.title");
    let body = html! {
        (styles())
        h1 { (title) }
        @match &cfg {
            None => (not_connected(c, shown)),
            Some(cfg) => (connected(state, c, cfg, shown)),
        }
    };
    Ok(c.render(title, Section::Telegram, notice, body))
}

/// The token form: `replace` when a bot is connected already.
fn token_form(c: &Ctx, shown: &Shown, replace: bool) -> Markup {
    let lang = c.lang();
    let err = shown.token_err.as_ref();
    html! {
        (layout::form_alert_except(err, &["token"]))
        form.tg-token method="post" action=(c.url("admin/telegram")) {
            (csrf_field(c.csrf()))
            (Input::new(t(lang, "telegram.page.token"), "token").value(shown.token).required().maxlength(200)
                .autocomplete("off").hint(t(lang, "telegram.page.token_hint")).error(err))
            div.form-actions {
                button.primary type="submit" {
                    (t(lang, if replace { "telegram.page.replace" } else { "telegram.page.connect" }))
                }
            }
        }
    }
}

fn not_connected(c: &Ctx, shown: &Shown) -> Markup {
    let lang = c.lang();
    html! {
        section.card.form-card #tg-none {
            p.lead { strong { (t(lang, "telegram.page.none_title")) } }
            p { (t(lang, "telegram.page.none_lead")) }
            h2 { (t(lang, "telegram.page.steps_title")) }
            ol.tg-steps {
                li {
                    (t(lang, "telegram.page.step_open")) " "
                    a href=(BOTFATHER) target="_blank" rel="noopener noreferrer" { "@BotFather" }
                }
                li { (t(lang, "telegram.page.step_newbot")) }
                li { (t(lang, "telegram.page.step_name")) }
                li { (t(lang, "telegram.page.step_copy")) }
                li { (t(lang, "telegram.page.step_paste")) }
            }
            (token_form(c, shown, false))
        }
    }
}

fn connected(state: &AppState, c: &Ctx, cfg: &BotConfigV1, shown: &Shown) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let link = crate::bot::ui::link(cfg, None);
    let running = cfg.state == BotState::Running;
    let webhook = crate::bot::poll::webhook_url(state, &c.tenant().slug, cfg).is_some();
    let digest = shown.digest.map(str::to_string).unwrap_or_else(|| format_hhmm(cfg.digest_minute));
    let digest_err = shown.digest_err.as_ref();
    html! {
        @if !running {
            div.alert #tg-revoked role="alert" {
                p { strong { (t(lang, "telegram.page.revoked_title")) } }
                p { (t(lang, "telegram.page.revoked_lead")) }
            }
        }
        div.two-col {
            section.card #tg-bot {
                h2 { (cfg.name) }
                dl.facts {
                    dt { (t(lang, "telegram.page.status")) }
                    dd #tg-status {
                        @if running {
                            span.badge.ok { (t(lang, "telegram.page.running")) }
                        } @else {
                            span.badge.stopped { (t(lang, "telegram.page.revoked")) }
                        }
                    }
                    dt { (t(lang, "telegram.page.username")) }
                    dd { a href=(link) target="_blank" rel="noopener noreferrer" { "@" (cfg.username) } }
                    dt { (t(lang, "telegram.page.token")) }
                    dd { code #tg-token { (telegram::mask(&cfg.token)) } }
                    dt { (t(lang, "telegram.page.mode")) }
                    dd {
                        (t(lang, if webhook { "telegram.page.mode_webhook" } else { "telegram.page.mode_polling" }))
                    }
                    dt { (t(lang, "telegram.page.connected_at")) }
                    dd { (layout::local_time(cfg.connected_at, &tz)) }
                }
                @if running {
                    p.muted { (t(lang, "telegram.page.share")) }
                    (qr(&link, &tf(lang, "telegram.page.qr_of", &[("bot", &cfg.username)])))
                }
            }
            div {
                @if running {
                    section.card #tg-digest {
                        h2 { (t(lang, "telegram.page.digest_title")) }
                        p.muted { (t(lang, "telegram.page.digest_lead")) }
                        (layout::form_alert_except(digest_err, &["digest_time"]))
                        form method="post" action=(c.url("admin/telegram/digest")) {
                            (csrf_field(c.csrf()))
                            (Input::new(t(lang, "telegram.page.digest_time"), "digest_time").kind("time").value(&digest).required()
                                .error(digest_err))
                            div.form-actions {
                                button.primary type="submit" { (t(lang, "admin.common.save")) }
                            }
                        }
                    }
                }
                section.card #tg-replace {
                    h2 { (t(lang, if running { "telegram.page.replace_title" } else { "telegram.page.new_token_title" })) }
                    p.muted { (t(lang, if running { "telegram.page.replace_lead" } else { "telegram.page.new_token_lead" })) }
                    (token_form(c, shown, true))
                }
                section.card #tg-disconnect {
                    h2 { (t(lang, "telegram.page.disconnect_title")) }
                    p.muted { (t(lang, "telegram.page.disconnect_lead")) }
                    (post_button(&c.url("admin/telegram/disconnect"), c.csrf(), t(lang, "telegram.page.disconnect"), "danger",
                        Some(t(lang, "telegram.page.disconnect_confirm"))))
                }
            }
        }
    }
}

async fn connect_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<TokenForm>,
) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    match crate::bot::connect(&state, c.tenant(), &Caller::from(&c.user), &f.token).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/telegram?done=connected")).into_response()),
        // A malformed or refused token, or Telegram out of reach: the form
        // again with what was typed.
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Unavailable => {
            let shown = Shown { token: f.token.trim(), token_err: Some(FormError::new(c.lang(), &e)), ..Default::default() };
            Ok(form_again(view(&state, &c, &shown, None)?))
        }
        Err(e) => Err(e),
    }
}

async fn digest_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<DigestForm>,
) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let again = |err: FormError| -> Result<Response, AppError> {
        let shown = Shown { digest: Some(f.digest_time.as_str()), digest_err: Some(err), ..Default::default() };
        Ok(form_again(view(&state, &c, &shown, None)?))
    };
    let Some(minute) = parse_hhmm(f.digest_time.trim()) else {
        return again(FormError { message: t(lang, "telegram.page.digest_invalid").to_string(), field: Some("digest_time") });
    };
    match telegram::set_digest_minute(&state, c.tenant(), &Caller::from(&c.user), minute).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/telegram?done=digest")).into_response()),
        Err(e) if e.field.is_some() => {
            again(FormError { message: t(lang, "telegram.page.digest_invalid").to_string(), field: Some("digest_time") })
        }
        Err(e) => Err(e),
    }
}

async fn disconnect_submit(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    match telegram::disconnect(&state, c.tenant(), &Caller::from(&c.user)).await {
        // Gone already (another tab): the page says there is none.
        Ok(()) | Err(AppError { kind: ErrorKind::NotFound, .. }) => {
            Ok(Redirect::to(&c.url("admin/telegram?done=disconnected")).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---------- a user's Telegram: the admin's user page and one's profile ----------

/// Whose card it is: a user seen by an admin, or the reader's own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whose {
    User(u64),
    Own,
}

impl Whose {
    fn id(self, c: &Ctx) -> u64 {
        match self {
            Whose::User(id) => id,
            Whose::Own => c.user.id,
        }
    }

    fn base(self, c: &Ctx) -> String {
        match self {
            Whose::User(id) => c.url(&format!("admin/users/{id}/telegram")),
            Whose::Own => c.url("profile/telegram"),
        }
    }

    fn back(self, c: &Ctx) -> String {
        match self {
            Whose::User(id) => c.url(&format!("admin/users/{id}")),
            Whose::Own => c.url("profile"),
        }
    }
}

/// What to say while no bot can take a link: the admin who can connect one
/// is sent to the Telegram page, anyone else is told to ask.
fn no_bot(c: &Ctx, bot: Option<&telegram::Summary>) -> Markup {
    let lang = c.lang();
    let text = if bot.is_some() { "telegram.page.user_bot_stopped" } else { "telegram.page.user_no_bot" };
    html! {
        p.muted #tg-user-nobot { (t(lang, text)) }
        @if c.user.can(telegram::MANAGE) {
            p { a.button href=(c.url("admin/telegram")) { (t(lang, "telegram.page.user_go_connect")) } }
        } @else {
            p.muted { (t(lang, "telegram.page.user_ask_admin")) }
        }
    }
}

fn card(c: &Ctx, whose: Whose, active: bool) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let link = links::link_of(db, &who, whose.id(c))?;
    let bot = telegram::summary(db)?;
    let tz = c.tenant().timezone();
    let unreachable = match &link {
        Some(l) => telegram::chats::get(db, l.chat_id)?.unreachable,
        None => false,
    };
    let own = whose == Whose::Own;
    Ok(html! {
        section.card.form-card #tg-user {
            h2 { (t(lang, "telegram.page.user_title")) }
            @if let Some(l) = &link {
                @let name = l.telegram_username.as_ref().map(|u| format!("@{u}")).unwrap_or_else(|| t(lang, "telegram.page.user_account").to_string());
                p #tg-user-linked {
                    span.badge.ok { (t(lang, "telegram.page.user_linked")) } " "
                    (tf(lang, "telegram.page.user_linked_since", &[("name", &name), ("since", &layout::local_time(l.linked_at, &tz))]))
                }
                @if unreachable {
                    p.warning #tg-user-unreachable {
                        (t(lang, if own { "telegram.page.own_unreachable" } else { "telegram.page.user_unreachable" }))
                    }
                }
                @if !bot.as_ref().is_some_and(|b| b.running) {
                    (no_bot(c, bot.as_ref()))
                }
                p.muted { (t(lang, if own { "telegram.page.own_unlink_lead" } else { "telegram.page.user_unlink_lead" })) }
                (post_button(&format!("{}/unlink", whose.base(c)), c.csrf(), t(lang, "telegram.page.unlink"), "danger",
                    Some(t(lang, "telegram.page.unlink_confirm"))))
            } @else {
                p.muted #tg-user-unlinked { (t(lang, if own { "telegram.page.own_not_linked" } else { "telegram.page.user_not_linked" })) }
                @if !bot.as_ref().is_some_and(|b| b.running) {
                    (no_bot(c, bot.as_ref()))
                } @else if !active {
                    p.muted { (t(lang, "telegram.user_inactive")) }
                } @else {
                    @if !own {
                        p { (t(lang, "telegram.page.user_link_lead")) }
                    }
                    form method="post" action=(whose.base(c)) {
                        (csrf_field(c.csrf()))
                        @if !own {
                            (checkbox(t(lang, "telegram.page.send_credentials"), "send_credentials", false))
                            p.muted.tg-cred-hint { (t(lang, "telegram.page.send_credentials_hint")) }
                        }
                        div.form-actions {
                            button.primary type="submit" {
                                (t(lang, if own { "telegram.page.own_link" } else { "telegram.page.user_link" }))
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The "Telegram" card of a user's admin page.
pub(crate) fn user_card(c: &Ctx, id: u64, acc: &AccountV1) -> Result<Markup, AppError> {
    card(c, Whose::User(id), acc.active)
}

/// The "Telegram" card of the reader's own profile.
pub(crate) fn profile_card(c: &Ctx) -> Result<Markup, AppError> {
    card(c, Whose::Own, true)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    send_credentials: Option<String>,
}

/// The link just made: to send, or to scan from the screen.
fn link_made(c: &Ctx, whose: Whose, name: &str, url: &str, rec: &LinkCodeV1) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let own = whose == Whose::Own;
    let title = t(lang, "telegram.page.link_title");
    let body = html! {
        (styles())
        section.card.form-card #tg-link {
            h1 { (title) }
            p.lead {
                @if own { (t(lang, "telegram.page.own_link_lead")) } @else { (tf(lang, "telegram.page.link_lead", &[("name", name)])) }
            }
            div.tg-link-box {
                (qr(url, t(lang, "telegram.page.link_qr")))
                div {
                    p { a #tg-link-url href=(url) target="_blank" rel="noopener noreferrer" { (url) } }
                    p {
                        button.copy type="button" data-copy=(url) data-copied=(t(lang, "admin.secret.copied")) {
                            (t(lang, "telegram.page.copy_link"))
                        }
                    }
                    p.muted #tg-link-expiry {
                        (tf(lang, "telegram.page.link_expiry", &[("until", &layout::local_time(rec.expires_at, &tz))]))
                    }
                    @if rec.send_credentials {
                        p.warning { (t(lang, "telegram.page.link_credentials")) }
                    }
                }
            }
            div.form-actions {
                a.button.primary href=(whose.back(c)) { (t(lang, if own { "telegram.page.back_profile" } else { "admin.users.back_to_user" })) }
            }
        }
    };
    c.render(title, if own { Section::Profile } else { Section::Users }, None, body)
}

async fn make_link(state: &AppState, c: &Ctx, whose: Whose, send_credentials: bool) -> Result<Response, AppError> {
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let name = match whose {
        Whose::User(id) => {
            let acc = crate::org::service::get_user(db, &who, id)?;
            if acc.full_name.is_empty() { acc.username } else { acc.full_name }
        }
        Whose::Own => c.user.display_name().to_string(),
    };
    let (code, rec) = links::create_code(state, c.tenant(), &who, whose.id(c), send_credentials).await?;
    let bot = telegram::summary(db)?.ok_or_else(|| AppError::new(ErrorKind::Conflict).with_message("telegram.not_connected"))?;
    let url = format!("https://t.me/{}?start={code}", bot.username);
    Ok(link_made(c, whose, &name, &url, &rec).into_response())
}

async fn user_link_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(f): Form<LinkForm>,
) -> Result<Response, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    let send = f.send_credentials.as_deref().is_some_and(|v| !v.is_empty());
    make_link(&state, &c, Whose::User(id), send).await
}

async fn own_link_submit(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    make_link(&state, &c, Whose::Own, false).await
}

async fn unlink(state: &AppState, c: &Ctx, whose: Whose) -> Result<Response, AppError> {
    // Not linked (any more): the page shows it so.
    links::unlink(state, c.tenant(), &Caller::from(&c.user), whose.id(c)).await?;
    Ok(Redirect::to(&format!("{}?done=telegram_unlinked", whose.back(c))).into_response())
}

async fn user_unlink_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    unlink(&state, &c, Whose::User(id)).await
}

async fn own_unlink_submit(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    unlink(&state, &c, Whose::Own).await
}

/// The words of a `done` the user pages show after a Telegram action.
pub(crate) fn done_notice(lang: Lang, done: &str) -> Option<&'static str> {
    (done == "telegram_unlinked").then(|| t(lang, "telegram.page.unlinked"))
}
