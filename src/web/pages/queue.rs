//! The queue's public pages, no login: the touch kiosk that hands out
//! tickets (`/c/{slug}/kiosk/{branch}`), the display board on the hall's
//! TV (`/c/{slug}/display/{branch}`) and the customer's tracking page on
//! their phone (`/t/{slug}-{token}`).
//!
//! The pages are drawn here from the store; what they do afterwards lives
//! in `assets/kiosk.js`, `assets/display.js` and `assets/track.js` (the CSP
//! allows no inline script), which take tickets through the JSON API and
//! follow the live event streams of `live.rs`. Their looks are in
//! `assets/queue.css`. The kiosk and the board speak the company's language
//! unless the URL says `?lang=`; the tracking page speaks the customer's.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::org::branding;
use crate::queue::service::service_name;
use crate::queue::tickets::{self, status_code};
use crate::store::Db;
use crate::store::schema::{BranchV2, DayHours, ServiceV2, TicketStatus};
use crate::tenancy::Tenant;
use crate::web::api::track as live;
use crate::web::assets;
use crate::web::extract::Page;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

/// Company routes (nested under `/c/{slug}/`).
pub fn tenant_router() -> Router<AppState> {
    Router::new().route("/kiosk/{branch_id}", get(kiosk)).route("/display/{branch_id}", get(display))
}

/// Routes at the root: the tracking page `/t/{token}`.
pub fn platform_router() -> Router<AppState> {
    Router::new().route("/t/{token}", get(track))
}

use crate::org::hours::WeekHours;
use crate::org::service::format_hhmm as hhmm;
use crate::queue::tickets::BOARD_ROWS;

/// The kiosk goes back to its first screen after this long without a touch.
pub const KIOSK_IDLE_MS: u64 = 5 * 60 * 1000;

#[derive(Deserialize, Default)]
pub struct ScreenQuery {
    lang: Option<String>,
}

/// A kiosk or a board speaks the company's language unless its URL asks
/// for another (`?lang=ru`): the device is shared, its browser's settings
/// and cookies say nothing about the person in front of it.
fn screen_lang(q: &ScreenQuery, tenant: &Tenant) -> Lang {
    q.lang.as_deref().and_then(Lang::parse).unwrap_or_else(|| tenant.lang())
}

/// The branch of a path, or 404.
fn branch_of(tenant: &Tenant, raw: &str) -> Result<(u64, BranchV2), AppError> {
    let not_found = || AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found");
    let id: u64 = raw.parse().map_err(|_| not_found())?;
    let b = crate::org::service::get_branch(tenant.db()?, id)?;
    Ok((id, b))
}

/// The active services offered at a branch, in the order they were set up.
fn services_at(db: &Db, branch_id: u64) -> Result<Vec<(u64, ServiceV2)>, AppError> {
    let mut v: Vec<(u64, ServiceV2)> =
        crate::queue::service::list_services(db)?.into_iter().filter(|(_, s)| s.active && s.branch_ids.contains(&branch_id)).collect();
    v.sort_by_key(|(id, _)| *id);
    Ok(v)
}

/// The week's hours as lines, days with the same hours together
/// ("Dushanba – Juma", "09:00–18:00"), and whether a line holds today.
fn hours_lines(lang: Lang, hours: &Option<[DayHours; 7]>, today: usize) -> Vec<(String, String, bool)> {
    let week = WeekHours::of(hours);
    if week.round_the_clock() {
        return vec![(String::new(), t(lang, "admin.branches.always").to_string(), false)];
    }
    week.runs()
        .into_iter()
        .map(|(i, j, day)| {
            let label = if i == j {
                crate::i18n::weekday_name(lang, i).to_string()
            } else {
                format!("{} – {}", crate::i18n::weekday_name(lang, i), crate::i18n::weekday_name(lang, j))
            };
            let value = match day {
                Some((o, c)) => format!("{}–{}", hhmm(o), hhmm(c)),
                None => t(lang, "kiosk.day_closed").to_string(),
            };
            (label, value, (i..=j).contains(&today))
        })
        .collect()
}

/// When a closed branch opens next: "today at 09:00", "tomorrow…", "Monday…".
fn next_opening(lang: Lang, hours: &Option<[DayHours; 7]>, weekday: usize, minute: u16) -> Option<String> {
    let next = WeekHours::of(hours).next_opening(weekday, minute)?;
    let time = hhmm(next.minute);
    Some(match next.days_ahead {
        0 => tf(lang, "kiosk.opens_today", &[("time", &time)]),
        1 => tf(lang, "kiosk.opens_tomorrow", &[("time", &time)]),
        _ => tf(lang, "kiosk.opens_on", &[("day", crate::i18n::weekday_name(lang, next.weekday)), ("time", &time)]),
    })
}

