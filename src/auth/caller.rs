//! Who is calling the core. Every front-end (a page, an API handler, a bot
//! dialogue, a scheduled job) resolves its caller here, once, before it asks
//! the core for anything.

use crate::auth::session::{self, TENANT_REALM};
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::schema::AccountV1;
use crate::tenancy::Tenant;
use std::collections::HashSet;

/// A signed-in company user, with the permissions of their role as they are
/// now (a role change applies to the very next request).
#[derive(Clone)]
pub struct Principal {
    pub id: u64,
    pub account: AccountV1,
    pub permissions: HashSet<String>,
    pub tenant: Tenant,
    /// The session (refresh-token family) the caller signed in with.
    pub sid: String,
    pub lang: Lang,
    /// Their password was given to them (generated, or reset by an admin):
    /// nothing but choosing their own is open to them.
    pub must_change_password: bool,
}

impl Principal {
    /// Loads user `user_id` of `tenant` as a caller: the account must exist
    /// and be active, its role's permissions are read from the store, and an
    /// inactive company admits only those who may set it up. `fallback` is
    /// the language when the account has none of its own.
    pub fn load(tenant: &Tenant, user_id: u64, sid: String, fallback: Lang) -> Result<Principal, AppError> {
        let db = tenant.db()?;
        let account = session::get_account(db, TENANT_REALM, user_id)?.ok_or(ErrorKind::Unauthorized)?;
        if !account.active {
            return Err(ErrorKind::AccountInactive.into());
        }
        let permissions: HashSet<String> = crate::org::service::role_permissions(db, &account.role)?.into_iter().collect();
        if !tenant.is_active() && !permissions.contains("company.setup") {
            return Err(ErrorKind::CompanyInactive.into());
        }
        let lang = account_lang(&account, fallback);
        let must_change_password = crate::org::service::must_change_password(db, user_id)?;
        Ok(Principal { id: user_id, account, permissions, tenant: tenant.clone(), sid, lang, must_change_password })
    }

    pub fn can(&self, perm: &str) -> bool {
        self.permissions.contains(perm)
    }

    pub fn require(&self, perm: &str) -> Result<(), AppError> {
        if self.can(perm) { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
    }

    pub fn display_name(&self) -> &str {
        if self.account.full_name.is_empty() { &self.account.username } else { &self.account.full_name }
    }
}

/// The language an account reads in: its own setting, else `fallback`.
pub fn account_lang(account: &AccountV1, fallback: Lang) -> Lang {
    account.language.as_deref().and_then(Lang::parse).unwrap_or(fallback)
}

/// Whoever asks the core for something. Commands and queries take one, so a
/// rule is checked the same way for a page, an API client, a Telegram chat
/// and a scheduled job.
#[derive(Clone)]
pub enum Caller {
    /// A signed-in company user.
    User(Box<Principal>),
    /// A customer holding a public token (a queue ticket's tracking token).
    Customer(String),
    /// Anyone, with no login: a kiosk, the public company page.
    Public,
    /// A platform admin acting on a company from the platform console.
    /// Not a company user: every company permission check refuses them.
    Platform { id: u64, name: String },
    /// Idora itself: scheduled jobs, a company's first start, the demo.
    System,
}

impl From<&Principal> for Caller {
    fn from(p: &Principal) -> Caller {
        Caller::User(Box::new(p.clone()))
    }
}

impl Caller {
    /// Whether the caller holds a company permission. The system acts for
    /// the company itself and may do anything; customers, the public and
    /// platform admins hold none.
    pub fn can(&self, perm: &str) -> bool {
        match self {
            Caller::User(p) => p.can(perm),
            Caller::System => true,
            Caller::Customer(_) | Caller::Public | Caller::Platform { .. } => false,
        }
    }

    pub fn require(&self, perm: &str) -> Result<(), AppError> {
        if self.can(perm) { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
    }

    /// The company user behind the caller, if any.
    pub fn user(&self) -> Option<&Principal> {
        match self {
            Caller::User(p) => Some(p),
            _ => None,
        }
    }

    /// The id written to the audit log and history: the user's or the
    /// platform admin's; 0 for everyone else.
    pub fn id(&self) -> u64 {
        match self {
            Caller::User(p) => p.id,
            Caller::Platform { id, .. } => *id,
            _ => 0,
        }
    }

    /// The name written to the audit log and history.
    pub fn name(&self) -> String {
        match self {
            Caller::User(p) => p.display_name().to_string(),
            Caller::Platform { name, .. } => name.clone(),
            Caller::Customer(_) => "customer".into(),
            Caller::Public => "public".into(),
            Caller::System => "system".into(),
        }
    }

    /// The caller's department, for rules that say "their own department".
    pub fn department_id(&self) -> Option<u64> {
        self.user().and_then(|p| p.account.department_id)
    }

    /// The role of a company user.
    pub fn role(&self) -> Option<&str> {
        self.user().map(|p| p.account.role.as_str())
    }

    /// Only an owner makes or changes owners; the system may too (the
    /// company's first account, the demo), and so may a platform admin
    /// creating a company.
    pub fn acts_as_owner(&self) -> bool {
        match self {
            Caller::User(p) => p.account.role == "owner",
            Caller::System | Caller::Platform { .. } => true,
            Caller::Customer(_) | Caller::Public => false,
        }
    }
}
