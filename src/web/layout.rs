//! The page shell and small shared components (maud).

use super::assets;
use crate::i18n::{Lang, t};
use crate::tenancy::Tenant;
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A link in the section navigation.
#[derive(Clone)]
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub active: bool,
    /// How many things wait there for the reader (0: no badge), what they
    /// are (for screen readers) and which live count moves it (`inbox`:
    /// tasks.js, `chat`: chat.js).
    /// they are, for screen readers.
    pub badge: Option<(usize, String, &'static str)>,
}

/// Who is signed in, for the top bar.
pub struct SignedIn<'a> {
    pub name: &'a str,
    pub profile_href: Option<String>,
    pub logout_action: String,
}

pub struct Shell<'a> {
    pub lang: Lang,
    pub title: &'a str,
    pub tenant: Option<&'a Tenant>,
    pub csrf: &'a str,
    pub signed_in: Option<SignedIn<'a>>,
    pub nav: Vec<NavItem>,
    /// The current path, for the language switcher to come back to.
    pub path: &'a str,
    /// A one-line confirmation shown above the content.
    pub notice: Option<&'a str>,
}

/// What a signed-in company page adds to the shell: the notification bell,
/// a live region for toasts, and the script (`tasks.js`) that keeps them
/// current over the WebSocket.
pub struct Live<'a> {
    /// The company's slug, for the script (`data-company`).
    pub company: &'a str,
    /// The notification centre.
    pub bell_href: String,
    /// "Notifications", for screen readers and the tooltip.
    pub bell_label: &'a str,
    pub unread: usize,
    /// The signed-in user's role, under their name in the account menu.
    pub role: &'a str,
    /// The phone's bottom bar: the few places this role uses most. The
    /// rest of `Shell::nav` (and `more`) is in the "More" sheet.
    pub bottom: Vec<NavItem>,
    /// The "More" sheet: groups of places not in the bottom bar, each
    /// with an optional heading (a catalogue key), e.g. every settings page.
    pub more: Vec<(Option<&'static str>, Vec<NavItem>)>,
    /// The settings pages' own side menu, when the page is one of them.
    pub side: Option<Vec<NavItem>>,
}

fn bell(live: &Live<'_>) -> Markup {
    let count = if live.unread > 99 { "99+".to_string() } else { live.unread.to_string() };
    html! {
        a.bell href=(live.bell_href) title=(live.bell_label) {
            svg.bell-icon viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false" {
                path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" {}
            }
            span.visually-hidden { (live.bell_label) }
            span #bell-count .bell-count hidden[live.unread == 0] { (count) }
        }
    }
}

fn brand_links(tenant: Option<&Tenant>) -> Markup {
    html! {
        @if let Some(t) = tenant {
            link rel="stylesheet" href=(format!("/c/{}/brand.css?v={}", t.slug, crate::org::branding::version(t)));
        }
    }
}

/// htmx's settings for every page. A refused form comes back as `422` with
/// the form drawn again (`errors::form_again`): htmx swaps it in like a
/// success; other errors are not swapped (htmx's default).
const HTMX_CONFIG: &str = concat!(
    r#"{"includeIndicatorStyles":false,"allowEval":false,"responseHandling":["#,
    r#"{"code":"204","swap":false},{"code":"422","swap":true},{"code":"[23]..","swap":true},"#,
    r#"{"code":"[45]..","swap":false,"error":true},{"code":"...","swap":false}]}"#
);

pub fn render(shell: Shell<'_>, body: Markup) -> Markup {
    render_live(shell, None, body)
}

