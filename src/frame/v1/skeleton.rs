//! Where each bracket of a v1 document closes, found in parallel.
//!
//! A v1 document is one JSON value, so the walker must find where every
//! entity ends before it can hand it on, and finding an end byte by byte
//! is what kept v1 on one core. The skeleton finds them for it, in two
//! steps:
//!
//! - **per chunk, on any thread** ([`index_chunk`]): the chunk's quotes
//!   and brackets, 64 bytes at a time with the structural index's kernels
//!   (`crate::json::index`). Whether the chunk *starts* inside a string is
//!   not known there, so it indexes both guesses at once: the brackets a
//!   start outside a string puts outside strings, and the rest (those a
//!   start inside one would). Brackets are matched inside the chunk with
//!   a stack; what stays unmatched is kept for the next step. (Pison,
//!   VLDB 2021, builds one large record's index in parallel the same way:
//!   speculate on the string state, settle it at the boundaries.)
//! - **in order, cheaply** ([`Skeleton::push`]): the real string state at
//!   each chunk's start is the parity of the quotes before it, which picks
//!   one guess; the unmatched brackets of consecutive chunks are matched
//!   across them with one stack.
//!
//! The walker then asks [`Skeleton::end_of`] for the end of a value that
//! opens at a bracket. The answer equals what the walker's own scan finds
//! (brackets counted outside strings, any closing bracket closing any
//! opening one) wherever the two read strings alike — everywhere in valid
//! JSON. Where they might not (a backslash outside strings, which the
//! escape scanner reads as an escape and the walker does not; more closing
//! brackets than opening ones; nesting past a limit) the skeleton stops
//! answering, and the walker scans from there on as before. It never has
//! to be right about invalid input, only silent.
//!
//! Chunks are cut where the byte before is not a backslash, so no escape
//! spans a cut and each chunk's escapes are its own.

use crate::json::index::{Kernel, dispatch, string_blocks};
use std::collections::{BTreeMap, VecDeque};

/// No partner (a bracket whose match lies in another chunk).
const NONE: u32 = u32::MAX;

/// Deepest nesting of brackets open across chunks that the skeleton
/// tracks; deeper documents are scanned by the walker past that point.
const MAX_OPEN: usize = 4096;

/// How far past a value `end_of` answers for it names the starts of the
/// values that follow at its level, for the caller to prefetch. The
/// walker jumps from record to record, touching one cache line of each
/// (about a kilobyte apart), so the hardware prefetcher never sees a
/// stream, and the lines indexed a batch earlier have left the cache:
/// without this, the framing thread waits on memory at every record.
const PREFETCH_DISTANCE: u32 = 64 << 10;

/// An opening bracket of a chunk: its offset in the chunk and the offset
/// of the bracket closing it, when that is in the chunk too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Open {
    at: u32,
    close: u32,
}

/// One guess of a chunk's start: inside a string or not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Guess {
    /// Opening brackets outside strings, in order.
    opens: Vec<Open>,
    /// Closing brackets outside strings with no opening one in the chunk,
    /// in order (they close brackets of earlier chunks).
    closes: Vec<u32>,
    /// Indexes into `opens` of the brackets still open at the chunk's end,
    /// innermost last.
    open_at_end: Vec<u32>,
    /// The first backslash outside strings: invalid JSON, read differently
    /// by the escape scanner and the walker from here on.
    stray_backslash: Option<u32>,
}

/// What [`index_chunk`] found in one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkIndex {
    start: u64,
    end: u64,
    /// An odd number of unescaped quotes: the string state flips across
    /// the chunk.
    odd_quotes: bool,
    /// `[starts outside a string, starts inside one]`.
    guesses: [Guess; 2],
}

/// Cuts `input[from..to]` into chunks of about `size` bytes, each cut
/// placed where the byte before it is not a backslash — the last one
/// too, which may then lie a little past `to` (the next call starts
/// there).
pub(crate) fn cuts(input: &[u8], from: usize, to: usize, size: usize) -> Vec<(usize, usize)> {
    let size = size.max(1);
    let to = to.min(input.len());
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let mut end = at.saturating_add(size).min(to);
        while end < input.len() && input[end - 1] == b'\\' {
            end += 1;
        }
        out.push((at, end));
        at = end;
    }
    out
}

