//! Pages as a browser sees them: a signed-in browser that submits forms with
//! their CSRF field, and small readers of the HTML it gets.

use super::Server;
use reqwest::{Client, StatusCode};

/// A browser signed in to one company through the login form: it keeps
/// cookies, follows redirects and knows its CSRF token.
pub struct Browser {
    pub http: Client,
    /// `…/c/{slug}/`: page paths are relative to the company.
    company: String,
    pub csrf: String,
}

/// A page as the browser got it (after any redirect).
pub struct Seen {
    pub status: StatusCode,
    pub path: String,
    pub query: String,
    pub html: String,
}

/// A bare browser: it keeps cookies, and follows redirects or shows them.
pub fn cookie_client(follow_redirects: bool) -> Client {
    let policy = if follow_redirects { reqwest::redirect::Policy::default() } else { reqwest::redirect::Policy::none() };
    Client::builder().cookie_store(true).redirect(policy).build().unwrap()
}

impl Server {
    /// A browser that signed in through the company's login form and landed home.
    pub async fn browser(&self, slug: &str, username: &str, password: &str) -> Browser {
        let http = cookie_client(true);
        let company = self.url(&format!("/c/{slug}/"));
        let login = http.get(format!("{company}login")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_of(&login);
        let r = http
            .post(format!("{company}login"))
            .form(&[("username", username), ("password", password), ("_csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.url().path().ends_with(&format!("/c/{slug}/")), "signed in and home: {}", r.url());
        Browser { http, company, csrf }
    }
}

impl Browser {
    /// A page of the company, e.g. `"operator"`.
    pub async fn get(&self, path: &str) -> Seen {
        let r = self.http.get(format!("{}{path}", self.company)).send().await.unwrap();
        seen(r).await
    }

    /// Submits a form (with the CSRF field) and follows the redirect.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Seen {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", self.csrf.as_str()));
        let r = self.http.post(format!("{}{path}", self.company)).form(&form).send().await.unwrap();
        seen(r).await
    }
}

async fn seen(r: reqwest::Response) -> Seen {
    let status = r.status();
    assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "the server failed (500) on {}", r.url());
    let path = r.url().path().to_string();
    let query = r.url().query().unwrap_or("").to_string();
    Seen { status, path, query, html: r.text().await.unwrap() }
}

/// The CSRF token a page gave its forms.
pub fn csrf_of(html: &str) -> String {
    let key = r#"name="_csrf" value=""#;
    let at = html.find(key).expect("a form with the CSRF field") + key.len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The text of the element with this class, roughly: what follows `class="…">`.
pub fn text_of<'a>(html: &'a str, class: &str) -> Option<&'a str> {
    let marker = format!("class=\"{class}\"");
    let at = html.find(&marker)? + marker.len();
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    Some(rest[start..].split('<').next().unwrap_or(""))
}

/// The text of the element with this id (no nested markup).
pub fn text_of_id(html: &str, id: &str) -> String {
    let at = html.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..open + rest[open..].find('<').unwrap()].to_string()
}

/// The value of `attr="…"` on the element that has `marker`.
pub fn attr(html: &str, marker: &str, attr: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} not in the page"));
    let tag_end = html[at..].find('>').map(|i| at + i).unwrap_or(html.len());
    let start = html[..at].rfind('<').unwrap_or(0);
    let tag = &html[start..tag_end];
    let key = format!("{attr}=\"");
    let from = tag.find(&key).unwrap_or_else(|| panic!("no {attr} in {tag}")) + key.len();
    tag[from..].split('"').next().unwrap_or("").to_string()
}
