//! One buffered row of a Parquet table: built from an entity (its typed
//! cells and `extra_json`), its strings in one allocation.

use super::{CHANNELS, Col, From, MEMBERS, MESSAGES, OTHERS, REACTIONS, Ty, USERS, layout_of};
use crate::error::{Error, ErrorKind, Result};
use crate::model::entity::Entity;
use crate::model::timestamp::Timestamp;
use crate::project::object::{Member, Raw, as_str, members};
use std::borrow::Cow;

/// One buffered row: the sort keys, the typed cells, `extra_json`. Its
/// strings share one allocation, `text`: the cid, the string cells, then
/// `extra_json` (rows are built by the million, and an allocation each
/// for every string showed in profiles).
#[derive(Debug)]
pub(crate) struct Row {
    pub(super) text: Box<str>,
    pub(super) cid: Option<Span>,
    pub(super) created_at: Option<i64>,
    /// The input's index and the entity's offset in it: the last sort key,
    /// so equal keys keep input order whichever thread built the row.
    pub(super) order: (u32, u64),
    /// A time typed truncated (its text kept in extra_json too).
    pub(super) kept_text: bool,
    pub(super) cells: [Cell; MAX_COLUMNS],
    /// Where `extra_json` starts in `text` (it runs to the end).
    pub(super) extra: u32,
}

/// The most typed columns of a table.
pub(super) const MAX_COLUMNS: usize = 10;
const _: () = assert!(
    MESSAGES.len() <= MAX_COLUMNS
        && REACTIONS.len() <= MAX_COLUMNS
        && MEMBERS.len() <= MAX_COLUMNS
        && CHANNELS.len() <= MAX_COLUMNS
        && USERS.len() <= MAX_COLUMNS
        && OTHERS.len() <= MAX_COLUMNS
);

/// A string of a row: `text[start..end]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span(u32, u32);

#[derive(Debug, Clone, Copy)]
pub(super) enum Cell {
    Null,
    Str(Span),
    Int(i64),
    Bool(bool),
    Micros(i64),
}

impl Row {
    pub(super) fn str(&self, span: Span) -> &str {
        self.text
            .get(span.0 as usize..span.1 as usize)
            .unwrap_or_default()
    }

    pub(super) fn cid(&self) -> Option<&str> {
        self.cid.map(|c| self.str(c))
    }

    pub(super) fn extra(&self) -> &str {
        self.text.get(self.extra as usize..).unwrap_or_default()
    }
}

/// A typed value before it is stored in a row.
enum Typed<'e> {
    Null,
    Str(Cow<'e, str>),
    Int(i64),
    Bool(bool),
    Micros(i64),
}

/// Appends `s` to a row's text; returns where it is.
fn push_str(text: &mut Vec<u8>, s: &str) -> Span {
    let start = text.len();
    text.extend_from_slice(s.as_bytes());
    Span(span_offset(start), span_offset(text.len()))
}

