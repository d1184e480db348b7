//! Scheduled reports in the admin console (`/admin/report-schedules`): the
//! list with each schedule's next run in company time and anyone left out
//! at its last run (and why), a form to add one, Delete. The rules are
//! `reports::schedule`; this reads forms and draws the page.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::i18n::{t, tf};
use crate::reports::schedule::{self, ScheduleIn};
use crate::store::schema::ReportScheduleV1;
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{FormError, Input, csrf_field, form_alert_except, post_button, select};
use crate::web::pages::org::{Ctx, Section};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/report-schedules", get(page).post(create_submit))
        .route("/admin/report-schedules/{id}/delete", post(delete_submit))
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

/// The form as typed: repeated `recipient` and `channel` fields.
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn input_of(f: &Fields) -> ScheduleIn {
    let num = |name: &str| field(f, name).trim().parse::<u64>().ok();
    ScheduleIn {
        report: field(f, "report").to_string(),
        period: Some(field(f, "period").to_string()),
        every: field(f, "every").to_string(),
        weekday: field(f, "weekday").parse().ok(),
        day: field(f, "day").parse().ok(),
        time: field(f, "time").to_string(),
        department_id: num("department_id"),
        branch_id: num("branch_id"),
        recipients: f.iter().filter(|(k, _)| k == "recipient").filter_map(|(_, v)| v.parse().ok()).collect(),
        channels: f.iter().filter(|(k, _)| k == "channel").map(|(_, v)| v.clone()).collect(),
    }
}