/// The page's `<head>`: the shared stylesheet, the company's colour, the
/// queue's stylesheet and the page's own script.
fn head(title: &str, tenant: &Tenant, script: &str, zoomable: bool) -> Markup {
    let viewport = if zoomable {
        "width=device-width, initial-scale=1"
    } else {
        // A shared touch screen: no accidental pinch-zoom.
        "width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no"
    };
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content=(viewport);
            meta name="color-scheme" content="light";
            // No favicon request (and no 404 in the console of a kiosk).
            link rel="icon" href="data:,";
            title { (title) " · " (tenant.info().name) }
            link rel="stylesheet" href=(assets::url("app.css"));
            link rel="stylesheet" href=(format!("/c/{}/brand.css?v={}", tenant.slug, branding::version(tenant)));
            link rel="stylesheet" href=(assets::url("queue.css"));
            script src=(assets::url(script)) defer {}
        }
    }
}

/// The company's logo (when it has one) and name, with a second line.
fn brand(tenant: &Tenant, second: &str, class: &str) -> Markup {
    let logo = branding::has_logo(tenant).then(|| format!("/c/{}/logo?v={}", tenant.slug, branding::version(tenant)));
    html! {
        div class=(class) {
            @if let Some(src) = &logo {
                img.q-logo src=(src) alt="";
            }
            div.q-brand-text {
                strong { (tenant.info().name) }
                @if !second.is_empty() {
                    span { (second) }
                }
            }
        }
    }
}

/// The time of day and the date in the company's time zone.
fn clock_text(now_ms: i64, tz: &jiff::tz::TimeZone, lang: Lang) -> (String, String) {
    let z = crate::clock::from_ms(now_ms).to_zoned(tz.clone());
    let wd = z.date().weekday().to_monday_zero_offset() as usize;
    (z.strftime("%H:%M").to_string(), format!("{}, {}", crate::i18n::weekday_name(lang, wd), z.strftime("%d.%m.%Y")))
}

fn tz_name(tenant: &Tenant) -> String {
    tenant.info().timezone
}

/// The BCP 47 tag of a language, for speech and number formats.
fn lang_tag(lang: Lang) -> &'static str {
    match lang {
        Lang::Uz => "uz-UZ",
        Lang::Ru => "ru-RU",
        Lang::En => "en-US",
    }
}

// ---------- the kiosk ----------

