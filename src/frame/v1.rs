//! The v1 tree reader: a pull walk over a JSON document that never builds
//! the tree. It walks the container structure itself (top-level array,
//! wrapper object, channel object, entity arrays) and hands each complete
//! entity's bytes, found by skipping a balanced value, to the same
//! per-record decoder the line path uses. Memory is bounded by the largest
//! entity, not by the document.
//!
//! Shapes accepted (FORMAT.md): a channel object `{channel, messages,
//! members}`; an array of them; a wrapper object whose array-valued key
//! holds them (`{"channels": [...]}`); a sequence of top-level values; the
//! synchronous user export `{user, messages, reactions}`; and the legacy
//! import array of `{"type", "item"}` records. A top-level value that is
//! not a channel object is framed as one record and decoded like a line.

use crate::decode::Hint;
use crate::error::{Error, ErrorKind};
use crate::frame::lines::{Frame, FrameError, RawRecord, error_at};
use crate::io::source::Window;
use crate::model::entity::Kind;
use scan::{Mode, Scan};
use std::collections::VecDeque;

mod scan;
pub(crate) mod skeleton;

#[derive(Debug, Clone, Copy)]
enum Ctx {
    /// A sequence of top-level values.
    Document,
    /// Inside a channel (or wrapper, or user-export) object, after `{` or
    /// after a value. `channel_seen` tells an unknown array key of a
    /// wrapper (`channels`, ...) from one of a channel object (skipped).
    Unit {
        after_value: bool,
        channel_seen: bool,
    },
    /// An array of entities of one kind (`messages`, `members`, ...).
    Entities { kind: Kind, first: bool },
    /// An array of channel objects or records (top-level array, wrapper).
    Units { first: bool },
}

/// The top-level shape the walker met, for format reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Nothing read yet.
    Unknown,
    /// A single top-level object.
    Object,
    /// A top-level array.
    Array,
    /// Several top-level values.
    Sequence,
}

/// The walker's settings and state.
pub(crate) struct Walker {
    stack: Vec<Ctx>,
    /// Frames (and non-fatal errors) found ahead, in input order.
    pending: VecDeque<Result<Frame, FrameError>>,
    /// The problem a `Mode::Check` scan found in the value it framed.
    checked: Option<FrameError>,
    pos: u64,
    /// Start of the record being framed: bytes from here on must stay in
    /// the window.
    mark: Option<u64>,
    /// While an object is being probed (record or channel object?), its
    /// start: nothing from here on may leave the window, whatever is being
    /// scanned inside it.
    floor: Option<u64>,
    /// The start of a record handed out from `pending`: kept in the window
    /// until the caller has decoded it (the next call to `next`).
    pinned: Option<u64>,
    max_entity: usize,
    max_depth: usize,
    /// Invalid UTF-8 in a skipped value is accepted (it is never read).
    lossy_utf8: bool,
    done: bool,
    top_values: u32,
    top_array: bool,
    /// Where values end, indexed ahead in parallel (mapped documents):
    /// asked before a record's bytes are scanned.
    skeleton: Option<Box<skeleton::Skeleton>>,
}

pub(crate) const UNIT_KEYS: [&str; 4] = ["channel", "channels", "messages", "members"];

impl Walker {
    pub fn new(start: u64, max_entity: usize, max_depth: usize) -> Walker {
        Walker {
            stack: vec![Ctx::Document],
            pending: VecDeque::new(),
            checked: None,
            pos: start,
            mark: None,
            floor: None,
            pinned: None,
            max_entity,
            max_depth: max_depth.max(4),
            lossy_utf8: false,
            done: false,
            top_values: 0,
            top_array: false,
            skeleton: None,
        }
    }

    /// Asks `skeleton` where records end before scanning for it; the
    /// caller keeps it indexed ahead of [`Walker::position`].
    pub fn with_skeleton(mut self, skeleton: skeleton::Skeleton) -> Walker {
        self.skeleton = Some(Box::new(skeleton));
        self
    }

    /// The skeleton given to [`Walker::with_skeleton`].
    pub fn skeleton_mut(&mut self) -> Option<&mut skeleton::Skeleton> {
        self.skeleton.as_deref_mut()
    }