async fn page(State(state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let notice = match q.done.as_deref() {
        Some("created") => Some(t(lang, "report_schedules.created")),
        Some("deleted") => Some(t(lang, "report_schedules.deleted")),
        _ => None,
    };
    view(&state, &c, &Fields::new(), None, notice)
}

/// When a schedule runs, in words.
fn when_text(c: &Ctx, s: &ReportScheduleV1) -> String {
    let lang = c.lang();
    let time = schedule::time_of(s);
    match s.every.as_str() {
        "day" => tf(lang, "report_schedules.when_text.day", &[("time", &time)]),
        "week" => tf(
            lang,
            "report_schedules.when_text.week",
            &[("weekday", t(lang, &format!("report_schedules.weekday.{}", s.weekday))), ("time", &time)],
        ),
        _ => tf(lang, "report_schedules.when_text.month", &[("day", &s.day.to_string()), ("time", &time)]),
    }
}

fn view(state: &AppState, c: &Ctx, f: &Fields, err: Option<FormError>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let who = Caller::from(&c.user);
    let db = c.tenant().db()?;
    let list = schedule::list(db, &who)?;
    let people = schedule::names(db, &who)?;
    let names = schedule::name_map(&people);
    let (deps, branches) = schedule::places(db, &who)?;
    let tz = c.tenant().timezone();
    let now = state.now_ms();
    let title = t(lang, "report_schedules.title");
    let err = err.as_ref();
    let opts = |prefix: &str, keys: &[&str]| -> Vec<(String, String)> {
        keys.iter().map(|k| (k.to_string(), t(lang, &format!("{prefix}.{k}")).to_string())).collect()
    };
    let reports = opts("report_schedules.report", &crate::reports::NAMES);
    let every = opts("report_schedules.every", &["week", "day", "month"]);
    let periods = opts("report_schedules.period", &["previous", "current"]);
    let weekdays = opts("report_schedules.weekday", &["1", "2", "3", "4", "5", "6", "7"]);
    let any = (String::new(), t(lang, "report_schedules.any").to_string());
    let dep_opts: Vec<(String, String)> =
        std::iter::once(any.clone()).chain(deps.iter().map(|(id, n)| (id.to_string(), n.clone()))).collect();
    let br_opts: Vec<(String, String)> = std::iter::once(any).chain(branches.iter().map(|(id, n)| (id.to_string(), n.clone()))).collect();
    let picked = |name: &str, v: &str| f.iter().any(|(k, x)| k == name && x == v);
    let or = |name: &str, dflt: &'static str| -> String {
        let v = field(f, name);
        if v.is_empty() { dflt.to_string() } else { v.to_string() }
    };
    let body = html! {
        h1 { (title) }
        p.lead { (t(lang, "report_schedules.lead")) }
        section.card #schedules {
            @if list.is_empty() {
                p.muted { (t(lang, "report_schedules.empty")) }
            }
            @for (id, s) in &list {
                article.schedule data-id=(id) {
                    h2 { (t(lang, &format!("report_schedules.report.{}", s.report))) " · " (t(lang, &format!("report_schedules.period.{}", s.period))) }
                    dl.facts {
                        dt { (t(lang, "report_schedules.when")) } dd { (when_text(c, s)) }
                        dt { (t(lang, "report_schedules.next_run")) }
                        dd.next-run { @match schedule::next_run(s, now, &tz) {
                            Some(ms) => (crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%d.%m.%Y %H:%M").to_string()),
                            None => "—",
                        } }
                        dt { (t(lang, "report_schedules.last_run")) }
                        dd { @match s.last_run {
                            Some(ms) => (crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%d.%m.%Y %H:%M").to_string()),
                            None => (t(lang, "report_schedules.never")),
                        } }
                        dt { (t(lang, "report_schedules.recipients")) }
                        dd { (s.recipients.iter().map(|r| names.get(r).cloned().unwrap_or_else(|| format!("#{r}"))).collect::<Vec<_>>().join(", ")) }
                        dt { (t(lang, "report_schedules.channels")) }
                        dd { (schedule::channels_of(s).iter().map(|ch| t(lang, &format!("report_schedules.channel.{ch}")).to_string()).collect::<Vec<_>>().join(", ")) }
                    }
                    @for (uid, reason) in &s.skipped {
                        p.alert.warning { (tf(lang, "report_schedules.left_out", &[("name", &names.get(uid).cloned().unwrap_or_else(|| format!("#{uid}"))), ("reason", t(lang, reason))])) }
                    }
                    (post_button(&c.url(&format!("admin/report-schedules/{id}/delete")), c.csrf(), t(lang, "report_schedules.delete"), "danger", Some(t(lang, "report_schedules.delete"))))
                }
            }
        }
        section.card.form-card #schedule-form {
            h2 { (t(lang, "report_schedules.add")) }
            (form_alert_except(err, &["report", "every", "period", "weekday", "day", "time", "department_id", "branch_id"]))
            form method="post" action=(c.url("admin/report-schedules")) {
                (csrf_field(c.csrf()))
                (select(t(lang, "report_schedules.report_label"), "report", &reports, &or("report", "department"), err))
                (select(t(lang, "report_schedules.period_label"), "period", &periods, &or("period", "previous"), err))
                (select(t(lang, "report_schedules.every_label"), "every", &every, &or("every", "week"), err))
                (select(t(lang, "report_schedules.weekday_label"), "weekday", &weekdays, &or("weekday", "1"), err))
                (Input::new(t(lang, "report_schedules.day_label"), "day").kind("number").value(&or("day", "1")).error(err))
                (Input::new(t(lang, "report_schedules.time_label"), "time").value(&or("time", "09:00")).required().error(err))
                (select(t(lang, "report_schedules.department_label"), "department_id", &dep_opts, field(f, "department_id"), err))
                (select(t(lang, "report_schedules.branch_label"), "branch_id", &br_opts, field(f, "branch_id"), err))
                fieldset.field {
                    legend { (t(lang, "report_schedules.recipients")) }
                    @if let Some(e) = err.and_then(|e| e.on("recipients")) { small.field-error { (e) } }
                    div.grid-2 {
                        @for (id, name) in &people {
                            label.check {
                                input type="checkbox" name="recipient" value=(id) checked[picked("recipient", &id.to_string())];
                                span { (name) }
                            }
                        }
                    }
                }
                fieldset.field {
                    legend { (t(lang, "report_schedules.channels")) }
                    @if let Some(e) = err.and_then(|e| e.on("channels")) { small.field-error { (e) } }
                    label.check {
                        input type="checkbox" name="channel" value="in_app" checked[f.is_empty() || picked("channel", "in_app")];
                        span { (t(lang, "report_schedules.channel.in_app")) }
                    }
                    label.check {
                        input type="checkbox" name="channel" value="telegram" checked[f.is_empty() || picked("channel", "telegram")];
                        span { (t(lang, "report_schedules.channel.telegram")) }
                    }
                }
                div.form-actions { button.primary type="submit" { (t(lang, "report_schedules.save")) } }
            }
        }
    };
    Ok(c.render(title, Section::ReportSchedules, notice, body))
}

async fn create_submit(State(state): State<AppState>, user: CurrentUser, page: Page, Form(f): Form<Fields>) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let who = Caller::from(&c.user);
    match schedule::create(c.tenant(), &who, state.now_ms(), input_of(&f)).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/report-schedules?done=created")).into_response()),
        Err(e) if e.field.is_some() => Ok(form_again(view(&state, &c, &f, Some(FormError::new(c.lang(), &e)), None)?)),
        Err(e) => Err(e),
    }
}

async fn delete_submit(State(state): State<AppState>, user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    schedule::delete(c.tenant(), &Caller::from(&c.user), state.now_ms(), id).await?;
    Ok(Redirect::to(&c.url("admin/report-schedules?done=deleted")).into_response())
}
