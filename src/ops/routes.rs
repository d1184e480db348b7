//! The reverse proxy's map of which box serves which company.
//!
//! Each box prints the `map` entries of its own companies
//! (`idora routes --format nginx --upstream box_a`); the proxy includes
//! every box's file in one `map` on `$uri` and passes each request to the
//! upstream it names:
//!
//! ```nginx
//! upstream box_a { server 10.0.0.11:8080; }
//! upstream box_b { server 10.0.0.12:8080; }
//! map $uri $idora_box {
//!     default box_a;                     # the platform console, assets, anything else
//!     include /etc/nginx/idora/box_a.map;
//!     include /etc/nginx/idora/box_b.map;
//! }
//! map $http_upgrade $connection_upgrade { default upgrade; "" close; }
//! server {
//!     listen 80;
//!     location / {
//!         proxy_pass http://$idora_box;
//!         proxy_http_version 1.1;
//!         proxy_set_header Host $host;
//!         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
//!         proxy_set_header Upgrade $http_upgrade;
//!         proxy_set_header Connection $connection_upgrade;
//!         proxy_buffering off;            # live updates (SSE)
//!         proxy_read_timeout 1h;
//!         client_max_body_size 0;         # uploads: Idora enforces the company's limit
//!     }
//! }
//! ```
//!
//! A company's paths are `/c/<slug>` and everything under it, and its
//! public pages named by a token, `/t/<slug>-<token>` (a queue ticket) and
//! `/r/<slug>-<token>` (a client's request). A token has no `-`, so the
//! entry of `acme` never takes `acme-bank`'s. Slugs are `[a-z0-9-]`: no
//! character in them needs escaping in a regular expression.

use crate::app::AppState;

/// nginx `map` lines routing each company's `/c/<slug>/` to `upstream`.
pub fn nginx(state: &AppState, upstream: &str) -> String {
    let slugs: Vec<String> = state.tenants.all().iter().map(|t| t.slug.clone()).collect();
    nginx_lines(&slugs, upstream)
}

/// The map entries of `slugs` (in that order) to `upstream`, with a comment
/// line saying what they are.
pub fn nginx_lines(slugs: &[String], upstream: &str) -> String {
    let mut out = format!("# idora routes: {} companies to {upstream}\n", slugs.len());
    for slug in slugs {
        out.push_str(&format!("~^/c/{slug}(/|$)  {upstream};\n"));
        out.push_str(&format!("~^/[tr]/{slug}-[^-/]+(/|$)  {upstream};\n"));
    }
    out
}

/// Whether `name` can be an nginx upstream's name in a map value (letters,
/// digits, `_`, `-`, `.`, `:`; no spaces, quotes or `;`).
pub fn valid_upstream(name: &str) -> bool {
    !name.is_empty() && name.len() <= 200 && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_company_gets_its_paths_and_no_neighbours() {
        let out = nginx_lines(&["acme".into(), "acme-bank".into()], "box_b");
        assert_eq!(
            out,
            "# idora routes: 2 companies to box_b\n\
             ~^/c/acme(/|$)  box_b;\n\
             ~^/[tr]/acme-[^-/]+(/|$)  box_b;\n\
             ~^/c/acme-bank(/|$)  box_b;\n\
             ~^/[tr]/acme-bank-[^-/]+(/|$)  box_b;\n"
        );
        assert!(valid_upstream("box_b") && valid_upstream("10.0.0.2:8080"));
        assert!(!valid_upstream("box b") && !valid_upstream("x;") && !valid_upstream(""));
    }
}
