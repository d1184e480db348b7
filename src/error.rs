//! One error type for every entry point.
//!
//! A domain service returns an [`AppError`] with a stable [`ErrorKind`] and a
//! catalogue key. Nothing here knows HTTP: the web layer maps a kind to a
//! status and renders JSON or a page (`web::errors`), the CLI prints
//! [`ErrorInfo::message`], and the bot will send it as a reply — all in the
//! caller's language.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    BadRequest,
    Validation,
    Unauthorized,
    InvalidCredentials,
    AccountLocked,
    AccountInactive,
    TokenReused,
    RateLimited,
    Forbidden,
    /// Signed in with a password someone else gave: only choosing one's own
    /// (and signing out) is open.
    PasswordChangeRequired,
    CsrfFailed,
    WrongCompany,
    CompanyInactive,
    /// The company was archived by the platform: it serves nothing (410).
    CompanyArchived,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Timeout,
    /// The disk is full: nothing can be saved until space is freed.
    StorageFull,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 23] = [
        ErrorKind::BadRequest,
        ErrorKind::Validation,
        ErrorKind::Unauthorized,
        ErrorKind::InvalidCredentials,
        ErrorKind::AccountLocked,
        ErrorKind::AccountInactive,
        ErrorKind::TokenReused,
        ErrorKind::RateLimited,
        ErrorKind::Forbidden,
        ErrorKind::PasswordChangeRequired,
        ErrorKind::CsrfFailed,
        ErrorKind::WrongCompany,
        ErrorKind::CompanyInactive,
        ErrorKind::CompanyArchived,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Conflict,
        ErrorKind::PayloadTooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::Timeout,
        ErrorKind::StorageFull,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The stable snake_case name that API clients match on.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Validation => "validation",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::InvalidCredentials => "invalid_credentials",
            ErrorKind::AccountLocked => "account_locked",
            ErrorKind::AccountInactive => "account_inactive",
            ErrorKind::TokenReused => "token_reused",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::PasswordChangeRequired => "password_change_required",
            ErrorKind::CsrfFailed => "csrf_failed",
            ErrorKind::WrongCompany => "wrong_company",
            ErrorKind::CompanyInactive => "company_inactive",
            ErrorKind::CompanyArchived => "company_archived",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::Timeout => "timeout",
            ErrorKind::StorageFull => "storage_full",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The catalogue key of the generic message of this kind.
    pub fn message_key(self) -> String {
        format!("error.{}", self.code())
    }
}

/// What the response renderer needs to write the error in the caller's
/// language; travels in the response extensions.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub field: Option<&'static str>,
    pub message_key: Option<&'static str>,
    pub args: Vec<(&'static str, String)>,
}

#[derive(Debug)]
pub struct AppError {
    pub kind: ErrorKind,
    /// The input field at fault, for validation errors.
    pub field: Option<&'static str>,
    /// A more precise catalogue key than the kind's generic message.
    pub message_key: Option<&'static str>,
    pub args: Vec<(&'static str, String)>,
    /// Seconds after which the caller may try again.
    pub retry_after: Option<u64>,
    /// Said in the log only, never to the user.
    pub detail: Option<String>,
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(kind: ErrorKind) -> Self {
        AppError { kind, field: None, message_key: None, args: Vec::new(), retry_after: None, detail: None, source: None }
    }

    /// The same error for one more caller: everything but its cause (which
    /// cannot be cloned and stays with the original).
    pub fn clone_for_caller(&self) -> AppError {
        AppError {
            field: self.field,
            message_key: self.message_key,
            args: self.args.clone(),
            retry_after: self.retry_after,
            detail: self.detail.clone(),
            ..AppError::new(self.kind)
        }
    }

    #[track_caller]
    pub fn internal(source: anyhow::Error) -> Self {
        let loc = std::panic::Location::caller();
        AppError { detail: Some(format!("at {}:{}", loc.file(), loc.line())), source: Some(source), ..AppError::new(ErrorKind::Internal) }
    }

    /// A validation error on a field whose name is made at run time
    /// (`fields.passport`, a key of a category's form): see [`field_name`].
    pub fn invalid_field(field: String, key: &'static str) -> Self {
        AppError::invalid(field_name(field), key)
    }

    /// A validation error on `field` with the message `key`.
    pub fn invalid(field: &'static str, key: &'static str) -> Self {
        AppError { field: Some(field), message_key: Some(key), ..AppError::new(ErrorKind::Validation) }
    }

    /// Checks a text field: no control characters (line breaks and tabs
    /// only where `multiline`), at most `max` characters. A control character
    /// is named as such, not as a length.
    pub fn check_text(field: &'static str, v: &str, max: usize, multiline: bool) -> Result<(), AppError> {
        if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
            return Err(AppError::invalid(field, "validation.control_char"));
        }
        if v.chars().count() > max {
            return Err(AppError::invalid(field, "validation.text_too_long").with_arg("max", max));
        }
        Ok(())
    }

    pub fn with_message(mut self, key: &'static str) -> Self {
        self.message_key = Some(key);
        self
    }

    pub fn with_arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn info(&self) -> ErrorInfo {
        ErrorInfo { kind: self.kind, field: self.field, message_key: self.message_key, args: self.args.clone() }
    }
}

impl ErrorInfo {
    /// The translated message of the error.
    pub fn message(&self, lang: crate::i18n::Lang) -> String {
        let key = self.message_key.map(str::to_string).unwrap_or_else(|| self.kind.message_key());
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::i18n::tf(lang, &key, &args)
    }
}

impl From<ErrorKind> for AppError {
    fn from(kind: ErrorKind) -> Self {
        AppError::new(kind)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.code())?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if let Some(s) = &self.source {
            write!(f, ": {s:#}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A field name made at run time, as the `&'static str` errors carry:
/// each distinct name is kept once for the life of the process. The names
/// are keys of request forms (a few hundred per company at most); past
/// [`FIELD_NAMES_MAX`] distinct names the rest are reported as `fields`.
pub fn field_name(name: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(|| Mutex::new(HashSet::new())).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(name.as_str()) {
        return n;
    }
    if names.len() >= FIELD_NAMES_MAX {
        return "fields";
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Most distinct run-time field names [`field_name`] keeps.
pub const FIELD_NAMES_MAX: usize = 10_000;
