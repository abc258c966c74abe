//! Table names: one per kind, safe as a file name whatever the input says.

use crate::error::{Error, ErrorKind, Result};
use crate::model::entity::{Entity, Kind};
use std::collections::HashMap;

/// The most tables one conversion writes. Real exports have about ten
/// kinds; a file naming thousands of made-up kinds would otherwise open a
/// file (and a buffer) for each.
pub(crate) const MAX_TABLES: usize = 256;

/// The longest table name, in bytes, before its numeric suffix: far below
/// every file system's limit once the extension is added.
const MAX_NAME: usize = 64;

/// Gives each kind of entity a table: an index (in order of first
/// appearance) and a name that is a safe file name.
///
/// Known kinds are plural: `channels`, `members`, `messages`,
/// `reactions`, `users`, `reads`, `devices`. Other kinds take their type
/// name as written in the file, sanitized — letters, digits, `_` and `-`
/// kept, anything else (`/`, `.`, NUL, spaces, non-ASCII) replaced by `_`,
/// cut to 64 bytes — then an `s` (`calls`, `future_channel_bans`); a
/// bare object no rule classifies goes to `others`. Names that would
/// collide, also when file systems ignore case, get a numeric suffix
/// (`x_ys`, `x_ys-2`), so two kinds never share a table.
///
/// ```
/// use stream_chat_export::{ReaderBuilder, TableNames};
/// let data = br#"{"type":"call","item":{"id":"c1"}}
/// {"type":"../../etc/passwd","item":{"id":"x"}}
/// {"type":"message","item":{"id":"m1","text":"hi"}}
/// "#;
/// let mut names = TableNames::new();
/// let mut tables = Vec::new();
/// for e in ReaderBuilder::new().from_slice(data) {
///     let table = names.table(&e?)?;
///     tables.push(names.name(table).to_string());
/// }
/// assert_eq!(tables, ["calls", "______etc_passwds", "messages"]);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct TableNames {
    /// Type name as written → table index.
    by_type: HashMap<String, usize>,
    /// Table index → name.
    names: Vec<String>,
    /// Table index → its name before any collision suffix.
    bases: Vec<String>,
    /// Lowercased names taken.
    taken: HashMap<String, usize>,
}

impl TableNames {
    /// No tables yet.
    pub fn new() -> TableNames {
        TableNames::default()
    }

    /// The table of `entity`, made on first sight. Fails (a usage error
    /// naming the entity's offset) past 256 tables.
    pub fn table(&mut self, entity: &Entity<'_>) -> Result<usize> {
        self.table_of(entity.kind(), entity.type_name(), entity.offset())
    }

    /// [`TableNames::table`] of an entity of `kind` and `type_name` at
    /// byte `offset`.
    pub(crate) fn table_of(&mut self, kind: Kind, type_name: &str, offset: u64) -> Result<usize> {
        if let Some(&i) = self.by_type.get(type_name) {
            return Ok(i);
        }
        if self.names.len() >= MAX_TABLES {
            return Err(Error::new(ErrorKind::Usage(format!(
                "more than {MAX_TABLES} entity kinds (the last, {type_name:?}, at byte {}); \
                 select the kinds to convert with --kind",
                offset
            ))));
        }
        let base = base_name(kind, type_name);
        let mut name = base.clone();
        let mut n = 1;
        while self.taken.contains_key(&name.to_ascii_lowercase()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        let i = self.names.len();
        self.taken.insert(name.to_ascii_lowercase(), i);
        self.names.push(name);
        self.bases.push(base);
        self.by_type.insert(type_name.to_string(), i);
        Ok(i)
    }

    /// The name of table `i`.
    pub fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }

    /// The name of table `i` before any collision suffix (`x_ys` for
    /// `x_ys-2`): what its columns are chosen by.
    pub(crate) fn base(&self, i: usize) -> &str {
        self.bases.get(i).map_or("", String::as_str)
    }

    /// How many tables.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no tables yet.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The table name of `kind` and `type_name` before any collision suffix:
/// a pure function, so workers and the sink agree on it.
pub(crate) fn base_name(kind: Kind, type_name: &str) -> String {
    match kind {
        Kind::Other if type_name == "other" => "others".to_string(),
        Kind::Other => format!("{}s", sanitize(type_name)),
        known => format!("{}s", known.as_str()),
    }
}

/// A type name as a file-name stem: never a path, never hidden, never
/// empty.
fn sanitize(type_name: &str) -> String {
    let mut out: String = type_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn names_are_file_names() {
        assert_eq!(sanitize("call"), "call");
        assert_eq!(sanitize("../x"), "___x");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("a\0b c/é"), "a_b_c__");
        assert_eq!(sanitize(&"x".repeat(500)).len(), 64);
        assert_eq!(sanitize(".hidden"), "_hidden");
    }
}
