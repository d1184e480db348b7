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
        crate::auth::api::platform_login,
        crate::auth::api::platform_refresh,
        crate::auth::api::platform_logout,
        crate::tenancy::api::list,
        crate::tenancy::api::create,
        crate::tenancy::api::update,
        crate::tenancy::api::activate,
        crate::tenancy::api::deactivate,
        crate::auth::api::tenant_login,
        crate::auth::api::tenant_refresh,
        crate::auth::api::tenant_logout,
        crate::auth::api::me,
        crate::org::api::list_users,
        crate::org::api::create_user,
        crate::org::api::get_user,
        crate::org::api::patch_user,
        crate::org::api::list_departments,
        crate::org::api::create_department,
        crate::org::api::patch_department,
        crate::org::api::list_branches,
        crate::org::api::create_branch,
        crate::org::api::get_branch,
        crate::org::api::patch_branch,
        crate::org::api::list_roles,
        crate::org::api::put_role,
        crate::org::api::get_branding,
        crate::org::api::patch_branding,
        crate::tasks::api::create_task,
        crate::tasks::api::list_tasks,
        crate::tasks::api::get_task,
        crate::tasks::api::patch_task,
        crate::tasks::api::delete_task,
        crate::tasks::api::set_status,
        crate::tasks::api::approve,
        crate::tasks::api::decline,
        crate::tasks::api::extension,
        crate::tasks::api::calendar,
        crate::tasks::api::search_tasks,
        crate::tasks::ical::my_feed,
        crate::tasks::api::list_categories,
        crate::tasks::api::create_category,
        crate::tasks::api::patch_category,
        crate::tasks::api::list_notifications,
        crate::tasks::api::read_notifications,
        crate::queue::api::list_services,
        crate::queue::api::create_service,
        crate::queue::api::patch_service,
        crate::queue::api::list_operators,
        crate::queue::api::put_operator,
        crate::queue::api::delete_operator,
        crate::queue::api::take_ticket,
        crate::queue::api::branch_queue,
        crate::queue::api::call_next,
        crate::queue::api::recall,
        crate::queue::api::no_show,
        crate::queue::api::start,
        crate::queue::api::finish,
        crate::queue::api::operator_break,
        crate::queue::api::call_ticket,
        crate::queue::api::cancel_ticket,
        crate::queue::api::transfer_ticket,
        crate::queue::api::slots,
        crate::queue::api::create_booking,
        crate::queue::api::check_in,
        crate::queue::api::get_settings,
        crate::queue::api::put_settings,
        crate::queue::live::display_events,
        crate::queue::live::status,
        crate::queue::live::ticket_events,
        crate::queue::live::qr,
        crate::queue::live::cancel,
        crate::queue::stats::api_stats,
        crate::queue::stats::api_csv,
        crate::org::api::list_audit,
        crate::hub::api::live_token,
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
