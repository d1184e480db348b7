//! Request categories (admin): names in three languages, icon and colour,
//! team, default priority, SLA targets and the form; and the check of a
//! filed form against its category.
//!
//! INTERIM: `check_fields` is a first cut the categories work replaces.

use crate::error::AppError;
use crate::store::schema::{FieldKind, FieldValue, RequestCategoryV1};
use std::collections::BTreeMap;

/// Checks the answers of a filed form against its category's fields, in the
/// form's order: a required field missing names the field
/// (`fields.<key>`), a choice outside its options is a 422. Returns the
/// values with the labels they were filed under, and the file ids named by
/// file fields (the request attaches them).
pub fn check_fields(cat: &RequestCategoryV1, input: &BTreeMap<String, String>) -> Result<(Vec<FieldValue>, Vec<u64>), AppError> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    for f in &cat.fields {
        let v = input.get(&f.key).map(|s| s.trim()).unwrap_or("");
        if v.is_empty() {
            if f.required {
                return Err(AppError::invalid_field(format!("fields.{}", f.key), "validation.required"));
            }
            continue;
        }
        let mut shown = None;
        if f.kind == FieldKind::Choice {
            let Some(o) = f.options.iter().find(|o| o.key == v) else {
                return Err(AppError::invalid_field(format!("fields.{}", f.key), "validation.request_choice"));
            };
            shown = Some(o.labels.clone());
        }
        if f.kind == FieldKind::File {
            let id = v.parse::<u64>().map_err(|_| AppError::invalid_field(format!("fields.{}", f.key), "files.unknown"))?;
            files.push(id);
        }
        out.push(FieldValue { key: f.key.clone(), kind: f.kind, labels: f.labels.clone(), value: v.to_string(), shown });
    }
    Ok((out, files))
}
