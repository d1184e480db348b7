//! JSON API of the company's Telegram bot: connect (a token from
//! @BotFather), status (the token masked), disconnect; link codes for staff
//! accounts and unlinking. (The webhook Telegram posts to is `web::webhook`.)

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{BotConfigV1, BotState};
use crate::telegram::{self, links};
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_telegram, put_telegram, patch_telegram, delete_telegram))
        .routes(routes!(create_telegram_link))
        .routes(routes!(delete_user_telegram))
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TelegramStatus {
    /// Whether a bot is connected.
    pub connected: bool,
    /// `running`, `revoked` (Telegram refused the token: paste a new one) or `none`.
    pub status: String,
    pub bot_username: Option<String>,
    pub bot_name: Option<String>,
    /// `https://t.me/<bot>`.
    pub link: Option<String>,
    /// The token with all but its id and last four characters hidden.
    pub token: Option<String>,
    /// Why the bot stopped, when it did.
    pub problem: Option<String>,
    pub connected_at: Option<String>,
    /// When the daily digest goes out (`HH:MM`, company time).
    pub digest_time: Option<String>,
    /// `polling` or `webhook`.
    pub mode: Option<String>,
}

fn status_of(state: &AppState, slug: &str, cfg: Option<BotConfigV1>) -> TelegramStatus {
    match cfg {
        None => TelegramStatus {
            connected: false,
            status: "none".into(),
            bot_username: None,
            bot_name: None,
            link: None,
            token: None,
            problem: None,
            connected_at: None,
            digest_time: None,
            mode: None,
        },
        Some(c) => TelegramStatus {
            connected: true,
            status: match c.state {
                BotState::Running => "running",
                BotState::Revoked => "revoked",
            }
            .into(),
            link: Some(crate::bot::ui::link(&c, None)),
            bot_username: Some(c.username.clone()),
            bot_name: Some(c.name.clone()),
            token: Some(telegram::mask(&c.token)),
            problem: c.problem.clone(),
            connected_at: Some(rfc3339(c.connected_at)),
            digest_time: Some(crate::org::service::format_hhmm(c.digest_minute)),
            mode: Some(if crate::bot::poll::webhook_url(state, slug, &c).is_some() { "webhook" } else { "polling" }.into()),
        },
    }
}

/// The company's bot: connected or not, running or refused, the token masked.
#[utoipa::path(get, path = "/api/v1/telegram", tag = "telegram", params(("slug" = String, Path)),
    responses((status = 200, body = TelegramStatus), (status = 403)), security(("bearer" = [])))]
pub async fn get_telegram(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<TelegramStatus>, AppError> {
    Caller::from(&user).require(telegram::MANAGE)?;
    let cfg = telegram::config(user.tenant.db()?)?;
    Ok(axum::Json(status_of(&state, &user.tenant.slug, cfg)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramConnect {
    /// The token @BotFather gave: the bot's number, a colon and 20–100
    /// letters, digits, `_` or `-` (`123456789:AAH…`). Telegram decides
    /// whether it is a bot's.
    #[schema(min_length = 22, max_length = 116, pattern = r"^[0-9]{1,15}:[A-Za-z0-9_-]{20,100}$")]
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TelegramConnected {
    pub bot_username: String,
    /// `running`.
    pub status: String,
}

/// Connects the company's bot: Telegram checks the token (`getMe`), the
/// bot's commands and descriptions are set, and it starts at once.
#[utoipa::path(put, path = "/api/v1/telegram", tag = "telegram", params(("slug" = String, Path)), request_body = TelegramConnect,
    responses((status = 200, body = TelegramConnected), (status = 403), (status = 422, description = "Not a token, or Telegram refused it"),
        (status = 503, description = "Telegram could not be reached")),
    security(("bearer" = [])))]
pub async fn put_telegram(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<TelegramConnect>,
) -> Result<axum::Json<TelegramConnected>, AppError> {
    let cfg = crate::bot::connect(&state, &user.tenant, &Caller::from(&user), &body.token).await?;
    Ok(axum::Json(TelegramConnected { bot_username: cfg.username, status: "running".into() }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// When the daily digest goes out (`HH:MM`, company time).
    #[schema(example = "09:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub digest_time: String,
}

/// Changes the bot's settings: the time of the daily digest.
#[utoipa::path(patch, path = "/api/v1/telegram", tag = "telegram", params(("slug" = String, Path)), request_body = TelegramSettings,
    responses((status = 200, body = TelegramStatus), (status = 403), (status = 404, description = "No bot is connected"),
        (status = 422, description = "Not a time such as 09:00")),
    security(("bearer" = [])))]
pub async fn patch_telegram(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<TelegramSettings>,
) -> Result<axum::Json<TelegramStatus>, AppError> {
    let who = Caller::from(&user);
    who.require(telegram::MANAGE)?;
    let minute = crate::org::service::parse_hhmm(body.digest_time.trim())
        .filter(|m| *m < 24 * 60)
        .ok_or_else(|| AppError::invalid("digest_time", "telegram.page.digest_invalid"))?;
    let cfg = telegram::set_digest_minute(&state, &user.tenant, &who, minute).await?;
    Ok(axum::Json(status_of(&state, &user.tenant.slug, Some(cfg))))
}

/// Disconnects the bot: it stops within seconds.
#[utoipa::path(delete, path = "/api/v1/telegram", tag = "telegram", params(("slug" = String, Path)),
    responses((status = 204), (status = 403), (status = 404, description = "No bot is connected")), security(("bearer" = [])))]
pub async fn delete_telegram(State(state): State<AppState>, user: CurrentUser) -> Result<StatusCode, AppError> {
    telegram::disconnect(&state, &user.tenant, &Caller::from(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramLinkIn {
    /// Send the login and a fresh one-time password when the link is opened
    /// (admins who manage users only).
    #[serde(default)]
    pub send_credentials: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TelegramLinkOut {
    /// `https://t.me/<bot>?start=<code>`.
    pub url: String,
    pub code: String,
    pub expires_at: String,
}

/// A one-time link (valid 24 hours) that links a Telegram account to the
/// user: for themselves, or by an admin who manages users.
#[utoipa::path(post, path = "/api/v1/users/{id}/telegram-link", tag = "telegram", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = TelegramLinkIn,
    responses((status = 201, body = TelegramLinkOut), (status = 403), (status = 404), (status = 409, description = "No bot is connected, or the user is switched off")),
    security(("bearer" = [])))]
pub async fn create_telegram_link(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(body): Json<TelegramLinkIn>,
) -> Result<(StatusCode, axum::Json<TelegramLinkOut>), AppError> {
    let cfg = telegram::config(user.tenant.db()?)?
        .filter(|c| c.state == BotState::Running)
        .ok_or_else(|| AppError::new(ErrorKind::Conflict).with_message("telegram.not_connected"))?;
    let (code, rec) = links::create_code(&state, &user.tenant, &Caller::from(&user), id, body.send_credentials).await?;
    let url = crate::bot::ui::link(&cfg, Some(&code));
    Ok((StatusCode::CREATED, axum::Json(TelegramLinkOut { url, code, expires_at: rfc3339(rec.expires_at) })))
}

/// Unlinks the user's Telegram account (themselves, or an admin).
#[utoipa::path(delete, path = "/api/v1/users/{id}/telegram", tag = "telegram", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 204), (status = 403), (status = 404, description = "Not linked")), security(("bearer" = [])))]
pub async fn delete_user_telegram(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<StatusCode, AppError> {
    if links::unlink(&state, &user.tenant, &Caller::from(&user), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::new(ErrorKind::NotFound).with_message("telegram.not_linked"))
    }
}
