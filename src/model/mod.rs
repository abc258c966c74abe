//! What an export is: entities, their kinds, the key table and timestamps.
//! No parsing of records and no I/O.

pub(crate) mod entity;
pub(crate) mod keys;
pub(crate) mod timestamp;
