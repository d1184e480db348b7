//! The page shell and small shared components (maud).

use super::assets;
use super::i18n::{Lang, t};
use crate::tenancy::Tenant;
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A link in the section navigation.
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub active: bool,
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

fn brand_links(tenant: Option<&Tenant>) -> Markup {
    html! {
        @if let Some(t) = tenant {
            link rel="stylesheet" href=(format!("/c/{}/brand.css?v={}", t.slug, crate::org::branding::version(t)));
        }
    }
}

pub fn render(shell: Shell<'_>, body: Markup) -> Markup {
    let lang = shell.lang;
    let home = match shell.tenant {
        Some(t) => format!("/c/{}/", t.slug),
        None => "/".to_string(),
    };
    let site_name = match shell.tenant {
        Some(t) => t.info().name,
        None => "Idora".to_string(),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                title { (shell.title) " · " (site_name) }
                link rel="stylesheet" href=(assets::url("app.css"));
                (brand_links(shell.tenant))
                script src=(assets::url("vendor/htmx/htmx.min.js")) defer {}
                script src=(assets::url("app.js")) defer {}
            }
            body hx-headers=(format!(r#"{{"x-csrf-token":"{}"}}"#, shell.csrf)) {
                header.topbar {
                    a.brand href=(home) {
                        @if let Some(t) = shell.tenant && crate::org::branding::has_logo(t) {
                            img.logo src=(format!("/c/{}/logo?v={}", t.slug, crate::org::branding::version(t))) alt="";
                        }
                        span { (site_name) }
                    }
                    div.topbar-right {
                        (lang_switch(lang, shell.path))
                        @if let Some(s) = &shell.signed_in {
                            @if let Some(p) = &s.profile_href {
                                a.user href=(p) { (s.name) }
                            } @else {
                                span.user { (s.name) }
                            }
                            form.inline method="post" action=(s.logout_action) {
                                input type="hidden" name="_csrf" value=(shell.csrf);
                                button.link type="submit" { (t(lang, "nav.logout")) }
                            }
                        }
                    }
                }
                @if !shell.nav.is_empty() {
                    nav.tabs {
                        @for item in &shell.nav {
                            a href=(item.href) class=[item.active.then_some("active")] aria-current=[item.active.then_some("page")] { (t(lang, item.label)) }
                        }
                    }
                }
                main.container {
                    @if let Some(n) = shell.notice {
                        p.notice role="status" { (n) }
                    }
                    (body)
                }
                footer.footer { "Idora" }
            }
        }
    }
}

fn lang_switch(current: Lang, path: &str) -> Markup {
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    html! {
        span.langs {
            @for l in Lang::ALL {
                @if l == current {
                    strong { (l.code().to_uppercase()) }
                } @else {
                    a href=(format!("/lang?set={}&next={}", l.code(), next)) hreflang=(l.code()) title=(l.native_name()) { (l.code().to_uppercase()) }
                }
            }
        }
    }
}

/// A page for an error, in the caller's language.
pub fn error_page(lang: Lang, tenant: Option<&Tenant>, status: StatusCode, message: &str) -> Markup {
    let home = match tenant {
        Some(t) => format!("/c/{}/", t.slug),
        None => "/".to_string(),
    };
    let shell = Shell { lang, title: t(lang, "error.title"), tenant, csrf: "", signed_in: None, nav: vec![], path: "/", notice: None };
    render(
        shell,
        html! {
            section.card.error {
                h1 { (t(lang, "error.title")) }
                p.lead { (message) }
                p.muted { (status.as_u16()) }
                a.button href=(home) { (t(lang, "nav.home")) }
            }
        },
    )
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

/// Formats a stored time (ms) in a company's time zone.
pub fn local_time(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string()
}

/// Raw markup that is known to be safe (built from our own strings only).
pub fn raw(s: &str) -> PreEscaped<String> {
    PreEscaped(s.to_string())
}
