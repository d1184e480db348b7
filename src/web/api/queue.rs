//! JSON API for queue setup: services and operators.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::i18n::Lang;
use crate::queue::service::{self, Names, ServiceInput};
use crate::queue::tickets;
use crate::store::schema::{OperatorV1, ServiceV2};
use crate::web::extract::{CurrentUser, Json, PathId};
use crate::web::limits::ClientIp;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_services, create_service))
        .routes(routes!(patch_service))
        .routes(routes!(list_operators))
        .routes(routes!(put_operator, delete_operator))
        .routes(routes!(take_ticket))
        .routes(routes!(branch_queue))
        .routes(routes!(call_next))
        .routes(routes!(operator_break))
        .routes(routes!(recall))
        .routes(routes!(no_show))
        .routes(routes!(start))
        .routes(routes!(finish))
        .routes(routes!(finish_and_call_next))
        .routes(routes!(call_ticket))
        .routes(routes!(cancel_ticket))
        .routes(routes!(transfer_ticket))
        .routes(routes!(slots))
        .routes(routes!(create_booking))
        .routes(routes!(check_in))
        .routes(routes!(get_settings, put_settings))
}

fn path_id(raw: &str) -> Result<u64, AppError> {
    raw.parse().map_err(|_| AppError::new(ErrorKind::NotFound))
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct NamesJson {
    pub uz: String,
    /// Empty or left out: the Uzbek name.
    #[serde(default)]
    pub ru: String,
    /// Empty or left out: the Uzbek name.
    #[serde(default)]
    pub en: String,
}

/// A name: one string for every language, or `{"uz","ru","en"}`.
#[derive(Debug, Deserialize, ToSchema, Clone)]
#[serde(untagged)]
pub enum NameIn {
    One(String),
    Each(NamesJson),
}

impl From<NameIn> for Names {
    fn from(n: NameIn) -> Names {
        match n {
            NameIn::One(s) => Names::same(&s),
            NameIn::Each(e) => Names { uz: e.uz, ru: e.ru, en: e.en },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: u64,
    /// In the caller's language.
    pub name: String,
    pub names: NamesJson,
    pub minutes: u16,
    pub target_wait_minutes: u16,
    pub branch_ids: Vec<u64>,
    pub active: bool,
    /// The ticket prefix chosen for the service (may be empty).
    pub prefix: String,
    /// The prefix its tickets get when the company numbers by service
    /// (the chosen one, or a letter from the id).
    pub ticket_prefix: String,
}

impl ServiceOut {
    fn new(id: u64, s: ServiceV2, lang: Lang) -> Self {
        ServiceOut {
            id,
            ticket_prefix: service::ticket_prefix(id, &s),
            prefix: s.prefix.clone(),
            name: service::service_name(&s, lang).to_string(),
            names: NamesJson { uz: s.name_uz, ru: s.name_ru, en: s.name_en },
            minutes: s.minutes,
            target_wait_minutes: s.target_wait_minutes,
            branch_ids: s.branch_ids,
            active: s.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIn {
    pub name: NameIn,
    /// Expected minutes per visit (1–480).
    #[schema(minimum = 1, maximum = 480)]
    pub minutes: u16,
    /// Call within this many minutes (the service level); default 15.
    #[schema(minimum = 1, maximum = 480)]
    pub target_wait_minutes: Option<u16>,
    #[serde(default)]
    pub branch_ids: Vec<u64>,
    /// Ticket prefix when numbering by service: 1–3 Latin letters or digits, a letter first.
    #[schema(pattern = r"^([A-Za-z][A-Za-z0-9]{0,2})?$")]
    pub prefix: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ServicePatchIn {
    pub name: Option<NameIn>,
    #[schema(minimum = 1, maximum = 480)]
    pub minutes: Option<u16>,
    #[schema(minimum = 1, maximum = 480)]
    pub target_wait_minutes: Option<u16>,
    pub branch_ids: Option<Vec<u64>>,
    pub active: Option<bool>,
    /// Ticket prefix when numbering by service; `""` clears it.
    #[schema(pattern = r"^([A-Za-z][A-Za-z0-9]{0,2})?$")]
    pub prefix: Option<String>,
}

/// Queue services.
#[utoipa::path(get, path = "/api/v1/services", tag = "queue", params(("slug" = String, Path)),
    responses((status = 200, body = [ServiceOut])), security(("bearer" = [])))]
pub async fn list_services(user: CurrentUser) -> Result<axum::Json<Vec<ServiceOut>>, AppError> {
    let all = service::list_services(user.tenant.db()?)?;
    Ok(axum::Json(all.into_iter().map(|(id, s)| ServiceOut::new(id, s, user.lang)).collect()))
}

/// Creates a queue service offered at some branches.
#[utoipa::path(post, path = "/api/v1/services", tag = "queue", params(("slug" = String, Path)), request_body = ServiceIn,
    responses((status = 201, body = ServiceOut), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_service(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<ServiceIn>,
) -> Result<(StatusCode, axum::Json<ServiceOut>), AppError> {
    let input = ServiceInput {
        names: Some(b.name.into()),
        minutes: Some(b.minutes),
        target_wait_minutes: b.target_wait_minutes,
        branch_ids: Some(b.branch_ids),
        active: None,
        prefix: b.prefix,
    };
    let (id, s) = service::create_service(&state, &user.tenant, &Caller::from(&user), input).await?;
    Ok((StatusCode::CREATED, axum::Json(ServiceOut::new(id, s, user.lang))))
}

/// Changes a queue service: names, minutes, target, branches, active.
#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = ServicePatchIn, responses((status = 200, body = ServiceOut), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn patch_service(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<ServicePatchIn>,
) -> Result<axum::Json<ServiceOut>, AppError> {
    let input = ServiceInput {
        names: b.name.map(Names::from),
        minutes: b.minutes,
        target_wait_minutes: b.target_wait_minutes,
        branch_ids: b.branch_ids,
        active: b.active,
        prefix: b.prefix,
    };
    let s = service::update_service(&state, &user.tenant, &Caller::from(&user), id, input).await?;
    Ok(axum::Json(ServiceOut::new(id, s, user.lang)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketIn {
    pub service_id: u64,
    /// `kiosk`, `online` (public) or `walk_in` (staff).
    #[schema(pattern = r"^(kiosk|online|walk_in)$")]
    pub source: String,
    /// `normal`, `disabled`, `elderly`; `vip` by staff only.
    #[schema(pattern = r"^(normal|disabled|elderly|vip)?$")]
    pub priority: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Estimate {
    pub low: u32,
    pub high: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    pub id: u64,
    pub number: String,
    pub service_id: u64,
    pub branch_id: u64,
    /// `booked`, `waiting`, `called`, `serving`, `done`, `no_show`, `cancelled`, `transferred`, `expired`.
    pub status: String,
    pub priority: String,
    pub source: String,
    pub created_at: String,
    /// Arrival that orders the queue (kept across a transfer).
    pub arrived_at: String,
    pub window: Option<u16>,
    /// The booked slot's start, for a booking.
    pub booked_for: Option<String>,
    /// The ticket this one continues after a transfer.
    pub transferred_from: Option<u64>,
}

impl TicketOut {
    pub fn new(id: u64, t: &crate::store::schema::TicketV1) -> Self {
        TicketOut {
            id,
            number: t.number.clone(),
            service_id: t.service_id,
            branch_id: t.branch_id,
            status: tickets::status_code(t.status).to_string(),
            priority: tickets::priority_code(t.priority).to_string(),
            source: match t.source {
                crate::store::schema::TicketSource::Kiosk => "kiosk",
                crate::store::schema::TicketSource::Online => "online",
                crate::store::schema::TicketSource::Bot => "bot",
                crate::store::schema::TicketSource::WalkIn => "walk_in",
            }
            .to_string(),
            created_at: crate::clock::from_ms(t.created_at).to_string(),
            arrived_at: crate::clock::from_ms(t.arrived_at).to_string(),
            window: t.window,
            booked_for: t.booking.as_ref().map(|b| crate::clock::from_ms(b.start).to_string()),
            transferred_from: t.transferred_from,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedOut {
    #[serde(flatten)]
    pub ticket: TicketOut,
    pub people_ahead: u32,
    pub estimate_minutes: Estimate,
    /// The customer's live tracking page.
    pub tracking_url: String,
    pub qr_svg_url: String,
}

/// Takes a queue ticket. Public for `kiosk` and `online` while the company
/// is open; `walk_in` is for staff. Rate-limited per client address.
#[utoipa::path(post, path = "/api/v1/branches/{branch_id}/tickets", tag = "queue",
    params(("slug" = String, Path), ("branch_id" = u64, Path)), request_body = TicketIn,
    responses((status = 201, body = IssuedOut), (status = 403), (status = 404), (status = 409), (status = 422), (status = 429)))]
pub async fn take_ticket(
    State(state): State<AppState>,
    tenant: crate::tenancy::Tenant,
    ClientIp(ip, limits): ClientIp,
    headers: axum::http::HeaderMap,
    user: Result<CurrentUser, AppError>,
    Path((_, branch)): Path<(String, String)>,
    Json(b): Json<TicketIn>,
) -> Result<(StatusCode, axum::Json<IssuedOut>), AppError> {
    let branch_id: u64 = branch.parse().map_err(|_| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
    // Public callers send no credentials; a client that sends a bearer
    // token that no longer works is told so, not treated as the public.
    let caller = match user {
        Ok(u) => Caller::from(&u),
        Err(e) if headers.contains_key(axum::http::header::AUTHORIZATION) => return Err(e),
        Err(_) => Caller::Public,
    };
    if matches!(caller, Caller::Public) {
        limits.check_ticket(ip)?;
    }
    let input = tickets::NewTicket { service_id: b.service_id, source: b.source, priority: b.priority, name: b.name, phone: b.phone };
    let issued = tickets::issue(&state, &tenant, &caller, branch_id, input).await?;
    Ok((StatusCode::CREATED, axum::Json(IssuedOut::new(&tenant.slug, &issued))))
}

impl IssuedOut {
    pub fn new(slug: &str, issued: &tickets::Issued) -> Self {
        let token = tickets::public_token(slug, &issued.ticket.token);
        IssuedOut {
            ticket: TicketOut::new(issued.id, &issued.ticket),
            people_ahead: issued.people_ahead,
            estimate_minutes: Estimate { low: issued.ticket.quoted_wait.0, high: issued.ticket.quoted_wait.1 },
            tracking_url: format!("/t/{token}"),
            qr_svg_url: format!("/t/{token}/qr.svg"),
        }
    }
}

/// A branch's waiting and called tickets today, in arrival order.
#[utoipa::path(get, path = "/api/v1/branches/{branch_id}/queue", tag = "queue",
    params(("slug" = String, Path), ("branch_id" = u64, Path)),
    responses((status = 200, body = [TicketOut]), (status = 403)), security(("bearer" = [])))]
pub async fn branch_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, branch)): Path<(String, String)>,
) -> Result<axum::Json<Vec<TicketOut>>, AppError> {
    let branch_id: u64 = branch.parse().map_err(|_| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
    let (day, _, _) = tickets::local_day(state.now_ms(), &user.tenant.timezone());
    let list = tickets::queue_of(user.tenant.db()?, &Caller::from(&user), branch_id, day)?;
    Ok(axum::Json(list.iter().map(|(id, t)| TicketOut::new(*id, t)).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalledOut {
    pub ticket: TicketOut,
    /// Why this ticket, in the caller's language ("VIP", "waited 23 min").
    pub reason: String,
    /// The same as a stable code: `priority:vip`, `waited:23`.
    pub reason_code: String,
}

/// Calls the next customer to the caller's window: 204 when nobody waits.
#[utoipa::path(post, path = "/api/v1/operator/call-next", tag = "queue", params(("slug" = String, Path)),
    responses((status = 200, body = CalledOut), (status = 204), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn call_next(State(state): State<AppState>, user: CurrentUser) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    match crate::queue::window::call_next(&state, &user.tenant, &Caller::from(&user)).await? {
        Some((id, t, reason)) => {
            let out = CalledOut {
                ticket: TicketOut::new(id, &t),
                reason: crate::queue::window::reason_text(user.lang, &reason),
                reason_code: reason,
            };
            Ok(axum::Json(out).into_response())
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

async fn act(state: AppState, user: CurrentUser, id: u64, what: crate::queue::window::Act) -> Result<axum::Json<TicketOut>, AppError> {
    let t = crate::queue::window::act(&state, &user.tenant, &Caller::from(&user), id, what).await?;
    Ok(axum::Json(TicketOut::new(id, &t)))
}

/// Calls the ticket again; after two recalls it is a no-show.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/recall", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TicketOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn recall(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<TicketOut>, AppError> {
    act(state, user, id, crate::queue::window::Act::Recall).await
}

/// The called customer did not come.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/no-show", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TicketOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn no_show(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<TicketOut>, AppError> {
    act(state, user, id, crate::queue::window::Act::NoShow).await
}

/// The customer has come to the window: service starts.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/start", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TicketOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn start(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<TicketOut>, AppError> {
    act(state, user, id, crate::queue::window::Act::Start).await
}

/// Service is over.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/finish", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TicketOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn finish(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<TicketOut>, AppError> {
    act(state, user, id, crate::queue::window::Act::Finish).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinishedAndCalledOut {
    /// The ticket just served, now `done`.
    pub finished: TicketOut,
    /// The customer called next; `null` when nobody waits.
    pub called: Option<CalledOut>,
}

/// "Finish and call next" in one press: the customer being served is done
/// and the next one is called to the same window, in one step.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/finish-and-call-next", tag = "queue",
    params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = FinishedAndCalledOut), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn finish_and_call_next(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<axum::Json<FinishedAndCalledOut>, AppError> {
    let (done, called) = crate::queue::window::finish_and_call_next(&state, &user.tenant, &Caller::from(&user), id).await?;
    Ok(axum::Json(FinishedAndCalledOut {
        finished: TicketOut::new(id, &done),
        called: called.map(|(cid, t, reason)| CalledOut {
            ticket: TicketOut::new(cid, &t),
            reason: crate::queue::window::reason_text(user.lang, &reason),
            reason_code: reason,
        }),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakIn {
    pub on: bool,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakOut {
    pub on_break: bool,
    pub reason: Option<String>,
    pub since: String,
}

/// Goes on a break (with a reason) or back to the window.
#[utoipa::path(post, path = "/api/v1/operator/break", tag = "queue", params(("slug" = String, Path)), request_body = BreakIn,
    responses((status = 200, body = BreakOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn operator_break(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<BreakIn>,
) -> Result<axum::Json<BreakOut>, AppError> {
    let st = crate::queue::window::set_break(&state, &user.tenant, &Caller::from(&user), b.on, b.reason).await?;
    Ok(axum::Json(BreakOut { on_break: st.on_break, reason: st.break_reason, since: crate::clock::from_ms(st.since).to_string() }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorOut {
    pub user_id: u64,
    pub branch_id: u64,
    pub window: u16,
    pub service_ids: Vec<u64>,
}

impl OperatorOut {
    fn new(user_id: u64, o: OperatorV1) -> Self {
        OperatorOut { user_id, branch_id: o.branch_id, window: o.window, service_ids: o.service_ids }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorIn {
    pub branch_id: u64,
    /// The window number shown on the display board (1–999).
    #[schema(minimum = 1, maximum = 999)]
    pub window: u16,
    pub service_ids: Vec<u64>,
}

/// Where each operator works.
#[utoipa::path(get, path = "/api/v1/operators", tag = "queue", params(("slug" = String, Path)),
    responses((status = 200, body = [OperatorOut]), (status = 403)), security(("bearer" = [])))]
pub async fn list_operators(user: CurrentUser) -> Result<axum::Json<Vec<OperatorOut>>, AppError> {
    let all = service::list_operators(user.tenant.db()?, &Caller::from(&user))?;
    Ok(axum::Json(all.into_iter().map(|(id, o)| OperatorOut::new(id, o)).collect()))
}

/// Puts an operator at a branch's window with the services they serve.
#[utoipa::path(put, path = "/api/v1/operators/{user_id}", tag = "queue", params(("slug" = String, Path), ("user_id" = u64, Path)),
    request_body = OperatorIn, responses((status = 200, body = OperatorOut), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn put_operator(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, user_id)): Path<(String, String)>,
    Json(b): Json<OperatorIn>,
) -> Result<axum::Json<OperatorOut>, AppError> {
    let user_id = path_id(&user_id)?;
    let op = service::set_operator(&state, &user.tenant, &Caller::from(&user), user_id, b.branch_id, b.window, b.service_ids).await?;
    Ok(axum::Json(OperatorOut::new(user_id, op)))
}

/// Calls this waiting ticket to the caller's window (out of turn).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/call", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TicketOut), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn call_ticket(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<TicketOut>, AppError> {
    let t = crate::queue::window::call_ticket(&state, &user.tenant, &Caller::from(&user), id).await?;
    Ok(axum::Json(TicketOut::new(id, &t)))
}

/// Cancels a ticket that has not been served (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/cancel", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TicketOut), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn cancel_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<axum::Json<TicketOut>, AppError> {
    let actor = Caller::from(&user);
    let (id, t) = tickets::cancel(&state, &user.tenant, &actor, Some(id)).await?;
    Ok(axum::Json(TicketOut::new(id, &t)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferIn {
    pub service_id: u64,
}

/// Sends the customer at the window on to another service; they keep their
/// number and their place by arrival. Returns the new ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/transfer", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = TransferIn, responses((status = 200, body = TicketOut), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn transfer_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<TransferIn>,
) -> Result<axum::Json<TicketOut>, AppError> {
    let (new_id, t) = crate::queue::window::transfer(&state, &user.tenant, &Caller::from(&user), id, b.service_id).await?;
    Ok(axum::Json(TicketOut::new(new_id, &t)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    #[param(required = true)]
    pub service_id: Option<u64>,
    /// `YYYY-MM-DD`, the company's local date.
    #[param(required = true, format = Date)]
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOut {
    pub start: String,
    pub end: String,
    /// How many more bookings the slot takes.
    pub free: u32,
}

/// Bookable slots of a day for a service at a branch (public).
#[utoipa::path(get, path = "/api/v1/branches/{branch_id}/slots", tag = "queue",
    params(("slug" = String, Path), ("branch_id" = u64, Path), SlotsQuery),
    responses((status = 200, body = [SlotOut]), (status = 403, description = "The company is not open for business"), (status = 404), (status = 422)))]
pub async fn slots(
    State(state): State<AppState>,
    tenant: crate::tenancy::Tenant,
    Path((_, branch)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<SlotsQuery>,
) -> Result<axum::Json<Vec<SlotOut>>, AppError> {
    let branch_id: u64 = branch.parse().map_err(|_| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
    let service_id = q.service_id.ok_or_else(|| AppError::invalid("service_id", "validation.required"))?;
    let date = parse_date(q.date.as_deref())?;
    let list = crate::queue::booking::slots(&state, &tenant, branch_id, service_id, date)?;
    Ok(axum::Json(
        list.into_iter()
            .map(|s| SlotOut {
                start: crate::clock::from_ms(s.start).to_string(),
                end: crate::clock::from_ms(s.end).to_string(),
                free: s.free,
            })
            .collect(),
    ))
}

pub fn parse_date(raw: Option<&str>) -> Result<jiff::civil::Date, AppError> {
    raw.filter(|d| !d.is_empty())
        .ok_or_else(|| AppError::invalid("date", "validation.required"))?
        .parse::<jiff::civil::Date>()
        .map_err(|_| AppError::invalid("date", "validation.date"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingIn {
    pub branch_id: u64,
    pub service_id: u64,
    /// The slot's start, RFC 3339, as given by `/slots`.
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingOut {
    /// Six digits to check in with at the kiosk.
    pub code: String,
    pub ticket: IssuedOut,
}

/// Books a visit for a free slot (public, rate-limited).
#[utoipa::path(post, path = "/api/v1/bookings", tag = "queue", params(("slug" = String, Path)), request_body = BookingIn,
    responses((status = 201, body = BookingOut), (status = 404), (status = 409), (status = 422), (status = 429)))]
pub async fn create_booking(
    State(state): State<AppState>,
    tenant: crate::tenancy::Tenant,
    ClientIp(ip, limits): ClientIp,
    Json(b): Json<BookingIn>,
) -> Result<(StatusCode, axum::Json<BookingOut>), AppError> {
    limits.check_ticket(ip)?;
    let start = b.start.parse::<jiff::Timestamp>().map_err(|_| AppError::invalid("start", "validation.time"))?.as_millisecond();
    let input = crate::queue::booking::NewBooking { branch_id: b.branch_id, service_id: b.service_id, start, name: b.name, phone: b.phone };
    let issued = crate::queue::booking::book(&state, &tenant, input).await?;
    let code = issued.ticket.booking.as_ref().map(|b| format!("{:06}", b.code)).unwrap_or_default();
    Ok((StatusCode::CREATED, axum::Json(BookingOut { code, ticket: IssuedOut::new(&tenant.slug, &issued) })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInIn {
    /// The booking's six-digit code.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[+]?0*[1-9][0-9]{5}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub code: String,
}

/// Checks a booked customer in at the branch (the kiosk; public, rate-limited).
#[utoipa::path(post, path = "/api/v1/branches/{branch_id}/check-in", tag = "queue",
    params(("slug" = String, Path), ("branch_id" = u64, Path)), request_body = CheckInIn,
    responses((status = 200, body = IssuedOut), (status = 404), (status = 409), (status = 422), (status = 429)))]
pub async fn check_in(
    State(state): State<AppState>,
    tenant: crate::tenancy::Tenant,
    ClientIp(ip, limits): ClientIp,
    Path((_, branch)): Path<(String, String)>,
    Json(b): Json<CheckInIn>,
) -> Result<axum::Json<IssuedOut>, AppError> {
    limits.check_ticket(ip)?;
    let branch_id: u64 = branch.parse().map_err(|_| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
    let issued = crate::queue::booking::check_in(&state, &tenant, branch_id, &b.code).await?;
    Ok(axum::Json(IssuedOut::new(&tenant.slug, &issued)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettingsJson {
    /// Times a called ticket may be recalled before it counts as a no-show (0–5; default 2).
    #[schema(maximum = 5)]
    pub max_recalls: u8,
    /// How ticket numbers are made: `by_source` (`K-001` kiosk, `O-001`
    /// online; the default) or `by_service` (each service's prefix, `A-014`).
    /// Left out of a change, it stays as it is.
    #[serde(default)]
    #[schema(pattern = r"^(by_source|by_service)$")]
    pub numbering: Option<String>,
}

impl QueueSettingsJson {
    fn of(s: &crate::store::schema::QueueSettingsV2) -> Self {
        QueueSettingsJson { max_recalls: s.max_recalls, numbering: Some(service::numbering_code(s.numbering).into()) }
    }
}

/// The company's queue rules.
#[utoipa::path(get, path = "/api/v1/queue-settings", tag = "queue", params(("slug" = String, Path)),
    responses((status = 200, body = QueueSettingsJson), (status = 403)), security(("bearer" = [])))]
pub async fn get_settings(user: CurrentUser) -> Result<axum::Json<QueueSettingsJson>, AppError> {
    if !(user.can("queue.manage") || user.can("queue.operate")) {
        return Err(ErrorKind::Forbidden.into());
    }
    let s = service::settings(user.tenant.db()?)?;
    Ok(axum::Json(QueueSettingsJson::of(&s)))
}

/// Changes the company's queue rules.
#[utoipa::path(put, path = "/api/v1/queue-settings", tag = "queue", params(("slug" = String, Path)),
    request_body = QueueSettingsJson, responses((status = 200, body = QueueSettingsJson), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<QueueSettingsJson>,
) -> Result<axum::Json<QueueSettingsJson>, AppError> {
    let input = service::SettingsInput {
        max_recalls: Some(b.max_recalls),
        numbering: b.numbering.as_deref().map(service::parse_numbering).transpose()?,
    };
    let s = service::set_settings(&state, &user.tenant, &Caller::from(&user), input).await?;
    Ok(axum::Json(QueueSettingsJson::of(&s)))
}

/// Takes an operator off their window (refused while they serve someone).
#[utoipa::path(delete, path = "/api/v1/operators/{user_id}", tag = "queue", params(("slug" = String, Path), ("user_id" = u64, Path)),
    responses((status = 204), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn delete_operator(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let user_id = path_id(&user_id)?;
    service::remove_operator(&state, &user.tenant, &Caller::from(&user), user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
