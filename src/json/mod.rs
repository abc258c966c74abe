//! Helpers over raw JSON bytes that several layers share; nothing here
//! knows about entities or formats.

pub(crate) mod index;
pub(crate) mod shape;
pub(crate) mod skip;
pub(crate) mod walk;
