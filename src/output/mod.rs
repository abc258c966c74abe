//! Output: v2 lines, and destinations that are complete or absent, never
//! half-written, and never one of the inputs.

mod file;
mod same;
mod v2;

pub use file::Output;
pub use same::ensure_not_an_input;
pub(crate) use v2::minify_into as minify;
pub use v2::{V2Writer, write_v2_line};