/// A row's text is one entity's JSON and a few of its values: far below
/// 4 GiB (lines are capped by `max_line`, v1 entities by memory).
fn span_offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Builds `entity`'s row (on a worker or on the sink alike).
pub(super) fn build_row(entity: &Entity<'_>, input: u32) -> Result<Row> {
    let layout = layout_of(entity.kind());
    let repaired = crate::tables::repaired_raw(entity);
    let raw: &str = repaired.as_deref().unwrap_or(entity.raw_str());
    // The decoder saw no whitespace outside strings: values are copied.
    let compact = repaired.is_none() && entity.compact.0;
    let entries = members(raw).map_err(|e| {
        Error::new(ErrorKind::Usage(format!(
            "entity at byte {}: not a JSON object: {e}",
            entity.offset()
        )))
    })?;
    let mut text = Vec::with_capacity(raw.len() + 64);
    let cid = entity.cid().map(|c| push_str(&mut text, c));
    let mut kept_text = false;
    // The keys the typed cells hold exactly (at most one per column).
    let mut absorbed: [&str; MAX_COLUMNS] = [""; MAX_COLUMNS];
    let mut absorbed_len = 0;
    let mut cells = [Cell::Null; MAX_COLUMNS];
    for (col, slot) in layout.iter().zip(&mut cells) {
        let (value, key) = typed(entity, &entries, col);
        if key.is_none() && matches!(value, Typed::Micros(_)) && matches!(col.from, From::Key(_)) {
            // A time the column holds truncated: its text stays too.
            kept_text = true;
        }
        if let Some(key) = key
            && absorbed_len < MAX_COLUMNS
        {
            absorbed[absorbed_len] = key;
            absorbed_len += 1;
        }
        *slot = match value {
            Typed::Null => Cell::Null,
            Typed::Str(s) => Cell::Str(push_str(&mut text, &s)),
            Typed::Int(n) => Cell::Int(n),
            Typed::Bool(b) => Cell::Bool(b),
            Typed::Micros(us) => Cell::Micros(us),
        };
    }
    let extra = span_offset(text.len());
    text.push(b'{');
    let mut first = true;
    for m in &entries {
        if absorbed[..absorbed_len].contains(&m.key.as_ref()) {
            continue;
        }
        if !first {
            text.push(b',');
        }
        first = false;
        // The key as the file wrote it: a string the scanner validated,
        // so it can never change the structure.
        text.extend_from_slice(m.quoted.as_bytes());
        text.push(b':');
        if compact {
            text.extend_from_slice(m.value.get().as_bytes());
        } else {
            crate::output::minify(m.value.get().as_bytes(), &mut text);
        }
    }
    text.push(b'}');
    let created_at = entity.created_at().map(micros);
    // Whole UTF-8 strings, JSON and ASCII punctuation: valid, and checked
    // at SIMD speed; the buffer becomes the row's text in place (a copy
    // per row, a gigabyte per gigabyte of input, showed in profiles).
    let text = match simdutf8::basic::from_utf8(&text) {
        // SAFETY: `text` was just checked to be UTF-8.
        Ok(_) => unsafe { String::from_utf8_unchecked(text) }.into_boxed_str(),
        Err(_) => Box::default(),
    };
    Ok(Row {
        text,
        cid,
        created_at,
        order: (input, entity.offset()),
        kept_text,
        cells,
        extra,
    })
}

/// The estimated heap size of a row.
pub(super) fn row_bytes(row: &Row) -> usize {
    std::mem::size_of::<Row>() + row.text.len()
}

/// A typed cell and the top-level key it absorbs (when the value is held
/// exactly).
fn typed<'e>(
    entity: &'e Entity<'_>,
    entries: &[Member<'e>],
    col: &Col,
) -> (Typed<'e>, Option<&'static str>) {
    match col.from {
        From::Cid | From::UserId => {
            let (resolved, key) = match col.from {
                From::Cid => (entity.cid(), "cid"),
                _ => (entity.user_id(), "user_id"),
            };
            let cell = resolved.map_or(Typed::Null, |s| Typed::Str(Cow::Borrowed(s)));
            let exact = match last(entries, key) {
                Some(v) => {
                    v.get() == "null" || as_str(v).is_some_and(|s| Some(s.as_ref()) == resolved)
                }
                None => false,
            };
            (cell, exact.then_some(key))
        }
        From::Key(key) => match last(entries, key).and_then(|v| convert(v.get(), col.ty)) {
            None => (Typed::Null, None),
            Some((cell, exact)) => (cell, exact.then_some(key)),
        },
        From::Nested(key, inner) => {
            let value = last(entries, key)
                .and_then(|v| members(v.get()).ok())
                .and_then(|e| last(&e, inner).and_then(|v| convert(v.get(), col.ty)))
                .map(|(cell, _)| cell);
            // The object stays whole in extra_json.
            (value.unwrap_or(Typed::Null), None)
        }
    }
}

