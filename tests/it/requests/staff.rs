//! (filled by the requests work)
