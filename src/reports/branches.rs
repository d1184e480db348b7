//! The branch comparison (being written).

use super::{Ctx, Report};
use crate::error::{AppError, ErrorKind};

pub fn report(_ctx: &Ctx) -> Result<Report, AppError> {
    Err(ErrorKind::NotFound.into())
}
