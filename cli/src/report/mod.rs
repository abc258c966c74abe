//! How `stats` shows a [`StatsReport`](stream_chat_export::StatsReport):
//! terminal tables, a self-contained HTML page, and the time zone it is
//! counted in.

pub mod html;
pub mod text;
pub mod zone;

/// A name from the data made safe for a terminal: control characters
/// (escape sequences could rewrite the screen) become `?`, and the
/// result is cut to `max` characters with an ellipsis.
pub fn clean(name: &str, max: usize) -> String {
    let cut = name.chars().count() > max;
    let keep = if cut { max.saturating_sub(1) } else { max };
    let mut out: String = name
        .chars()
        .take(keep)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if cut {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn names_are_cut_and_cleaned() {
        assert_eq!(clean("general", 10), "general");
        assert_eq!(clean("abcdefghijkl", 5), "abcd…");
        assert_eq!(clean("a\u{1b}[2Jb", 10), "a?[2Jb");
        assert_eq!(clean("", 3), "");
    }
}
