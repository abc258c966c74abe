//! One file per subcommand.

pub mod convert;
pub mod export;
pub mod filter;
pub mod inspect;
pub mod stats;
pub mod validate;
