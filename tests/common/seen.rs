//! What a run delivered — entities and errors — in a form that compares
//! across executors.

use stream_chat_export::{Entity, Error};

/// What a run delivered, comparable across executors.
#[derive(Debug, PartialEq)]
pub enum Seen {
    Entity {
        offset: u64,
        kind: String,
        cid: Option<String>,
        raw: Vec<u8>,
    },
    Error {
        line: u64,
        byte: u64,
        message: String,
    },
}

pub fn seen_entity(e: &Entity<'_>) -> Seen {
    Seen::Entity {
        offset: e.offset(),
        kind: e.type_name().to_string(),
        cid: e.cid().map(str::to_string),
        raw: e.raw().to_vec(),
    }
}

pub fn seen_error(e: &Error) -> Seen {
    let p = e.position().expect("data errors have a position");
    Seen::Error {
        line: p.line,
        byte: p.byte,
        message: e.to_string(),
    }
}
