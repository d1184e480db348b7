//! Admin pages of client requests: the categories (list, and a page per
//! category with its form builder) and the notification templates (each
//! event in three languages, with a preview and a reset). Plain HTML forms;
//! `request_admin.js` only adds, removes and moves form-builder rows.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::requests::categories::{self, CategoryInput, Deleted, FieldInput, ICONS, KINDS, NamesInput, OptionInput, SlaInput};
use crate::requests::templates::{self, Event, PLACEHOLDERS};
use crate::requests::{priority_code, priority_label};
use crate::store::schema::{Priority, RequestCategoryV1, SlaClock};
use crate::web::assets;
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{FormError, Input, checkbox, csrf_field, form_alert, post_button, select};
use crate::web::pages::org::{Ctx, Section};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/request-categories", get(list_page).post(create_submit))
        .route("/admin/request-categories/new", get(new_page))
        .route("/admin/request-categories/{id}", get(edit_page).post(edit_submit))
        .route("/admin/request-categories/{id}/delete", post(delete_submit))
        .route("/admin/request-templates", get(templates_page))
        .route("/admin/request-templates/{event}/{lang}", post(template_submit))
}

const PRIORITIES: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

/// The inner SVG of a category icon (24×24, stroked in the category's colour).
fn icon_paths(icon: &str) -> &'static str {
    match icon {
        "card" => r#"<rect x="2.5" y="5" width="19" height="14" rx="2"/><path d="M2.5 10h19M6 15h4"/>"#,
        "loan" => {
            r#"<circle cx="12" cy="12" r="9"/><path d="M14.8 9.2c-.5-1-1.6-1.6-2.8-1.6-1.6 0-2.8.9-2.8 2.1 0 2.8 5.6 1.5 5.6 4.4 0 1.2-1.2 2.2-2.8 2.2-1.3 0-2.4-.6-2.9-1.6M12 6v1.6M12 16.3V18"/>"#
        }
        "complaint" => r#"<path d="M4 5h16v11H9l-5 4z"/><path d="M12 8v3.5M12 13.6v.1"/>"#,
        "account" => r#"<circle cx="12" cy="8" r="4"/><path d="M4 20c1.5-3.5 4.5-5 8-5s6.5 1.5 8 5"/>"#,
        "transfer" => r#"<path d="M4 8h14l-3.5-3.5M20 16H6l3.5 3.5"/>"#,
        "document" => r#"<path d="M6 3h8l4 4v14H6z"/><path d="M14 3v4h4M9 12h6M9 16h6"/>"#,
        "question" => r#"<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .8-1 1.5v.5M12 16.8v.1"/>"#,
        _ => r#"<circle cx="6" cy="12" r="1.5"/><circle cx="12" cy="12" r="1.5"/><circle cx="18" cy="12" r="1.5"/>"#,
    }
}

/// A category's icon in its colour (an SVG attribute, which the page's
/// CSP allows where a `style` would not be).
pub fn icon(icon: &str, color: &str) -> Markup {
    let color =
        if color.len() == 7 && color.starts_with('#') && color.chars().skip(1).all(|c| c.is_ascii_hexdigit()) { color } else { "#4a5562" };
    html! {
        svg.ra-icon viewBox="0 0 24 24" width="24" height="24" fill="none" stroke=(color) stroke-width="1.8"
            stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false" {
            (PreEscaped(icon_paths(icon)))
        }
    }
}

