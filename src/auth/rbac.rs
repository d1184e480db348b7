//! Roles and permissions. Each role maps to a set of permissions; the
//! defaults follow the product and a company admin may edit them, except the
//! owner's, which always hold every permission so that a company cannot lock
//! itself out.

pub const ROLES: [&str; 6] = ["owner", "director", "admin", "manager", "employee", "operator"];

/// Every permission the product knows, in the order the matrix shows them.
pub const PERMISSIONS: [&str; 20] = [
    "users.view",
    "users.manage",
    "departments.manage",
    "branches.manage",
    "roles.manage",
    "branding.manage",
    "audit.view",
    "tasks.create",
    "tasks.assign_any",
    "tasks.approve",
    "tasks.review",
    "tasks.view_all",
    "tasks.view_department",
    "requests.handle",
    "queue.operate",
    "queue.manage",
    "reports.view_all",
    "reports.view_department",
    "chat.use",
    "company.setup",
];

pub fn is_role(s: &str) -> bool {
    ROLES.contains(&s)
}

pub fn is_permission(s: &str) -> bool {
    PERMISSIONS.contains(&s)
}

/// The permissions a role has until the company changes them.
pub fn default_permissions(role: &str) -> Vec<&'static str> {
    let list: &[&'static str] = match role {
        "owner" => &PERMISSIONS,
        "director" => &[
            "users.view",
            "audit.view",
            "tasks.create",
            "tasks.assign_any",
            "tasks.approve",
            "tasks.review",
            "tasks.view_all",
            "tasks.view_department",
            "requests.handle",
            "queue.manage",
            "reports.view_all",
            "reports.view_department",
            "chat.use",
            "company.setup",
        ],
        "admin" => &[
            "users.view",
            "users.manage",
            "departments.manage",
            "branches.manage",
            "roles.manage",
            "branding.manage",
            "audit.view",
            // Reads every task and finds any by search (the admin search of
            // the brief); moving, reviewing or assigning needs more.
            "tasks.view_all",
            "queue.manage",
            "reports.view_all",
            "chat.use",
            "company.setup",
        ],
        "manager" => &[
            "users.view",
            "tasks.create",
            "tasks.review",
            "tasks.view_department",
            "requests.handle",
            "reports.view_department",
            "chat.use",
        ],
        "employee" => &["chat.use"],
        "operator" => &["queue.operate", "chat.use"],
        _ => &[],
    };
    list.to_vec()
}

// ---------- what a role means ----------
//
// The rules speak of people by what their permissions let them do, never by
// a role's name, so that a company that edits its matrix (say, lets admins
// approve tasks) gets rules and notifications that follow. These are the
// meanings the rules use; `has` answers whether the person holds a permission.

/// Acts as a director: approves tasks assigned across departments and
/// decides deadlines of late tasks.
pub fn acts_as_director(has: impl Fn(&str) -> bool) -> bool {
    has("tasks.approve")
}

/// Manages their own department's tasks: hands out, reviews and sees the
/// department's work (without seeing the whole company's, which is a
/// director's view).
pub fn manages_department(has: impl Fn(&str) -> bool) -> bool {
    has("tasks.create") && has("tasks.review") && has("tasks.view_department") && !has("tasks.view_all")
}
