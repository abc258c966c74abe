//! One file per subcommand.

pub mod convert;
pub mod filter;
pub mod inspect;
pub mod validate;