/// `GET /c/{slug}/kiosk/{branch}`: the touch screen at the branch's door.
async fn kiosk(
    State(state): State<AppState>,
    tenant: Tenant,
    page: Page,
    Path((_, branch)): Path<(String, String)>,
    Query(q): Query<ScreenQuery>,
) -> Result<Markup, AppError> {
    let lang = screen_lang(&q, &tenant);
    let (branch_id, branch) = branch_of(&tenant, &branch)?;
    let db = tenant.db()?;
    let now = state.now_ms();
    let tz = tenant.timezone();
    let (day, weekday, minute) = tickets::local_day(now, &tz);
    let active = tenant.is_active() && branch.active;
    let open = active && tickets::is_open(&branch.hours, weekday, minute);
    let services = if open { services_at(db, branch_id)? } else { Vec::new() };
    let waiting = if open { tickets::waiting_counts(db, &Caller::Public, branch_id, day)? } else { HashMap::new() };
    let (clock, _) = clock_text(now, &tz, lang);
    let home = format!("/c/{}/kiosk/{branch_id}", tenant.slug);
    let default_lang = screen_lang(&ScreenQuery::default(), &tenant);
    let i18n = serde_json::json!({
        "minutes": t(lang, "kiosk.minutes"),
        "ahead": t(lang, "kiosk.ahead_n"),
        "next": t(lang, "kiosk.nobody_ahead"),
        "printing": t(lang, "kiosk.printing"),
        "printed": t(lang, "kiosk.printed"),
        "back_in": t(lang, "kiosk.back_in"),
        "wait": t(lang, "kiosk.wait_please"),
        "closed": t(lang, "kiosk.error.closed"),
        "busy": t(lang, "kiosk.error.busy"),
        "phone": t(lang, "kiosk.error.phone"),
        "name": t(lang, "kiosk.error.name"),
        "code_not_found": t(lang, "kiosk.error.code_not_found"),
        "already": t(lang, "kiosk.error.already"),
        "code_format": t(lang, "kiosk.error.code_format"),
        "generic": t(lang, "kiosk.error.generic"),
        "network": t(lang, "kiosk.error.network"),
        "sources": {
            "kiosk": t(lang, "kiosk.source.kiosk"),
            "online": t(lang, "kiosk.source.online"),
            "bot": t(lang, "kiosk.source.bot"),
            "walk_in": t(lang, "kiosk.source.walk_in"),
        },
    });
    let by_service = tickets::numbered_by_service(db)?;
    let title = t(lang, "kiosk.title");
    let keypad = |kind: &str| {
        html! {
            div.keypad data-keypad=(kind) {
                @for d in ["1", "2", "3", "4", "5", "6", "7", "8", "9"] {
                    button.key type="button" data-key=(d) { (d) }
                }
                button.key.key-soft type="button" data-key="clear" aria-label=(t(lang, "kiosk.clear_all")) { "C" }
                button.key type="button" data-key="0" { "0" }
                button.key.key-soft type="button" data-key="back" aria-label=(t(lang, "kiosk.delete")) { "⌫" }
            }
        }
    };
    Ok(html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, &tenant, "kiosk.js", false))
            body.q-screen.kiosk-body {
                div.kiosk data-kiosk data-open=(open) data-slug=(tenant.slug) data-branch=(branch_id) data-csrf=(page.csrf)
                    data-tz=(tz_name(&tenant)) data-home=(home) data-lang=(lang.code()) data-default-lang=(default_lang.code())
                    data-idle-ms=(KIOSK_IDLE_MS) data-by-service=(by_service) data-i18n=(i18n.to_string()) {
                    header.kiosk-head {
                        (brand(&tenant, crate::org::service::branch_name(&branch, lang), "q-brand"))
                        nav.kiosk-langs aria-label=(t(lang, "kiosk.language")) {
                            @for l in Lang::ALL {
                                a.kiosk-lang href=(format!("{home}?lang={}", l.code())) hreflang=(l.code())
                                    aria-current=[(l == lang).then_some("true")] { (l.native_name()) }
                            }
                        }
                        time.q-clock data-clock { (clock) }
                    }
                    main.kiosk-main {
                        @if !open {
                            section.kiosk-closed role="status" {
                                div.kiosk-closed-mark aria-hidden="true" { "☾" }
                                h1 { (t(lang, "kiosk.closed_title")) }
                                @if !active {
                                    p.lead { (t(lang, "kiosk.inactive_text")) }
                                } @else {
                                    p.lead { (t(lang, "kiosk.closed_text")) }
                                    @if let Some(next) = next_opening(lang, &branch.hours, weekday, minute) {
                                        p.kiosk-next { (next) }
                                    }
                                    h2 { (t(lang, "kiosk.hours")) }
                                    dl.kiosk-hours {
                                        @for (label, value, today) in hours_lines(lang, &branch.hours, weekday) {
                                            div.today[today] {
                                                dt { (label) }
                                                dd { (value) }
                                            }
                                        }
                                    }
                                }
                            }
                        } @else {
                            section.kiosk-step data-step="start" {
                                h1 { (t(lang, "kiosk.choose")) }
                                p.kiosk-lead { (t(lang, "kiosk.choose_hint")) }
                                @if services.is_empty() {
                                    p.kiosk-empty { (t(lang, "kiosk.no_services")) }
                                }
                                div.kiosk-services.many[services.len() > 6] data-services {
                                    @for (id, s) in &services {
                                        @let n = waiting.get(id).copied().unwrap_or(0);
                                        button.kiosk-service type="button" data-service=(id) data-name=(service_name(s, lang)) {
                                            span.kiosk-service-name { (service_name(s, lang)) }
                                            span.kiosk-service-count data-count=(n) {
                                                @if n == 0 {
                                                    (t(lang, "kiosk.no_queue"))
                                                } @else {
                                                    (tf(lang, "kiosk.waiting", &[("n", &n.to_string())]))
                                                }
                                            }
                                        }
                                    }
                                }
                                div.kiosk-foot {
                                    button.kiosk-booking type="button" data-go="booking" { (t(lang, "kiosk.booking")) }
                                }
                            }
                            section.kiosk-step data-step="details" hidden {
                                h1 data-service-title {}
                                p.kiosk-lead { (t(lang, "kiosk.details_hint")) }
                                div.kiosk-details {
                                    div.kiosk-col {
                                        p.kiosk-label id="kiosk-phone-label" { (t(lang, "kiosk.phone")) }
                                        div.kiosk-display.kiosk-phone aria-labelledby="kiosk-phone-label" aria-live="polite" {
                                            span.prefix { "+998" }
                                            span data-phone-display {}
                                        }
                                        (keypad("phone"))
                                    }
                                    div.kiosk-col {
                                        label.kiosk-label for="kiosk-name" { (t(lang, "kiosk.name")) }
                                        // A kiosk has no keyboard: the name is typed on the screen's own
                                        // (`inputmode=none` keeps a tablet's system keyboard away).
                                        input.kiosk-input #kiosk-name type="text" name="name" maxlength="80" autocomplete="off" spellcheck="false"
                                            inputmode="none" aria-controls="kiosk-osk";
                                        fieldset.kiosk-priority {
                                            legend.kiosk-label { (t(lang, "kiosk.priority")) }
                                            div.kiosk-choices role="radiogroup" {
                                                @for (code, key) in KIOSK_PRIORITIES {
                                                    button.kiosk-choice type="button" role="radio" data-priority=(code)
                                                        aria-checked=(if code == "normal" { "true" } else { "false" }) { (t(lang, key)) }
                                                }
                                            }
                                        }
                                    }
                                }
                                p.kiosk-error role="alert" data-error hidden {}
                                (name_keyboard(lang))
                                div.kiosk-actions {
                                    button.kiosk-back type="button" data-go="start" { (t(lang, "kiosk.back")) }
                                    button.kiosk-skip type="button" data-take="skip" { (t(lang, "kiosk.skip")) }
                                    button.kiosk-take.primary type="button" data-take="full" { (t(lang, "kiosk.take")) }
                                }
                            }
                            section.kiosk-step data-step="booking" hidden {
                                h1 { (t(lang, "kiosk.code_title")) }
                                p.kiosk-lead { (t(lang, "kiosk.code_hint")) }
                                div.kiosk-code data-code-display aria-live="polite" {
                                    @for _ in 0..6 {
                                        span.digit {}
                                    }
                                }
                                (keypad("code"))
                                p.kiosk-error role="alert" data-error hidden {}
                                div.kiosk-actions {
                                    button.kiosk-back type="button" data-go="start" { (t(lang, "kiosk.back")) }
                                    button.kiosk-take.primary type="button" data-checkin disabled { (t(lang, "kiosk.check_in")) }
                                }
                            }
                            section.kiosk-step data-step="ticket" hidden {
                                div.kiosk-ticket-wrap {
                                    article.ticket.print-area data-ticket {
                                        p.ticket-company { (tenant.info().name) }
                                        p.ticket-branch { (crate::org::service::branch_name(&branch, lang)) }
                                        p.ticket-label { (t(lang, "kiosk.ticket_title")) }
                                        p.ticket-number data-t="number" {}
                                        // Numbered by service, the number no longer says where the ticket came from.
                                        p.ticket-source hidden {
                                            span.source-mark data-t="source" title=(t(lang, "kiosk.source.label")) {}
                                        }
                                        p.ticket-service data-t="service" {}
                                        dl.ticket-facts {
                                            div data-row="ahead" {
                                                dt { (t(lang, "kiosk.ahead")) }
                                                dd data-t="ahead" {}
                                            }
                                            div data-row="wait" {
                                                dt { (t(lang, "kiosk.wait")) }
                                                dd data-t="wait" {}
                                            }
                                            div data-row="booked" hidden {
                                                dt { (t(lang, "kiosk.booked_for")) }
                                                dd data-t="booked" {}
                                            }
                                        }
                                        img.ticket-qr data-t="qr" alt="" width="180" height="180";
                                        p.ticket-track { (t(lang, "kiosk.track_hint")) }
                                        p.ticket-time data-t="time" {}
                                        p.ticket-thanks { (t(lang, "kiosk.thanks")) }
                                    }
                                    div.kiosk-after {
                                        p.kiosk-status role="status" data-ticket-status { (t(lang, "kiosk.printing")) }
                                        button.kiosk-take.primary type="button" data-go="start" { (t(lang, "kiosk.done")) }
                                        p.kiosk-countdown data-countdown {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The letters of the on-screen keyboard, row by row: Uzbek/English Latin
/// and Russian/Uzbek Cyrillic.
const LATIN_ROWS: [&[&str]; 3] = [
    &["Q", "W", "E", "R", "T", "Y", "U", "I", "O", "P"],
    &["A", "S", "D", "F", "G", "H", "J", "K", "L"],
    &["Z", "X", "C", "V", "B", "N", "M", "ʻ", "ʼ", "-"],
];
const CYRILLIC_ROWS: [&[&str]; 3] = [
    &["Й", "Ц", "У", "К", "Е", "Н", "Г", "Ш", "Щ", "З", "Х", "Ъ"],
    &["Ф", "Ы", "В", "А", "П", "Р", "О", "Л", "Д", "Ж", "Э"],
    &["Я", "Ч", "С", "М", "И", "Т", "Ь", "Б", "Ю", "Ё", "-"],
];
/// The Uzbek Cyrillic letters Russian lacks, on the bottom row.
const CYRILLIC_EXTRA: [&str; 4] = ["Ў", "Қ", "Ғ", "Ҳ"];

/// The on-screen keyboard of the kiosk's name field: Latin and Cyrillic
/// (the visitor's language decides which comes first), a key to switch,
/// space, backspace and "done". `assets/kiosk.js` opens it when the field
/// is touched and types into the field.
fn name_keyboard(lang: Lang) -> Markup {
    let first = if lang == Lang::Ru { "cyrillic" } else { "latin" };
    let layout = |name: &str, rows: &[&[&str]; 3], extra: &[&str], other: &str| {
        html! {
            div.osk-layout data-layout=(name) hidden[name != first] {
                @for row in rows {
                    div.osk-row {
                        @for c in row.iter() {
                            button.osk-key type="button" data-char=(c) { (c) }
                        }
                    }
                }
                div.osk-row {
                    button.osk-key.osk-wide.osk-soft type="button" data-osk-key="switch" aria-label=(t(lang, "kiosk.kbd_switch")) { (other) }
                    @for c in extra {
                        button.osk-key type="button" data-char=(c) { (c) }
                    }
                    button.osk-key.osk-space type="button" data-osk-key="space" aria-label=(t(lang, "kiosk.kbd_space")) { (t(lang, "kiosk.kbd_space")) }
                    button.osk-key.osk-wide.osk-soft type="button" data-osk-key="back" aria-label=(t(lang, "kiosk.kbd_delete")) { "⌫" }
                    button.osk-key.osk-wide.osk-done type="button" data-osk-key="done" { (t(lang, "kiosk.kbd_done")) }
                }
            }
        }
    };
    html! {
        div.osk #kiosk-osk data-osk role="group" aria-label=(t(lang, "kiosk.kbd_label")) hidden {
            div.osk-preview aria-hidden="true" {
                span data-osk-preview {}
                span.osk-caret {}
            }
            (layout("latin", &LATIN_ROWS, &[], "АБВ"))
            (layout("cyrillic", &CYRILLIC_ROWS, &CYRILLIC_EXTRA, "ABC"))
        }
    }
}

// ---------- the display board ----------

/// `GET /c/{slug}/display/{branch}`: the board on the hall's TV.
async fn display(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((_, branch)): Path<(String, String)>,
    Query(q): Query<ScreenQuery>,
) -> Result<Markup, AppError> {
    let (branch_id, branch) = branch_of(&tenant, &branch)?;
    // The branch's languages (main first), unless the URL asks for one.
    let langs = match q.lang.as_deref().and_then(Lang::parse) {
        Some(l) => vec![l],
        None => crate::org::service::board_langs(&branch, tenant.lang()),
    };
    let lang = langs.first().copied().unwrap_or_else(|| tenant.lang());
    let second = langs.get(1).copied();
    // A text in the main language, with the second one under it.
    let both = |key: &str| {
        html! {
            (t(lang, key))
            @if let Some(l2) = second { span.display-l2 lang=(l2.code()) { (t(l2, key)) } }
        }
    };
    let db = tenant.db()?;
    let now = state.now_ms();
    let tz = tenant.timezone();
    let (day, weekday, minute) = tickets::local_day(now, &tz);
    let open = tenant.is_active() && branch.active && tickets::is_open(&branch.hours, weekday, minute);
    // The board is public by design: it reads as the public does.
    let calls = tickets::board_calls(&tenant, &Caller::Public, branch_id, day)?;
    let services = services_at(db, branch_id)?;
    let waiting = tickets::waiting_counts(db, &Caller::Public, branch_id, day)?;
    let names: HashMap<u64, &str> = services.iter().map(|(id, s)| (*id, service_name(s, lang))).collect();
    let (clock, date) = clock_text(now, &tz, lang);
    let i18n = serde_json::json!({
        "say": t(lang, "display.say"),
        "window": t(lang, "display.window_n"),
        "now": t(lang, "display.now_calling"),
        "empty": t(lang, "display.empty"),
        "between": t(lang, "display.between"),
        "now2": second.map(|l| t(l, "display.now_calling")),
        "window2": second.map(|l| t(l, "display.window_n")),
        "empty2": second.map(|l| t(l, "display.empty")),
        "between2": second.map(|l| t(l, "display.between")),
    });
    let window_text = |w: Option<u16>| {
        let n = w.unwrap_or(0).to_string();
        html! {
            (tf(lang, "display.window_n", &[("window", &n)]))
            @if let Some(l2) = second { span.display-l2 lang=(l2.code()) { (tf(l2, "display.window_n", &[("window", &n)])) } }
        }
    };
    let title = t(lang, "display.title");
    Ok(html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, &tenant, "display.js", false))
            body.q-screen.display-body {
                div.display data-display data-events=(format!("/c/{}/display/{branch_id}/events", tenant.slug))
                    data-tz=(tz_name(&tenant)) data-speech=(lang_tag(lang)) data-rows=(BOARD_ROWS) data-i18n=(i18n.to_string()) {
                    header.display-head {
                        (brand(&tenant, crate::org::service::branch_name(&branch, lang), "q-brand"))
                        div.display-clock {
                            time.q-clock data-clock { (clock) }
                            span.display-date data-sync="date" { (date) }
                        }
                    }
                    main.display-main data-sync="board" {
                        @match calls.iter().find(|(_, c)| c.status == TicketStatus::Called) {
                            Some((id, t0)) => {
                                section.display-now data-now=(id) {
                                    p.display-caption { (both("display.now_calling")) }
                                    p.display-now-number { (t0.number) }
                                    p.display-now-window { (window_text(t0.window)) }
                                }
                            }
                            None => {
                                section.display-now.is-empty {
                                    @if open && !calls.is_empty() {
                                        // Recent calls are listed: nobody is on the way now, not "no calls".
                                        p.display-idle { (both("display.between")) }
                                    } @else if open {
                                        p.display-idle { (both("display.empty")) }
                                    } @else {
                                        p.display-idle { (both("display.closed")) }
                                        p.display-hours {
                                            @for (label, value, _) in hours_lines(lang, &branch.hours, weekday) {
                                                span { @if !label.is_empty() { (label) ": " } (value) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        section.display-list {
                            h2.display-caption { (both("display.recent")) }
                            table.display-calls {
                                thead {
                                    tr {
                                        th scope="col" { (both("display.ticket")) }
                                        th scope="col" { (both("display.window")) }
                                    }
                                }
                                tbody data-calls {
                                    @for (id, tk) in &calls {
                                        tr class=[match tk.status { TicketStatus::Serving => Some("serving"), TicketStatus::Done => Some("done"), _ => None }] data-call=(id) data-number=(tk.number)
                                            data-window=(tk.window.unwrap_or(0)) data-status=(status_code(tk.status)) {
                                            td.num { (tk.number) }
                                            td.win { (tk.window.unwrap_or(0)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    footer.display-foot data-sync="waiting" {
                        span.display-foot-label { (both("display.waiting")) }
                        @for (id, svc) in &services {
                            span.display-svc {
                                span {
                                    (names.get(id).copied().unwrap_or(""))
                                    @if let Some(l2) = second.filter(|l2| service_name(svc, *l2) != service_name(svc, lang)) {
                                        span.display-l2 lang=(l2.code()) { (service_name(svc, l2)) }
                                    }
                                }
                                b { (waiting.get(id).copied().unwrap_or(0)) }
                            }
                        }
                    }
                    button.display-sound type="button" data-sound-hint hidden { (t(lang, "display.sound_hint")) }
                    p.display-offline role="status" data-offline hidden { (t(lang, "display.offline")) }
                }
            }
        }
    })
}

// ---------- the tracking page ----------

/// Every status a customer may see, in the order of a ticket's life.
const STATUSES: [&str; 9] = ["booked", "waiting", "called", "serving", "done", "no_show", "cancelled", "transferred", "expired"];

/// The status in a few words ("You are called!").
fn status_key(s: &str) -> &'static str {
    match s {
        "booked" => "track.status.booked",
        "waiting" => "track.status.waiting",
        "called" => "track.status.called",
        "serving" => "track.status.serving",
        "done" => "track.status.done",
        "no_show" => "track.status.no_show",
        "cancelled" => "track.status.cancelled",
        "transferred" => "track.status.transferred",
        _ => "track.status.expired",
    }
}

/// What the status means for the customer, in a sentence.
fn note_key(s: &str) -> &'static str {
    match s {
        "booked" => "track.note.booked",
        "waiting" => "track.note.waiting",
        "called" => "track.note.called",
        "serving" => "track.note.serving",
        "done" => "track.note.done",
        "no_show" => "track.note.no_show",
        "cancelled" => "track.note.cancelled",
        "transferred" => "track.note.transferred",
        _ => "track.note.expired",
    }
}

/// The priorities a customer may choose at the kiosk (VIP is given by staff).
const KIOSK_PRIORITIES: [(&str, &str); 3] =
    [("normal", "kiosk.priority_normal"), ("disabled", "kiosk.priority_disabled"), ("elderly", "kiosk.priority_elderly")];

/// `GET /t/{slug}-{token}`: the customer's ticket, live, on their phone.
async fn track(State(state): State<AppState>, page: Page, headers: HeaderMap, Path(token): Path<String>) -> Result<Markup, AppError> {
    let (tenant, id, tk) = live::resolve(&state, &token).map_err(|_| AppError::new(ErrorKind::NotFound).with_message("track.not_found"))?;
    let lang = crate::web::errors::request_lang(&headers, Some(&tenant));
    let db = tenant.db()?;
    let out = live::track_out(&state, &tenant, id, &tk)?;
    let service = tickets::service_of(db, tk.service_id).map(|s| service_name(&s, lang).to_string()).unwrap_or_default();
    let branch = crate::org::service::get_branch(db, tk.branch_id).ok();
    let tz = tenant.timezone();
    let status = out.status.as_str();
    let booked = tk.booking.as_ref().map(|b| crate::clock::from_ms(b.start).to_zoned(tz.clone()).strftime("%d.%m.%Y, %H:%M").to_string());
    let code = tk.booking.as_ref().map(|b| format!("{:06}", b.code));
    let wait_tpl = t(lang, "kiosk.minutes");
    let ahead_tpl = t(lang, "kiosk.ahead_n");
    let window_tpl = t(lang, "track.go_to_window");
    let ahead_text = if out.people_ahead == 0 {
        t(lang, "kiosk.nobody_ahead").to_string()
    } else {
        tf(lang, "kiosk.ahead_n", &[("n", &out.people_ahead.to_string())])
    };
    let (low, high) = (out.estimate_minutes.low.to_string(), out.estimate_minutes.high.to_string());
    let wait_text = tf(lang, "kiosk.minutes", &[("low", &low), ("high", &high)]);
    let window_text = tf(lang, "track.go_to_window", &[("window", &out.window.unwrap_or(0).to_string())]);
    let shows = |list: &str| list.split(' ').any(|s| s == status);
    let i18n = serde_json::json!({
        "cancel_failed": t(lang, "track.cancel_failed"),
        "network": t(lang, "kiosk.error.network"),
        "called_title": t(lang, "track.called_title"),
    });
    let next: String = form_urlencoded::byte_serialize(page.path.as_bytes()).collect();
    let title = t(lang, "track.title");
    let logo = branding::has_logo(&tenant).then(|| format!("/c/{}/logo?v={}", tenant.slug, branding::version(&tenant)));
    Ok(html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, &tenant, "track.js", true))
            body.track-body {
                header.topbar {
                    a.brand href=(format!("/c/{}/", tenant.slug)) {
                        @if let Some(src) = &logo {
                            img.logo src=(src) alt="";
                        }
                        span { (tenant.info().name) }
                    }
                    div.topbar-right {
                        span.langs {
                            @for l in Lang::ALL {
                                @if l == lang {
                                    strong { (l.code().to_uppercase()) }
                                } @else {
                                    a href=(format!("/lang?set={}&next={next}", l.code())) hreflang=(l.code()) title=(l.native_name()) { (l.code().to_uppercase()) }
                                }
                            }
                        }
                    }
                }
                main.track data-track data-token=(token) data-id=(id) data-status=(status) data-number=(tk.number)
                    data-csrf=(page.csrf) data-i18n=(i18n.to_string()) {
                    section.track-card {
                        p.track-where {
                            strong { (service) }
                            @if let Some(b) = &branch {
                                span { (crate::org::service::branch_name(b, lang)) }
                                @if !b.address.is_empty() {
                                    span.track-address { (b.address) }
                                }
                            }
                        }
                        p.track-label { (t(lang, "track.number")) }
                        p.track-number { (tk.number) }
                        @if tickets::numbered_by_service(db)? {
                            p.track-source {
                                span.source-mark title=(t(lang, "kiosk.source.label")) { (t(lang, tickets::source_key(tk.source))) }
                            }
                        }
                        p.track-status {
                            @for s in STATUSES {
                                span class=(format!("st st-{s}")) data-show=(s) hidden[s != status] { (t(lang, status_key(s))) }
                            }
                        }
                        div.track-called data-show="called" hidden[!shows("called")] {
                            p.track-window data-f="window" data-tpl=(window_tpl) { (window_text) }
                        }
                        dl.track-facts data-show="waiting" hidden[!shows("waiting")] {
                            div {
                                dt { (t(lang, "kiosk.ahead")) }
                                dd data-f="ahead" data-tpl=(ahead_tpl) data-zero=(t(lang, "kiosk.nobody_ahead")) { (ahead_text) }
                            }
                            div {
                                dt { (t(lang, "kiosk.wait")) }
                                dd data-f="wait" data-tpl=(wait_tpl) { (wait_text) }
                            }
                        }
                        @if let Some(when) = &booked {
                            dl.track-facts data-show="booked" hidden[!shows("booked")] {
                                div {
                                    dt { (t(lang, "kiosk.booked_for")) }
                                    dd { (when) }
                                }
                                @if let Some(c) = &code {
                                    div {
                                        dt { (t(lang, "track.code")) }
                                        dd.track-code { (c) }
                                    }
                                }
                            }
                        }
                        @for s in STATUSES {
                            p.track-note data-show=(s) hidden[s != status] { (t(lang, note_key(s))) }
                        }
                        p.track-live data-show="booked waiting called serving" hidden[!shows("booked waiting called serving")] {
                            span.track-dot aria-hidden="true" {}
                            (t(lang, "track.live"))
                        }
                    }
                    section.track-cancel data-cancel-box hidden[!out.can_cancel] {
                        button.danger.wide type="button" data-cancel { (t(lang, "track.cancel")) }
                        div.track-confirm data-confirm hidden {
                            p { (t(lang, "track.cancel_confirm")) }
                            div.track-confirm-actions {
                                button.danger type="button" data-cancel-yes { (t(lang, "track.cancel_yes")) }
                                button type="button" data-cancel-no { (t(lang, "track.cancel_no")) }
                            }
                        }
                        p.alert role="alert" data-cancel-error hidden {}
                    }
                }
                footer.footer { "Idora" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week() -> Option<[DayHours; 7]> {
        let d = Some((9 * 60, 18 * 60));
        Some([d, d, d, d, d, Some((9 * 60, 14 * 60)), None])
    }

    /// Keys chosen at run time (not seen by the i18n scanner) exist too.
    #[test]
    fn every_status_and_priority_has_words() {
        for lang in Lang::ALL {
            for s in STATUSES {
                for key in [status_key(s), note_key(s)] {
                    assert_ne!(t(lang, key), key, "{key} in {}", lang.code());
                }
            }
            for (_, key) in KIOSK_PRIORITIES {
                assert_ne!(t(lang, key), key, "{key} in {}", lang.code());
            }
        }
    }

    #[test]
    fn hours_group_days_with_the_same_hours() {
        let lines = hours_lines(Lang::En, &week(), 5);
        let plain: Vec<(&str, &str, bool)> = lines.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), *c)).collect();
        assert_eq!(plain.len(), 3);
        assert_eq!(plain[0].1, "09:00–18:00");
        assert!(!plain[0].2 && plain[1].2, "Saturday is today");
        assert_eq!(plain[1].1, "09:00–14:00");
    }

    #[test]
    fn the_next_opening_is_today_tomorrow_or_a_named_day() {
        let en = |wd, min| next_opening(Lang::En, &week(), wd, min);
        assert_eq!(en(0, 8 * 60).as_deref(), Some("Opens today at 09:00"));
        assert_eq!(en(0, 19 * 60).as_deref(), Some("Opens tomorrow at 09:00"));
        assert_eq!(en(0, 10 * 60), None, "open now");
        // Saturday after 14:00: Sunday is closed, Monday opens.
        assert!(en(5, 15 * 60).is_some_and(|s| s.contains("Monday") && s.contains("09:00")), "{:?}", en(5, 15 * 60));
        assert_eq!(next_opening(Lang::En, &None, 0, 0), None, "always open");
    }
}
