//! Roles and permissions. Each role maps to a set of permissions; the
//! defaults follow the product and a company admin may edit them, except the
//! owner's, which always hold every permission so that a company cannot lock
//! itself out.

pub const ROLES: [&str; 6] = ["owner", "director", "admin", "manager", "employee", "operator"];

/// Every permission the product checks, in the order the matrix shows them.
/// Only these are offered in the role matrix and accepted when it is saved.
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
    "queue.operate",
    "queue.manage",
    "requests.handle",
    "requests.manage",
    "reports.view_all",
    "reports.view_department",
    "company.setup",
];

/// Permissions of features that do not exist yet (chat, open to every
/// signed-in user for now): nothing checks them, so the matrix neither shows
/// nor accepts them. A stored matrix that names them still loads; they are
/// left out when it is read. A feature that starts checking one moves it
/// into `PERMISSIONS`.
pub const RESERVED: [&str; 1] = ["chat.use"];

pub fn is_reserved(s: &str) -> bool {
    RESERVED.contains(&s)
}

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
            "requests.handle",
            "requests.manage",
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
    // Reserved permissions (named for features still coming) are not granted.
    list.iter().copied().filter(|p| !is_reserved(p)).collect()
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

/// Manages the company's accounts: hears when one is locked.
pub fn manages_users(has: impl Fn(&str) -> bool) -> bool {
    has("users.manage")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source outside this file, as one string.
    fn source() -> String {
        fn walk(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("auth/rbac.rs") {
                    out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        let mut out = String::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
        out
    }

    /// The matrix offers what the code checks and nothing else: every
    /// offered permission is asked for by `can`/`require`, no reserved one is.
    #[test]
    fn the_matrix_offers_exactly_the_checked_permissions() {
        let src = source();
        let checked = |p: &str| ["can", "require", "contains"].iter().any(|f| src.contains(&format!("{f}(\"{p}\")")));
        let unchecked: Vec<&str> = PERMISSIONS.iter().copied().filter(|p| !checked(p)).collect();
        assert!(unchecked.is_empty(), "offered but never checked (move them to RESERVED): {unchecked:?}");
        let now_checked: Vec<&str> = RESERVED.iter().copied().filter(|p| checked(p)).collect();
        assert!(now_checked.is_empty(), "reserved but checked (offer them in PERMISSIONS): {now_checked:?}");
        for p in RESERVED {
            assert!(!is_permission(p) && is_reserved(p));
        }
    }
}
