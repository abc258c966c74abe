//! Where bytes come from: the one input policy (mapped file or stream),
//! the rolling window the framers read through, gzip and line numbers.

pub(crate) mod input;
pub(crate) mod source;