/// The shell of a signed-in company page: with the bell, the toasts and
/// the live script when `live` is given.
pub fn render_live(shell: Shell<'_>, live: Option<Live<'_>>, body: Markup) -> Markup {
    let lang = shell.lang;
    let home = match shell.tenant {
        Some(t) => format!("/c/{}/", t.slug),
        None => "/".to_string(),
    };
    let site_name = match shell.tenant {
        Some(t) => t.info().name,
        None => "Idora".to_string(),
    };
    let side = live.as_ref().and_then(|l| l.side.as_ref());
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
                meta name="htmx-config" content=(HTMX_CONFIG);
                meta name="theme-color" content="#1f6feb";
                title { (shell.title) " · " (site_name) }
                (icon_links(shell.tenant))
                link rel="stylesheet" href=(assets::url("app.css"));
                (brand_links(shell.tenant))
                script src=(assets::url("vendor/htmx/htmx.min.js")) defer {}
                script src=(assets::url("app.js")) defer {}
                @if live.is_some() {
                    script src=(assets::url("tasks.js")) defer {}
                    script src=(assets::url("chat.js")) defer {}
                }
            }
            body hx-headers=(format!(r#"{{"x-csrf-token":"{}"}}"#, shell.csrf)) data-company=[live.as_ref().map(|l| l.company)]
                class=[live.as_ref().map(|_| "has-bottombar")] {
                a.skip-link href="#main" { (t(lang, "nav.skip")) }
                header.topbar {
                    a.brand href=(home) {
                        @if let Some(t) = shell.tenant && crate::org::branding::has_logo(t) {
                            img.logo src=(format!("/c/{}/logo?v={}", t.slug, crate::org::branding::version(t))) alt="";
                        }
                        span { (site_name) }
                    }
                    div.topbar-right {
                        @if shell.signed_in.is_none() {
                            (lang_switch(lang, shell.path, shell.tenant))
                        }
                        @if let Some(l) = &live {
                            (bell(l))
                        }
                        @if let Some(s) = &shell.signed_in {
                            (account_menu(lang, s, live.as_ref().map(|l| l.role), shell.csrf, shell.path, shell.tenant))
                        }
                    }
                }
                @if !shell.nav.is_empty() {
                    nav.tabs aria-label=(t(lang, "nav.main")) {
                        @for item in &shell.nav {
                            (nav_link(lang, item))
                        }
                    }
                }
                main.container #main {
                    @if let Some(items) = side {
                        div.with-side {
                            nav.side-menu aria-label=(t(lang, "nav.settings")) {
                                @for item in items {
                                    (nav_link(lang, item))
                                }
                            }
                            div.side-content {
                                @if let Some(n) = shell.notice {
                                    p.notice role="status" { (n) }
                                }
                                (body)
                            }
                        }
                    } @else {
                        @if let Some(n) = shell.notice {
                            p.notice role="status" { (n) }
                        }
                        (body)
                    }
                }
                @if let Some(l) = &live {
                    div #toasts .toasts aria-live="polite" {}
                    (bottom_bar(lang, l))
                }
                footer.footer { "Idora" }
            }
        }
    }
}

/// A navigation link with its badge (a count, and what it counts for
/// screen readers).
fn nav_link(lang: Lang, item: &NavItem) -> Markup {
    html! {
        a href=(item.href) class=[item.active.then_some("active")] aria-current=[item.active.then_some("page")] {
            span.nav-label { (t(lang, item.label)) }
            // Kept (hidden) at 0, so that the live script can show it when
            // something arrives (`data-live-badge`: tasks.js for the
            // inboxes, chat.js for unread messages).
            @if let Some((n, what, kind)) = item.badge.as_ref() {
                " " span.nav-badge data-live-badge=(kind) data-inbox-badge[*kind == "inbox"] title=(what) hidden[*n == 0] { (if *n > 99 { "99+".to_string() } else { n.to_string() }) }
                span.visually-hidden data-inbox-label[*kind == "inbox"] hidden[*n == 0] { " (" (what) ")" }
            }
        }
    }
}