    /// Where the walk has got to.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Accept invalid UTF-8 in skipped values, as `ReaderBuilder::lossy_utf8`
    /// accepts it in entities.
    pub fn lossy_utf8(mut self, yes: bool) -> Walker {
        self.lossy_utf8 = yes;
        self
    }

    /// The document's shape as seen so far.
    pub fn shape(&self) -> Shape {
        match (self.top_values, self.top_array) {
            (0, _) => Shape::Unknown,
            (1, true) => Shape::Array,
            (1, false) => Shape::Object,
            _ => Shape::Sequence,
        }
    }

    /// The next record or unit boundary.
    pub fn next(&mut self, win: &mut Window<'_>) -> Option<Result<Frame, FrameError>> {
        if self.pending.is_empty() {
            self.pinned = None;
        }
        if let Some(item) = self.pending.pop_front() {
            if item.as_ref().is_err_and(|e| e.fatal) {
                self.done = true;
            }
            return Some(item);
        }
        if self.done {
            return None;
        }
        match self.step(win) {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                if e.fatal {
                    self.done = true;
                }
                Some(Err(e))
            }
        }
    }

    fn step(&mut self, win: &mut Window<'_>) -> Result<Option<Frame>, FrameError> {
        loop {
            self.mark = None;
            let Some(&ctx) = self.stack.last() else {
                return Ok(None);
            };
            match ctx {
                Ctx::Document => {
                    let Some(b) = self.skip_ws(win)? else {
                        return Ok(None);
                    };
                    self.top_values += 1;
                    match b {
                        b'{' => return self.probe_object(win, true),
                        b'[' => {
                            self.top_array = true;
                            self.pos += 1;
                            self.stack.push(Ctx::Units { first: true });
                        }
                        _ => return self.record(win, Hint::Record).map(Some),
                    }
                }
                Ctx::Entities { first, .. } | Ctx::Units { first } => {
                    let b = self.require(win)?;
                    if first {
                        self.set_first(false);
                        if b == b']' {
                            self.pos += 1;
                            self.stack.pop();
                            continue;
                        }
                    } else {
                        match b {
                            b',' => {
                                self.pos += 1;
                                self.require(win)?;
                            }
                            b']' => {
                                self.pos += 1;
                                self.stack.pop();
                                continue;
                            }
                            other => return Err(self.unexpected(win, other, "',' or ']'")),
                        }
                    }
                    if let Some(frame) = self.element(win, ctx)? {
                        return Ok(Some(frame));
                    }
                }
                Ctx::Unit { after_value, .. } => {
                    let mut b = self.require(win)?;
                    if after_value {
                        match b {
                            b',' => {
                                self.pos += 1;
                                b = self.require(win)?;
                            }
                            b'}' => {
                                self.pos += 1;
                                self.stack.pop();
                                continue;
                            }
                            other => return Err(self.unexpected(win, other, "',' or '}'")),
                        }
                    } else if b == b'}' {
                        self.pos += 1;
                        self.stack.pop();
                        continue;
                    }
                    if b != b'"' {
                        return Err(self.unexpected(win, b, "an object key"));
                    }
                    // A key longer than an entity may be: nothing sensible
                    // follows in a channel object.
                    let key = self.read_key(win)?.map_err(FrameError::fatal)?;
                    self.colon(win)?;
                    if let Some(frame) = self.dispatch(win, &key)? {
                        return Ok(Some(frame));
                    }
                }
            }
        }
    }

    fn set_first(&mut self, value: bool) {
        match self.stack.last_mut() {
            Some(Ctx::Entities { first, .. }) | Some(Ctx::Units { first }) => *first = value,
            _ => {}
        }
    }

    /// One array element at the current position.
    fn element(&mut self, win: &mut Window<'_>, ctx: Ctx) -> Result<Option<Frame>, FrameError> {
        match ctx {
            Ctx::Entities { kind, .. } => self.record(win, Hint::Nested(kind)).map(Some),
            _ if win.byte(self.pos) == Some(b'{') => self.probe_object(win, false),
            _ => self.record(win, Hint::Record).map(Some),
        }
    }

    /// After a key and its colon in a unit object: what the value is.
    fn dispatch(&mut self, win: &mut Window<'_>, key: &str) -> Result<Option<Frame>, FrameError> {
        let b = self.require(win)?;
        if let Some(Ctx::Unit { after_value, .. }) = self.stack.last_mut() {
            *after_value = true;
        }
        let channel_seen = matches!(
            self.stack.last(),
            Some(Ctx::Unit {
                channel_seen: true,
                ..
            })
        );
        let entity_kind = match key {
            "messages" => Some(Kind::Message),
            "members" => Some(Kind::Member),
            "reactions" => Some(Kind::Reaction),
            "read" => Some(Kind::Read),
            _ => None,
        };
        match (key, b) {
            ("channel", b'{') => {
                if let Some(Ctx::Unit { channel_seen, .. }) = self.stack.last_mut() {
                    *channel_seen = true;
                }
                self.record(win, Hint::Nested(Kind::Channel)).map(Some)
            }
            ("user", b'{') => self.record(win, Hint::Nested(Kind::User)).map(Some),
            (_, b'[') if entity_kind.is_some() && self.stack.len() < self.max_depth => {
                self.pos += 1;
                self.stack.push(Ctx::Entities {
                    kind: entity_kind.unwrap_or(Kind::Other),
                    first: true,
                });
                Ok(None)
            }
            (_, b'[')
                if (key == "channels" || !channel_seen) && self.stack.len() < self.max_depth =>
            {
                self.pos += 1;
                self.stack.push(Ctx::Units { first: true });
                Ok(None)
            }
            _ => {
                // Read-only values of a channel object (or unknown ones):
                // skipped, not entities, but validated as they are skipped
                // (`scan` in `Mode::Discard`). A damaged one is a non-fatal
                // error, as a damaged entity is: the walk goes on after
                // the value (its end is found by brackets and strings, as
                // an entity's is), so the entities around it still come
                // out. If its brackets do not balance, the walk ends
                // there with a fatal error, as for an entity.
                let start = self.pos;
                self.scan(win, start, 0, Mode::Discard)?;
                self.mark = None;
                Ok(None)
            }
        }
    }

    /// At `{` of a top-level value or an array element: a channel object
    /// (walked) or a record (framed whole).
    fn probe_object(
        &mut self,
        win: &mut Window<'_>,
        top: bool,
    ) -> Result<Option<Frame>, FrameError> {
        let start = self.pos;
        self.floor = Some(start);
        let framed = self.probe_object_inner(win, top, start);
        self.floor = None;
        framed
    }

    fn probe_object_inner(
        &mut self,
        win: &mut Window<'_>,
        top: bool,
        start: u64,
    ) -> Result<Option<Frame>, FrameError> {
        self.mark = Some(start);
        self.pos += 1;
        let mut b = self.require(win)?;
        // A `user` object met before any channel-object key: the user of a
        // synchronous user export `{user, messages, reactions}`, if such a
        // key follows.
        let mut user: Option<(u64, u64)> = None;
        // What the values before the unit key held that must come out if
        // this is a unit: the user of a user export and the problems the
        // validator found in skipped values, in input order. If the
        // object is a record instead, the decoder judges it whole.
        let mut ahead: Vec<Result<Frame, FrameError>> = Vec::new();
        loop {
            if b != b'"' {
                return self.record_rest(win, start).map(Some);
            }
            let key = match self.read_key(win)? {
                Ok(key) => key,
                Err(error) => {
                    // The record is too large: drop the rest of it and go
                    // on after it.
                    self.floor = None;
                    self.scan(win, self.pos, 1, Mode::Discard)?;
                    return Err(FrameError {
                        error,
                        fatal: false,
                    });
                }
            };
            if self.require(win)? != b':' {
                return self.record_rest(win, start).map(Some);
            }
            self.pos += 1;
            let value = self.require(win)?;
            let wrapper = top && value == b'[' && self.array_of_units(win)?;
            if UNIT_KEYS.contains(&key.as_str()) || wrapper {
                // Keys before this one were metadata (an export date, ...):
                // they are skipped, except the user of a user export.
                if let Some((user_start, _)) = user {
                    // Queued behind the unit's start: keep its bytes
                    // whatever the walk drops meanwhile.
                    self.pinned = Some(user_start);
                }
                self.pending.extend(ahead);
                return self.enter_unit(win, &key);
            }
            let value_start = self.pos;
            // Sized from the object's start: the record is what must fit.
            let value_end = match self.scan(win, start, 0, Mode::Check)? {
                Scan::Complete(end) => end,
                Scan::TooLarge(error) => {
                    // Drop the rest of the object too, then go on after it.
                    self.floor = None;
                    self.scan(win, self.pos, 1, Mode::Discard)?;
                    return Err(FrameError {
                        error,
                        fatal: false,
                    });
                }
            };
            let problem = self.checked.take();
            if top && key == "user" && value == b'{' && user.is_none() {
                // An entity, decoded (and so checked) as such.
                user = Some((value_start, value_end));
                ahead.push(Ok(Frame::Record(RawRecord {
                    start: value_start,
                    end: value_end,
                    hint: Hint::Nested(Kind::User),
                })));
            } else if let Some(problem) = problem {
                ahead.push(Err(problem));
            }
            match self.require(win)? {
                b',' => {
                    self.pos += 1;
                    b = self.require(win)?;
                }
                b'}' => {
                    // No channel-object key: the object is one record.
                    self.pos += 1;
                    self.mark = None;
                    return Ok(Some(Frame::Record(RawRecord {
                        start,
                        end: self.pos,
                        hint: Hint::Record,
                    })));
                }
                _ => return self.record_rest(win, start).map(Some),
            }
        }
    }

    /// At `[`: does the array hold channel objects (its first element an
    /// object whose first key is a channel-object key)? Looks ahead only;
    /// the position is restored.
    fn array_of_units(&mut self, win: &mut Window<'_>) -> Result<bool, FrameError> {
        let at = self.pos;
        self.pos += 1;
        let mut answer = false;
        if self.skip_ws(win)? == Some(b'{') {
            self.pos += 1;
            if self.skip_ws(win)? == Some(b'"') {
                // Compare the raw bytes (a few, kept by the floor): an
                // escaped spelling is not taken for a wrapper.
                for key in UNIT_KEYS {
                    let quoted = format!("\"{key}\"");
                    while win.end() < self.pos + quoted.len() as u64 {
                        let keep = self.floor.unwrap_or(at).min(at);
                        if !win
                            .fill(self.pinned.map_or(keep, |p| p.min(keep)))
                            .map_err(FrameError::fatal)?
                        {
                            break;
                        }
                    }
                    if win.end() >= self.pos + quoted.len() as u64
                        && win.range(self.pos, self.pos + quoted.len() as u64) == quoted.as_bytes()
                    {
                        answer = true;
                    }
                }
            }
        }
        self.pos = at;
        Ok(answer)
    }

    fn enter_unit(&mut self, win: &mut Window<'_>, key: &str) -> Result<Option<Frame>, FrameError> {
        self.mark = None;
        self.floor = None;
        if self.stack.len() >= self.max_depth {
            return Err(FrameError::fatal(error_at(
                win,
                ErrorKind::Structure {
                    message: "channel objects nested too deeply".into(),
                },
                self.pos,
            )));
        }
        self.stack.push(Ctx::Unit {
            after_value: false,
            channel_seen: false,
        });
        // Queued behind what the probe found before this key; an error
        // here too, so everything comes out in input order after the
        // unit's start.
        match self.dispatch(win, key) {
            Ok(Some(frame)) => self.pending.push_back(Ok(frame)),
            Ok(None) => {}
            Err(e) => self.pending.push_back(Err(e)),
        }
        Ok(Some(Frame::UnitStart))
    }

    /// Frames the value at the current position as a record.
    fn record(&mut self, win: &mut Window<'_>, hint: Hint) -> Result<Frame, FrameError> {
        let start = self.pos;
        self.frame(win, hint, start, 0)
    }

    /// Frames the rest of the object opened at `start` (the walker is
    /// inside it, outside any string) as a record.
    fn record_rest(&mut self, win: &mut Window<'_>, start: u64) -> Result<Frame, FrameError> {
        self.frame(win, Hint::Record, start, 1)
    }

    fn frame(
        &mut self,
        win: &mut Window<'_>,
        hint: Hint,
        start: u64,
        depth: u32,
    ) -> Result<Frame, FrameError> {
        // `start` is where the record begins: it is the only floor now (an
        // over-large record may then be dropped as it is skipped).
        self.floor = None;
        self.mark = Some(start);
        let scanned = self.scan(win, start, depth, Mode::Keep)?;
        self.mark = None;
        match scanned {
            Scan::Complete(end) => Ok(Frame::Record(RawRecord { start, end, hint })),
            Scan::TooLarge(error) => Err(FrameError {
                error,
                fatal: false,
            }),
        }
    }

    /// Skips whitespace, refilling; the next byte, or `None` at the end.
    fn skip_ws(&mut self, win: &mut Window<'_>) -> Result<Option<u8>, FrameError> {
        loop {
            match win.byte(self.pos) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b) => return Ok(Some(b)),
                None => {
                    let keep = self.mark.unwrap_or(self.pos).min(self.pos);
                    let keep = self.floor.map_or(keep, |f| f.min(keep));
                    if !win
                        .fill(self.pinned.map_or(keep, |p| p.min(keep)))
                        .map_err(FrameError::fatal)?
                    {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Like `skip_ws`, but the end of input here is a truncation.
    fn require(&mut self, win: &mut Window<'_>) -> Result<u8, FrameError> {
        match self.skip_ws(win)? {
            Some(b) => Ok(b),
            None => Err(self.truncated(win)),
        }
    }

    fn colon(&mut self, win: &mut Window<'_>) -> Result<(), FrameError> {
        match self.require(win)? {
            b':' => {
                self.pos += 1;
                Ok(())
            }
            other => Err(self.unexpected(win, other, "':'")),
        }
    }

    /// Reads an object key (a JSON string) at the current position.
    /// Reads an object key (a JSON string) at the current position. A key
    /// longer than `max_entity` is read to its end without being kept and
    /// comes back as `Ok(Err(EntityTooLarge))`, placed at the start of the
    /// record holding it (or of the key, outside a probed record): the
    /// same answer whether or not the key crossed a refill.
    fn read_key(&mut self, win: &mut Window<'_>) -> Result<Result<String, Error>, FrameError> {
        let start = self.pos;
        let record = self.floor.unwrap_or(start);
        let mut keep = self.mark.unwrap_or(start).min(start);
        keep = self.floor.map_or(keep, |f| f.min(keep));
        self.mark = Some(keep);
        let mut too_large: Option<Error> = None;
        self.pos += 1;
        loop {
            match win.byte(self.pos) {
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
                None => {
                    if too_large.is_none() && (self.pos - start) as usize > self.max_entity {
                        too_large = Some(self.too_large_at(win, record));
                    }
                    if too_large.is_some() {
                        // Keep nothing more of an abandoned record.
                        self.floor = None;
                        keep = self.pos.min(win.end());
                        self.mark = Some(keep);
                    }
                    if !win
                        .fill(self.pinned.map_or(keep, |p| p.min(keep)))
                        .map_err(FrameError::fatal)?
                    {
                        return Err(self.truncated(win));
                    }
                }
            }
        }
        if too_large.is_none() && (self.pos - start) as usize > self.max_entity {
            too_large = Some(self.too_large_at(win, record));
        }
        if let Some(error) = too_large {
            return Ok(Err(error));
        }
        let raw = win.range(start, self.pos);
        serde_json::from_slice::<String>(raw).map(Ok).map_err(|e| {
            FrameError::fatal(error_at(
                win,
                ErrorKind::Json {
                    message: format!("bad object key: {e}"),
                },
                start,
            ))
        })
    }

    fn too_large_at(&self, win: &Window<'_>, at: u64) -> Error {
        error_at(
            win,
            ErrorKind::EntityTooLarge {
                max: self.max_entity,
            },
            at,
        )
    }

    fn truncated(&self, win: &Window<'_>) -> FrameError {
        let at = self.pos.min(win.end());
        FrameError::fatal(error_at(
            win,
            ErrorKind::Truncated {
                what: "the document",
            },
            at,
        ))
    }

    fn unexpected(&self, win: &Window<'_>, found: u8, expected: &str) -> FrameError {
        let found = if found.is_ascii_graphic() {
            format!("'{}'", found as char)
        } else {
            format!("byte 0x{found:02x}")
        };
        FrameError::fatal(error_at(
            win,
            ErrorKind::Structure {
                message: format!("expected {expected}, found {found}"),
            },
            self.pos,
        ))
    }
}
