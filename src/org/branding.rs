//! A company's branding: primary colour and logo, applied to every page of
//! that company through `/c/<slug>/brand.css` and `/c/<slug>/logo`.

use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, BrandingV1};
use crate::store::{Db, store_err};
use crate::tenancy::Tenant;

pub const DEFAULT_COLOR: &str = "#1f6feb";
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

pub fn get(db: &Db) -> Result<BrandingV1, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(schema::SETTINGS).map_err(store_err)?;
    Ok(match schema::BRANDING.get(&t)? {
        Some(b) => b,
        None => BrandingV1 { primary_color: None, logo_content_type: None, logo_version: 0 },
    })
}

fn get_or_default(t: &Tenant) -> BrandingV1 {
    t.db().and_then(get).unwrap_or(BrandingV1 { primary_color: None, logo_content_type: None, logo_version: 0 })
}

/// A number that changes whenever the branding does, for cache-busting URLs.
pub fn version(t: &Tenant) -> String {
    let b = get_or_default(t);
    let color = b.primary_color.unwrap_or_default();
    format!("{}{}", b.logo_version, color.trim_start_matches('#'))
}

pub fn has_logo(t: &Tenant) -> bool {
    get_or_default(t).logo_content_type.is_some()
}

/// `#rrggbb`, lower-cased.
pub fn parse_color(s: &str) -> Result<String, AppError> {
    let s = s.trim().to_ascii_lowercase();
    let ok = s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(s) } else { Err(AppError::invalid("primary_color", "validation.color")) }
}

/// Image types a logo may have, told by their first bytes (the declared
/// type is not trusted). SVG is refused: it can carry scripts.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

pub struct BrandingChange {
    /// `Some(None)` goes back to the default colour.
    pub primary_color: Option<Option<String>>,
    pub logo: Option<Vec<u8>>,
    pub remove_logo: bool,
}

pub async fn update(state: &AppState, tenant: &Tenant, actor: &Caller, change: BrandingChange) -> Result<BrandingV1, AppError> {
    // The platform sets a company's logo from its console (at creation or later).
    if !matches!(actor, Caller::Platform { .. }) {
        actor.require("branding.manage")?;
    }
    let color = match change.primary_color {
        Some(Some(c)) if !c.trim().is_empty() => Some(Some(parse_color(&c)?)),
        Some(_) => Some(None),
        None => None,
    };
    let logo = match change.logo {
        Some(bytes) if !bytes.is_empty() => {
            if bytes.len() > MAX_LOGO_BYTES {
                return Err(AppError::new(ErrorKind::PayloadTooLarge)
                    .with_message("validation.logo_size")
                    .with_arg("kb", MAX_LOGO_BYTES / 1024));
            }
            let ct =
                sniff_image(&bytes).ok_or_else(|| AppError::new(ErrorKind::UnsupportedMediaType).with_message("validation.logo_type"))?;
            Some((bytes, ct))
        }
        _ => None,
    };
    let remove = change.remove_logo;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut settings = tx.open_table(schema::SETTINGS).map_err(store_err)?;
            let old = match schema::BRANDING.get(&settings)? {
                Some(b) => b,
                None => BrandingV1 { primary_color: None, logo_content_type: None, logo_version: 0 },
            };
            let mut b = old.clone();
            let mut ch = Changes::default();
            if let Some(c) = &color {
                ch.diff_opt("primary_color", &old.primary_color, c);
                b.primary_color = c.clone();
            }
            let mut blobs = tx.open_table(schema::BLOBS).map_err(store_err)?;
            if let Some((bytes, ct)) = &logo {
                blobs.insert("logo", bytes.as_slice()).map_err(store_err)?;
                b.logo_content_type = Some(ct.to_string());
                b.logo_version = old.logo_version + 1;
                ch.set("logo", format!("{ct}, {} KB", bytes.len().div_ceil(1024)));
            } else if remove && old.logo_content_type.is_some() {
                blobs.remove("logo").map_err(store_err)?;
                b.logo_content_type = None;
                b.logo_version = old.logo_version + 1;
                ch.set("logo", "-");
            }
            drop(blobs);
            if !ch.is_empty() {
                schema::BRANDING.put(&mut settings, &b)?;
                drop(settings);
                audit::record(tx, now, &who, "branding.update", "branding", ch.0)?;
            }
            Ok(b)
        })
        .await
}

/// The company's colour as CSS variables (served as `/c/<slug>/brand.css`).
pub fn css(db: &Db) -> Result<String, AppError> {
    let color = get(db)?.primary_color.unwrap_or_else(|| DEFAULT_COLOR.to_string());
    Ok(format!(":root{{--brand:{color};}}\n"))
}

/// The logo image and its content type; not found when the company has none.
pub fn logo(db: &Db) -> Result<(String, Vec<u8>), AppError> {
    let Some(ct) = get(db)?.logo_content_type else { return Err(ErrorKind::NotFound.into()) };
    let tx = db.read()?;
    let t = tx.open_table(schema::BLOBS).map_err(store_err)?;
    let bytes = t.get("logo").map_err(store_err)?.map(|v| v.value().to_vec()).ok_or(ErrorKind::NotFound)?;
    Ok((ct, bytes))
}