/// `raw` as a cell of type `ty` (`null` is one), and whether the cell
/// holds it exactly: a time with digits beyond the microsecond is typed
/// truncated, and its text is kept in `extra_json` too.
fn convert(raw: &str, ty: Ty) -> Option<(Typed<'_>, bool)> {
    if raw == "null" {
        return Some((Typed::Null, true));
    }
    let cell = match ty {
        Ty::Str => as_str(Raw::trusted(raw)).map(Typed::Str),
        Ty::Int => raw.parse::<i64>().ok().map(Typed::Int),
        Ty::Bool => match raw {
            "true" => Some(Typed::Bool(true)),
            "false" => Some(Typed::Bool(false)),
            _ => None,
        },
        Ty::Time => {
            let text = as_str(Raw::trusted(raw))?;
            let t = Timestamp::parse(&text)?;
            return Some((Typed::Micros(micros(t)), t.subsec_nanos() % 1000 == 0));
        }
    };
    cell.map(|c| (c, true))
}

pub(super) fn micros(t: Timestamp) -> i64 {
    t.unix_seconds()
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(t.subsec_nanos() / 1000))
}

/// The last value of `key` (the one `serde_json::Value` keeps).
fn last<'e>(entries: &[Member<'e>], key: &str) -> Option<Raw<'e>> {
    entries.iter().rev().find(|m| m.key == key).map(|m| m.value)
}

#[cfg(test)]
mod tests {
    use super::super::day_name;
    use super::*;

    #[test]
    fn extra_json_keeps_what_the_columns_do_not_hold() {
        let line = concat!(
            r#"{"type":"message","item":{"id":"m1","c\u0041":1,"text":"hi","#,
            r#""n":null,"user":{"id":"u1"},"reply_count":1.5,"cid":"messaging:x","#,
            r#""created_at":"2024-03-01T10:00:00.123456789Z","x":[1, 2]}}"#
        );
        let e = crate::ReaderBuilder::new()
            .from_slice(line.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let row = build_row(&e, 0).unwrap();
        let extra: serde_json::Value = serde_json::from_str(row.extra()).unwrap();
        // Held exactly by a column: id, text, cid. Not held (a float in
        // the Int column, a time cut to microseconds) or not a column:
        // kept, escapes decoded by any reader, nulls and whitespace as JSON.
        let expected = serde_json::json!({
            "cA": 1, "n": null, "user": {"id": "u1"}, "reply_count": 1.5,
            "created_at": "2024-03-01T10:00:00.123456789Z", "x": [1, 2]
        });
        assert_eq!(extra, expected);
        assert!(
            row.extra().contains(r#""x":[1,2]"#),
            "minified: {}",
            row.extra()
        );
        assert_eq!(row.cid(), Some("messaging:x"));
        assert!(row.kept_text);
        assert!(matches!(row.cells[1], Cell::Str(s) if row.str(s) == "m1"));
        assert!(matches!(row.cells[4], Cell::Str(s) if row.str(s) == "hi"));
        assert!(matches!(row.cells[9], Cell::Null));
    }

    #[test]
    fn days_and_micros() {
        assert_eq!(day_name(0), "1970-01-01");
        assert_eq!(day_name(-1), "1969-12-31");
        let t = Timestamp::parse("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(day_name(micros(t).div_euclid(86_400_000_000)), "0001-01-01");
        let t = Timestamp::parse("2024-03-01T10:00:00.123456Z").unwrap();
        assert_eq!(micros(t) % 1_000_000, 123_456);
    }

    #[test]
    fn times_that_lose_digits_are_not_exact() {
        assert!(matches!(
            convert("\"2024-03-01T10:00:00.123456789Z\"", Ty::Time),
            Some((Typed::Micros(_), false))
        ));
        assert!(matches!(
            convert("\"2024-03-01T10:00:00.5Z\"", Ty::Time),
            Some((Typed::Micros(_), true))
        ));
        assert!(convert("12", Ty::Time).is_none());
        assert!(matches!(
            convert("null", Ty::Time),
            Some((Typed::Null, true))
        ));
        assert!(convert("1.5", Ty::Int).is_none());
    }
}