/// The phone's bottom bar: the role's few main places and "More", a sheet
/// (a `<details>`, so it opens without script) with everything else.
fn bottom_bar(lang: Lang, live: &Live<'_>) -> Markup {
    let more_active = live.more.iter().flat_map(|(_, items)| items).any(|i| i.active);
    html! {
        nav.bottombar aria-label=(t(lang, "nav.main")) {
            @for item in &live.bottom {
                (nav_link(lang, item))
            }
            @if live.more.iter().any(|(_, items)| !items.is_empty()) {
                details.more data-sheet {
                    summary.more-button.active[more_active] {
                        span.more-dots aria-hidden="true" { "•••" }
                        span.nav-label { (t(lang, "nav.more")) }
                    }
                    div.sheet {
                        @for (heading, items) in &live.more {
                            @if let Some(h) = heading {
                                p.sheet-title { (t(lang, h)) }
                            }
                            ul.sheet-list {
                                @for item in items {
                                    li { (nav_link(lang, item)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Up to two initials of a name, for the avatar.
pub fn initials(name: &str) -> String {
    let letters: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    let letters = if letters.is_empty() { "?".to_string() } else { letters };
    letters.to_uppercase()
}

/// The avatar with the user's initials; it opens the account menu with the
/// whole name (never cut), the role, the profile, the languages and sign-out.
fn account_menu(lang: Lang, s: &SignedIn<'_>, role: Option<&str>, csrf: &str, path: &str, tenant: Option<&Tenant>) -> Markup {
    html! {
        details.account data-sheet {
            summary.account-button title=(s.name) {
                span.avatar aria-hidden="true" { (initials(s.name)) }
                span.account-name { (s.name) }
                span.visually-hidden { (t(lang, "nav.account")) }
            }
            div.account-menu {
                p.account-who {
                    strong { (s.name) }
                    @if let Some(r) = role {
                        br;
                        span.muted { (r) }
                    }
                }
                @if let Some(p) = &s.profile_href {
                    a.menu-link href=(p) { (t(lang, "profile.title")) }
                }
                div.menu-langs { (lang_switch(lang, path, tenant)) }
                form method="post" action=(s.logout_action) {
                    input type="hidden" name="_csrf" value=(csrf);
                    button.link.menu-link type="submit" { (t(lang, "nav.logout")) }
                }
            }
        }
    }
}

/// The favicon, the phone's home-screen icons and, on a company's pages,
/// its web app manifest.
fn icon_links(tenant: Option<&Tenant>) -> Markup {
    html! {
        link rel="icon" href=(assets::url("icons/favicon.svg")) type="image/svg+xml";
        link rel="icon" href=(assets::url("icons/icon-32.png")) type="image/png" sizes="32x32";
        link rel="apple-touch-icon" href=(assets::url("icons/apple-touch-icon.png"));
        @if let Some(t) = tenant {
            link rel="manifest" href=(format!("/c/{}/manifest.webmanifest", t.slug));
        }
    }
}

/// UZ / RU / EN links. On a company's pages they go through the company, so
/// that a signed-in user's saved language changes too.
fn lang_switch(current: Lang, path: &str, tenant: Option<&Tenant>) -> Markup {
    let base = match tenant {
        Some(t) => format!("/c/{}/lang", t.slug),
        None => "/lang".to_string(),
    };
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    html! {
        span.langs {
            @for l in Lang::ALL {
                @if l == current {
                    strong { (l.code().to_uppercase()) }
                } @else {
                    a href=(format!("{base}?set={}&next={}", l.code(), next)) hreflang=(l.code()) title=(l.native_name()) { (l.code().to_uppercase()) }
                }
            }
        }
    }
}

/// The heading of an error page: what happened, in words.
pub fn error_title(lang: Lang, status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => t(lang, "errorpage.not_found_title"),
        403 => t(lang, "errorpage.forbidden_title"),
        405 => t(lang, "errorpage.method_title"),
        410 => t(lang, "errorpage.gone_title"),
        _ => t(lang, "error.title"),
    }
}

/// An error page's content: what happened, the service's own message when
/// it says more than the heading, and where to go from here.
pub fn error_body(lang: Lang, status: StatusCode, message: &str, home: &str) -> Markup {
    let (generic, hint) = match status.as_u16() {
        404 => (t(lang, "error.not_found"), t(lang, "errorpage.not_found_hint")),
        403 => (t(lang, "error.forbidden"), t(lang, "errorpage.forbidden_hint")),
        405 => (t(lang, "error.method_not_allowed"), t(lang, "errorpage.method_hint")),
        410 => ("", t(lang, "errorpage.gone_hint")),
        _ => ("", t(lang, "errorpage.other_hint")),
    };
    html! {
        section.card.error-page {
            p.error-code { (status.as_u16()) }
            h1 { (error_title(lang, status)) }
            @if message != generic {
                p.lead { (message) }
            }
            p { (hint) }
            div.actions {
                a.button.primary href=(home) { (t(lang, "errorpage.home")) }
                a.button href=(home) data-back { (t(lang, "errorpage.back")) }
            }
        }
    }
}

/// A page for an error, in the caller's language, for a reader who is not
/// signed in (or outside a company); a signed-in reader gets the same
/// content in their frame (`pages::org::error_frame`).
pub fn error_page(lang: Lang, tenant: Option<&Tenant>, status: StatusCode, message: &str) -> Markup {
    let home = match tenant {
        Some(t) => format!("/c/{}/", t.slug),
        None => "/".to_string(),
    };
    let shell = Shell { lang, title: error_title(lang, status), tenant, csrf: "", signed_in: None, nav: vec![], path: "/", notice: None };
    render(shell, error_body(lang, status, message, &home))
}

/// A hidden CSRF field for a form.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

/// A labelled text input with an optional value and error.
pub fn field(label: &str, name: &str, kind: &str, value: Option<&str>, required: bool) -> Markup {
    html! {
        label.field {
            span { (label) }
            input type=(kind) name=(name) value=[value] required[required] autocomplete=(autocomplete(name));
        }
    }
}

fn autocomplete(name: &str) -> &'static str {
    match name {
        "username" => "username",
        "password" => "current-password",
        "new_password" => "new-password",
        "full_name" => "name",
        "phone" => "tel",
        _ => "off",
    }
}

/// Formats a stored time (ms) in a company's time zone as people in
/// Uzbekistan read it in every language: `04.12.2026 14:30` (24 hours).
pub fn local_time(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%d.%m.%Y %H:%M").to_string()
}

/// A day as shown on a page: `04.12.2026` (form values and the API keep `2026-12-04`).
pub fn local_date(d: jiff::civil::Date) -> String {
    d.strftime("%d.%m.%Y").to_string()
}

/// Raw markup that is known to be safe (built from our own strings only).
pub fn raw(s: &str) -> PreEscaped<String> {
    PreEscaped(s.to_string())
}

/// A form's failure, in the user's language, with the field at fault so
/// that the form can mark it.
pub struct FormError {
    pub message: String,
    pub field: Option<&'static str>,
}

impl FormError {
    pub fn new(lang: Lang, e: &crate::error::AppError) -> FormError {
        FormError { message: e.info().message(lang), field: e.field }
    }

    /// The message, when `name` is the field at fault.
    pub fn on(&self, name: &str) -> Option<&str> {
        (self.field == Some(name)).then_some(self.message.as_str())
    }

    /// Points the error at another input: a service names its own fields,
    /// a form may call them differently.
    pub fn moved(mut self, from: &str, to: &'static str) -> Self {
        if self.field == Some(from) {
            self.field = Some(to);
        }
        self
    }
}

/// The alert above a form, when it failed.
pub fn form_alert(err: Option<&FormError>) -> Markup {
    html! {
        @if let Some(e) = err {
            // `data-field`: app.css hides this copy when the field shows the error itself.
            p.alert role="alert" data-field=[e.field] { (e.message) }
        }
    }
}

/// The form's alert for an error no field of the form shows: an error of one
/// of `fields` stands next to that field only, never twice.
pub fn form_alert_except(err: Option<&FormError>, fields: &[&str]) -> Markup {
    form_alert(err.filter(|e| !e.field.is_some_and(|f| fields.contains(&f))))
}

/// A labelled input with a hint and the error of its field, built step by
/// step: `Input::new(label, name).value(v).required()`.
pub struct Input<'a> {
    label: &'a str,
    name: &'a str,
    kind: &'a str,
    value: Option<&'a str>,
    required: bool,
    hint: Option<&'a str>,
    autocomplete: Option<&'a str>,
    error: Option<&'a str>,
    readonly: bool,
    maxlength: Option<usize>,
    pattern: Option<&'a str>,
    list: Option<&'a str>,
    inputmode: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn new(label: &'a str, name: &'a str) -> Self {
        Input {
            label,
            name,
            kind: "text",
            value: None,
            required: false,
            hint: None,
            autocomplete: None,
            error: None,
            readonly: false,
            maxlength: None,
            pattern: None,
            list: None,
            inputmode: None,
        }
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = Some(v);
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }
    pub fn autocomplete(mut self, a: &'a str) -> Self {
        self.autocomplete = Some(a);
        self
    }
    /// Shows the error's message under this input when it is about it.
    pub fn error(mut self, e: Option<&'a FormError>) -> Self {
        self.error = e.and_then(|e| e.on(self.name));
        self
    }
    pub fn readonly(mut self) -> Self {
        self.readonly = true;
        self
    }
    pub fn maxlength(mut self, n: usize) -> Self {
        self.maxlength = Some(n);
        self
    }
    pub fn pattern(mut self, p: &'a str) -> Self {
        self.pattern = Some(p);
        self
    }
    /// The id of a `<datalist>` with suggestions.
    pub fn list(mut self, id: &'a str) -> Self {
        self.list = Some(id);
        self
    }
    pub fn inputmode(mut self, m: &'a str) -> Self {
        self.inputmode = Some(m);
        self
    }
}

impl maud::Render for Input<'_> {
    fn render(&self) -> Markup {
        let id = format!("f-{}", self.name);
        let hint_id = format!("{id}-hint");
        let err_id = format!("{id}-error");
        let describedby = match (self.hint.is_some(), self.error.is_some()) {
            (true, true) => Some(format!("{hint_id} {err_id}")),
            (true, false) => Some(hint_id.clone()),
            (false, true) => Some(err_id.clone()),
            (false, false) => None,
        };
        let autocomplete = self.autocomplete.unwrap_or_else(|| autocomplete(self.name));
        html! {
            div.field.invalid[self.error.is_some()] {
                label for=(id) { (self.label) }
                input id=(id) type=(self.kind) name=(self.name) value=[self.value] required[self.required]
                    readonly[self.readonly] autocomplete=(autocomplete) maxlength=[self.maxlength] pattern=[self.pattern]
                    list=[self.list] inputmode=[self.inputmode] aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[describedby];
                @if let Some(h) = self.hint {
                    small.hint id=(hint_id) { (h) }
                }
                @if let Some(e) = self.error {
                    small.field-error id=(err_id) { (e) }
                }
            }
        }
    }
}

/// A labelled `<select>`; `options` are `(value, label)` pairs.
pub fn select(label: &str, name: &str, options: &[(String, String)], selected: &str, err: Option<&FormError>) -> Markup {
    let id = format!("f-{name}");
    let error = err.and_then(|e| e.on(name));
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")] {
                @for (v, l) in options {
                    option value=(v) selected[v == selected] { (l) }
                }
            }
            @if let Some(e) = error {
                small.field-error { (e) }
            }
        }
    }
}

/// A checkbox with its label to the right.
pub fn checkbox(label: &str, name: &str, checked: bool) -> Markup {
    html! {
        label.check {
            input type="checkbox" name=(name) value="1" checked[checked];
            span { (label) }
        }
    }
}

/// A one-button form posting to `action` (activate, deactivate…). With
/// `confirm`, the page asks before sending (`data-confirm`, see app.js).
pub fn post_button(action: &str, csrf: &str, label: &str, class: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(csrf))
            button type="submit" class=(class) data-confirm=[confirm] { (label) }
        }
    }
}

/// A password shown once, right after it was generated, with the warning
/// to copy it now.
pub fn secret_box(lang: Lang, username: &str, password: &str) -> Markup {
    html! {
        div.secret-box role="status" {
            p.warning { strong { (t(lang, "admin.secret.warning")) } }
            dl.facts {
                dt { (t(lang, "admin.secret.username")) }
                dd { code.secret { (username) } }
                dt { (t(lang, "admin.secret.password")) }
                dd {
                    code.secret { (password) }
                    " "
                    button.copy type="button" data-copy=(password) data-copied=(t(lang, "admin.secret.copied")) { (t(lang, "admin.secret.copy")) }
                }
            }
        }
    }
}
