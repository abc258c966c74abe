//! Helpers over raw JSON bytes that several layers share; nothing here
//! knows about entities or formats.

pub(crate) mod index;
pub(crate) mod shape;
pub(crate) mod skip;
pub(crate) mod walk;

/// Is `b` JSON whitespace (space, tab, CR, LF)? The one definition the
/// byte-level helpers share.
pub(crate) fn is_ws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `bytes` without surrounding JSON whitespace, and where that starts.
pub(crate) fn trim_ws_at(bytes: &[u8]) -> (usize, &[u8]) {
    let start = bytes
        .iter()
        .position(|&b| !is_ws_byte(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ws_byte(b))
        .map_or(start, |e| e + 1);
    (start, &bytes[start..end])
}
