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
fn push_str(text: &mut String, s: &str) -> Span {
    let start = text.len();
    text.push_str(s);
    Span(span_offset(start), span_offset(text.len()))
}

/// A row's text is one entity's JSON and a few of its values: far below
/// 4 GiB (lines are capped by `max_line`, v1 entities by memory).
fn span_offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// The fields [`build_row`] has the decoder record in its pass
/// (`Job::prefetch_fields`): every typed column's key of messages,
/// reactions and the tables of other kinds. Members, channels and users
/// (small tables; their keys would not fit) take the scanning path.
pub(super) const PREFETCH: &[&str] = &[
    "cid",
    "id",
    "user_id",
    "type",
    "text",
    "parent_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "reply_count",
    "message_id",
    "score",
];
const _: () = assert!(PREFETCH.len() <= crate::model::entity::MAX_EXTRAS);

/// Builds `entity`'s row (on a worker or on the sink alike).
pub(super) fn build_row(entity: &Entity<'_>, input: u32) -> Result<Row> {
    match from_spans(entity, input) {
        Some(row) => Ok(row),
        None => from_scan(entity, input),
    }
}

/// The row of an entity whose typed columns' places the decoder recorded
/// ([`PREFETCH`]): no second scan of its object. `extra_json` is the
/// object with the absorbed members cut out, copied in slices; `None`
/// when anything is unusual (not recorded, a repeated key, whitespace to
/// minify, repaired text, a column not recorded), for [`from_scan`].
fn from_spans(entity: &Entity<'_>, input: u32) -> Option<Row> {
    if !entity.compact.0 || entity.is_lossy() {
        return None;
    }
    let layout = layout_of(entity.kind());
    let spans = entity.extra_spans()?;
    let raw = entity.raw_str();
    let slot = |key: &str| PREFETCH.iter().position(|k| *k == key);
    let mut keys: [&str; MAX_COLUMNS] = [""; MAX_COLUMNS];
    let mut slots = [0usize; MAX_COLUMNS];
    for ((col, key), i) in layout.iter().zip(&mut keys).zip(&mut slots) {
        *key = match col.from {
            From::Key(k) => k,
            From::Cid => "cid",
            From::UserId => "user_id",
            From::Nested(..) => return None,
        };
        *i = slot(key)?;
    }
    let value = |key: &str| -> Option<Raw<'_>> {
        let span = spans.get(slot(key)?)?.clone()?;
        raw.get(span).map(Raw::trusted)
    };
    let mut text = String::with_capacity(raw.len() + 64);
    let cid = entity.cid().map(|c| push_str(&mut text, c));
    let mut kept_text = false;
    // The members the typed cells hold exactly, as byte ranges of `raw`.
    let mut cut: [std::ops::Range<usize>; MAX_COLUMNS] = Default::default();
    let mut cuts = 0;
    let mut cells = [Cell::Null; MAX_COLUMNS];
    for (((col, cell), key), i) in layout.iter().zip(&mut cells).zip(keys).zip(slots) {
        let (typed, absorbed) = typed(entity, &value, col);
        if absorbed.is_none()
            && matches!(typed, Typed::Micros(_))
            && matches!(col.from, From::Key(_))
        {
            kept_text = true;
        }
        if absorbed.is_some()
            && let Some(span) = spans.get(i)?.clone()
        {
            // Compact, its key unescaped (the fast path takes no other):
            // the member is `"key":value`.
            let start = span.start.checked_sub(key.len() + 3)?;
            if !is_member_head(raw.as_bytes().get(start..span.start)?, key) {
                return None;
            }
            cut[cuts] = start..span.end;
            cuts += 1;
        }
        *cell = match typed {
            Typed::Null => Cell::Null,
            Typed::Str(s) => Cell::Str(push_str(&mut text, &s)),
            Typed::Int(n) => Cell::Int(n),
            Typed::Bool(b) => Cell::Bool(b),
            Typed::Micros(us) => Cell::Micros(us),
        };
    }
    let extra = span_offset(text.len());
    let body = raw.strip_prefix('{')?.strip_suffix('}')?;
    let cut = &mut cut[..cuts];
    cut.sort_unstable_by_key(|r| r.start);
    text.push('{');
    let mut first = true;
    let mut keep = |piece: &str, text: &mut String| {
        // Between cuts: whole members and the commas around them.
        let piece = piece.trim_matches(',');
        if !piece.is_empty() {
            if !first {
                text.push(',');
            }
            first = false;
            text.push_str(piece);
        }
    };
    // `body` starts one byte into `raw`.
    let mut at = 0;
    for r in cut.iter() {
        keep(body.get(at..r.start.checked_sub(1)?)?, &mut text);
        at = r.end - 1;
    }
    keep(body.get(at..)?, &mut text);
    text.push('}');
    Some(Row {
        text: text.into_boxed_str(),
        cid,
        created_at: entity.created_at().map(micros),
        order: (input, entity.offset()),
        kept_text,
        cells,
        extra,
    })
}

