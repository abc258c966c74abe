//! Structural reading of raw JSON bytes already in memory: whitespace,
//! a key's raw bytes, a value's extent (strings and brackets only, not
//! validated). Used where a decision is taken from a record's first keys
//! (format detection, whether a damaged line is a v1 channel object)
//! without parsing it.

/// Skips whitespace; the byte then at `*at`, if any.
pub(crate) fn skip_ws(bytes: &[u8], at: &mut usize) -> Option<u8> {
    while let Some(&b) = bytes.get(*at) {
        if !super::is_ws_byte(b) {
            return Some(b);
        }
        *at += 1;
    }
    None
}

/// Reads a key's raw bytes (between its quotes) at `*at` (after
/// whitespace), leaving `*at` after the closing quote.
pub(crate) fn read_key<'b>(bytes: &'b [u8], at: &mut usize) -> Option<&'b [u8]> {
    if skip_ws(bytes, at) != Some(b'"') {
        return None;
    }
    let from = *at + 1;
    let end = string_end(bytes, from)?;
    *at = end + 1;
    Some(&bytes[from..end])
}

/// The offset of the quote closing a string whose content starts at
/// `from`.
pub(crate) fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let i = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[i] == b'"' {
            return Some(i);
        }
        from = i + 2;
    }
}

/// Skips one value at `*at` (structurally: strings and brackets, not
/// validated: the framer that reads the input does that); false when
/// `bytes` ends inside it.
pub(crate) fn skip_value(bytes: &[u8], at: &mut usize) -> bool {
    match bytes.get(*at) {
        Some(b'"') => match string_end(bytes, *at + 1) {
            Some(end) => {
                *at = end + 1;
                true
            }
            None => false,
        },
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            while let Some(&b) = bytes.get(*at) {
                match b {
                    b'"' => match string_end(bytes, *at + 1) {
                        Some(end) => *at = end,
                        None => return false,
                    },
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            *at += 1;
                            return true;
                        }
                    }
                    _ => {}
                }
                *at += 1;
            }
            false
        }
        Some(_) => {
            while let Some(&b) = bytes.get(*at) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    return true;
                }
                *at += 1;
            }
            false
        }
        None => false,
    }
}
