//! The OpenAPI document, generated from the handlers' annotations. It is
//! checked in as `schema/openapi.json`; a test fails when that file is stale
//! (run `IDORA_BLESS=1 cargo test openapi` to refresh it).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Idora API", version = "1", description = "Errors are {\"error\": {\"kind\", \"message\"}} with a stable snake_case kind."),
    paths(
        crate::web::api::auth::platform_login,
        crate::web::api::auth::platform_refresh,
        crate::web::api::auth::platform_logout,
        crate::web::api::companies::list,
        crate::web::api::companies::create,
        crate::web::api::companies::update,
        crate::web::api::companies::activate,
        crate::web::api::companies::deactivate,
        crate::web::api::auth::tenant_login,
        crate::web::api::auth::tenant_refresh,
        crate::web::api::auth::tenant_logout,
        crate::web::api::auth::me,
        crate::web::api::org::list_users,
        crate::web::api::org::create_user,
        crate::web::api::org::get_user,
        crate::web::api::org::patch_user,
        crate::web::api::org::list_departments,
        crate::web::api::org::create_department,
        crate::web::api::org::patch_department,
        crate::web::api::org::list_branches,
        crate::web::api::org::create_branch,
        crate::web::api::org::get_branch,
        crate::web::api::org::patch_branch,
        crate::web::api::org::list_roles,
        crate::web::api::org::put_role,
        crate::web::api::org::get_branding,
        crate::web::api::org::patch_branding,
        crate::web::api::org::get_company,
        crate::web::api::org::put_company,
        crate::web::api::tasks::create_task,
        crate::web::api::tasks::list_tasks,
        crate::web::api::tasks::get_task,
        crate::web::api::tasks::patch_task,
        crate::web::api::tasks::delete_task,
        crate::web::api::tasks::set_status,
        crate::web::api::tasks::approve,
        crate::web::api::tasks::decline,
        crate::web::api::tasks::extension,
        crate::web::api::tasks::calendar,
        crate::web::api::tasks::search_tasks,
        crate::web::api::ical::my_feed,
        crate::web::api::tasks::list_categories,
        crate::web::api::tasks::create_category,
        crate::web::api::tasks::patch_category,
        crate::web::api::tasks::list_notifications,
        crate::web::api::tasks::read_notifications,
        crate::web::api::queue::list_services,
        crate::web::api::queue::create_service,
        crate::web::api::queue::patch_service,
        crate::web::api::queue::list_operators,
        crate::web::api::queue::put_operator,
        crate::web::api::queue::delete_operator,
        crate::web::api::queue::take_ticket,
        crate::web::api::queue::branch_queue,
        crate::web::api::queue::call_next,
        crate::web::api::queue::recall,
        crate::web::api::queue::no_show,
        crate::web::api::queue::start,
        crate::web::api::queue::finish,
        crate::web::api::queue::operator_break,
        crate::web::api::queue::call_ticket,
        crate::web::api::queue::cancel_ticket,
        crate::web::api::queue::transfer_ticket,
        crate::web::api::queue::slots,
        crate::web::api::queue::create_booking,
        crate::web::api::queue::check_in,
        crate::web::api::queue::get_settings,
        crate::web::api::queue::put_settings,
        crate::web::api::track::display_events,
        crate::web::api::track::status,
        crate::web::api::track::ticket_events,
        crate::web::api::track::qr,
        crate::web::api::track::cancel,
        crate::web::pages::stats::api_stats,
        crate::web::pages::stats::api_csv,
        crate::web::api::org::list_audit,
        crate::web::api::live::live_token,
    ),
    modifiers(&Bearer),
    tags((name = "platform", description = "Platform admins: companies"), (name = "company", description = "A company's users and structure"))
)]
pub struct ApiDoc;

/// The document as pretty JSON with a final newline.
pub fn json() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// The checked-in document must be what the code generates.
    #[test]
    fn schema_openapi_json_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join("openapi.json");
        let fresh = super::json();
        if std::env::var("IDORA_BLESS").is_ok() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(stored == fresh, "schema/openapi.json is stale: run `IDORA_BLESS=1 cargo test openapi` and commit it");
    }
}