/// Whether `head` is `"key":`, the head of a compact member.
fn is_member_head(head: &[u8], key: &str) -> bool {
    head.len() == key.len() + 3
        && head[0] == b'"'
        && &head[1..=key.len()] == key.as_bytes()
        && &head[key.len() + 1..] == b"\":"
}

/// The row of any entity, its object split by the validating scanner.
fn from_scan(entity: &Entity<'_>, input: u32) -> Result<Row> {
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
    let mut text = String::with_capacity(raw.len() + 64);
    let cid = entity.cid().map(|c| push_str(&mut text, c));
    let mut kept_text = false;
    // The keys the typed cells hold exactly (at most one per column).
    let mut absorbed: [&str; MAX_COLUMNS] = [""; MAX_COLUMNS];
    let mut absorbed_len = 0;
    let mut cells = [Cell::Null; MAX_COLUMNS];
    let value = |key: &str| last(&entries, key);
    for (col, slot) in layout.iter().zip(&mut cells) {
        let (value, key) = typed(entity, &value, col);
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
    // Whole UTF-8 strings (the keys as written: strings the scanner
    // validated, so they can never change the structure), and values
    // copied or minified from valid JSON.
    let mut json = std::mem::take(&mut text).into_bytes();
    json.push(b'{');
    let mut first = true;
    for m in &entries {
        if absorbed[..absorbed_len].contains(&m.key.as_ref()) {
            continue;
        }
        if !first {
            json.push(b',');
        }
        first = false;
        json.extend_from_slice(m.quoted.as_bytes());
        json.push(b':');
        if compact {
            json.extend_from_slice(m.value.get().as_bytes());
        } else {
            crate::output::minify(m.value.get().as_bytes(), &mut json);
        }
    }
    json.push(b'}');
    let created_at = entity.created_at().map(micros);
    // Checked at SIMD speed; the buffer becomes the row's text in place
    // (a copy per row, a gigabyte per gigabyte of input, showed in
    // profiles).
    let text = match simdutf8::basic::from_utf8(&json) {
        // SAFETY: `json` was just checked to be UTF-8.
        Ok(_) => unsafe { String::from_utf8_unchecked(json) }.into_boxed_str(),
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
    value: &dyn Fn(&str) -> Option<Raw<'e>>,
    col: &Col,
) -> (Typed<'e>, Option<&'static str>) {
    match col.from {
        From::Cid | From::UserId => {
            let (resolved, key) = match col.from {
                From::Cid => (entity.cid(), "cid"),
                _ => (entity.user_id(), "user_id"),
            };
            let cell = resolved.map_or(Typed::Null, |s| Typed::Str(Cow::Borrowed(s)));
            let exact = match value(key) {
                Some(v) => {
                    v.get() == "null" || as_str(v).is_some_and(|s| Some(s.as_ref()) == resolved)
                }
                None => false,
            };
            (cell, exact.then_some(key))
        }
        From::Key(key) => match value(key).and_then(|v| convert(v.get(), col.ty)) {
            None => (Typed::Null, None),
            Some((cell, exact)) => (cell, exact.then_some(key)),
        },
        From::Nested(key, inner) => {
            let value = value(key)
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

    /// Every line of the repository's test data, and records made to
    /// probe the cutting of members (first, last, all, repeated keys).
    fn records() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        fn walk(dir: &std::path::Path, out: &mut Vec<Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "jsonl" || e == "json")
                {
                    let bytes = std::fs::read(&path).unwrap();
                    out.extend(
                        bytes
                            .split(|&b| b == b'\n')
                            .filter(|l| !l.is_empty())
                            .map(<[u8]>::to_vec),
                    );
                }
            }
        }
        let mut out = Vec::new();
        let mut probes = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"),
            &mut out,
        );
        for item in [
            r#"{"id":"m","type":"regular"}"#,
            r#"{"id":"m","x":1}"#,
            r#"{"x":1,"id":"m"}"#,
            r#"{"x":{"id":"no"},"id":"m","y":[1,{"text":"t"}],"text":"hi","z":"a,b"}"#,
            r#"{"id":"m","id":"n","x":1}"#,
            r#"{"cid":"messaging:a","id":"m","cid":null}"#,
            r#"{"cid":"messaging:a","id":"m","user_id":"u","user":{"id":"v"}}"#,
            r#"{"cid":null,"id":null,"text":null,"reply_count":null,"x":null}"#,
            r#"{"cid":7,"id":12,"type":true,"reply_count":1.5,"deleted_at":"soon"}"#,
            r#"{"created_at":"2024-03-01T10:00:00.123456789Z","updated_at":"2024-03-01T10:00:00Z"}"#,
            r#"{"message_id":"m","score":2,"type":"like","user":{"id":"u"},"cid":"a:b"}"#,
            r#"{"text":"\u0022,\"}\u00e9","id":"m\"x","extra":"\"id\":1"}"#,
        ] {
            for kind in ["message", "reaction", "call"] {
                probes.push(format!(r#"{{"type":"{kind}","item":{item}}}"#).into_bytes());
            }
        }
        (out, probes)
    }

    /// The row from the decoder's recorded places is the row the scanner
    /// builds, byte for byte, wherever it is taken.
    #[test]
    fn rows_from_recorded_places_equal_scanned_rows() {
        use crate::decode::{Decoded, Hint, Repairs, decode_record};
        use crate::model::entity::Kind;
        let repairs = Repairs {
            extras: PREFETCH,
            ..Repairs::default()
        };
        let (lines, probes) = records();
        // (rows from recorded places, rows left to the scanner)
        let count = |records: &[Vec<u8>]| {
            let (mut taken, mut left) = (0, 0);
            for record in records {
                for hint in [Hint::Record, Hint::Nested(Kind::Message)] {
                    let Ok(Decoded::Entity(e)) = decode_record(record, 5, hint, repairs) else {
                        continue;
                    };
                    let Ok(scanned) = from_scan(&e, 3) else {
                        continue;
                    };
                    match from_spans(&e, 3) {
                        Some(row) => {
                            assert_eq!(
                                format!("{row:?}"),
                                format!("{scanned:?}"),
                                "{}",
                                String::from_utf8_lossy(record)
                            );
                            taken += 1;
                        }
                        None => left += 1,
                    }
                }
            }
            (taken, left)
        };
        let (taken, left) = count(&lines);
        assert!(
            taken > 300,
            "rows from recorded places: {taken} (left {left})"
        );
        assert!(left > 20, "rows left to the scanner: {left}");
        // Every probe is cut from places, read as a line and as a nested
        // message (its envelope then a custom field), but the lines of the
        // two with a repeated key (`id`, `cid`; 3 kinds each).
        let (taken, left) = count(&probes);
        assert_eq!((taken, left), (2 * probes.len() - 6, 6));
    }

    #[test]
    fn a_repeated_key_goes_to_the_scanner() {
        use crate::decode::{Decoded, Hint, Repairs, decode_record};
        let record = br#"{"type":"message","item":{"id":"m","text":"a","text":"b"}}"#;
        let repairs = Repairs {
            extras: PREFETCH,
            ..Repairs::default()
        };
        let Ok(Decoded::Entity(e)) = decode_record(record, 0, Hint::Record, repairs) else {
            panic!("not decoded")
        };
        assert!(e.extra(0).is_some(), "places recorded");
        assert!(from_spans(&e, 0).is_none());
        let row = build_row(&e, 0).unwrap();
        assert!(matches!(row.cells[4], Cell::Str(s) if row.str(s) == "b"));
        assert_eq!(row.extra(), "{}");
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
