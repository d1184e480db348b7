//! The reverse proxy's map of which box serves which company.

use crate::app::AppState;

/// nginx `map` lines routing each company's `/c/<slug>/` to `upstream`.
pub fn nginx(state: &AppState, upstream: &str) -> String {
    let mut out = String::new();
    for t in state.tenants.all() {
        out.push_str(&format!("~^/c/{}(/|$)  {upstream};\n", t.slug));
    }
    out
}
