//! The one entity API: the reader builder, the lending [`Reader`] for every
//! source and the borrowing [`SliceReader`], with channel resolution.
//!
//! [`Reader`]: crate::Reader
//! [`SliceReader`]: crate::SliceReader

pub(crate) mod context;
pub(crate) mod reader;