/// Indexes `input[start..end]` (a chunk from [`cuts`]); `input` may extend
/// past `end`, which saves copying the last partial block.
pub(crate) fn index_chunk(input: &[u8], start: usize, end: usize) -> ChunkIndex {
    dispatch!(fn index(input: &[u8], start: usize, end: usize) -> ChunkIndex => index_generic);
    index(input, start, end)
}

#[inline(always)]
fn index_generic<K: Kernel>(k: K, input: &[u8], start: usize, end: usize) -> ChunkIndex {
    assert!(
        end - start < NONE as usize,
        "chunks are far smaller than 4 GiB"
    );
    let text = &input[start..];
    let len = end - start;
    let mut guesses = [Guess::default(), Guess::default()];
    // Stacks of indexes into each guess's `opens`.
    let mut stacks: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    let mut quotes_seen = 0u32;
    string_blocks(k, text, len, |at, m, quotes, inside, keep| {
        quotes_seen ^= quotes.count_ones() & 1;
        // `inside` is the first guess's (an opening quote counts as
        // inside, a closing one as outside); no bracket or backslash is a
        // quote, so for them the second guess is the exact complement.
        let brackets = (m.open | m.close) & keep;
        if brackets != 0 {
            for (g, bits) in [brackets & !inside, brackets & inside]
                .into_iter()
                .enumerate()
            {
                let (guess, stack) = (&mut guesses[g], &mut stacks[g]);
                let mut bits = bits;
                while bits != 0 {
                    let bit = bits.trailing_zeros();
                    let pos = (at + bit as usize) as u32;
                    if m.open & (1u64 << bit) != 0 {
                        stack.push(guess.opens.len() as u32);
                        guess.opens.push(Open {
                            at: pos,
                            close: NONE,
                        });
                    } else if let Some(open) = stack.pop() {
                        guess.opens[open as usize].close = pos;
                    } else {
                        guess.closes.push(pos);
                    }
                    bits &= bits - 1;
                }
            }
        }
        let backslashes = m.backslash & keep;
        if backslashes != 0 {
            for (g, bits) in [backslashes & !inside, backslashes & inside]
                .into_iter()
                .enumerate()
            {
                if bits != 0 && guesses[g].stray_backslash.is_none() {
                    guesses[g].stray_backslash = Some((at + bits.trailing_zeros() as usize) as u32);
                }
            }
        }
    });
    for (guess, stack) in guesses.iter_mut().zip(stacks) {
        guess.open_at_end = stack;
    }
    ChunkIndex {
        start: start as u64,
        end: end as u64,
        odd_quotes: quotes_seen == 1,
        guesses,
    }
}

/// A chunk kept for answering, with the guess that held.
#[derive(Debug)]
struct Kept {
    start: u64,
    end: u64,
    opens: Vec<Open>,
    /// `opens` before this index have been passed by the walker.
    cursor: usize,
    /// The last of `opens` named for prefetching: each following value is
    /// named once.
    named: usize,
}

/// The indexed part of a document: chunks pushed in order, answering
/// where values end. Chunks the walker has passed are dropped, so it
/// holds about what has been indexed ahead of the walker.
#[derive(Debug)]
pub(crate) struct Skeleton {
    chunks: VecDeque<Kept>,
    /// Brackets opened in one chunk and closed in a later one.
    across: BTreeMap<u64, u64>,
    /// Brackets open at the end of what is indexed, innermost last.
    open: Vec<u64>,
    /// The string state at `indexed`.
    in_string: bool,
    /// Everything before this has been pushed.
    indexed: u64,
    /// Answers hold only before this (see the module docs); `u64::MAX`
    /// while nothing has gone wrong.
    valid_to: u64,
}

impl Skeleton {
    /// An empty skeleton of a document whose walk starts at `start`
    /// (outside any string).
    pub(crate) fn new(start: u64) -> Skeleton {
        Skeleton {
            chunks: VecDeque::new(),
            across: BTreeMap::new(),
            open: Vec::new(),
            in_string: false,
            indexed: start,
            valid_to: u64::MAX,
        }
    }

    /// Everything before this has been indexed (or will never be, once
    /// the skeleton has stopped).
    pub(crate) fn indexed(&self) -> u64 {
        self.indexed
    }

    /// Whether more chunks are still worth indexing.
    pub(crate) fn wants_more(&self) -> bool {
        self.valid_to == u64::MAX
    }

