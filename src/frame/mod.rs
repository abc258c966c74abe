//! Cutting input into records: format detection, the line framer and the
//! v1 document walker. Framers address bytes by absolute offset and hand
//! each record's span to the decoder.

pub(crate) mod detect;
pub(crate) mod lines;
pub(crate) mod v1;
