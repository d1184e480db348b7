//! A user's saved filters of the requests list (filled by the staff pages work).
