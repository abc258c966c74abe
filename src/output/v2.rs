//! v2 lines out: `{"type":"<kind>","item":{...}}`, exactly one line per
//! entity, whatever the input's layout.

use crate::{Entity, Envelope, Error, ErrorKind, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `e` as one v2 line, `{"type":"<kind>","item":{...}}\n`.
///
/// A record already in that envelope and on one line (a v2 file's line) is
/// copied byte for byte. Any other record is written without insignificant
/// whitespace (strings untouched), so the output is always NDJSON: an
/// `item`-envelope record framed by the v1 document walker (the legacy
/// import array) may be pretty-printed over many lines; other envelopes are
/// re-wrapped with the entity's raw JSON as `item`.
pub fn write_v2_line(e: &Entity<'_>, out: &mut Vec<u8>) {
    let record = e.record();
    if e.envelope() == Envelope::Item && record.first() == Some(&b'{') {
        // A raw line break cannot occur inside a JSON string, so a record
        // without one is a single line.
        if memchr::memchr2(b'\n', b'\r', record).is_none() {
            out.extend_from_slice(record);
        } else {
            minify_into(record, out);
        }
    } else {
        out.extend_from_slice(b"{\"type\":");
        // The kind name comes from the file: write it as a JSON string so
        // it can never change the structure of the output.
        serde_json::to_writer(&mut *out, e.type_name()).unwrap_or_default();
        out.extend_from_slice(b",\"item\":");
        minify_into(e.raw(), out);
        out.push(b'}');
    }
    out.push(b'\n');
}

/// Copies JSON text without whitespace outside strings.
pub(crate) fn minify_into(json: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr3(b'\n', b'\r', b'\t', json).is_none() && !has_space_outside_strings(json) {
        out.extend_from_slice(json);
        return;
    }
    let mut strings = crate::json::index::StringState::default();
    out.extend(
        json.iter()
            .filter(|&&b| !(strings.outside(b) && matches!(b, b' ' | b'\n' | b'\r' | b'\t'))),
    );
}

fn has_space_outside_strings(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        if in_string {
            match memchr::memchr2(b'"', b'\\', &json[i..]) {
                Some(j) if json[i + j] == b'\\' => i += j + 2,
                Some(j) => {
                    in_string = false;
                    i += j + 1;
                }
                None => return false,
            }
        } else {
            match json[i] {
                b' ' => return true,
                b'"' => in_string = true,
                _ => {}
            }
            i += 1;
        }
    }
    false
}

/// Buffers v2 lines and hands them to a writer in large blocks.
///
/// Write errors become [`ErrorKind::Write`] errors naming the output (see
/// [`V2Writer::with_path`]), so a caller can tell them from read errors.
/// Call [`V2Writer::into_inner`] at the end: dropping the writer loses the
/// last buffered lines.
#[derive(Debug)]
pub struct V2Writer<W: Write> {
    out: W,
    buf: Vec<u8>,
    written: u64,
    path: Option<PathBuf>,
}

/// Lines are handed to the writer once this many bytes are buffered.
const BLOCK: usize = 1 << 16;

impl<W: Write> V2Writer<W> {
    /// A writer of v2 lines into `out`.
    pub fn new(out: W) -> V2Writer<W> {
        V2Writer {
            out,
            buf: Vec::with_capacity(2 * BLOCK),
            written: 0,
            path: None,
        }
    }

    /// Names the output in write errors.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> V2Writer<W> {
        self.path = Some(path.into());
        self
    }

    /// Writes one entity as a v2 line ([`write_v2_line`]).
    pub fn write(&mut self, e: &Entity<'_>) -> Result<()> {
        write_v2_line(e, &mut self.buf);
        self.written += 1;
        if self.buf.len() >= BLOCK {
            self.flush_buffer()?;
        }
        Ok(())
    }

    /// The number of entities written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Hands the buffered lines to the writer and flushes it.
    pub fn flush(&mut self) -> Result<()> {
        self.flush_buffer()?;
        self.out.flush().map_err(|e| self.error(e))
    }

    /// Flushes and returns the writer (to finish it: a file or gzip output
    /// needs its own `finish`).
    pub fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.out)
    }

    fn flush_buffer(&mut self) -> Result<()> {
        let result = self.out.write_all(&self.buf);
        self.buf.clear();
        result.map_err(|e| self.error(e))
    }

    fn error(&self, e: std::io::Error) -> Error {
        let error = Error::new(ErrorKind::Write(e));
        match &self.path {
            Some(p) => error.with_path(p),
            None => error,
        }
    }

    /// The output's name, if given.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings() {
        let mut out = Vec::new();
        minify_into(b"{ \"a b\" : [ 1 ,\n 2 ],\"c\":\"x\\\" y\" }", &mut out);
        assert_eq!(out, b"{\"a b\":[1,2],\"c\":\"x\\\" y\"}");
    }

    /// A failing writer gives a write error naming the output, once the
    /// block is handed over or at the final flush.
    #[test]
    fn write_errors_name_the_output() {
        #[derive(Debug)]
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let data = b"{\"type\":\"user\",\"item\":{\"id\":\"u1\"}}\n";
        let mut reader = crate::ReaderBuilder::new().from_slice(data);
        let entity = reader.next().unwrap().unwrap();
        let mut w = V2Writer::new(Full).with_path("out.jsonl");
        w.write(&entity).unwrap();
        let e = w.into_inner().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Write(_)), "{e:?}");
        assert_eq!(e.to_string(), "out.jsonl: write error: disk full");
    }
}
