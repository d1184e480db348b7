//! Task reports (being written).

use crate::error::{AppError, ErrorKind};
use crate::reports::{Ctx, Report};

pub fn employee(_ctx: &Ctx) -> Result<Report, AppError> {
    Err(ErrorKind::NotFound.into())
}
pub fn department(_ctx: &Ctx) -> Result<Report, AppError> {
    Err(ErrorKind::NotFound.into())
}
pub fn ranking(_ctx: &Ctx) -> Result<Report, AppError> {
    Err(ErrorKind::NotFound.into())
}
pub fn company(_ctx: &Ctx) -> Result<Report, AppError> {
    Err(ErrorKind::NotFound.into())
}