fn require(user: &CurrentUser) -> Result<(), AppError> {
    if Caller::from(user).manages_requests() { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
}

fn assets_links() -> Markup {
    html! {
        link rel="stylesheet" href=(assets::url("request_admin.css"));
        script src=(assets::url("request_admin.js")) defer {}
    }
}

/// Minutes as people read them: "30 min", "8 h", "1 h 30 min".
fn duration(lang: Lang, m: u32) -> String {
    let (h, min) = (m / 60, m % 60);
    let (hs, ms) = match lang {
        Lang::Uz => ("soat", "daq"),
        Lang::Ru => ("ч", "мин"),
        Lang::En => ("h", "min"),
    };
    match (h, min) {
        (0, m) => format!("{m} {ms}"),
        (h, 0) => format!("{h} {hs}"),
        (h, m) => format!("{h} {hs} {m} {ms}"),
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

// ---------- the list ----------

async fn list_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let cats = categories::list(db, &Caller::from(&c.user))?;
    let notice = match q.done.as_deref() {
        Some("saved") => Some(t(lang, "request_admin.saved")),
        Some("deleted") => Some(t(lang, "request_admin.deleted")),
        Some("deactivated") => Some(t(lang, "request_admin.deactivated")),
        _ => None,
    };
    let title = t(lang, "request_admin.categories_title");
    let mut rows = Vec::new();
    for (id, cat) in cats {
        let n = categories::request_count(db, id)?;
        rows.push((id, cat, n));
    }
    let body = html! {
        (assets_links())
        div.page-head {
            h1 { (title) }
            a.button.primary href=(c.url("admin/request-categories/new")) { (t(lang, "request_admin.new_category")) }
        }
        p.muted { (t(lang, "request_admin.categories_lead")) }
        @if rows.is_empty() {
            p.empty { (t(lang, "request_admin.empty")) }
        } @else {
            div.table-wrap {
                table.data.stack.ra-list {
                    thead {
                        tr {
                            th { (t(lang, "request_admin.col_name")) }
                            th { (t(lang, "request_admin.col_team")) }
                            th { (t(lang, "request_admin.col_sla")) }
                            th.num { (t(lang, "request_admin.col_fields")) }
                            th.num { (t(lang, "request_admin.col_requests")) }
                            th { (t(lang, "request_admin.col_status")) }
                        }
                    }
                    tbody {
                        @for (id, cat, n) in &rows {
                            tr.muted-row[!cat.active] {
                                td data-label=(t(lang, "request_admin.col_name")) {
                                    a.ra-name href=(c.url(&format!("admin/request-categories/{id}"))) {
                                        (icon(&cat.icon, &cat.color))
                                        span { (cat.names.get(lang)) }
                                    }
                                }
                                td data-label=(t(lang, "request_admin.col_team")) {
                                    (tf(lang, "request_admin.people", &[("n", &cat.team.len().to_string())]))
                                }
                                td data-label=(t(lang, "request_admin.col_sla")) { (sla_text(lang, cat)) }
                                td.num data-label=(t(lang, "request_admin.col_fields")) { (cat.fields.len()) }
                                td.num data-label=(t(lang, "request_admin.col_requests")) { (n) }
                                td data-label=(t(lang, "request_admin.col_status")) {
                                    @if cat.active {
                                        span.badge.ok { (t(lang, "request_admin.active")) }
                                    } @else {
                                        span.badge.off { (t(lang, "request_admin.inactive")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::RequestCategories, notice, body))
}

fn sla_text(lang: Lang, c: &RequestCategoryV1) -> String {
    let d = |m: Option<u32>| m.map(|m| duration(lang, m)).unwrap_or_else(|| "—".into());
    if c.first_response_minutes.is_none() && c.resolution_minutes.is_none() {
        return t(lang, "request_admin.no_sla").to_string();
    }
    tf(lang, "request_admin.sla_short", &[("first", &d(c.first_response_minutes)), ("resolution", &d(c.resolution_minutes))])
}

// ---------- one category ----------

/// The category form as posted: pairs in order (repeated `team`, and each
/// form-builder row's inputs named `field-<row>-<part>`).
struct Posted {
    names: NamesInput,
    icon: String,
    color: String,
    team: Vec<u64>,
    lead: String,
    auto_assign: bool,
    priority: String,
    first: String,
    first_unit: String,
    resolution: String,
    resolution_unit: String,
    clock: String,
    branch: String,
    active: bool,
    sort: String,
    fields: Vec<FieldInput>,
}

impl Posted {
    fn from_category(c: &RequestCategoryV1) -> Posted {
        let (first, first_unit) = split_minutes(c.first_response_minutes);
        let (resolution, resolution_unit) = split_minutes(c.resolution_minutes);
        Posted {
            names: NamesInput { uz: c.names.uz.clone(), ru: c.names.ru.clone(), en: c.names.en.clone() },
            icon: c.icon.clone(),
            color: c.color.clone(),
            team: c.team.clone(),
            lead: c.lead_id.map(|l| l.to_string()).unwrap_or_default(),
            auto_assign: c.auto_assign,
            priority: priority_code(c.default_priority).into(),
            first,
            first_unit,
            resolution,
            resolution_unit,
            clock: categories::clock_code(c.clock).into(),
            branch: c.branch_id.map(|b| b.to_string()).unwrap_or_default(),
            active: c.active,
            sort: c.sort.to_string(),
            fields: c
                .fields
                .iter()
                .map(|f| FieldInput {
                    key: f.key.clone(),
                    kind: categories::kind_code(f.kind).into(),
                    labels: NamesInput { uz: f.labels.uz.clone(), ru: f.labels.ru.clone(), en: f.labels.en.clone() },
                    required: f.required,
                    options: f
                        .options
                        .iter()
                        .map(|o| OptionInput {
                            key: o.key.clone(),
                            labels: NamesInput { uz: o.labels.uz.clone(), ru: o.labels.ru.clone(), en: o.labels.en.clone() },
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn blank() -> Posted {
        Posted {
            names: NamesInput::default(),
            icon: "other".into(),
            color: "#1f6feb".into(),
            team: vec![],
            lead: String::new(),
            auto_assign: false,
            priority: "normal".into(),
            first: String::new(),
            first_unit: "hours".into(),
            resolution: String::new(),
            resolution_unit: "hours".into(),
            clock: "all_day".into(),
            branch: String::new(),
            active: true,
            sort: "0".into(),
            fields: vec![],
        }
    }

    fn parse(pairs: Vec<(String, String)>) -> Posted {
        let mut p = Posted::blank();
        p.active = false;
        let mut rows: Vec<(String, FieldInput, String)> = Vec::new();
        for (k, v) in pairs {
            match k.as_str() {
                "name_uz" => p.names.uz = v,
                "name_ru" => p.names.ru = v,
                "name_en" => p.names.en = v,
                "icon" => p.icon = v,
                "color" => p.color = v,
                "team" => {
                    if let Ok(id) = v.trim().parse() {
                        p.team.push(id);
                    }
                }
                "lead_id" => p.lead = v,
                "auto_assign" => p.auto_assign = !v.is_empty(),
                "default_priority" => p.priority = v,
                "first" => p.first = v,
                "first_unit" => p.first_unit = v,
                "resolution" => p.resolution = v,
                "resolution_unit" => p.resolution_unit = v,
                "clock" => p.clock = v,
                "branch_id" => p.branch = v,
                "active" => p.active = !v.is_empty(),
                "sort" => p.sort = v,
                _ => {
                    let Some((row, part)) = k.strip_prefix("field-").and_then(|r| r.split_once('-')) else { continue };
                    let i = match rows.iter().position(|(r, _, _)| r == row) {
                        Some(i) => i,
                        None => {
                            rows.push((row.to_string(), FieldInput { kind: "text".into(), ..Default::default() }, String::new()));
                            rows.len() - 1
                        }
                    };
                    let Some((_, f, options)) = rows.get_mut(i) else { continue };
                    match part {
                        "key" => f.key = v.trim().to_string(),
                        "type" => f.kind = v,
                        "uz" => f.labels.uz = v,
                        "ru" => f.labels.ru = v,
                        "en" => f.labels.en = v,
                        "required" => f.required = !v.is_empty(),
                        "options" => *options = v,
                        _ => {}
                    }
                }
            }
        }
        // A row left blank (the spare one for adding) is no field.
        p.fields = rows
            .into_iter()
            .filter(|(_, f, o)| {
                !(f.key.is_empty() && f.labels.uz.trim().is_empty() && f.labels.ru.trim().is_empty() && o.trim().is_empty())
            })
            .map(|(_, mut f, o)| {
                // Options given to a field of another type are refused by the core, not dropped.
                if f.kind == "choice" || !o.trim().is_empty() {
                    f.options = parse_options(&o);
                }
                f
            })
            .collect();
        p
    }

    fn input(&self) -> Result<CategoryInput, AppError> {
        let minutes = |field: &'static str, v: &str, unit: &str| -> Result<Option<i64>, AppError> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            let n: i64 =
                v.parse().map_err(|_| AppError::invalid(field, "validation.request_minutes").with_arg("max", categories::MINUTES_MAX))?;
            Ok(Some(if unit == "hours" { n.saturating_mul(60) } else { n }))
        };
        let id = |v: &str| v.trim().parse::<u64>().ok();
        Ok(CategoryInput {
            names: Some(self.names.clone()),
            icon: Some(self.icon.clone()),
            color: Some(self.color.clone()),
            team_ids: Some(self.team.clone()),
            lead_id: Some(id(&self.lead)),
            auto_assign: Some(self.auto_assign),
            default_priority: Some(self.priority.clone()),
            sla: Some(SlaInput {
                first_response_minutes: minutes(SLA_FIRST, &self.first, &self.first_unit)?,
                resolution_minutes: minutes(SLA_RESOLUTION, &self.resolution, &self.resolution_unit)?,
                clock: Some(self.clock.clone()),
            }),
            branch_id: Some(id(&self.branch)),
            fields: Some(self.fields.clone()),
            active: Some(self.active),
            sort: Some(self.sort.trim().parse().unwrap_or(0)),
        })
    }
}

const SLA_FIRST: &str = "sla.first_response_minutes";
const SLA_RESOLUTION: &str = "sla.resolution_minutes";

fn split_minutes(m: Option<u32>) -> (String, String) {
    match m {
        None => (String::new(), "hours".into()),
        Some(m) if m % 60 == 0 => ((m / 60).to_string(), "hours".into()),
        Some(m) => (m.to_string(), "minutes".into()),
    }
}

/// Options typed one a line: `key = uz | ru | en`.
fn parse_options(s: &str) -> Vec<OptionInput> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (key, labels) = l.split_once('=').unwrap_or((l, ""));
            let mut parts = labels.split('|').map(str::trim);
            OptionInput {
                key: key.trim().to_string(),
                labels: NamesInput {
                    uz: parts.next().unwrap_or("").to_string(),
                    ru: parts.next().unwrap_or("").to_string(),
                    en: parts.next().unwrap_or("").to_string(),
                },
            }
        })
        .collect()
}

fn options_text(o: &[OptionInput]) -> String {
    o.iter()
        .map(|o| {
            let mut s = format!("{} = {}", o.key, o.labels.uz);
            if !o.labels.ru.is_empty() || !o.labels.en.is_empty() {
                s.push_str(&format!(" | {}", o.labels.ru));
            }
            if !o.labels.en.is_empty() {
                s.push_str(&format!(" | {}", o.labels.en));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn new_page(user: CurrentUser, page: Page) -> Result<Markup, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    form_page(&c, None, &Posted::blank(), None)
}

async fn edit_page(user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Markup, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let cat = categories::get(c.tenant().db()?, &Caller::from(&c.user), id)?;
    form_page(&c, Some(id), &Posted::from_category(&cat), None)
}

async fn create_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let posted = Posted::parse(pairs);
    let r = match posted.input() {
        Ok(input) => categories::create(&state, c.tenant(), &Caller::from(&c.user), input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => Ok(Redirect::to(&c.url("admin/request-categories?done=saved")).into_response()),
        Err(e) if e.field.is_some() => Ok(form_again(form_page(&c, None, &posted, Some(&FormError::new(c.lang(), &e)))?)),
        Err(e) => Err(e),
    }
}

async fn edit_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let posted = Posted::parse(pairs);
    let r = match posted.input() {
        Ok(input) => categories::update(&state, c.tenant(), &Caller::from(&c.user), id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => Ok(Redirect::to(&c.url("admin/request-categories?done=saved")).into_response()),
        Err(e) if e.field.is_some() => Ok(form_again(form_page(&c, Some(id), &posted, Some(&FormError::new(c.lang(), &e)))?)),
        Err(e) => Err(e),
    }
}

async fn delete_submit(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<Response, AppError> {
    require(&user)?;
    let done = match categories::delete(&state, &user.tenant, &Caller::from(&user), id).await? {
        Deleted::Removed => "deleted",
        Deleted::Deactivated => "deactivated",
    };
    Ok(Redirect::to(&format!("/c/{}/admin/request-categories?done={done}", user.tenant.slug)).into_response())
}

/// The error's message when it is about `field` (or, with `prefix`, about
/// anything under it).
fn err_on<'a>(err: Option<&'a FormError>, field: &str, prefix: bool) -> Option<&'a str> {
    let e = err?;
    let f = e.field?;
    let hit = if prefix { f == field || f.starts_with(&format!("{field}.")) } else { f == field };
    hit.then_some(e.message.as_str())
}

fn form_page(c: &Ctx, id: Option<u64>, p: &Posted, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let mut people: Vec<(u64, String)> = crate::org::service::directory(db, &Caller::from(&c.user))?
        .into_iter()
        // Only active people: a deactivated member left in the team is dropped on saving.
        .filter(|(_, u)| u.active)
        .map(|(uid, u)| (uid, u.name))
        .collect();
    people.sort_by_key(|a| a.1.to_lowercase());
    let branches = crate::org::service::list_branches(db)?;
    let title = if id.is_some() { t(lang, "request_admin.edit_category") } else { t(lang, "request_admin.new_category") };
    let action = match id {
        Some(id) => c.url(&format!("admin/request-categories/{id}")),
        None => c.url("admin/request-categories"),
    };
    let mut lead_opts = vec![(String::new(), t(lang, "request_admin.nobody").to_string())];
    lead_opts.extend(people.iter().map(|(uid, n)| (uid.to_string(), n.clone())));
    let prio_opts: Vec<(String, String)> =
        PRIORITIES.iter().map(|p| (priority_code(*p).to_string(), priority_label(lang, *p).to_string())).collect();
    let clock_opts = vec![
        (categories::clock_code(SlaClock::AllDay).to_string(), t(lang, "request_admin.clock_all_day").to_string()),
        (categories::clock_code(SlaClock::WorkingHours).to_string(), t(lang, "request_admin.clock_working_hours").to_string()),
    ];
    let mut branch_opts = vec![(String::new(), t(lang, "request_admin.any_branch").to_string())];
    branch_opts.extend(
        branches.iter().filter(|(_, b)| b.active).map(|(bid, b)| (bid.to_string(), crate::org::service::branch_name(b, lang).to_string())),
    );
    let unit_opts = vec![
        ("minutes".to_string(), t(lang, "request_admin.minutes").to_string()),
        ("hours".to_string(), t(lang, "request_admin.hours").to_string()),
    ];
    let names_err = err.map(|e| {
        FormError { message: e.message.clone(), field: e.field }
            .moved("names.uz", "name_uz")
            .moved("names.ru", "name_ru")
            .moved("names.en", "name_en")
    });
    // A form row's mistake, above the form too: which row.
    let top_err = err.map(|e| {
        let row = e.field.and_then(|f| f.strip_prefix("fields.")).and_then(|r| r.split('.').next()).and_then(|n| n.parse::<usize>().ok());
        match row {
            Some(n) => FormError {
                message: format!("{}: {}", tf(lang, "request_admin.field_n", &[("n", &(n + 1).to_string())]), e.message),
                field: e.field,
            },
            None => FormError { message: e.message.clone(), field: e.field },
        }
    });
    let body = html! {
        (assets_links())
        p { a href=(c.url("admin/request-categories")) { "← " (t(lang, "request_admin.categories_title")) } }
        h1 { (title) }
        (form_alert(top_err.as_ref()))
        form.ra-form method="post" action=(action) novalidate {
            (csrf_field(c.csrf()))
            section.card {
                h2 { (t(lang, "request_admin.names")) }
                div.ra-grid3 {
                    (Input::new(t(lang, "request_admin.name_uz"), "name_uz").value(&p.names.uz).required().maxlength(80).error(names_err.as_ref()))
                    (Input::new(t(lang, "request_admin.name_ru"), "name_ru").value(&p.names.ru).maxlength(80).error(names_err.as_ref()))
                    (Input::new(t(lang, "request_admin.name_en"), "name_en").value(&p.names.en).maxlength(80).error(names_err.as_ref()))
                }
                fieldset.ra-icons {
                    legend { (t(lang, "request_admin.icon")) }
                    @for i in ICONS {
                        label.ra-icon-choice {
                            input type="radio" name="icon" value=(i) checked[p.icon == i];
                            (icon(i, &p.color))
                            span { (t(lang, &format!("request_admin.icons.{i}"))) }
                        }
                    }
                    @if let Some(m) = err_on(err, "icon", false) { small.field-error { (m) } }
                }
                div.ra-grid3 {
                    div.field.invalid[err_on(err, "color", false).is_some()] {
                        label for="f-color" { (t(lang, "request_admin.color")) }
                        input #f-color type="color" name="color" value=(p.color);
                        @if let Some(m) = err_on(err, "color", false) { small.field-error { (m) } }
                    }
                    (Input::new(t(lang, "request_admin.sort"), "sort").kind("number").value(&p.sort).inputmode("numeric"))
                }
                (checkbox(t(lang, "request_admin.category_active"), "active", p.active))
            }
            section.card {
                h2 { (t(lang, "request_admin.team")) }
                p.muted.small { (t(lang, "request_admin.team_hint")) }
                @if let Some(m) = err_on(err, "team_ids", false) { p.field-error { (m) } }
                div.ra-team {
                    @for (uid, name) in &people {
                        label.check {
                            input type="checkbox" name="team" value=(uid) checked[p.team.contains(uid)];
                            span { (name) }
                        }
                    }
                }
                div.ra-grid3 {
                    div {
                        (select(t(lang, "request_admin.lead"), "lead_id", &lead_opts, &p.lead, None))
                        @if let Some(m) = err_on(err, "lead_id", false) { small.field-error { (m) } }
                    }
                    (select(t(lang, "request_admin.default_priority"), "default_priority", &prio_opts, &p.priority, None))
                }
                (checkbox(t(lang, "request_admin.auto_assign"), "auto_assign", p.auto_assign))
            }
            section.card {
                h2 { (t(lang, "request_admin.sla")) }
                div.ra-grid3 {
                    div.field.invalid[err_on(err, SLA_FIRST, false).is_some()] {
                        label for="f-first" { (t(lang, "request_admin.first_response")) }
                        div.ra-duration {
                            input #f-first type="number" name="first" min="1" value=(p.first) inputmode="numeric";
                            select name="first_unit" aria-label=(t(lang, "request_admin.first_response")) {
                                @for (v, l) in &unit_opts { option value=(v) selected[*v == p.first_unit] { (l) } }
                            }
                        }
                        @if let Some(m) = err_on(err, SLA_FIRST, false) { small.field-error { (m) } }
                    }
                    div.field.invalid[err_on(err, SLA_RESOLUTION, false).is_some()] {
                        label for="f-resolution" { (t(lang, "request_admin.resolution")) }
                        div.ra-duration {
                            input #f-resolution type="number" name="resolution" min="1" value=(p.resolution) inputmode="numeric";
                            select name="resolution_unit" aria-label=(t(lang, "request_admin.resolution")) {
                                @for (v, l) in &unit_opts { option value=(v) selected[*v == p.resolution_unit] { (l) } }
                            }
                        }
                        @if let Some(m) = err_on(err, SLA_RESOLUTION, false) { small.field-error { (m) } }
                    }
                    (select(t(lang, "request_admin.clock"), "clock", &clock_opts, &p.clock, None))
                }
                div {
                    (select(t(lang, "request_admin.branch"), "branch_id", &branch_opts, &p.branch, None))
                    @if let Some(m) = err_on(err, "branch_id", false) { small.field-error { (m) } }
                }
            }
            section.card {
                h2 { (t(lang, "request_admin.form")) }
                p.muted.small { (t(lang, "request_admin.form_hint")) }
                @if let Some(m) = err.filter(|e| e.field == Some("fields")).map(|e| e.message.as_str()) { p.field-error { (m) } }
                ol.ra-fields #ra-fields {
                    @for (i, f) in p.fields.iter().enumerate() {
                        (field_row(lang, &i.to_string(), f, err.filter(|e| e.field.is_some_and(|x| x == format!("fields.{i}") || x.starts_with(&format!("fields.{i}."))))))
                    }
                    // A spare row: filled in, it becomes a new field (without script too).
                    (field_row(lang, "new", &FieldInput { kind: "text".into(), ..Default::default() }, None))
                }
                template #ra-field-template {
                    (field_row(lang, "__ROW__", &FieldInput { kind: "text".into(), ..Default::default() }, None))
                }
                button.ra-add type="button" hidden data-ra-add { "+ " (t(lang, "request_admin.add_field")) }
            }
            div.ra-actions {
                button.primary type="submit" { (if id.is_some() { t(lang, "request_admin.save") } else { t(lang, "request_admin.create") }) }
                a.button href=(c.url("admin/request-categories")) { (t(lang, "request_admin.cancel")) }
            }
        }
        @if let Some(id) = id {
            div.ra-danger {
                (post_button(&c.url(&format!("admin/request-categories/{id}/delete")), c.csrf(), t(lang, "request_admin.delete"), "danger", Some(t(lang, "request_admin.delete_confirm"))))
            }
        }
    };
    Ok(c.render(title, Section::RequestCategories, None, body))
}

/// One row of the form builder; `err` is an error about this field.
fn field_row(lang: Lang, row: &str, f: &FieldInput, err: Option<&FormError>) -> Markup {
    let part = |p: &str| format!("field-{row}-{p}");
    let id = |p: &str| format!("ff-{row}-{p}");
    let on = |suffix: &str| err.and_then(|e| e.field).is_some_and(|x| x.ends_with(suffix));
    let type_opts: Vec<(String, String)> = KINDS
        .iter()
        .map(|k| (categories::kind_code(*k).to_string(), t(lang, &format!("request_admin.type.{}", categories::kind_code(*k))).to_string()))
        .collect();
    html! {
        li.ra-field.invalid[err.is_some()] data-ra-row {
            div.ra-field-grid {
                div.field.invalid[on(".key")] {
                    label for=(id("key")) { (t(lang, "request_admin.field_key")) }
                    input id=(id("key")) name=(part("key")) value=(f.key) maxlength="40" pattern="[a-z][a-z0-9_]{0,39}" autocomplete="off" spellcheck="false";
                }
                div.field.invalid[on(".type")] {
                    label for=(id("type")) { (t(lang, "request_admin.field_type")) }
                    select id=(id("type")) name=(part("type")) data-ra-type {
                        @for (v, l) in &type_opts { option value=(v) selected[*v == f.kind] { (l) } }
                    }
                }
                div.field.invalid[on(".labels.uz")] {
                    label for=(id("uz")) { (t(lang, "request_admin.field_label_uz")) }
                    input id=(id("uz")) name=(part("uz")) value=(f.labels.uz) maxlength="80";
                }
                div.field {
                    label for=(id("ru")) { (t(lang, "request_admin.field_label_ru")) }
                    input id=(id("ru")) name=(part("ru")) value=(f.labels.ru) maxlength="80";
                }
                div.field {
                    label for=(id("en")) { (t(lang, "request_admin.field_label_en")) }
                    input id=(id("en")) name=(part("en")) value=(f.labels.en) maxlength="80";
                }
            }
            div.field.ra-options.invalid[err.and_then(|e| e.field).is_some_and(|x| x.contains(".options"))] data-ra-options hidden[f.kind != "choice" && f.options.is_empty()] {
                label for=(id("options")) { (t(lang, "request_admin.field_options")) }
                textarea id=(id("options")) name=(part("options")) rows="3" spellcheck="false" { (options_text(&f.options)) }
                small.hint { (t(lang, "request_admin.field_options_hint")) }
            }
            @if let Some(e) = err {
                small.field-error { (e.message) }
            }
            div.ra-row-actions {
                label.check {
                    input type="checkbox" name=(part("required")) value="1" checked[f.required];
                    span { (t(lang, "request_admin.field_required")) }
                }
                span.ra-move {
                    button.small type="button" hidden data-ra-up aria-label=(t(lang, "request_admin.up")) { "↑" }
                    button.small type="button" hidden data-ra-down aria-label=(t(lang, "request_admin.down")) { "↓" }
                    button.small type="button" hidden data-ra-remove { (t(lang, "request_admin.remove")) }
                }
            }
        }
    }
}

// ---------- templates ----------

#[derive(Deserialize, Default)]
struct TemplateForm {
    #[serde(default)]
    text: String,
    /// `save`, `preview` or `reset`.
    #[serde(default)]
    action: String,
}

/// What happened to one template on the page: its typed text, and a
/// preview, an error or a notice.
struct Outcome {
    event: Event,
    lang: Lang,
    text: String,
    preview: Option<String>,
    err: Option<String>,
}

async fn templates_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let notice = match q.done.as_deref() {
        Some("saved") => Some(t(c.lang(), "request_admin.saved")),
        Some("reset") => Some(t(c.lang(), "request_admin.reset_done")),
        _ => None,
    };
    templates_view(&c, None, notice)
}

async fn template_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path((_, event, lang)): Path<(String, String, String)>,
    Form(f): Form<TemplateForm>,
) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let event = Event::parse(&event).ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.request_template_event"))?;
    let tl = Lang::ALL.into_iter().find(|l| l.code() == lang).ok_or(ErrorKind::NotFound)?;
    let who = Caller::from(&c.user);
    let anchor = format!("#t-{}-{}", event.code(), tl.code());
    match f.action.as_str() {
        "reset" => {
            templates::reset(&state, c.tenant(), &who, event, tl).await?;
            Ok(Redirect::to(&c.url(&format!("admin/request-templates?done=reset{anchor}"))).into_response())
        }
        "preview" => {
            let out = match templates::preview(&who, &f.text, tl) {
                Ok(p) => Outcome { event, lang: tl, text: f.text, preview: Some(p), err: None },
                Err(e) if e.field.is_some() => {
                    Outcome { event, lang: tl, text: f.text, preview: None, err: Some(FormError::new(c.lang(), &e).message) }
                }
                Err(e) => return Err(e),
            };
            let failed = out.err.is_some();
            let page = templates_view(&c, Some(&out), None)?;
            Ok(if failed { form_again(page) } else { page.into_response() })
        }
        _ => match templates::put(&state, c.tenant(), &who, event, tl, &f.text).await {
            Ok(_) => Ok(Redirect::to(&c.url(&format!("admin/request-templates?done=saved{anchor}"))).into_response()),
            Err(e) if e.field.is_some() => {
                let out = Outcome { event, lang: tl, text: f.text, preview: None, err: Some(FormError::new(c.lang(), &e).message) };
                Ok(form_again(templates_view(&c, Some(&out), None)?))
            }
            Err(e) => Err(e),
        },
    }
}

fn templates_view(c: &Ctx, out: Option<&Outcome>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let all = templates::list(c.tenant().db()?, &Caller::from(&c.user))?;
    let title = t(lang, "request_admin.templates_title");
    let body = html! {
        (assets_links())
        h1 { (title) }
        p.muted { (t(lang, "request_admin.templates_lead")) }
        section.card.ra-placeholders {
            h2 { (t(lang, "request_admin.placeholders")) }
            dl {
                @for ph in PLACEHOLDERS {
                    div { dt { code { "{" (ph) "}" } } dd { (t(lang, &format!("request_admin.ph.{ph}"))) } }
                }
            }
        }
        @for event in Event::ALL {
            section.card.ra-event {
                h2 { (t(lang, &format!("request_admin.event.{}", event.code()))) }
                div.ra-langs {
                    @for e in all.iter().filter(|e| e.event == event) {
                        @let mine = out.filter(|o| o.event == e.event && o.lang == e.lang);
                        @let id = format!("t-{}-{}", e.event.code(), e.lang.code());
                        form.ra-template id=(id) method="post" action=(c.url(&format!("admin/request-templates/{}/{}#{id}", e.event.code(), e.lang.code()))) {
                            (csrf_field(c.csrf()))
                            div.field.invalid[mine.is_some_and(|m| m.err.is_some())] {
                                label for=(format!("{id}-text")) {
                                    (e.lang.native_name())
                                    " "
                                    @if e.is_default {
                                        span.badge.off { (t(lang, "request_admin.is_default")) }
                                    } @else {
                                        span.badge.brand { (t(lang, "request_admin.is_custom")) }
                                    }
                                }
                                textarea id=(format!("{id}-text")) name="text" rows="3" maxlength="1000" required
                                    aria-invalid=[mine.and_then(|m| m.err.as_ref()).map(|_| "true")] {
                                    (mine.map(|m| m.text.as_str()).unwrap_or(&e.text))
                                }
                                @if let Some(m) = mine.and_then(|m| m.err.as_deref()) {
                                    small.field-error role="alert" { (m) }
                                }
                            }
                            @if let Some(p) = mine.and_then(|m| m.preview.as_deref()) {
                                div.ra-preview role="status" {
                                    strong { (t(lang, "request_admin.preview_title")) }
                                    p { (p) }
                                }
                            }
                            div.ra-template-actions {
                                button.primary.small type="submit" name="action" value="save" { (t(lang, "request_admin.save")) }
                                button.small type="submit" name="action" value="preview" { (t(lang, "request_admin.preview")) }
                                @if !e.is_default {
                                    button.small type="submit" name="action" value="reset" formnovalidate { (t(lang, "request_admin.reset")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::RequestTemplates, notice, body))
}