    /// Adds the next chunk, which must start where the last one ended.
    pub(crate) fn push(&mut self, chunk: ChunkIndex) {
        assert_eq!(chunk.start, self.indexed, "chunks are pushed in order");
        self.indexed = chunk.end;
        if !self.wants_more() {
            return;
        }
        let ChunkIndex {
            start,
            end: chunk_end,
            odd_quotes,
            guesses,
        } = chunk;
        let [outside, inside] = guesses;
        let guess = if self.in_string { inside } else { outside };
        self.in_string ^= odd_quotes;
        let mut stop = guess.stray_backslash.map_or(u64::MAX, |b| start + b as u64);
        for &close in &guess.closes {
            let close = start + close as u64;
            if close >= stop {
                break;
            }
            match self.open.pop() {
                Some(open) => {
                    self.across.insert(open, close);
                }
                None => {
                    stop = close;
                    break;
                }
            }
        }
        for &i in &guess.open_at_end {
            let at = start + guess.opens[i as usize].at as u64;
            if at >= stop {
                break;
            }
            if self.open.len() >= MAX_OPEN {
                stop = at;
                break;
            }
            self.open.push(at);
        }
        self.chunks.push_back(Kept {
            start,
            end: chunk_end,
            opens: guess.opens,
            cursor: 0,
            named: 0,
        });
        if stop != u64::MAX {
            self.valid_to = stop;
        }
    }

    /// The end (one past the closing bracket) of the value opening at
    /// `open`, if the skeleton knows it. Calls must come in increasing
    /// order of `open`: what lies before it is forgotten. `upcoming` is
    /// told where the values that follow it at its level start (up to
    /// [`PREFETCH_DISTANCE`] ahead, each once): where the walker will
    /// look next, worth fetching into the cache now.
    pub(crate) fn end_of(&mut self, open: u64, upcoming: impl FnMut(u64)) -> Option<u64> {
        if open >= self.valid_to || open >= self.indexed {
            return None;
        }
        while let Some(first) = self.across.first_key_value() {
            if *first.0 >= open {
                break;
            }
            self.across.pop_first();
        }
        while self.chunks.front().is_some_and(|c| c.end <= open) {
            self.chunks.pop_front();
        }
        let chunk = self.chunks.front_mut()?;
        let rel = open.checked_sub(chunk.start)?;
        let i = chunk.cursor + gallop(&chunk.opens[chunk.cursor..], rel);
        chunk.cursor = i;
        let found = *chunk.opens.get(i).filter(|o| o.at as u64 == rel)?;
        chunk.name_siblings(i, upcoming);
        let close = if found.close != NONE {
            chunk.start + found.close as u64
        } else {
            *self.across.get(&open)?
        };
        (close < self.valid_to).then_some(close + 1)
    }
}

/// The number of `opens` before offset `rel`. The asked bracket is
/// usually a few past the cursor: doubling steps from the start keep the
/// search on the lines next to it (a plain binary search over the rest
/// of the chunk misses the cache at every step).
fn gallop(opens: &[Open], rel: u64) -> usize {
    let before = |i: usize| u64::from(opens[i].at) < rel;
    let mut bound = 1;
    while bound < opens.len() && before(bound - 1) {
        bound *= 2;
    }
    let low = bound / 2;
    let high = bound.min(opens.len());
    low + opens[low..high].partition_point(|o| u64::from(o.at) < rel)
}

impl Kept {
    /// Names the starts of the values after `opens[i]` at its level (the
    /// first bracket past each one's close), up to [`PREFETCH_DISTANCE`]
    /// past `opens[i]`, skipping those named before. Only a hint: a
    /// value closing in a later chunk ends the chain.
    fn name_siblings(&mut self, i: usize, mut upcoming: impl FnMut(u64)) {
        if self.named < i {
            self.named = i;
        }
        let limit = self.opens[i].at.saturating_add(PREFETCH_DISTANCE);
        loop {
            let last = self.opens[self.named];
            if last.close == NONE || last.at >= limit {
                return;
            }
            // The nested brackets of `last` lie before its close: a few,
            // read in order (a binary search over the rest of the chunk
            // would touch lines all over it).
            let mut next = self.named + 1;
            while self.opens.get(next).is_some_and(|o| o.at < last.close) {
                next += 1;
            }
            let Some(sibling) = self.opens.get(next) else {
                return;
            };
            self.named = next;
            upcoming(self.start + u64::from(sibling.at));
        }
    }
}

#[cfg(test)]
mod tests;
