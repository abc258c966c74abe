//! The few regular expressions and formats the import rules use, matched
//! without a regex engine: a character class repeated over the whole
//! string (`^[\w-]*$`, `^[@\w-]*$`, `^[\w-+:.]*$`, `^[\w!-]*$`) and a
//! literal prefix (`^https://`). `\w` is ASCII `[A-Za-z0-9_]`, as in
//! ECMAScript (JSON Schema) and Go's RE2 (stream-cli).

/// Can [`matches`] evaluate this pattern?
pub(crate) fn supported(pattern: &str) -> bool {
    class(pattern).is_some() || prefix(pattern).is_some()
}

/// Does `text` match `pattern` (one of the [supported](supported) shapes)?
/// An unsupported pattern matches nothing, so it can never pass silently.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    if let Some(allowed) = class(pattern) {
        return text.chars().all(|c| allowed.contains(c));
    }
    if let Some(p) = prefix(pattern) {
        return text.starts_with(p.as_str());
    }
    false
}

/// A set of characters: ASCII word characters plus listed extras.
struct Class {
    word: bool,
    extra: Vec<char>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        (self.word && (c.is_ascii_alphanumeric() || c == '_')) || self.extra.contains(&c)
    }
}

/// `^[...]*$`: the class inside. Inside it `\w` is the word class, any
/// other escape is its character, and `-` is literal (the schemas write it
/// next to `\w`, where it cannot form a range).
fn class(pattern: &str) -> Option<Class> {
    let inner = pattern.strip_prefix("^[")?.strip_suffix("]*$")?;
    let mut class = Class {
        word: false,
        extra: Vec::new(),
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'w' => class.word = true,
                other if other.is_ascii_alphanumeric() => return None,
                other => class.extra.push(other),
            },
            '[' | ']' | '^' => return None,
            other => class.extra.push(other),
        }
    }
    Some(class)
}

/// `^literal` with no special characters after the anchor.
fn prefix(pattern: &str) -> Option<String> {
    let rest = pattern.strip_prefix('^')?;
    let special = |c: char| "\\.[]()*+?{}|^$".contains(c);
    if rest.is_empty() || rest.chars().any(special) {
        return None;
    }
    Some(rest.to_string())
}

/// RFC 3339 date-time (`2024-03-01T10:00:00Z`, fractions and offsets
/// allowed), as JSON Schema's `date-time` format and Go's `time.RFC3339`
/// parser require.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A URI: a scheme (`[A-Za-z][A-Za-z0-9+.-]*`), a colon, and no
/// whitespace or control characters.
pub(crate) fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut s = scheme.chars();
    s.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A time as Go's `time.Time.Format(time.RFC3339)` prints it (what
/// stream-cli's messages show): whole seconds, `Z` for UTC.
pub(crate) fn go_rfc3339(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) if t.offset().local_minus_utc() == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Ok(t) => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(matches(r"^[\w-]*$", "channel_A-1"));
        assert!(!matches(r"^[\w-]*$", "channelA@abc"));
        assert!(!matches(r"^[\w-]*$", "!members-x"));
        assert!(matches(r"^[\w!-]*$", "!members-x"));
        assert!(matches(r"^[@\w-]*$", "@ann"));
        assert!(!matches(r"^[@\w-]*$", "invalid|user id"));
        assert!(matches(r"^[\w-+:.]*$", "thumbs:up+1.x"));
        assert!(!matches(r"^[\w-+:.]*$", "❤"));
        assert!(!matches(r"^[\w-]*$", "é"), "\\w is ASCII");
        assert!(matches("^https://", "https://x"));
        assert!(!matches("^https://", "http://x"));
        assert!(!supported("^(a|b)$"));
        assert!(!matches("^(a|b)$", "a"));
    }

    #[test]
    fn formats() {
        assert!(is_rfc3339("2022-02-14T12:34:30+00:00"));
        assert!(is_rfc3339("2025-01-23T13:06:58.365621247Z"));
        assert!(!is_rfc3339("2022-02-14"));
        assert!(is_uri("https://a/b"));
        assert!(!is_uri("no scheme"));
        assert_eq!(
            go_rfc3339("2022-02-14T12:34:30+00:00"),
            "2022-02-14T12:34:30Z"
        );
    }
}
